"""Automatic tenant scoping for every ORM statement.

One place decides which tenants' rows a piece of code may touch: the *current scope*, held in a
context variable. Web requests set it from the signed-in user; code that legitimately needs more
(city oversight, assessors, CLI jobs, the sign-in lookup itself) opens a *named* wider scope.

The guard works on three paths:

* ``do_orm_execute``: every SELECT, UPDATE and DELETE run through a session gets a
  ``with_loader_criteria`` on each tenant-owned model, including joins, aliases, relationship
  loads and ORM-enabled bulk statements. If no scope is set and the statement touches a
  tenant-owned table, it raises instead of returning everything.
* ``TenantSession.get``: an object already in the identity map is returned without SQL, so the
  criteria never run; the override re-checks the object's tenant.
* ``before_flush``: inserts get the scope's tenant or are refused, and no flush may write or delete
  a row of a tenant outside the scope.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass

from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession
from sqlalchemy import ForeignKey, event
from sqlalchemy.orm import (
    Mapped,
    ORMExecuteState,
    Session,
    declared_attr,
    mapped_column,
    with_loader_criteria,
)
from sqlalchemy.sql import visitors
from sqlalchemy.sql.schema import Table

# The named wider scopes. Opening one is a deliberate act that shows up in code review and grep.
WIDE_SCOPES = frozenset(
    {
        "authentication",  # resolve a login name or a session token to its user
        "city_oversight",  # the city tenant's admins and heads looking across tenants
        "assessors",  # the assessment office reviewing credit across tenants
        "audit_chain",  # reading the previous audit hash, whatever tenant wrote it
        "cli",  # command-line jobs: migrations, demo seed, verification
        "system",  # background maintenance with no acting user
    }
)


class TenantScopeError(RuntimeError):
    """Raised when code touches tenant-owned rows without a scope, or outside its scope."""


@dataclass(frozen=True)
class Scope:
    """Which tenants' rows the current code may see and change.

    ``tenant_ids`` is ``None`` for a wide scope (every tenant). ``home_tenant_id`` is the tenant
    new rows are assigned to when the code does not say.
    """

    name: str
    tenant_ids: frozenset[int] | None
    home_tenant_id: int | None = None

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


@contextlib.contextmanager
def _scope(scope: Scope) -> Iterator[Scope]:
    token = _current_scope.set(scope)
    try:
        yield scope
    finally:
        _current_scope.reset(token)


def tenant_scope(tenant_id: int) -> contextlib.AbstractContextManager[Scope]:
    """Restrict to one tenant: what a signed-in user of that tenant may touch."""
    return _scope(Scope("tenant", frozenset({tenant_id}), tenant_id))


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


def _tenant_owned_tables() -> set[str]:
    return {
        mapper.local_table.name
        for mapper in _tenant_owned_mappers()
        if isinstance(mapper.local_table, Table)
    }


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
    return names


def _add_tenant_criteria(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    scope = _current_scope.get()
    if scope is None:
        touched = _statement_tables(state.statement) & _tenant_owned_tables()
        if touched:
            raise TenantScopeError(
                f"no tenant scope is set for a statement on {', '.join(sorted(touched))}"
            )
        return
    if scope.is_wide:
        return
    # The tuple is read here, outside the lambda: SQLAlchemy caches the lambda per class and
    # turns closure variables into bound parameters, so each execution gets its own tenants.
    allowed_ids = tuple(sorted(scope.tenant_ids))
    state.statement = state.statement.options(
        with_loader_criteria(
            TenantOwned,
            lambda cls: cls.tenant_id.in_(allowed_ids),
            include_aliases=True,
        )
    )


def _check_flush(session: Session, flush_context, instances) -> None:
    pending = [obj for obj in session.new if isinstance(obj, TenantOwned)]
    changed = [obj for obj in session.dirty if isinstance(obj, TenantOwned)]
    deleted = [obj for obj in session.deleted if isinstance(obj, TenantOwned)]
    if not (pending or changed or deleted):
        return
    scope = require_scope()
    for obj in pending:
        _assign_or_check_tenant(obj, scope)
    for obj in changed + deleted:
        if not scope.allows(_tenant_id_of(obj)):
            raise TenantScopeError(
                f"refusing to change {type(obj).__name__} of tenant {_tenant_id_of(obj)} "
                f"in scope {scope.name}"
            )
        _refuse_tenant_move(obj, scope)


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


def _refuse_tenant_move(obj, scope: Scope) -> None:
    from sqlalchemy import inspect

    history = inspect(obj).attrs.tenant_id.history
    for old_id in history.deleted or ():
        if old_id is not None and not scope.allows(old_id):
            raise TenantScopeError("refusing to move a row out of a tenant outside the scope")


class TenantSession(FlaskSQLAlchemySession):
    """The session class for the whole application: ``get`` re-checks the tenant."""

    def get(self, entity, ident, **kwargs):
        obj = super().get(entity, ident, **kwargs)
        if obj is None or not isinstance(obj, TenantOwned):
            return obj
        # The identity map answers without SQL, so the criteria did not run: check here.
        scope = require_scope()
        if not scope.allows(obj.tenant_id):
            return None
        return obj


event.listen(TenantSession, "do_orm_execute", _add_tenant_criteria)
event.listen(TenantSession, "before_flush", _check_flush)
