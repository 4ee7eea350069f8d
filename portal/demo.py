"""`flask demo seed`: an idempotent demo city with users for every role in every tenant."""

from __future__ import annotations

import os

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit import service as audit
from portal.auth.passwords import hash_password
from portal.extensions import db
from portal.leads.chains import seed_default_chains
from tenants.admin import tenant_snapshot, user_snapshot
from tenants.models import ASSESSOR_TENANT_KINDS, Tenant, User
from tenants.scoping import wider_scope

DEFAULT_DEMO_PASSWORD = "Xqb-demo-2026"  # noqa: S105 - documented in the README, demo only

# (code, name, kind, parent code)
DEMO_TENANTS = [
    ("city", "市投资促进局", "city", None),
    ("shangwu", "市商务局", "department", "city"),
    ("fagai", "市发改委", "department", "city"),
    ("dean", "德安县", "county", "city"),
    ("yongxiu", "永修县", "county", "city"),
    ("duchang", "都昌县", "county", "city"),
    ("hukou", "湖口县", "county", "city"),
    ("pengze", "彭泽县", "county", "city"),
    ("wuning", "武宁县", "county", "city"),
    ("lianxi", "濂溪区", "county", "city"),
    ("jkq", "市经济技术开发区", "park", "city"),
    ("dean-park", "德安高新技术产业园区", "park", "dean"),
    ("kaohe", "市考核办", "office", "city"),
]

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN_NAMES = ["建国", "晓明", "丽华", "志强", "海燕", "文博", "雪梅", "振宇", "静怡", "国栋"]
ROLE_SUFFIXES = ("officer", "head", "admin", "assessor")


def demo_users() -> list[tuple[str, str, str, str]]:
    """(tenant code, login name, display name, role) for every demo account."""
    users = []
    counter = 0
    for code, _name, kind, _parent in DEMO_TENANTS:
        for role in ROLE_SUFFIXES:
            if role == "assessor" and kind not in ASSESSOR_TENANT_KINDS:
                continue
            surname = SURNAMES[counter % len(SURNAMES)]
            given = GIVEN_NAMES[(counter * 3) % len(GIVEN_NAMES)]
            users.append((code, f"{code}.{role}", surname + given, role))
            counter += 1
    return users


def seed_demo_city(session: Session, password: str) -> dict[str, int]:
    """Create what is missing; never touch what exists. Returns counts of rows created."""
    created = {"tenants": 0, "users": 0, "chains": 0}
    actor = audit.Actor(None, "demo-seed", None)
    with wider_scope("cli"):
        by_code = {t.code: t for t in session.scalars(select(Tenant)).all()}
        for code, name, kind, parent_code in DEMO_TENANTS:
            if code in by_code:
                continue
            parent = by_code.get(parent_code) if parent_code else None
            tenant = Tenant(code=code, name=name, kind=kind, parent=parent, active=True)
            session.add(tenant)
            session.flush()
            by_code[code] = tenant
            created["tenants"] += 1
            audit.record(
                session,
                actor,
                "tenant_created",
                tenant_id=tenant.id,
                object_type="tenant",
                object_id=tenant.id,
                after=tenant_snapshot(tenant),
            )
        existing = set(session.scalars(select(User.login_name)).all())
        password_hash = hash_password(password)
        for code, login_name, display_name, role in demo_users():
            if login_name in existing:
                continue
            tenant = by_code[code]
            user = User(
                tenant_id=tenant.id,
                login_name=login_name,
                display_name=display_name,
                password_hash=password_hash,
                roles=role,
                active=True,
            )
            session.add(user)
            session.flush()
            created["users"] += 1
            audit.record(
                session,
                actor,
                "user_created",
                tenant_id=tenant.id,
                object_type="user",
                object_id=user.id,
                after=user_snapshot(user),
            )
    created["chains"] = seed_default_chains(session)
    return created


def seed_demo(session: Session, password: str, policy_files_dir: str) -> dict[str, int]:
    """The whole demo: tenants, users and chains, then leads and referrals at every stage of
    the workflow (portal/demo_leads.py), the policy library (portal/demo_policies.py) and the
    assessment office's work (portal/demo_assessment.py). Idempotent; the caller commits."""
    from portal.demo_assessment import seed_demo_assessment
    from portal.demo_leads import seed_demo_leads
    from portal.demo_policies import seed_demo_policies

    created = seed_demo_city(session, password)
    session.flush()
    created.update(seed_demo_leads(session))
    created["policies"] = seed_demo_policies(session, policy_files_dir)
    created.update(seed_demo_assessment(session))
    return created


demo_cli = AppGroup("demo", help="Demo data.")


@demo_cli.command("seed")
def seed_command():
    """Create the demo city (idempotent). Password from DEMO_PASSWORD, else the README's."""
    password = os.environ.get("DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD
    created = seed_demo(db.session, password, current_app.config["POLICY_FILES_PATH"])
    db.session.commit()
    from search.extension import get_index
    from search.sync import drain

    indexed = drain(db.session, get_index())
    click.echo(f"search index: {indexed} changes indexed")
    click.echo(
        f"demo city ready: {created['tenants']} tenants, {created['users']} users, "
        f"{created['chains']} industry chains, {created['leads']} leads and "
        f"{created['referrals']} referrals, {created['policies']} policies, "
        f"{created['credit_entries']} credit entries ({created['credit_decisions']} decided, "
        f"{created['credit_appeals']} appealed) created "
        f"({len(DEMO_TENANTS)} tenants, {len(demo_users())} demo accounts in all)"
    )
