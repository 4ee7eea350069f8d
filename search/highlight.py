"""Snippets with the matched words marked, every piece of indexed text escaped.

Whoosh's highlighter formats fragments as raw text (DESIGN.md §8), so snippets are cut here:
the query's words are looked up among the text's index terms (folded, so a simplified query
marks traditional text), and the original characters at those offsets are wrapped in
``<mark>``. Everything else goes through ``markupsafe.escape``.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from search.analysis import index_terms, words

DEFAULT_WIDTH = 80


def matched_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) offsets in ``text`` of the query's words, in order."""
    wanted = {word for word, _ in words(query)}
    if not wanted or not text:
        return []
    spans = sorted((start, end) for term, _, start, end in index_terms(text) if term in wanted)
    merged: list[tuple[int, int]] = []
    for start, end in spans:
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def snippet(text: str, query: str, width: int = DEFAULT_WIDTH) -> Markup:
    """About ``width`` characters of ``text`` around its first match, matches marked; the
    start of the text when nothing matches."""
    text = text or ""
    spans = matched_spans(text, query)
    start = 0
    if spans and spans[0][0] > width // 3:
        start = spans[0][0] - width // 3
    end = min(len(text), start + width)
    pieces = [Markup("…")] if start > 0 else []
    cursor = start
    for span_start, span_end in spans:
        if span_start < start or span_end > end:
            continue
        pieces.append(escape(text[cursor:span_start]))
        pieces.append(Markup("<mark>%s</mark>") % text[span_start:span_end])
        cursor = span_end
    pieces.append(escape(text[cursor:end]))
    if end < len(text):
        pieces.append(Markup("…"))
    return Markup("").join(pieces)


def marked(text: str, query: str) -> Markup:
    """All of ``text`` (a title, a company name), escaped, with the query's words marked."""
    text = text or ""
    pieces, cursor = [], 0
    for start, end in matched_spans(text, query):
        pieces.append(escape(text[cursor:start]))
        pieces.append(Markup("<mark>%s</mark>") % text[start:end])
        cursor = end
    pieces.append(escape(text[cursor:]))
    return Markup("").join(pieces)
