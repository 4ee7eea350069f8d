"""Counting and slicing a select() into pages."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from sqlalchemy import func, select
from sqlalchemy.orm import Session

DEFAULT_PER_PAGE = 20


@dataclass
class Page:
    items: list
    total: int
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, ceil(self.total / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def parse_page(value) -> int:
    try:
        page = int(value)
    except (TypeError, ValueError):
        return 1
    return min(max(page, 1), 100_000)


def paginate(session: Session, statement, page: int, per_page: int = DEFAULT_PER_PAGE) -> Page:
    total = session.scalar(select(func.count()).select_from(statement.order_by(None).subquery()))
    page = min(page, max(1, ceil((total or 0) / per_page)))
    items = session.scalars(statement.limit(per_page).offset((page - 1) * per_page)).all()
    return Page(list(items), total or 0, page, per_page)
