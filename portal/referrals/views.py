"""The referral pages (推送办理): the receiver's inbox, the sender's list, the city board, one
referral with the actions its viewer may take, and the city's deadline defaults.

Views stay thin: they read the request, call portal.referrals.service, and render. Every query
runs in the signed-in user's tenant scope, so another tenant's referral is simply not found (404).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal import htmx
from portal.access import AccessRule, access, city_roles, roles
from portal.database import utcnow
from portal.extensions import db
from portal.ids import parse_id
from portal.leads import codes
from portal.leads.models import LeadEvent
from portal.pagination import parse_page
from portal.referrals import queries
from portal.referrals import service as referrals
from portal.referrals.models import ExtensionRequest, Referral
from portal.referrals.service import ReferralError
from portal.web import current_actor
from portal.workdays.calendar import deadline_day, local_date
from portal.workdays.service import load_calendar

bp = Blueprint("referrals", __name__)


@dataclass(frozen=True)
class AnyOf(AccessRule):
    """Allowed when any one of ``rules`` allows (city roles or assessors of any tenant)."""

    rules: tuple[AccessRule, ...] = ()

    def allows(self, user) -> bool:
        return any(rule.allows(user) for rule in self.rules)


HANDLERS = roles("officer", "head")
READERS = roles("officer", "head", "assessor")
INBOX_RULE = AnyOf("officer,head|city_roles:admin", rules=(HANDLERS, city_roles("admin")))
BOARD_RULE = AnyOf(
    "city_roles:officer,head,admin|assessor",
    rules=(city_roles("officer", "head", "admin"), roles("assessor")),
)
CITY_ADMIN = city_roles("admin")
RESULTS = "referral-results"

# Filter choices of the lists: value -> label ("open"/"closed" group the states).
STATE_FILTERS = {"open": "在办（全部）", "closed": "已办结（全部）", **codes.REFERRAL_STATES}


class ActionForm(FlaskForm):
    """Carries the CSRF token; the fields are read and checked by the service."""


@bp.app_template_filter("due_date")
def due_date(deadline: datetime | None) -> str:
    """A deadline is 24:00 Asia/Shanghai at the end of a day: name that day, not the next."""
    return deadline_day(deadline).isoformat() if deadline is not None else ""


@bp.context_processor
def _vocabulary():
    return {"state_labels": codes.REFERRAL_STATES}


def _results_template(page: str, fragment: str) -> str:
    return fragment if htmx.wants_fragment(RESULTS) else page


# ---- lists -----------------------------------------------------------------------------------


@bp.route("/referrals")
@access(INBOX_RULE)
def inbox():
    actor = current_actor()
    if not actor.has_role("officer", "head"):
        return redirect(url_for("referrals.city_board"))  # the city admin: the whole city
    tab = request.args.get("tab", "")
    if tab not in queries.INBOX_TABS:
        tab = "pending"
    now, calendar = utcnow(), load_calendar(db.session)
    counts = queries.inbox_counts(db.session, actor.tenant_id, now)
    page = queries.inbox_page(
        db.session,
        actor.tenant_id,
        tab,
        parse_page(request.args.get("page")),
        counts[tab],
        now,
        calendar,
    )
    return render_template(
        _results_template("referrals/inbox.html", "referrals/_inbox_results.html"),
        tab=tab,
        tabs=queries.INBOX_TABS,
        counts=counts,
        page=page,
        city_view=actor.tenant_kind == "city",
    )


@bp.route("/referrals/sent")
@access(HANDLERS)
def outbox():
    actor = current_actor()
    state = request.args.get("state", "")
    state = state if state in STATE_FILTERS else ""
    overdue = request.args.get("overdue") == "1"
    now, calendar = utcnow(), load_calendar(db.session)
    page = queries.filtered_page(
        db.session,
        state=state,
        overdue=overdue,
        page=parse_page(request.args.get("page")),
        now=now,
        calendar=calendar,
        from_id=actor.tenant_id,
    )
    return render_template(
        _results_template("referrals/outbox.html", "referrals/_outbox_results.html"),
        page=page,
        state=state,
        overdue=overdue,
        states=STATE_FILTERS,
        overdue_total=queries.overdue_count(db.session, now, from_id=actor.tenant_id),
        form=ActionForm(),
    )


@bp.route("/referrals/all")
@access(BOARD_RULE)
def city_board():
    state = request.args.get("state", "")
    state = state if state in STATE_FILTERS else ""
    overdue = request.args.get("overdue") == "1"
    tenants = queries.tenants_by_id(db.session)
    from_id = parse_id(request.args.get("from"))
    to_id = parse_id(request.args.get("to"))
    from_id = from_id if from_id in tenants else None
    to_id = to_id if to_id in tenants else None
    now, calendar = utcnow(), load_calendar(db.session)
    page = queries.filtered_page(
        db.session,
        state=state,
        overdue=overdue,
        page=parse_page(request.args.get("page")),
        now=now,
        calendar=calendar,
        from_id=from_id,
        to_id=to_id,
    )
    by_state = queries.state_counts(db.session, from_id=from_id, to_id=to_id)
    return render_template(
        _results_template("referrals/board.html", "referrals/_board_results.html"),
        page=page,
        state=state,
        overdue=overdue,
        states=STATE_FILTERS,
        tenants=tenants,
        from_id=from_id,
        to_id=to_id,
        by_state=by_state,
        total=sum(by_state.values()),
        overdue_total=queries.overdue_count(db.session, now, from_id=from_id, to_id=to_id),
        form=ActionForm(),
    )


# ---- one referral ----------------------------------------------------------------------------


def _referral_or_404(referral_id: int) -> Referral:
    referral = db.session.get(Referral, referral_id)
    if referral is None:
        abort(404)
    return referral


def _allowed_actions(actor, referral: Referral, extensions, now: datetime) -> set[str]:
    """The action forms to offer: the services decide again on submit."""
    handler = actor.has_role("officer", "head")
    receiver = handler and referral.to_tenant_id == actor.tenant_id
    sender = handler and referral.from_tenant_id == actor.tenant_id
    state = referral.state
    deadline = referrals.open_deadline(referral)
    allowed = set()
    if receiver and state == "sent":
        allowed.add("accept")
        if not referral.return_refused and now <= referral.sign_by:
            allowed.add("request_return")
    if sender and state == "return_requested":
        allowed.add("decide_return")
    if sender and state in ("sent", "return_requested"):
        allowed.add("withdraw")
    if receiver and state in ("accepted", "reported"):
        allowed.update(("feedback", "land", "not_land"))
        if actor.has_role("head"):
            allowed.add("transfer")
    pending = any(e.state == "pending" for e in extensions)
    if receiver and deadline is not None and now <= deadline[1] and not pending:
        allowed.add("request_extension")
    if (
        handler
        and (sender or actor.tenant_kind == "city")
        and referrals.urgeable_deadline(referral, now) is not None
    ):
        allowed.add("urged_today" if referrals.urged_today(referral, now) else "urge")
    return allowed


def _render_detail(referral_id: int, *, errors=None, failed: str | None = None, status=200):
    referral = _referral_or_404(referral_id)
    actor = current_actor()
    now, calendar = utcnow(), load_calendar(db.session)
    extensions = queries.extensions_of(db.session, referral)
    allowed = _allowed_actions(actor, referral, extensions, now)
    deciding = {
        e.id
        for e in extensions
        if e.state == "pending" and referrals.may_decide_extension(actor, referral, e)
    }
    parent = db.session.get(Referral, referral.parent_id) if referral.parent_id else None
    transfer_choices, transfer_busy, transfer_returned = [], set(), set()
    if "transfer" in allowed:
        transfer_choices = referrals.transfer_choices(db.session, actor, referral)
        # Like the send form: units already working the lead are shown, greyed out.
        transfer_busy = referrals.busy_receiver_ids(db.session, referral.lead_id)
        transfer_returned = referrals.returned_tenant_ids(db.session, referral.lead_id)
    events = db.session.scalars(
        select(LeadEvent)
        .where(LeadEvent.referral_id == referral.id)
        .order_by(LeadEvent.occurred_at, LeadEvent.id)
    ).all()
    values = request.form if errors else {}
    errors = errors or {}
    form_shown = failed in allowed or failed in {f"decide_extension-{i}" for i in deciding}
    if errors.get("state"):
        summary = errors["state"]
    elif errors and not form_shown:  # the state moved on: the form is gone, say why here
        summary = "".join(errors.values())
    else:
        summary = "请修改标出的内容后再提交。" if errors else ""
    response = render_template(
        "referrals/detail.html",
        referral=referral,
        lead=referral.lead,
        t=referrals.timeliness(referral, now, calendar),
        deadline=referrals.open_deadline(referral),
        progress_due=referrals.progress_due(referral),
        feedback=queries.feedback_of(db.session, referral),
        extensions=extensions,
        deciding=deciding,
        parent=parent,
        parent_hidden=referral.parent_id is not None and parent is None,
        children=queries.children_of(db.session, referral),
        events=events,
        allowed=allowed,
        transfer_choices=transfer_choices,
        transfer_busy=transfer_busy,
        transfer_returned=transfer_returned,
        host_choices=referrals.host_choices(db.session, actor) if "land" in allowed else [],
        tenants=queries.tenants_by_id(db.session),
        errors=errors,
        error_summary=summary,
        failed=failed,
        values=values,
        form=ActionForm(),
        codes=codes,
        today=local_date(now).isoformat(),
    )
    return response, status


@bp.route("/referrals/<int:referral_id>")
@access(READERS)
def referral_detail(referral_id: int):
    return _render_detail(referral_id)


def _detail_url(referral_id: int) -> str:
    return url_for("referrals.referral_detail", referral_id=referral_id)


def _act(referral_id: int, name: str, action, success: str, *, one_button=False):
    """Run one action on the referral: commit, flash and go back to its page; or, when the
    service refuses, roll back and show why (field forms: the page again, 422)."""
    referral = _referral_or_404(referral_id)
    form = ActionForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        action(referral)
    except ReferralError as exc:
        db.session.rollback()
        if one_button:
            flash(exc.first_message, "error")
            return htmx.client_redirect(_detail_url(referral_id))
        response = make_response(
            *_render_detail(referral_id, errors=exc.errors, failed=name, status=422)
        )
        if htmx.is_htmx():
            htmx.add_toast(response, exc.first_message, "error")
        return response
    db.session.commit()
    flash(success, "success")
    return htmx.client_redirect(_detail_url(referral_id))


def _form(name: str) -> str:
    return request.form.get(name, "")


def _chosen(name: str, message: str) -> bool:
    """A yes/no decision from its two buttons ("1" / "0"); anything else decides nothing (the
    message goes where the page shows messages that belong to no field)."""
    value = _form(name)
    if value not in ("0", "1"):
        raise ReferralError({"state": message})
    return value == "1"


@bp.route("/referrals/<int:referral_id>/accept", methods=["POST"])
@access(HANDLERS)
def accept(referral_id: int):
    return _act(
        referral_id,
        "accept",
        lambda r: referrals.accept(db.session, current_actor(), r),
        "已签收，请在反馈时限内报告对接情况。",
        one_button=True,
    )


@bp.route("/referrals/<int:referral_id>/return", methods=["POST"])
@access(HANDLERS)
def request_return(referral_id: int):
    return _act(
        referral_id,
        "request_return",
        lambda r: referrals.request_return(
            db.session, current_actor(), r, reason=_form("reason"), text=_form("text")
        ),
        "已提交退回申请，等待推送单位审核。",
    )


@bp.route("/referrals/<int:referral_id>/return/decide", methods=["POST"])
@access(HANDLERS)
def decide_return(referral_id: int):
    agree = _form("agree") == "1"
    return _act(
        referral_id,
        "decide_return",
        lambda r: referrals.decide_return(
            db.session,
            current_actor(),
            r,
            agree=_chosen("agree", "请选择同意退回或不同意退回。"),
            note=_form("note"),
        ),
        "已同意退回。" if agree else "已不同意退回，原时限不变，接收单位须签收办理。",
    )


@bp.route("/referrals/<int:referral_id>/withdraw", methods=["POST"])
@access(HANDLERS)
def withdraw(referral_id: int):
    return _act(
        referral_id,
        "withdraw",
        lambda r: referrals.withdraw(db.session, current_actor(), r, note=_form("note")),
        "已撤回推送。",
        one_button=True,
    )


@bp.route("/referrals/<int:referral_id>/transfer", methods=["POST"])
@access(HANDLERS)
def transfer(referral_id: int):
    def run(referral):
        referrals.transfer(
            db.session,
            current_actor(),
            referral,
            to_tenant_id=_form("to_tenant_id"),
            note=_form("note"),
            sign_days=_form("sign_days"),
            report_days=_form("report_days"),
            override_returned=_form("override_returned") == "1",
        )

    return _act(referral_id, "transfer", run, "已转交，本单位作为推送方继续跟踪。")


@bp.route("/referrals/<int:referral_id>/feedback", methods=["POST"])
@access(HANDLERS)
def feedback(referral_id: int):
    return _act(
        referral_id,
        "feedback",
        lambda r: referrals.add_feedback(db.session, current_actor(), r, request.form),
        "已提交对接反馈。",
    )


@bp.route("/referrals/<int:referral_id>/extension", methods=["POST"])
@access(HANDLERS)
def request_extension(referral_id: int):
    return _act(
        referral_id,
        "request_extension",
        lambda r: referrals.request_extension(
            db.session, current_actor(), r, new_date=_form("new_date"), reason=_form("reason")
        ),
        "已提交延期申请，等待审批。",
    )


@bp.route("/referrals/extensions/<int:extension_id>/decide", methods=["POST"])
@access(HANDLERS)
def decide_extension(extension_id: int):
    row = db.session.get(ExtensionRequest, extension_id)
    if row is None:
        abort(404)
    approve = _form("approve") == "1"
    return _act(
        row.referral_id,
        f"decide_extension-{row.id}",
        lambda r: referrals.decide_extension(
            db.session,
            current_actor(),
            row,
            approve=_chosen("approve", "请选择同意延期或不同意。"),
            note=_form("note"),
        ),
        "已同意延期。" if approve else "已不同意延期。",
    )


@bp.route("/referrals/<int:referral_id>/land", methods=["POST"])
@access(HANDLERS)
def land(referral_id: int):
    return _act(
        referral_id,
        "land",
        lambda r: referrals.close_landed(
            db.session,
            current_actor(),
            r,
            host_tenant_id=_form("host_tenant_id"),
            signed_on=_form("signed_on"),
            signed_amount=_form("signed_amount"),
        ),
        "已登记落地，推送办结。",
    )


@bp.route("/referrals/<int:referral_id>/not-landed", methods=["POST"])
@access(HANDLERS)
def not_land(referral_id: int):
    return _act(
        referral_id,
        "not_land",
        lambda r: referrals.close_not_landed(
            db.session, current_actor(), r, reason=_form("reason"), note=_form("note")
        ),
        "已登记未落地，推送办结。",
    )


@bp.route("/referrals/<int:referral_id>/urge", methods=["POST"])
@access(HANDLERS)
def urge(referral_id: int):
    return _act(
        referral_id,
        "urge",
        lambda r: referrals.urge(db.session, current_actor(), r, note=_form("note")),
        "已催办，接收单位会收到提醒。",
        one_button=True,
    )


# ---- the city's defaults ---------------------------------------------------------------------


@bp.route("/admin/referral-settings", methods=["GET", "POST"])
@access(CITY_ADMIN)
def settings():
    form = ActionForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            changed = referrals.set_default_days(
                db.session,
                current_actor(),
                sign_days=_form("sign_days"),
                report_days=_form("report_days"),
            )
        except ReferralError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            if changed:
                flash("已保存推送时限默认值，此后新推送按新时限计算。", "success")
            else:
                flash("推送时限默认值没有变化，无需保存。", "info")
            return redirect(url_for("referrals.settings"))
    sign, report = referrals.default_days(db.session)
    values = request.form if errors else {"sign_days": sign, "report_days": report}
    return render_template(
        "referrals/settings.html",
        form=form,
        errors=errors,
        values=values,
        max_days=referrals.MAX_DEADLINE_DAYS,
    ), (422 if errors else 200)
