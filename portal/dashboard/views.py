"""The landing page, shaped by the tenant kind of the signed-in user."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal.access import SIGNED_IN, access
from portal.dashboard import service
from portal.extensions import db

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@access(SIGNED_IN)
def index():
    user = current_user._get_current_object()
    summary = service.dashboard_summary(db.session, user)
    return render_template("dashboard/index.html", summary=summary, user=user)
