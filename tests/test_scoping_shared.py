"""Who sees which shared record (DESIGN.md §5), at the session level, for every shared model,
through every way of reading: select(), counts, Core select(table), exists(), session.get (also
identity-map hits after loading under another scope), relationship loads, aliased(), joins and
ORM bulk UPDATE. Every tenant plants canary strings; no other tenant's query may return them.

The scenario: the city commerce bureau (dept) owns lead L1 and sends it to county A and county B.
County A accepts, reports and transfers it to park A (under county A), which accepts, asks for
an extension, reports and lands it, and records 注册. County B has not signed; it asks for an
extension. County B owns lead L2, never sent. The office's assessor and the city oversee leads;
the office's officer is uninvolved."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import String, exists, func, inspect, select, update
from sqlalchemy.orm import aliased, joinedload

from portal.extensions import db
from portal.leads import service as leads
from portal.leads.models import Lead, LeadAccess, LeadContact, LeadEvent, LeadStage
from portal.referrals import service as referrals
from portal.referrals.models import ExtensionRequest, Feedback, Referral
from tenants.scoping import wider_scope
from tests.referral_helpers import Clock, acting, post_lead, send, shanghai

VIEWERS = {
    "dept": "dept.officer",
    "county_a": "county-a.officer",
    "county_b": "county-b.officer",
    "park_a": "park-a.officer",
    "city": "city.officer",
    "assessor": "office.assessor",
    "office": "office.officer",
}
ALL = frozenset(VIEWERS)
OVERSEERS = frozenset({"city", "assessor"})


@dataclass
class Scenario:
    l1: int
    l2: int
    r_a: int
    r_b: int
    r_p: int
    fa: int
    fp: int
    eb: int
    ep: int
    stage: int
    expected: dict  # (model, pk) -> viewer keys
    canaries: dict  # canary text -> viewer keys


def _feedback(summary, day):
    return {
        "contacted_on": day,
        "method": "visit",
        "summary": summary,
        "intention": "strong",
        "stage_after": "talking",
    }


def build(world, clock) -> Scenario:
    l1 = post_lead(
        world, "dept.officer", title="canary-dept-title", contact_name="canary-dept-contact"
    )
    l2 = post_lead(
        world,
        "county-b.officer",
        title="canary-countyb-title",
        contact_name="canary-countyb-contact",
    )
    r_a, r_b = send(world, "dept.officer", l1, "county_a", "county_b")

    def as_(login, fn, model, ident, **kwargs):
        with acting(world, login) as actor:
            result = fn(db.session, actor, db.session.get(model, ident), **kwargs)
            db.session.flush()
            ident = getattr(result, "id", None)
            db.session.commit()
            return ident

    as_("county-a.officer", referrals.accept, Referral, r_a)
    clock.advance(hours=2)
    fa = as_(
        "county-a.officer",
        referrals.add_feedback,
        Referral,
        r_a,
        form=_feedback("canary-fa-feedback", "2026-03-02"),
    )
    r_p = as_(
        "county-a.head",
        referrals.transfer,
        Referral,
        r_a,
        to_tenant_id=str(world.tenants["park_a"]),
        note="园区有标准厂房",
    )
    eb = as_(
        "county-b.officer",
        referrals.request_extension,
        Referral,
        r_b,
        new_date="2026-03-06",
        reason="canary-eb-reason",
    )
    as_("park-a.officer", referrals.accept, Referral, r_p)
    ep = as_(
        "park-a.officer",
        referrals.request_extension,
        Referral,
        r_p,
        new_date="2026-03-20",
        reason="canary-ep-reason",
    )
    clock.advance(days=1)
    fp = as_(
        "park-a.officer",
        referrals.add_feedback,
        Referral,
        r_p,
        form=_feedback("canary-fp-feedback", "2026-03-03"),
    )
    as_(
        "park-a.officer",
        referrals.close_landed,
        Referral,
        r_p,
        host_tenant_id="",
        signed_on="2026-03-03",
        signed_amount="80000",
    )
    stage = as_(
        "park-a.officer",
        leads.record_stage,
        Lead,
        l1,
        stage="registered",
        on_date="2026-03-03",
    )
    lead1 = {"dept", "county_a", "county_b", "park_a"} | OVERSEERS
    ref_a = {"dept", "county_a"} | OVERSEERS
    ref_p = {"dept", "county_a", "park_a"} | OVERSEERS
    ref_b = {"dept", "county_b", "county_a"} | OVERSEERS  # county_a is a referrer now
    lead2 = {"county_b"} | OVERSEERS
    expected = {
        (Lead, l1): lead1,
        (Lead, l2): lead2,
        (LeadContact, l1): {"dept", "county_a", "park_a"},
        (LeadContact, l2): {"county_b"},
        (Referral, r_a): ref_a,
        (Referral, r_b): ref_b,
        (Referral, r_p): ref_p,
        (Feedback, fa): ref_a,
        (Feedback, fp): ref_p,
        (ExtensionRequest, eb): ref_b,
        (ExtensionRequest, ep): ref_p,
        (LeadStage, stage): lead1,
    }
    for tenant in ("dept", "county_a", "county_b", "park_a"):
        expected[(LeadAccess, (world.tenants[tenant], l1))] = {tenant} | OVERSEERS
    expected[(LeadAccess, (world.tenants["county_b"], l2))] = {"county_b"} | OVERSEERS
    with wider_scope("cli"):
        for event in db.session.scalars(select(LeadEvent)):
            if event.referral_id is None:
                seen = lead1 if event.lead_id == l1 else lead2
            else:
                seen = {r_a: ref_a, r_b: ref_b, r_p: ref_p}[event.referral_id]
            expected[(LeadEvent, event.id)] = seen
        db.session.commit()
    canaries = {
        "canary-dept-title": lead1,
        "canary-countyb-title": lead2,
        "canary-dept-contact": {"dept", "county_a", "park_a"},
        "canary-countyb-contact": {"county_b"},
        "canary-fa-feedback": ref_a,
        "canary-fp-feedback": ref_p,
        "canary-eb-reason": ref_b,
        "canary-ep-reason": ref_p,
    }
    return Scenario(l1, l2, r_a, r_b, r_p, fa, fp, eb, ep, stage, expected, canaries)


@pytest.fixture
def scenario(world, monkeypatch):
    clock = Clock(monkeypatch, shanghai(2026, 3, 2, 9))
    return build(world, clock)


MODELS = (Lead, LeadContact, LeadAccess, LeadStage, LeadEvent, Referral, Feedback, ExtensionRequest)


def _pk(model, row):
    cols = inspect(model).primary_key
    values = tuple(getattr(row, c.key) for c in cols)
    return values[0] if len(values) == 1 else values


def _expected_pks(scenario, model, viewer):
    return {pk for (m, pk), seen in scenario.expected.items() if m is model and viewer in seen}


def _all_pks(scenario, model):
    return {pk for (m, pk) in scenario.expected if m is model}


def test_the_scenario_covers_every_row(scenario):
    with wider_scope("cli"):
        for model in MODELS:
            rows = {_pk(model, row) for row in db.session.scalars(select(model))}
            assert rows == _all_pks(scenario, model), model.__name__


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_orm_selects_counts_and_aliases(world, scenario, viewer):
    with acting(world, VIEWERS[viewer]):
        for model in MODELS:
            want = _expected_pks(scenario, model, viewer)
            name = f"{viewer} reading {model.__name__}"
            got = {_pk(model, row) for row in db.session.scalars(select(model))}
            assert got == want, name
            alias = aliased(model)
            got = {_pk(model, row) for row in db.session.scalars(select(alias))}
            assert got == want, name + " (aliased)"
            assert db.session.scalar(select(func.count()).select_from(model)) == len(want), name
            first_pk = inspect(model).primary_key[0]
            assert db.session.scalar(select(func.count(first_pk))) == len(want), name
            assert db.session.scalar(select(func.count()).select_from(alias)) == len(want), name


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_core_table_selects_and_exists(world, scenario, viewer):
    with acting(world, VIEWERS[viewer]):
        for model in MODELS:
            table = model.__table__
            want = _expected_pks(scenario, model, viewer)
            name = f"{viewer} reading {table.name}"
            keys = [c.name for c in table.primary_key.columns]
            rows = db.session.execute(select(table)).mappings()
            got = {r[keys[0]] if len(keys) == 1 else tuple(r[k] for k in keys) for r in rows}
            assert got == want, name
            counted = db.session.scalar(select(func.count()).select_from(table))
            assert counted == len(want), name
            for pk in _all_pks(scenario, model):
                values = pk if isinstance(pk, tuple) else (pk,)
                condition = [table.c[k] == v for k, v in zip(keys, values, strict=True)]
                found = db.session.scalar(select(exists().where(*condition)))
                assert found == (pk in want), f"{name}: exists({pk})"


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_get_after_loading_everything_under_a_wide_scope(world, scenario, viewer):
    with wider_scope("cli"):
        loaded = [row for model in MODELS for row in db.session.scalars(select(model))]  # noqa: F841 - kept in the identity map on purpose
    with acting(world, VIEWERS[viewer]):
        for (model, pk), seen in scenario.expected.items():
            got = db.session.get(model, pk)
            assert (got is not None) == (viewer in seen), f"{viewer} get {model.__name__} {pk}"
    assert loaded


@pytest.mark.parametrize(
    "first, second",
    [
        ("dept", "county_b"),
        ("county_a", "park_a"),
        ("city", "county_b"),
        ("dept", "city"),
        ("county_a", "county_b"),
        ("park_a", "assessor"),
    ],
)
def test_get_after_loading_under_another_tenants_scope(world, scenario, first, second):
    """Objects loaded for one tenant sit in the identity map; another tenant's get must not be
    served from there."""
    with acting(world, VIEWERS[first]):
        held = [row for model in MODELS for row in db.session.scalars(select(model))]
        assert held
    with acting(world, VIEWERS[second]):
        for (model, pk), seen in scenario.expected.items():
            got = db.session.get(model, pk)
            assert (got is not None) == (second in seen), f"{second} get {model.__name__} {pk}"


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_relationship_loads_and_joins(world, scenario, viewer):
    with acting(world, VIEWERS[viewer]):
        for referral in db.session.scalars(select(Referral).options(joinedload(Referral.lead))):
            assert referral.lead is not None and referral.lead.id == scenario.l1
            if referral.parent_id is not None:
                # The parent is a separate load through the criteria.
                parent = referral.parent
                assert (parent is not None) == (
                    viewer in scenario.expected[(Referral, referral.parent_id)]
                )
        joined = set(
            db.session.scalars(
                select(Lead.id).join(Referral, Referral.lead_id == Lead.id).distinct()
            )
        )
        sees_a_referral = any(
            viewer in scenario.expected[(Referral, r)]
            for r in (scenario.r_a, scenario.r_b, scenario.r_p)
        )
        assert joined == ({scenario.l1} if sees_a_referral else set())
        via_feedback = set(
            db.session.scalars(
                select(Feedback.id).join(Referral, Feedback.referral_id == Referral.id)
            )
        )
        assert via_feedback == _expected_pks(scenario, Feedback, viewer)
        # A subquery over another shared table is filtered too.
        leads_with_contact = set(
            db.session.scalars(select(Lead.id).where(Lead.id.in_(select(LeadContact.lead_id))))
        )
        assert leads_with_contact == _expected_pks(scenario, LeadContact, viewer)


@pytest.mark.parametrize("viewer", ["office", "park_a", "county_b"])
def test_bulk_update_by_an_uninvolved_tenant_changes_nothing(world, scenario, viewer):
    with acting(world, VIEWERS[viewer]):
        for rid in (scenario.r_a, scenario.r_b, scenario.r_p):
            if viewer in scenario.expected[(Referral, rid)]:
                continue
            changed = db.session.execute(
                update(Referral)
                .where(Referral.id == rid)
                .values(note="hijacked")
                .execution_options(synchronize_session=False)
            ).rowcount
            assert changed == 0, f"{viewer} updated referral {rid}"
        changed = db.session.execute(
            update(Feedback).values(summary="hijacked").execution_options(synchronize_session=False)
        ).rowcount
        assert changed == len(_expected_pks(scenario, Feedback, viewer))
        changed = db.session.execute(
            update(LeadContact)
            .values(contact_phone="000")
            .execution_options(synchronize_session=False)
        ).rowcount
        assert changed == len(_expected_pks(scenario, LeadContact, viewer))
        db.session.rollback()


def _visible_text(model) -> str:
    columns = [c for c in model.__table__.columns if isinstance(c.type, String)]
    if not columns:
        return ""
    rows = db.session.execute(select(*[getattr(model, c.key) for c in columns])).all()
    return "\n".join(str(v) for row in rows for v in row if v)


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_canaries_reach_only_their_viewers(world, scenario, viewer):
    with acting(world, VIEWERS[viewer]):
        text = "\n".join(_visible_text(model) for model in MODELS)
    for canary, seen in scenario.canaries.items():
        assert (canary in text) == (viewer in seen), f"{viewer} and {canary}"


def test_contact_before_and_after_accepting(world, monkeypatch):
    clock = Clock(monkeypatch, shanghai(2026, 3, 2, 9))
    lead_id = post_lead(world, "dept.officer", contact_name="canary-before-after")
    rid = send(world, "dept.officer", lead_id, "county_a")[0]
    with acting(world, "county-a.officer") as actor:
        assert db.session.get(Lead, lead_id) is not None
        assert db.session.get(LeadContact, lead_id) is None
        assert db.session.scalar(select(func.count()).select_from(LeadContact)) == 0
        referrals.accept(db.session, actor, db.session.get(Referral, rid))
        db.session.commit()
    clock.advance(hours=1)
    with acting(world, "county-a.officer"):
        assert db.session.get(LeadContact, lead_id).contact_name == "canary-before-after"
    for login in ("city.head", "office.assessor", "county-b.officer"):
        with acting(world, login):
            assert db.session.get(LeadContact, lead_id) is None
            assert db.session.scalars(select(LeadContact.contact_name)).all() == []


# ---- statements that pin a referral's side to a tenant ---------------------------------------
# A plain select of referrals whose WHERE says "from_tenant_id == T" or "to_tenant_id == T" with
# T in the scope gets no visibility condition (tenants.scoping._pinned_to_scope): every such row
# is visible anyway. These prove the shortcut never widens what a tenant reads, whichever T.


def _referral_sides(scenario, viewer):
    with wider_scope("cli"):
        everything = db.session.scalars(select(Referral)).all()
        rows = {r.id: (r.from_tenant_id, r.to_tenant_id, r.lead_id) for r in everything}
    want = _expected_pks(scenario, Referral, viewer)
    return rows, want


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
@pytest.mark.parametrize("side", ["from_tenant_id", "to_tenant_id"])
def test_a_side_pinned_to_any_tenant_reads_only_visible_referrals(world, scenario, viewer, side):
    rows, want = _referral_sides(scenario, viewer)
    column = getattr(Referral, side)
    position = 0 if side == "from_tenant_id" else 1
    with acting(world, VIEWERS[viewer]):
        for key, tenant_id in world.tenants.items():
            expected = {pk for pk in want if rows[pk][position] == tenant_id}
            name = f"{viewer} reading referrals with {side} = {key}"
            got = set(db.session.scalars(select(Referral.id).where(column == tenant_id)))
            assert got == expected, name
            entities = db.session.scalars(select(Referral).where(column == tenant_id))
            assert {r.id for r in entities} == expected, name + " (entities)"
            counted = db.session.scalar(select(func.count(Referral.id)).where(column == tenant_id))
            assert counted == len(expected), name + " (count)"
            # Less plain statements keep the condition: an OR, a subquery, a second referral.
            widened = select(Referral.id).where((column == tenant_id) | (Referral.id > 0))
            assert set(db.session.scalars(widened)) == want, name + " (or)"
            for other_key, other_id in world.tenants.items():
                # The outer statement is pinned; a subquery reading referrals of another side
                # must still be filtered (a receiver must not learn of its siblings this way).
                inner = select(Referral.lead_id).where(column == other_id)
                nested = select(Referral.id).where(column == tenant_id, Referral.lead_id.in_(inner))
                other_leads = {rows[pk][2] for pk in want if rows[pk][position] == other_id}
                expected_nested = {pk for pk in expected if rows[pk][2] in other_leads}
                got = set(db.session.scalars(nested))
                assert got == expected_nested, f"{name} (subquery on {other_key})"
            other = aliased(Referral)
            joined = (
                select(other.id)
                .join(Referral, Referral.lead_id == other.lead_id)
                .where(column == tenant_id)
            )
            assert set(db.session.scalars(joined)) <= want, name + " (joined alias)"


def test_the_pinned_statement_skips_the_visibility_condition(world, scenario):
    """The point of the shortcut: county A's inbox statements do not consult lead_access."""
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    from sqlalchemy import event

    engine = db.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        with acting(world, VIEWERS["county_a"]):
            mine = world.tenants["county_a"]
            db.session.scalar(select(func.count(Referral.id)).where(Referral.to_tenant_id == mine))
            not_mine = world.tenants["county_b"]
            db.session.scalar(
                select(func.count(Referral.id)).where(Referral.to_tenant_id == not_mine)
            )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    pinned, foreign = statements[-2:]
    assert "lead_access" not in pinned
    assert "lead_access" in foreign


@pytest.mark.parametrize("viewer", sorted(VIEWERS))
def test_counts_asking_for_the_probe_form_count_the_same(world, scenario, viewer):
    from tenants.scoping import VISIBILITY_PROBE

    with acting(world, VIEWERS[viewer]):
        for model in MODELS:
            want = len(_expected_pks(scenario, model, viewer))
            plain = select(func.count()).select_from(model)
            probing = plain.execution_options(**{VISIBILITY_PROBE: True})
            assert db.session.scalar(plain) == want, model.__name__
            assert db.session.scalar(probing) == want, model.__name__ + " (probe form)"
