"""Fixtures: a real database (a SQLite file, or PostgreSQL when TEST_DATABASE_URL points there),
the application, and factories for tenants and users."""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text

from portal import create_app
from portal.config import normalise_database_url
from portal.extensions import db

TEST_PASSWORD = "Test-pass-2026"
CHEAP_HASH = "scrypt:1024:8:1"  # the algorithm under test is the same; only its cost is lower
CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
CSRF_DATA_PATTERN = re.compile(r'data-csrf-token="([^"]+)"')

PG_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
USING_POSTGRES = PG_URL.startswith(("postgres://", "postgresql"))


def pytest_report_header(config):
    return f"database: {'PostgreSQL ' + PG_URL if USING_POSTGRES else 'SQLite (file per test)'}"


def _migrate(url: str, instance: Path) -> None:
    from flask_migrate import upgrade

    app = _make_app(url, instance)
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _make_app(url: str, instance: Path, **extra):
    os.environ["PORTAL_INSTANCE_PATH"] = str(instance)
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "SQLALCHEMY_DATABASE_URI": url,
        "PASSWORD_HASH_METHOD": CHEAP_HASH,
        "SERVER_NAME": None,
    }
    config.update(extra)
    return create_app(config)


@pytest.fixture(scope="session")
def database_template(tmp_path_factory):
    """The migrated schema, made once: a template file (SQLite) or the test database (PG)."""
    instance = tmp_path_factory.mktemp("instance")
    if USING_POSTGRES:
        url = normalise_database_url(PG_URL)
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(url, instance)
        return url
    template = instance / "template.db"
    _migrate(f"sqlite:///{template}", instance)
    return template


def _truncate_postgres(url: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        tables = [t for t in inspect(conn).get_table_names() if t != "alembic_version"]
        if tables:
            names = ", ".join(f'"{name}"' for name in tables)
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def database_url(database_template, tmp_path):
    """A clean database for one test."""
    if USING_POSTGRES:
        _truncate_postgres(database_template)
        return database_template
    path = tmp_path / "portal.db"
    shutil.copyfile(database_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def app(database_url, tmp_path):
    application = _make_app(database_url, tmp_path / "instance")
    yield application
    with application.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def client(app):
    return app.test_client()


# ---- the world: tenants and users ------------------------------------------------------------


@dataclass
class World:
    tenants: dict = field(default_factory=dict)  # key -> tenant id
    users: dict = field(default_factory=dict)  # login name -> user id
    tenant_of_user: dict = field(default_factory=dict)


WORLD_TENANTS = [
    # key, name, kind, parent key
    ("city", "测试市投资促进局", "city", None),
    ("dept", "测试市商务局", "department", "city"),
    ("county_a", "甲县", "county", "city"),
    ("county_b", "乙县", "county", "city"),
    ("park_a", "甲县工业园", "park", "county_a"),
    ("office", "测试市考核办", "office", "city"),
]


def role_sets_for(kind: str) -> list[tuple[str, ...]]:
    sets = [("officer",), ("head",), ("admin",)]
    if kind in ("city", "office"):
        sets.append(("assessor",))
    return sets


def make_tenant(session, code: str, name: str, kind: str, parent_id=None):
    from tenants.models import Tenant

    tenant = Tenant(code=code, name=name, kind=kind, parent_id=parent_id, active=True)
    session.add(tenant)
    session.flush()
    return tenant


def make_user(session, tenant_id: int, login_name: str, roles=("officer",), **kwargs):
    from portal.auth.passwords import hash_password
    from tenants.models import User

    user = User(
        tenant_id=tenant_id,
        login_name=login_name,
        display_name=kwargs.pop("display_name", login_name),
        password_hash=hash_password(kwargs.pop("password", TEST_PASSWORD)),
        active=kwargs.pop("active", True),
        **kwargs,
    )
    user.set_roles(roles)
    session.add(user)
    session.flush()
    return user


def build_world(session) -> World:
    """Six tenants of every kind; in each, one user per role (login `<key>.<role>`) and one
    plain target user (`<key>.target`) for routes that act on another user."""
    from tenants.scoping import wider_scope

    world = World()
    with wider_scope("cli"):
        for key, name, kind, parent_key in WORLD_TENANTS:
            code = key.replace("_", "-")
            parent_id = world.tenants.get(parent_key)
            world.tenants[key] = make_tenant(session, code, name, kind, parent_id).id
            for roles in role_sets_for(kind) + [("officer", "target")]:
                login = f"{code}.{roles[-1]}"
                user = make_user(
                    session, world.tenants[key], login, [r for r in roles if r != "target"]
                )
                world.users[login] = user.id
                world.tenant_of_user[login] = key
        session.commit()
    return world


@pytest.fixture
def world(app_ctx) -> World:
    """The world for service-level tests, which run inside one app context."""
    return build_world(db.session)


@pytest.fixture
def http_world(app) -> World:
    """The world for tests that make requests. No app context stays open: a test client request
    would otherwise share the test's context, its `g` and its database session."""
    with app.app_context():
        world = build_world(db.session)
        db.session.remove()
    return world


# ---- signing in through the real pages -------------------------------------------------------


def csrf_from(html: str) -> str:
    match = CSRF_PATTERN.search(html) or CSRF_DATA_PATTERN.search(html)
    assert match, "page carries no CSRF token"
    return match.group(1)


def login(client, login_name: str, password: str = TEST_PASSWORD, **kwargs):
    page = client.get("/login", **kwargs)
    token = csrf_from(page.get_data(as_text=True))
    return client.post(
        "/login",
        data={"csrf_token": token, "login_name": login_name, "password": password},
        **kwargs,
    )


def signed_in_client(app, login_name: str):
    client = app.test_client()
    response = login(client, login_name)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return client


def page_token(client, path: str = "/") -> str:
    return csrf_from(client.get(path).get_data(as_text=True))


# ---- figures printed at the end of the run ---------------------------------------------------

RUN_FIGURES: dict[str, str] = {}


def record_figure(name: str, text_: str) -> None:
    RUN_FIGURES[name] = text_


def pytest_terminal_summary(terminalreporter):
    if RUN_FIGURES:
        terminalreporter.section("security coverage")
        for name in sorted(RUN_FIGURES):
            terminalreporter.write_line(f"{name}: {RUN_FIGURES[name]}")


# ---- concurrency -----------------------------------------------------------------------------


def race(app, count: int, prepare, act, refused: type[Exception], scope) -> list[str]:
    """Run ``act`` in ``count`` threads released at the same instant, each with its own app
    context, session and tenant scope (``scope()`` makes a context manager). ``prepare(session)``
    loads what ``act(session, prepared)`` needs before the start line, outside any transaction.
    Returns "won" or the refusal's message (its ``errors["active"]``, or its text) per thread."""
    import threading

    outcomes: list[str] = []
    barrier = threading.Barrier(count)

    def runner():
        with app.app_context(), scope():
            try:
                prepared = prepare(db.session)
                db.session.commit()  # hold no transaction while waiting for the others
                barrier.wait(timeout=30)
                try:
                    act(db.session, prepared)
                    db.session.commit()
                    outcomes.append("won")
                except refused as exc:
                    db.session.rollback()
                    errors = getattr(exc, "errors", None)
                    outcomes.append(errors.get("active", str(exc)) if errors else str(exc))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=runner) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == count, f"threads failed unexpectedly: {outcomes}"
    return outcomes
