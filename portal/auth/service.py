"""Sign-in, sessions and password changes as plain functions over a session (no Flask)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from portal.audit import service as audit
from portal.auth.models import LoginFailure, LoginSession
from portal.auth.passwords import hash_password, password_problems, verify_password
from portal.database import utcnow
from tenants.models import Tenant, User
from tenants.scoping import wider_scope

MAX_FAILURES = 10
FAILURE_WINDOW = timedelta(minutes=15)
# Failures are only needed for the window; older ones are pruned as new ones arrive.
FAILURE_RETENTION = timedelta(days=1)
SESSION_LIFETIME = timedelta(hours=12)

GENERIC_LOGIN_ERROR = "登录名或密码不正确，或账号不可用。"
THROTTLED_ERROR = "登录失败次数过多，请 15 分钟后再试。"


class PasswordChangeError(ValueError):
    def __init__(self, messages: list[str]):
        super().__init__("; ".join(messages))
        self.messages = messages


@dataclass(frozen=True)
class SignIn:
    user: User | None
    token: str | None = None
    error: str | None = None


def normalise_login_name(login_name: str) -> str:
    return (login_name or "").strip().lower()


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("ascii", "replace")).hexdigest()


def is_throttled(session: Session, login_name: str, client_addr: str, now: datetime) -> bool:
    since = now - FAILURE_WINDOW
    by_account = session.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.login_name == login_name, LoginFailure.occurred_at > since
        )
    )
    by_address = session.scalar(
        select(func.count(LoginFailure.id)).where(
            LoginFailure.client_addr == client_addr, LoginFailure.occurred_at > since
        )
    )
    return by_account >= MAX_FAILURES or by_address >= MAX_FAILURES


def sign_in(
    session: Session,
    login_name: str,
    password: str,
    client_addr: str,
    user_agent: str = "",
    now: datetime | None = None,
) -> SignIn:
    """Check credentials under the throttle; on success open a server-side session.

    The caller commits. Every outcome is audited; failures say nothing about whether the account
    exists.
    """
    now = now or utcnow()
    name = normalise_login_name(login_name)[:64]
    client_addr = (client_addr or "")[:64]
    if is_throttled(session, name, client_addr, now):
        _record_failure(session, name, client_addr, now, None, "throttled")
        return SignIn(None, error=THROTTLED_ERROR)
    with wider_scope("authentication"):
        user = session.scalar(select(User).where(User.login_name == name))
        password_ok = verify_password(user.password_hash if user else None, password or "")
        usable = user is not None and user.active and user.tenant.active
        if not (password_ok and usable):
            _record_failure(session, name, client_addr, now, user, "bad_credentials")
            return SignIn(None, error=GENERIC_LOGIN_ERROR)
        token = _open_session(session, user, client_addr, user_agent, now)
        user.last_login_at = now
        audit.record(
            session,
            audit.Actor.of(user, client_addr),
            "login",
            object_type="user",
            object_id=user.id,
        )
    return SignIn(user, token)


def _record_failure(session, name, client_addr, now, user, reason) -> None:
    session.execute(delete(LoginFailure).where(LoginFailure.occurred_at < now - FAILURE_RETENTION))
    session.add(LoginFailure(login_name=name, client_addr=client_addr, occurred_at=now))
    actor = audit.Actor(None, name, user.tenant_id if user else None, client_addr)
    audit.record(
        session,
        actor,
        "login_failed",
        object_type="user",
        object_id=user.id if user else "",
        after={"reason": reason},
    )


def _open_session(session, user, client_addr, user_agent, now) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        LoginSession(
            token_hash=_token_hash(token),
            user_id=user.id,
            created_at=now,
            expires_at=now + SESSION_LIFETIME,
            client_addr=client_addr,
            user_agent=(user_agent or "")[:255],
        )
    )
    return token


def load_session_user(session: Session, token: str, now: datetime | None = None) -> User | None:
    """The user behind a session cookie, or None if the session ended, expired or is unusable."""
    now = now or utcnow()
    if not token:
        return None
    with wider_scope("authentication"):
        # One statement for the session, its user and their tenant: every signed-in request
        # pays for it.
        row = session.execute(
            select(LoginSession, User, Tenant)
            .join(User, LoginSession.user_id == User.id)
            .join(Tenant, User.tenant_id == Tenant.id)
            .where(LoginSession.token_hash == _token_hash(token))
        ).first()
        if row is None:
            return None
        login_session, user, tenant = row
        if login_session.expires_at <= now or not user.active or not tenant.active:
            return None
        # The lazy loader would query the tenant again rather than take it from this row.
        set_committed_value(user, "tenant", tenant)
        user.current_session_id = login_session.id
        user.session_token = token
        return user


def sign_out(session: Session, user: User, client_addr: str = "") -> None:
    if user.current_session_id is not None:
        session.execute(delete(LoginSession).where(LoginSession.id == user.current_session_id))
    audit.record(
        session, audit.Actor.of(user, client_addr), "logout", object_type="user", object_id=user.id
    )


def end_all_sessions(session: Session, user_id: int) -> None:
    session.execute(delete(LoginSession).where(LoginSession.user_id == user_id))


def end_tenant_sessions(session: Session, tenant_id: int) -> None:
    with wider_scope("authentication"):
        user_ids = select(User.id).where(User.tenant_id == tenant_id).scalar_subquery()
        session.execute(delete(LoginSession).where(LoginSession.user_id.in_(user_ids)))


def change_password(
    session: Session,
    user: User,
    current_password: str,
    new_password: str,
    client_addr: str = "",
    user_agent: str = "",
) -> str:
    """Change the user's own password; end every session and return a new session token."""
    problems = []
    if not verify_password(user.password_hash, current_password or ""):
        problems.append("当前密码不正确。")
    problems += password_problems(new_password or "", user.login_name)
    if new_password and verify_password(user.password_hash, new_password):
        problems.append("新密码不能与当前密码相同。")
    if problems:
        raise PasswordChangeError(problems)
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    end_all_sessions(session, user.id)
    token = _open_session(session, user, client_addr, user_agent, utcnow())
    audit.record(
        session,
        audit.Actor.of(user, client_addr),
        "password_changed",
        object_type="user",
        object_id=user.id,
    )
    return token
