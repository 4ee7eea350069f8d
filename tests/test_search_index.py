"""The Whoosh index on its own (search/index.py): folding on both sides, field boosts, label
filters, phrases, and queries that never fail. A real index in a temp folder."""

from __future__ import annotations

from datetime import datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from search.index import SearchIndex, build_query

DOCS = [  # fmt: skip
    # doc_id, title, names, body, labels, when
    (
        "lead:1",
        "德安县光伏组件项目",
        "九江華瑞新能源科技有限公司",
        "年产2GW高效光伏组件",
        "t1 t2 overseer",
        1,
    ),
    (
        "lead:2",
        "招商引資項目：鋰電池正極材料",
        "寧波恆泰鋰電股份有限公司",
        "投資5億元，建設生產線",
        "t3 overseer",
        2,
    ),
    (
        "lead:3",
        "预制菜加工基地",
        "永修绿源食品有限公司",
        "项目涉及光伏屋顶，投资1亿元",
        "t2 overseer",
        3,
    ),
    (
        "policy:1",
        "關於促進光伏產業發展的若干措施",
        "江府办函〔2024〕37号 市人民政府办公室",
        "对光伏企业给予奖励",
        "all",
        4,
    ),
    ("policy:2", "德安县招商引资优惠政策", "德府发〔2023〕12号", "锂电企业落户奖励", "t2", 5),
]


@pytest.fixture
def index(tmp_path):
    ix = SearchIndex(tmp_path / "index")
    with ix.writer() as writer:
        for doc_id, title, names, body, labels, day in DOCS:
            kind, object_id = doc_id.split(":")
            ix.put(
                writer,
                {
                    "doc_id": doc_id,
                    "kind": kind,
                    "object_id": int(object_id),
                    "title": title,
                    "names": names,
                    "body": body,
                    "labels": labels,
                    "when": datetime(2026, 1, day),
                },
            )
    yield ix
    ix.close()


EVERYONE = ["t1", "t2", "t3", "overseer", "all"]


def found(index, text, labels=EVERYONE, **kwargs):
    return [f"{h.kind}:{h.object_id}" for h in index.search(text, labels, **kwargs).hits]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("光伏", {"lead:1", "lead:3", "policy:1"}),
        ("光伏 德安", {"lead:1"}),
        ("锂电", {"lead:2", "policy:2"}),
        ("鋰電", {"lead:2", "policy:2"}),  # traditional query, simplified documents too
        ("项目", {"lead:1", "lead:2", "lead:3"}),
        ("招商引资", {"lead:2", "policy:2"}),
        ("华瑞", {"lead:1"}),
        ("5亿元", {"lead:2"}),
        ("江府办函〔2024〕37号", {"policy:1"}),
        ("江府辦函〔2024〕37號", {"policy:1"}),
        ("德府发〔2023〕12号", {"policy:2"}),
        ("产业发展", {"policy:1"}),
    ],
)
def test_queries_find_what_an_officer_expects(index, text, expected):
    assert set(found(index, text)) == expected


def test_title_outranks_names_outranks_body(index):
    # 光伏 is in lead 1's title, policy 1's title, lead 3's body only.
    order = found(index, "光伏")
    assert order.index("lead:3") == len(order) - 1
    # 德安 in policy 2's title and in lead 1's title; 华瑞 only in a name: still found.
    assert found(index, "华瑞") == ["lead:1"]


def test_labels_filter_every_query(index):
    assert set(found(index, "光伏", ["t2"])) == {"lead:1", "lead:3"}
    assert set(found(index, "光伏", ["t3"])) == set()
    assert set(found(index, "光伏", ["all"])) == {"policy:1"}
    assert found(index, "光伏", []) == []


def test_newest_first_and_pages(index):
    assert found(index, "项目", newest_first=True) == ["lead:3", "lead:2", "lead:1"]
    first = index.search("项目", EVERYONE, page=1, per_page=2)
    second = index.search("项目", EVERYONE, page=2, per_page=2)
    assert first.total == second.total == 3
    assert len(first.hits) == 2 and len(second.hits) == 1


def test_a_new_commit_is_seen_by_the_open_searcher(index):
    assert found(index, "储能") == []
    with index.writer() as writer:
        index.put(
            writer,
            {"doc_id": "lead:9", "kind": "lead", "object_id": 9, "title": "储能电站",
             "labels": "t1", "when": datetime(2026, 2, 1)},
        )  # fmt: skip
    assert found(index, "储能") == ["lead:9"]
    with index.writer() as writer:
        index.remove(writer, "lead:9")
    assert found(index, "储能") == []


def test_an_error_inside_the_writer_leaves_the_index_unchanged(index):
    with pytest.raises(RuntimeError), index.writer() as writer:
        index.remove(writer, "lead:1")
        raise RuntimeError("the database transaction failed")
    assert "lead:1" in found(index, "光伏")


@pytest.mark.parametrize("text", ["", "   ", "，。！", "AND OR NOT", '"', "(((", "*", "title:光伏"])
def test_queries_without_searchable_words_or_with_syntax_never_fail(index, text):
    index.search(text, EVERYONE)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_text_is_a_valid_query(tmp_path_factory, text):
    build_query(text)  # never raises
