"""The hash-chained, append-only audit log: the chain, the database guard, tamper detection
through `flask audit verify`, rollbacks, and concurrent writers."""

from __future__ import annotations

import re
import threading
from itertools import pairwise

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DBAPIError

from portal.audit.models import GENESIS_HASH, AuditEvent
from portal.audit.service import SYSTEM, Actor, event_hash, record, verify_chain
from portal.extensions import db
from tenants.models import User
from tenants.scoping import wider_scope

BROKEN_AT = re.compile(r"audit chain BROKEN at event #(\d+):")


# ---- helpers ---------------------------------------------------------------------------------


def write_events(app, count: int, actor: Actor = SYSTEM, action: str = "probe") -> list[int]:
    """Record `count` events, one committed transaction each; return their ids in order."""
    ids = []
    with app.app_context(), wider_scope("cli"):
        for n in range(count):
            event = record(
                db.session,
                actor,
                action,
                object_type="probe",
                object_id=n,
                before={"n": n - 1} if n else None,
                after={"n": n, "text": "信息桥"},
            )
            db.session.commit()
            ids.append(event.id)
    return ids


def chain(app) -> list[tuple[int, str, str, str]]:
    """(id, prev_hash, hash, after) of every event, in id order, read with a fresh session."""
    with app.app_context(), wider_scope("cli"):
        rows = db.session.execute(
            select(AuditEvent.id, AuditEvent.prev_hash, AuditEvent.hash, AuditEvent.after).order_by(
                AuditEvent.id
            )
        ).all()
    return [tuple(row) for row in rows]


def assert_linked(rows) -> None:
    assert rows, "no events"
    assert rows[0][1] == GENESIS_HASH
    for previous, current in pairwise(rows):
        assert current[1] == previous[2], f"event {current[0]} does not link to {previous[0]}"


def verify(app):
    with app.app_context():
        return verify_chain(db.session)


def run_verify_cli(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def broken_id_named(result) -> int:
    match = BROKEN_AT.search(result.output)
    assert match, f"no broken event named in: {result.output!r}"
    return int(match.group(1))


@pytest.fixture
def unguarded_audit(app):
    """Remove the append-only triggers, as someone with database access could. The PostgreSQL
    test database is shared by the whole run, so the trigger is put back afterwards."""
    with app.app_context():
        postgres = db.engine.dialect.name == "postgresql"
        if postgres:
            db.session.execute(text("DROP TRIGGER audit_event_no_change ON audit_event"))
        else:
            db.session.execute(text("DROP TRIGGER audit_event_no_update"))
            db.session.execute(text("DROP TRIGGER audit_event_no_delete"))
        db.session.commit()
    yield
    if postgres:
        with app.app_context():
            db.session.rollback()
            db.session.execute(text("DROP TRIGGER IF EXISTS audit_event_no_change ON audit_event"))
            db.session.execute(
                text(
                    "CREATE TRIGGER audit_event_no_change BEFORE UPDATE OR DELETE ON audit_event "
                    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()"
                )
            )
            db.session.commit()


def tamper(app, statement: str, **params) -> None:
    with app.app_context():
        result = db.session.execute(text(statement), params)
        assert result.rowcount == 1
        db.session.commit()


# ---- the chain -------------------------------------------------------------------------------


def test_recorded_events_form_a_chain(app, world):
    with app.app_context(), wider_scope("cli"):
        users = db.session.scalars(select(User).order_by(User.id).limit(4)).all()
        written = []
        for user in users:
            written.append(
                record(
                    db.session,
                    Actor.of(user, "10.0.0.7"),
                    "user_updated",
                    object_type="user",
                    object_id=user.id,
                    before={"display_name": user.display_name},
                    after={"display_name": user.display_name + "（改）"},
                )
            )
        written.append(record(db.session, SYSTEM, "tenant_created", object_id=""))
        db.session.commit()
        assert [e.tenant_id for e in written[:4]] == [u.tenant_id for u in users]
        assert written[4].tenant_id is None

        stored = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [e.id for e in stored] == [e.id for e in written]
        assert stored[0].prev_hash == GENESIS_HASH
        for previous, current in pairwise(stored):
            assert current.prev_hash == previous.hash
        assert all(event_hash(e) == e.hash for e in stored)
        assert len({e.hash for e in stored}) == len(stored)

        report = verify_chain(db.session)
        assert report.ok, report
        assert report.checked == 5
        small_batches = verify_chain(db.session, batch_size=2)
        assert small_batches.ok and small_batches.checked == 5


def test_chain_continues_across_transactions(app):
    ids = write_events(app, 3) + write_events(app, 4)
    rows = chain(app)
    assert [row[0] for row in rows] == ids
    assert_linked(rows)
    report = verify(app)
    assert report.ok and report.checked == 7


def test_empty_chain_verifies(app):
    report = verify(app)
    assert report.ok and report.checked == 0
    result = run_verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "audit chain OK: 0 events verified" in result.output


# ---- the database guard ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_event SET after = '{}' WHERE id = :id",
        "UPDATE audit_event SET after = '{}'",
        "DELETE FROM audit_event WHERE id = :id",
        "DELETE FROM audit_event",
    ],
    ids=["update-one", "update-all", "delete-one", "delete-all"],
)
def test_database_refuses_update_and_delete(app, statement):
    ids = write_events(app, 3)
    before = chain(app)
    with app.app_context():
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(text(statement), {"id": ids[1]})
        db.session.rollback()
    assert chain(app) == before
    assert verify(app).ok


def test_database_refuses_orm_changes_to_an_event(app):
    ids = write_events(app, 3)
    before = chain(app)
    with app.app_context(), wider_scope("cli"):
        event = db.session.get(AuditEvent, ids[1])
        event.after = '{"n":99}'
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        event = db.session.get(AuditEvent, ids[1])
        db.session.delete(event)
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.flush()
        db.session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            db.session.execute(update(AuditEvent).values(after=""))
        db.session.rollback()
    assert chain(app) == before


# ---- tamper detection through `flask audit verify` -------------------------------------------


def test_cli_verify_accepts_an_intact_chain(app):
    write_events(app, 6)
    result = run_verify_cli(app)
    assert result.exit_code == 0, result.output
    assert "audit chain OK: 6 events verified" in result.output


def test_cli_verify_names_an_altered_event(app, unguarded_audit):
    ids = write_events(app, 5)
    target = ids[2]
    tamper(app, "UPDATE audit_event SET after = :after WHERE id = :id", after='{"n":0}', id=target)
    result = run_verify_cli(app)
    assert result.exit_code == 1, result.output
    assert broken_id_named(result) == target
    assert "content does not match its hash" in result.output
    report = verify(app)
    assert (report.broken_id, report.checked) == (target, 2)


def test_cli_verify_names_the_event_after_a_deleted_one(app, unguarded_audit):
    ids = write_events(app, 5)
    tamper(app, "DELETE FROM audit_event WHERE id = :id", id=ids[2])
    result = run_verify_cli(app)
    assert result.exit_code == 1, result.output
    assert broken_id_named(result) == ids[3]
    assert "previous-hash link does not match" in result.output


def test_cli_verify_catches_an_event_rewritten_with_a_fresh_hash(app, unguarded_audit):
    """Whoever edits a row and recomputes its hash still breaks the next row's link."""
    ids = write_events(app, 5)
    target = ids[1]
    with app.app_context(), wider_scope("cli"):
        event = db.session.get(AuditEvent, target)
        event.after = '{"n":1,"text":"篡改"}'
        event.hash = event_hash(event)
        db.session.commit()
    result = run_verify_cli(app)
    assert result.exit_code == 1, result.output
    assert broken_id_named(result) == ids[2]


def test_cli_verify_names_an_event_whose_first_link_is_forged(app, unguarded_audit):
    ids = write_events(app, 3)
    tamper(
        app,
        "UPDATE audit_event SET prev_hash = :forged WHERE id = :id",
        forged="1" * 64,
        id=ids[0],
    )
    result = run_verify_cli(app)
    assert result.exit_code == 1, result.output
    assert broken_id_named(result) == ids[0]


# ---- transactions ----------------------------------------------------------------------------


def test_rolled_back_transaction_leaves_no_event_and_no_gap_in_the_chain(app):
    first = write_events(app, 2)
    with app.app_context(), wider_scope("cli"):
        record(db.session, SYSTEM, "doomed", after={"n": 1})
        record(db.session, SYSTEM, "doomed", after={"n": 2})
        db.session.rollback()
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 2
        doomed = select(AuditEvent).where(AuditEvent.action == "doomed")
        assert db.session.scalars(doomed).all() == []
    last = write_events(app, 1, action="after_rollback")
    rows = chain(app)
    assert [row[0] for row in rows] == first + last
    assert_linked(rows)
    report = verify(app)
    assert report.ok and report.checked == 3


def test_event_rolls_back_with_the_change_it_describes(app, world):
    user_id = world.users["county-a.officer"]
    with app.app_context(), wider_scope("cli"):
        user = db.session.get(User, user_id)
        user.display_name = "不会保存"
        record(db.session, Actor.of(user), "user_updated", object_type="user", object_id=user_id)
        db.session.rollback()
    with app.app_context(), wider_scope("cli"):
        assert db.session.get(User, user_id).display_name == "county-a.officer"
        assert db.session.scalar(select(func.count(AuditEvent.id))) == 0


# ---- concurrency -----------------------------------------------------------------------------


def test_concurrent_writers_keep_one_unbroken_chain(app):
    threads, per_thread = 8, 10
    start = threading.Barrier(threads)
    errors: list[BaseException] = []

    def writer(n: int) -> None:
        try:
            with app.app_context(), wider_scope("cli"):
                start.wait(timeout=60)
                actor = Actor(None, f"writer-{n}", None)
                for i in range(per_thread):
                    record(db.session, actor, "concurrency_probe", object_id=f"{n}-{i}")
                    # Half the writers commit every event, the others every second one.
                    if n % 2 == 0 or i % 2 == 1:
                        db.session.commit()
                db.session.commit()
        except BaseException as exc:  # reported below, with the thread's traceback
            errors.append(exc)
            start.abort()

    workers = [threading.Thread(target=writer, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    assert not any(worker.is_alive() for worker in workers), "a writer is stuck"
    assert errors == []

    report = verify(app)
    assert report.ok, report
    assert report.checked == threads * per_thread
    rows = chain(app)
    assert_linked(rows)
    assert len({row[1] for row in rows}) == len(rows), "two events share a predecessor: a fork"
    with app.app_context(), wider_scope("cli"):
        written = set(db.session.scalars(select(AuditEvent.object_id)))
    assert written == {f"{n}-{i}" for n in range(threads) for i in range(per_thread)}
