"""The search analyzer: folding and segmentation on both sides (search/analysis.py)."""

from __future__ import annotations

import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from search.analysis import ChineseAnalyzer, fold, index_terms, words


@pytest.mark.parametrize(
    ("original", "folded"),
    [
        ("招商引資項目", "招商引资项目"),
        ("臺灣華瑞電子", "台湾华瑞电子"),
        ("投資５億元", "投资5亿元"),
        ("ＢＹＤ　比亞迪", "byd 比亚迪"),
        ("江府辦函〔2024〕37號", "江府办函〔2024〕37号"),
        ("已经是简体", "已经是简体"),
        ("", ""),
    ],
)
def test_fold_to_simplified_half_width_lower_case(original, folded):
    assert fold(original) == folded


@given(st.text(max_size=60))
def test_folding_keeps_every_offset(text):
    # Highlights are cut from the original text at offsets found in the folded one.
    assert len(fold(text)) == len(text)


def _query_words(text):
    return [w for w, _ in words(text)]


def _indexed(text):
    return {term for term, *_ in index_terms(text)}


@pytest.mark.parametrize(
    ("query", "document"),
    [
        ("光伏", "德安县年产2GW高效光伏组件项目"),
        ("锂电", "锂电池正极材料生产线"),
        ("德安", "德安县光伏组件项目"),
        ("项目", "招商引資項目落地"),
        ("招商引资", "招商引資項目落地"),
        ("項目", "招商引资项目落地"),
        ("亿元", "计划投资5亿元"),
        ("byd", "BYD比亚迪新能源"),
        ("新能源", "九江華瑞新能源科技有限公司"),
        ("能源", "九江华瑞新能源科技有限公司"),
    ],
)
def test_every_query_word_is_an_indexed_term(query, document):
    assert set(_query_words(query)) <= _indexed(document)


def test_document_numbers_and_amounts_keep_their_order():
    # 文号 and amounts are found as phrases: their words must come out in order, positions
    # consecutive, on both sides.
    analyzer = ChineseAnalyzer()
    doc = [(t.text, t.pos) for t in analyzer("依据江府办函〔2024〕37号文件", positions=True)]
    query = [t.text for t in analyzer("江府辦函〔2024〕37號", positions=True, mode="query")]
    assert query == ["江府", "办函", "2024", "37", "号"]
    positions = {text: pos for text, pos in doc}
    assert [positions[w] for w in query] == list(
        range(positions["江府"], positions["江府"] + len(query))
    )


def test_parts_of_a_word_share_its_position_and_offsets_point_into_the_original():
    text = "九江華瑞新能源科技有限公司"
    terms = index_terms(text)
    by_term = {term: (pos, start, end) for term, pos, start, end in terms}
    assert by_term["新能源"][0] == by_term["能源"][0]
    for term, _, start, end in terms:
        assert fold(text[start:end]) == term


def test_punctuation_and_spaces_are_not_terms():
    assert _query_words("，。、 ！？《》——") == []
    assert "〔" not in _indexed("江府办函〔2024〕37号")


def test_the_analyzer_pickles_into_an_index_schema():
    analyzer = pickle.loads(pickle.dumps(ChineseAnalyzer()))  # noqa: S301 - our own bytes
    assert [t.text for t in analyzer("光伏項目", mode="query")] == ["光伏", "项目"]
