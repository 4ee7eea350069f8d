"""Switching an ``active`` flag so that concurrent presses have exactly one winner."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session


def flip_active(session: Session, obj, active: bool) -> bool:
    """Set ``obj.active`` only if it still holds the opposite value. Returns False when another
    request got there first (the caller tells its user why); refreshes ``obj`` on success."""
    model = type(obj)
    changed = session.execute(
        update(model)
        .where(model.id == obj.id, model.active.is_(not active))
        .values(active=active)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed == 1:
        session.refresh(obj)
    return changed == 1
