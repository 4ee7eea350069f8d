"""The search index inside the Flask app: where it lives, one SearchIndex per process, and the
drain after every request that committed outbox rows."""

from __future__ import annotations

import logging
import os
import threading

from flask import current_app

from search import outbox
from search.index import SearchIndex

log = logging.getLogger(__name__)
EXTENSION = "search_index"


def init_app(app) -> None:
    from tenants.scoping import TenantSession

    app.config.setdefault(
        "SEARCH_INDEX_PATH",
        os.environ.get("SEARCH_INDEX_PATH", "").strip()
        or os.path.join(app.instance_path, "search-index"),
    )
    # Off only in tests that exercise the outbox by hand.
    app.config.setdefault("SEARCH_DRAIN_AFTER_REQUEST", True)
    outbox.install(TenantSession)
    app.after_request(_drain_after_request)


_OPENING = threading.Lock()


def get_index(app=None) -> SearchIndex:
    """This process's SearchIndex (opened on first use, by one thread)."""
    app = app or current_app._get_current_object()
    index = app.extensions.get(EXTENSION)
    if index is None:
        with _OPENING:
            index = app.extensions.get(EXTENSION)
            if index is None:
                index = SearchIndex(app.config["SEARCH_INDEX_PATH"])
                app.extensions[EXTENSION] = index
    return index


def _drain_after_request(response):
    from portal.extensions import db
    from search.sync import drain_quietly

    session = db.session()
    if not session.info.pop(outbox.COMMITTED, False):
        return response
    if not current_app.config["SEARCH_DRAIN_AFTER_REQUEST"]:
        return response
    try:
        drain_quietly(session, get_index())
    except Exception:  # the rows stay in the outbox for the next drain; the user's change stands
        log.exception("search drain after request failed; `flask search sync` will retry")
    return response
