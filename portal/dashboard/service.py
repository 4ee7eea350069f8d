"""What the landing page shows; counts always go through the tenant scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from tenants.models import Tenant, User
from tenants.scoping import wider_scope


@dataclass
class TenantRow:
    tenant: Tenant
    user_count: int


@dataclass
class DashboardSummary:
    tenant: Tenant
    own_users: int
    own_active_users: int
    recent_events: list[AuditEvent] = field(default_factory=list)
    children: list[Tenant] = field(default_factory=list)
    city_overview: list[TenantRow] = field(default_factory=list)
    kind_counts: dict[str, int] = field(default_factory=dict)


def dashboard_summary(session: Session, user: User) -> DashboardSummary:
    tenant = user.tenant
    own_users = session.scalar(select(func.count(User.id))) or 0
    own_active = session.scalar(select(func.count(User.id)).where(User.active.is_(True))) or 0
    summary = DashboardSummary(tenant=tenant, own_users=own_users, own_active_users=own_active)
    summary.children = list(
        session.scalars(select(Tenant).where(Tenant.parent_id == tenant.id).order_by(Tenant.code))
    )
    if user.has_role("admin"):
        summary.recent_events = list(
            session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(8))
        )
    if tenant.kind == "city" and user.has_role("admin", "head"):
        summary.city_overview, summary.kind_counts = _city_overview(session)
    return summary


def _city_overview(session: Session):
    with wider_scope("city_oversight"):
        counts = dict(
            session.execute(
                select(User.tenant_id, func.count(User.id))
                .where(User.active.is_(True))
                .group_by(User.tenant_id)
            ).all()
        )
    tenants = session.scalars(select(Tenant).order_by(Tenant.kind, Tenant.code)).all()
    rows = [TenantRow(t, counts.get(t.id, 0)) for t in tenants]
    kind_counts: dict[str, int] = {}
    for t in tenants:
        if t.active:
            kind_counts[t.kind] = kind_counts.get(t.kind, 0) + 1
    return rows, kind_counts
