"""The audit log, read by admins within their scope (the city admin: every tenant)."""

from __future__ import annotations

import contextlib
import json
from datetime import date, datetime, time, timedelta

from flask import Blueprint, render_template, request
from flask_login import current_user
from sqlalchemy import select

from portal import htmx
from portal.access import access, roles
from portal.audit.models import AuditEvent
from portal.audit.service import ACTION_LABELS
from portal.extensions import db
from portal.ids import parse_id
from portal.pagination import paginate, parse_page
from portal.validation import filter_day
from portal.web import SHANGHAI
from tenants.admin import is_city_admin
from tenants.models import Tenant
from tenants.scoping import wider_scope

bp = Blueprint("audit", __name__, url_prefix="/admin/audit")


def _shanghai_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


@bp.route("")
@access(roles("admin"))
def event_list():
    me = current_user._get_current_object()
    city = is_city_admin(me)
    action = request.args.get("action", "")
    actor = (request.args.get("actor") or "").strip()[:64]
    tenant_filter = parse_id(request.args.get("tenant")) if city else None
    date_errors: list[str] = []
    date_from = filter_day(request.args.get("from"), "起始日期", date_errors)
    date_to = filter_day(request.args.get("to"), "结束日期", date_errors)
    if date_from and date_to and date_from > date_to:
        date_errors.append("起始日期不能晚于结束日期。")
        date_from = date_to = None
    date_error = " ".join(date_errors) or None
    scope = wider_scope("city_oversight", me.tenant_id) if city else contextlib.nullcontext()
    with scope:
        statement = select(AuditEvent).order_by(AuditEvent.id.desc())
        if action in ACTION_LABELS:
            statement = statement.where(AuditEvent.action == action)
        if actor:
            statement = statement.where(
                AuditEvent.actor_name.contains(actor.lower(), autoescape=True)
            )
        if tenant_filter:
            statement = statement.where(AuditEvent.tenant_id == tenant_filter)
        if date_from:
            statement = statement.where(AuditEvent.occurred_at >= _shanghai_midnight(date_from))
        if date_to:
            end = _shanghai_midnight(date_to + timedelta(days=1))
            statement = statement.where(AuditEvent.occurred_at < end)
        page = paginate(db.session, statement, parse_page(request.args.get("page")), per_page=30)
    tenants = {t.id: t for t in db.session.scalars(select(Tenant)).all()}
    template = "audit/_rows.html" if htmx.wants_fragment("audit-results") else "audit/list.html"
    return render_template(
        template,
        page=page,
        tenants=tenants,
        city=city,
        labels=ACTION_LABELS,
        action=action,
        actor=actor,
        tenant_filter=tenant_filter,
        date_from=request.args.get("from", "") if not date_error else "",
        date_to=request.args.get("to", "") if not date_error else "",
        date_error=date_error,
        pretty=_pretty_json,
    )


def _pretty_json(value: str) -> str:
    if not value:
        return ""
    return json.dumps(json.loads(value), ensure_ascii=False, indent=1)
