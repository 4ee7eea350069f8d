"""Chinese text analysis, the same on the index side and the query side.

1. **Fold**: full-width ASCII to half-width, traditional to simplified (OpenCC ``t2s``), lower
   case. Folding maps one character to one character (checked; where OpenCC would change the
   length, the text is converted character by character instead), so an offset in the folded
   text is the same offset in the original — highlights are cut from the original text.
2. **Segment** with rjieba (jieba compiled, its dictionary embedded: no file is read or
   downloaded at run time). Chosen by measurement on this machine (search issue): jieba takes
   ~1.2 s to load and cuts ~680 documents of 400 characters a second; rjieba loads in ~0.2 s
   and cuts ~29 000.

On the index side every word is indexed with the shorter dictionary words inside it at the same
position (德安县 → 德安县, 德安, 安县), so a query for a part of a word finds it and phrase
queries still see consecutive positions. The query side keeps whole words. Tokens without a
letter, digit or CJK character (punctuation, spaces) are dropped.

A number followed by a short unit word is also indexed as one term at the number's position
(5亿元, 3000万元, 37号), so an amount or the end of a 文号 is a single lookup instead of a phrase of
two very common words; queries merge the same pairs (:func:`merge_compounds`).

Two more tokenizers feed the search fields (search/index.py), each over a document's title, names
and body joined by :data:`FIELD_SEPARATOR`: :class:`ImpactTokenizer` emits each term once with its
BM25F weight for the document already computed (so a posting's stored weight *is* the document's
score for that term, up to the term's idf, which is applied at query time), and
:class:`PairTokenizer` emits each pair of terms at consecutive positions (:func:`pair`), weighted
by the fields it stands in: a phrase of words is found as the pairs of its neighbouring words
(a "biword" index), a lookup like any term's, where a positional check would decode every
posting of every word of the phrase.

The analyzer lives in this importable module because Whoosh pickles it into the index schema.
"""

from __future__ import annotations

import functools
import unicodedata
from collections import Counter
from collections.abc import Sequence

from whoosh.analysis import Token, Tokenizer

# Joins a document's fields into the one value the search fields are built from (see module doc).
FIELD_SEPARATOR = "\x1e"
MAX_UNIT_LENGTH = 3
# BM25's usual constants.
K1 = 1.2
B = 0.75

# U+FF01..U+FF5E are the full-width forms of U+0021..U+007E; U+3000 is the ideographic space.
_HALF_WIDTH = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}


@functools.cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


@functools.cache
def _segmenter():
    import rjieba

    return rjieba


def fold(text: str) -> str:
    """The text as the index sees it: half-width, simplified, lower case, same length."""
    if not text:
        return ""
    half = text.translate(_HALF_WIDTH)
    simplified = _converter().convert(half)
    if len(simplified) != len(half):
        # A phrase-level conversion changed the length: keep the offsets aligned.
        simplified = "".join(_fold_char(ch) for ch in half)
    return simplified.lower()


def _fold_char(ch: str) -> str:
    converted = _converter().convert(ch)
    return converted if len(converted) == 1 else ch


def _is_indexable(word: str) -> bool:
    # Han characters are alphanumeric to Python: the name lookup is for the rest of CJK.
    return word.isalnum() or any(ch.isalnum() or _is_cjk(ch) for ch in word)


@functools.lru_cache(maxsize=8192)
def _is_cjk(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("CJK")


def words(text: str) -> list[tuple[str, int]]:
    """The folded text's words with their start offsets (query side: whole words)."""
    folded = fold(text)
    found, offset = [], 0
    for word in _segmenter().cut(folded):
        if _is_indexable(word) and not word.isspace():
            found.append((word, offset))
        offset += len(word)
    return found


def index_terms(text: str) -> Sequence[tuple[str, int, int, int]]:
    """(term, position, start, end) for the index side: each word, then the dictionary words
    inside it and the number-and-unit compound it starts, at the word's position. Memoised: a
    document's fields are analysed once for the two index fields built from them."""
    return _index_terms(text or "")


@functools.lru_cache(maxsize=512)
def _index_terms(text: str) -> tuple[tuple[str, int, int, int], ...]:
    found = words(text)
    terms = []
    for position, (word, start) in enumerate(found):
        terms.append((word, position, start, start + len(word)))
        if len(word) > 2:
            for part, offset in _parts(word):
                terms.append((part, position, start + offset, start + offset + len(part)))
        if position + 1 < len(found) and _is_compound(word, found[position + 1][0]):
            unit, unit_start = found[position + 1]
            terms.append((word + unit, position, start, unit_start + len(unit)))
    return tuple(terms)


def merge_compounds(query_words: Sequence[str]) -> list[str]:
    """The query's words with each number-and-unit pair as the one term the index holds for it."""
    merged, i = [], 0
    while i < len(query_words):
        if i + 1 < len(query_words) and _is_compound(query_words[i], query_words[i + 1]):
            merged.append(query_words[i] + query_words[i + 1])
            i += 2
        else:
            merged.append(query_words[i])
            i += 1
    return merged


def _is_compound(word: str, following: str) -> bool:
    number = word.replace(".", "", 1)
    return (
        number.isascii()
        and number.isdigit()
        and 0 < len(following) <= MAX_UNIT_LENGTH
        and all(_is_cjk(ch) for ch in following)
    )


def _parts(word: str) -> list[tuple[str, int]]:
    """The shorter dictionary words inside ``word`` (jieba's search mode), with offsets."""
    parts = []
    for part in _segmenter().cut_for_search(word):
        if part == word or not _is_indexable(part):
            continue
        offset = word.find(part)
        if offset >= 0:
            parts.append((part, offset))
    return parts


class ChineseTokenizer(Tokenizer):
    """Whoosh tokenizer over :func:`index_terms` (indexing) or :func:`words` (queries)."""

    def __eq__(self, other):
        return other.__class__ is self.__class__

    def __call__(
        self,
        value,
        positions=False,
        chars=False,
        keeporiginal=False,
        removestops=True,
        start_pos=0,
        start_char=0,
        tokenize=True,
        mode="",
        **kwargs,
    ):
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        if not tokenize:
            token.original = token.text = fold(value)
            token.boost = 1.0
            if positions:
                token.pos = start_pos
            if chars:
                token.startchar, token.endchar = start_char, start_char + len(value)
            yield token
            return
        if mode == "query":
            terms = [(w, i, s, s + len(w)) for i, (w, s) in enumerate(words(value))]
        else:
            terms = index_terms(value)
        for text, position, start, end in terms:
            token.text = text
            token.boost = 1.0
            token.stopped = False
            if keeporiginal:
                token.original = text
            if positions:
                token.pos = start_pos + position
            if chars:
                token.startchar, token.endchar = start_char + start, start_char + end
            yield token


def ChineseAnalyzer():  # noqa: N802 - Whoosh's analyzers are factory functions named like classes
    return ChineseTokenizer()


def pair(first: str, second: str) -> str:
    """The pair term of two words at consecutive positions (a space: no word holds one)."""
    return f"{first} {second}"


def pairs(terms: Sequence[tuple[str, int, int, int]]) -> list[str]:
    """Every pair of index terms at consecutive positions: each word, part or compound at a
    position with each at the next, so a phrase of whole query words finds parts too."""
    at: dict[int, list[str]] = {}
    for term, position, *_ in terms:
        at.setdefault(position, []).append(term)
    return [
        pair(first, second)
        for position, firsts in at.items()
        for first in firsts
        for second in at.get(position + 1, ())
    ]


def saturation(tf: float, norm: float = 1.0) -> float:
    """BM25's term-frequency factor, ``norm`` the field's length normalisation."""
    return tf * (K1 + 1) / (tf + K1 * norm)


class _FieldsTokenizer(Tokenizer):
    """Query mode and untokenized values behave as :class:`ChineseTokenizer`'s."""

    def __call__(self, value, positions=False, chars=False, keeporiginal=False,
                 removestops=True, start_pos=0, start_char=0, tokenize=True, mode="",
                 **kwargs):  # fmt: skip
        if not tokenize or mode == "query":
            yield from ChineseTokenizer()(
                value, positions=positions, chars=chars, keeporiginal=keeporiginal,
                removestops=removestops, start_pos=start_pos, start_char=start_char,
                tokenize=tokenize, mode=mode, **kwargs,
            )  # fmt: skip
            return
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        yield from self._tokens(token, value, start_pos)


class ImpactTokenizer(_FieldsTokenizer):
    """Each distinct term of a document once, its boost the document's weight for it: the sum
    over the fields of boost × BM25's tf·(k1+1) / (tf + k1·norm), norm = 1 − b + b·length /
    reference. The reference length is fixed per field rather than averaged over the index, so
    a weight never changes after its document is written; and a field shorter than its
    reference counts as that long (norm ≥ 1), so one occurrence in a title or names of usual
    length outweighs any number in the body: a short body never outranks a title or a company
    name."""

    def __init__(self, boosts: Sequence[float], lengths: Sequence[float]):
        self.boosts = tuple(boosts)
        self.lengths = tuple(lengths)
        self.version = 2

    def __eq__(self, other):
        return other.__class__ is self.__class__ and _identity(other) == _identity(self)

    def _tokens(self, token, value, start_pos):
        weights: dict[str, float] = {}
        parts = (index_terms(part) for part in value.split(FIELD_SEPARATOR))
        for terms, boost, reference in zip(parts, self.boosts, self.lengths, strict=False):
            if not terms:
                continue
            length = terms[-1][1] + 1  # in words: a word's parts share its position
            norm = max(1.0, 1 - B + B * length / reference)
            for term, tf in Counter(term for term, *_ in terms).items():
                weights[term] = weights.get(term, 0.0) + boost * saturation(tf, norm)
        for position, (term, weight) in enumerate(weights.items()):
            token.text = token.original = term
            token.boost = weight
            token.stopped = False
            token.pos = start_pos + position
            yield token


def _identity(tokenizer) -> tuple:
    # An index remembers the tokenizers it was written with (pickled in its schema); one
    # written before `version` existed compares unequal, and search/index.py rebuilds it.
    return (
        getattr(tokenizer, "boosts", None),
        getattr(tokenizer, "lengths", None),
        getattr(tokenizer, "version", 1),
    )


class PairTokenizer(_FieldsTokenizer):
    """Each distinct pair of terms at consecutive positions (:func:`pairs`) once, its boost
    Σ over the fields it stands in of boost × BM25's saturation of its count there (no length
    normalisation: a phrase is specific enough), so a 文号 in a policy's names outweighs the
    same 文号 cited in a body. A pair never spans two fields."""

    def __init__(self, boosts: Sequence[float]):
        self.boosts = tuple(boosts)
        self.lengths = None
        self.version = 2

    def __eq__(self, other):
        return other.__class__ is self.__class__ and _identity(other) == _identity(self)

    def _tokens(self, token, value, start_pos):
        weights: dict[str, float] = {}
        parts = (index_terms(part) for part in value.split(FIELD_SEPARATOR))
        for terms, boost in zip(parts, self.boosts, strict=False):
            for term, count in Counter(pairs(terms)).items():
                weights[term] = weights.get(term, 0.0) + boost * saturation(count)
        for position, (term, weight) in enumerate(weights.items()):
            token.text = token.original = term
            token.boost = weight
            token.stopped = False
            token.pos = start_pos + position
            yield token
