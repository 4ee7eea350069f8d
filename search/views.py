"""The search page and the header's search-as-you-type list."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from sqlalchemy import select

from portal import htmx
from portal.access import access, roles
from portal.database import utcnow
from portal.extensions import db
from portal.leads import codes
from portal.leads.models import IndustryChain
from portal.pagination import parse_page
from portal.workdays.calendar import local_date
from search import service
from search.extension import get_index
from search.sync import drain_quietly, pending
from tenants.scoping import require_scope

bp = Blueprint("search", __name__)
# Who reads leads; the policy library will open search to every signed-in user.
SEARCH_READERS = roles("officer", "head", "assessor")
RESULTS_TARGET = "search-results"
SUGGEST_TARGET = "search-suggest"


def _catch_up() -> None:
    """Changes committed by another process (or left by a crash) reach the index before this
    search reads it; a busy writer is not waited for."""
    if pending(db.session):
        drain_quietly(db.session, get_index())


def _chains():
    return db.session.scalars(
        select(IndustryChain).order_by(
            IndustryChain.active.desc(), IndustryChain.sort_order, IndustryChain.id
        )
    ).all()


@bp.route("/search")
@access(SEARCH_READERS)
def search_page():
    _catch_up()
    all_chains = _chains()
    today = local_date(utcnow())
    filters = service.parse_filters(
        request.args, codes.STAGES, {chain.id for chain in all_chains}, today
    )
    page = service.search_leads(
        db.session, get_index(), require_scope(), filters, parse_page(request.args.get("page"))
    )
    context = {"page": page, "filters": filters, "stages": codes.STAGES}
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
    _catch_up()
    filters = service.SearchFilters(
        q=" ".join((request.args.get("q") or "").split())[: service.MAX_QUERY_CHARS]
    )
    page = service.search_leads(
        db.session, get_index(), require_scope(), filters, per_page=service.SUGGEST_SIZE
    )
    return render_template("search/_suggest.html", page=page, filters=filters)
