"""Writing the search outbox in the same transaction as the change (search issue, point 4).

A flush that adds, changes or deletes a lead, changes who may see one (``lead_access``) or adds a
line to its timeline (every service that updates a lead with a conditional UPDATE also writes a
timeline line), or adds or changes a policy, inserts one outbox row per document into the same
transaction. (A conditional UPDATE the flush does not see queues its document with
:func:`enqueue`.) A rollback takes the
rows with it; a commit makes them visible to the next drain. Each lead is queued once per
transaction.
"""

from __future__ import annotations

from sqlalchemy import event, insert

from search.models import SearchOutbox

ENQUEUED = "search_enqueued"  # session.info: keys queued in the current transaction
COMMITTED = "search_committed"  # session.info: a transaction with outbox rows committed


def _changed_keys(session) -> set[tuple[str, int]]:
    from portal.leads.models import Lead, LeadAccess, LeadEvent
    from portal.policies.models import Policy

    keys: set[tuple[str, int]] = set()
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Lead) and obj.id is not None:
            keys.add(("lead", obj.id))
        elif isinstance(obj, Policy) and obj.id is not None:
            keys.add(("policy", obj.id))
        elif isinstance(obj, (LeadAccess, LeadEvent)) and obj.lead_id is not None:
            keys.add(("lead", obj.lead_id))
    return keys


def enqueue(session, kind: str, object_ids) -> None:
    """Queue documents by hand (for changes the flush does not see)."""
    _write(session, {(kind, int(object_id)) for object_id in object_ids})


def _write(session, keys: set[tuple[str, int]]) -> None:
    queued = session.info.setdefault(ENQUEUED, set())
    fresh = sorted(keys - queued)
    if not fresh:
        return
    session.connection().execute(
        insert(SearchOutbox.__table__),
        [{"kind": kind, "object_id": object_id} for kind, object_id in fresh],
    )
    queued.update(fresh)


def _after_flush(session, flush_context) -> None:
    keys = _changed_keys(session)
    if keys:
        _write(session, keys)


def _after_commit(session) -> None:
    if session.info.pop(ENQUEUED, None):
        session.info[COMMITTED] = True


def _after_rollback(session) -> None:
    session.info.pop(ENQUEUED, None)


def install(session_class) -> None:
    """Listen on ``session_class`` (once, however many apps are created)."""
    if event.contains(session_class, "after_flush", _after_flush):
        return
    event.listen(session_class, "after_flush", _after_flush)
    event.listen(session_class, "after_commit", _after_commit)
    event.listen(session_class, "after_soft_rollback", _after_soft_rollback)


def _after_soft_rollback(session, previous_transaction) -> None:
    _after_rollback(session)
