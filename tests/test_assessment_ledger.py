"""The credit ledger (issue 5, points 3–5): idempotent proposals, the hash chain and tamper
detection through `flask assessment verify`, the append-only triggers, decisions as new rows by
assessors of another tenant, the locked year, concurrent deciders and tenant visibility. Runs on
SQLite and on PostgreSQL (TEST_DATABASE_URL)."""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from datetime import date
from decimal import Decimal
from itertools import pairwise

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from portal.assessment import appeals, ledger
from portal.assessment.models import (
    ADJUSTED,
    APPROVED,
    CORRECTION,
    LOCKED,
    PROPOSED,
    REJECTED,
    CreditLedger,
    ScoringRuleSet,
)
from portal.assessment.scoring import (
    Proposal,
    Tier,
    default_rules,
    landing_proposals,
    penalty_proposals,
    stage_proposals,
)
from portal.audit.models import GENESIS_HASH, AuditEvent
from portal.audit.service import SYSTEM, Actor, canonical_json
from portal.database import utcnow
from portal.extensions import db
from tenants.scoping import wider_scope
from tests import test_migrations
from tests.assessment_helpers import LedgerClock, lock_after_appeals, run_as
from tests.conftest import make_user, race
from tests.referral_helpers import acting

# The migration tests' fixtures: an app on a fresh, empty database.
empty_database_url = test_migrations.empty_database_url
fresh_app = test_migrations.fresh_app

YEAR = 2026
BROKEN_AT = re.compile(r"积分台账校验失败：记录 #(\d+)：")
CJK = range(0x4E00, 0xA000)


# ---- helpers -----------------------------------------------------------------------------------


def prop(key: str, tenant_id: int, points="3.0", rule="landing_first", **inputs) -> Proposal:
    return Proposal(key, tenant_id, rule, Decimal(points), {"lead_id": 1, **inputs})


def system_propose(app, proposals, year=YEAR) -> list[int]:
    """Propose as the system (a CLI job), committed; the ids of the rows appended."""
    with app.app_context(), wider_scope("cli"):
        rows = ledger.propose(db.session, SYSTEM, year, proposals)
        db.session.commit()
        return [row.id for row in rows]


def rows(app) -> list[dict]:
    """Every ledger row's columns, in id order, read with a fresh session."""
    with app.app_context(), wider_scope("cli"):
        found = db.session.scalars(select(CreditLedger).order_by(CreditLedger.id)).all()
        columns = [c.key for c in CreditLedger.__table__.columns]
        return [{name: getattr(row, name) for name in columns} for row in found]


def states(app, entry_ids) -> dict:
    with app.app_context(), wider_scope("cli"):
        return ledger.current_state(db.session, entry_ids)


def audit_actions(app) -> list[str]:
    with app.app_context(), wider_scope("cli"):
        return list(db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def verify(app) -> ledger.LedgerReport:
    with app.app_context():
        return ledger.verify(db.session)


def run_verify_cli(app):
    return app.test_cli_runner().invoke(args=["assessment", "verify"])


def broken_id_named(result) -> int:
    match = BROKEN_AT.search(result.output)
    assert match, f"no broken row named in: {result.output!r}"
    return int(match.group(1))


def _guard_sql(conn) -> list[tuple[str, str]]:
    return [
        tuple(row)
        for row in conn.execute(
            text(
                "SELECT name, sql FROM sqlite_master "
                "WHERE type = 'trigger' AND tbl_name = 'credit_ledger'"
            )
        )
    ]


def tamper(app, statement: str, **params) -> None:
    """Run one raw statement around the append-only trigger, as someone with database access
    could: the trigger is off for this transaction only (disabled on PostgreSQL, dropped and
    put back on SQLite), and is back when it commits."""
    with app.app_context(), db.engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE credit_ledger DISABLE TRIGGER credit_ledger_no_change"))
            result = conn.execute(text(statement), params)
            conn.execute(text("ALTER TABLE credit_ledger ENABLE TRIGGER credit_ledger_no_change"))
        else:
            guards = _guard_sql(conn)
            assert len(guards) == 2
            for name, _ in guards:
                conn.execute(text(f'DROP TRIGGER "{name}"'))
            result = conn.execute(text(statement), params)
            for _, sql in guards:
                conn.exec_driver_sql(sql)
        assert result.rowcount == 1


def _chinese(message: str) -> bool:
    return any(ord(ch) in CJK for ch in message)


@pytest.fixture
def tenants(world):
    return world.tenants


@pytest.fixture
def entries(app, tenants):
    """Five pending proposals, one benefiting each of these tenants."""
    keys = ["county_a", "county_b", "dept", "city", "office"]
    ids = system_propose(app, [prop(f"land:1:{k}", tenants[k]) for k in keys])
    return dict(zip(keys, ids, strict=True))


# ---- rule sets -------------------------------------------------------------------------------


def test_rule_sets_round_trip_through_their_stored_json(app_ctx, world):
    base = default_rules(YEAR)
    edited = base.__class__(
        **{
            **base.__dict__,
            "version": 2,
            "tiers": (Tier(0, Decimal("2.5")), Tier(20_000, Decimal("7"))),
            "stage_bonus": {"started": Decimal("1.5")},
            "unscored_kinds": frozenset({"city", "office"}),
            "credit_window_days": 365,
        }
    )
    for rules in (base, edited):
        assert ledger.rules_from_json(ledger.rules_to_json(rules)) == rules
    with wider_scope("cli"):
        db.session.add(
            ScoringRuleSet(
                year=YEAR,
                version=2,
                effective_from=date(YEAR, 3, 1),
                rules=ledger.rules_to_json(edited),
                reason="调整基础分",
            )
        )
        db.session.commit()
        stored = db.session.scalar(select(ScoringRuleSet.rules))
    assert ledger.rules_from_json(stored) == edited


# ---- proposals -------------------------------------------------------------------------------


def scored_events(tenants) -> list[Proposal]:
    """What the scoring core proposes for a few events: two landings, a stage, two penalties."""
    rules = default_rules(YEAR)
    kinds = {
        tenants[key]: kind
        for key, kind in (
            ("city", "city"),
            ("dept", "department"),
            ("county_a", "county"),
            ("county_b", "county"),
            ("park_a", "park"),
        )
    }
    chain = dict(first_introducer_tenant_id=tenants["dept"], tenant_kinds=kinds)
    first = date(YEAR, 2, 1)
    return [
        *landing_proposals(
            rules,
            lead_id=11,
            chain=[tenants["dept"], tenants["county_b"], tenants["county_a"]],
            planned_investment=60_000,
            first_referral_on=first,
            landed_on=date(YEAR, 5, 1),
            **chain,
        ),
        *landing_proposals(
            rules,
            lead_id=12,
            chain=[tenants["dept"], tenants["park_a"]],
            planned_investment=5_000,
            first_referral_on=first,
            landed_on=date(YEAR, 6, 1),
            **chain,
        ),
        *stage_proposals(
            rules,
            lead_id=11,
            stage="started",
            chain=[tenants["dept"], tenants["county_b"], tenants["county_a"]],
            first_referral_on=first,
            reached_on=date(YEAR, 8, 1),
            **chain,
        ),
        *penalty_proposals(
            rules,
            referral_id=40,
            receiver_tenant_id=tenants["county_a"],
            signed_late=True,
            reported_late=True,
            tenant_kinds=kinds,
        ),
    ]


def test_every_proposal_is_appended_once_however_often_it_is_replayed(app, tenants):
    events = scored_events(tenants)
    keys = [p.key for p in events]
    assert len(keys) == len(set(keys)) >= 6

    first = system_propose(app, events)
    assert len(first) == len(events)
    # Replayed: the whole batch, each event on its own, and a batch holding every event twice.
    assert system_propose(app, events) == []
    for proposal in events:
        assert system_propose(app, [proposal]) == []
    assert system_propose(app, [*events, *reversed(events)]) == []

    stored = rows(app)
    assert [r["entry_key"] for r in stored] == keys
    for row, proposal in zip(stored, events, strict=True):
        assert row["kind"] == PROPOSED
        assert (row["tenant_id"], row["rule"], row["points"]) == (
            proposal.tenant_id,
            proposal.rule,
            proposal.points,
        )
        assert row["inputs"] == canonical_json(dict(proposal.inputs))
        assert row["entry_id"] is None and row["actor_name"] == "system"
    # Proposals are the system's: no audit event for them.
    assert audit_actions(app) == []


def test_a_batch_with_a_new_key_adds_only_that_one(app, tenants):
    system_propose(app, [prop("late_sign:1", tenants["county_a"], "-0.5", "late_sign")])
    added = system_propose(
        app,
        [
            prop("late_sign:1", tenants["county_a"], "-0.5", "late_sign"),
            prop("late_sign:2", tenants["county_a"], "-0.5", "late_sign"),
        ],
    )
    assert len(added) == 1
    assert [r["entry_key"] for r in rows(app)] == ["late_sign:1", "late_sign:2"]


def test_the_same_key_in_another_year_is_another_entry(app, tenants):
    proposal = prop("land:1:a", tenants["county_a"])
    system_propose(app, [proposal], year=YEAR)
    assert len(system_propose(app, [proposal], year=YEAR + 1)) == 1


def test_the_database_refuses_a_second_proposal_with_the_same_key(app, tenants):
    """The unique (year, entry_key) index backs up the check propose() makes."""
    system_propose(app, [prop("land:1:a", tenants["county_a"])])
    with app.app_context(), wider_scope("cli"):
        with pytest.raises(IntegrityError):
            ledger.append(
                db.session,
                SYSTEM,
                year=YEAR,
                tenant_id=tenants["county_a"],
                kind=PROPOSED,
                entry_key="land:1:a",
                points=Decimal("3"),
            )
        db.session.rollback()


def test_points_with_two_decimals_are_a_programming_error(app, tenants):
    with pytest.raises(ValueError, match="more than one decimal"):
        system_propose(app, [prop("land:1:a", tenants["county_a"], "1.25")])
    assert rows(app) == []


class Logins:
    """A race scope giving thread i the i-th login (round robin); ``actor`` is the thread's."""

    def __init__(self, world, logins):
        self.world, self.logins = world, logins
        self.counter = itertools.count()
        self.lock = threading.Lock()
        self.local = threading.local()

    @contextlib.contextmanager
    def __call__(self):
        with self.lock:
            login = self.logins[next(self.counter) % len(self.logins)]
        with acting(self.world, login) as actor:
            self.local.actor, self.local.login = actor, login
            yield

    @property
    def actor(self) -> Actor:
        return self.local.actor

    @property
    def login(self) -> str:
        return self.local.login


def test_concurrent_replays_of_the_same_proposals_append_each_once(app, world):
    events = scored_events(world.tenants)
    counts = []

    def act(session, _):
        counts.append(len(ledger.propose(session, SYSTEM, YEAR, events)))

    outcomes = race(app, 4, lambda s: None, act, ledger.LedgerError, lambda: wider_scope("cli"))
    assert outcomes == ["won"] * 4
    assert sorted(counts) == [0, 0, 0, len(events)]
    assert sorted(r["entry_key"] for r in rows(app)) == sorted(p.key for p in events)
    assert verify(app).ok


# ---- the hash chain --------------------------------------------------------------------------


def test_rows_form_a_chain_that_verifies_after_a_round_trip(app, world, entries):
    run_as(app, world, "office.assessor", ledger.decide, entries["county_a"], APPROVED)
    run_as(
        app, world, "office.assessor", ledger.decide, entries["county_b"], REJECTED, reason="重复"
    )
    run_as(
        app,
        world,
        "city.assessor",
        ledger.decide,
        entries["dept"],
        ADJUSTED,
        points="-0.5",
        reason="按实际签约额核减",
    )
    stored = rows(app)
    assert stored[0]["prev_hash"] == GENESIS_HASH
    for previous, current in pairwise(stored):
        assert current["prev_hash"] == previous["hash"]
    assert len({r["hash"] for r in stored}) == len(stored)
    with app.app_context(), wider_scope("cli"):
        # Read back from the database, each row hashes to what was computed before it was stored
        # (points as Numeric, timestamps with their microseconds).
        for row in db.session.scalars(select(CreditLedger)):
            assert ledger.row_hash(row) == row.hash
            assert row.created_at.tzinfo is not None
    assert any(r["created_at"].microsecond for r in stored)
    report = verify(app)
    assert report.ok and report.checked == len(stored) == 8


def test_the_hash_covers_every_column_but_id_and_hash(app_ctx):
    columns = {c.key for c in CreditLedger.__table__.columns}
    assert set(ledger.HASHED_COLUMNS) == columns - {"id", "hash"}
    row = CreditLedger(
        year=YEAR,
        tenant_id=3,
        kind=ADJUSTED,
        entry_key=None,
        entry_id=5,
        rule="landing_first",
        points=Decimal("2.5"),
        inputs="{}",
        reason="理由",
        actor_id=7,
        actor_name="office.assessor",
        actor_tenant_id=6,
        created_at=utcnow(),
        prev_hash=GENESIS_HASH,
    )
    original = ledger.row_hash(row)
    changed = {
        "year": YEAR + 1,
        "tenant_id": 4,
        "kind": APPROVED,
        "entry_key": "x",
        "entry_id": 6,
        "rule": "late_sign",
        "points": Decimal("2.6"),
        "inputs": '{"a":1}',
        "reason": "理由。",
        "actor_id": 8,
        "actor_name": "city.assessor",
        "actor_tenant_id": 1,
        "created_at": row.created_at.replace(microsecond=(row.created_at.microsecond + 1) % 10**6),
        "prev_hash": "1" * 64,
    }
    assert set(changed) == set(ledger.HASHED_COLUMNS)
    for name, value in changed.items():
        before = getattr(row, name)
        setattr(row, name, value)
        assert ledger.row_hash(row) != original, f"{name} is not covered by the hash"
        setattr(row, name, before)
    assert ledger.row_hash(row) == original


@pytest.mark.parametrize(
    ("value", "hashed"),
    [
        (Decimal("3"), "3.0"),
        (Decimal("12.30"), "12.3"),
        (Decimal("0"), "0.0"),
        (Decimal("-0.0"), "0.0"),  # PostgreSQL keeps no negative zero
        (Decimal("-0.5"), "-0.5"),
    ],
)
def test_points_hash_as_a_fixed_string(value, hashed):
    assert ledger._hash_value(value) == hashed


def test_cli_verify_accepts_an_intact_ledger(app, entries):
    result = run_verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "积分台账校验通过：5 条" in result.output


def test_cli_verify_on_an_empty_ledger(app):
    result = run_verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "积分台账校验通过：0 条" in result.output


def _decided_ledger(app, world, entries) -> dict[str, int]:
    """Proposals plus a rejection with a reason: (label -> row id) of rows to tamper with."""
    reject = run_as(
        app, world, "office.assessor", ledger.decide, entries["county_b"], REJECTED, reason="重复"
    )
    run_as(app, world, "office.assessor", ledger.decide, entries["county_a"], APPROVED)
    return {"proposed": entries["dept"], "rejection": reject, "first": entries["county_a"]}


@pytest.mark.parametrize(
    ("target", "statement", "value"),
    [
        ("proposed", "UPDATE credit_ledger SET points = :v WHERE id = :id", 9.9),
        ("rejection", "UPDATE credit_ledger SET reason = :v WHERE id = :id", "同意"),
        ("rejection", "UPDATE credit_ledger SET kind = :v WHERE id = :id", "approved"),
        ("proposed", "UPDATE credit_ledger SET tenant_id = :v WHERE id = :id", "county_a"),
        ("first", "UPDATE credit_ledger SET inputs = :v WHERE id = :id", "{}"),
    ],
)
def test_a_row_altered_in_the_database_is_found(app, world, entries, target, statement, value):
    targets = _decided_ledger(app, world, entries)
    row_id = targets[target]
    value = world.tenants.get(value, value) if isinstance(value, str) else value
    position = [r["id"] for r in rows(app)].index(row_id)
    assert verify(app).ok

    tamper(app, statement, v=value, id=row_id)

    report = verify(app)
    assert (report.broken_id, report.checked) == (row_id, position)
    assert report.reason == "内容与其哈希不符"
    result = run_verify_cli(app)
    assert result.exit_code == 1, result.output
    assert broken_id_named(result) == row_id


def test_a_deleted_row_breaks_the_next_link(app, world, entries):
    ids = [r["id"] for r in rows(app)]
    tamper(app, "DELETE FROM credit_ledger WHERE id = :id", id=ids[2])
    result = run_verify_cli(app)
    assert result.exit_code == 1, result.output
    assert broken_id_named(result) == ids[3]
    assert "与前一条记录的哈希链接不符" in result.output


def test_a_row_rewritten_with_a_fresh_hash_breaks_the_next_link(app, world, entries):
    """Whoever edits a row and recomputes its hash still breaks the next row's link."""
    stored = rows(app)
    forged = CreditLedger(**{**stored[1], "points": Decimal("15.0")})
    tamper(
        app,
        "UPDATE credit_ledger SET points = :v, hash = :h WHERE id = :id",
        v=15.0,
        h=ledger.row_hash(forged),
        id=stored[1]["id"],
    )
    report = verify(app)
    assert report.broken_id == stored[2]["id"]
    assert report.reason == "与前一条记录的哈希链接不符"


# ---- the database guard ----------------------------------------------------------------------


def test_the_trigger_refuses_update_and_delete(app, world, entries):
    """A trigger refuses changes to the ledger and the rule versions (PostgreSQL, as the issue
    asks; SQLite has the same guard)."""
    before = rows(app)
    with app.app_context(), wider_scope("cli"):
        db.session.add(
            ScoringRuleSet(
                year=YEAR,
                version=1,
                effective_from=date(YEAR, 1, 1),
                rules=ledger.rules_to_json(default_rules(YEAR)),
            )
        )
        db.session.commit()
        for statement in (
            "UPDATE credit_ledger SET points = 99",
            "DELETE FROM credit_ledger",
            "UPDATE scoring_rule_set SET reason = 'x'",
            "DELETE FROM scoring_rule_set",
        ):
            with pytest.raises(DBAPIError, match="append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        # Through the ORM too.
        row = db.session.get(CreditLedger, entries["county_a"])
        row.points = Decimal("99")
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.flush()
        db.session.rollback()
    assert rows(app) == before


def test_the_guard_is_back_after_the_tampering_transaction(app, world, entries):
    tamper(app, "UPDATE credit_ledger SET reason = 'x' WHERE id = :id", id=entries["dept"])
    with app.app_context(), db.engine.connect() as conn:
        with pytest.raises(DBAPIError, match="append-only"), conn.begin():
            conn.execute(text("UPDATE credit_ledger SET reason = 'y'"))
        with pytest.raises(DBAPIError, match="append-only"), conn.begin():
            conn.execute(text("DELETE FROM credit_ledger"))


def _guard_names(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        found = conn.execute(
            text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal AND tgrelid IN "
                "(to_regclass('credit_ledger'), to_regclass('scoring_rule_set')) "
                "UNION SELECT proname FROM pg_proc WHERE proname LIKE '%append_only' "
                "AND proname <> 'audit_event_append_only'"
            )
        )
    else:
        found = conn.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' "
                "AND tbl_name IN ('credit_ledger', 'scoring_rule_set')"
            )
        )
    return {row[0] for row in found}


def test_migration_0009_creates_and_drops_the_guard(fresh_app):
    with fresh_app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        expected = (
            {
                "credit_ledger_no_change",
                "scoring_rule_set_no_change",
                "credit_ledger_append_only",
                "scoring_rule_set_append_only",
            }
            if postgres
            else {
                "credit_ledger_no_update",
                "credit_ledger_no_delete",
                "scoring_rule_set_no_update",
                "scoring_rule_set_no_delete",
            }
        )
        upgrade()
        with db.engine.connect() as conn:
            assert _guard_names(conn) == expected
        downgrade(revision="0008")
        with db.engine.connect() as conn:
            assert _guard_names(conn) == set()
        upgrade()
        with db.engine.begin() as conn:
            assert _guard_names(conn) == expected
            conn.execute(
                text(
                    "INSERT INTO credit_ledger (year, kind, rule, inputs, reason, actor_name, "
                    "created_at, prev_hash, hash) VALUES (2026, 'locked', '', '', '', '', "
                    ":at, :prev, :hash)"
                ),
                {"at": "2026-01-01 00:00:00", "prev": GENESIS_HASH, "hash": "f" * 64},
            )
        for statement in ("UPDATE credit_ledger SET reason = 'x'", "DELETE FROM credit_ledger"):
            with pytest.raises(DBAPIError, match="append-only"), db.engine.begin() as conn:
                conn.execute(text(statement))


# ---- decisions -------------------------------------------------------------------------------


def test_a_decision_is_a_new_row_and_the_proposal_never_changes(app, world, entries):
    before = rows(app)
    decision = run_as(app, world, "office.assessor", ledger.decide, entries["county_a"], APPROVED)
    after = rows(app)
    assert after[: len(before)] == before
    assert [r["id"] for r in after[len(before) :]] == [decision]
    row = after[-1]
    assert (row["kind"], row["entry_id"], row["tenant_id"], row["points"]) == (
        APPROVED,
        entries["county_a"],
        world.tenants["county_a"],
        Decimal("3.0"),
    )
    assert (row["actor_name"], row["actor_tenant_id"]) == (
        "office.assessor",
        world.tenants["office"],
    )
    state = states(app, [entries["county_a"], entries["county_b"]])
    assert state[entries["county_a"]].state == APPROVED
    assert state[entries["county_a"]].decided_by == "office.assessor"
    assert state[entries["county_a"]].decision_id == decision
    assert state[entries["county_b"]].pending
    assert audit_actions(app) == ["credit_approved"]


def test_reject_and_adjust_record_the_points_that_count(app, world, entries):
    run_as(
        app, world, "office.assessor", ledger.decide, entries["county_a"], REJECTED, reason="重复"
    )
    run_as(
        app,
        world,
        "office.assessor",
        ledger.decide,
        entries["county_b"],
        ADJUSTED,
        points=" 1.5 ",
        reason="投资额核减",
    )
    state = states(app, [entries["county_a"], entries["county_b"]])
    rejected, adjusted = state[entries["county_a"]], state[entries["county_b"]]
    assert (rejected.state, rejected.points, rejected.reason) == (REJECTED, Decimal("0"), "重复")
    assert (adjusted.state, adjusted.points, adjusted.proposed_points) == (
        ADJUSTED,
        Decimal("1.5"),
        Decimal("3.0"),
    )
    assert audit_actions(app) == ["credit_rejected", "credit_adjusted"]


@pytest.mark.parametrize(
    ("beneficiary", "refused", "allowed"),
    [("city", "city.assessor", "office.assessor"), ("office", "office.assessor", "city.assessor")],
)
def test_an_assessor_never_decides_for_their_own_tenant(
    app, world, entries, beneficiary, refused, allowed
):
    entry = entries[beneficiary]
    with pytest.raises(ledger.LedgerError) as caught:
        run_as(app, world, refused, ledger.decide, entry, APPROVED)
    assert caught.value.errors == {"entry": "不能审核本单位受益的积分条目。"}
    assert states(app, [entry])[entry].pending
    run_as(app, world, allowed, ledger.decide, entry, APPROVED)
    assert states(app, [entry])[entry].state == APPROVED


@pytest.mark.parametrize(
    "login", ["county-a.officer", "county-a.head", "city.officer", "city.head", "city.admin"]
)
def test_non_assessors_are_refused(app, world, entries, login):
    before = rows(app)
    for call, args in (
        (ledger.decide, (entries["county_b"], APPROVED)),
        (appeals.lock_year, (YEAR,)),
        (appeals.publish, (YEAR, "5")),
        (ledger.correct, (YEAR, world.tenants["county_b"], "1", "补记")),
    ):
        with pytest.raises(PermissionError):
            run_as(app, world, login, call, *args)
    assert rows(app) == before


@pytest.mark.parametrize(
    ("decision", "kwargs", "errors"),
    [
        (REJECTED, {}, {"reason": "驳回须填写理由。"}),
        (REJECTED, {"reason": " \n "}, {"reason": "驳回须填写理由。"}),
        (REJECTED, {"reason": "长" * 501}, {"reason": "理由不超过 500 字。"}),
        (ADJUSTED, {"points": "2"}, {"reason": "调整须填写理由。"}),
        (ADJUSTED, {"reason": "核减"}, {"points": "调整积分须填写调整后的分值。"}),
        (ADJUSTED, {"points": "两分", "reason": "核减"}, {"points": "分值须为数字。"}),
        (ADJUSTED, {"points": "NaN", "reason": "核减"}, {"points": "分值须为数字。"}),
        (ADJUSTED, {"points": "1.25", "reason": "核减"}, {"points": "分值最多保留一位小数。"}),
        (
            ADJUSTED,
            {"points": "1000.1", "reason": "核减"},
            {"points": "分值须在 -1000 到 1000 之间。"},
        ),
        (
            ADJUSTED,
            {"points": "3", "reason": "核减"},
            {"points": "调整后的分值与原分值相同，请直接通过。"},
        ),
    ],
)
def test_refused_input_appends_nothing(app, world, entries, decision, kwargs, errors):
    before = rows(app)
    with pytest.raises(ledger.LedgerError) as caught:
        run_as(
            app, world, "office.assessor", ledger.decide, entries["county_a"], decision, **kwargs
        )
    assert caught.value.errors == errors
    assert rows(app) == before
    assert audit_actions(app) == []


def test_an_approval_needs_no_reason_and_keeps_one_given(app, world, entries):
    run_as(
        app, world, "office.assessor", ledger.decide, entries["county_a"], APPROVED, reason="核实"
    )
    assert states(app, [entries["county_a"]])[entries["county_a"]].reason == "核实"


def test_an_entry_is_decided_once(app, world, entries):
    run_as(app, world, "office.assessor", ledger.decide, entries["county_a"], APPROVED)
    with pytest.raises(ledger.LedgerError) as caught:
        run_as(
            app, world, "city.assessor", ledger.decide, entries["county_a"], REJECTED, reason="x"
        )
    assert "不能重复审核" in caught.value.first_message
    assert "office.assessor" in caught.value.first_message


def test_only_proposals_can_be_decided(app, world, entries):
    decision = run_as(app, world, "office.assessor", ledger.decide, entries["county_a"], APPROVED)
    for target in (decision, 10**6):
        with pytest.raises(ledger.LedgerError) as caught:
            run_as(app, world, "city.assessor", ledger.decide, target, APPROVED)
        assert caught.value.errors == {"entry": "积分条目不存在。"}


def test_two_assessors_deciding_at_once_exactly_one_wins(app, world, tenants):
    with wider_scope("cli"):
        for login in ("office.assessor2", "city.assessor2"):
            key = "office" if login.startswith("office") else "city"
            world.users[login] = make_user(db.session, tenants[key], login, ["assessor"]).id
        db.session.commit()
    logins = Logins(
        world, ["office.assessor", "city.assessor", "office.assessor2", "city.assessor2"]
    )
    decisions = [
        (APPROVED, {}),
        (REJECTED, {"reason": "重复线索"}),
        (ADJUSTED, {"points": "1.0", "reason": "核减"}),
        (APPROVED, {"reason": "核实"}),
    ]
    for round_ in range(3):
        entry = system_propose(app, [prop(f"land:{round_}:a", tenants["county_a"])])[0]
        turn = itertools.count()

        def act(session, _, entry=entry, turn=turn):
            decision, kwargs = decisions[next(turn) % len(decisions)]
            ledger.decide(session, logins.actor, entry, decision, **kwargs)

        outcomes = race(app, 4, lambda s: None, act, ledger.LedgerError, logins)
        assert outcomes.count("won") == 1, outcomes
        for message in (o for o in outcomes if o != "won"):
            assert "不能重复审核" in message and _chinese(message)
        decided = [r for r in rows(app) if r["entry_id"] == entry]
        assert len(decided) == 1
    assert len([a for a in audit_actions(app) if a.startswith("credit_")]) == 3
    assert verify(app).ok


# ---- the locked year -------------------------------------------------------------------------


@pytest.fixture
def clock(monkeypatch):
    return LedgerClock(monkeypatch)


def test_a_year_with_pending_entries_cannot_be_locked(app, world, entries, clock):
    appeals_module_publish(app, world)
    clock.advance(days=30)
    with pytest.raises(ledger.LedgerError) as caught:
        run_as(app, world, "office.assessor", appeals.lock_year, YEAR)
    assert caught.value.errors == {"year": f"{YEAR} 年度尚有 5 条积分条目未审核，不能锁定。"}


def appeals_module_publish(app, world):
    run_as(app, world, "office.assessor", appeals.publish, YEAR, "1")


def _decide_all(app, world, entries) -> None:
    for key, entry in entries.items():
        login = "city.assessor" if key == "office" else "office.assessor"
        run_as(app, world, login, ledger.decide, entry, APPROVED)


def test_a_locked_year_refuses_decisions_and_takes_corrections(app, world, entries, tenants, clock):
    _decide_all(app, world, entries)
    with pytest.raises(ledger.LedgerError, match="尚未锁定"):
        run_as(app, world, "office.assessor", ledger.correct, YEAR, tenants["dept"], "1", "补记")
    locked = lock_after_appeals(app, world, clock, YEAR)
    lock_row = rows(app)[-1]
    assert (lock_row["id"], lock_row["kind"], lock_row["tenant_id"], lock_row["points"]) == (
        locked,
        LOCKED,
        None,
        None,
    )

    with pytest.raises(ledger.LedgerError) as caught:
        run_as(
            app, world, "office.assessor", ledger.decide, entries["dept"], REJECTED, reason="复核"
        )
    assert caught.value.errors == {"entry": "该年度已锁定，只能以更正条目调整。"}
    with pytest.raises(ledger.LedgerError, match="已锁定"):
        run_as(app, world, "city.assessor", appeals.lock_year, YEAR)
    # New proposals are refused; replaying stored ones is still a no-op.
    with pytest.raises(ledger.LedgerError, match="不再接受"):
        system_propose(app, [prop("land:9:dept", tenants["dept"])])
    assert system_propose(app, [prop("land:1:dept", tenants["dept"])]) == []

    correction = run_as(
        app, world, "office.assessor", ledger.correct, YEAR, tenants["dept"], "-1.5", "申诉复核"
    )
    row = rows(app)[-1]
    assert (row["id"], row["kind"], row["tenant_id"], row["points"], row["reason"]) == (
        correction,
        CORRECTION,
        tenants["dept"],
        Decimal("-1.5"),
        "申诉复核",
    )
    assert audit_actions(app)[-3:] == [
        "credit_year_published",
        "credit_year_locked",
        "credit_corrected",
    ]
    assert verify(app).ok
    # Another year is not locked by this one.
    assert system_propose(app, [prop("land:9:dept", tenants["dept"])], year=YEAR + 1)


@pytest.mark.parametrize(
    ("login", "tenant", "points", "reason", "errors"),
    [
        ("office.assessor", "dept", "1", "", {"reason": "更正须填写理由。"}),
        ("office.assessor", "dept", "0", "补记", {"points": "更正分值不能为 0。"}),
        ("office.assessor", "dept", "", "补记", {"points": "请填写更正分值。"}),
        ("office.assessor", "office", "1", "补记", {"tenant": "不能更正本单位的积分。"}),
        ("city.assessor", "city", "1", "补记", {"tenant": "不能更正本单位的积分。"}),
        ("city.assessor", None, "1", "补记", {"tenant": "单位不存在。"}),
    ],
)
def test_refused_corrections(app, world, entries, clock, login, tenant, points, reason, errors):
    _decide_all(app, world, entries)
    lock_after_appeals(app, world, clock, YEAR)
    before = rows(app)
    tenant_id = world.tenants[tenant] if tenant else 10**6
    with pytest.raises(ledger.LedgerError) as caught:
        run_as(app, world, login, ledger.correct, YEAR, tenant_id, points, reason)
    assert caught.value.errors == errors
    assert rows(app) == before


# ---- who sees what ---------------------------------------------------------------------------


def visible(app, world, login: str) -> tuple[set[int], int]:
    """The ids of the ledger rows ``login`` reads through the scoped session, and their count."""
    with app.app_context(), acting(world, login):
        ids = set(db.session.scalars(select(CreditLedger.id)))
        count = db.session.scalar(select(func.count(CreditLedger.id)))
        return ids, count


def test_a_tenant_sees_its_own_entries_the_city_and_assessors_see_all(app, world, entries, clock):
    _decide_all(app, world, entries)
    lock_after_appeals(app, world, clock, YEAR)
    stored = rows(app)
    year_rows = {r["id"] for r in stored if r["tenant_id"] is None}
    by_tenant = {
        key: {r["id"] for r in stored if r["tenant_id"] == world.tenants[key]}
        for key in world.tenants
    }
    assert by_tenant["county_a"] and by_tenant["county_b"] and year_rows
    for login, key in (
        ("county-a.officer", "county_a"),
        ("county-b.head", "county_b"),
        ("dept.officer", "dept"),
        ("park-a.officer", "park_a"),
        ("office.officer", "office"),
    ):
        ids, count = visible(app, world, login)
        assert ids == by_tenant[key] | year_rows, login
        assert count == len(ids)
    everything = {r["id"] for r in stored}
    for login in ("city.officer", "city.admin", "city.assessor", "office.assessor"):
        ids, count = visible(app, world, login)
        assert (ids, count) == (everything, len(everything)), login


def test_current_state_and_get_follow_the_scope(app, world, entries):
    run_as(app, world, "office.assessor", ledger.decide, entries["county_a"], APPROVED)
    ids = [entries["county_a"], entries["county_b"]]
    with app.app_context(), acting(world, "county-b.officer"):
        assert set(ledger.current_state(db.session, ids)) == {entries["county_b"]}
        assert db.session.get(CreditLedger, entries["county_a"]) is None
        assert db.session.get(CreditLedger, entries["county_b"]) is not None
    with app.app_context(), acting(world, "county-a.officer"):
        assert ledger.current_state(db.session, ids)[entries["county_a"]].state == APPROVED
    with app.app_context(), acting(world, "city.officer"):
        assert set(ledger.current_state(db.session, ids)) == set(ids)


def test_append_writes_no_column_it_computes_itself(app_ctx):
    for column in ("hash", "prev_hash", "created_at", "actor_name"):
        with pytest.raises(TypeError, match=column):
            ledger.append(db.session, SYSTEM, year=YEAR, kind=LOCKED, **{column: "x"})
