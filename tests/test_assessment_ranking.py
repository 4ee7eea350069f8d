"""The ranking's arithmetic, its SVG chart and its .xlsx exports (pure; no database)."""

from __future__ import annotations

import io
import re
from decimal import Decimal

from openpyxl import load_workbook

from portal.assessment.ranking import (
    ENTRY_HEADERS,
    RANKING_HEADERS,
    entries_workbook,
    rank,
    ranking_svg,
    ranking_workbook,
)

TENANTS = [(1, "德安县"), (2, "永修县"), (3, "<script>alert(1)</script>园区"), (4, "都昌县")]
POINTS = [
    (1, "德安县", "landing_first", Decimal("6.0")),
    (1, "德安县", "stage_started", Decimal("1.2")),
    (1, "德安县", "late_sign", Decimal("-0.5")),
    (2, "永修县", "landing_intermediary", Decimal("4.0")),
    (2, "永修县", "correction", Decimal("2.7")),
    (3, "<script>alert(1)</script>园区", "late_report", Decimal("-1.0")),
]


def test_totals_breakdown_and_shared_ranks():
    rows = rank(POINTS, TENANTS)
    assert [(r.tenant_name, r.total, r.rank) for r in rows] == [
        ("德安县", Decimal("6.7"), 1),
        ("永修县", Decimal("6.7"), 1),
        ("都昌县", Decimal("0"), 3),
        ("<script>alert(1)</script>园区", Decimal("-1.0"), 4),
    ]
    assert rows[0].by_group == {
        "landing": Decimal("6.0"),
        "stage": Decimal("1.2"),
        "late": Decimal("-0.5"),
    }
    assert rows[1].by_group == {"landing": Decimal("4.0"), "correction": Decimal("2.7")}


def test_the_chart_escapes_names_and_draws_negative_bars_left_of_zero():
    svg = str(ranking_svg(rank(POINTS, TENANTS)))
    assert "<script>" not in svg and "&lt;script&gt;alert(1)&lt;/script&gt;园区" in svg
    assert svg.count("<rect ") == 4 and "各单位考核积分" in svg
    zero = float(re.search(r'<line x1="([\d.]+)"', svg).group(1))
    bars = re.findall(r'<rect x="([\d.]+)" y="\d+" width="([\d.]+)"[^>]*class="([^"]+)"', svg)
    negative = [b for b in bars if b[2] == "bar negative"]
    assert len(negative) == 1
    assert abs(float(negative[0][0]) + float(negative[0][1]) - zero) < 0.2  # ends at zero
    positive = [b for b in bars if b[2] == "bar" and float(b[1]) > 1]
    assert all(abs(float(b[0]) - zero) < 0.2 for b in positive)  # start at zero
    assert ranking_svg([]) == ""


def test_the_workbooks_open_and_hold_the_same_numbers():
    rows = rank(POINTS, TENANTS)
    book = load_workbook(io.BytesIO(ranking_workbook(2026, rows)))
    sheet = book["2026年考核排名"]
    values = list(sheet.iter_rows(values_only=True))
    assert list(values[0]) == RANKING_HEADERS
    assert values[1] == (1, "德安县", 6.0, 1.2, -0.5, 0.0, 6.7)
    assert [v[-1] for v in values[1:]] == [float(r.total) for r in rows]
    entries = [(7, "德安县", "落地首报", Decimal("6.0"), "已通过", "XS-2026-000001", "王建国", "")]
    book = load_workbook(io.BytesIO(entries_workbook(2026, entries)))
    rows_out = list(book["2026年积分条目"].iter_rows(values_only=True))
    assert list(rows_out[0]) == ENTRY_HEADERS
    assert rows_out[1][:5] == (7, "德安县", "落地首报", 6.0, "已通过")
