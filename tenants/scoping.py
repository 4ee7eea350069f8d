"""Automatic tenant scoping for every ORM statement.

One place decides which tenants' rows a piece of code may touch: the *current scope*, held in a
context variable. Web requests set it from the signed-in user; code that legitimately needs more
(city oversight, assessors, CLI jobs, the sign-in lookup itself) opens a *named* wider scope.

The guard works on these paths:

* ``do_orm_execute``: every SELECT, UPDATE and DELETE run through a session gets a
  ``with_loader_criteria`` on each tenant-owned model, including joins, aliases, relationship
  loads and ORM-enabled bulk statements. SELECTs that read a tenant-owned table without an ORM
  entity (Core ``select(table)``, ``exists()``, ``relationship.any()``) get the criteria added
  directly; a bare table joined into an ORM select is refused. ORM-enabled bulk INSERT and
  UPDATE may only write ``tenant_id`` values inside the scope. If no scope is set and the
  statement touches a tenant-owned table, it raises instead of returning everything.
* ``TenantSession._get_impl``: an object already in the identity map is returned without SQL,
  so the criteria never run; ``get``, ``get_one``, ``merge`` and ``Query.get`` re-check it here.
* Leaving a wide scope expires the tenant-owned collections it loaded, so a narrower scope does
  not read them from memory.
* ``before_flush``: inserts get the scope's tenant or are refused, and no flush may write, move
  (by column or relationship) or delete a row of a tenant outside the scope.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    RelationshipProperty,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import operators, visitors
from sqlalchemy.sql.elements import BinaryExpression, BindParameter
from sqlalchemy.sql.schema import Column, Table
from sqlalchemy.sql.selectable import Alias, Join, Select

# The named wider scopes. Opening one is a deliberate act that shows up in code review and grep.
WIDE_SCOPES = frozenset(
    {
        "authentication",  # resolve a login name or a session token to its user
        "city_oversight",  # the city tenant's admins and heads looking across tenants
        "assessors",  # the assessment office reviewing credit across tenants
        "audit_chain",  # reading the previous audit hash, whatever tenant wrote it
        "cli",  # command-line jobs: migrations, demo seed, verification
        "system",  # background maintenance with no acting user
        "notify",  # delivering a notification to another tenant's users
        "lead_access",  # the lead and referral services granting a tenant sight of a lead
        "search",  # the indexer reading documents and their labels (never what a user sees)
    }
)


class TenantScopeError(RuntimeError):
    """Raised when code touches tenant-owned rows without a scope, or outside its scope."""


@dataclass(frozen=True)
class Scope:
    """Which tenants' rows the current code may see and change.

    ``tenant_ids`` is ``None`` for a wide scope (every tenant). ``home_tenant_id`` is the tenant
    new rows are assigned to when the code does not say. ``oversees_leads`` is set for the city
    tenant and assessors: they see every lead and referral (but not contacts, DESIGN.md §5).
    """

    name: str
    tenant_ids: frozenset[int] | None
    home_tenant_id: int | None = None
    oversees_leads: bool = False

    @property
    def is_wide(self) -> bool:
        return self.tenant_ids is None

    def allows(self, tenant_id: int | None) -> bool:
        if self.tenant_ids is None:
            return True
        return tenant_id is not None and tenant_id in self.tenant_ids


_current_scope: ContextVar[Scope | None] = ContextVar("tenant_scope", default=None)


def current_scope() -> Scope | None:
    return _current_scope.get()


def require_scope() -> Scope:
    scope = _current_scope.get()
    if scope is None:
        raise TenantScopeError("no tenant scope is set: refusing to touch tenant-owned rows")
    return scope


# The sessions that ran statements while the innermost wide scope was open.
_wide_sessions: ContextVar[set | None] = ContextVar("wide_sessions", default=None)


@contextlib.contextmanager
def _scope(scope: Scope) -> Iterator[Scope]:
    token = _current_scope.set(scope)
    sessions_token = _wide_sessions.set(set()) if scope.is_wide else None
    try:
        yield scope
    finally:
        touched = _wide_sessions.get() if sessions_token is not None else None
        if sessions_token is not None:
            _wide_sessions.reset(sessions_token)
        _current_scope.reset(token)
        restored = _current_scope.get()
        if touched and (restored is None or not restored.is_wide):
            for session in touched:
                _expire_tenant_relationships(session)


def _expire_tenant_relationships(session) -> None:
    """Leaving a wide scope: a collection it loaded must not be served from memory to a narrower
    scope. Expire loaded, unchanged relationships to tenant-owned classes, so that the next
    access loads them again through the criteria. (Single objects stay in the identity map:
    ``_get_impl`` and ``before_flush`` guard those.)"""
    from sqlalchemy import inspect

    for obj in list(session.identity_map.values()):
        state = inspect(obj)
        keys = [
            rel.key
            for rel in state.mapper.relationships
            if issubclass(rel.mapper.class_, TenantOwned)
            and rel.key in state.dict
            and not state.attrs[rel.key].history.has_changes()
        ]
        if keys:
            session.expire(obj, keys)


def tenant_scope(
    tenant_id: int, oversees_leads: bool = False
) -> contextlib.AbstractContextManager[Scope]:
    """Restrict to one tenant: what a signed-in user of that tenant may touch."""
    return _scope(Scope("tenant", frozenset({tenant_id}), tenant_id, oversees_leads))


def user_scope(user) -> Scope:
    """The scope of a signed-in user: their tenant; the city tenant and assessors also oversee
    every lead."""
    oversees = user.tenant.kind == "city" or user.has_role("assessor")
    return Scope("tenant", frozenset({user.tenant_id}), user.tenant_id, oversees)


def acting_as(user) -> contextlib.AbstractContextManager[Scope]:
    """The scope a signed-in request of ``user`` runs in (for jobs and tests acting as them)."""
    return _scope(user_scope(user))


def no_tenant_scope() -> contextlib.AbstractContextManager[Scope]:
    """An explicit empty scope: tenant-owned tables look empty (anonymous visitors)."""
    return _scope(Scope("anonymous", frozenset(), None))


def wider_scope(name: str, home_tenant_id: int | None = None):
    """Open a named scope over every tenant. Only the names in ``WIDE_SCOPES`` exist."""
    if name not in WIDE_SCOPES:
        raise ValueError(f"unknown wide scope {name!r}")
    return _scope(Scope(name, None, home_tenant_id))


def enter_scope(scope: Scope):
    """Set a scope for the rest of a request; pair with :func:`leave_scope`."""
    return _current_scope.set(scope)


def leave_scope(token) -> None:
    _current_scope.reset(token)


class TenantOwned:
    """Mixin for models whose rows belong to one tenant.

    A model that sets ``tenant_optional = True`` may hold rows of no tenant (an audit event for a
    failed sign-in to an unknown account); only wide scopes see those.
    """

    tenant_optional = False

    @declared_attr
    def tenant_id(cls) -> Mapped[int]:  # noqa: N805 - SQLAlchemy passes the class
        return mapped_column(ForeignKey("tenant.id"), index=True)


class SharedRecord:
    """Mixin for models whose rows several tenants see (a lead, its referrals, their feedback).

    Each subclass says who sees a row with ``visibility(cols, tenant_ids, counting)``: a SQL
    condition over ``cols`` (the class, an alias of it, or its table's columns) true for rows
    that one of ``tenant_ids`` may see; ``counting`` asks for the form that suits a count.
    ``overseers_see_all`` lets scopes with ``oversees_leads`` skip it.
    ``writer_tenant_column`` names the column a new row's tenant is checked on (None: the
    owning service decides, e.g. access-list rows written for the receiving tenant).
    ``sighted_tenant_columns`` names columns whose tenant always sees the row (a referral's
    sender and receiver): a plain SELECT of the class alone whose WHERE pins one of them to a
    tenant of the scope needs no visibility condition, and is not given one.
    """

    writer_tenant_column: str | None = None
    overseers_see_all = True
    sighted_tenant_columns: tuple[str, ...] = ()

    @classmethod
    def visibility(cls, cols, tenant_ids):
        raise NotImplementedError


def _shared_mappers():
    from sqlalchemy import inspect

    for cls in _all_subclasses(SharedRecord):
        mapper = inspect(cls, raiseerr=False)
        if mapper is not None:
            yield mapper


_shared_tables_cache: dict[tuple, dict] = {}


def _shared_tables() -> dict:
    """Table name -> SharedRecord class."""
    classes = tuple(_all_subclasses(SharedRecord))
    cached = _shared_tables_cache.get(classes)
    if cached is None:
        cached = {m.local_table.name: m.class_ for m in _shared_mappers()}
        _shared_tables_cache.clear()
        _shared_tables_cache[classes] = cached
    return cached


def _needs_visibility(cls, scope: Scope) -> bool:
    return not scope.is_wide and not (scope.oversees_leads and cls.overseers_see_all)


_owned_tables_cache: dict[tuple, frozenset[str]] = {}


def _tenant_owned_tables() -> frozenset[str]:
    # Asked on every statement: cache per set of tenant-owned classes (new models bust it).
    classes = tuple(_all_subclasses(TenantOwned))
    cached = _owned_tables_cache.get(classes)
    if cached is None:
        cached = frozenset(
            mapper.local_table.name
            for mapper in _tenant_owned_mappers()
            if isinstance(mapper.local_table, Table)
        )
        _owned_tables_cache.clear()
        _owned_tables_cache[classes] = cached
    return cached


def _tenant_owned_mappers():
    from sqlalchemy import inspect

    for cls in _all_subclasses(TenantOwned):
        mapper = inspect(cls, raiseerr=False)
        if mapper is not None:  # an unmapped (abstract) subclass has none
            yield mapper


def _all_subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _all_subclasses(sub)


def _statement_tables(statement) -> set[str]:
    names = set()
    for element in visitors.iterate(statement):
        if isinstance(element, Table):
            names.add(element.name)
        # join(Tenant.users): the relationship's target table is not a child element.
        for target, *_ in getattr(element, "_setup_joins", ()):
            prop = getattr(target, "property", None)
            if isinstance(prop, RelationshipProperty):
                names.add(prop.mapper.local_table.name)
    return names


def _owned_froms(from_, owned):
    """The tenant-owned tables (or aliases of them) a FROM element reads, through joins."""
    if isinstance(from_, Join):
        yield from _owned_froms(from_.left, owned)
        yield from _owned_froms(from_.right, owned)
        return
    base = from_.element if isinstance(from_, Alias) else from_
    if isinstance(base, Table) and base.name in owned:
        yield from_


def _table_name(from_) -> str:
    base = from_.element if isinstance(from_, Alias) else from_
    return base.name


def _is_entity_select(select_stmt) -> bool:
    """Whether with_loader_criteria sees this SELECT: it selects an ORM entity or attribute."""
    return any("parententity" in col._annotations for col in select_stmt._raw_columns)


def _refuse_core_tables_joined_to_entities(select_stmt, owned) -> None:
    """An ORM select's FROM list may hold joins the ORM made (eager loads), which must not get a
    second WHERE; but a bare tenant-owned Table joined in by hand (``.join(User.__table__)``)
    would be read unfiltered. Refuse it: join the model instead."""
    joins = [f for f in select_stmt.get_final_froms() if isinstance(f, Join)]
    while joins:
        join = joins.pop()
        if isinstance(join.left, Join):
            joins.append(join.left)
        # The left-most element is the selected entity's own table; what is joined on is right.
        element = join.right
        if isinstance(element, Table) and not element._annotations and element.name in owned:
            raise TenantScopeError(
                f"join the mapped class, not the table {element.name}: a bare table "
                "escapes the tenant criteria"
            )


# Statement shapes (SQLAlchemy cache keys) known to read no tenant-owned table without an ORM
# entity: the common case, which then costs one cache-key computation instead of a traversal.
_shapes_needing_no_rewrite: set = set()
SHAPE_CACHE_SIZE = 5000


# An execution option for a count whose other conditions already narrow it to a few rows (an
# indexed filter): visibility then keeps the probe form, not the set form counts get by default.
VISIBILITY_PROBE = "visibility_probe"


def _is_counting(statement) -> bool:
    """A statement that only counts (``select(func.count())…``): visibility then uses its set
    form, which SQLite walks once instead of probing every row (see SharedRecord), unless the
    statement asks for the probe (VISIBILITY_PROBE)."""
    if statement.get_execution_options().get(VISIBILITY_PROBE):
        return False
    columns = getattr(statement, "_raw_columns", None)
    return bool(columns) and all(getattr(c, "name", None) == "count" for c in columns)


def _entity_tables(select_stmt) -> set[str]:
    """Tables the ORM itself filters in this SELECT: those of mapped classes it names in its
    FROM list or columns (``select_from(Lead)``, ``count(Lead.id)``)."""
    names = set()
    elements = [*select_stmt.get_final_froms(), *select_stmt._raw_columns]
    for element in elements:
        for node in visitors.iterate(element):
            entity = getattr(node, "_annotations", {}).get("parententity")
            if entity is not None and isinstance(entity.local_table, Table):
                names.add(entity.local_table.name)
    return names


def _filter_core_selects(statement, scope: Scope, allowed_ids, counting=False, shape_key=None):
    """with_loader_criteria filters ORM entities only. A Core ``select(table)``, an
    ``exists().where(...)``, ``relationship.any()/has()`` and a Core table joined into an ORM
    select read a tenant-owned table without one: give every SELECT the tenant criteria."""
    owned_only = _tenant_owned_tables()
    shared = {name: cls for name, cls in _shared_tables().items() if _needs_visibility(cls, scope)}
    owned = owned_only | frozenset(shared)

    def criterion(from_):
        cls = shared.get(_table_name(from_))
        if cls is not None:
            return cls.visibility(from_.c, allowed_ids, counting)
        return from_.c.tenant_id.in_(allowed_ids)

    def criteria_for(select_stmt, top_level=False):
        if not isinstance(select_stmt, Select):
            return ()
        if _is_entity_select(select_stmt):
            _refuse_core_tables_joined_to_entities(select_stmt, owned)
            return ()
        # In the statement itself (not a nested EXISTS), with_loader_criteria already filters
        # the FROM elements that came from a mapped class (``count(Lead.id)``): adding the
        # same condition again would only make the database evaluate it twice.
        # (Tenant-owned tables keep both: their ORM criteria is a cached lambda, whose compiled
        # form only stays cached across scopes with the direct criteria beside it.)
        skip = _entity_tables(select_stmt) & set(shared) if top_level else set()
        return tuple(
            criterion(table)
            for from_ in select_stmt.get_final_froms()
            for table in _owned_froms(from_, owned)
            if not (isinstance(table, Table) and table.name in skip)
        )

    if shape_key is None:
        shape = statement._generate_cache_key()
        shape_key = shape.key if shape is not None else None
    shape_key = (shape_key, owned) if shape_key is not None else None
    if shape_key is not None and shape_key in _shapes_needing_no_rewrite:
        return statement
    needed = (
        criteria_for(element, top_level=element is statement)
        for element in visitors.iterate(statement)
    )
    if not any(needed):
        # The same shape (same structure, other values) needs no rewrite either: skip the
        # traversal next time. Only "nothing to do" is cached; rewrites are always recomputed.
        if shape_key is not None:
            if len(_shapes_needing_no_rewrite) > SHAPE_CACHE_SIZE:
                _shapes_needing_no_rewrite.clear()
            _shapes_needing_no_rewrite.add(shape_key)
        return statement

    visited = []

    # Loader options are not clause elements that can be cloned: leave them as they are.
    options = {
        opt for el in visitors.iterate(statement) for opt in getattr(el, "_with_options", ())
    }
    rewritten = visitors.cloned_traverse(
        statement, {"stop_on": options}, {"select": visited.append}
    )
    # Criteria are added after the traversal, when the clone of the statement itself is known.
    for select_stmt in visited:
        select_stmt._where_criteria += criteria_for(select_stmt, select_stmt is rewritten)
    return rewritten


@functools.lru_cache(maxsize=1024)
def _owned_option(allowed_ids: tuple):
    # The tuple is a parameter here, outside the lambda: SQLAlchemy caches the lambda per class
    # and turns closure variables into bound parameters, so each execution gets its tenants.
    return with_loader_criteria(
        TenantOwned, lambda cls: cls.tenant_id.in_(allowed_ids), include_aliases=True
    )


@functools.lru_cache(maxsize=4096)
def _shared_option(cls, allowed_ids: tuple, counting: bool):
    # A plain expression per class (not a lambda, whose per-class cache would freeze the
    # subqueries); clause elements are immutable, so one is built per tenants and form.
    return with_loader_criteria(
        cls, cls.visibility(cls, allowed_ids, counting), include_aliases=True
    )


_joined_targets_cache: dict[str, frozenset[str]] = {}


def _joined_targets(table_name: str) -> frozenset[str]:
    """Tables a mapped class on ``table_name`` loads by joined eager loading (lazy="joined"),
    which never appear in the statement before it compiles."""
    cached = _joined_targets_cache.get(table_name)
    if cached is None:
        from sqlalchemy import inspect

        targets = set()
        for cls in [*_all_subclasses(TenantOwned), *_all_subclasses(SharedRecord)]:
            mapper = inspect(cls, raiseerr=False)
            if mapper is None or mapper.local_table.name != table_name:
                continue
            for rel in mapper.relationships:
                if rel.lazy == "joined" and isinstance(rel.mapper.local_table, Table):
                    targets.add(rel.mapper.local_table.name)
        cached = _joined_targets_cache[table_name] = frozenset(targets)
    return cached


def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update:
        _check_written_tenant(state)
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = _current_scope.get()
    if scope is None:
        guarded = _tenant_owned_tables() | frozenset(_shared_tables())
        touched = _statement_tables(state.statement) & guarded
        if touched:
            raise TenantScopeError(
                f"no tenant scope is set for a statement on {', '.join(sorted(touched))}"
            )
        return
    if scope.is_wide:
        sessions = _wide_sessions.get()
        if sessions is not None:
            sessions.add(state.session)
        return
    allowed_ids = tuple(sorted(scope.tenant_ids))
    # A column load refreshes an object the code already holds (loaded under some scope); like
    # with_loader_criteria, leave it alone rather than turn a held object into a "deleted" one.
    counting = state.is_select and _is_counting(state.statement)
    shape = state.statement._generate_cache_key()
    shape_key = shape.key if shape is not None else None
    # The tables this statement reads, directly or by a joined eager load, before any rewrite.
    tables = _tables_read(state.statement, shape_key)
    if state.is_select and not state.is_column_load:
        state.statement = _filter_core_selects(
            state.statement, scope, allowed_ids, counting, shape_key
        )
    options = []
    if tables & _tenant_owned_tables():
        options.append(_owned_option(allowed_ids))
    # Shared records: only for the classes this statement reads (the option objects are built
    # once per tenants and form, then reused).
    for name, cls in _shared_tables().items():
        if name not in tables or not _needs_visibility(cls, scope):
            continue
        if _pinned_to_scope(state.statement, cls, scope):
            continue
        options.append(_shared_option(cls, allowed_ids, counting))
    if options:
        state.statement = state.statement.options(*options)


_tables_by_shape: dict = {}


def _tables_read(statement, shape_key) -> frozenset[str]:
    """The table names a statement reads, with the targets of joined eager loads; every table
    that could be guarded when the statement carries loader options (joinedload() and the like
    load classes that appear nowhere else). Cached per statement shape."""
    tables = _tables_by_shape.get(shape_key) if shape_key is not None else None
    if tables is None:
        if getattr(statement, "_with_options", ()):
            tables = _tenant_owned_tables() | frozenset(_shared_tables())
        else:
            names = _statement_tables(statement)
            tables = frozenset(names | {t for name in names for t in _joined_targets(name)})
        if shape_key is not None:
            if len(_tables_by_shape) > SHAPE_CACHE_SIZE:
                _tables_by_shape.clear()
            _tables_by_shape[shape_key] = tables
    return tables


def _pinned_to_scope(statement, cls, scope: Scope) -> bool:
    """Whether ``statement`` reads only ``cls``'s table, once, with no subquery or alias anywhere,
    and its WHERE (a conjunction) holds ``column == tenant`` for one of ``cls``'s
    ``sighted_tenant_columns`` and a tenant of the scope: then every row it can read is one the
    scope sees, and the visibility condition would only cost the database a row lookup.
    Anything less plain keeps the condition."""
    if not cls.sighted_tenant_columns or not isinstance(statement, Select):
        return False
    table_name = cls.__table__.name
    if statement._setup_joins:  # .join(): its targets are not child elements
        return False
    # (Not get_final_froms(): on an ORM select it builds the whole compile state.)
    for element in visitors.iterate(statement):
        if element is not statement and isinstance(element, (Select, Alias, Join)):
            return False
        if isinstance(element, Table) and element.name != table_name:
            return False
    return any(_pins_tenant(c, table_name, cls, scope) for c in statement._where_criteria)


def _pins_tenant(criterion, table_name: str, cls, scope: Scope) -> bool:
    if not isinstance(criterion, BinaryExpression) or criterion.operator is not operators.eq:
        return False
    column, value = criterion.left, criterion.right
    return (
        isinstance(column, Column)
        and isinstance(column.table, Table)
        and column.table.name == table_name
        and column.name in cls.sighted_tenant_columns
        and isinstance(value, BindParameter)
        and value.callable is None
        and scope.allows(value.value)
    )


def _check_written_tenant(state: ORMExecuteState) -> None:
    """ORM-enabled INSERT and UPDATE statements never reach before_flush: check the tenant_id
    values they write against the scope."""
    statement = state.statement
    table = getattr(statement, "table", None)
    if not isinstance(table, Table) or table.name not in _tenant_owned_tables():
        return
    scope = require_scope()
    if scope.is_wide:
        return

    def tenant_values(mapping):
        return [v for k, v in mapping.items() if getattr(k, "key", k) == "tenant_id"]

    values = tenant_values(statement._values or {})
    for rows in statement._multi_values or ():
        for row in rows:
            if isinstance(row, dict):
                values += tenant_values(row)
    params = state.parameters
    for row in params if isinstance(params, list) else [params] if params else []:
        values += tenant_values(row)
    if state.is_insert and not values:
        raise TenantScopeError("a bulk INSERT of tenant-owned rows must name their tenant")
    for value in values:
        value = getattr(value, "value", value)  # .values() wraps literals in bind parameters
        if not isinstance(value, int) or not scope.allows(value):
            raise TenantScopeError(f"refusing to write tenant_id {value!r} in scope {scope.name}")


def _check_shared_flush(session: Session) -> None:
    """New shared rows must be written by a tenant in scope; their writer tenant never moves."""
    from sqlalchemy import inspect

    pending = [obj for obj in session.new if isinstance(obj, SharedRecord)]
    changed = [obj for obj in session.dirty if isinstance(obj, SharedRecord)]
    if not (pending or changed):
        return
    scope = require_scope()
    for obj in pending:
        column = obj.writer_tenant_column
        if column is None:
            continue
        value = getattr(obj, column)
        if value is None and scope.home_tenant_id is not None:
            setattr(obj, column, scope.home_tenant_id)
        elif not scope.allows(value):
            raise TenantScopeError(
                f"refusing to insert {type(obj).__name__} for tenant {value} in scope {scope.name}"
            )
    if scope.is_wide:
        return
    for obj in changed:
        column = obj.writer_tenant_column
        if column is not None and inspect(obj).attrs[column].history.deleted:
            raise TenantScopeError(f"refusing to move {type(obj).__name__} to another tenant")


def _check_flush(session: Session, flush_context, instances) -> None:
    _check_shared_flush(session)
    pending = [obj for obj in session.new if isinstance(obj, TenantOwned)]
    changed = [obj for obj in session.dirty if isinstance(obj, TenantOwned)]
    deleted = [obj for obj in session.deleted if isinstance(obj, TenantOwned)]
    if not (pending or changed or deleted):
        return
    scope = require_scope()
    for obj in pending:
        _assign_or_check_tenant(obj, scope)
    for obj in changed + deleted:
        for tenant_id in _tenants_touched(obj):
            if not scope.allows(tenant_id):
                raise TenantScopeError(
                    f"refusing to change {type(obj).__name__} of tenant {tenant_id} "
                    f"in scope {scope.name}"
                )


def _tenant_id_of(obj) -> int | None:
    tenant = getattr(obj, "tenant", None)
    if obj.tenant_id is None and tenant is not None:
        return tenant.id
    return obj.tenant_id


def _assign_or_check_tenant(obj, scope: Scope) -> None:
    tenant_id = _tenant_id_of(obj)
    if tenant_id is None:
        if scope.is_wide and obj.tenant_optional:
            return
        if scope.home_tenant_id is None:
            raise TenantScopeError(
                f"cannot insert {type(obj).__name__} without a tenant in scope {scope.name}"
            )
        obj.tenant_id = scope.home_tenant_id
        return
    if not scope.allows(tenant_id):
        raise TenantScopeError(
            f"refusing to insert {type(obj).__name__} for tenant {tenant_id} in scope {scope.name}"
        )


def _tenants_touched(obj) -> set[int | None]:
    """Every tenant a change to a stored row involves: its tenant_id before and after and, when
    the relationship was reassigned (tenant_id follows it only during the flush), the tenants
    on both sides of that."""
    from sqlalchemy import inspect

    state = inspect(obj)
    ids = {obj.tenant_id, *(state.attrs.tenant_id.history.deleted or ())}
    if "tenant" in state.mapper.relationships:
        history = state.attrs.tenant.history
        related = (*(history.added or ()), *(history.deleted or ()))
        ids.update(tenant.id for tenant in related if tenant is not None)
    return ids


class TenantSession(FlaskSQLAlchemySession):
    """The session class for the whole application: ``get`` re-checks the tenant."""

    def _get_impl(self, entity, ident, db_load_fn, **kwargs):
        # Session.get, Session.get_one, Session.merge and the legacy Query.get all end here.
        loaded = []

        def load_with_criteria(*args, **kw):
            loaded.append(True)  # a SELECT ran, through the scope's criteria
            return db_load_fn(*args, **kw)

        obj = super()._get_impl(entity, ident, load_with_criteria, **kwargs)
        if isinstance(obj, SharedRecord):
            return obj if loaded or self._shared_visible(obj) else None
        if obj is None or not isinstance(obj, TenantOwned):
            return obj
        # The identity map answers without SQL, so the criteria did not run: check here.
        scope = require_scope()
        if not scope.allows(obj.tenant_id):
            return None
        return obj

    def _shared_visible(self, obj) -> bool:
        """Ask the database, through the criteria, whether the current scope sees ``obj``."""
        from sqlalchemy import and_, inspect, select

        scope = require_scope()
        if not _needs_visibility(type(obj), scope):
            return True
        mapper = inspect(type(obj))
        identity = inspect(obj).identity
        # The mapped attributes, not the table's columns: an entity select, whose criteria are
        # the cached loader options.
        keys = [mapper.get_property_by_column(col).class_attribute for col in mapper.primary_key]
        condition = and_(*(key == v for key, v in zip(keys, identity, strict=True)))
        probe = select(*keys).where(condition).limit(1)
        return self.execute(probe).first() is not None


event.listen(TenantSession, "do_orm_execute", _add_tenant_criteria)
event.listen(TenantSession, "before_flush", _check_flush)
