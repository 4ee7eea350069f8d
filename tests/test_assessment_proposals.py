"""From the workflow to scoring proposals: the referral chain of a landed lead, its first
introducer, later stages and late deadlines, read from the database as the services left it."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from portal.assessment import ledger, proposals, service
from portal.assessment.models import CreditLedger, ScoringRuleSet
from portal.assessment.scoring import default_rules
from portal.database import utcnow
from portal.extensions import db
from portal.leads import service as leads
from portal.leads.models import Lead
from portal.referrals import service as referrals
from portal.referrals.models import Referral
from portal.workdays.calendar import local_date
from tenants.scoping import wider_scope
from tests.referral_helpers import acting, post_lead, send


def _act(world, login, action, referral_id, **kwargs):
    with acting(world, login) as actor:
        result = action(db.session, actor, db.session.get(Referral, referral_id), **kwargs)
        db.session.commit()
        return getattr(result, "id", result)  # read inside the scope


def _land_through_two_counties(world, **lead_fields) -> int:
    """The department posts; county A signs and its head passes it on; county B signs and lands
    it."""
    lead_id = post_lead(world, "dept.officer", **lead_fields)
    (first,) = send(world, "dept.officer", lead_id, "county_a")
    _act(world, "county-a.officer", referrals.accept, first)
    second_id = _act(
        world,
        "county-a.head",
        referrals.transfer,
        first,
        to_tenant_id=str(world.tenants["county_b"]),
        note="乙县有配套园区。",
    )
    _act(world, "county-b.officer", referrals.accept, second_id)
    today = local_date(utcnow()).isoformat()
    _act(
        world,
        "county-b.officer",
        referrals.close_landed,
        second_id,
        host_tenant_id="",
        signed_on=today,
        signed_amount="60000",
    )
    return lead_id


def _computed(world, lead_id):
    with wider_scope("cli"):
        lead = db.session.get(Lead, lead_id)
        found = proposals.lead_proposals(db.session, default_rules, lead)
        db.session.rollback()
    return {(p.proposal.rule, p.proposal.tenant_id): p for p in found}


def test_a_transferred_landing_credits_the_introducer_and_the_intermediary(world):
    lead_id = _land_through_two_counties(world, planned_investment="60000")
    found = _computed(world, lead_id)
    dept, county_a = world.tenants["dept"], world.tenants["county_a"]
    assert {key: p.proposal.points for key, p in found.items()} == {
        ("landing_first", dept): Decimal("6.0"),  # 5–10 亿: 10 points, 首报 60 %
        ("landing_intermediary", county_a): Decimal("4.0"),
    }
    evidence = found[("landing_first", dept)].proposal.inputs
    assert evidence["chain"] == [dept, county_a, world.tenants["county_b"]]
    assert evidence["landed_lead_id"] == lead_id
    assert found[("landing_first", dept)].year == local_date(utcnow()).year


def test_a_later_stage_adds_its_bonus_along_the_same_chain(world):
    lead_id = _land_through_two_counties(world, planned_investment="60000")
    today = local_date(utcnow()).isoformat()
    with acting(world, "county-b.officer") as actor:
        lead = db.session.get(Lead, lead_id)
        leads.record_stage(db.session, actor, lead, stage="registered", on_date=today)
        leads.record_stage(db.session, actor, lead, stage="started", on_date=today)
        db.session.commit()
    found = _computed(world, lead_id)
    assert found[("stage_started", world.tenants["dept"])].proposal.points == Decimal("1.2")
    assert found[("stage_started", world.tenants["county_a"])].proposal.points == Decimal("0.8")
    assert not any(rule == "stage_registered" for rule, _ in found)


def test_an_earlier_posting_of_the_same_company_is_the_first_introducer(world):
    earlier = post_lead(world, "park-a.officer", company="赣江锂能科技有限公司")
    lead_id = _land_through_two_counties(
        world, company="贛江鋰能科技有限公司", planned_investment="60000"
    )
    found = _computed(world, lead_id)
    park, dept = world.tenants["park_a"], world.tenants["dept"]
    assert found[("landing_first", park)].proposal.points == Decimal("6.0")
    assert found[("landing_first", park)].proposal.key == f"land:{earlier}:{park}"
    # The department passed the duplicate on: an intermediary's share, with county A.
    assert found[("landing_intermediary", dept)].proposal.points == Decimal("2.0")


def test_a_lead_not_landed_proposes_nothing(world):
    lead_id = post_lead(world, "dept.officer", planned_investment="60000")
    send(world, "dept.officer", lead_id, "county_a")
    assert _computed(world, lead_id) == {}


def test_late_signing_is_charged_to_the_receiver_once_the_deadline_passed(world):
    lead_id = post_lead(world, "dept.officer")
    (late, on_time) = send(world, "dept.officer", lead_id, "park_a", "county_a")
    _act(world, "county-a.officer", referrals.accept, on_time)
    with wider_scope("cli"):
        referral = db.session.get(Referral, late)
        before = proposals.referral_penalties(
            db.session, default_rules, referral, referral.sign_by - timedelta(minutes=1)
        )
        after = proposals.referral_penalties(
            db.session, default_rules, referral, referral.sign_by + timedelta(minutes=1)
        )
        signed = proposals.referral_penalties(
            db.session,
            default_rules,
            db.session.get(Referral, on_time),
            referral.sign_by + timedelta(minutes=1),
        )
        db.session.rollback()
    assert before == [] and signed == []
    (penalty,) = after
    assert penalty.proposal.tenant_id == world.tenants["park_a"]
    assert (penalty.proposal.rule, penalty.proposal.points) == ("late_sign", Decimal("-0.5"))
    assert penalty.proposal.key == f"late_sign:{late}"
    assert penalty.proposal.inputs["done_at"] == ""


def _ledger() -> dict[str, Decimal]:
    with wider_scope("cli"):
        rows = db.session.execute(
            select(CreditLedger.entry_key, CreditLedger.points).where(
                CreditLedger.kind == "proposed"
            )
        ).all()
        db.session.rollback()
    return dict(rows)


def test_landing_and_stages_propose_in_their_own_transaction_once(world):
    lead_id = _land_through_two_counties(world, planned_investment="60000")
    dept, county_a = world.tenants["dept"], world.tenants["county_a"]
    assert _ledger() == {
        f"land:{lead_id}:{dept}": Decimal("6.0"),
        f"land:{lead_id}:{county_a}": Decimal("4.0"),
    }
    today = local_date(utcnow()).isoformat()
    with acting(world, "county-b.officer") as actor:
        lead = db.session.get(Lead, lead_id)
        leads.record_stage(db.session, actor, lead, stage="registered", on_date=today)
        leads.record_stage(db.session, actor, lead, stage="started", on_date=today)
        db.session.rollback()  # the stage and its credit go together
    assert len(_ledger()) == 2
    with acting(world, "county-b.officer") as actor:
        lead = db.session.get(Lead, lead_id)
        leads.record_stage(db.session, actor, lead, stage="registered", on_date=today)
        leads.record_stage(db.session, actor, lead, stage="started", on_date=today)
        db.session.commit()
    assert _ledger()[f"stage:{lead_id}:started:{dept}"] == Decimal("1.2")
    before = _ledger()
    assert service.propose_for_lead(db.session, lead_id) == 0  # replaying adds nothing
    db.session.commit()
    assert service.propose_all(db.session, utcnow()) == 0
    db.session.commit()
    assert _ledger() == before


def test_the_periodic_run_adds_each_late_deadline_once(world):
    lead_id = post_lead(world, "dept.officer")
    (late,) = send(world, "dept.officer", lead_id, "park_a")
    with wider_scope("cli"):
        sign_by = db.session.get(Referral, late).sign_by
        db.session.rollback()
    later = sign_by + timedelta(days=30)
    assert service.propose_all(db.session, sign_by - timedelta(minutes=1)) == 0
    assert service.propose_all(db.session, later) == 2  # late to sign and to report
    assert service.propose_all(db.session, later) == 0
    db.session.commit()
    assert _ledger() == {
        f"late_sign:{late}": Decimal("-0.5"),
        f"late_report:{late}": Decimal("-1.0"),
    }


def test_recompute_shows_what_new_rules_would_change_and_changes_nothing(app, world):
    lead_id = _land_through_two_counties(world, planned_investment="60000")
    year = local_date(utcnow()).year
    richer = dataclasses.replace(
        default_rules(year),
        version=2,
        tiers=tuple(dataclasses.replace(t, points=t.points * 2) for t in default_rules(year).tiers),
    )
    with wider_scope("cli"):
        db.session.add(
            ScoringRuleSet(
                year=year,
                version=2,
                effective_from=richer.effective_from,
                rules=ledger.rules_to_json(richer),
                reason="基础分翻倍",
            )
        )
        db.session.commit()
    before = _ledger()
    differences = service.recompute(db.session, year, utcnow())
    dept = world.tenants["dept"]
    assert [(d.key, d.stored, d.current) for d in differences if d.tenant_id == dept] == [
        (f"land:{lead_id}:{dept}", Decimal("6.0"), Decimal("12.0"))
    ]
    db.session.remove()
    result = app.test_cli_runner().invoke(args=["assessment", "recompute", "--year", str(year)])
    assert result.exit_code == 0, result.output
    assert "未做任何修改" in result.output and "台账 6.0 分，现行规则 12.0 分" in result.output
    assert _ledger() == before
