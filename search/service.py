"""Searching as the signed-in user: labels from the tenant scope, the index query, every hit
checked again against the database, snippets for the shown page only. Leads are searched by
those who read leads (officers, heads, assessors); policies by everyone signed in.

Plain functions over a session, the index and the scope; no Flask.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from markupsafe import Markup
from sqlalchemy import select

from portal.ids import parse_id
from portal.pagination import Page
from portal.validation import clean_query, whole_number
from search.documents import EVERYONE_LABEL, OVERSEER_LABEL, tenant_label
from search.highlight import marked, snippet
from search.index import SearchIndex
from tenants.scoping import Scope

PER_PAGE = 20
SUGGEST_SIZE = 6
ORDERS = {"relevance": "按相关度", "newest": "按时间（最新在前）"}
KINDS = {"lead": "招商线索", "policy": "政策文件"}
FIRST_YEAR = 1990


@dataclass
class SearchFilters:
    q: str = ""
    kind: str = ""  # "" for every kind the reader may search
    chain: int | None = None
    stage: str = ""
    tenant: int | None = None
    validity: str = ""
    year: int | None = None
    order: str = "relevance"
    errors: list[str] = field(default_factory=list)

    def index_filters(self, kind: str | None = None) -> dict:
        """The index filters; ``kind`` overrides the chosen kind (for the per-kind counts).
        Lead-only filters (chain, stage) imply leads; validity implies policies."""
        kind = self.kind if kind is None else kind
        return {
            "kind": kind,
            "chain": str(self.chain) if self.chain else "",
            "stage": self.stage,
            "tenant": str(self.tenant) if self.tenant else "",
            "validity": self.validity,
            "year": self.year,
        }

    def params(self) -> dict:
        values = {
            "q": self.q,
            "kind": self.kind,
            "chain": self.chain,
            "stage": self.stage,
            "tenant": self.tenant,
            "validity": self.validity,
            "year": self.year,
        }
        if self.order != "relevance":
            values["order"] = self.order
        return {key: value for key, value in values.items() if value}

    @property
    def narrowed(self) -> bool:
        return bool(self.chain or self.stage or self.tenant or self.validity or self.year)


@dataclass
class LeadHit:
    lead: object
    title: Markup
    names: Markup
    snippet: Markup
    kind: str = "lead"


@dataclass
class PolicyHit:
    policy: object
    title: Markup
    names: Markup
    snippet: Markup
    kind: str = "policy"


@dataclass
class SearchResults:
    """One page of hits, and how many the query finds of each kind (before the kind filter)."""

    page: Page
    counts: dict[str, int] = field(default_factory=dict)


def parse_filters(
    args, stages, chain_ids, today: date, *, kinds=KINDS, tenant_ids=(), validity=()
) -> SearchFilters:
    """Read the search form; a bad value is dropped with a message, never an error page.
    ``kinds``: the kinds this reader may search."""
    errors: list[str] = []
    found = SearchFilters(errors=errors)
    found.q = clean_query(args.get("q"))
    kind = args.get("kind") or ""
    if kind in kinds:
        found.kind = kind
    elif kind:
        errors.append("类型取值无效，已改为全部。")
    if len(kinds) == 1:
        found.kind = next(iter(kinds))
    tenant = (args.get("tenant") or "").strip()
    chosen_tenant = parse_id(tenant)
    if chosen_tenant in tenant_ids:
        found.tenant = chosen_tenant
    elif tenant:
        errors.append("发布（登记）单位取值无效，已忽略。")
    validity_value = args.get("validity") or ""
    if validity_value in validity:
        found.validity = validity_value
    elif validity_value:
        errors.append("时效性取值无效，已忽略。")
    stage = args.get("stage") or ""
    if stage in stages:
        found.stage = stage
    elif stage:
        errors.append("阶段取值无效，已忽略。")
    chain = (args.get("chain") or "").strip()
    chosen_chain = parse_id(chain)
    if chosen_chain in chain_ids:
        found.chain = chosen_chain
    elif chain:
        errors.append("产业链取值无效，已忽略。")
    year = (args.get("year") or "").strip()
    year_number = whole_number(year)
    if year_number is not None and FIRST_YEAR <= year_number <= today.year:
        found.year = year_number
    elif year:
        errors.append(f"年份须在 {FIRST_YEAR}–{today.year} 之间，已忽略。")
    order = args.get("order") or "relevance"
    if order in ORDERS:
        found.order = order
    else:
        errors.append("排序方式无效，已按相关度排序。")
    return found


def labels_for(scope: Scope) -> list[str]:
    """Who the reader is, in index labels: each tenant of the scope, ``overseer`` for the city
    and assessors (they see every lead), and ``all`` (city-wide policies)."""
    if scope.is_wide:
        raise ValueError("searching needs a user's scope, not a wide one")
    labels = [tenant_label(tenant_id) for tenant_id in sorted(scope.tenant_ids)]
    if scope.oversees_leads:
        labels.append(OVERSEER_LABEL)
    labels.append(EVERYONE_LABEL)
    return labels


def search(
    session,
    index: SearchIndex,
    scope: Scope,
    filters: SearchFilters,
    page: int = 1,
    per_page: int = PER_PAGE,
    *,
    kinds=KINDS,
    with_counts: bool = False,
) -> SearchResults:
    """One page of the documents matching ``filters.q`` that the scope may see, among the
    ``kinds`` this reader may search; ``with_counts`` adds the matches per kind."""
    if not filters.q:
        return SearchResults(Page([], 0, 1, per_page))
    labels = labels_for(scope)
    # One kind only (a reader of policies alone), or the chosen one.
    kind = filters.kind or (next(iter(kinds)) if len(kinds) == 1 else "")
    results = index.search(
        filters.q,
        labels,
        filters=filters.index_filters(kind),
        page=page,
        per_page=per_page,
        newest_first=filters.order == "newest",
    )
    items = _confirmed_hits(session, results.hits, filters.q)
    last_page = max(1, -(-results.total // per_page))
    found = SearchResults(Page(items, results.total, min(max(page, 1), last_page), per_page))
    if with_counts:
        found.counts = {
            name: index.count(filters.q, labels, filters=filters.index_filters(name))
            for name in kinds
        }
    return found


def _confirmed_hits(session, hits, query: str) -> list:
    """The hits the database confirms the scope may see, in the index's order."""
    leads = visible_leads(session, [hit.object_id for hit in hits if hit.kind == "lead"])
    policies = visible_policies(session, [hit.object_id for hit in hits if hit.kind == "policy"])
    items = []
    for hit in hits:
        if hit.kind == "lead" and hit.object_id in leads:
            items.append(_lead_hit(leads[hit.object_id], query))
        elif hit.kind == "policy" and hit.object_id in policies:
            items.append(_policy_hit(policies[hit.object_id], query))
    return items


def visible_policies(session, policy_ids: list[int]) -> dict:
    """The policies among ``policy_ids`` the current scope may see (scoped session)."""
    from portal.policies.models import Policy

    if not policy_ids:
        return {}
    statement = select(Policy).where(Policy.id.in_(policy_ids))
    return {policy.id: policy for policy in session.scalars(statement)}


def _policy_hit(policy, query: str) -> PolicyHit:
    names = " · ".join(part for part in (policy.doc_number, policy.issuer) if part)
    body = "\n".join(part for part in (policy.body, policy.attachment_text) if part)
    return PolicyHit(
        policy=policy,
        title=marked(policy.title, query),
        names=marked(names, query),
        snippet=snippet(body, query),
    )


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
