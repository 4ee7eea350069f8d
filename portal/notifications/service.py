"""Notifications: written in the transaction of the change that causes them; e-mailed later by
the sweep when SMTP is configured. Plain functions, no Flask."""

from __future__ import annotations

from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.database import utcnow
from portal.notifications.models import Notification
from tenants.models import Tenant, User
from tenants.scoping import wider_scope

HANDLER_ROLES = ("officer", "head")


def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(Notification)


def notify_tenant(
    session: Session,
    tenant_id: int,
    kind: str,
    text: str,
    *,
    referral_id: int | None = None,
    lead_id: int | None = None,
    url: str = "",
    roles=HANDLER_ROLES,
    dedupe: str | None = None,
) -> int:
    """Notify the active users of a tenant holding one of ``roles``. With ``dedupe``, a person
    gets the notification once however often this runs (the sweep). Returns rows written."""
    with wider_scope("notify"):
        users = [
            user
            for user in session.scalars(
                select(User).where(User.tenant_id == tenant_id, User.active.is_(True))
            )
            if user.has_role(*roles)
        ]
        return _write(session, users, kind, text, referral_id, lead_id, url, dedupe)


def notify_every_tenant(
    session: Session,
    kind: str,
    text: str,
    *,
    url: str = "",
    roles=HANDLER_ROLES,
    except_tenant: int | None = None,
) -> int:
    """Notify the active users holding one of ``roles`` in every active tenant (but
    ``except_tenant``), with one read of the users. Returns rows written."""
    with wider_scope("notify"):
        statement = (
            select(User)
            .join(Tenant, Tenant.id == User.tenant_id)
            .where(User.active.is_(True), Tenant.active.is_(True))
        )
        if except_tenant is not None:
            statement = statement.where(User.tenant_id != except_tenant)
        users = [user for user in session.scalars(statement) if user.has_role(*roles)]
        return _write(session, users, kind, text, None, None, url, None)


def _write(session, users, kind, text, referral_id, lead_id, url, dedupe) -> int:
    if not users:
        return 0
    now = utcnow()
    rows = [
        {
            "tenant_id": user.tenant_id,
            "user_id": user.id,
            "kind": kind,
            "referral_id": referral_id,
            "lead_id": lead_id,
            "text": text[:300],
            "url": url,
            "dedupe_key": f"{dedupe}:u{user.id}" if dedupe else None,
            "created_at": now,
        }
        for user in users
    ]
    statement = _insert(session).values(rows)
    if dedupe:
        statement = statement.on_conflict_do_nothing(index_elements=["dedupe_key"])
    # RETURNING lists only the rows written (a duplicate is skipped): rowcount is not reliable
    # for a multi-row INSERT on every driver (psycopg reports -1).
    return len(session.execute(statement.returning(Notification.id)).all())


def unread_count(session: Session, user_id: int) -> int:
    return (
        session.scalar(
            select(func.count(Notification.id)).where(
                Notification.user_id == user_id, Notification.read_at.is_(None)
            )
        )
        or 0
    )


def for_user(session: Session, user_id: int, *, unread_only: bool = False):
    statement = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        statement = statement.where(Notification.read_at.is_(None))
    return statement.order_by(Notification.created_at.desc(), Notification.id.desc())


def mark_read(session: Session, user_id: int, notification_id: int | None = None) -> int:
    """Mark one (or every) unread notification of the user as read; returns how many."""
    statement = update(Notification).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    if notification_id is not None:
        statement = statement.where(Notification.id == notification_id)
    return session.execute(
        statement.values(read_at=utcnow()).execution_options(synchronize_session=False)
    ).rowcount
