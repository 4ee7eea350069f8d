"""Searching as the signed-in user: labels from the tenant scope, the index query, every hit
checked again against the database, snippets for the shown page only.

Plain functions over a session, the index and the scope; no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup
from sqlalchemy import select

from portal.pagination import Page
from portal.validation import clean_query
from search.documents import OVERSEER_LABEL, tenant_label
from search.highlight import marked, snippet
from search.index import SearchIndex
from tenants.scoping import Scope

PER_PAGE = 20
SUGGEST_SIZE = 6
ORDERS = {"relevance": "按相关度", "newest": "按时间（最新在前）"}
FIRST_YEAR = 2000


@dataclass
class SearchFilters:
    q: str = ""
    chain: int | None = None
    stage: str = ""
    year: int | None = None
    order: str = "relevance"
    errors: list[str] = field(default_factory=list)

    def index_filters(self) -> dict:
        return {
            "kind": "lead",
            "chain": str(self.chain) if self.chain else "",
            "stage": self.stage,
            "year": self.year,
        }

    def params(self) -> dict:
        values = {"q": self.q, "chain": self.chain, "stage": self.stage, "year": self.year}
        if self.order != "relevance":
            values["order"] = self.order
        return {key: value for key, value in values.items() if value}

    @property
    def narrowed(self) -> bool:
        return bool(self.chain or self.stage or self.year)


@dataclass
class LeadHit:
    lead: object
    title: Markup
    names: Markup
    snippet: Markup


def parse_filters(args, stages, chain_ids, today: date) -> SearchFilters:
    """Read the search form; a bad value is dropped with a message, never an error page."""
    errors: list[str] = []
    found = SearchFilters(errors=errors)
    found.q = clean_query(args.get("q"))
    stage = args.get("stage") or ""
    if stage in stages:
        found.stage = stage
    elif stage:
        errors.append("阶段取值无效，已忽略。")
    chain = (args.get("chain") or "").strip()
    if chain.isdigit() and int(chain) in chain_ids:
        found.chain = int(chain)
    elif chain:
        errors.append("产业链取值无效，已忽略。")
    year = (args.get("year") or "").strip()
    if year.isdigit() and FIRST_YEAR <= int(year) <= today.year:
        found.year = int(year)
    elif year:
        errors.append(f"年份须在 {FIRST_YEAR}–{today.year} 之间，已忽略。")
    order = args.get("order") or "relevance"
    if order in ORDERS:
        found.order = order
    else:
        errors.append("排序方式无效，已按相关度排序。")
    return found


def labels_for(scope: Scope) -> list[str]:
    """Who the reader is, in index labels: each tenant of the scope, and ``overseer`` for the
    city and assessors (they see every lead)."""
    if scope.is_wide:
        raise ValueError("searching needs a user's scope, not a wide one")
    labels = [tenant_label(tenant_id) for tenant_id in sorted(scope.tenant_ids)]
    if scope.oversees_leads:
        labels.append(OVERSEER_LABEL)
    return labels


def search_leads(
    session,
    index: SearchIndex,
    scope: Scope,
    filters: SearchFilters,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> Page:
    """One page of the leads matching ``filters.q`` that the scope may see."""
    if not filters.q:
        return Page([], 0, 1, per_page)
    results = index.search(
        filters.q,
        labels_for(scope),
        filters=filters.index_filters(),
        page=page,
        per_page=per_page,
        newest_first=filters.order == "newest",
    )
    leads = visible_leads(session, [hit.object_id for hit in results.hits if hit.kind == "lead"])
    items = [
        _lead_hit(leads[hit.object_id], filters.q) for hit in results.hits if hit.object_id in leads
    ]
    last_page = max(1, -(-results.total // per_page))
    return Page(items, results.total, min(max(page, 1), last_page), per_page)


def visible_leads(session, lead_ids: list[int]) -> dict:
    """The leads among ``lead_ids`` the current scope may see, read through the scoped session:
    a hit the database does not confirm is not shown, whatever the index said."""
    from portal.leads.models import Lead

    if not lead_ids:
        return {}
    return {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(lead_ids)))}


def _lead_hit(lead, query: str) -> LeadHit:
    names = " · ".join(part for part in (lead.company, lead.credit_code) if part)
    body = "\n".join(part for part in (lead.company_origin, lead.description) if part)
    return LeadHit(
        lead=lead,
        title=marked(lead.title, query),
        names=marked(names, query),
        snippet=snippet(body, query),
    )
