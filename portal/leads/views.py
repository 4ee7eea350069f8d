"""Lead pages (招商线索: list, register, edit, send, lifecycle) and the city admin's
industry-chain list (产业链), from which leads pick their chain."""

from __future__ import annotations

from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm
from sqlalchemy import select

from portal import htmx
from portal.access import access, city_roles, roles
from portal.database import utcnow
from portal.extensions import db
from portal.ids import parse_id
from portal.leads import chains, codes, queries, service
from portal.leads.models import IndustryChain, Lead
from portal.pagination import parse_page
from portal.referrals import service as referrals
from portal.referrals.models import Referral
from portal.web import SHANGHAI, apply_toggle, current_actor, form_response
from portal.workdays.calendar import local_date
from portal.workdays.service import load_calendar
from tenants.admin import filter_tenants
from tenants.models import TENANT_KINDS, Tenant

bp = Blueprint("leads", __name__)

CITY_ADMIN = city_roles("admin")


class ChainForm(FlaskForm):
    """Carries the CSRF token; the fields are read and checked by the service."""


def _chain_or_404(chain_id: int) -> IndustryChain:
    chain = db.session.get(IndustryChain, chain_id)
    if chain is None:
        abort(404)
    return chain


@bp.route("/admin/chains", methods=["GET", "POST"])
@access(CITY_ADMIN)
def chain_list():
    form = ChainForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            chain = chains.add_chain(
                db.session,
                current_actor(),
                name=request.form.get("name", ""),
                sort_order=request.form.get("sort_order", ""),
            )
        except chains.ChainInputError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"已新增产业链“{chain.name}”。", "success")
            return redirect(url_for("leads.chain_list"))
    rows = chains.all_chains(db.session)
    return render_template(
        "leads/chains.html",
        form=form,
        errors=errors,
        rows=rows,
        values=request.form if errors else {},
    ), (422 if errors else 200)


@bp.route("/admin/chains/<int:chain_id>/edit", methods=["GET", "POST"])
@access(CITY_ADMIN)
def chain_edit(chain_id: int):
    chain = _chain_or_404(chain_id)
    form = ChainForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            chains.update_chain(
                db.session,
                current_actor(),
                chain,
                name=request.form.get("name", ""),
                sort_order=request.form.get("sort_order", ""),
            )
        except chains.ChainInputError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash("已保存。", "success")
            return redirect(url_for("leads.chain_list"))
    values = request.form if errors else {"name": chain.name, "sort_order": chain.sort_order}
    return render_template(
        "leads/chain_form.html", form=form, errors=errors, chain=chain, values=values
    ), (422 if errors else 200)


@bp.route("/admin/chains/<int:chain_id>/active", methods=["POST"])
@access(CITY_ADMIN)
def chain_set_active(chain_id: int):
    chain = _chain_or_404(chain_id)
    active = request.form.get("active") == "1"
    apply_toggle(
        lambda: chains.set_chain_active(db.session, current_actor(), chain, active),
        f"已{'启用' if active else '停用'}产业链“{chain.name}”。",
    )
    return redirect(url_for("leads.chain_list"))


# ---- leads (招商线索) ------------------------------------------------------------------------

LEAD_READERS = roles("officer", "head", "assessor")
LEAD_HANDLERS = roles("officer", "head")
LEAD_FIELDS = (
    "title",
    "company",
    "credit_code",
    "company_origin",
    "chain_id",
    "planned_investment",
    "land_need",
    "description",
    "contact_name",
    "contact_phone",
    "source_channel",
    "stage",
)
LIST_TARGET = "lead-results"


class LeadForm(FlaskForm):
    """Carries the CSRF token of the lead forms; the service reads and checks the fields."""


def _lead_or_404(lead_id: int) -> Lead:
    lead = db.session.get(Lead, lead_id)
    if lead is None:
        abort(404)
    return lead


def _is_handler(actor) -> bool:
    return actor.has_role("officer", "head")


def _may_edit(actor, lead: Lead) -> bool:
    """Owner tenant's officer or head, in every stage: after landing the record can still be
    corrected (the stage itself then moves only through 落地后进展, see service.update_lead)."""
    return _is_handler(actor) and lead.tenant_id == actor.tenant_id


def _may_send(actor, lead: Lead) -> bool:
    """Owner tenant's officer or head, while the lead has neither landed nor been terminated."""
    return (
        _is_handler(actor)
        and lead.tenant_id == actor.tenant_id
        and lead.host_tenant_id is None
        and lead.stage != "terminated"
    )


def _may_record_stage(actor, lead: Lead) -> bool:
    return (
        _is_handler(actor)
        and lead.host_tenant_id is not None
        and lead.host_tenant_id == actor.tenant_id
        and lead.stage != "terminated"
    )


def due_text(moment) -> str:
    """A deadline in Asia/Shanghai time; a deadline at midnight reads as 24:00 of the day before,
    the way the notifications put it."""
    if moment is None:
        return ""
    local = moment.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second) == (0, 0, 0):
        return (local - timedelta(days=1)).strftime("%Y-%m-%d") + " 24:00"
    return local.strftime("%Y-%m-%d %H:%M")


def _filter_choices():
    all_chains = chains.all_chains(db.session)
    tenants = filter_tenants(db.session)
    return all_chains, tenants


@bp.route("/leads")
@access(LEAD_READERS)
def lead_list():
    filters = queries.parse_filters(request.args)
    page = queries.lead_page(db.session, filters, parse_page(request.args.get("page")))
    context = {
        "page": page,
        "filters": filters,
        "stages": codes.STAGES,
        "five_lists": codes.FIVE_LISTS,
        "sorts": queries.SORTS,
        "may_create": _is_handler(current_actor()),
    }
    if htmx.wants_fragment(LIST_TARGET):
        return render_template("leads/_lead_rows.html", **context)
    all_chains, tenants = _filter_choices()
    return render_template("leads/list.html", chains=all_chains, tenants=tenants, **context)


def _form_context(values, errors, lead: Lead | None = None) -> dict:
    stages = codes.PRE_LANDING_STAGES
    if lead is not None and lead.stage not in codes.PRE_LANDING_STAGES:
        stages = (lead.stage,)
    chain_options = chains.active_chains(db.session)
    if lead is not None and lead.chain is not None and not lead.chain.active:
        chain_options = [lead.chain, *chain_options]
    return {
        "values": values,
        "errors": errors,
        "lead": lead,
        "chain_options": chain_options,
        "channels": codes.SOURCE_CHANNELS,
        "stage_options": {code: codes.STAGES[code] for code in stages},
    }


@bp.route("/leads/new", methods=["GET", "POST"])
@access(LEAD_HANDLERS)
def lead_new():
    form = LeadForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            data = service.parse_lead_input(db.session, request.form)
            lead = service.create_lead(db.session, current_actor(), data)
        except service.LeadError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash(f"已登记线索“{lead.title}”（{lead.code}）。", "success")
            return htmx.client_redirect(url_for("leads.lead_detail", lead_id=lead.id))
    values = request.form if errors else {"stage": "lead"}
    body = render_template("leads/lead_form.html", form=form, **_form_context(values, errors))
    return form_response(body, errors)


def _lead_values(lead: Lead) -> dict:
    contact = service.contact_of(db.session, lead)
    return {
        "title": lead.title,
        "company": lead.company,
        "credit_code": lead.credit_code or "",
        "company_origin": lead.company_origin,
        "chain_id": str(lead.chain_id or ""),
        "planned_investment": "" if lead.planned_investment is None else lead.planned_investment,
        "land_need": "" if lead.land_need is None else f"{lead.land_need:g}",
        "description": lead.description,
        "contact_name": contact.contact_name if contact else "",
        "contact_phone": contact.contact_phone if contact else "",
        "source_channel": lead.source_channel,
        "stage": lead.stage,
        "version": lead.version,
    }


def _require_owner(lead: Lead):
    actor = current_actor()
    if lead.tenant_id != actor.tenant_id:
        raise PermissionError("only the owner tenant edits or sends its lead")
    return actor


@bp.route("/leads/<int:lead_id>/edit", methods=["GET", "POST"])
@access(LEAD_HANDLERS)
def lead_edit(lead_id: int):
    lead = _lead_or_404(lead_id)
    actor = _require_owner(lead)
    form = LeadForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        allowed = (
            codes.PRE_LANDING_STAGES if lead.stage in codes.PRE_LANDING_STAGES else (lead.stage,)
        )
        version = parse_id(request.form.get("version"))
        try:
            data = service.parse_lead_input(db.session, request.form, allowed_stages=allowed)
            # A form without a readable version cannot prove it saw the latest edit: refuse it.
            service.update_lead(db.session, actor, lead, data, version or -1)
        except service.LeadError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            db.session.commit()
            flash("已保存线索信息。", "success")
            return htmx.client_redirect(url_for("leads.lead_detail", lead_id=lead.id))
    values = request.form if errors else _lead_values(lead)
    body = render_template(
        "leads/lead_form.html", form=form, **_form_context(values, errors, lead=lead)
    )
    return form_response(body, errors, conflict_field="version")


def _referral_rows(lead: Lead):
    rows = db.session.scalars(
        select(Referral).where(Referral.lead_id == lead.id).order_by(Referral.sent_at, Referral.id)
    ).all()
    calendar = load_calendar(db.session)
    now = utcnow()
    return [(ref, referrals.timeliness(ref, now, calendar)) for ref in rows]


def _render_detail(lead: Lead, stage_errors=None, stage_values=None):
    actor = current_actor()
    stages = service.stages_of(db.session, lead)
    floor = stages[-1].on_date if stages else lead.signed_on
    current = (
        codes.LIFECYCLE_STAGES.index(lead.stage) if lead.stage in codes.LIFECYCLE_STAGES else -1
    )
    next_stages = {code: codes.STAGES[code] for code in codes.LIFECYCLE_STAGES[current + 1 :]}
    next_stages["terminated"] = codes.STAGES["terminated"]
    tenant_names = dict(db.session.execute(select(Tenant.id, Tenant.name)).all())
    body = render_template(
        "leads/detail.html",
        form=LeadForm(),
        lead=lead,
        contact=service.contact_of(db.session, lead),
        referral_rows=_referral_rows(lead),
        stages=stages,
        events=service.timeline(db.session, lead),
        tenant_names=tenant_names,
        codes=codes,
        may_edit=_may_edit(actor, lead),
        may_send=_may_send(actor, lead),
        may_record_stage=_may_record_stage(actor, lead),
        next_stages=next_stages,
        stage_floor=floor,
        today=local_date(utcnow()),
        stage_errors=stage_errors or {},
        stage_values=stage_values or {},
        due_text=due_text,
    )
    return form_response(body, stage_errors or {})


@bp.route("/leads/<int:lead_id>")
@access(LEAD_READERS)
def lead_detail(lead_id: int):
    return _render_detail(_lead_or_404(lead_id))


@bp.route("/leads/<int:lead_id>/stage", methods=["POST"])
@access(LEAD_HANDLERS)
def lead_stage(lead_id: int):
    lead = _lead_or_404(lead_id)
    form = LeadForm()
    if form.validate_on_submit():
        stage = request.form.get("stage", "")
        try:
            row = service.record_stage(
                db.session,
                current_actor(),
                lead,
                stage=stage,
                on_date=request.form.get("on_date", ""),
                reason=request.form.get("reason", ""),
            )
        except service.LeadError as exc:
            db.session.rollback()
            db.session.refresh(lead)
            return _render_detail(lead, stage_errors=exc.errors, stage_values=request.form)
        db.session.commit()
        flash(f"已登记“{codes.STAGES[row.stage]}”（{row.on_date.isoformat()}）。", "success")
    return htmx.client_redirect(url_for("leads.lead_detail", lead_id=lead.id))


@bp.route("/leads/<int:lead_id>/send", methods=["GET", "POST"])
@access(LEAD_HANDLERS)
def lead_send(lead_id: int):
    lead = _lead_or_404(lead_id)
    actor = _require_owner(lead)
    detail_url = url_for("leads.lead_detail", lead_id=lead.id)
    if not _may_send(actor, lead):
        flash("该线索已落地或已终止，不能再推送。", "error")
        return htmx.client_redirect(detail_url)
    form = LeadForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            sent = referrals.send_lead(
                db.session,
                actor,
                lead,
                to_tenant_ids=request.form.getlist("to_tenant_ids"),
                note=request.form.get("note", ""),
                sign_days=request.form.get("sign_days", ""),
                report_days=request.form.get("report_days", ""),
                override_returned=request.form.get("override_returned") == "1",
            )
        except referrals.ReferralError as exc:
            db.session.rollback()
            errors = exc.errors
        else:
            names = "、".join(ref.to_tenant.name for ref in sent)
            db.session.commit()
            flash(f"已推送给{names}。", "success")
            return htmx.client_redirect(detail_url)
    sign_days, report_days = referrals.default_days(db.session)
    choices = [t for t in referrals.receiver_choices(db.session, actor) if t.id != lead.tenant_id]
    busy = {ref.to_tenant_id for ref, _ in _referral_rows(lead) if ref.state in codes.OPEN_STATES}
    if errors:
        values = {
            "note": request.form.get("note", ""),
            "sign_days": request.form.get("sign_days", ""),
            "report_days": request.form.get("report_days", ""),
            "override_returned": request.form.get("override_returned") == "1",
        }
        selected = set(request.form.getlist("to_tenant_ids"))
    else:
        values = {"note": "", "sign_days": sign_days, "report_days": report_days}
        selected = set()
    body = render_template(
        "leads/send.html",
        form=form,
        lead=lead,
        errors=errors,
        values=values,
        selected=selected,
        choices=choices,
        returned=referrals.returned_tenant_ids(db.session, lead.id),
        busy=busy,
        tenant_kinds=TENANT_KINDS,
    )
    return form_response(body, errors)
