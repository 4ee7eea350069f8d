"""What the landing page shows; counts always go through the tenant scope."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.database import utcnow
from portal.leads.models import Lead
from portal.referrals.models import Referral
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
    work: dict[str, int] = field(default_factory=dict)
    pipeline: list[PipelineRow] = field(default_factory=list)


@dataclass
class PipelineRow:
    tenant: Tenant
    open: int
    overdue: int
    landed: int


def dashboard_summary(session: Session, user: User) -> DashboardSummary:
    tenant = user.tenant
    own_users = session.scalar(select(func.count(User.id))) or 0
    own_active = session.scalar(select(func.count(User.id)).where(User.active.is_(True))) or 0
    summary = DashboardSummary(tenant=tenant, own_users=own_users, own_active_users=own_active)
    summary.children = list(
        session.scalars(select(Tenant).where(Tenant.parent_id == tenant.id).order_by(Tenant.code))
    )
    if user.has_role("officer", "head", "assessor"):
        summary.work = _work_counts(session, tenant.id)
    if user.has_role("admin"):
        summary.recent_events = list(
            session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(8))
        )
    if tenant.kind == "city" and user.has_role("admin", "head"):
        summary.city_overview, summary.kind_counts = _city_overview(session)
    if tenant.kind == "city" and user.has_role("officer", "head"):
        summary.pipeline = _pipeline(session)
    return summary


def _work_counts(session: Session, tenant_id: int) -> dict[str, int]:
    """The tenant's own workload; every count runs through the scope like any other query."""
    from portal.leads.codes import OPEN_STATES
    from portal.referrals.service import overdue_condition

    now = utcnow()

    def count(*conditions) -> int:
        return session.scalar(select(func.count(Referral.id)).where(*conditions)) or 0

    inbox = Referral.to_tenant_id == tenant_id
    outbox = Referral.from_tenant_id == tenant_id
    return {
        "leads": session.scalar(select(func.count(Lead.id))) or 0,
        "to_sign": count(inbox, Referral.state.in_(("sent", "return_requested"))),
        "in_hand": count(inbox, Referral.state.in_(("accepted", "reported"))),
        "overdue": count(inbox, overdue_condition(now)),
        "sent_open": count(outbox, Referral.state.in_(OPEN_STATES)),
        "sent_overdue": count(outbox, overdue_condition(now)),
    }


def _pipeline(session: Session) -> list[PipelineRow]:
    """Per receiving tenant: open, overdue and landed referrals (the city sees all)."""
    from portal.leads.codes import OPEN_STATES
    from portal.referrals.service import overdue_condition

    now = utcnow()

    def grouped(*conditions) -> dict[int, int]:
        return dict(
            session.execute(
                select(Referral.to_tenant_id, func.count(Referral.id))
                .where(*conditions)
                .group_by(Referral.to_tenant_id)
            ).all()
        )

    open_ = grouped(Referral.state.in_(OPEN_STATES))
    overdue = grouped(overdue_condition(now))
    landed = grouped(Referral.state == "landed")
    ids = set(open_) | set(overdue) | set(landed)
    tenants = session.scalars(select(Tenant).where(Tenant.id.in_(ids)).order_by(Tenant.code))
    rows = [
        PipelineRow(t, open_.get(t.id, 0), overdue.get(t.id, 0), landed.get(t.id, 0))
        for t in tenants
    ]
    return sorted(rows, key=lambda r: (-r.overdue, -r.open, r.tenant.code))


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
