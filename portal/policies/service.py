"""Policies: read and check the form, create, edit, list. Plain functions over a session and the
acting officer (an audit Actor); no Flask here. Attachments are checked and their text extracted
by ``portal.policies.files`` before these functions run; the file itself is written by the
caller after the database accepted the change (see ``views``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from portal.audit import service as audit
from portal.database import utcnow
from portal.ids import parse_id
from portal.pagination import Page, paginate
from portal.policies.files import CheckedUpload
from portal.policies.models import CATEGORIES, VALIDITY, Policy
from portal.validation import (
    InputError,
    clean_query,
    form_text,
    limited_text,
    parse_form_date,
    whole_number,
)
from search.outbox import enqueue

MAX_BODY = 50_000
SCOPES = {"city": "全市公开", "own": "仅本单位可见"}
SORTS = {"issued": "按发布日期（最新在前）", "title": "按标题"}
FIRST_YEAR = 1990


class PolicyError(InputError):
    """Refused policy input."""


@dataclass
class PolicyInput:
    title: str
    issuer: str
    doc_number: str
    issued_on: date
    effective_on: date | None
    expires_on: date | None
    category: str
    validity: str
    city_wide: bool
    body: str


@dataclass
class Attachment:
    """A checked upload with its extracted text, not yet on disk."""

    upload: CheckedUpload
    text: str


def _optional_date(form, name: str, errors: dict) -> date | None:
    if not form_text(form, name):
        return None
    return parse_form_date(form_text(form, name), name, errors)


def parse_policy_input(form, today: date) -> PolicyInput:
    """Read and check a policy form; raises PolicyError with a message per field."""
    errors: dict[str, str] = {}
    title = limited_text(form, "title", 200, "文件标题", errors, required=True, one_line=True)
    issuer = limited_text(form, "issuer", 100, "发布机构", errors, required=True, one_line=True)
    doc_number = limited_text(form, "doc_number", 60, "文号", errors, one_line=True)
    issued_on = None
    if not form_text(form, "issued_on"):
        errors["issued_on"] = "请填写发布日期。"
    else:
        issued_on = parse_form_date(form_text(form, "issued_on"), "issued_on", errors)
    effective_on = _optional_date(form, "effective_on", errors)
    expires_on = _optional_date(form, "expires_on", errors)
    _check_dates(issued_on, effective_on, expires_on, today, errors)
    category = form_text(form, "category")
    if category not in CATEGORIES:
        errors["category"] = "请选择文件类别。"
    validity = form_text(form, "validity") or "valid"
    if validity not in VALIDITY:
        errors["validity"] = "请选择时效性。"
    elif validity == "valid" and expires_on is not None and expires_on < today:
        errors["validity"] = "失效日期已过，请将时效性改为“失效”，或更正失效日期。"
    scope = form_text(form, "scope") or "city"
    if scope not in SCOPES:
        errors["scope"] = "请选择公开范围。"
    body = limited_text(form, "body", MAX_BODY, "正文", errors)
    if errors:
        raise PolicyError(errors)
    return PolicyInput(
        title,
        issuer,
        doc_number,
        issued_on,
        effective_on,
        expires_on,
        category,
        validity,
        scope == "city",
        body,
    )


def _check_dates(issued_on, effective_on, expires_on, today: date, errors: dict) -> None:
    if issued_on is not None and issued_on > today:
        errors["issued_on"] = "发布日期不能晚于今天。"
    elif issued_on is not None and issued_on.year < FIRST_YEAR:
        errors["issued_on"] = f"发布日期不能早于 {FIRST_YEAR} 年。"
    if issued_on and effective_on and effective_on < issued_on:
        errors["effective_on"] = "施行日期不能早于发布日期。"
    start = effective_on or issued_on
    if start and expires_on and expires_on <= start:
        errors["expires_on"] = "失效日期须晚于施行日期（未填施行日期时，晚于发布日期）。"


def _require_editor(actor: audit.Actor) -> None:
    if not actor.has_role("officer", "head"):
        raise PermissionError("only officers and heads maintain policies")


def may_edit(actor: audit.Actor, policy: Policy) -> bool:
    return actor.has_role("officer", "head") and policy.tenant_id == actor.tenant_id


def _check_unique_number(session: Session, data: PolicyInput, policy_id: int | None) -> None:
    """The same 文号 twice is almost always the same document registered twice."""
    if not data.doc_number:
        return
    statement = select(Policy.title).where(func.lower(Policy.doc_number) == data.doc_number.lower())
    if policy_id is not None:
        statement = statement.where(Policy.id != policy_id)
    existing = session.scalar(statement.limit(1))
    if existing is not None:
        raise PolicyError(
            {"doc_number": f"文号“{data.doc_number}”已登记（《{existing}》），请勿重复录入。"}
        )


def snapshot(policy: Policy) -> dict:
    return {
        "title": policy.title,
        "issuer": policy.issuer,
        "doc_number": policy.doc_number,
        "issued_on": policy.issued_on.isoformat(),
        "effective_on": policy.effective_on.isoformat() if policy.effective_on else None,
        "expires_on": policy.expires_on.isoformat() if policy.expires_on else None,
        "category": policy.category,
        "validity": policy.validity,
        "city_wide": policy.city_wide,
        "body_chars": len(policy.body or ""),
        "attachment": policy.attachment_name,
        "attachment_sha256": policy.attachment_sha256,
    }


def _fields(data: PolicyInput) -> dict:
    return {
        "title": data.title,
        "issuer": data.issuer,
        "doc_number": data.doc_number,
        "issued_on": data.issued_on,
        "effective_on": data.effective_on,
        "expires_on": data.expires_on,
        "category": data.category,
        "validity": data.validity,
        "city_wide": data.city_wide,
        "body": data.body,
    }


def _attachment_fields(attachment: Attachment | None, key: str | None) -> dict:
    if attachment is None:
        return dict.fromkeys(
            (
                "attachment_key",
                "attachment_name",
                "attachment_kind",
                "attachment_mimetype",
                "attachment_size",
                "attachment_sha256",
            )
        ) | {"attachment_text": ""}
    upload = attachment.upload
    return {
        "attachment_key": key,
        "attachment_name": upload.original_name,
        "attachment_kind": upload.kind,
        "attachment_mimetype": upload.mimetype,
        "attachment_size": upload.size,
        "attachment_sha256": upload.sha256,
        "attachment_text": attachment.text,
    }


def _require_content(data: PolicyInput, has_attachment: bool) -> None:
    if not data.body and not has_attachment:
        raise PolicyError({"body": "请填写正文，或上传文件附件。"})


def create_policy(
    session: Session,
    actor: audit.Actor,
    data: PolicyInput,
    attachment: Attachment | None = None,
    attachment_key: str | None = None,
) -> Policy:
    _require_editor(actor)
    _require_content(data, attachment is not None)
    _check_unique_number(session, data, None)
    now = utcnow()
    policy = Policy(
        tenant_id=actor.tenant_id,
        created_by_id=actor.user_id,
        created_at=now,
        updated_at=now,
        **_fields(data),
        **_attachment_fields(attachment, attachment_key),
    )
    session.add(policy)
    session.flush()
    audit.record(
        session,
        actor,
        "policy_created",
        object_type="policy",
        object_id=policy.id,
        after=snapshot(policy),
    )
    return policy


@dataclass
class AttachmentChange:
    """What an edit does to the attachment: keep it, replace it, or remove it."""

    new: Attachment | None = None
    new_key: str | None = None
    remove: bool = False
    replaced_key: str | None = field(default=None, init=False)  # to delete after commit


def update_policy(
    session: Session,
    actor: audit.Actor,
    policy: Policy,
    data: PolicyInput,
    version: int,
    change: AttachmentChange,
) -> Policy:
    """Edit a policy of the actor's tenant. ``version`` is the one the form was opened on: if
    someone saved in between, refuse rather than overwrite their change."""
    _require_editor(actor)
    if policy.tenant_id != actor.tenant_id:
        raise PermissionError("only the publishing tenant edits a policy")
    keeps_file = policy.attachment_key is not None and not change.remove
    _require_content(data, change.new is not None or keeps_file)
    _check_unique_number(session, data, policy.id)
    before = snapshot(policy)
    values = _fields(data) | {"updated_at": utcnow(), "version": Policy.version + 1}
    if change.new is not None or change.remove:
        change.replaced_key = policy.attachment_key
        values |= _attachment_fields(change.new, change.new_key)
    changed = session.execute(
        update(Policy)
        .where(Policy.id == policy.id, Policy.version == version)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        change.replaced_key = None
        raise PolicyError({"version": "该文件已被其他人修改，请刷新页面查看最新内容后再编辑。"})
    session.refresh(policy)
    enqueue(session, "policy", [policy.id])
    audit.record(
        session,
        actor,
        "policy_updated",
        object_type="policy",
        object_id=policy.id,
        before=before,
        after=snapshot(policy),
    )
    return policy


# ---- the list ---------------------------------------------------------------------------------


@dataclass
class PolicyFilters:
    q: str = ""
    category: str = ""
    validity: str = ""
    scope: str = ""
    tenant: int | None = None
    year: int | None = None
    sort: str = "issued"
    errors: list[str] = field(default_factory=list)

    def params(self) -> dict:
        values = {
            "q": self.q,
            "category": self.category,
            "validity": self.validity,
            "scope": self.scope,
            "tenant": self.tenant,
            "year": self.year,
        }
        if self.sort != "issued":
            values["sort"] = self.sort
        return {key: value for key, value in values.items() if value}

    @property
    def active(self) -> bool:
        return bool(
            self.q or self.category or self.validity or self.scope or self.tenant or self.year
        )


LIST_SCOPES = {"city": "全市公开", "own": "本单位发布"}


def parse_list_filters(args, today: date, tenant_ids=()) -> PolicyFilters:
    """Read the list's filters; a bad value is dropped with a message, never an error page."""
    found = PolicyFilters()
    tenant = (args.get("tenant") or "").strip()
    chosen = parse_id(tenant)
    if chosen in tenant_ids:
        found.tenant = chosen
    elif tenant:
        found.errors.append("登记单位取值无效，已忽略。")
    found.q = clean_query(args.get("q"))
    for name, allowed, message in (
        ("category", CATEGORIES, "文件类别取值无效，已忽略。"),
        ("validity", VALIDITY, "时效性取值无效，已忽略。"),
        ("scope", LIST_SCOPES, "公开范围取值无效，已忽略。"),
        ("sort", SORTS, "排序方式无效，已按发布日期排序。"),
    ):
        value = args.get(name) or ""
        if value in allowed:
            setattr(found, name, value)
        elif value:
            found.errors.append(message)
    year = (args.get("year") or "").strip()
    year_number = whole_number(year)
    if year_number is not None and FIRST_YEAR <= year_number <= today.year:
        found.year = year_number
    elif year:
        found.errors.append(f"年份须在 {FIRST_YEAR}–{today.year} 之间，已忽略。")
    return found


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def policy_page(
    session: Session, actor: audit.Actor, filters: PolicyFilters, page: int, per_page: int = 20
) -> Page:
    """The policies the scope may see, filtered; the text filter matches title, 文号 and issuer
    as typed (the search page does the word-level search)."""
    statement = select(Policy)
    for word in filters.q.split():
        pattern = f"%{_escape_like(word)}%"
        statement = statement.where(
            or_(
                Policy.title.ilike(pattern, escape="\\"),
                Policy.doc_number.ilike(pattern, escape="\\"),
                Policy.issuer.ilike(pattern, escape="\\"),
            )
        )
    if filters.category:
        statement = statement.where(Policy.category == filters.category)
    if filters.validity:
        statement = statement.where(Policy.validity == filters.validity)
    if filters.scope == "city":
        statement = statement.where(Policy.city_wide.is_(True))
    elif filters.scope == "own":
        statement = statement.where(Policy.tenant_id == actor.tenant_id)
    if filters.tenant:
        statement = statement.where(Policy.tenant_id == filters.tenant)
    if filters.year:
        statement = statement.where(
            Policy.issued_on >= date(filters.year, 1, 1),
            Policy.issued_on <= date(filters.year, 12, 31),
        )
    if filters.sort == "title":
        statement = statement.order_by(Policy.title, Policy.id)
    else:
        statement = statement.order_by(Policy.issued_on.desc(), Policy.id.desc())
    return paginate(session, statement, page, per_page)


def past_expiry(policy: Policy, today: date) -> bool:
    """Marked valid, but its expiry date has passed: the list flags it for its publisher."""
    return (
        policy.validity == "valid" and policy.expires_on is not None and policy.expires_on < today
    )
