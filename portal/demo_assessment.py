"""`flask demo seed`, part four: the assessment office at work on the demo year — every entry
the demo's landings, stages and late deadlines give, most of them decided by the assessment
office's assessor: approved, one late-reporting penalty waived (rejected with a reason), one
adjusted; a few left in the queue."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assessment import ledger
from portal.assessment.models import DECISION_KINDS, PROPOSED, CreditLedger
from portal.assessment.service import propose_all
from portal.audit.service import Actor
from portal.database import utcnow
from tenants.models import User
from tenants.scoping import acting_as, wider_scope

ASSESSOR = "kaohe.assessor"
WAIVER = "经核实，逾期系系统停电所致，免予扣分。"
ADJUSTMENT = "首次反馈仅逾期半天，按半数扣分。"
LEFT_PENDING = 2  # the queue is not empty after `make run`


def seed_demo_assessment(session: Session) -> dict[str, int]:
    """Propose what the demo gives; on the first run, decide most of it. Idempotent."""
    proposed = propose_all(session, utcnow())
    session.flush()
    with wider_scope("cli"):
        assessor = session.scalar(select(User).where(User.login_name == ASSESSOR))
        assessor.tenant  # noqa: B018 - load while the wide scope is open
        decided_before = session.scalar(
            select(CreditLedger.id).where(CreditLedger.kind.in_(DECISION_KINDS)).limit(1)
        )
        entries = session.scalars(
            select(CreditLedger).where(CreditLedger.kind == PROPOSED).order_by(CreditLedger.id)
        ).all()
    if decided_before is not None:
        return {"credit_entries": proposed, "credit_decisions": 0}
    with acting_as(assessor):
        decided = _decide(session, Actor.of(assessor, "127.0.0.1"), entries)
    # The first run: the landings' hooks proposed some entries before this function did.
    return {"credit_entries": len(entries), "credit_decisions": decided}


def _decide(session: Session, actor: Actor, entries) -> int:
    waived = adjusted = False
    decided = 0
    for entry in entries[: max(len(entries) - LEFT_PENDING, 0)]:
        if entry.rule == "late_report" and not waived:
            ledger.decide(session, actor, entry.id, "rejected", reason=WAIVER)
            waived = True
        elif entry.rule == "late_report" and not adjusted:
            half = (entry.points / 2).quantize(Decimal("0.1"))
            ledger.decide(session, actor, entry.id, "adjusted", points=half, reason=ADJUSTMENT)
            adjusted = True
        else:
            ledger.decide(session, actor, entry.id, "approved")
        decided += 1
    return decided
