"""The automatic tenant scoping (tenants.scoping) and the traps listed in DESIGN.md §8.

Every test works on `db.session` directly, inside an app context, with the six-tenant world. The
two tenants under test are 甲县 (`county_a`, "A") and 乙县 (`county_b`, "B"); 甲县工业园 is a child
of A and must not be visible from A's scope either (a scope is one tenant, not a subtree).
"""

from __future__ import annotations

import contextlib
import warnings

import pytest
from sqlalchemy import delete, event, exists, func, insert, select, update
from sqlalchemy.engine.interfaces import CacheStats
from sqlalchemy.exc import SADeprecationWarning
from sqlalchemy.orm import aliased, joinedload, selectinload

from portal.extensions import db
from tenants.models import Tenant, User
from tenants.scoping import (
    Scope,
    TenantScopeError,
    current_scope,
    enter_scope,
    leave_scope,
    no_tenant_scope,
    tenant_scope,
    wider_scope,
)
from tests.conftest import TEST_PASSWORD

A, B = "county_a", "county_b"


# ---- helpers ---------------------------------------------------------------------------------


def user_ids_of(world, key: str) -> set[int]:
    return {uid for login, uid in world.users.items() if world.tenant_of_user[login] == key}


def all_user_ids(world) -> set[int]:
    return set(world.users.values())


def b_user_id(world) -> int:
    return world.users["county-b.officer"]


def a_user_id(world) -> int:
    return world.users["county-a.officer"]


def new_user(login_name: str, **kwargs) -> User:
    user = User(
        login_name=login_name,
        display_name=login_name,
        password_hash="not-a-real-hash",
        **kwargs,
    )
    user.set_roles(["officer"])
    return user


@contextlib.contextmanager
def recorded_sql(engine):
    """Every statement sent to the database while the block runs, with its cache status."""
    statements: list[tuple[str, object]] = []

    def before_cursor_execute(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, getattr(context, "cache_hit", None)))

    event.listen(engine, "before_cursor_execute", before_cursor_execute)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", before_cursor_execute)


@pytest.fixture
def session(world):
    """A clean session (empty identity map) over the committed world."""
    db.session.close()
    yield db.session
    db.session.rollback()


def wide_user_ids(session) -> set[int]:
    with wider_scope("cli"):
        return set(session.scalars(select(User.id)))


# ---- no scope at all -------------------------------------------------------------------------


NO_SCOPE_STATEMENTS = [
    pytest.param(lambda: select(User), id="orm-select"),
    pytest.param(lambda: select(func.count(User.id)), id="count-column"),
    pytest.param(lambda: select(func.count()).select_from(User), id="count-select-from"),
    pytest.param(lambda: select(User.__table__), id="core-table"),
    pytest.param(lambda: select(User.__table__.c.login_name), id="core-column"),
    pytest.param(lambda: select(Tenant.id).join(User), id="join-class"),
    pytest.param(lambda: select(Tenant.id).join(Tenant.users), id="join-relationship"),
    pytest.param(
        lambda: select(Tenant.id, func.count()).join(Tenant.users).group_by(Tenant.id),
        id="per-tenant-count-via-relationship-join",
    ),
    pytest.param(lambda: select(Tenant.id).where(Tenant.users.any()), id="relationship-any"),
    pytest.param(
        lambda: select(Tenant.id).where(exists().where(User.tenant_id == Tenant.id)),
        id="core-exists",
    ),
    pytest.param(lambda: select(Tenant).options(selectinload(Tenant.users)), id="selectinload"),
]


@pytest.mark.parametrize("build", NO_SCOPE_STATEMENTS)
def test_no_scope_statement_touching_users_raises(session, build):
    """With no scope set, anything that reads user rows must raise, not return every tenant's."""
    assert current_scope() is None
    with pytest.raises(TenantScopeError):
        session.execute(build()).unique().all()


def test_no_scope_get_raises_whether_or_not_the_object_is_in_the_identity_map(
    session, world, app_ctx
):
    with pytest.raises(TenantScopeError):
        session.get(User, a_user_id(world))
    with wider_scope("cli"):
        held = session.get(User, a_user_id(world))  # keep it in the (weak) identity map
        assert held is not None
    # Now an identity-map hit: no SQL, so only the Session.get override can refuse it.
    with recorded_sql(db.engine) as statements, pytest.raises(TenantScopeError):
        session.get(User, a_user_id(world))
    assert statements == []


def test_no_scope_bulk_statements_and_flushes_raise(session, world):
    with pytest.raises(TenantScopeError):
        session.execute(update(User).values(display_name="x"))
    session.rollback()
    with pytest.raises(TenantScopeError):
        session.execute(delete(User))
    session.rollback()
    session.add(new_user("nobody.new", tenant_id=world.tenants[A]))
    with pytest.raises(TenantScopeError):
        session.flush()
    session.rollback()
    assert wide_user_ids(session) == all_user_ids(world)


def test_no_scope_non_tenant_owned_table_works(session, world):
    tenants = session.scalars(select(Tenant)).all()
    assert {t.id for t in tenants} == set(world.tenants.values())
    assert session.get(Tenant, world.tenants[B]).code == "county-b"


# ---- one tenant ------------------------------------------------------------------------------


def test_tenant_scope_lists_only_own_users(session, world):
    with tenant_scope(world.tenants[A]):
        users = session.scalars(select(User)).all()
        assert {u.id for u in users} == user_ids_of(world, A)
        assert {u.tenant_id for u in users} == {world.tenants[A]}
    with tenant_scope(world.tenants[B]):
        assert set(session.scalars(select(User.id))) == user_ids_of(world, B)


def test_tenant_scope_counts_only_own_users(session, world):
    expected = len(user_ids_of(world, A))
    with tenant_scope(world.tenants[A]):
        assert session.scalar(select(func.count(User.id))) == expected
        assert session.scalar(select(func.count()).select_from(User)) == expected
        per_tenant = session.execute(
            select(User.tenant_id, func.count(User.id)).group_by(User.tenant_id)
        ).all()
        assert per_tenant == [(world.tenants[A], expected)]


def test_tenant_scope_filters_cannot_reach_other_tenants(session, world):
    with tenant_scope(world.tenants[A]):
        by_name = select(User).where(User.login_name == "county-b.officer")
        assert session.scalars(by_name).first() is None
        assert session.scalars(select(User).where(User.tenant_id == world.tenants[B])).all() == []
        other_ids = user_ids_of(world, B) | user_ids_of(world, "park_a")
        assert session.scalars(select(User).where(User.id.in_(other_ids))).all() == []
        assert session.get(User, b_user_id(world)) is None
        assert session.get(User, a_user_id(world)).login_name == "county-a.officer"


def test_tenant_scope_core_table_select_sees_only_own_rows(session, world):
    """A Core select on the users table goes through the same session hook: with no scope it
    raises (above); with a tenant scope it must not return every tenant's rows."""
    table = User.__table__
    with tenant_scope(world.tenants[A]):
        ids = set(session.scalars(select(table.c.id)))
        rows = session.execute(select(table)).all()
    assert ids <= user_ids_of(world, A)
    assert {row.tenant_id for row in rows} <= {world.tenants[A]}


# ---- identity map ----------------------------------------------------------------------------


def test_identity_map_hit_does_not_leak_through_get(session, world, app_ctx):
    b_id = b_user_id(world)
    with wider_scope("city_oversight"):
        loaded = session.get(User, b_id)
        assert loaded is not None
        with recorded_sql(db.engine) as statements:
            assert session.get(User, b_id) is loaded
        assert statements == [], "the second get should be an identity-map hit"
    with tenant_scope(world.tenants[A]):
        with recorded_sql(db.engine) as statements:
            assert session.get(User, b_id) is None
        assert statements == [], "this test is meant to exercise the no-SQL path"
        # Through SQL the criteria apply as well.
        assert session.scalars(select(User).where(User.id == b_id)).first() is None
    with no_tenant_scope():
        assert session.get(User, b_id) is None
    with wider_scope("cli"):
        assert session.get(User, b_id) is loaded


def test_identity_map_hit_does_not_leak_through_get_one(session, world):
    from sqlalchemy.orm.exc import NoResultFound

    b_id = b_user_id(world)
    with wider_scope("cli"):
        held = session.get(User, b_id)  # keep it in the (weak) identity map
        assert held is not None
    with tenant_scope(world.tenants[A]), pytest.raises(NoResultFound):
        session.get_one(User, b_id)


def test_identity_map_hit_does_not_leak_through_legacy_query_get(session, world):
    """`Query.get()` (and so Flask-SQLAlchemy's `Model.query.get`) is still available and reads
    the identity map through `Session._get_impl`, not through `Session.get`."""
    b_id = b_user_id(world)
    with wider_scope("cli"):
        held = session.get(User, b_id)  # keep it in the (weak) identity map
        assert held is not None
    with tenant_scope(world.tenants[A]), warnings.catch_warnings():
        warnings.simplefilter("ignore", SADeprecationWarning)
        assert session.query(User).get(b_id) is None


# ---- the cached criteria lambda --------------------------------------------------------------


def test_cached_criteria_lambda_takes_each_scopes_tenant(session, world, app_ctx):
    a, b = world.tenants[A], world.tenants[B]
    statement = select(User).where(User.active.is_(True)).order_by(User.id)
    a_and_park = Scope("tenant", frozenset({a, world.tenants["park_a"]}), a)
    expected_a_and_park = user_ids_of(world, A) | user_ids_of(world, "park_a")

    runs = [
        (tenant_scope(a), user_ids_of(world, A)),
        (tenant_scope(b), user_ids_of(world, B)),
        (tenant_scope(a), user_ids_of(world, A)),
    ]
    cache_hits = []
    for scope, expected in runs:
        with scope, recorded_sql(db.engine) as statements:
            # The same statement object, and a structurally identical new one.
            assert {u.id for u in session.scalars(statement)} == expected
            rebuilt = select(User).where(User.active.is_(True)).order_by(User.id)
            assert {u.id for u in session.scalars(rebuilt)} == expected
            count = select(func.count(User.id)).where(User.active.is_(True))
            assert session.scalar(count) == len(expected)
        cache_hits.extend(hit for sql, hit in statements if sql.lstrip().startswith("SELECT"))
    # After the first scope, every statement came from SQLAlchemy's compiled cache: the trap
    # (a tenant id frozen into the cached criteria) is really exercised.
    assert cache_hits[3:] == [CacheStats.CACHE_HIT] * 6

    token = enter_scope(a_and_park)
    try:
        assert {u.id for u in session.scalars(statement)} == expected_a_and_park
    finally:
        leave_scope(token)
    with tenant_scope(b):
        assert {u.id for u in session.scalars(statement)} == user_ids_of(world, B)


# ---- joins and subqueries --------------------------------------------------------------------


def test_joins_from_tenant_to_users_see_only_own_users(session, world):
    a = world.tenants[A]
    with tenant_scope(a):
        assert set(session.scalars(select(Tenant.id).join(User))) == {a}
        assert set(session.scalars(select(Tenant.id).join(Tenant.users))) == {a}
        pairs = session.execute(select(Tenant.id, User.id).join(Tenant.users)).all()
        assert {user_id for _, user_id in pairs} == user_ids_of(world, A)
        outer = session.execute(
            select(Tenant.id, User.id).outerjoin(Tenant.users).where(User.id.is_not(None))
        ).all()
        assert {user_id for _, user_id in outer} == user_ids_of(world, A)


def test_join_from_users_to_tenant_sees_only_own_users(session, world):
    with tenant_scope(world.tenants[A]):
        ids = set(session.scalars(select(User.id).join(User.tenant)))
        assert ids == user_ids_of(world, A)
        b_rows = session.scalars(select(User).join(User.tenant).where(Tenant.code == "county-b"))
        assert b_rows.all() == []


def test_aliased_user_joins_see_only_own_users(session, world):
    other = aliased(User)
    with tenant_scope(world.tenants[A]):
        pairs = session.execute(
            select(User.id, other.id).join(other, other.tenant_id == User.tenant_id)
        ).all()
        assert {x for pair in pairs for x in pair} == user_ids_of(world, A)
        via_tenant = session.execute(
            select(Tenant.id, other.id).join(Tenant.users.of_type(other))
        ).all()
        assert {user_id for _, user_id in via_tenant} == user_ids_of(world, A)
        direct = select(other).where(other.login_name == "county-b.officer")
        assert session.scalars(direct).all() == []


CORRELATED_EXISTS = [
    pytest.param(lambda: exists().where(User.tenant_id == Tenant.id), id="core-exists-no-columns"),
    pytest.param(lambda: exists(User.id).where(User.tenant_id == Tenant.id), id="exists-column"),
    pytest.param(
        lambda: select(User.id).where(User.tenant_id == Tenant.id).exists(), id="select-exists"
    ),
    pytest.param(lambda: Tenant.users.any(), id="relationship-any"),
]


@pytest.mark.parametrize("build", CORRELATED_EXISTS)
def test_correlated_exists_subquery_sees_only_own_users(session, world, build):
    """Which tenants have users? Under A's scope: only A. If the criteria do not reach into the
    EXISTS, every tenant with users is listed."""
    a = world.tenants[A]
    with tenant_scope(a):
        assert set(session.scalars(select(Tenant.id).where(build()))) == {a}


def test_relationship_any_cannot_probe_another_tenants_login_names(session, world):
    with tenant_scope(world.tenants[A]):
        probe = select(Tenant.id).where(Tenant.users.any(User.login_name == "county-b.officer"))
        assert session.scalars(probe).all() == []


def test_plain_subqueries_see_only_own_users(session, world):
    a = world.tenants[A]
    expected = len(user_ids_of(world, A))
    with tenant_scope(a):
        per_tenant = (
            select(User.tenant_id, func.count(User.id).label("n"))
            .group_by(User.tenant_id)
            .subquery()
        )
        rows = session.execute(
            select(Tenant.id, per_tenant.c.n).join(per_tenant, per_tenant.c.tenant_id == Tenant.id)
        ).all()
        assert rows == [(a, expected)]
        # The pagination helper counts this way (portal/pagination.py).
        paged_total = select(func.count()).select_from(select(User).order_by(None).subquery())
        assert session.scalar(paged_total) == expected
        in_subquery = select(Tenant.id).where(Tenant.id.in_(select(User.tenant_id)))
        assert set(session.scalars(in_subquery)) == {a}
        scalar_count = (
            select(func.count(User.id)).where(User.tenant_id == Tenant.id).scalar_subquery()
        )
        counts = dict(session.execute(select(Tenant.id, scalar_count)).all())
        assert counts[world.tenants[B]] == 0
        assert counts[a] == expected
        from_subquery = aliased(User, select(User).subquery())
        assert set(session.scalars(select(from_subquery.id))) == user_ids_of(world, A)


# ---- relationship loads ----------------------------------------------------------------------


def test_lazy_loaded_collection_shows_no_user_of_another_tenant(session, world):
    with tenant_scope(world.tenants[A]):
        tenant_b = session.get(Tenant, world.tenants[B])
        assert tenant_b.users == []
        tenant_a = session.get(Tenant, world.tenants[A])
        assert {u.id for u in tenant_a.users} == user_ids_of(world, A)


def test_collection_loaded_under_a_wide_scope_does_not_leak_into_a_tenant_scope(session, world):
    """The identity-map trap again, through a relationship: a collection loaded while a wide
    scope was open is served from memory (no SQL, no criteria) when read later."""
    with wider_scope("city_oversight"):
        tenant_b = session.get(Tenant, world.tenants[B])
        assert {u.id for u in tenant_b.users} == user_ids_of(world, B)
    with tenant_scope(world.tenants[A]):
        assert [u.login_name for u in tenant_b.users] == []


@pytest.mark.parametrize("loader", [selectinload, joinedload], ids=["selectin", "joined"])
def test_eager_loaded_collection_shows_no_user_of_another_tenant(session, world, loader):
    a = world.tenants[A]
    with tenant_scope(a):
        tenants = session.scalars(select(Tenant).options(loader(Tenant.users))).unique().all()
        assert len(tenants) == len(world.tenants)
        by_id = {t.id: {u.id for u in t.users} for t in tenants}
    assert by_id[a] == user_ids_of(world, A)
    assert all(ids == set() for tenant_id, ids in by_id.items() if tenant_id != a)


# ---- bulk UPDATE and DELETE ------------------------------------------------------------------


def test_bulk_update_touches_only_own_rows(session, world):
    a_ids = user_ids_of(world, A)
    with tenant_scope(world.tenants[A]):
        result = session.execute(update(User).values(display_name="changed"))
        assert result.rowcount == len(a_ids)
        aimed_at_b = update(User).where(User.tenant_id == world.tenants[B]).values(active=False)
        assert session.execute(aimed_at_b).rowcount == 0
        session.commit()
    with wider_scope("cli"):
        changed = set(session.scalars(select(User.id).where(User.display_name == "changed")))
        inactive = set(session.scalars(select(User.id).where(User.active.is_(False))))
    assert changed == a_ids
    assert inactive == set()


@pytest.mark.parametrize("sync", ["auto", "fetch", False])
def test_bulk_delete_touches_only_own_rows(session, world, sync):
    a_ids = user_ids_of(world, A)
    with tenant_scope(world.tenants[A]):
        statement = delete(User).where(User.login_name.like("county-%"))
        result = session.execute(statement.execution_options(synchronize_session=sync))
        assert result.rowcount == len(a_ids)
        session.commit()
    assert wide_user_ids(session) == all_user_ids(world) - a_ids


def test_bulk_update_cannot_move_rows_into_another_tenant(session, world):
    a_id = a_user_id(world)
    with tenant_scope(world.tenants[A]), pytest.raises(TenantScopeError):
        session.execute(update(User).where(User.id == a_id).values(tenant_id=world.tenants[B]))
        session.commit()
    session.rollback()
    with wider_scope("cli"):
        assert session.scalar(select(User.tenant_id).where(User.id == a_id)) == world.tenants[A]


def test_bulk_insert_cannot_write_rows_of_another_tenant(session, world):
    with tenant_scope(world.tenants[A]), pytest.raises(TenantScopeError):
        session.execute(
            insert(User).values(
                tenant_id=world.tenants[B],
                login_name="planted.in-b",
                display_name="planted",
                password_hash=TEST_PASSWORD,
                roles="officer",
            )
        )
        session.commit()
    session.rollback()
    with wider_scope("cli"):
        planted = select(User).where(User.login_name == "planted.in-b")
        assert session.scalars(planted).first() is None


# ---- inserts, moves and deletes through the unit of work --------------------------------------


def test_insert_without_tenant_gets_the_scope_tenant(session, world):
    with tenant_scope(world.tenants[A]):
        user = new_user("county-a.new")
        session.add(user)
        session.flush()
        assert user.tenant_id == world.tenants[A]
        session.commit()
    with wider_scope("cli"):
        stored = select(User.tenant_id).where(User.login_name == "county-a.new")
        assert session.scalar(stored) == world.tenants[A]


def test_insert_for_another_tenant_is_refused(session, world):
    with tenant_scope(world.tenants[A]):
        session.add(new_user("planted.b", tenant_id=world.tenants[B]))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
        tenant_b = session.get(Tenant, world.tenants[B])
        session.add(new_user("planted.b2", tenant=tenant_b))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
    assert wide_user_ids(session) == all_user_ids(world)


def test_insert_without_tenant_in_a_wide_scope_without_home_is_refused(session, world):
    with wider_scope("cli"):
        session.add(new_user("homeless"))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
    with wider_scope("city_oversight", home_tenant_id=world.tenants["city"]):
        user = new_user("city.new")
        session.add(user)
        session.flush()
        assert user.tenant_id == world.tenants["city"]


def test_anonymous_scope_cannot_insert(session, world):
    with no_tenant_scope():
        session.add(new_user("anon.new"))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
        session.add(new_user("anon.new2", tenant_id=world.tenants[A]))
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()


def test_moving_a_user_to_another_tenant_is_refused(session, world):
    a_id = a_user_id(world)
    with tenant_scope(world.tenants[A]):
        user = session.get(User, a_id)
        user.tenant_id = world.tenants[B]
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
    with wider_scope("cli"):
        assert session.get(User, a_id).tenant_id == world.tenants[A]


def test_moving_a_user_to_another_tenant_through_the_relationship_is_refused(session, world):
    a_id = a_user_id(world)
    with tenant_scope(world.tenants[A]):
        user = session.get(User, a_id)
        user.tenant = session.get(Tenant, world.tenants[B])
        with pytest.raises(TenantScopeError):
            session.flush()
            session.commit()
        session.rollback()
    db.session.expire_all()
    with wider_scope("cli"):
        assert session.scalar(select(User.tenant_id).where(User.id == a_id)) == world.tenants[A]


def test_pulling_another_tenants_user_into_the_scope_is_refused(session, world):
    b_id = b_user_id(world)
    with wider_scope("cli"):
        user = session.get(User, b_id)
    with tenant_scope(world.tenants[A]):
        user.tenant_id = world.tenants[A]
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()


def test_pulling_another_tenants_user_in_through_the_relationship_is_refused(session, world):
    b_id = b_user_id(world)
    with wider_scope("cli"):
        user = session.get(User, b_id)
    with tenant_scope(world.tenants[A]):
        user.tenant = session.get(Tenant, world.tenants[A])
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
    with wider_scope("cli"):
        assert session.scalar(select(User.tenant_id).where(User.id == b_id)) == world.tenants[B]


def test_changing_another_tenants_user_object_is_refused(session, world):
    b_id = b_user_id(world)
    with wider_scope("cli"):
        user = session.get(User, b_id)
    with tenant_scope(world.tenants[A]):
        user.display_name = "defaced"
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
    with wider_scope("cli"):
        assert session.get(User, b_id).display_name == "county-b.officer"


def test_deleting_another_tenants_user_object_is_refused(session, world):
    b_id = b_user_id(world)
    with wider_scope("cli"):
        user = session.get(User, b_id)
    with tenant_scope(world.tenants[A]):
        session.delete(user)
        with pytest.raises(TenantScopeError):
            session.flush()
        session.rollback()
    assert b_id in wide_user_ids(session)


# ---- scope objects ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["everything", "CLI", "", "tenant", "anonymous"])
def test_unknown_wide_scope_names_raise(name):
    with pytest.raises(ValueError, match="unknown wide scope"):
        wider_scope(name)
    assert current_scope() is None


def test_nested_scopes_restore_the_outer_scope(session, world):
    a, b = world.tenants[A], world.tenants[B]
    assert current_scope() is None
    with tenant_scope(a) as outer:
        with tenant_scope(b) as inner:
            assert current_scope() is inner
            assert set(session.scalars(select(User.id))) == user_ids_of(world, B)
        assert current_scope() is outer
        with wider_scope("system") as wide:
            assert current_scope() is wide
            assert set(session.scalars(select(User.id))) == all_user_ids(world)
            with no_tenant_scope():
                assert session.scalars(select(User.id)).all() == []
            assert current_scope() is wide
        assert current_scope() is outer
        assert set(session.scalars(select(User.id))) == user_ids_of(world, A)
    assert current_scope() is None


def test_nested_scopes_restore_the_outer_scope_after_an_exception(session, world):
    a = world.tenants[A]

    class BoomError(Exception):
        pass

    with tenant_scope(a) as outer:
        with pytest.raises(BoomError), wider_scope("cli"):
            raise BoomError
        assert current_scope() is outer
        with pytest.raises(BoomError), tenant_scope(world.tenants[B]), no_tenant_scope():
            raise BoomError
        assert current_scope() is outer
        assert set(session.scalars(select(User.id))) == user_ids_of(world, A)
    assert current_scope() is None
    with pytest.raises(BoomError), tenant_scope(a):
        raise BoomError
    assert current_scope() is None


# ---- the anonymous empty scope ----------------------------------------------------------------


def test_anonymous_scope_sees_no_users(session, world):
    with no_tenant_scope():
        assert session.scalars(select(User)).all() == []
        assert session.scalar(select(func.count(User.id))) == 0
        assert session.get(User, a_user_id(world)) is None
        assert session.scalars(select(Tenant.id).join(User)).all() == []
        tenant_a = session.get(Tenant, world.tenants[A])
        assert tenant_a.users == []
        assert session.execute(update(User).values(display_name="x")).rowcount == 0
        # The non-tenant-owned table is still readable.
        assert len(session.scalars(select(Tenant)).all()) == len(world.tenants)


def test_a_bare_table_joined_into_an_orm_select_is_refused(session, world):
    users = User.__table__
    joined = select(Tenant.id, users.c.login_name).join(users, users.c.tenant_id == Tenant.id)
    with tenant_scope(world.tenants[A]), pytest.raises(TenantScopeError):
        session.execute(joined).all()
