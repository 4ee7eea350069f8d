"""The referral workflow of DESIGN.md §4 as plain functions over a session and the acting officer.

Every transition is a conditional UPDATE on the referral's state (``WHERE state IN expected``):
of two people acting at once exactly one changes the row; the other gets a ReferralError that says
what happened instead. Each successful transition writes one audit event and one timeline line in
the same transaction. A move past a deadline also ends a pending extension request of that
deadline (state ``void``), told in the move's own audit event and timeline line.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.orm import Session

from portal.audit import service as audit
from portal.database import utcnow
from portal.ids import parse_id
from portal.leads import codes
from portal.leads.models import Lead, LeadAccess, LeadEvent
from portal.leads.service import add_event
from portal.notifications import service as notify
from portal.referrals.models import CitySetting, ExtensionRequest, Feedback, Referral
from portal.validation import InputError, parse_form_date, whole_number
from portal.workdays.calendar import (
    SHANGHAI,
    WorkCalendar,
    deadline_day,
    end_of_local_day,
    local_date,
)
from portal.workdays.service import load_calendar
from tenants.models import Tenant
from tenants.scoping import wider_scope

DEFAULT_SIGN_DAYS = 1
DEFAULT_REPORT_DAYS = 5
MAX_DEADLINE_DAYS = 60
MAX_EXTENSION_DAYS = 90
# DESIGN.md §4: after the first report, a progress entry is expected every two weeks until the
# referral is closed. Calendar days: a fortnight is how officers plan their visits.
PROGRESS_INTERVAL_DAYS = 14
RECEIVER_KINDS = ("county", "park", "department", "city")


class ReferralError(InputError):
    """A refused referral action: bad input, or the state moved on under the actor."""


# ---- settings --------------------------------------------------------------------------------


def default_days(session: Session) -> tuple[int, int]:
    rows = dict(session.execute(select(CitySetting.key, CitySetting.value)).all())
    try:
        sign = int(rows.get("referral.sign_days", DEFAULT_SIGN_DAYS))
        report = int(rows.get("referral.report_days", DEFAULT_REPORT_DAYS))
    except ValueError:
        return DEFAULT_SIGN_DAYS, DEFAULT_REPORT_DAYS
    return sign, report


def _parse_days(
    value, label: str, field: str, errors: dict, default: int, *, required: bool = False
) -> int:
    """Working days from a form; blank means ``default`` unless the field is ``required``."""
    raw = str(value if value is not None else "").strip()
    if not raw:
        if required:
            errors[field] = f"请填写{label}（1–{MAX_DEADLINE_DAYS} 个工作日）。"
        return default
    days = whole_number(raw)
    if days is None or not 1 <= days <= MAX_DEADLINE_DAYS:
        errors[field] = f"{label}须为 1–{MAX_DEADLINE_DAYS} 个工作日。"
        return default
    return days


def set_default_days(session: Session, actor: audit.Actor, *, sign_days, report_days) -> bool:
    """Set the city's default deadlines; False when they were already these."""
    if not (actor.tenant_kind == "city" and actor.has_role("admin")):
        raise PermissionError("the city admin sets the deadline defaults")
    errors: dict[str, str] = {}
    old = default_days(session)
    # The defaults page shows both values: a field emptied there is a mistake, not "keep it".
    sign = _parse_days(sign_days, "签收时限", "sign_days", errors, old[0], required=True)
    report = _parse_days(report_days, "首次反馈时限", "report_days", errors, old[1], required=True)
    if not errors and report < sign:
        errors["report_days"] = "首次反馈时限不能短于签收时限。"
    if errors:
        raise ReferralError(errors)
    if (sign, report) == tuple(old):
        return False  # nothing to write, nothing to audit
    for key, value in (("referral.sign_days", sign), ("referral.report_days", report)):
        row = session.get(CitySetting, key)
        if row is None:
            session.add(CitySetting(key=key, value=str(value)))
        else:
            row.value = str(value)
    session.flush()
    audit.record(
        session,
        actor,
        "referral_defaults_changed",
        object_type="city_setting",
        object_id="referral",
        before={"sign_days": old[0], "report_days": old[1]},
        after={"sign_days": sign, "report_days": report},
    )
    return True


# ---- timeliness (pure) -------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeliness:
    """How a referral stands against its deadlines at ``now``."""

    sign_late: bool  # signed after the deadline, or still unsigned past it
    report_late: bool
    overdue_now: str | None  # "sign" / "report" while open and past that deadline
    overdue_days: int  # working days since the open deadline passed
    progress_late_days: int = 0  # calendar days the expected progress entry is late

    @property
    def progress_label(self) -> str:
        return f"进展更新已逾期 {self.progress_late_days} 天" if self.progress_late_days else ""

    @property
    def on_time(self) -> bool:
        return not (self.sign_late or self.report_late)

    @property
    def label(self) -> str:
        if self.overdue_now:
            what = "签收" if self.overdue_now == "sign" else "反馈"
            if self.overdue_days == 0:  # past the deadline, but no working day has begun since
                return f"{what}已逾期"
            return f"{what}逾期 {self.overdue_days} 个工作日"
        if self.sign_late and self.report_late:
            return "签收、反馈均超时"
        if self.sign_late:
            return "签收超时"
        if self.report_late:
            return "反馈超时"
        return "按时"


def open_deadline(referral: Referral) -> tuple[str, datetime] | None:
    """The deadline the receiver is working against now, if any."""
    if referral.state in ("sent", "return_requested"):
        return "sign", referral.sign_by
    if referral.state == "accepted" and referral.first_report_at is None:
        return "report", referral.report_by
    return None


def progress_due(referral: Referral) -> datetime | None:
    """When the next progress entry is expected: 24:00 of the fortnight's last day after the
    latest feedback, while the referral is reported and not closed."""
    if referral.state != "reported" or referral.last_feedback_at is None:
        return None
    return end_of_local_day(
        local_date(referral.last_feedback_at) + timedelta(PROGRESS_INTERVAL_DAYS)
    )


def progress_late_days(referral: Referral, now: datetime) -> int:
    """Calendar days since the expected progress entry fell due (0 when not late)."""
    due = progress_due(referral)
    if due is None or now <= due:
        return 0
    return (local_date(now) - deadline_day(due)).days


def urgeable_deadline(referral: Referral, now: datetime) -> tuple[str, datetime] | None:
    """What the sender may urge (催办) at ``now``: a passed open deadline, or a late progress
    entry."""
    deadline = open_deadline(referral)
    if deadline is not None and now > deadline[1]:
        return deadline
    due = progress_due(referral)
    if due is not None and now > due:
        return "progress", due
    return None


def timeliness(referral: Referral, now: datetime, calendar: WorkCalendar) -> Timeliness:
    sign_late = (
        referral.accepted_at > referral.sign_by
        if referral.accepted_at is not None
        else referral.state in ("sent", "return_requested") and now > referral.sign_by
    )
    if referral.first_report_at is not None:
        report_late = referral.first_report_at > referral.report_by
    elif referral.state in codes.OPEN_STATES:
        report_late = referral.state != "reported" and now > referral.report_by
    else:
        ended = referral.closed_at or now
        report_late = referral.state in ("landed", "not_landed") and ended > referral.report_by
    overdue_now, overdue_days = None, 0
    deadline = open_deadline(referral)
    if deadline is not None and now > deadline[1]:
        overdue_now = deadline[0]
        overdue_days = calendar.working_days_overdue(deadline[1], now)
    if referral.state in ("sent", "return_requested") and now > referral.report_by:
        report_late = True
    return Timeliness(
        sign_late, report_late, overdue_now, overdue_days, progress_late_days(referral, now)
    )


def overdue_ways(now: datetime):
    """The two ways a referral is overdue: (the conditions, the deadline it is late for) — still
    to sign past sign_by, or signed and owing the first report past report_by. Each is one range
    of a (side, state, …) index (migration 0005)."""
    return (
        (
            (Referral.state.in_(("sent", "return_requested")), Referral.sign_by < now),
            Referral.sign_by,
        ),
        (
            (
                Referral.state == "accepted",
                Referral.first_report_at.is_(None),
                Referral.report_by < now,
            ),
            Referral.report_by,
        ),
    )


def overdue_condition(now: datetime):
    """SQL: open referrals past the deadline they are working against."""
    return or_(*(and_(*conditions) for conditions, _ in overdue_ways(now)))


# ---- helpers ---------------------------------------------------------------------------------


def _require_handler(actor: audit.Actor) -> None:
    if not actor.has_role("officer", "head"):
        raise PermissionError("only officers and heads handle referrals")


def _require_receiver(actor: audit.Actor, referral: Referral) -> None:
    _require_handler(actor)
    if referral.to_tenant_id != actor.tenant_id:
        raise PermissionError("only the receiving tenant may do this")


def _require_sender(actor: audit.Actor, referral: Referral) -> None:
    _require_handler(actor)
    if referral.from_tenant_id != actor.tenant_id:
        raise PermissionError("only the sending tenant may do this")


def _state_refusal(referral: Referral) -> ReferralError:
    """The referral moved on (someone acted from a fresher page): say to what, and, from its
    timeline, who did what last and when, so the officer need not guess."""
    label = codes.REFERRAL_STATES.get(referral.state, referral.state)
    last = _last_action(Session.object_session(referral), referral)
    why = f"最近一次办理：{last}" if last else "可能刚被其他人处理"
    message = f"操作未完成：该推送当前为“{label}”状态（{why}），请刷新后查看。"
    return ReferralError({"state": message})


def _last_action(session: Session | None, referral: Referral) -> str | None:
    """The referral's latest timeline line as "time unit officer summary"."""
    event = _latest_event(session, referral) if session is not None else None
    if event is None:
        return None
    return f"{_local_time(event.occurred_at)} {_who(session, event)} {event.summary.rstrip('。')}"


def _latest_event(session: Session, referral: Referral, kinds=None) -> LeadEvent | None:
    """The referral's latest timeline line (of ``kinds``, when given)."""
    statement = select(LeadEvent).where(LeadEvent.referral_id == referral.id)
    if kinds is not None:
        statement = statement.where(LeadEvent.kind.in_(kinds))
    return session.scalars(statement.order_by(LeadEvent.id.desc()).limit(1)).first()


def _who(session: Session, event: LeadEvent) -> str:
    """A timeline line's actor as the page shows it: unit and officer."""
    unit = _tenant_name(session, event.tenant_id) if event.tenant_id else ""
    return " ".join(part for part in (unit, event.actor_name) if part)


def _transition(
    session: Session, referral: Referral, expected: tuple[str, ...], **values
) -> ExtensionRequest | None:
    """Move the referral only if its state is still one of ``expected``; else refuse.

    Returns the pending extension request this move made void (the deadline it asked to extend
    no longer applies), for the caller's timeline line and audit event; usually None."""
    if referral.state not in expected:
        raise _state_refusal(referral)
    changed = session.execute(
        update(Referral)
        .where(Referral.id == referral.id, Referral.state.in_(expected))
        .values(**values, version=Referral.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(referral)
    if changed != 1:
        raise _state_refusal(referral)
    return _void_stale_extension(session, referral)


DEADLINE_LABELS = {"sign": "签收", "report": "首次反馈"}


def _no_longer_applies(referral: Referral, which: str) -> str:
    """Why an extension of the ``which`` deadline has nothing left to extend, in a sentence."""
    if which == "sign" and referral.state in ("accepted", "reported"):
        return "接收单位已签收，无需再延长签收时限。"
    if which == "report" and referral.first_report_at is not None:
        return "接收单位已首次反馈，无需再延长首次反馈时限。"
    label = codes.REFERRAL_STATES.get(referral.state, referral.state)
    return f"推送已办结（{label}），无需再延期。"


def _void_stale_extension(session: Session, referral: Referral) -> ExtensionRequest | None:
    """A pending extension of a deadline the referral no longer works against ends with it:
    void, and noted with why. Conditional on ``pending``, like every decision: a head deciding
    it at the same moment either wins (and the referral's move then refuses) or finds it void."""
    deadline = open_deadline(referral)
    current = deadline[0] if deadline is not None else None
    stale = [ExtensionRequest.referral_id == referral.id, ExtensionRequest.state == "pending"]
    if current is not None:
        stale.append(ExtensionRequest.deadline != current)
    row = session.scalar(select(ExtensionRequest).where(*stale))
    if row is None:
        return None
    changed = session.execute(
        update(ExtensionRequest)
        .where(ExtensionRequest.id == row.id, ExtensionRequest.state == "pending")
        .values(
            state="void",
            decided_at=utcnow(),
            decision_note=_no_longer_applies(referral, row.deadline),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(row)
    return row if changed == 1 else None


def _grant_access(
    session: Session, lead_id: int, tenant_id: int, *, referrer=False, contact=False
) -> None:
    with wider_scope("lead_access"):
        row = session.get(LeadAccess, (tenant_id, lead_id))
        if row is None:
            row = LeadAccess(
                tenant_id=tenant_id, lead_id=lead_id, is_referrer=referrer, sees_contact=contact
            )
            session.add(row)
        else:
            row.is_referrer = row.is_referrer or referrer
            row.sees_contact = row.sees_contact or contact
        session.flush()


def _tenant_name(session: Session, tenant_id: int) -> str:
    tenant = session.get(Tenant, tenant_id)
    return tenant.name if tenant else str(tenant_id)


def _log(
    session,
    actor,
    referral: Referral,
    action: str,
    kind: str,
    summary: str,
    audited: bool = True,
    voided: ExtensionRequest | None = None,
    **audit_kw,
):
    """The action's one timeline line and one audit event. ``voided``: the pending extension
    request the action made void, told in both."""
    if voided is not None:
        summary += f"（待审批的{DEADLINE_LABELS[voided.deadline]}时限延期申请随之失效）"
        audit_kw["after"] = {**audit_kw.get("after", {}), "extension_voided": voided.id}
    add_event(session, actor, referral.lead_id, kind, summary, referral_id=referral.id)
    session.flush()
    if audited:
        audit.record(
            session, actor, action, object_type="referral", object_id=referral.id, **audit_kw
        )


def _referral_url(referral: Referral) -> str:
    return f"/referrals/{referral.id}"


def _notify(session, referral: Referral, tenant_id: int, kind: str, text: str, **kwargs) -> None:
    """Tell a tenant's handlers (or ``roles``) about this referral, linking to its page."""
    notify.notify_tenant(
        session,
        tenant_id,
        kind,
        text,
        referral_id=referral.id,
        lead_id=referral.lead_id,
        url=_referral_url(referral),
        **kwargs,
    )


def _text(value, limit: int, label: str, field: str, errors: dict, required=True) -> str:
    value = (value or "").strip() if isinstance(value, str) else ""
    if required and not value:
        errors[field] = f"请填写{label}。"
    elif len(value) > limit:
        errors[field] = f"{label}不能超过 {limit} 个字。"
    return value


# ---- sending ---------------------------------------------------------------------------------


def receiver_choices(session: Session, actor: audit.Actor) -> list[Tenant]:
    """Tenants a lead may be sent to: active, not the sender, not the assessment office."""
    return list(
        session.scalars(
            select(Tenant)
            .where(
                Tenant.active.is_(True),
                Tenant.kind.in_(RECEIVER_KINDS),
                Tenant.id != actor.tenant_id,
            )
            .order_by(Tenant.kind, Tenant.code)
        )
    )


def _receiver_ids(session: Session, lead_id: int, states) -> set[int]:
    """Tenants this lead was sent to whose referral is in one of ``states``, whoever sent it."""
    with wider_scope("lead_access"):
        return set(
            session.scalars(
                select(Referral.to_tenant_id).where(
                    Referral.lead_id == lead_id, Referral.state.in_(states)
                )
            )
        )


def returned_tenant_ids(session: Session, lead_id: int) -> set[int]:
    """Tenants whose return of this lead was granted: not offered it again without override."""
    return _receiver_ids(session, lead_id, ("returned",))


def busy_receiver_ids(session: Session, lead_id: int) -> set[int]:
    """Tenants already working this lead (an open referral to them, whoever sent it): a send or
    transfer to them is refused, so the forms offer them greyed out."""
    return _receiver_ids(session, lead_id, codes.OPEN_STATES)


def transfer_choices(session: Session, actor: audit.Actor, referral: Referral) -> list[Tenant]:
    """Where the receiver may pass the lead on: not back to its sender or the lead's owner."""
    return [
        t
        for t in receiver_choices(session, actor)
        if t.id not in (referral.lead.tenant_id, referral.from_tenant_id)
    ]


@dataclass(frozen=True)
class _Wording:
    """The refusals of a send in the words of the form that asked: 推送 or 转交."""

    none_chosen: str
    invalid: str
    busy: str  # {names}
    returned: str  # {names}
    note_label: str
    closed: str


SEND_WORDING = _Wording(
    none_chosen="请选择至少一个接收单位。",
    invalid="接收单位无效（不能推送给本单位、线索所属单位或已停用的单位）。",
    busy="{names}已有该线索的在办推送，不能重复推送。",
    returned="{names}此前已退回该线索。如确需再次推送，请勾选“仍然推送”并在说明中写明理由。",
    note_label="推送说明（落地条件、推荐理由）",
    closed="该线索已落地或已终止，不能再推送。",
)
TRANSFER_WORDING = _Wording(
    none_chosen="请选择转交给哪个单位。",
    invalid="转交单位无效（不能转交给本单位、线索所属单位或已停用的单位）。",
    busy="{names}已在办理该线索，不能再转交给该单位。",
    returned="{names}此前已退回该线索。如确需转交，请勾选“仍然转交”并在转交说明中写明理由。",
    note_label="转交说明（落地条件、推荐理由）",
    closed="该线索已落地或已终止，不能再转交。",
)


def _parse_targets(
    session: Session, actor, lead: Lead, raw_ids, override: bool, errors: dict, words: _Wording
):
    ids = []
    for raw in raw_ids or ():
        tenant_id = parse_id(raw)
        if tenant_id is not None and tenant_id not in ids:
            ids.append(tenant_id)
    if not ids:
        errors["to_tenant_ids"] = words.none_chosen
        return []
    allowed = {t.id: t for t in receiver_choices(session, actor)}
    if any(i not in allowed for i in ids) or lead.tenant_id in ids:
        errors["to_tenant_ids"] = words.invalid
        return []
    busy = busy_receiver_ids(session, lead.id) & set(ids)
    if busy:
        names = "、".join(allowed[i].name for i in busy)
        errors["to_tenant_ids"] = words.busy.format(names=names)
    returned = returned_tenant_ids(session, lead.id) & set(ids)
    if returned and not override:
        names = "、".join(allowed[i].name for i in returned)
        errors["override_returned"] = words.returned.format(names=names)
    return [allowed[i] for i in ids]


def send_lead(
    session: Session,
    actor: audit.Actor,
    lead: Lead,
    *,
    to_tenant_ids,
    note: str,
    sign_days=None,
    report_days=None,
    override_returned: bool = False,
    parent: Referral | None = None,
) -> list[Referral]:
    """Send a lead (its owner) or pass it onward (``parent``: the receiver's transfer)."""
    plan = _check_send(
        session,
        actor,
        lead,
        to_tenant_ids=to_tenant_ids,
        note=note,
        sign_days=sign_days,
        report_days=report_days,
        override_returned=override_returned,
        parent=parent,
    )
    return _send(session, actor, lead, plan, parent=parent, audited=True)


@dataclass(frozen=True)
class _SendPlan:
    targets: list
    note: str
    sign: int
    report: int
    override_returned: bool


def _check_send(
    session: Session,
    actor: audit.Actor,
    lead: Lead,
    *,
    to_tenant_ids,
    note: str,
    sign_days=None,
    report_days=None,
    override_returned: bool = False,
    parent: Referral | None = None,
) -> _SendPlan:
    """Every check of a send, before anything is written (a transfer checks first, then moves
    its own referral: a refused transfer must change nothing)."""
    _require_handler(actor)
    if parent is None and lead.tenant_id != actor.tenant_id:
        raise PermissionError("only the owner tenant sends its lead; receivers transfer")
    words = SEND_WORDING if parent is None else TRANSFER_WORDING
    if lead.host_tenant_id is not None or lead.stage == "terminated":
        raise ReferralError({"to_tenant_ids": words.closed})
    errors: dict[str, str] = {}
    targets = _parse_targets(session, actor, lead, to_tenant_ids, override_returned, errors, words)
    note = _text(note, 1000, words.note_label, "note", errors)
    default_sign, default_report = default_days(session)
    sign = _parse_days(sign_days, "签收时限", "sign_days", errors, default_sign)
    report = _parse_days(report_days, "首次反馈时限", "report_days", errors, default_report)
    if "sign_days" not in errors and "report_days" not in errors and report < sign:
        errors["report_days"] = "首次反馈时限不能短于签收时限。"
    if errors:
        raise ReferralError(errors)
    return _SendPlan(targets, note, sign, report, bool(override_returned))


def _send(
    session: Session,
    actor: audit.Actor,
    lead: Lead,
    plan: _SendPlan,
    *,
    parent: Referral | None,
    audited: bool,
) -> list[Referral]:
    """Write the checked send. ``audited=False``: the caller (transfer) writes the one audit
    event of the action itself; the timeline line is written here either way."""
    targets, note, sign, report = plan.targets, plan.note, plan.sign, plan.report
    override_returned = plan.override_returned
    calendar = load_calendar(session)
    now = utcnow()
    sign_by, report_by = calendar.deadline(now, sign), calendar.deadline(now, report)
    _grant_access(session, lead.id, actor.tenant_id, referrer=True)
    sent = []
    for target in targets:
        referral = Referral(
            lead_id=lead.id,
            parent_id=parent.id if parent else None,
            from_tenant_id=actor.tenant_id,
            to_tenant_id=target.id,
            sender_id=actor.user_id,
            note=note,
            state="sent",
            sent_at=now,
            sign_by=sign_by,
            report_by=report_by,
        )
        session.add(referral)
        _grant_access(session, lead.id, target.id)
        session.flush()
        verb = "转交" if parent else "推送"
        _log(
            session,
            actor,
            referral,
            "referral_sent",
            "transferred" if parent else "sent",
            f"{verb}给{target.name}：{note}",
            audited=audited,
            after={
                "lead_id": lead.id,
                "to_tenant_id": target.id,
                "parent_id": referral.parent_id,
                "sign_days": sign,
                "report_days": report,
                "override_returned": bool(override_returned),
            },
        )
        notify.notify_tenant(
            session,
            target.id,
            "referral_received",
            f"收到{verb}线索“{lead.title}”，请于 {_due_text(sign_by)} 前签收。",
            referral_id=referral.id,
            lead_id=lead.id,
            url=_referral_url(referral),
        )
        sent.append(referral)
    return sent


def _due_text(moment: datetime) -> str:
    return deadline_day(moment).strftime("%Y-%m-%d") + " 24:00"


# ---- the receiver's actions ------------------------------------------------------------------


def accept(session: Session, actor: audit.Actor, referral: Referral) -> None:
    _require_receiver(actor, referral)
    now = utcnow()
    voided = _transition(
        session,
        referral,
        ("sent",),
        state="accepted",
        accepted_at=now,
        accepted_by_id=actor.user_id,
    )
    _grant_access(session, referral.lead_id, actor.tenant_id, contact=True)
    late = now > referral.sign_by
    _log(
        session,
        actor,
        referral,
        "referral_accepted",
        "accepted",
        "签收" + ("（超过签收时限）" if late else ""),
        voided=voided,
        before={"state": "sent"},
        after={"state": "accepted", "late": late},
    )
    _notify(
        session,
        referral,
        referral.from_tenant_id,
        "referral_accepted",
        f"{_tenant_name(session, actor.tenant_id)}已签收线索“{referral.lead.title}”。",
    )


def request_return(
    session: Session, actor: audit.Actor, referral: Referral, *, reason: str, text: str
) -> None:
    _require_receiver(actor, referral)
    errors: dict[str, str] = {}
    if reason not in codes.RETURN_REASONS:
        errors["reason"] = "请选择退回原因。"
    text = _text(text, 500, "退回说明", "text", errors)
    if referral.state == "sent" and referral.return_refused:
        errors["reason"] = "退回申请已被拒绝过一次，不能再次申请；请签收办理。"
    elif referral.state == "sent" and utcnow() > referral.sign_by:
        errors["reason"] = "已过签收时限，不能再申请退回；请签收办理。"
    if errors:
        raise ReferralError(errors)
    _transition(
        session,
        referral,
        ("sent",),
        state="return_requested",
        return_reason=reason,
        return_text=text,
    )
    _log(
        session,
        actor,
        referral,
        "referral_return_requested",
        "return_requested",
        f"申请退回（{codes.RETURN_REASONS[reason]}）：{text}",
        before={"state": "sent"},
        after={"state": "return_requested", "reason": reason},
    )
    _notify(
        session,
        referral,
        referral.from_tenant_id,
        "return_requested",
        f"{_tenant_name(session, actor.tenant_id)}申请退回线索“{referral.lead.title}”，请审核。",
    )


def decide_return(
    session: Session, actor: audit.Actor, referral: Referral, *, agree: bool, note: str = ""
) -> None:
    """The sender side agrees (returned) or refuses (back to sent; final, deadlines stand)."""
    _require_sender(actor, referral)
    if referral.state != "return_requested":  # decided meanwhile: say so before the note
        raise _return_decided(session, referral)
    errors: dict[str, str] = {}
    note = _text(note, 500, "审核意见", "note", errors, required=not agree)
    if errors:
        raise ReferralError(errors)
    try:
        if agree:
            voided = _transition(
                session, referral, ("return_requested",), state="returned", closed_at=utcnow()
            )
            summary, kind = "同意退回" + (f"：{note}" if note else ""), "returned"
        else:
            voided = _transition(
                session, referral, ("return_requested",), state="sent", return_refused=True
            )
            summary, kind = f"不同意退回：{note}", "return_refused"
    except ReferralError:
        raise _return_decided(session, referral) from None
    _log(
        session,
        actor,
        referral,
        f"referral_{kind}",
        kind,
        summary,
        voided=voided,
        before={"state": "return_requested"},
        after={"state": referral.state, "note": note},
    )
    _notify(
        session,
        referral,
        referral.to_tenant_id,
        kind,
        f"线索“{referral.lead.title}”的退回申请{'已获同意' if agree else '未获同意，请签收办理'}。",
    )


def _return_decided(session: Session, referral: Referral) -> ReferralError:
    """The refusal of a return decision on a request no longer waiting: who decided it, how and
    when (from the referral's timeline, which the sender side sees), or what happened instead."""
    decision = _latest_event(session, referral, ("returned", "return_refused"))
    if decision is not None:
        how = "同意退回" if decision.kind == "returned" else "不同意退回"
        return ReferralError(
            {
                "state": f"该退回申请已由{_who(session, decision)}于 "
                f"{_local_time(decision.occurred_at)} 审核（{how}），无需再次审核。"
            }
        )
    if referral.state == "withdrawn":
        return ReferralError({"state": "该推送已撤回，退回申请无需再审核。"})
    return _state_refusal(referral)


def _local_time(moment: datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def withdraw(session: Session, actor: audit.Actor, referral: Referral, *, note: str = "") -> None:
    _require_sender(actor, referral)
    errors: dict[str, str] = {}
    note = _text(note, 500, "撤回说明", "note", errors, required=False)
    if errors:
        raise ReferralError(errors)
    previous = referral.state
    voided = _transition(
        session, referral, ("sent", "return_requested"), state="withdrawn", closed_at=utcnow()
    )
    _log(
        session,
        actor,
        referral,
        "referral_withdrawn",
        "withdrawn",
        "撤回推送" + (f"：{note}" if note else ""),
        voided=voided,
        before={"state": previous},
        after={"state": "withdrawn"},
    )
    _notify(
        session,
        referral,
        referral.to_tenant_id,
        "withdrawn",
        f"线索“{referral.lead.title}”的推送已被撤回，无需办理。"
        + (f"撤回说明：{note}" if note else ""),
    )


def transfer(
    session: Session,
    actor: audit.Actor,
    referral: Referral,
    *,
    to_tenant_id,
    note: str,
    sign_days=None,
    report_days=None,
    override_returned=False,
) -> Referral:
    """转交: the receiver's head passes the accepted lead to a third tenant; a child referral is
    sent and this tenant joins the chain as a referrer."""
    _require_receiver(actor, referral)
    if not actor.has_role("head"):
        raise ReferralError({"to_tenant_ids": "转交须由本单位分管领导操作。"})
    if referral.state not in ("accepted", "reported"):
        raise _state_refusal(referral)
    # Check the onward send completely before this referral moves: a refused transfer (bad
    # target, missing note, tenant that returned it) changes nothing.
    plan = _check_send(
        session,
        actor,
        referral.lead,
        to_tenant_ids=[to_tenant_id],
        note=note,
        sign_days=sign_days,
        report_days=report_days,
        override_returned=override_returned,
        parent=referral,
    )
    previous = referral.state
    voided = _transition(
        session, referral, ("accepted", "reported"), state="transferred", closed_at=utcnow()
    )
    # One action, one audit event: the child's send is part of the transfer's record.
    children = _send(session, actor, referral.lead, plan, parent=referral, audited=False)
    child = children[0]
    voided_after = {"extension_voided": voided.id} if voided is not None else {}
    audit.record(
        session,
        actor,
        "referral_transferred",
        object_type="referral",
        object_id=referral.id,
        before={"state": previous},
        after={
            "state": "transferred",
            "child_id": child.id,
            "to_tenant_id": child.to_tenant_id,
            "sign_days": plan.sign,
            "report_days": plan.report,
            "override_returned": plan.override_returned,
            **voided_after,
        },
    )
    return child


def add_feedback(session: Session, actor: audit.Actor, referral: Referral, form) -> Feedback:
    """对接反馈: any number of times while in hand; the first meets the report deadline."""
    _require_receiver(actor, referral)
    errors: dict[str, str] = {}
    day = parse_form_date(form.get("contacted_on"), "contacted_on", errors)
    today = local_date(utcnow())
    if day is not None and day > today:
        errors["contacted_on"] = "对接日期不能晚于今天。"
    elif day is not None and day < local_date(referral.sent_at):
        errors["contacted_on"] = "对接日期不能早于推送日期。"
    method = form.get("method", "")
    if method not in codes.FEEDBACK_METHODS:
        errors["method"] = "请选择对接方式。"
    summary = _text(form.get("summary"), 2000, "对接情况", "summary", errors)
    intention = form.get("intention", "")
    if intention not in codes.INTENTIONS:
        errors["intention"] = "请选择企业投资意向。"
    next_step = _text(form.get("next_step"), 500, "下一步计划", "next_step", errors, required=False)
    stage_after = form.get("stage_after", "")
    if stage_after not in codes.PRE_LANDING_STAGES:
        errors["stage_after"] = "请选择反馈后的项目阶段。"
    if referral.state not in ("accepted", "reported"):
        raise _state_refusal(referral)
    if errors:
        raise ReferralError(errors)
    now = utcnow()
    first = referral.first_report_at is None
    if first:
        voided = _transition(
            session,
            referral,
            ("accepted",),
            state="reported",
            first_report_at=now,
            last_feedback_at=now,
        )
    else:
        voided = _transition(session, referral, ("reported",), last_feedback_at=now)
    feedback = Feedback(
        referral_id=referral.id,
        tenant_id=actor.tenant_id,
        author_id=actor.user_id,
        contacted_on=day,
        method=method,
        summary=summary,
        intention=intention,
        next_step=next_step,
        stage_after=stage_after,
        created_at=now,
    )
    session.add(feedback)
    lead = referral.lead
    if lead.stage in codes.PRE_LANDING_STAGES and lead.stage != stage_after:
        session.execute(
            update(Lead)
            .where(Lead.id == lead.id, Lead.stage.in_(codes.PRE_LANDING_STAGES))
            .values(stage=stage_after, version=Lead.version + 1, updated_at=now)
            .execution_options(synchronize_session=False)
        )
        session.refresh(lead)
    late = first and now > referral.report_by
    summary_line = (
        f"{'首次' if first else ''}对接反馈（{codes.FEEDBACK_METHODS[method]}，"
        f"{codes.INTENTIONS[intention]}）：{summary}"
    )
    _log(
        session,
        actor,
        referral,
        "referral_feedback",
        "feedback",
        summary_line,
        voided=voided,
        after={"state": referral.state, "first": first, "late": late, "stage_after": stage_after},
    )
    if first:
        _notify(
            session,
            referral,
            referral.from_tenant_id,
            "feedback",
            f"{_tenant_name(session, actor.tenant_id)}已反馈线索“{lead.title}”的对接情况。",
        )
    return feedback


def _host_choices(session: Session, tenant_id: int) -> dict[int, Tenant]:
    """The receiving tenant itself or one of its children (a park under a county)."""
    rows = session.scalars(
        select(Tenant).where(
            or_(Tenant.id == tenant_id, Tenant.parent_id == tenant_id), Tenant.active.is_(True)
        )
    )
    return {t.id: t for t in rows}


def host_choices(session: Session, actor: audit.Actor) -> list[Tenant]:
    return sorted(
        _host_choices(session, actor.tenant_id).values(),
        key=lambda t: (t.id != actor.tenant_id, t.code),
    )


def close_landed(
    session: Session,
    actor: audit.Actor,
    referral: Referral,
    *,
    host_tenant_id,
    signed_on,
    signed_amount,
) -> None:
    """落地: signed in the receiver's area. Sets the lead's host tenant and 签约 stage."""
    _require_receiver(actor, referral)
    errors: dict[str, str] = {}
    hosts = _host_choices(session, actor.tenant_id)
    host_id = parse_id(host_tenant_id or actor.tenant_id)
    if host_id not in hosts:
        errors["host_tenant_id"] = "落地单位须为本单位或下属园区。"
    day = parse_form_date(signed_on, "signed_on", errors)
    if day is not None and day > local_date(utcnow()):
        errors["signed_on"] = "签约日期不能晚于今天。"
    elif day is not None and day < local_date(referral.sent_at) - timedelta(days=366):
        errors["signed_on"] = "签约日期与推送时间相差过远，请核对。"
    raw_amount = str(signed_amount or "").strip().replace(",", "")
    amount = whole_number(raw_amount)
    if amount is None or not 0 < amount <= 100_000_000:
        errors["signed_amount"] = "请填写签约金额（万元，正整数）。"
    if referral.state not in ("accepted", "reported"):
        raise _state_refusal(referral)
    if errors:
        raise ReferralError(errors)
    if referral.lead.host_tenant_id is not None or referral.lead.stage == "terminated":
        # Refuse before this referral moves; the conditional UPDATE below still settles a race.
        raise ReferralError({"state": "该线索已在其他单位落地或已终止，不能重复登记落地。"})
    previous = referral.state
    voided = _transition(
        session, referral, ("accepted", "reported"), state="landed", closed_at=utcnow()
    )
    landed = session.execute(
        update(Lead)
        .where(
            Lead.id == referral.lead_id, Lead.host_tenant_id.is_(None), Lead.stage != "terminated"
        )
        .values(
            host_tenant_id=host_id,
            stage="signed",
            signed_on=day,
            signed_amount=amount,
            version=Lead.version + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if landed != 1:
        raise ReferralError({"state": "该线索已在其他单位落地或已终止，不能重复登记落地。"})
    session.refresh(referral.lead)
    _grant_access(session, referral.lead_id, host_id, contact=True)
    _log(
        session,
        actor,
        referral,
        "referral_landed",
        "landed",
        f"落地{hosts[host_id].name}，{day.isoformat()} 签约，签约金额 {amount:,} 万元",
        voided=voided,
        before={"state": previous},
        after={
            "state": "landed",
            "host_tenant_id": host_id,
            "signed_on": day.isoformat(),
            "signed_amount": amount,
        },
    )
    _notify(
        session,
        referral,
        referral.from_tenant_id,
        "landed",
        f"线索“{referral.lead.title}”已在{hosts[host_id].name}落地。",
    )
    _propose_credit(session, referral.lead_id)


def _propose_credit(session: Session, lead_id: int) -> None:
    """Referral credit (考核加分) for a landing, proposed in the landing's transaction."""
    from portal.assessment.service import propose_for_lead

    propose_for_lead(session, lead_id)


def close_not_landed(
    session: Session, actor: audit.Actor, referral: Referral, *, reason: str, note: str = ""
) -> None:
    _require_receiver(actor, referral)
    errors: dict[str, str] = {}
    if reason not in codes.NOT_LANDED_REASONS:
        errors["reason"] = "请选择未落地原因。"
    note = _text(note, 500, "情况说明", "note", errors)
    if referral.state not in ("accepted", "reported"):
        raise _state_refusal(referral)
    if errors:
        raise ReferralError(errors)
    previous = referral.state
    voided = _transition(
        session,
        referral,
        ("accepted", "reported"),
        state="not_landed",
        not_landed_reason=reason,
        close_note=note,
        closed_at=utcnow(),
    )
    _log(
        session,
        actor,
        referral,
        "referral_not_landed",
        "not_landed",
        f"办结：未落地（{codes.NOT_LANDED_REASONS[reason]}）：{note}",
        voided=voided,
        before={"state": previous},
        after={"state": "not_landed", "reason": reason},
    )
    _notify(
        session,
        referral,
        referral.from_tenant_id,
        "not_landed",
        f"线索“{referral.lead.title}”在{_tenant_name(session, actor.tenant_id)}未能落地。",
    )


# ---- extensions ------------------------------------------------------------------------------


def request_extension(
    session: Session, actor: audit.Actor, referral: Referral, *, new_date, reason: str
) -> ExtensionRequest:
    """延期申请: asked before the deadline it extends; one pending at a time."""
    _require_receiver(actor, referral)
    deadline = open_deadline(referral)
    if deadline is None:
        raise ReferralError({"new_date": "当前没有需要延期的时限。"})
    which, due = deadline
    now = utcnow()
    errors: dict[str, str] = {}
    if now > due:
        errors["new_date"] = "已超过时限，不能再申请延期（逾期后提出的申请按逾期处理）。"
    day = parse_form_date(new_date, "new_date", errors)
    if day is not None and "new_date" not in errors:
        if day <= deadline_day(due):
            errors["new_date"] = f"新的时限须晚于当前时限（{deadline_day(due).isoformat()}）。"
        elif day > deadline_day(due) + timedelta(days=MAX_EXTENSION_DAYS):
            errors["new_date"] = f"一次延期不能超过 {MAX_EXTENSION_DAYS} 天。"
    reason = _text(reason, 500, "延期理由", "reason", errors)
    pending = session.scalar(
        select(func.count(ExtensionRequest.id)).where(
            ExtensionRequest.referral_id == referral.id, ExtensionRequest.state == "pending"
        )
    )
    if pending:
        errors["new_date"] = "已有待审批的延期申请，请等待审批结果。"
    if errors:
        raise ReferralError(errors)
    # Claim the referral's version: two requests at once cannot both be the "first".
    claimed = session.execute(
        update(Referral)
        .where(
            Referral.id == referral.id,
            Referral.version == referral.version,
            Referral.state == referral.state,
        )
        .values(version=Referral.version + 1)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(referral)
    if claimed != 1:
        raise ReferralError({"new_date": "该推送刚被其他人处理，请刷新后再试。"})
    # A request that went void was never decided: it does not make the next one a second.
    ordinal = 1 + (
        session.scalar(
            select(func.count(ExtensionRequest.id)).where(
                ExtensionRequest.referral_id == referral.id, ExtensionRequest.state != "void"
            )
        )
        or 0
    )
    request_row = ExtensionRequest(
        referral_id=referral.id,
        tenant_id=actor.tenant_id,
        deadline=which,
        old_due=due,
        new_due=end_of_local_day(day),
        reason=reason,
        ordinal=ordinal,
        state="pending",
        requested_by_id=actor.user_id,
        requested_by_name=_actor_name(actor),
        requested_at=now,
    )
    session.add(request_row)
    session.flush()
    label = DEADLINE_LABELS[which]
    _log(
        session,
        actor,
        referral,
        "extension_requested",
        "extension_requested",
        f"申请将{label}时限延至 {day.isoformat()}：{reason}",
        after={
            "extension_id": request_row.id,
            "deadline": which,
            "new_date": day.isoformat(),
            "ordinal": ordinal,
        },
    )
    decider_tenant = referral.from_tenant_id if ordinal == 1 else _city_tenant_id(session)
    if decider_tenant is not None:
        _notify(
            session,
            referral,
            decider_tenant,
            "extension_requested",
            f"{_tenant_name(session, actor.tenant_id)}申请延长线索“{referral.lead.title}”的"
            f"{label}时限，请审批。",
            roles=("head",),
        )
    return request_row


def _city_tenant_id(session: Session) -> int | None:
    return session.scalar(select(Tenant.id).where(Tenant.kind == "city"))


def may_decide_extension(actor: audit.Actor, referral: Referral, request_row) -> bool:
    if not actor.has_role("head"):
        return False
    if request_row.ordinal == 1:
        return actor.tenant_id == referral.from_tenant_id
    return actor.tenant_kind == "city"


def decide_extension(
    session: Session,
    actor: audit.Actor,
    request_row: ExtensionRequest,
    *,
    approve: bool,
    note: str = "",
) -> None:
    referral = session.get(Referral, request_row.referral_id)
    if referral is None or not may_decide_extension(actor, referral, request_row):
        raise PermissionError("the sender's head decides a first extension, a city head a second")
    # What the request has become comes first: a head on a stale page is told it was decided
    # (or went void), not asked for a note.
    if request_row.state != "pending":
        raise _extension_decided(request_row)
    deadline = open_deadline(referral)
    if deadline is None or deadline[0] != request_row.deadline:
        raise ReferralError(
            {"state": "该延期申请已不再适用：" + _no_longer_applies(referral, request_row.deadline)}
        )
    errors: dict[str, str] = {}
    note = _text(note, 500, "审批意见", "note", errors, required=not approve)
    if errors:
        raise ReferralError(errors)
    now = utcnow()
    if approve:
        # The referral's row first, then the request's: the order of every referral move that
        # voids a request (accept, …), so the two never wait on each other (PostgreSQL deadlock).
        # Refused below, the rollback takes the moved deadline back with it.
        try:
            _apply_extension(session, referral, request_row)
        except ReferralError:
            session.refresh(request_row)  # the move that beat us voided it: say so
            if request_row.state != "pending":
                raise _extension_decided(request_row) from None
            raise
    changed = session.execute(
        update(ExtensionRequest)
        .where(ExtensionRequest.id == request_row.id, ExtensionRequest.state == "pending")
        .values(
            state="approved" if approve else "refused",
            decided_by_id=actor.user_id,
            decided_by_name=_actor_name(actor),
            decided_at=now,
            decision_note=note,
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(request_row)
    if changed != 1:
        raise _extension_decided(request_row)
    day = deadline_day(request_row.new_due).isoformat()
    kind = "extension_approved" if approve else "extension_refused"
    summary = (f"同意延期至 {day}" if approve else f"不同意延期：{note}") + (
        f"（{note}）" if approve and note else ""
    )
    _log(
        session,
        actor,
        referral,
        kind,
        kind,
        summary,
        after={"extension_id": request_row.id, "approved": approve, "new_date": day},
    )
    _notify(
        session,
        referral,
        referral.to_tenant_id,
        kind,
        f"线索“{referral.lead.title}”的延期申请"
        + (f"已获批准，新时限 {day}。" if approve else "未获批准。"),
    )


def _extension_decided(request_row: ExtensionRequest) -> ReferralError:
    """The refusal of a decision on a request no longer pending: who decided it and how."""
    if request_row.state == "void":
        return ReferralError({"state": f"该延期申请已失效：{request_row.decision_note}"})
    how = "同意延期" if request_row.state == "approved" else "不同意延期"
    who = request_row.decided_by_name or "其他领导"
    when = f"于 {_local_time(request_row.decided_at)} " if request_row.decided_at else ""
    return ReferralError({"state": f"该延期申请已由{who}{when}审批（{how}），无需再次审批。"})


def _actor_name(actor: audit.Actor) -> str:
    """The name shown for what an officer did (as on the timeline, LeadEvent.actor_name)."""
    return (actor.display_name or actor.name)[:64]


def _apply_extension(session: Session, referral: Referral, request_row: ExtensionRequest) -> None:
    """Move the deadline. decide_extension checked it is still the one the referral works
    against; if the referral moved on meanwhile, _transition refuses (the move voided the
    request) and nothing is decided."""
    new_due = request_row.new_due
    if request_row.deadline == "sign":
        expected = ("sent", "return_requested")
        # The report deadline never falls before the signing one.
        values = {"sign_by": new_due, "report_by": max(referral.report_by, new_due)}
    else:
        expected = ("accepted",)
        values = {"report_by": new_due}
    _transition(
        session,
        referral,
        expected,
        extensions_granted=Referral.extensions_granted + 1,
        **values,
    )


# ---- urging ----------------------------------------------------------------------------------


URGE_LABELS = {"sign": "签收", "report": "反馈", "progress": "进展更新"}


def urged_today(referral: Referral, now: datetime) -> bool:
    """Whether the referral was urged on ``now``'s day in Shanghai (once a day is the limit)."""
    last = referral.last_urged_at
    return last is not None and local_date(last) == local_date(now)


def urge(session: Session, actor: audit.Actor, referral: Referral, *, note: str = "") -> None:
    """催办: the sender (or the city) urges an overdue referral; once a day per referral."""
    _require_handler(actor)
    if referral.from_tenant_id != actor.tenant_id and actor.tenant_kind != "city":
        raise PermissionError("the sender or the city urges")
    errors: dict[str, str] = {}
    note = _text(note, 300, "催办说明", "note", errors, required=False)
    now = utcnow()
    deadline = urgeable_deadline(referral, now)
    if deadline is None:
        errors["note"] = "只能对已逾期或逾期未更新进展的在办推送催办。"
    if errors:
        raise ReferralError(errors)
    start_of_today = end_of_local_day(local_date(now) - timedelta(days=1))
    changed = session.execute(
        update(Referral)
        .where(
            Referral.id == referral.id,
            Referral.state == referral.state,
            or_(Referral.last_urged_at.is_(None), Referral.last_urged_at < start_of_today),
        )
        .values(last_urged_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount
    session.refresh(referral)
    if changed != 1:
        raise ReferralError({"note": "今天已催办过该推送（或状态刚有变化），请明天再催。"})
    label = URGE_LABELS[deadline[0]]
    _log(
        session,
        actor,
        referral,
        "referral_urged",
        "urged",
        f"催办{label}" + (f"：{note}" if note else ""),
        after={"deadline": deadline[0]},
    )
    _notify(
        session,
        referral,
        referral.to_tenant_id,
        "urged",
        f"{_tenant_name(session, actor.tenant_id)}催办线索“{referral.lead.title}”的{label}，"
        "请尽快办理。" + (f"（{note}）" if note else ""),
    )
