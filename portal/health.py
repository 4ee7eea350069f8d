"""/healthz: is the database (and, later, the search index) answering? No data, no sign-in."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.access import PUBLIC, access
from portal.extensions import db

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@access(PUBLIC)
def healthz():
    checks = {"database": _database_status()}
    healthy = all(check["status"] == "ok" for check in checks.values())
    body = {"status": "ok" if healthy else "error", **checks}
    return jsonify(body), 200 if healthy else 503


def _database_status() -> dict:
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means "not answering"; details stay in the log
        db.session.rollback()
        return {"status": "error"}
    return {"status": "ok"}
