"""The lead list: filters read from a query string, checked, and turned into one simple select.

Visibility is not decided here: the tenant scope adds its criteria to the statement. Pages
order by indexed columns (created_at or planned_investment, with id as the tie-breaker); a page
costs three statements: the count, the page's ids, and those leads (owner and chain joined).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from math import ceil

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from portal.ids import parse_id
from portal.leads import codes
from portal.leads.models import Lead
from portal.leads.service import MAX_INVESTMENT
from portal.pagination import DEFAULT_PER_PAGE, Page
from portal.validation import clean_query, filter_day, whole_number
from portal.web import SHANGHAI
from tenants.scoping import VISIBILITY_PROBE

SORTS = {
    "newest": "登记时间（新→旧）",
    "oldest": "登记时间（旧→新）",
    "investment_desc": "计划投资（高→低）",
    "investment_asc": "计划投资（低→高）",
    "title": "项目名称",
}
DEFAULT_SORT = "newest"


@dataclass
class LeadFilters:
    """The checked filters of the list; ``errors`` explains the values that were ignored."""

    q: str = ""
    stage: str = ""
    five_list: str = ""
    chain: int | None = None
    tenant: int | None = None
    min_investment: int | None = None
    max_investment: int | None = None
    date_from: date | None = None
    date_to: date | None = None
    sort: str = DEFAULT_SORT
    errors: list[str] = field(default_factory=list)

    def params(self) -> dict[str, str]:
        """The filters as query-string values, for links (pager) that keep them."""
        values = {
            "q": self.q,
            "stage": self.stage,
            "list": self.five_list,
            "chain": self.chain or "",
            "tenant": self.tenant or "",
            "min": "" if self.min_investment is None else self.min_investment,
            "max": "" if self.max_investment is None else self.max_investment,
            "from": self.date_from.isoformat() if self.date_from else "",
            "to": self.date_to.isoformat() if self.date_to else "",
            "sort": "" if self.sort == DEFAULT_SORT else self.sort,
        }
        return {key: str(value) for key, value in values.items() if value != ""}

    @property
    def active(self) -> bool:
        return bool(set(self.params()) - {"sort"})


def _amount(raw: str | None, label: str, errors: list[str]) -> int | None:
    raw = (raw or "").strip().replace(",", "").replace("，", "")
    if not raw:
        return None
    amount = whole_number(raw)
    if amount is None or amount > MAX_INVESTMENT:
        errors.append(f"{label}须为 0 到 {MAX_INVESTMENT:,} 之间的整数（万元），已忽略。")
        return None
    return amount


def parse_filters(args) -> LeadFilters:
    """Read the list filters from request.args; a bad value is dropped with a message, never
    an error page."""
    errors: list[str] = []
    filters = LeadFilters(errors=errors)
    filters.q = clean_query(args.get("q"))
    stage = args.get("stage") or ""
    if stage in codes.STAGES:
        filters.stage = stage
    elif stage:
        errors.append("阶段取值无效，已忽略。")
    five = args.get("list") or ""
    if five in codes.FIVE_LISTS:
        filters.five_list = five
    elif five:
        errors.append("清单取值无效，已忽略。")
    for name, label in (("chain", "产业链"), ("tenant", "所属单位")):
        raw = (args.get(name) or "").strip()
        value = parse_id(raw) if raw else None
        if raw and value is None:
            errors.append(f"{label}取值无效，已忽略。")
        setattr(filters, name, value)
    filters.min_investment = _amount(args.get("min"), "计划投资下限", errors)
    filters.max_investment = _amount(args.get("max"), "计划投资上限", errors)
    if (
        filters.min_investment is not None
        and filters.max_investment is not None
        and filters.min_investment > filters.max_investment
    ):
        errors.append("计划投资下限不能大于上限，已忽略这两项。")
        filters.min_investment = filters.max_investment = None
    filters.date_from = filter_day(args.get("from"), "起始日期", errors)
    filters.date_to = filter_day(args.get("to"), "结束日期", errors)
    if filters.date_from and filters.date_to and filters.date_from > filters.date_to:
        errors.append("起始日期不能晚于结束日期，已忽略这两项。")
        filters.date_from = filters.date_to = None
    sort = args.get("sort") or DEFAULT_SORT
    filters.sort = sort if sort in SORTS else DEFAULT_SORT
    return filters


def _shanghai_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=SHANGHAI)


def _conditions(filters: LeadFilters) -> list:
    # Words separated by spaces narrow the list: each must appear in the title, the company or
    # the code ("触摸屏 玻璃" finds 触摸屏玻璃盖板).
    conditions = [
        or_(
            Lead.title.contains(word, autoescape=True),
            Lead.company.contains(word, autoescape=True),
            Lead.code.contains(word.upper(), autoescape=True),
        )
        for word in dict.fromkeys(filters.q.split())
    ]
    if filters.stage:
        conditions.append(Lead.stage == filters.stage)
    if filters.five_list:
        conditions.append(Lead.stage.in_(codes.FIVE_LISTS[filters.five_list][1]))
    if filters.chain:
        conditions.append(Lead.chain_id == filters.chain)
    if filters.tenant:
        conditions.append(Lead.tenant_id == filters.tenant)
    if filters.min_investment is not None:
        conditions.append(Lead.planned_investment >= filters.min_investment)
    if filters.max_investment is not None:
        conditions.append(Lead.planned_investment <= filters.max_investment)
    if filters.date_from:
        conditions.append(Lead.created_at >= _shanghai_midnight(filters.date_from))
    if filters.date_to:
        conditions.append(Lead.created_at < _shanghai_midnight(filters.date_to + timedelta(days=1)))
    return conditions


def lead_list_statement(filters: LeadFilters) -> Select:
    """The whole list as one select (exports, tests); pages use ``lead_page``."""
    return select(Lead).where(*_conditions(filters)).order_by(*_ordering(filters.sort))


def lead_page(
    session: Session, filters: LeadFilters, page: int, per_page: int = DEFAULT_PER_PAGE
) -> Page:
    """One page of the list: count, then the page's ids in order (narrow rows, so sorting the
    visible set, when the planner must, stays cheap), then those leads with owner and chain."""
    conditions = _conditions(filters)
    # Counting over a subquery: select(func.count(Lead.id)) gets the scope's criteria twice.
    matching = select(Lead.id).where(*conditions).subquery()
    count = select(func.count()).select_from(matching)
    if filters.stage or filters.five_list or filters.chain or filters.tenant:
        # An indexed filter leaves a few thousand leads: probing each one's access beats
        # reading the tenant's whole visible set (tenants.scoping, VISIBILITY_PROBE).
        count = count.execution_options(**{VISIBILITY_PROBE: True})
    total = session.scalar(count) or 0
    page = min(max(page, 1), max(1, ceil(total / per_page)))
    statement = select(Lead.id).where(*conditions).order_by(*_ordering(filters.sort))
    ids = session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    leads = {}
    if ids:
        leads = {lead.id: lead for lead in session.scalars(select(Lead).where(Lead.id.in_(ids)))}
    return Page([leads[i] for i in ids if i in leads], total, page, per_page)


def _ordering(sort: str):
    if sort == "oldest":
        return Lead.created_at.asc(), Lead.id.asc()
    if sort == "investment_desc":
        return Lead.planned_investment.desc().nulls_last(), Lead.id.desc()
    if sort == "investment_asc":
        return Lead.planned_investment.asc().nulls_last(), Lead.id.asc()
    if sort == "title":
        return Lead.title.asc(), Lead.id.asc()
    return Lead.created_at.desc(), Lead.id.desc()
