"""`flask demo seed`, part four: the assessment office at work on the demo year — every entry
the demo's landings, stages and late deadlines give, most of them decided by the assessment
office's assessor: approved, one late-reporting penalty waived (rejected with a reason), one
adjusted; a few left in the queue. The year is then published (公示) and three tenants appeal:
one appeal upheld (a penalty lifted), one dismissed, one still waiting for the assessor."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.assessment import appeals, ledger
from portal.assessment.models import (
    ADJUSTED,
    APPEAL_DISMISSED,
    APPEAL_UPHELD,
    APPROVED,
    DECISION_KINDS,
    PROPOSED,
    CreditLedger,
)
from portal.assessment.service import propose_all
from portal.audit.service import Actor
from portal.database import utcnow
from tenants.models import User
from tenants.scoping import acting_as, wider_scope

ASSESSOR = "kaohe.assessor"
WAIVER = "经核实，逾期系系统停电所致，免予扣分。"
ADJUSTMENT = "首次反馈仅逾期半天，按半数扣分。"
LEFT_PENDING = 2  # the queue is not empty after `make run`
APPEAL_PERIOD = 5  # working days
PENALTY_APPEAL = "该推送签收当日即电话联系客商并登记，系统签收时间系补录，请予复核。"
PENALTY_ANSWER = "经核对通话记录，签收未逾期，撤销扣分。"
LANDING_APPEAL = "项目实际签约额高于计划投资，请按签约额计算落地积分。"
LANDING_ANSWER = "计分规则按登记的计划投资额分档，维持原积分。"
OPEN_APPEAL = "首次反馈逾期系客商更换对接人所致，已及时报告，请免予扣分。"


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
        return {"credit_entries": proposed, "credit_decisions": 0, "credit_appeals": 0}
    actor = Actor.of(assessor, "127.0.0.1")
    with acting_as(assessor):
        decided = _decide(session, actor, entries)
        for year in sorted({entry.year for entry in entries}):
            appeals.publish(session, actor, year, APPEAL_PERIOD)
    appealed = _appeal(session, assessor, entries)
    # The first run: the landings' hooks proposed some entries before this function did.
    return {
        "credit_entries": len(entries),
        "credit_decisions": decided,
        "credit_appeals": appealed,
    }


def _appeal(session: Session, assessor: User, entries) -> int:
    """Three tenants appeal a decided entry each; the assessor upholds one, dismisses one."""
    with wider_scope("cli"):
        states = ledger.current_state(session, [entry.id for entry in entries])
    by_state = {}
    for entry in entries:
        state = states[entry.id]
        if state.pending:
            continue
        if state.state == APPROVED and entry.points < 0:
            by_state.setdefault("penalty", entry)
        elif state.state == APPROVED and entry.rule.startswith("landing"):
            by_state.setdefault("landing", entry)
        elif state.state == ADJUSTED:
            by_state.setdefault("adjusted", entry)
    plan = [
        ("penalty", PENALTY_APPEAL, APPEAL_UPHELD, PENALTY_ANSWER),
        ("landing", LANDING_APPEAL, APPEAL_DISMISSED, LANDING_ANSWER),
        ("adjusted", OPEN_APPEAL, None, ""),
    ]
    filed = 0
    for key, text, outcome, answer in plan:
        entry = by_state.get(key)
        officer = entry and _officer_of(session, entry.tenant_id)
        if officer is None:
            continue
        with acting_as(officer):
            appeals.file_appeal(session, Actor.of(officer, "127.0.0.1"), entry.id, text)
        filed += 1
        if outcome is not None:
            points = "0" if outcome == APPEAL_UPHELD else None
            with acting_as(assessor):
                appeals.answer_appeal(
                    session,
                    Actor.of(assessor, "127.0.0.1"),
                    entry.id,
                    outcome,
                    points=points,
                    reason=answer,
                )
    return filed


def _officer_of(session: Session, tenant_id: int) -> User | None:
    with wider_scope("cli"):
        for user in session.scalars(
            select(User).where(User.tenant_id == tenant_id, User.active.is_(True)).order_by(User.id)
        ):
            if user.has_role("officer"):
                user.tenant  # noqa: B018 - load while the wide scope is open
                return user
    return None


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
