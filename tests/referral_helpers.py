"""Helpers for lead and referral tests: act as a world user, post leads, send them."""

from __future__ import annotations

import contextlib

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
