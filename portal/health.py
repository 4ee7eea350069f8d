"""/healthz: are the database and the search index answering? No data, no sign-in."""

from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from portal.access import PUBLIC, access
from portal.extensions import db

bp = Blueprint("health", __name__)
# More changes than this waiting for the index means no drain is keeping up.
OUTBOX_BACKLOG = 1000


@bp.route("/healthz")
@access(PUBLIC)
def healthz():
    checks = {"database": _database_status(), "search_index": _index_status()}
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


def _index_status() -> dict:
    """The index opens and answers, and whether changes are piling up in the outbox (no counts:
    this page is public)."""
    from search.extension import get_index
    from search.sync import pending

    try:
        get_index().doc_count()
    except Exception:  # an unreadable or missing index folder; details stay in the log
        return {"status": "error"}
    try:
        backlog = pending(db.session) > OUTBOX_BACKLOG
    except Exception:
        db.session.rollback()
        return {"status": "error"}
    return {"status": "ok", "backlog": backlog}
