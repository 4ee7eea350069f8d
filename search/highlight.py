"""Snippets with the matched words marked, every piece of indexed text escaped.

Whoosh's highlighter formats fragments as raw text (DESIGN.md §8), so snippets are cut here:
the query's words are found in the folded text (so a simplified query marks traditional text;
folding keeps every offset), and the original characters at those offsets are wrapped in
``<mark>``. Everything else goes through ``markupsafe.escape``.

Matching is by substring, not by segmenting the shown text again (that cost more than the search
itself for a page of 20): a word of Latin letters or digits only where no other letter or digit
touches it (``5`` is not marked inside ``2025``), and a one-character Chinese word (号, 发 from a
文号) only next to another match, unless the query has nothing longer.
"""

from __future__ import annotations

from markupsafe import Markup, escape

from search.analysis import fold, words

DEFAULT_WIDTH = 80


def matched_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Non-overlapping (start, end) offsets in ``text`` of the query's words, in order."""
    wanted = {word for word, _ in words(query)}
    if not wanted or not text:
        return []
    folded = fold(text)
    strong, weak = [], []
    for word in wanted:
        spans = strong if len(word) > 1 or word.isascii() else weak
        spans += _occurrences(folded, word)
    if strong:
        weak = _touching(sorted(strong), sorted(weak))
    merged: list[tuple[int, int]] = []
    for start, end in sorted(strong + weak):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _occurrences(folded: str, word: str) -> list[tuple[int, int]]:
    found, start = [], folded.find(word)
    latin = word.isascii()
    while start >= 0:
        end = start + len(word)
        if not latin or not (_alnum_at(folded, start - 1) or _alnum_at(folded, end)):
            found.append((start, end))
        start = folded.find(word, start + 1)
    return found


def _alnum_at(text: str, i: int) -> bool:
    return 0 <= i < len(text) and text[i].isascii() and text[i].isalnum()


def _touching(strong: list, weak: list) -> list:
    """The weak spans that touch a strong one, or a weak one already kept (a chain)."""
    edges = {edge for span in strong for edge in span}
    kept, changed = [], True
    while changed:
        changed = False
        for span in weak:
            if span not in kept and (span[0] in edges or span[1] in edges):
                kept.append(span)
                edges.update(span)
                changed = True
    return kept


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
