"""Helpers for the assessment tests: the ledger's clock, and the way from review to a locked
year (公示, then the appeal window running out)."""

from __future__ import annotations

from portal.assessment import appeals
from portal.extensions import db
from tenants.scoping import wider_scope
from tests.referral_helpers import Clock, acting, shanghai

# Every module of the assessment that reads the time.
CLOCKED_MODULES = (
    "portal.assessment.ledger",
    "portal.assessment.appeals",
    "portal.assessment.views",
    "portal.assessment.appeal_views",
)
# A Monday in November 2026, 10:00 in Shanghai: no holiday within two weeks of it.
START = shanghai(2026, 11, 2, 10)


class LedgerClock(Clock):
    """The assessment's clock: every ledger row is stamped with it, appeal windows read it."""

    MODULES = CLOCKED_MODULES

    def __init__(self, monkeypatch, start=START):
        super().__init__(monkeypatch, start)


def run_as(app, world, login: str, call, *args, **kwargs):
    """``call(session, actor, *args)`` as ``login``; committed, or rolled back and re-raised."""
    with app.app_context(), acting(world, login) as actor:
        try:
            result = call(db.session, actor, *args, **kwargs)
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        return getattr(result, "id", result)


def publish(app, world, year: int, working_days=5, login="office.assessor"):
    return run_as(app, world, login, appeals.publish, year, working_days)


def lock_after_appeals(app, world, clock: LedgerClock, year: int, login="office.assessor"):
    """Publish the year if it is not yet, let the appeal window (1 working day) run out, and
    lock it; the lock row's id."""
    with app.app_context(), wider_scope("cli"):
        published = appeals.publication(db.session, year) is not None
    if not published:
        publish(app, world, year, working_days=1, login=login)
    clock.advance(days=14)
    return run_as(app, world, login, appeals.lock_year, year)
