"""/login, /logout and the password change page."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user

from portal.access import PUBLIC, SIGNED_IN, access
from portal.auth import service
from portal.auth.forms import ChangePasswordForm, LoginForm
from portal.extensions import db
from portal.web import client_addr, safe_next

bp = Blueprint("auth", __name__)


@bp.route("/login", methods=["GET", "POST"])
@access(PUBLIC)
def login():
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
        if current_user.is_authenticated:
            return redirect(form.next.data or url_for("dashboard.index"))
    error = None
    if form.validate_on_submit():
        result = service.sign_in(
            db.session,
            form.login_name.data,
            form.password.data,
            client_addr(),
            request.user_agent.string,
        )
        db.session.commit()
        if result.user is not None:
            # A fresh cookie session on sign-in: nothing (and no CSRF token) carries over.
            session.clear()
            result.user.session_token = result.token
            login_user(result.user)
            flash(f"欢迎，{result.user.display_name}。", "success")
            return redirect(safe_next(form.next.data) or url_for("dashboard.index"))
        error = result.error
    status = 200 if request.method == "GET" or not (error or form.errors) else 422
    return render_template("auth/login.html", form=form, error=error), status


@bp.route("/logout", methods=["POST"])
@access(SIGNED_IN)
def logout():
    service.sign_out(db.session, current_user._get_current_object(), client_addr())
    db.session.commit()
    logout_user()
    session.clear()
    flash("您已安全退出。", "info")
    return redirect(url_for("auth.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@access(SIGNED_IN)
def change_password():
    form = ChangePasswordForm()
    errors: list[str] = []
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            token = service.change_password(
                db.session,
                user,
                form.current_password.data,
                form.new_password.data,
                client_addr(),
                request.user_agent.string,
            )
        except service.PasswordChangeError as exc:
            db.session.rollback()
            errors = exc.messages
        else:
            db.session.commit()
            # Every old session ended; this browser continues on the new one.
            user.session_token = token
            login_user(user)
            flash("密码已修改，其他设备上的登录已全部退出。", "success")
            return redirect(url_for("dashboard.index"))
    status = 422 if request.method == "POST" else 200
    return render_template("auth/password.html", form=form, errors=errors), status
