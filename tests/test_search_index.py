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


# ---- the query engine against Whoosh's own evaluation ------------------------------------------
#
# search/index.py evaluates queries over Whoosh's postings itself (cached document sets, block-max
# ranking). Whoosh's searcher, given build_query()'s equivalent query, is the reference for what
# matches; the index under test has several segments, replaced and removed documents.

from whoosh import query as wq  # noqa: E402

from search import index as index_module  # noqa: E402
from tests.test_search_relevance import DOCUMENTS  # noqa: E402

VOCABULARY = [
    "光伏", "锂电", "鋰電", "德安", "永修", "項目", "项目", "招商引资", "江府办函〔2024〕37号",
    "江府办函2024", "37号", "5亿元", "3000万元", "有机硅", "catl", "Sungrow", "产业园",
    "高新技术产业园", "光伏组件", "储能电池", "企业", "投资", "茶叶", "玻纤", "德安县", "标准厂房",
    "九府办发〔2022〕5号", "锂电池正极材料", "发展", "XS-2025-000002", "修订", "新材料", "湖口",
    "电子信息", "替换标题",
]  # fmt: skip
LABELS = ["t1", "t2", "t3", "t8", "t9", "t10", "t11", "t12", "t13", "overseer", "all", "t99"]
FILTERS = [{}, {"kind": "lead"}, {"kind": "policy"}, {"validity": "valid"}, {"year": 2025},
           {"chain": "1"}, {"stage": "talking"}, {"kind": "lead", "year": 2024}]  # fmt: skip


@pytest.fixture(scope="module")
def segmented(tmp_path_factory):
    """The relevance corpus over four commits, then a few documents replaced and removed."""
    ix = SearchIndex(tmp_path_factory.mktemp("segmented") / "index")
    for start in range(0, len(DOCUMENTS), 18):
        with ix.writer() as writer:
            for document in DOCUMENTS[start : start + 18]:
                ix.put(writer, document)
    with ix.writer() as writer:
        for document in DOCUMENTS[::9]:
            ix.put(writer, {**document, "title": "替换标题 " + document["title"]})
        ix.remove(writer, DOCUMENTS[5]["doc_id"])
    yield ix
    ix.close()


def _whoosh_matches(ix, text, labels, filters):
    matching = build_query(text)
    if matching is None or not labels:
        return set()
    conditions = [matching, wq.Or([wq.Term("labels", label) for label in labels])]
    for name, value in filters.items():
        conditions.append(wq.Term(name, value if name == "year" else str(value)))
    searcher = ix.searcher()
    return {
        searcher.stored_fields(d)["doc_id"] for d in searcher.docs_for_query(wq.And(conditions))
    }


queries = st.lists(st.sampled_from(VOCABULARY), min_size=1, max_size=3).map(" ".join)
readers = st.sampled_from(
    [["t1", "overseer", "all"], ["t8", "all"], ["t9", "t11", "all"]]
) | st.lists(st.sampled_from(LABELS), max_size=4)


@pytest.mark.parametrize("text", VOCABULARY)
def test_each_word_matches_what_whoosh_matches(segmented, text):
    result = segmented.search(text, EVERYONE, per_page=500)
    got = {f"{hit.kind}:{hit.object_id}" for hit in result.hits}
    assert got == _whoosh_matches(segmented, text, EVERYONE, {})
    assert result.total == len(got)


@settings(max_examples=150, deadline=None)
@given(
    text=queries | st.text(max_size=12),
    labels=readers,
    filters=st.sampled_from(FILTERS),
)
def test_matches_and_totals_equal_whooshs_own_evaluation(segmented, text, labels, filters):
    result = segmented.search(text, labels, filters=filters, per_page=500)
    got = [f"{hit.kind}:{hit.object_id}" for hit in result.hits]
    assert len(got) == len(set(got)) == result.total
    assert segmented.count(text, labels, filters=filters) == result.total
    assert set(got) == _whoosh_matches(segmented, text, labels, filters)
    scores = [hit.score for hit in result.hits]
    assert scores == sorted(scores, reverse=True)


def test_the_fixture_has_several_segments_and_deletions(segmented):
    searcher = segmented.searcher()
    assert len(searcher.leaf_searchers()) >= 4
    assert searcher.doc_count() < searcher.doc_count_all()
    assert found(segmented, "替换标题")  # the replacements are found...
    replaced = DOCUMENTS[9]
    assert found(segmented, replaced["title"]).count(replaced["doc_id"]) == 1  # ...once each
    assert DOCUMENTS[5]["doc_id"] not in found(segmented, DOCUMENTS[5]["title"])


COMMON = ["项目", "企业", "投资", "建设", "光伏", "锂电", "德安县", "永修县", "生产线", "厂房",
          "新材料", "电子", "纺织", "农业", "茶叶", "开发区", "招商引资", "产业园"]  # fmt: skip


@pytest.fixture(scope="module")
def large(tmp_path_factory):
    """Some 2 000 documents of common words in three segments: posting lists of many blocks,
    weights that vary with the count of a word and the length of a field."""
    import random
    from datetime import timedelta

    rng = random.Random(4)
    ix = SearchIndex(tmp_path_factory.mktemp("large") / "index")
    for commit in range(3):
        with ix.writer() as writer:
            for n in range(commit * 700, commit * 700 + 700):
                title = "，".join(rng.choices(COMMON, k=rng.randint(1, 4)))
                body = "，".join(rng.choices(COMMON, k=rng.randint(3, 120)))
                labels = " ".join(rng.sample(["t1", "t8", "t9", "overseer", "all"], 2))
                ix.put(writer, {"doc_id": f"lead:{n}", "kind": "lead", "object_id": n,
                                "title": title, "body": body, "labels": labels,
                                "when": datetime(2025, 1, 1) + timedelta(hours=n)})  # fmt: skip
    yield ix
    ix.close()


def test_the_large_index_has_lists_of_many_blocks(large):
    view = large._current_view()
    longest = max(len(large._postings(seg, "text", "项目").ends) for seg in view.segments)
    assert longest >= 4


@settings(max_examples=80, deadline=None)
@given(
    text=st.lists(st.sampled_from(COMMON), min_size=1, max_size=3).map(" ".join),
    labels=readers,
    page=st.integers(1, 3),
)
def test_block_max_ranking_finds_the_same_top_as_scoring_every_candidate(large, text, labels, page):
    every = large.search(text, labels, per_page=5, page=page)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index_module, "DIRECT_SCORING_LIMIT", 0)
        blocks = large.search(text, labels, per_page=5, page=page)
    assert blocks.total == every.total
    assert [round(h.score, 4) for h in blocks.hits] == [round(h.score, 4) for h in every.hits]


@pytest.mark.parametrize("limit", [0, 10_000])
def test_newest_first_orders_by_date_through_both_paths(large, limit, monkeypatch):
    monkeypatch.setattr(index_module, "DIRECT_SCORING_LIMIT", limit)
    got = found(large, "茶叶 德安县", ["t8", "all"], per_page=100, newest_first=True)
    assert len(got) > 20
    numbers = [int(d.split(":")[1]) for d in got]  # documents were dated in number order
    assert numbers == sorted(numbers, reverse=True)
    second = found(large, "茶叶 德安县", ["t8", "all"], per_page=5, page=2, newest_first=True)
    assert second == got[5:10]


def test_an_index_of_an_older_schema_is_replaced_by_an_empty_one(tmp_path):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, Schema

    whoosh_index.create_in(str(tmp_path), Schema(doc_id=ID(stored=True)))
    ix = SearchIndex(tmp_path)
    assert ix.doc_count() == 0
    assert "text" in ix.searcher().schema.names()
    ix.close()


def test_an_index_pickled_with_a_tokenizer_that_is_gone_is_replaced(tmp_path, monkeypatch):
    from whoosh import index as whoosh_index
    from whoosh.fields import ID, TEXT, Schema

    from search import analysis

    gone = type("GoneTokenizer", (analysis.ChineseTokenizer,), {"__module__": "search.analysis"})
    monkeypatch.setattr(analysis, "GoneTokenizer", gone, raising=False)
    whoosh_index.create_in(str(tmp_path), Schema(doc_id=ID(stored=True), text=TEXT(gone())))
    monkeypatch.delattr(analysis, "GoneTokenizer")
    ix = SearchIndex(tmp_path)
    assert ix.doc_count() == 0 and "pairs" in ix.searcher().schema.names()
    ix.close()


def test_segments_are_separate_files_so_a_reader_copies_nothing(segmented):
    # Whoosh's compound segment is copied whole into memory by every reader (search/index.py).
    segments = [reader.segment() for reader, _ in segmented.searcher().reader().leaf_readers()]
    assert segments and not any(segment.is_compound() for segment in segments)


def test_searches_in_threads_while_another_thread_writes_and_merges(tmp_path):
    import threading

    ix = SearchIndex(tmp_path / "index")

    def document(n, word):
        return {"doc_id": f"lead:{n}", "kind": "lead", "object_id": n,
                "title": f"{word}项目 第{n}号", "body": "企业投资建设，" * (n % 7 + 1),
                "labels": "t1 overseer", "when": datetime(2025, 1, 1)}  # fmt: skip

    with ix.writer() as writer:
        for n in range(300):
            ix.put(writer, document(n, "光伏"))
    failures, finished = [], threading.Event()

    def search():
        try:
            while not finished.is_set():
                for text in ("光伏 项目", "锂电", "企业 投资", "第7号"):
                    result = ix.search(text, ["overseer"], per_page=10)
                    hits = [hit.object_id for hit in result.hits]
                    assert len(set(hits)) == len(hits) <= result.total
        except Exception as error:  # the main thread reports it
            failures.append(error)

    threads = [threading.Thread(target=search) for _ in range(4)]
    for thread in threads:
        thread.start()
    try:
        for n in range(0, 300, 15):  # replace a few documents per commit, then merge
            with ix.writer() as writer:
                for m in range(n, n + 5):
                    ix.put(writer, document(m, "锂电"))
                ix.remove(writer, f"lead:{n + 10}")
        ix.merge()
    finally:
        finished.set()
        for thread in threads:
            thread.join()
    assert not failures
    fresh = SearchIndex(tmp_path / "index")
    for text in ("光伏 项目", "锂电", "企业 投资"):
        assert ix.search(text, ["overseer"], per_page=50) == fresh.search(
            text, ["overseer"], per_page=50
        )
    assert ix.search("锂电", ["overseer"]).total == 100
    assert ix.search("光伏", ["overseer"]).total == 300 - 100 - 20
    ix.close()
    fresh.close()
