"""Leads: create, edit, lifecycle after landing, the timeline. Plain functions over a session and
the acting officer (an audit Actor); no Flask here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from portal.audit import service as audit
from portal.database import utcnow
from portal.ids import parse_id
from portal.leads import codes
from portal.leads.models import IndustryChain, Lead, LeadAccess, LeadContact, LeadEvent, LeadStage
from portal.validation import InputError, form_text, limited_text, parse_form_date
from portal.workdays.calendar import local_date

CREDIT_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_CODE_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
PHONE_PATTERN = re.compile(r"^[0-9+\-() ]{5,20}$")
MAX_INVESTMENT = 100_000_000  # 万元: a trillion yuan; anything above is a typo
MAX_LAND = 100_000  # 亩
CREDITED_STAGES = ("started", "producing")  # stages that earn a referral-credit bonus


class LeadError(InputError):
    """Refused lead input or action."""


def credit_code_valid(code: str) -> bool:
    """GB 32100-2015: 18 characters from a 31-letter alphabet, the last one a check character."""
    if len(code) != 18 or any(ch not in CREDIT_CODE_CHARS for ch in code):
        return False
    total = sum(
        CREDIT_CODE_CHARS.index(ch) * w for ch, w in zip(code, CREDIT_CODE_WEIGHTS, strict=False)
    )
    check = (31 - total % 31) % 31
    return CREDIT_CODE_CHARS[check] == code[17]


@dataclass
class LeadInput:
    title: str
    company: str
    credit_code: str | None
    company_origin: str
    chain_id: int | None
    planned_investment: int | None
    land_need: float | None
    description: str
    contact_name: str
    contact_phone: str
    source_channel: str
    stage: str


def _number(form, name: str, label: str, limit: float, errors: dict, integer: bool):
    raw = form_text(form, name).replace(",", "").replace("，", "")
    if not raw:
        return None
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "整数" if integer else "数字"
        errors[name] = f"{label}须为{kind}。"
        return None
    if value != value or not 0 <= value <= limit:  # NaN, negative, absurd
        errors[name] = f"{label}须在 0 到 {limit:,.0f} 之间。"
        return None
    if not integer and round(value, 1) != value:
        errors[name] = f"{label}最多保留一位小数。"
        return None
    return value


def parse_lead_input(session: Session, form, *, allowed_stages=codes.PRE_LANDING_STAGES):
    """Read and check a lead form; raises LeadError with a message per field."""
    errors: dict[str, str] = {}
    title = limited_text(form, "title", 100, "项目名称", errors, required=True, one_line=True)
    company = limited_text(
        form, "company", 100, "客商（企业）名称", errors, required=True, one_line=True
    )
    credit_code = form_text(form, "credit_code").upper() or None
    if credit_code is not None and not credit_code_valid(credit_code):
        errors["credit_code"] = "统一社会信用代码格式不正确（应为 18 位，末位为校验码）。"
    origin = limited_text(form, "company_origin", 60, "客商来源地", errors, one_line=True)
    chain_id = None
    raw_chain = form_text(form, "chain_id")
    if raw_chain:
        chain_key = parse_id(raw_chain)
        chain = session.get(IndustryChain, chain_key) if chain_key is not None else None
        if chain is None or not chain.active:
            errors["chain_id"] = "请从列表中选择产业链。"
        else:
            chain_id = chain.id
    investment = _number(form, "planned_investment", "计划投资额", MAX_INVESTMENT, errors, True)
    land = _number(form, "land_need", "用地需求", MAX_LAND, errors, False)
    description = limited_text(form, "description", 5000, "项目简介", errors)
    contact_name = limited_text(form, "contact_name", 40, "联系人", errors, one_line=True)
    contact_phone = form_text(form, "contact_phone")
    if contact_phone and not PHONE_PATTERN.match(contact_phone):
        errors["contact_phone"] = "联系电话只能包含数字、空格和 + - ( )，5–20 位。"
    channel = form_text(form, "source_channel")
    if channel not in codes.SOURCE_CHANNELS:
        errors["source_channel"] = "请选择线索来源渠道。"
    stage = form_text(form, "stage") or "lead"
    if stage not in allowed_stages:
        errors["stage"] = "请选择项目阶段。"
    if errors:
        raise LeadError(errors)
    return LeadInput(
        title,
        company,
        credit_code,
        origin,
        chain_id,
        investment,
        land,
        description,
        contact_name,
        contact_phone,
        channel,
        stage,
    )


def _require_officer(actor: audit.Actor) -> None:
    if not actor.has_role("officer", "head"):
        raise PermissionError("only officers and heads handle leads")


def add_event(
    session: Session,
    actor: audit.Actor,
    lead_id: int,
    kind: str,
    summary: str,
    referral_id: int | None = None,
) -> None:
    session.add(
        LeadEvent(
            lead_id=lead_id,
            referral_id=referral_id,
            tenant_id=actor.tenant_id,
            actor_name=actor.display_name or actor.name,
            kind=kind,
            summary=summary[:500],
            occurred_at=utcnow(),
        )
    )


# What the timeline names when an edit changed it (contact details stay out: they are
# confidential, the timeline is not).
EDITED_FIELD_LABELS = {
    "title": "项目名称",
    "company": "客商",
    "credit_code": "统一社会信用代码",
    "company_origin": "客商来源地",
    "chain_id": "产业链",
    "planned_investment": "计划投资",
    "land_need": "用地需求",
    "description": "项目简介",
    "source_channel": "来源渠道",
    "stage": "阶段",
}


def _edit_summary(before: dict, after: dict) -> str:
    changed = [label for key, label in EDITED_FIELD_LABELS.items() if before[key] != after[key]]
    return "修改线索信息" + (f"：{'、'.join(changed)}" if changed else "")


def lead_snapshot(lead: Lead) -> dict:
    return {
        "title": lead.title,
        "company": lead.company,
        "credit_code": lead.credit_code,
        "company_origin": lead.company_origin,
        "chain_id": lead.chain_id,
        "planned_investment": lead.planned_investment,
        "land_need": lead.land_need,
        "source_channel": lead.source_channel,
        "stage": lead.stage,
    }


def create_lead(session: Session, actor: audit.Actor, data: LeadInput) -> Lead:
    _require_officer(actor)
    now = utcnow()
    lead = Lead(
        tenant_id=actor.tenant_id,
        title=data.title,
        company=data.company,
        credit_code=data.credit_code,
        company_origin=data.company_origin,
        chain_id=data.chain_id,
        planned_investment=data.planned_investment,
        land_need=data.land_need,
        description=data.description,
        source_channel=data.source_channel,
        stage=data.stage,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
    )
    session.add(lead)
    session.flush()
    lead.code = f"XS-{local_date(now).year}-{lead.id:06d}"
    session.add(
        LeadContact(
            lead_id=lead.id, contact_name=data.contact_name, contact_phone=data.contact_phone
        )
    )
    session.add(
        LeadAccess(lead_id=lead.id, tenant_id=actor.tenant_id, is_referrer=True, sees_contact=True)
    )
    add_event(session, actor, lead.id, "created", f"登记线索“{lead.title}”")
    session.flush()
    audit.record(
        session,
        actor,
        "lead_created",
        object_type="lead",
        object_id=lead.id,
        after=lead_snapshot(lead),
    )
    return lead


def update_lead(
    session: Session, actor: audit.Actor, lead: Lead, data: LeadInput, version: int | None
) -> Lead:
    """Edit a lead the actor's tenant owns. ``version`` is the one the form was opened on: if
    someone saved in between, refuse rather than overwrite their change."""
    _require_officer(actor)
    if lead.tenant_id != actor.tenant_id:
        raise PermissionError("only the owner tenant edits a lead")
    if lead.stage not in codes.PRE_LANDING_STAGES and data.stage != lead.stage:
        raise LeadError({"stage": "项目已落地，阶段请在“落地后进展”中登记。"})
    before, described = lead_snapshot(lead), lead.description
    values = {
        "title": data.title,
        "company": data.company,
        "credit_code": data.credit_code,
        "company_origin": data.company_origin,
        "chain_id": data.chain_id,
        "planned_investment": data.planned_investment,
        "land_need": data.land_need,
        "description": data.description,
        "source_channel": data.source_channel,
        "stage": data.stage if lead.stage in codes.PRE_LANDING_STAGES else lead.stage,
        "updated_at": utcnow(),
        "version": Lead.version + 1,
    }
    changed = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.version == (version or lead.version))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise LeadError({"version": "该线索已被其他人修改，请刷新页面查看最新内容后再编辑。"})
    contact = session.get(LeadContact, lead.id)
    if contact is not None:
        contact.contact_name, contact.contact_phone = data.contact_name, data.contact_phone
    session.refresh(lead)
    after = lead_snapshot(lead)
    add_event(
        session,
        actor,
        lead.id,
        "updated",
        _edit_summary(
            {**before, "description": described}, {**after, "description": lead.description}
        ),
    )
    session.flush()
    audit.record(
        session,
        actor,
        "lead_updated",
        object_type="lead",
        object_id=lead.id,
        before=before,
        after=after,
    )
    return lead


def record_stage(
    session: Session,
    actor: audit.Actor,
    lead: Lead,
    *,
    stage: str,
    on_date: str,
    reason: str = "",
) -> LeadStage:
    """The host tenant records a lifecycle stage after landing (注册 … 入规), or 终止."""
    _require_officer(actor)
    if lead.host_tenant_id != actor.tenant_id:
        raise PermissionError("only the host tenant records lifecycle stages")
    errors: dict[str, str] = {}
    if lead.stage == "terminated":
        raise LeadError({"stage": "该项目已终止，不能再登记进展。"})
    day = parse_form_date(on_date, "on_date", errors)
    last = session.scalar(
        select(LeadStage)
        .where(LeadStage.lead_id == lead.id)
        .order_by(LeadStage.on_date.desc(), LeadStage.id.desc())
        .limit(1)
    )
    floor = last.on_date if last is not None else lead.signed_on
    if stage == "terminated":
        if reason not in codes.TERMINATION_REASONS:
            errors["reason"] = "请选择终止原因。"
    elif stage in codes.LIFECYCLE_STAGES:
        current = (
            codes.LIFECYCLE_STAGES.index(lead.stage) if lead.stage in codes.LIFECYCLE_STAGES else -1
        )
        if codes.LIFECYCLE_STAGES.index(stage) <= current:
            errors["stage"] = f"项目已到“{codes.STAGES[lead.stage]}”阶段，只能登记之后的阶段。"
    else:
        errors["stage"] = "请选择要登记的阶段。"
    if day is not None and floor is not None and day < floor:
        errors["on_date"] = f"日期不能早于上一阶段的日期（{floor.isoformat()}）。"
    if day is not None and day > local_date(utcnow()):
        errors["on_date"] = "日期不能晚于今天。"
    if errors:
        raise LeadError(errors)
    previous = lead.stage
    changed = session.execute(
        update(Lead)
        .where(Lead.id == lead.id, Lead.stage == previous)
        .values(stage=stage, version=Lead.version + 1, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        raise LeadError({"stage": "该项目的阶段刚被其他人更新，请刷新后再试。"})
    row = LeadStage(
        lead_id=lead.id,
        tenant_id=actor.tenant_id,
        stage=stage,
        on_date=day,
        reason=codes.TERMINATION_REASONS.get(reason, "") if stage == "terminated" else "",
        recorded_by_id=actor.user_id,
    )
    session.add(row)
    label = codes.STAGES[stage]
    summary = f"登记“{label}”（{day.isoformat()}）" + (f"：{row.reason}" if row.reason else "")
    add_event(session, actor, lead.id, "stage", summary)
    session.flush()
    session.refresh(lead)
    audit.record(
        session,
        actor,
        "lead_stage_recorded",
        object_type="lead",
        object_id=lead.id,
        before={"stage": previous},
        after={"stage": stage, "on_date": day.isoformat(), "reason": row.reason},
    )
    if stage in CREDITED_STAGES:
        # Referral credit (考核加分) for the stage, proposed in the same transaction.
        from portal.assessment.service import propose_for_lead

        propose_for_lead(session, lead.id)
    return row


def contact_of(session: Session, lead: Lead) -> LeadContact | None:
    """The contact, or None when the current scope may not see it (scoping decides)."""
    return session.get(LeadContact, lead.id)


def timeline(session: Session, lead: Lead) -> list[LeadEvent]:
    return list(
        session.scalars(
            select(LeadEvent)
            .where(LeadEvent.lead_id == lead.id)
            .order_by(LeadEvent.occurred_at, LeadEvent.id)
        )
    )


def stages_of(session: Session, lead: Lead) -> list[LeadStage]:
    return list(
        session.scalars(
            select(LeadStage)
            .where(LeadStage.lead_id == lead.id)
            .order_by(LeadStage.on_date, LeadStage.id)
        )
    )


def count_visible_leads(session: Session) -> int:
    return session.scalar(select(func.count(Lead.id))) or 0
