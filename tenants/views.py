"""Tenant administration (the city admin) and user administration (each tenant's admin)."""

from __future__ import annotations

import contextlib

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import or_, select

from portal import htmx
from portal.access import access, city_roles, roles
from portal.extensions import db
from portal.ids import parse_id
from portal.pagination import paginate, parse_page
from portal.web import apply_toggle, client_addr
from tenants import admin
from tenants.forms import ConfirmForm, ResetPasswordForm, TenantForm, UserForm
from tenants.models import ROLES, TENANT_KINDS, Tenant, User
from tenants.scoping import wider_scope

bp = Blueprint("tenants", __name__, url_prefix="/admin")

ADMIN = roles("admin")
CITY_ADMIN = city_roles("admin")


def _context() -> admin.Context:
    return admin.Context(current_user._get_current_object(), client_addr())


def _oversight():
    """The city admin administers users of every tenant; other admins stay in their own."""
    user = current_user._get_current_object()
    if admin.is_city_admin(user):
        return wider_scope("city_oversight", home_tenant_id=user.tenant_id)
    return contextlib.nullcontext()


def _tenant_or_404(tenant_id: int) -> Tenant:
    tenant = db.session.get(Tenant, tenant_id)
    if tenant is None:
        abort(404)
    return tenant


def _parent_choices(exclude_id: int | None = None):
    tenants = db.session.scalars(
        select(Tenant).where(Tenant.kind.in_(("city", "county"))).order_by(Tenant.kind, Tenant.code)
    ).all()
    return [("", "（无）")] + [(t.id, t.name) for t in tenants if t.id != exclude_id]


# ---- tenants ---------------------------------------------------------------------------------


@bp.route("/tenants")
@access(CITY_ADMIN)
def tenant_list():
    kind = request.args.get("kind", "")
    q = (request.args.get("q") or "").strip()[:50]
    statement = select(Tenant).order_by(Tenant.kind, Tenant.code)
    if kind in TENANT_KINDS:
        statement = statement.where(Tenant.kind == kind)
    if q:
        statement = statement.where(
            or_(
                Tenant.name.contains(q, autoescape=True),
                Tenant.code.contains(q.lower(), autoescape=True),
            )
        )
    page = paginate(db.session, statement, parse_page(request.args.get("page")))
    template = (
        "admin/_tenant_rows.html"
        if htmx.wants_fragment("tenant-results")
        else ("admin/tenants.html")
    )
    return render_template(
        template, page=page, kinds=TENANT_KINDS, kind=kind, q=q, confirm_form=ConfirmForm()
    )


@bp.route("/tenants/new", methods=["GET", "POST"])
@access(CITY_ADMIN)
def tenant_new():
    form = TenantForm()
    form.parent_id.choices = _parent_choices()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            tenant = admin.create_tenant(
                db.session,
                _context(),
                code=form.code.data,
                name=form.name.data,
                kind=form.kind.data,
                parent_id=form.parent_id.data,
            )
        except admin.AdminError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"已新建单位“{tenant.name}”。请为其创建管理员账号。", "success")
            return redirect(url_for("tenants.user_new", tenant=tenant.id))
    status = 422 if request.method == "POST" else 200
    return render_template("admin/tenant_form.html", form=form, errors=errors, tenant=None), status


@bp.route("/tenants/<int:tenant_id>/edit", methods=["GET", "POST"])
@access(CITY_ADMIN)
def tenant_edit(tenant_id: int):
    tenant = _tenant_or_404(tenant_id)
    form = TenantForm(obj=tenant) if request.method == "GET" else TenantForm()
    form.parent_id.choices = _parent_choices(exclude_id=tenant.id)
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            admin.update_tenant(
                db.session, _context(), tenant, name=form.name.data, parent_id=form.parent_id.data
            )
        except admin.AdminError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"已保存单位“{tenant.name}”。", "success")
            return redirect(url_for("tenants.tenant_list"))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/tenant_form.html", form=form, errors=errors, tenant=tenant
    ), status


@bp.route("/tenants/<int:tenant_id>/active", methods=["POST"])
@access(CITY_ADMIN)
def tenant_set_active(tenant_id: int):
    tenant = _tenant_or_404(tenant_id)
    active = request.form.get("active") == "1"
    with _oversight():
        apply_toggle(
            lambda: admin.set_tenant_active(db.session, _context(), tenant, active),
            f"已{'启用' if active else '停用'}单位“{tenant.name}”。",
        )
    return redirect(url_for("tenants.tenant_list"))


# ---- users -----------------------------------------------------------------------------------


def _user_or_404(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        abort(404)
    return user


def _managed_tenant() -> Tenant:
    """The tenant whose users are shown: one's own, or any for the city admin (?tenant=)."""
    me = current_user._get_current_object()
    raw = request.values.get("tenant")
    wanted = parse_id(raw)
    if raw and wanted is None:
        abort(404)
    if wanted is None or wanted == me.tenant_id:
        return me.tenant
    if not admin.is_city_admin(me):
        abort(404)
    return _tenant_or_404(wanted)


@bp.route("/users")
@access(ADMIN)
def user_list():
    tenant = _managed_tenant()
    q = (request.args.get("q") or "").strip()[:50]
    role = request.args.get("role", "")
    status = request.args.get("status", "")
    with _oversight():
        statement = select(User).where(User.tenant_id == tenant.id).order_by(User.login_name)
        if q:
            statement = statement.where(
                or_(
                    User.login_name.contains(q.lower(), autoescape=True),
                    User.display_name.contains(q, autoescape=True),
                )
            )
        if role in ROLES:
            statement = statement.where(User.roles.contains(role))
        if status in ("active", "inactive"):
            statement = statement.where(User.active.is_(status == "active"))
        page = paginate(db.session, statement, parse_page(request.args.get("page")))
    all_tenants = (
        db.session.scalars(select(Tenant).order_by(Tenant.kind, Tenant.code)).all()
        if admin.is_city_admin(current_user)
        else []
    )
    template = (
        "admin/_user_rows.html" if htmx.wants_fragment("user-results") else ("admin/users.html")
    )
    return render_template(
        template,
        page=page,
        tenant=tenant,
        all_tenants=all_tenants,
        q=q,
        role=role,
        status=status,
        roles=ROLES,
        confirm_form=ConfirmForm(),
    )


@bp.route("/users/new", methods=["GET", "POST"])
@access(ADMIN)
def user_new():
    tenant = _managed_tenant()
    form = UserForm()
    errors: dict[str, str] = {}
    if request.method == "GET":
        form.roles.data = ["officer"]
    if form.validate_on_submit():
        try:
            with _oversight():
                user = admin.create_user(
                    db.session,
                    _context(),
                    tenant,
                    login_name=form.login_name.data,
                    display_name=form.display_name.data,
                    roles=form.roles.data or [],
                    password=form.password.data,
                    email=form.email.data or "",
                )
                login_name = user.login_name
        except admin.AdminError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"已新建用户“{login_name}”，首次登录时须修改密码。", "success")
            return redirect(url_for("tenants.user_list", tenant=tenant.id))
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/user_form.html", form=form, errors=errors, tenant=tenant, user=None
    ), status


@bp.route("/users/<int:user_id>/edit", methods=["GET", "POST"])
@access(ADMIN)
def user_edit(user_id: int):
    with _oversight():
        user = _user_or_404(user_id)
        form = UserForm(obj=user) if request.method == "GET" else UserForm()
        if request.method == "GET":
            form.roles.data = list(user.role_set)
        errors: dict[str, str] = {}
        if form.validate_on_submit():
            try:
                admin.update_user(
                    db.session,
                    _context(),
                    user,
                    display_name=form.display_name.data,
                    roles=form.roles.data or [],
                    # A form without the field keeps the address; an empty field clears it.
                    email=(form.email.data or "") if "email" in request.form else None,
                )
            except admin.AdminError as exc:
                db.session.rollback()
                errors = exc.errors
            else:
                db.session.commit()
                flash(f"已保存用户“{user.login_name}”。", "success")
                return redirect(url_for("tenants.user_list", tenant=user.tenant_id))
        status = 422 if request.method == "POST" else 200
        return render_template(
            "admin/user_form.html",
            form=form,
            errors=errors,
            tenant=user.tenant,
            user=user,
            reset_form=ResetPasswordForm(formdata=None),
            confirm_form=ConfirmForm(),
        ), status


@bp.route("/users/<int:user_id>/active", methods=["POST"])
@access(ADMIN)
def user_set_active(user_id: int):
    active = request.form.get("active") == "1"
    with _oversight():
        user = _user_or_404(user_id)
        tenant_id, login_name = user.tenant_id, user.login_name
        done = "启用" if active else "停用，其所有登录已立即失效"
        apply_toggle(
            lambda: admin.set_user_active(db.session, _context(), user, active),
            f"用户“{login_name}”已{done}。",
        )
    return redirect(url_for("tenants.user_list", tenant=tenant_id))


@bp.route("/users/<int:user_id>/password", methods=["POST"])
@access(ADMIN)
def user_reset_password(user_id: int):
    form = ResetPasswordForm()
    with _oversight():
        user = _user_or_404(user_id)
        login_name, tenant_id = user.login_name, user.tenant_id
        try:
            admin.reset_password(db.session, _context(), user, form.password.data or "")
        except admin.AdminError as exc:
            db.session.rollback()
            flash("重置密码失败：" + exc.first_message, "error")
            return redirect(url_for("tenants.user_edit", user_id=user_id))
        db.session.commit()
    flash(f"已重置“{login_name}”的密码，该用户下次登录时须修改密码。", "success")
    return redirect(url_for("tenants.user_list", tenant=tenant_id))
