"""公示 and 申诉 pages (issue 5, point 4): publishing a year, appealing an entry, answering an
appeal, and the list of a year's appeals.

Views parse input, call ``portal.assessment.appeals`` (it decides who may do what, and when)
and render a page, or redirect back to the entry with a message."""

from __future__ import annotations

from flask import Blueprint, flash, render_template, request, url_for

from portal import htmx
from portal.access import SIGNED_IN, access, roles
from portal.assessment import appeals, ledger, queries
from portal.assessment.models import APPEAL_DECISION_KINDS, APPEAL_UPHELD
from portal.assessment.views import (
    ASSESSORS,
    entry_or_404,
    entry_page_response,
    posted_year,
    vocabulary,
)
from portal.database import utcnow
from portal.extensions import db
from portal.pagination import paginate, parse_page
from portal.web import current_actor, form_response
from portal.workdays.service import load_calendar

bp = Blueprint("appeals", __name__)

APPELLANTS = roles(*appeals.APPEAL_ROLES)
APPEALS_PER_PAGE = 30
OUTCOME_MISSING = "请选择处理结果：申诉成立或驳回申诉。"
APPEAL_FILTERS = {"open": "待处理", "answered": "已处理", "all": "全部"}


# ---- 公示 -------------------------------------------------------------------------------------


def _publish_page(year: int, errors: dict, values, status=None):
    body = render_template(
        "assessment/publish.html",
        year=year,
        years=queries.available_years(db.session),
        status=appeals.year_status(db.session, year),
        default_days=appeals.DEFAULT_APPEAL_DAYS,
        min_days=appeals.MIN_APPEAL_DAYS,
        max_days=appeals.MAX_APPEAL_DAYS,
        errors=errors,
        values=values,
    )
    return form_response(body, errors, status=status)


@bp.route("/assessment/publish", methods=["GET", "POST"])
@access(ASSESSORS)
def publish():
    if request.method == "GET":
        return _publish_page(queries.parse_year(request.args.get("year"), []), {}, {})
    errors: dict[str, str] = {}
    year = posted_year(errors)
    if year is None:
        return _publish_page(queries.current_year(), errors, request.form)
    if request.form.get("confirm") != "1":
        return _publish_page(year, {"confirm": "请勾选确认后再公示。"}, request.form)
    try:
        appeals.publish(db.session, current_actor(), year, request.form.get("working_days"))
    except ledger.LedgerError as exc:
        db.session.rollback()
        return _publish_page(year, exc.errors, request.form, exc.status)
    db.session.commit()
    flash(f"已公示 {year} 年度考核排名，各单位已收到通知。", "success")
    return htmx.client_redirect(url_for("assessment.ranking_page", year=year))


# ---- 申诉 -------------------------------------------------------------------------------------


@bp.route("/assessment/entries/<int:entry_id>/appeal", methods=["POST"])
@access(APPELLANTS)
def file_appeal(entry_id: int):
    entry = entry_or_404(entry_id)
    try:
        appeals.file_appeal(db.session, current_actor(), entry_id, request.form.get("text"))
    except ledger.LedgerError as exc:
        db.session.rollback()
        return entry_page_response(entry, exc.errors, request.form, exc.status)
    db.session.commit()
    flash(f"已对积分条目 #{entry_id} 提出申诉，考核办处理后将通知本单位。", "success")
    return htmx.client_redirect(url_for("assessment.entry_detail", entry_id=entry_id))


@bp.route("/assessment/entries/<int:entry_id>/appeal/answer", methods=["POST"])
@access(ASSESSORS)
def answer_appeal(entry_id: int):
    entry = entry_or_404(entry_id)
    outcome = request.form.get("outcome", "")
    if outcome not in APPEAL_DECISION_KINDS:
        return entry_page_response(entry, {"outcome": OUTCOME_MISSING}, request.form)
    try:
        appeals.answer_appeal(
            db.session,
            current_actor(),
            entry_id,
            outcome,
            points=request.form.get("points") if outcome == APPEAL_UPHELD else None,
            reason=request.form.get("reason", ""),
        )
    except ledger.LedgerError as exc:
        db.session.rollback()
        return entry_page_response(entry, exc.errors, request.form, exc.status)
    db.session.commit()
    flash(f"已处理积分条目 #{entry_id} 的申诉：{appeals.ANSWER_LABELS[outcome]}。", "success")
    return htmx.client_redirect(url_for("assessment.entry_detail", entry_id=entry_id))


# ---- the year's appeals -----------------------------------------------------------------------


def _appeal_filter(value: str | None, errors: list[str]) -> str:
    text = (value or "").strip()
    if text in APPEAL_FILTERS:
        return text
    if text:
        errors.append("申诉状态取值无效，已显示待处理的申诉。")
    return "open"


@bp.route("/assessment/appeals")
@access(SIGNED_IN)
def appeal_list():
    """A year's appeals the reader sees: the own tenant's, or every tenant's for the city and
    assessors (the ledger's scope decides); open ones first by default."""
    errors: list[str] = []
    year = queries.parse_year(request.args.get("year"), errors)
    which = _appeal_filter(request.args.get("state"), errors)
    page = paginate(
        db.session,
        queries.appealed_entries_statement(year, which),
        parse_page(request.args.get("page")),
        APPEALS_PER_PAGE,
    )
    rows = queries.entry_views(db.session, page.items)
    calendar = load_calendar(db.session)
    return render_template(
        "assessment/appeals.html",
        year=year,
        years=queries.available_years(db.session),
        which=which,
        filters=APPEAL_FILTERS,
        errors=errors,
        page=page,
        rows=rows,
        status=appeals.year_status(db.session, year, calendar)
        if current_actor().oversees_leads
        else None,
        publication=appeals.publication(db.session, year),
        now=utcnow(),
        **vocabulary(),
    )
