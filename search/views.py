"""The search page and the header's search-as-you-type list."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from whoosh.index import IndexError as WhooshError

from portal import htmx
from portal.access import access, roles
from portal.database import utcnow
from portal.extensions import db
from portal.leads import chains, codes
from portal.pagination import parse_page
from portal.validation import clean_query
from portal.workdays.calendar import local_date
from search import service
from search.extension import get_index
from search.sync import drain_quietly, pending
from tenants.scoping import require_scope

log = logging.getLogger(__name__)
bp = Blueprint("search", __name__)
# Who reads leads; the policy library will open search to every signed-in user.
SEARCH_READERS = roles("officer", "head", "assessor")
RESULTS_TARGET = "search-results"
SUGGEST_TARGET = "search-suggest"


INDEX_FAILURES = (OSError, WhooshError)
UNAVAILABLE = "搜索服务暂时不可用，请稍后再试；如持续出现，请联系系统管理员。"


def _search(filters, page: int, per_page: int = service.PER_PAGE):
    """The page of hits, or an empty page and a message when the index cannot be read."""
    try:
        _catch_up()
        hits = service.search_leads(
            db.session, get_index(), require_scope(), filters, page, per_page=per_page
        )
        return hits, ""
    except INDEX_FAILURES:
        log.exception("search index unavailable")
        db.session.rollback()
        return service.Page([], 0, 1, per_page), UNAVAILABLE


def _catch_up() -> None:
    """Changes committed by another process (or left by a crash) reach the index before this
    search reads it; a busy writer is not waited for."""
    if pending(db.session):
        drain_quietly(db.session, get_index())


@bp.route("/search")
@access(SEARCH_READERS)
def search_page():
    all_chains = chains.all_chains(db.session)
    today = local_date(utcnow())
    filters = service.parse_filters(
        request.args, codes.STAGES, {chain.id for chain in all_chains}, today
    )
    page, failure = _search(filters, parse_page(request.args.get("page")))
    context = {"page": page, "filters": filters, "stages": codes.STAGES, "failure": failure}
    if htmx.wants_fragment(RESULTS_TARGET):
        return render_template("search/_results.html", **context)
    return render_template(
        "search/search.html",
        chains=all_chains,
        orders=service.ORDERS,
        years=range(today.year, service.FIRST_YEAR - 1, -1),
        **context,
    )


@bp.route("/search/suggest")
@access(SEARCH_READERS)
def suggest():
    """The header box's list; a direct visit (no htmx) gets the full results page."""
    if not htmx.wants_fragment(SUGGEST_TARGET):
        return redirect(url_for("search.search_page", q=request.args.get("q") or None))
    filters = service.SearchFilters(q=clean_query(request.args.get("q")))
    page, failure = _search(filters, 1, per_page=service.SUGGEST_SIZE)
    return render_template("search/_suggest.html", page=page, filters=filters, failure=failure)
