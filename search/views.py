"""The search page and the header's search-as-you-type list."""

from __future__ import annotations

import logging

from flask import Blueprint, redirect, render_template, request, url_for
from whoosh.index import IndexError as WhooshError

from portal import htmx
from portal.access import SIGNED_IN, access
from portal.database import utcnow
from portal.extensions import db
from portal.leads import chains, codes
from portal.pagination import parse_page
from portal.policies.models import VALIDITY
from portal.validation import clean_query
from portal.web import current_actor
from portal.workdays.calendar import local_date
from search import service
from search.extension import get_index
from search.sync import drain_quietly, pending
from tenants.admin import filter_tenants
from tenants.scoping import require_scope

log = logging.getLogger(__name__)
bp = Blueprint("search", __name__)
# Everyone signed in searches policies; those who read leads search leads too.
SEARCH_READERS = SIGNED_IN
LEAD_READER_ROLES = ("officer", "head", "assessor")
RESULTS_TARGET = "search-results"
SUGGEST_TARGET = "search-suggest"


INDEX_FAILURES = (OSError, WhooshError)
UNAVAILABLE = "搜索服务暂时不可用，请稍后再试；如持续出现，请联系系统管理员。"


def searchable_kinds() -> dict[str, str]:
    if current_actor().has_role(*LEAD_READER_ROLES):
        return service.KINDS
    return {"policy": service.KINDS["policy"]}


def _search(filters, page: int, per_page: int = service.PER_PAGE, with_counts: bool = False):
    """The results, or empty ones and a message when the index cannot be read."""
    try:
        _catch_up()
        results = service.search(
            db.session,
            get_index(),
            require_scope(),
            filters,
            page,
            per_page=per_page,
            kinds=searchable_kinds(),
            with_counts=with_counts,
        )
        return results, ""
    except INDEX_FAILURES:
        log.exception("search index unavailable")
        db.session.rollback()
        return service.SearchResults(service.Page([], 0, 1, per_page)), UNAVAILABLE


def _catch_up() -> None:
    """Changes committed by another process (or left by a crash) reach the index before this
    search reads it; a busy writer is not waited for."""
    if pending(db.session):
        drain_quietly(db.session, get_index())


@bp.route("/search")
@access(SEARCH_READERS)
def search_page():
    kinds = searchable_kinds()
    all_chains = chains.all_chains(db.session) if "lead" in kinds else []
    tenants = filter_tenants(db.session)
    today = local_date(utcnow())
    filters = service.parse_filters(
        request.args,
        codes.STAGES if "lead" in kinds else {},
        {chain.id for chain in all_chains},
        today,
        kinds=kinds,
        tenant_ids={tenant.id for tenant in tenants},
        validity=VALIDITY,
    )
    results, failure = _search(filters, parse_page(request.args.get("page")), with_counts=True)
    context = {
        "page": results.page,
        "counts": results.counts,
        "kinds": kinds,
        "filters": filters,
        "stages": codes.STAGES,
        "validity": VALIDITY,
        "failure": failure,
    }
    if htmx.wants_fragment(RESULTS_TARGET):
        return render_template("search/_results.html", **context)
    return render_template(
        "search/search.html",
        chains=all_chains,
        tenants=tenants,
        orders=service.ORDERS,
        years=range(today.year, today.year - 15, -1),
        **context,
    )


@bp.route("/search/suggest")
@access(SEARCH_READERS)
def suggest():
    """The header box's list; a direct visit (no htmx) gets the full results page."""
    if not htmx.wants_fragment(SUGGEST_TARGET):
        return redirect(url_for("search.search_page", q=request.args.get("q") or None))
    filters = service.SearchFilters(q=clean_query(request.args.get("q")))
    results, failure = _search(filters, 1, per_page=service.SUGGEST_SIZE)
    return render_template(
        "search/_suggest.html",
        page=results.page,
        filters=filters,
        failure=failure,
        kinds=searchable_kinds(),
    )
