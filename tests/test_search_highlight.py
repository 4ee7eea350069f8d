"""Snippets: matches marked, everything escaped, folding honoured (search/highlight.py)."""

from __future__ import annotations

from search.highlight import matched_spans, snippet


def test_matches_are_marked_in_the_original_script():
    assert str(snippet("招商引資項目落地", "项目")) == "招商引資<mark>項目</mark>落地"


def test_every_piece_of_text_is_escaped():
    text = '<script>alert("x")</script> 光伏 & <b>组件</b>'
    html = str(snippet(text, "光伏", width=200))
    assert "<script>" not in html and "<b>" not in html
    assert "&lt;script&gt;" in html and "&amp;" in html
    assert "<mark>光伏</mark>" in html


def test_a_marked_match_is_escaped_too():
    # A company name in Latin letters may carry markup characters of its own.
    html = str(snippet("A<B>C 公司", "a<b>c"))
    assert "<B>" not in html and "&lt;" in html and "<mark>" in html


def test_long_text_is_cut_around_the_first_match():
    text = "前言" * 100 + "锂电池正极材料" + "结尾" * 100
    html = str(snippet(text, "锂电", width=40))
    assert html.startswith("…") and html.endswith("…")
    assert "<mark>锂电</mark>" in html
    assert len(html.replace("<mark>", "").replace("</mark>", "")) <= 42


def test_no_match_gives_the_start_of_the_text():
    assert str(snippet("德安县工业园区简介", "光伏")) == "德安县工业园区简介"
    assert matched_spans("德安县工业园区简介", "，。") == []


def test_spans_of_a_word_and_its_parts_merge():
    # 德安县 is indexed with 德安 and 安县 inside it: one mark, not three.
    assert str(snippet("德安县光伏", "德安县 安县")) == "<mark>德安县</mark>光伏"


def test_marked_keeps_the_whole_text_escaped_and_marks_every_match():
    from search.highlight import marked

    title = "<b>光伏</b>项目：光伏組件"
    assert str(marked(title, "光伏组件")) == (
        "&lt;b&gt;<mark>光伏</mark>&lt;/b&gt;项目：<mark>光伏</mark><mark>組件</mark>"
    )
    assert str(marked(title, "")) == "&lt;b&gt;光伏&lt;/b&gt;项目：光伏組件"
