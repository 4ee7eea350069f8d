"""The notification bell and list. A user only ever sees and marks their own notifications:
every query filters by the signed-in user's id (the tenant scope alone would show colleagues')."""

from __future__ import annotations

from flask import Blueprint, abort, flash, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from portal import htmx
from portal.access import SIGNED_IN, access
from portal.extensions import db
from portal.notifications import service
from portal.notifications.kinds import KIND_LABELS
from portal.notifications.models import Notification
from portal.pagination import paginate, parse_page
from portal.web import safe_next

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

PER_PAGE = 20


def _me() -> int:
    return current_user.id


@bp.route("/bell")
@access(SIGNED_IN)
def bell():
    """The header's unread count; the header polls it (hx-trigger "load, every 60s")."""
    return render_template(
        "notifications/_bell.html", unread=service.unread_count(db.session, _me())
    )


@bp.route("")
@access(SIGNED_IN)
def notification_list():
    unread_only = request.args.get("filter") == "unread"
    statement = service.for_user(db.session, _me(), unread_only=unread_only)
    page = paginate(db.session, statement, parse_page(request.args.get("page")), PER_PAGE)
    template = (
        "notifications/_rows.html"
        if htmx.wants_fragment("notification-results")
        else "notifications/list.html"
    )
    return render_template(
        template,
        page=page,
        unread_only=unread_only,
        unread=service.unread_count(db.session, _me()),
        labels=KIND_LABELS,
    )


@bp.route("/<int:notification_id>/read", methods=["POST"])
@access(SIGNED_IN)
def mark_read(notification_id: int):
    notification = db.session.scalar(
        select(Notification).where(
            Notification.id == notification_id, Notification.user_id == _me()
        )
    )
    if notification is None:
        abort(404)
    target = safe_next(notification.url) or url_for("notifications.notification_list")
    service.mark_read(db.session, _me(), notification_id)
    db.session.commit()
    return htmx.client_redirect(target)


@bp.route("/read-all", methods=["POST"])
@access(SIGNED_IN)
def mark_all_read():
    count = service.mark_read(db.session, _me())
    db.session.commit()
    flash(f"已将 {count} 条通知标为已读。" if count else "没有未读通知。", "success")
    back = "unread" if request.form.get("filter") == "unread" else None
    return htmx.client_redirect(url_for("notifications.notification_list", filter=back))
