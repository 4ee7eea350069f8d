"""Tenant and user administration as plain functions over a session and the acting user."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.activation import flip_active
from portal.audit import service as audit
from portal.auth.passwords import hash_password, password_problems
from portal.auth.service import end_all_sessions, end_tenant_sessions
from portal.validation import InputError, clean_name
from tenants.models import ASSESSOR_TENANT_KINDS, ROLES, TENANT_KINDS, Tenant, User

LOGIN_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9._-]{2,63}$")
TENANT_CODE_PATTERN = re.compile(r"^[a-z][a-z0-9-]{1,31}$")
# A plain address: local part, @, a dotted domain; no spaces, no display names, no second "@".
EMAIL_PATTERN = re.compile(r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
EMAIL_MAX_LENGTH = 120
# Which kinds may sit under which parent (None: top level).
ALLOWED_PARENT_KINDS = {
    "city": {None},
    "department": {"city"},
    "county": {"city"},
    "park": {"city", "county"},
    "office": {"city", None},
}


class AdminError(InputError):
    """A refused administrative change."""


class NotAllowedError(PermissionError):
    pass


@dataclass(frozen=True)
class Context:
    """Who is acting, from where."""

    user: User
    client_addr: str = ""

    @property
    def actor(self) -> audit.Actor:
        return audit.Actor.of(self.user, self.client_addr)


def _audit(session: Session, ctx: Context, action: str, obj, before=None, after=None) -> None:
    """Audit a change to a tenant or user, filed under the tenant it concerns."""
    if isinstance(obj, Tenant):
        object_type, tenant_id = "tenant", obj.id
    else:
        object_type, tenant_id = "user", obj.tenant_id
    audit.record(
        session,
        ctx.actor,
        action,
        tenant_id=tenant_id,
        object_type=object_type,
        object_id=obj.id,
        before=before,
        after=after,
    )


def filter_tenants(session: Session) -> list[Tenant]:
    """The tenants a list or search can be filtered by (every kind but the assessment office)."""
    return list(
        session.scalars(
            select(Tenant).where(Tenant.kind != "office").order_by(Tenant.kind, Tenant.code)
        )
    )


def is_city_admin(user: User) -> bool:
    return user.has_role("admin") and user.tenant.kind == "city"


def _require_city_admin(ctx: Context) -> None:
    if not is_city_admin(ctx.user):
        raise NotAllowedError("only the city admin manages tenants")


def _require_user_admin(ctx: Context, tenant_id: int) -> None:
    if not ctx.user.has_role("admin"):
        raise NotAllowedError("only admins manage users")
    if tenant_id != ctx.user.tenant_id and not is_city_admin(ctx.user):
        raise NotAllowedError("tenant admins manage their own tenant only")


def tenant_snapshot(tenant: Tenant) -> dict:
    return {
        "code": tenant.code,
        "name": tenant.name,
        "kind": tenant.kind,
        "parent_id": tenant.parent_id,
        "active": tenant.active,
    }


def user_snapshot(user: User) -> dict:
    return {
        "login_name": user.login_name,
        "display_name": user.display_name,
        "email": user.email or "",
        "roles": user.roles,
        "active": user.active,
    }


def _validate_parent(session: Session, kind: str, parent_id: int | None, errors: dict) -> None:
    parent = session.get(Tenant, parent_id) if parent_id else None
    if parent_id and parent is None:
        errors["parent_id"] = "上级单位不存在。"
        return
    allowed = ALLOWED_PARENT_KINDS.get(kind, set())
    if (parent.kind if parent else None) not in allowed:
        errors["parent_id"] = "该类型单位不能隶属于所选上级单位。"


def create_tenant(
    session: Session, ctx: Context, *, code: str, name: str, kind: str, parent_id: int | None
) -> Tenant:
    _require_city_admin(ctx)
    code, name = (code or "").strip().lower(), clean_name(name)
    errors: dict[str, str] = {}
    if not TENANT_CODE_PATTERN.match(code):
        errors["code"] = "单位代码须以小写字母开头，由 2–32 位小写字母、数字或连字符组成。"
    if not name or len(name) > 100:
        errors["name"] = "请填写单位名称（不超过 100 个字）。"
    if kind not in TENANT_KINDS:
        errors["kind"] = "请选择单位类型。"
    elif kind == "city":
        errors["kind"] = "全市只能有一个市级招商部门。"
    else:
        _validate_parent(session, kind, parent_id, errors)
    if not errors:
        if session.scalar(select(Tenant.id).where(Tenant.code == code)):
            errors["code"] = "该单位代码已被使用。"
        if session.scalar(select(Tenant.id).where(Tenant.name == name)):
            errors["name"] = "已有同名单位。"
    if errors:
        raise AdminError(errors)
    tenant = Tenant(code=code, name=name, kind=kind, parent_id=parent_id, active=True)
    session.add(tenant)
    _flush_or_conflict(session, {"code": "该单位代码或名称已被使用。"})
    _audit(session, ctx, "tenant_created", tenant, after=tenant_snapshot(tenant))
    return tenant


def update_tenant(
    session: Session, ctx: Context, tenant: Tenant, *, name: str, parent_id: int | None
) -> Tenant:
    _require_city_admin(ctx)
    name = clean_name(name)
    errors: dict[str, str] = {}
    if not name or len(name) > 100:
        errors["name"] = "请填写单位名称（不超过 100 个字）。"
    elif session.scalar(select(Tenant.id).where(Tenant.name == name, Tenant.id != tenant.id)):
        errors["name"] = "已有同名单位。"
    if parent_id == tenant.id:
        errors["parent_id"] = "单位不能隶属于自身。"
    else:
        _validate_parent(session, tenant.kind, parent_id, errors)
    if errors:
        raise AdminError(errors)
    before = tenant_snapshot(tenant)
    tenant.name, tenant.parent_id = name, parent_id
    _flush_or_conflict(session, {"name": "已有同名单位。"})
    if before != tenant_snapshot(tenant):
        _audit(session, ctx, "tenant_updated", tenant, before, tenant_snapshot(tenant))
    return tenant


def set_tenant_active(session: Session, ctx: Context, tenant: Tenant, active: bool) -> None:
    """Deactivate (ending every session of its users at once) or reactivate a tenant."""
    _require_city_admin(ctx)
    if tenant.kind == "city" and not active:
        raise AdminError({"active": "不能停用市级招商部门。"})
    _flip_active(session, ctx, tenant, active, noun="单位")
    if not active:
        end_tenant_sessions(session, tenant.id)


def _flip_active(session: Session, ctx: Context, obj, active: bool, *, noun: str) -> None:
    """Set ``active`` only if it still holds the opposite value: of two admins pressing the same
    button at once, exactly one wins and the other is told the object already changed."""
    model = type(obj)
    if not flip_active(session, obj, active):
        state = "启用" if active else "停用"
        raise AdminError({"active": f"该{noun}已处于{state}状态（可能刚被其他管理员修改）。"})
    kind = model.__tablename__.split("_")[0]
    action = f"{kind}_activated" if active else f"{kind}_deactivated"
    _audit(session, ctx, action, obj, {"active": not active}, {"active": active})


def _validate_roles(tenant: Tenant, roles: list[str], errors: dict) -> list[str]:
    roles = [r for r in roles if r]
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        errors["roles"] = "请至少选择一个有效角色。"
    elif "assessor" in roles and tenant.kind not in ASSESSOR_TENANT_KINDS:
        errors["roles"] = "考核员只能设在市级招商部门或考核机构。"
    return roles


def _validate_email(value, errors: dict) -> str | None:
    """An optional e-mail address for notification copies; None when left empty."""
    email = (value or "").strip() if isinstance(value, str) else ""
    if not email:
        return None
    if len(email) > EMAIL_MAX_LENGTH or not EMAIL_PATTERN.fullmatch(email) or ".." in email:
        errors["email"] = "电子邮箱格式不正确，请填写如 wangjun@example.gov.cn 的地址，或留空。"
        return None
    return email


def create_user(
    session: Session,
    ctx: Context,
    tenant: Tenant,
    *,
    login_name: str,
    display_name: str,
    roles: list[str],
    password: str,
    email: str | None = None,
) -> User:
    _require_user_admin(ctx, tenant.id)
    login_name = (login_name or "").strip().lower()
    display_name = clean_name(display_name)
    errors: dict[str, str] = {}
    if not LOGIN_NAME_PATTERN.match(login_name):
        errors["login_name"] = (
            "登录名须以小写字母开头，由 3–64 位小写字母、数字、点、下划线或连字符组成。"
        )
    if not display_name or len(display_name) > 64:
        errors["display_name"] = "请填写姓名（不超过 64 个字）。"
    email = _validate_email(email, errors)
    roles = _validate_roles(tenant, roles, errors)
    problems = password_problems(password or "", login_name)
    if problems:
        errors["password"] = problems[0]
    if not tenant.active:
        errors["tenant"] = "该单位已停用，不能新建用户。"
    if "login_name" not in errors and _login_name_taken(session, login_name):
        errors["login_name"] = "该登录名已被使用。"
    if errors:
        raise AdminError(errors)
    user = User(
        tenant_id=tenant.id,
        login_name=login_name,
        display_name=display_name,
        email=email,
        password_hash=hash_password(password),
        must_change_password=True,
        active=True,
    )
    user.set_roles(roles)
    session.add(user)
    _flush_or_conflict(session, {"login_name": "该登录名已被使用。"})
    _audit(session, ctx, "user_created", user, after=user_snapshot(user))
    return user


def _login_name_taken(session: Session, login_name: str) -> bool:
    from tenants.scoping import wider_scope

    # Login names are unique across the city; checking needs every tenant's users.
    with wider_scope("authentication"):
        return session.scalar(select(User.id).where(User.login_name == login_name)) is not None


def update_user(
    session: Session,
    ctx: Context,
    user: User,
    *,
    display_name: str,
    roles: list[str],
    email: str | None = None,
) -> User:
    _require_user_admin(ctx, user.tenant_id)
    display_name = clean_name(display_name)
    errors: dict[str, str] = {}
    if not display_name or len(display_name) > 64:
        errors["display_name"] = "请填写姓名（不超过 64 个字）。"
    # None: the form did not carry the field, keep the address; "": clear it.
    email = user.email if email is None else _validate_email(email, errors)
    roles = _validate_roles(user.tenant, roles, errors)
    if user.id == ctx.user.id and "admin" not in roles:
        errors["roles"] = "不能取消自己的管理员角色，请由其他管理员操作。"
    if errors:
        raise AdminError(errors)
    before = user_snapshot(user)
    user.display_name = display_name
    user.email = email
    user.set_roles(roles)
    session.flush()
    after = user_snapshot(user)
    if before != after:
        action = "user_roles_changed" if before["roles"] != after["roles"] else "user_updated"
        _audit(session, ctx, action, user, before, after)
    return user


def set_user_active(session: Session, ctx: Context, user: User, active: bool) -> None:
    """Deactivate (ending the user's sessions at once) or reactivate a user."""
    _require_user_admin(ctx, user.tenant_id)
    if user.id == ctx.user.id and not active:
        raise AdminError({"active": "不能停用自己的账号。"})
    _flip_active(session, ctx, user, active, noun="用户")
    if not active:
        end_all_sessions(session, user.id)


def reset_password(session: Session, ctx: Context, user: User, new_password: str) -> None:
    """Set a temporary password the user must change at next sign-in; end their sessions."""
    _require_user_admin(ctx, user.tenant_id)
    problems = password_problems(new_password or "", user.login_name)
    if problems:
        raise AdminError({"password": problems[0]})
    user.password_hash = hash_password(new_password)
    user.must_change_password = True
    end_all_sessions(session, user.id)
    _audit(session, ctx, "user_password_reset", user)


def _flush_or_conflict(session: Session, errors: dict[str, str]) -> None:
    # Two admins creating the same name at once: the unique index decides, the loser is told.
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise AdminError(errors) from exc
