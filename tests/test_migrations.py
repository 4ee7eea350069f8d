"""The Alembic revisions on a fresh, empty database: up, down to nothing, up again, and the
schema they build agrees with the models. PostgreSQL gets a throw-away database of its own (the
session-wide template lives in the `public` schema of the test database and must not be touched).
"""

from __future__ import annotations

import uuid

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from portal.config import normalise_database_url
from portal.extensions import db
from tests.conftest import PG_URL, USING_POSTGRES, _make_app


def app_tables() -> set[str]:
    """Every table the models define (known once create_app has imported them)."""
    return set(db.metadata.tables)


SQLITE_TRIGGERS = {"audit_event_no_update", "audit_event_no_delete"}
POSTGRES_TRIGGERS = {"audit_event_no_change"}


@pytest.fixture
def empty_database_url(tmp_path):
    """A database with nothing in it: a new SQLite file, or a new PostgreSQL database."""
    if not USING_POSTGRES:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server = make_url(normalise_database_url(PG_URL))
    name = f"test_migrations_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield server.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def fresh_app(empty_database_url, tmp_path):
    app = _make_app(empty_database_url, tmp_path / "instance")
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def head_revisions(app) -> set[str]:
    config = app.extensions["migrate"].migrate.get_config()
    return set(ScriptDirectory.from_config(config).get_heads())


def current_revisions(conn) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def application_tables(conn) -> set[str]:
    return set(inspect(conn).get_table_names()) - {"alembic_version"}


def audit_triggers(conn) -> set[str]:
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            text(
                "SELECT tgname FROM pg_trigger "
                "WHERE tgrelid = to_regclass('audit_event') AND NOT tgisinternal"
            )
        )
    else:
        rows = conn.execute(
            text(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
            )
        )
    return {row[0] for row in rows}


def audit_functions(conn) -> set[str]:
    if conn.dialect.name != "postgresql":
        return set()
    rows = conn.execute(text("SELECT proname FROM pg_proc WHERE proname LIKE 'audit_event%'"))
    return {row[0] for row in rows}


def expected_triggers(conn) -> set[str]:
    return POSTGRES_TRIGGERS if conn.dialect.name == "postgresql" else SQLITE_TRIGGERS


def assert_audit_guard_works(engine) -> None:
    """The triggers do their job: a row can be added, never changed or removed."""
    with engine.connect() as conn:
        _assert_audit_guard_works(conn)


def _assert_audit_guard_works(conn) -> None:
    with conn.begin():
        conn.execute(
            text(
                "INSERT INTO audit_event (occurred_at, actor_name, action, object_type, "
                "object_id, before, after, client_addr, prev_hash, hash) VALUES "
                "(:at, 'migration-test', 'probe', '', '', '', '', '', :prev, :hash)"
            ),
            {"at": "2026-01-01 00:00:00", "prev": "0" * 64, "hash": "f" * 64},
        )
    for statement in ("UPDATE audit_event SET after = 'x'", "DELETE FROM audit_event"):
        with pytest.raises(DBAPIError, match="append-only"), conn.begin():
            conn.execute(text(statement))
    with conn.begin():
        assert conn.scalar(text("SELECT after FROM audit_event")) == ""


def test_upgrade_downgrade_upgrade_on_an_empty_database(fresh_app):
    with fresh_app.app_context():
        with db.engine.connect() as conn:
            assert application_tables(conn) == set()

        upgrade()
        with db.engine.connect() as conn:
            assert application_tables(conn) == app_tables()
            assert current_revisions(conn) == head_revisions(fresh_app)
            assert audit_triggers(conn) == expected_triggers(conn)

        downgrade(revision="base")
        with db.engine.connect() as conn:
            assert application_tables(conn) == set()
            assert audit_triggers(conn) == set()
            assert audit_functions(conn) == set()
            assert current_revisions(conn) == set()

        upgrade()
        with db.engine.connect() as conn:
            assert application_tables(conn) == app_tables()
            assert current_revisions(conn) == head_revisions(fresh_app)
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert differences == [], "models and migrations disagree"
            assert audit_triggers(conn) == expected_triggers(conn)
            if conn.dialect.name == "postgresql":
                assert audit_functions(conn) == {"audit_event_append_only"}
        assert_audit_guard_works(db.engine)


def test_flask_db_upgrade_cli(fresh_app):
    runner = fresh_app.test_cli_runner()
    result = runner.invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, f"{result.output}\n{result.exception!r}"
    with fresh_app.app_context(), db.engine.connect() as conn:
        assert application_tables(conn) == app_tables()
        assert current_revisions(conn) == head_revisions(fresh_app)
        assert audit_triggers(conn) == expected_triggers(conn)

    # Running it again on an up-to-date database is a no-op, not an error.
    again = runner.invoke(args=["db", "upgrade"])
    assert again.exit_code == 0, f"{again.output}\n{again.exception!r}"


# ---- 0011: extension requests keep their officers' names; stale pending ones become void -----


def test_migration_0011_names_extension_requests_and_voids_the_stale_ones(fresh_app):
    """Rows written under 0010: the upgrade fills the names from user_account (display name, or
    the login name when it is empty) and makes void the pending requests whose deadline already
    ended; the downgrade drops the names and makes them pending again."""
    from datetime import UTC, datetime

    from sqlalchemy import column, insert, select, table, update

    from portal.database import UTCDateTime
    from portal.referrals.models import ExtensionRequest, Referral
    from tenants.models import User
    from tenants.scoping import wider_scope
    from tests.conftest import build_world
    from tests.referral_helpers import post_lead, send

    at = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
    signed_at = datetime(2026, 3, 2, 5, 30, tzinfo=UTC)
    reported_at = datetime(2026, 3, 3, 6, 0, tzinfo=UTC)
    # extension_request as revision 0010 made it.
    old_extension = table(
        "extension_request",
        *(column(name) for name in ("referral_id", "tenant_id", "deadline", "reason")),
        *(column(name) for name in ("ordinal", "state", "requested_by_id", "decided_by_id")),
        column("decision_note"),
        column("old_due", UTCDateTime()),
        column("new_due", UTCDateTime()),
        column("requested_at", UTCDateTime()),
        column("decided_at", UTCDateTime()),
    )
    with fresh_app.app_context():
        upgrade(revision="0010")
        world = build_world(db.session)
        lead_id = post_lead(world, "dept.officer")
        signed, unsigned, reported = send(
            world, "dept.officer", lead_id, "county_a", "county_b", "park_a"
        )
        with wider_scope("cli"):
            db.session.execute(
                update(User)
                .where(User.id == world.users["county-a.officer"])
                .values(display_name="何静怡")
            )
            db.session.execute(
                update(User).where(User.id == world.users["dept.head"]).values(display_name="")
            )
            db.session.execute(
                update(Referral)
                .where(Referral.id == signed)
                .values(state="accepted", accepted_at=signed_at)
            )
            db.session.execute(
                update(Referral)
                .where(Referral.id == reported)
                .values(state="reported", accepted_at=signed_at, first_report_at=reported_at)
            )
            db.session.commit()

        def request(referral_id, tenant, deadline, state="pending", decided_by=None):
            return {
                "referral_id": referral_id,
                "tenant_id": world.tenants[tenant],
                "deadline": deadline,
                "reason": "企业负责人出差。",
                "ordinal": 1,
                "state": state,
                "requested_by_id": world.users[f"{tenant.replace('_', '-')}.officer"],
                "decided_by_id": world.users[decided_by] if decided_by else None,
                "decision_note": "同意" if decided_by else "",
                "old_due": at,
                "new_due": at,
                "requested_at": at,
                "decided_at": at if decided_by else None,
            }

        rows = [
            request(signed, "county_a", "sign"),  # signed since: void
            request(signed, "county_a", "report", "approved", "dept.head"),
            request(unsigned, "county_b", "sign"),  # still to sign: stays pending
            request(reported, "park_a", "report"),  # first report given since: void
        ]
        with db.engine.begin() as conn:
            conn.execute(insert(old_extension), rows)

        upgrade()
        with wider_scope("cli"):
            db.session.expire_all()
            got = db.session.scalars(select(ExtensionRequest).order_by(ExtensionRequest.id)).all()
            assert [(e.state, e.requested_by_name, e.decided_by_name) for e in got] == [
                ("void", "何静怡", ""),
                ("approved", "何静怡", "dept.head"),
                ("pending", "county-b.officer", ""),
                ("void", "park-a.officer", ""),
            ]
            assert [e.decided_at for e in got] == [signed_at, at, None, reported_at]
            assert got[0].decision_note == "接收单位已签收，无需再延长签收时限。"
            assert got[3].decision_note == "接收单位已首次反馈，无需再延长首次反馈时限。"
            db.session.rollback()

        downgrade(revision="0010")
        with db.engine.connect() as conn:
            columns = {c["name"] for c in inspect(conn).get_columns("extension_request")}
            assert not columns & {"requested_by_name", "decided_by_name"}
            states = conn.execute(
                text("SELECT state, decision_note FROM extension_request ORDER BY id")
            ).all()
            assert [tuple(row) for row in states] == [
                ("pending", ""),
                ("approved", "同意"),
                ("pending", ""),
                ("pending", ""),
            ]

        upgrade()
        with db.engine.connect() as conn:
            assert current_revisions(conn) == head_revisions(fresh_app)
            differences = compare_metadata(MigrationContext.configure(conn), db.metadata)
            assert differences == [], "models and migrations disagree"
