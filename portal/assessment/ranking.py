"""The year's ranking (考核排名): each tenant's points by kind of entry, its total and rank, the
server-rendered bar chart (SVG: no chart library, no CDN), and the .xlsx exports. Pure
functions over rows the ledger service reads; no Flask, no database."""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from markupsafe import Markup

# How entries are grouped in the breakdown: rule name prefix -> column.
GROUPS = {
    "landing": "落地基础分",
    "stage": "进展加分",
    "late": "逾期扣分",
    "correction": "更正调整",
}
ZERO = Decimal("0.0")  # one place, as points are shown


def group_of(rule: str) -> str:
    for prefix in GROUPS:
        if rule.startswith(prefix):
            return prefix
    return "correction"


@dataclass
class RankingRow:
    tenant_id: int
    tenant_name: str
    by_group: dict[str, Decimal] = field(default_factory=dict)
    rank: int = 0

    @property
    def total(self) -> Decimal:
        return sum(self.by_group.values(), ZERO)


def rank(points: Iterable[tuple[int, str, str, Decimal]], tenants: Sequence[tuple[int, str]]):
    """Rows for every tenant in ``tenants`` (id, name) from (tenant id, tenant name, rule,
    points) of the entries that count, best first; equal totals share a rank (1, 2, 2, 4)."""
    rows = {tenant_id: RankingRow(tenant_id, name) for tenant_id, name in tenants}
    for tenant_id, name, rule, value in points:
        row = rows.setdefault(tenant_id, RankingRow(tenant_id, name))
        key = group_of(rule)
        row.by_group[key] = row.by_group.get(key, ZERO) + value
    ordered = sorted(rows.values(), key=lambda row: (-row.total, row.tenant_name))
    for position, row in enumerate(ordered, start=1):
        same = position > 1 and row.total == ordered[position - 2].total
        row.rank = ordered[position - 2].rank if same else position
    return ordered


# ---- the chart ----------------------------------------------------------------------------------

BAR_HEIGHT = 22
GAP = 8
LABEL_WIDTH = 170
VALUE_WIDTH = 60
CHART_WIDTH = 720


def ranking_svg(rows: Sequence[RankingRow]) -> Markup:
    """A horizontal bar per tenant, negative totals to the left of the zero line. Every label
    is escaped; the chart has a title and each bar its value as text (not colour alone)."""
    if not rows:
        return Markup("")
    totals = [row.total for row in rows]
    high, low = max(max(totals), ZERO), min(min(totals), ZERO)
    span = (high - low) or Decimal(1)
    plot = CHART_WIDTH - LABEL_WIDTH - VALUE_WIDTH
    zero_x = LABEL_WIDTH + float((ZERO - low) / span) * plot
    height = len(rows) * (BAR_HEIGHT + GAP) + GAP
    parts = [
        Markup(
            '<svg xmlns="http://www.w3.org/2000/svg" class="ranking-chart" role="img" '
            'viewBox="0 0 {} {}" width="100%" aria-labelledby="ranking-chart-title">'
            '<title id="ranking-chart-title">各单位考核积分</title>'
            '<line x1="{:.1f}" y1="0" x2="{:.1f}" y2="{}" class="axis"/>'
        ).format(CHART_WIDTH, height, zero_x, zero_x, height)
    ]
    for index, row in enumerate(rows):
        y = GAP + index * (BAR_HEIGHT + GAP)
        width = float(abs(row.total) / span) * plot
        x = zero_x if row.total >= 0 else zero_x - width
        parts.append(
            Markup(
                '<text x="{}" y="{}" text-anchor="end" class="label">{}. {}</text>'
                '<rect x="{:.1f}" y="{}" width="{:.1f}" height="{}" class="{}">'
                "<title>{}：{} 分</title></rect>"
                '<text x="{}" y="{}" class="value">{}</text>'
            ).format(
                LABEL_WIDTH - 8,
                y + 15,
                row.rank,
                row.tenant_name,
                x,
                y,
                max(width, 1.0),
                BAR_HEIGHT,
                "bar" if row.total >= 0 else "bar negative",
                row.tenant_name,
                row.total,
                CHART_WIDTH - VALUE_WIDTH + 8,
                y + 15,
                row.total,
            )
        )
    parts.append(Markup("</svg>"))
    return Markup("").join(parts)


# ---- the workbooks ------------------------------------------------------------------------------

RANKING_HEADERS = ["名次", "单位", *GROUPS.values(), "合计"]
ENTRY_HEADERS = [
    "条目编号",
    "单位",
    "规则",
    "积分",
    "状态",
    "依据",
    "审核人",
    "理由",
    "申诉",
    "申诉处理",
]


def ranking_workbook(year: int, rows: Sequence[RankingRow]) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"{year}年考核排名"
    sheet.append(RANKING_HEADERS)
    for row in rows:
        sheet.append(
            [
                row.rank,
                row.tenant_name,
                *(float(row.by_group.get(key, ZERO)) for key in GROUPS),
                float(row.total),
            ]
        )
    _tidy(sheet, [8, 28, 14, 12, 12, 12, 10])
    return _saved(book)


def entries_workbook(year: int, entries: Iterable[Sequence]) -> bytes:
    """``entries``: rows in ``ENTRY_HEADERS`` order (points as Decimal)."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = f"{year}年积分条目"
    sheet.append(ENTRY_HEADERS)
    for entry in entries:
        sheet.append([float(v) if isinstance(v, Decimal) else v for v in entry])
    _tidy(sheet, [10, 28, 16, 8, 10, 60, 12, 30, 40, 40])
    return _saved(book)


def _tidy(sheet, widths: list[int]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.freeze_panes = "A2"


def _saved(book) -> bytes:
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
