"""Assessment pages (考核加分, DESIGN.md §4b): a tenant's credit, one entry with its evidence,
the assessors' review queue (single and bulk decisions), the ranking and its exports, the
year's rules and their versions, locking a year and corrections after the lock.

Views parse input, call the ledger (``portal.assessment.ledger``: it decides who may decide
what) and render a page, or a fragment of the same templates for a targeted htmx request."""

from __future__ import annotations

import io
import json
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    render_template,
    request,
    send_file,
    session,
    url_for,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.datastructures import MultiDict

from portal import htmx
from portal.access import SIGNED_IN, access, roles
from portal.assessment import appeals, ledger, queries, ranking, rules_form, service
from portal.assessment.models import (
    ADJUSTED,
    APPROVED,
    DECISION_KINDS,
    PROPOSED,
    REJECTED,
    ScoringRuleSet,
)
from portal.assessment.models import KIND_LABELS as LEDGER_LABELS
from portal.assessment.scoring import KIND_LABELS, RULE_LABELS, describe
from portal.audit import service as audit
from portal.database import utcnow
from portal.extensions import db
from portal.ids import parse_id
from portal.leads.codes import LIFECYCLE_STAGES, STAGES
from portal.pagination import parse_page
from portal.validation import whole_number
from portal.web import current_actor, form_response, safe_next
from portal.workdays.service import load_calendar

bp = Blueprint("assessment", __name__)

ASSESSORS = roles("assessor")
CREDIT_TARGET = "credit-results"
REVIEW_TARGET = "review-results"
BULK_RESULT_KEY = "assessment_bulk"
MAX_BULK = 200
REVIEW_PER_PAGE = 50
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DECISION_LABELS = {APPROVED: "通过", REJECTED: "驳回", ADJUSTED: "调整"}
DECISION_MISSING = "请选择审核结果：通过、驳回或调整。"
RULES_AUDIT_ACTION = "credit_rules_changed"


def vocabulary() -> dict:
    return {
        "rule_labels": RULE_LABELS,
        "state_labels": queries.STATE_LABELS,
        "decision_labels": DECISION_LABELS,
        "group_labels": ranking.GROUPS,
        "kind_labels": KIND_LABELS,
        "ledger_labels": LEDGER_LABELS,
        "answer_labels": appeals.ANSWER_LABELS,
    }


def posted_year(errors: dict) -> int | None:
    text = (request.form.get("year") or "").strip()
    year = whole_number(text)
    if year is not None and queries.FIRST_YEAR <= year <= queries.LAST_YEAR:
        return year
    errors["year"] = "请选择考核年度。"
    return None


def entry_or_404(entry_id: int):
    entry = queries.visible_entry(db.session, entry_id)
    if entry is None:
        abort(404)
    return entry


def _may_decide(actor, view: queries.EntryView, locked: bool) -> bool:
    return (
        actor.has_role("assessor")
        and view.pending
        and not locked
        and view.entry.tenant_id != actor.tenant_id
    )


def _reads_leads(actor) -> bool:
    return actor.has_role("officer", "head", "assessor")


# ---- a tenant's credit (考核积分) ---------------------------------------------------------------


@bp.route("/assessment")
@access(SIGNED_IN)
def credit():
    actor = current_actor()
    overseer = actor.oversees_leads
    tenants = queries.tenants_in_order(db.session)
    by_id = {t.id: t for t in tenants}
    filters = queries.parse_filters(
        request.args,
        tenant_choices={t.id: t.name for t in tenants} if overseer else None,
        default_tenant=actor.tenant_id,
    )
    if not filters.tenant:
        filters.tenant = actor.tenant_id
    tenant = by_id[filters.tenant]
    rules = service.rules_for(db.session, filters.year)
    page, rows = queries.entry_page(db.session, filters, parse_page(request.args.get("page")))
    context = {
        "filters": filters,
        "page": page,
        "rows": rows,
        "tenant": tenant,
        "scored": tenant.kind not in rules.unscored_kinds
        and tenant.kind not in queries.NEVER_RANKED_KINDS,
        "summary": queries.summary(db.session, filters.year, tenant.id),
        "corrections": queries.corrections(db.session, filters.year, tenant.id),
        "locked": ledger.year_locked(db.session, filters.year),
        "publication": appeals.publication(db.session, filters.year),
        "reads_leads": _reads_leads(actor),
        **vocabulary(),
    }
    if htmx.wants_fragment(CREDIT_TARGET):
        return render_template("assessment/_credit_results.html", **context)
    return render_template(
        "assessment/credit.html",
        years=queries.available_years(db.session),
        tenants=tenants if overseer else [],
        unscored_kinds=rules.unscored_kinds | queries.NEVER_RANKED_KINDS,
        **context,
    )


# ---- one entry --------------------------------------------------------------------------------


def entry_page_response(entry, errors=None, values=None, status=None):
    """The entry page: its evidence, history, and the form the reader may use now (decide,
    appeal, answer the appeal); with ``errors`` the refused form's messages and values."""
    actor = current_actor()
    names = queries.tenant_names(db.session)
    (view,) = queries.entry_views(db.session, [entry], names)
    locked = ledger.year_locked(db.session, entry.year)
    calendar = load_calendar(db.session)
    own_entry = entry.tenant_id == actor.tenant_id
    appeal_refusal = appeals.appeal_refusal(db.session, view.state, utcnow(), calendar)
    body = render_template(
        "assessment/entry.html",
        row=view,
        history=queries.entry_history(db.session, entry),
        locked=locked,
        may_decide=_may_decide(actor, view, locked),
        own_entry=own_entry,
        reads_leads=_reads_leads(actor),
        publication=appeals.publication(db.session, entry.year),
        appeal_window_ends=appeals.appeal_window_ends(db.session, view.state, calendar),
        may_appeal=own_entry and actor.has_role(*appeals.APPEAL_ROLES) and not appeal_refusal,
        appeal_refusal=appeal_refusal,
        may_answer=actor.has_role("assessor")
        and view.state.appeal_open
        and not own_entry
        and not locked,
        errors=errors or {},
        values=values or {},
        next_url=url_for("assessment.entry_detail", entry_id=entry.id),
        **vocabulary(),
    )
    return form_response(body, errors or {}, status=status)


@bp.route("/assessment/entries/<int:entry_id>")
@access(SIGNED_IN)
def entry_detail(entry_id: int):
    return entry_page_response(entry_or_404(entry_id))


def _decide_one(
    actor, entry_id: int, decision: str, points, reason: str
) -> ledger.LedgerError | None:
    """Ask the ledger to record one decision and commit it; the refusal otherwise."""
    try:
        ledger.decide(
            db.session,
            actor,
            entry_id,
            decision,
            points=points if decision == ADJUSTED else None,
            reason=reason,
        )
    except ledger.LedgerError as exc:
        db.session.rollback()
        return exc
    db.session.commit()
    return None


def _row_fragment(entry, errors=None, values=None, next_url=""):
    actor = current_actor()
    (view,) = queries.entry_views(db.session, [entry])
    locked = ledger.year_locked(db.session, entry.year)
    return render_template(
        "assessment/_review_row.html",
        row=view,
        locked=locked,
        may_decide=_may_decide(actor, view, locked),
        actor_tenant_id=actor.tenant_id,
        reads_leads=_reads_leads(actor),
        row_errors=errors or {},
        row_values=values or {},
        next_url=next_url,
        **vocabulary(),
    )


@bp.route("/assessment/entries/<int:entry_id>/decide", methods=["POST"])
@access(ASSESSORS)
def decide(entry_id: int):
    entry = entry_or_404(entry_id)
    actor = current_actor()
    decision = request.form.get("decision", "")
    reason = request.form.get("reason", "")
    next_url = safe_next(request.form.get("next")) or url_for("assessment.review")
    if decision in DECISION_KINDS:
        refusal = _decide_one(actor, entry_id, decision, request.form.get("points", ""), reason)
    else:
        refusal = ledger.LedgerError({"decision": DECISION_MISSING})
    errors = refusal.errors if refusal else {}
    row_target = htmx.wants_fragment(f"entry-{entry_id}")
    if not errors:
        message = f"已{DECISION_LABELS[decision]}积分条目 #{entry_id}。"
        if row_target:
            response = make_response(_row_fragment(entry, next_url=next_url))
            return htmx.add_toast(response, message, "success")
        flash(message, "success")
        return htmx.client_redirect(next_url)
    status = refusal.status
    values = request.form if status == 422 else {}
    if row_target:
        body = _row_fragment(entry, errors, values, next_url)
        return form_response(body, errors, status=status)
    return entry_page_response(entry, errors, values, status)


# ---- the review queue (审核队列) ----------------------------------------------------------------


def _review_filters(args):
    return queries.parse_filters(
        args,
        tenant_choices=queries.tenant_names(db.session),
        default_tenant=None,
        default_state=PROPOSED,
    )


def _review_context(filters, page_number: int, result=None) -> dict:
    actor = current_actor()
    page, rows = queries.entry_page(db.session, filters, page_number, REVIEW_PER_PAGE)
    locked = ledger.year_locked(db.session, filters.year)
    return {
        "filters": filters,
        "page": page,
        "rows": rows,
        "locked": locked,
        "pending_total": ledger.pending_count(db.session, filters.year),
        "actor_tenant_id": actor.tenant_id,
        "may_decide": {row.id: _may_decide(actor, row, locked) for row in rows},
        "reads_leads": _reads_leads(actor),
        "next_url": url_for(
            "assessment.review", page=page.page if page.page > 1 else None, **filters.params()
        ),
        "result": result,
        **vocabulary(),
    }


@bp.route("/assessment/review")
@access(ASSESSORS)
def review():
    filters = _review_filters(request.args)
    result = _stored_result(session.pop(BULK_RESULT_KEY, None))
    context = _review_context(filters, parse_page(request.args.get("page")), result)
    if htmx.wants_fragment(REVIEW_TARGET):
        return render_template("assessment/_review_results.html", **context)
    return render_template(
        "assessment/review.html",
        years=queries.available_years(db.session),
        tenants=queries.tenants_in_order(db.session),
        bulk_values={},
        open_appeals=queries.open_appeal_count(db.session, filters.year),
        **context,
    )


class BulkResult:
    """What a bulk decision did: how many were decided, which were refused and why (grouped by
    the ledger's message), or why nothing was tried."""

    def __init__(self, decision: str = "", decided: int = 0, refused=None, error: str = ""):
        self.decision = decision
        self.decided = decided
        self.refused: dict[str, list[int]] = refused or {}
        self.error = error
        self.labels: dict[int, str] = {}

    @property
    def refused_count(self) -> int:
        return sum(len(ids) for ids in self.refused.values())

    def refuse(self, entry_id: int, message: str) -> None:
        self.refused.setdefault(message, []).append(entry_id)

    def summary(self) -> str:
        if self.error:
            return self.error
        label = DECISION_LABELS.get(self.decision, "审核")
        text = f"已{label} {self.decided} 条积分条目"
        if self.refused:
            text += f"，{self.refused_count} 条未能审核（原因见页面）"
        return text + "。"

    def stored(self) -> dict:
        return {
            "decision": self.decision,
            "decided": self.decided,
            "refused": [[message, ids] for message, ids in self.refused.items()],
            "error": self.error,
        }


def _stored_result(data) -> BulkResult | None:
    if not isinstance(data, dict):
        return None
    refused = {}
    for item in data.get("refused") or []:
        if isinstance(item, list) and len(item) == 2:
            refused[str(item[0])] = [i for i in item[1] if isinstance(i, int)]
    result = BulkResult(
        str(data.get("decision", "")), int(data.get("decided") or 0), refused, data.get("error", "")
    )
    _label_refused(result)
    return result


def _label_refused(result: BulkResult) -> None:
    """Tenant and rule of each refused entry the scope sees (an unknown id stays bare)."""
    ids = [i for ids in result.refused.values() for i in ids]
    if not ids:
        return
    names = queries.tenant_names(db.session)
    for entry_id in ids:
        entry = queries.visible_entry(db.session, entry_id)
        if entry is not None:
            rule = RULE_LABELS.get(entry.rule, entry.rule)
            result.labels[entry_id] = f"{names.get(entry.tenant_id, '')} · {rule}"


def _bulk_ids(result: BulkResult) -> list[int]:
    ids = []
    for raw in request.form.getlist("entry_ids"):
        entry_id = parse_id(raw)
        if entry_id is None:
            result.error = "所选条目编号无效，请刷新页面后重试。"
            return []
        if entry_id not in ids:
            ids.append(entry_id)
    if not ids:
        result.error = "请先勾选要审核的积分条目。"
    elif len(ids) > MAX_BULK:
        result.error = f"一次最多批量审核 {MAX_BULK} 条，请分批处理。"
    return ids


def _bulk_decide(actor) -> BulkResult:
    decision = request.form.get("decision", "")
    reason = request.form.get("reason", "")
    points = request.form.get("points", "")
    result = BulkResult(decision)
    ids = _bulk_ids(result)
    if result.error:
        return result
    if decision not in DECISION_KINDS:
        result.error = DECISION_MISSING
        return result
    if decision in (REJECTED, ADJUSTED) and not reason.strip():
        result.error = f"批量{DECISION_LABELS[decision]}须填写理由。"
        return result
    if decision == ADJUSTED and not points.strip():
        result.error = "批量调整须填写调整后的分值。"
        return result
    for entry_id in ids:
        if queries.visible_entry(db.session, entry_id) is None:
            result.refuse(entry_id, "积分条目不存在。")
            continue
        refusal = _decide_one(actor, entry_id, decision, points, reason)
        if refusal:
            result.refuse(entry_id, refusal.first_message)
        else:
            result.decided += 1
    _label_refused(result)
    return result


def _review_args_from(next_url: str) -> MultiDict:
    parts = urlsplit(next_url)
    if parts.path != url_for("assessment.review"):
        return MultiDict()
    return MultiDict(parse_qsl(parts.query))


@bp.route("/assessment/review/bulk", methods=["POST"])
@access(ASSESSORS)
def review_bulk():
    actor = current_actor()
    next_url = safe_next(request.form.get("next")) or url_for("assessment.review")
    result = _bulk_decide(actor)
    args = _review_args_from(next_url)
    level = "error" if result.error else ("warning" if result.refused else "success")
    if htmx.wants_fragment(REVIEW_TARGET):
        filters = _review_filters(args)
        context = _review_context(filters, parse_page(args.get("page")), result)
        body = render_template("assessment/_review_results.html", **context)
        response = make_response(body, 422 if result.error else 200)
        return htmx.add_toast(response, result.summary(), level)
    if result.error:
        filters = _review_filters(args)
        context = _review_context(filters, parse_page(args.get("page")), result)
        body = render_template(
            "assessment/review.html",
            years=queries.available_years(db.session),
            tenants=queries.tenants_in_order(db.session),
            bulk_values=request.form,
            **context,
        )
        return make_response(body, 422)
    session[BULK_RESULT_KEY] = result.stored()
    flash(result.summary(), level)
    return htmx.client_redirect(next_url)


# ---- the ranking (考核排名) and the exports ------------------------------------------------------


def _ranking_for(year: int):
    rules = service.rules_for(db.session, year)
    return rules, queries.ranking_rows(db.session, year, rules)


def _ranking_visible(actor, publication, locked: bool) -> bool:
    """Before 公示 the ranking is a draft for the assessors and the city only (DESIGN.md §4b)."""
    return actor.oversees_leads or publication is not None or locked


@bp.route("/assessment/ranking")
@access(SIGNED_IN)
def ranking_page():
    actor = current_actor()
    errors: list[str] = []
    year = queries.parse_year(request.args.get("year"), errors)
    publication = appeals.publication(db.session, year)
    locked = ledger.year_locked(db.session, year)
    visible = _ranking_visible(actor, publication, locked)
    rules, rows = _ranking_for(year) if visible else (service.rules_for(db.session, year), [])
    unscored = sorted(set(rules.unscored_kinds) | queries.NEVER_RANKED_KINDS)
    return render_template(
        "assessment/ranking.html",
        year=year,
        years=queries.available_years(db.session),
        errors=errors,
        rows=rows,
        visible=visible,
        chart=ranking.ranking_svg(rows) if visible else "",
        locked=locked,
        publication=publication,
        pending=ledger.pending_count(db.session, year),
        overseer=actor.oversees_leads,
        assessor=actor.has_role("assessor"),
        unscored=[KIND_LABELS.get(kind, kind) for kind in unscored],
        **vocabulary(),
    )


def _xlsx_response(data: bytes, name: str):
    response = send_file(
        io.BytesIO(data), mimetype=XLSX, as_attachment=True, download_name=name, max_age=0
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _export_year(year: int) -> int:
    """A year named in an export's path (its file name says it): one of the assessment's."""
    if not queries.FIRST_YEAR <= year <= queries.LAST_YEAR:
        abort(404)
    return year


@bp.route("/assessment/<int:year>/ranking.xlsx")
@access(SIGNED_IN)
def ranking_xlsx(year: int):
    year = _export_year(year)
    publication = appeals.publication(db.session, year)
    if not _ranking_visible(current_actor(), publication, ledger.year_locked(db.session, year)):
        flash(f"{year} 年度排名尚未公示，公示后方可下载。", "warning")
        return htmx.client_redirect(url_for("assessment.ranking_page", year=year))
    _rules, rows = _ranking_for(year)
    return _xlsx_response(ranking.ranking_workbook(year, rows), f"{year}年考核排名.xlsx")


@bp.route("/assessment/<int:year>/entries.xlsx")
@access(SIGNED_IN)
def entries_xlsx(year: int):
    """Every entry of the year the scope sees — all tenants for the city and assessors, the
    own tenant for everyone else (``?tenant=`` narrows an overseer's) — and the corrections,
    as the ranking counts them."""
    actor = current_actor()
    names = queries.tenant_names(db.session)
    filters = queries.parse_filters(
        request.args,
        tenant_choices=names if actor.oversees_leads else None,
        default_tenant=None if actor.oversees_leads else actor.tenant_id,
    )
    filters.year = _export_year(year)
    entries = db.session.scalars(queries.entries_statement(filters)).all()
    rows = [
        [
            view.id,
            view.tenant_name,
            view.rule_label,
            view.state.points,
            view.state_label,
            view.evidence.text(),
            view.state.decided_by or "",
            view.state.reason,
            *_appeal_cells(view.state.appeal),
        ]
        for view in queries.entry_views(db.session, entries, names)
    ]
    rows += [
        [
            row.id,
            names.get(row.tenant_id, ""),
            queries.CORRECTION_LABEL,
            row.points,
            queries.CORRECTION_LABEL,
            "年度锁定后更正",
            row.actor_name,
            row.reason,
            "",
            "",
        ]
        for row in queries.corrections(db.session, filters.year, filters.tenant)
    ]
    name = f"{filters.year}年积分条目"
    if filters.tenant:
        name += f"-{names.get(filters.tenant, '')}"
    return _xlsx_response(ranking.entries_workbook(filters.year, rows), f"{name}.xlsx")


def _appeal_cells(appeal) -> tuple[str, str]:
    if appeal is None:
        return "", ""
    filed = f"{appeal.appealed_by}：{appeal.text}"
    if appeal.open:
        return filed, "待处理"
    answer = f"{appeals.ANSWER_LABELS[appeal.outcome]}（{appeal.answered_by}）：{appeal.answer}"
    return filed, answer


# ---- the rules (计分规则) -----------------------------------------------------------------------


@bp.route("/assessment/rules")
@access(SIGNED_IN)
def rules_page():
    errors: list[str] = []
    year = queries.parse_year(request.args.get("year"), errors)
    rules = service.rules_for(db.session, year)
    return render_template(
        "assessment/rules.html",
        year=year,
        years=_rule_years(),
        errors=errors,
        rules=rules,
        lines=describe(rules),
        versions=queries.rule_versions(db.session, year),
        locked=ledger.year_locked(db.session, year),
        may_edit=current_actor().has_role("assessor"),
    )


def _rule_years() -> list[int]:
    years = set(queries.available_years(db.session))
    years.add(queries.current_year() + 1)
    return sorted(years, reverse=True)


def _rules_form_page(year: int, values: dict, errors: dict, status=None):
    body = render_template(
        "assessment/rules_form.html",
        year=year,
        years=_rule_years(),
        values=values,
        errors=errors,
        base_version=values.get("base_version") or queries.latest_version(db.session, year),
        max_tiers=rules_form.MAX_TIERS,
        stages=[(stage, STAGES[stage]) for stage in LIFECYCLE_STAGES],
        kinds=KIND_LABELS,
        locked=ledger.year_locked(db.session, year),
    )
    return form_response(body, errors, status=status)


def _save_rules(actor, year: int) -> tuple[dict, int | None, int | None]:
    """Append the form's rules as the year's next version; (errors, status, saved version)."""
    current = queries.latest_version(db.session, year)
    if ledger.year_locked(db.session, year):
        return {"year": f"{year} 年度已锁定，不能再修改计分规则。"}, 409, None
    if parse_id(request.form.get("base_version")) != current:
        message = f"本年度计分规则已被他人修改（现为第 {current} 版），请重新打开本页后再修改。"
        return {"base_version": message}, 409, None
    try:
        parsed = rules_form.parse_rules_form(request.form, year, current + 1)
    except rules_form.RulesFormError as exc:
        return exc.errors, None, None
    before = service.rules_for(db.session, year)
    row = ScoringRuleSet(
        year=year,
        version=parsed.rules.version,
        effective_from=parsed.rules.effective_from,
        rules=ledger.rules_to_json(parsed.rules),
        created_by_id=actor.user_id,
        created_at=utcnow(),
        reason=parsed.reason,
    )
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        message = "另一位考核员刚刚保存了本年度的新版本规则，请重新打开本页后再修改。"
        return {"base_version": message}, 409, None
    audit.record(
        db.session,
        actor,
        RULES_AUDIT_ACTION,
        object_type="scoring_rule_set",
        object_id=row.id,
        before=json.loads(ledger.rules_to_json(before)),
        after=json.loads(ledger.rules_to_json(parsed.rules)) | {"reason": parsed.reason},
    )
    db.session.commit()
    return {}, None, parsed.rules.version


@bp.route("/assessment/rules/edit", methods=["GET", "POST"])
@access(ASSESSORS)
def rules_edit():
    if request.method == "GET":
        year = queries.parse_year(request.args.get("year"), [])
        values = rules_form.values_from_rules(service.rules_for(db.session, year))
        return _rules_form_page(year, values, {})
    errors: dict[str, str] = {}
    year = posted_year(errors)
    if year is None:
        return _rules_form_page(queries.current_year(), {}, errors)
    errors, status, version = _save_rules(current_actor(), year)
    if errors:
        values = rules_form.values_from_form(request.form)
        if status == 409:
            values["base_version"] = request.form.get("base_version", "")
        return _rules_form_page(year, values, errors, status)
    flash(f"已保存 {year} 年度计分规则第 {version} 版。", "success")
    return htmx.client_redirect(url_for("assessment.rules_page", year=year))


# ---- locking a year and corrections -----------------------------------------------------------


def _lock_page(year: int, errors: dict, status=None):
    year_status = appeals.year_status(db.session, year)
    body = render_template(
        "assessment/lock.html",
        year=year,
        years=queries.available_years(db.session),
        status=year_status,
        refusal=year_status.lock_refusal(utcnow()),
        errors=errors,
    )
    return form_response(body, errors, status=status)


@bp.route("/assessment/lock", methods=["GET", "POST"])
@access(ASSESSORS)
def lock():
    if request.method == "GET":
        return _lock_page(queries.parse_year(request.args.get("year"), []), {})
    errors: dict[str, str] = {}
    year = posted_year(errors)
    if year is None:
        return _lock_page(queries.current_year(), errors)
    if request.form.get("confirm") != "1":
        return _lock_page(year, {"confirm": "请勾选确认后再锁定。"})
    try:
        appeals.lock_year(db.session, current_actor(), year)
    except ledger.LedgerError as exc:
        db.session.rollback()
        return _lock_page(year, exc.errors, exc.status)
    db.session.commit()
    flash(f"已锁定 {year} 年度考核积分；此后只能以更正条目调整。", "success")
    return htmx.client_redirect(url_for("assessment.ranking_page", year=year))


def _corrections_page(year: int, errors: dict, values, status=None):
    actor = current_actor()
    rules = service.rules_for(db.session, year)
    names = queries.tenant_names(db.session)
    body = render_template(
        "assessment/corrections.html",
        year=year,
        years=queries.available_years(db.session),
        locked=ledger.year_locked(db.session, year),
        tenants=[t for t in queries.ranked_tenants(db.session, rules) if t.id != actor.tenant_id],
        rows=queries.corrections(db.session, year),
        names=names,
        errors=errors,
        values=values,
    )
    return form_response(body, errors, status=status)


@bp.route("/assessment/corrections", methods=["GET", "POST"])
@access(ASSESSORS)
def corrections():
    if request.method == "GET":
        return _corrections_page(queries.parse_year(request.args.get("year"), []), {}, {})
    errors: dict[str, str] = {}
    year = posted_year(errors)
    tenant_id = parse_id(request.form.get("tenant"))
    if tenant_id is None:
        errors["tenant"] = "请选择要更正的单位。"
    if errors:
        return _corrections_page(year or queries.current_year(), errors, request.form)
    try:
        row = ledger.correct(
            db.session,
            current_actor(),
            year,
            tenant_id,
            request.form.get("points", ""),
            request.form.get("reason", ""),
        )
    except ledger.LedgerError as exc:
        db.session.rollback()
        return _corrections_page(year, exc.errors, request.form)
    db.session.commit()
    flash(f"已记录更正 {queries.number_text(row.points)} 分。", "success")
    return htmx.client_redirect(url_for("assessment.corrections", year=year))
