"""Keeping the index equal to the database: drain the outbox, rebuild, check.

**Drain.** Under the index's writer lock (one writer across processes): read the oldest outbox
rows, build the current document of each lead or policy they name from the database, put (or
remove) them, commit the index, then delete exactly those outbox rows and commit the database.
The lock is taken *before* reading, so two drains never interleave an older document over a
newer one. A process that dies anywhere in between leaves its rows in the outbox (deleted only
after the index commit), and the next drain indexes them again — putting a document is
idempotent.

**Rebuild.** Every lead and policy, in batches, into one writer whose commit replaces the whole
index; outbox rows that existed when it started are then deleted (their changes are in what it
read).

**Check.** Counts and drift: documents missing from the index, documents the database no longer
has, and stale documents (fingerprint differs), plus rows still waiting in the outbox.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import delete, func, select
from whoosh.index import LockError

from portal.database import write_intent
from search.documents import KINDS, doc_id
from search.index import SearchIndex
from search.models import SearchOutbox
from tenants.scoping import wider_scope

DRAIN_BATCH = 500
# A request does not wait long for the writer: if another process holds it (a rebuild, another
# drain), the rows stay for that writer's next drain or `flask search sync`.
REQUEST_WRITER_TIMEOUT = 0.5


def drain(session, index: SearchIndex, *, timeout: float | None = None, limit: int = 0) -> int:
    """Index what the outbox holds; return how many outbox rows were done. ``limit`` caps the
    rounds of DRAIN_BATCH rows (0: until empty). Raises LockError when the writer stays busy."""
    done = rounds = 0
    while True:
        count = _drain_batch(session, index, timeout)
        done += count
        rounds += 1
        if count < DRAIN_BATCH or (limit and rounds >= limit):
            return done


def _drain_batch(session, index: SearchIndex, timeout: float | None) -> int:
    writer_args = {} if timeout is None else {"timeout": timeout}
    if not pending(session):
        return 0  # the common case: no writer lock, no index commit
    try:
        # Read in a read transaction (on SQLite it takes no write lock while indexing) that
        # starts after the writer lock is held, so it sees every commit up to then.
        session.rollback()
        with _intent(False), wider_scope("search"), index.writer(**writer_args) as writer:
            rows = session.execute(
                select(SearchOutbox.id, SearchOutbox.kind, SearchOutbox.object_id)
                .order_by(SearchOutbox.id)
                .limit(DRAIN_BATCH)
            ).all()
            if not rows:  # another drain took them while this one waited for the writer
                writer.cancel()
                session.rollback()
                return 0
            _index_rows(session, index, writer, rows)
            session.rollback()
        # The index has committed; only now do the rows go.
        with _intent(True), wider_scope("search"):
            session.execute(delete(SearchOutbox).where(SearchOutbox.id.in_([r.id for r in rows])))
            session.commit()
        return len(rows)
    except BaseException:
        session.rollback()
        raise


@contextlib.contextmanager
def _intent(writes: bool):
    token = write_intent.set(writes)
    try:
        yield
    finally:
        write_intent.reset(token)


def _index_rows(session, index: SearchIndex, writer, rows) -> None:
    by_kind: dict[str, set[int]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, set()).add(row.object_id)
    for kind, ids in by_kind.items():
        known = KINDS.get(kind)
        if known is None:
            continue  # a kind this version does not index: the row is dropped
        for object_id, document in known.build(session, ids).items():
            if document is None:
                index.remove(writer, doc_id(kind, object_id))
            else:
                index.put(writer, document)


def drain_quietly(session, index: SearchIndex) -> int:
    """The request's drain: never raises for a busy writer (the rows wait for the next one)."""
    try:
        return drain(session, index, timeout=REQUEST_WRITER_TIMEOUT, limit=1)
    except LockError:
        return 0


def pending(session) -> int:
    """Outbox rows waiting, as the session's current transaction sees them."""
    with wider_scope("search"):
        return session.scalar(select(func.count(SearchOutbox.id))) or 0


def rebuild(session, index: SearchIndex, progress: Callable[[int], None] | None = None) -> int:
    """Re-index every lead and policy from the database; return the number of documents."""
    token = write_intent.set(True)
    total = 0
    try:
        session.rollback()
        with wider_scope("search"):
            high_water = session.scalar(select(func.max(SearchOutbox.id))) or 0
            with index.writer(replace_all=True) as writer:
                for kind in KINDS.values():
                    for batch in kind.all_ids(session):
                        for document in kind.build(session, batch).values():
                            if document is not None:
                                index.put(writer, document)
                                total += 1
                        if progress:
                            progress(len(batch))
            session.execute(delete(SearchOutbox).where(SearchOutbox.id <= high_water))
        session.commit()
        return total
    except BaseException:
        session.rollback()
        raise
    finally:
        write_intent.reset(token)


@dataclass
class CheckReport:
    database: int = 0
    indexed: int = 0
    waiting: int = 0
    missing: list[str] = field(default_factory=list)  # in the database, not in the index
    extra: list[str] = field(default_factory=list)  # in the index, not in the database
    stale: list[str] = field(default_factory=list)  # content differs

    @property
    def in_step(self) -> bool:
        return not (self.missing or self.extra or self.stale)


def check(session, index: SearchIndex) -> CheckReport:
    report = CheckReport()
    stored = index.stored()
    report.indexed = len(stored)
    expected: set[str] = set()
    with wider_scope("search"):
        report.waiting = session.scalar(select(func.count(SearchOutbox.id))) or 0
        for name, kind in KINDS.items():
            report.database += kind.count(session)
            for batch in kind.all_ids(session):
                for object_id, document in kind.build(session, batch).items():
                    key = doc_id(name, object_id)
                    expected.add(key)
                    if key not in stored:
                        report.missing.append(key)
                    elif document is not None and stored[key] != document["fingerprint"]:
                        report.stale.append(key)
    report.extra = sorted(key for key in stored if key not in expected)
    session.rollback()
    return report


def database_count(session) -> int:
    """Documents the database holds (every kind)."""
    with wider_scope("search"):
        return sum(kind.count(session) for kind in KINDS.values())
