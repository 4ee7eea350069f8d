"""Helpers for lead and referral tests: act as a world user, post leads, send them."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

from portal.audit.service import Actor
from portal.extensions import db
from portal.leads import service as leads
from tenants.models import User
from tenants.scoping import acting_as, wider_scope

LEAD_FORM = {
    "title": "年产 10GWh 储能电池项目",
    "company": "赣江锂能科技有限公司",
    "credit_code": "91360400MA35XXXX0K",
    "company_origin": "广东深圳",
    "planned_investment": "150000",
    "land_need": "300",
    "description": "拟建设储能电池生产线。",
    "contact_name": "王经理",
    "contact_phone": "138 0000 1234",
    "source_channel": "expo",
    "stage": "lead",
}


def load_user(world, login: str) -> User:
    with wider_scope("cli"):
        user = db.session.get(User, world.users[login])
        user.tenant  # noqa: B018 - load while the wide scope is open
        return user


@contextlib.contextmanager
def acting(world, login: str):
    """Run service calls as ``login`` in their request scope; yields their audit Actor."""
    user = load_user(world, login)
    with acting_as(user):
        yield Actor.of(user, "127.0.0.1")


def lead_form(**overrides) -> dict:
    form = dict(LEAD_FORM)
    form["credit_code"] = ""
    form.update(overrides)
    return form


def post_lead(world, login: str = "city.officer", **overrides):
    with acting(world, login) as actor:
        data = leads.parse_lead_input(db.session, lead_form(**overrides))
        lead = leads.create_lead(db.session, actor, data)
        db.session.commit()
        return lead.id


# ---- added for the referral workflow tests -----------------------------------------------------

SHANGHAI_OFFSET_HOURS = 8


def shanghai(year, month, day, hour=0, minute=0, second=0):
    """An Asia/Shanghai wall-clock time as the aware UTC instant the services store."""
    local = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    return local - timedelta(hours=SHANGHAI_OFFSET_HOURS)


class Clock:
    """The services' clock: ``utcnow`` of each module named (by default the workflow's,
    portal.referrals.service and portal.leads.service)."""

    MODULES = ("portal.referrals.service", "portal.leads.service")

    def __init__(self, monkeypatch, start, modules=None):
        self.now = start
        for module in modules or self.MODULES:
            monkeypatch.setattr(f"{module}.utcnow", self)

    def __call__(self):
        return self.now

    def set(self, moment):
        self.now = moment

    def advance(self, **delta):
        from datetime import timedelta

        self.now += timedelta(**delta)


def audit_actions() -> list[str]:
    """Every audit event's action, oldest first (seen through a wide scope)."""
    from sqlalchemy import select

    from portal.audit.models import AuditEvent

    with wider_scope("cli"):
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def timeline_count() -> int:
    from sqlalchemy import func, select

    from portal.leads.models import LeadEvent

    with wider_scope("cli"):
        return db.session.scalar(select(func.count(LeadEvent.id)))


def send(world, login: str, lead_id: int, *to_keys, **kwargs) -> list[int]:
    """Send ``lead_id`` as ``login`` to the world tenants ``to_keys``; commits; referral ids."""
    from portal.leads.models import Lead
    from portal.referrals import service as referrals

    kwargs.setdefault("note", "该县有用地指标，产业匹配。")
    with acting(world, login) as actor:
        lead = db.session.get(Lead, lead_id)
        sent = referrals.send_lead(
            db.session,
            actor,
            lead,
            to_tenant_ids=[str(world.tenants[key]) for key in to_keys],
            **kwargs,
        )
        db.session.commit()
        return [referral.id for referral in sent]
