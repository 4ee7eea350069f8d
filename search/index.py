"""The Whoosh index: its schema, one writer at a time, a searcher kept open, label-filtered
queries.

Documents are leads and policies. Every document carries the *labels* of who may see it
(DESIGN.md §5): ``t<tenant id>`` for each tenant that sees it, ``overseer`` for leads (the city
tenant and assessors see every lead), ``all`` for city-wide policies. A query is filtered by the
reader's labels here, and every hit is checked again against the database by the caller before
it is shown.

Queries are built from the folded, segmented words of what the user typed — no query syntax is
parsed, so nothing a user types can make a query fail: each whitespace-separated piece must
match (its words as a phrase) in the title, the names (company, 文号) or the body.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as q
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.scoring import BM25F

from search.analysis import ChineseAnalyzer, words

WRITER_TIMEOUT_SECONDS = 10.0
SEARCH_FIELDS = ("title", "names", "body")
# Title over company names and 文号 over body text (the order).
FIELD_BOOSTS = {"title": 4.0, "names": 2.5, "body": 1.0}
MAX_QUERY_PIECES = 8


def schema() -> Schema:
    analyzer = ChineseAnalyzer()
    return Schema(
        doc_id=ID(stored=True, unique=True),  # "lead:12", "policy:3"
        kind=ID(stored=True),
        object_id=NUMERIC(stored=True, numtype=int, bits=64),
        title=TEXT(analyzer=analyzer, phrase=True, field_boost=FIELD_BOOSTS["title"]),
        names=TEXT(analyzer=analyzer, phrase=True, field_boost=FIELD_BOOSTS["names"]),
        body=TEXT(analyzer=analyzer, phrase=True, field_boost=FIELD_BOOSTS["body"]),
        labels=KEYWORD(),
        chain=ID(),
        stage=ID(),
        tenant=ID(),
        validity=ID(),
        year=NUMERIC(numtype=int),
        when=DATETIME(sortable=True),
    )


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int
    score: float


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int


class SearchIndex:
    """One index folder. Writers are exclusive across processes (Whoosh's lock file, waited for
    up to ``WRITER_TIMEOUT_SECONDS``); the searcher is opened once and refreshed only when
    another writer has committed since."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._searcher = None
        self._generation = None
        self.path.mkdir(parents=True, exist_ok=True)
        if whoosh_index.exists_in(str(self.path)):
            self._ix = whoosh_index.open_dir(str(self.path))
        else:
            self._ix = whoosh_index.create_in(str(self.path), schema())

    @contextlib.contextmanager
    def writer(self) -> Iterator:
        """A writer that commits on success and cancels on error. Merging is left to
        :meth:`optimize` (a CLI job), so a commit from a request stays small."""
        writer = self._ix.writer(timeout=WRITER_TIMEOUT_SECONDS)
        try:
            yield writer
        except BaseException:
            writer.cancel()
            raise
        writer.commit(merge=False)

    def put(self, writer, document: dict) -> None:
        writer.update_document(**document)

    def remove(self, writer, doc_id: str) -> None:
        writer.delete_by_term("doc_id", doc_id)

    def merge(self, optimize: bool = False) -> None:
        """Merge small segments (or everything, ``optimize``): a CLI job, never a request —
        optimizing 100k documents takes minutes."""
        writer = self._ix.writer(timeout=WRITER_TIMEOUT_SECONDS)
        writer.commit(merge=True, optimize=optimize)

    def searcher(self):
        """The open searcher, reopened when a writer (of any process) committed since. (Whoosh's
        own ``refresh()`` misses a commit that only deletes.)"""
        with self._lock:
            generation = self._ix.latest_generation()
            if self._searcher is None or generation != self._generation:
                # The old searcher is not closed here: another thread may still be reading
                # from it; it is released when the last reference goes.
                self._searcher = self._ix.searcher(weighting=BM25F())
                self._generation = generation
            return self._searcher

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None

    def search(
        self,
        text: str,
        labels: Iterable[str],
        *,
        filters: dict[str, str] | None = None,
        page: int = 1,
        per_page: int = 20,
        newest_first: bool = False,
    ) -> Results:
        matching = build_query(text)
        if matching is None:
            return Results([], 0)
        allowed = q.Or([q.Term("labels", label) for label in labels])
        conditions = [matching, allowed]
        conditions += [q.Term(name, value) for name, value in (filters or {}).items() if value]
        searcher = self.searcher()
        page_results = searcher.search_page(
            q.And(conditions),
            max(page, 1),
            pagelen=per_page,
            sortedby="when" if newest_first else None,
            reverse=newest_first,
        )
        hits = [
            Hit(hit["kind"], int(hit["object_id"]), float(hit.score or 0.0)) for hit in page_results
        ]
        return Results(hits, page_results.total)


def build_query(text: str):
    """The query for what the user typed, or None when it holds no searchable word."""
    pieces = [piece for piece in (text or "").split() if piece][:MAX_QUERY_PIECES]
    clauses = []
    for piece in pieces:
        terms = [word for word, _ in words(piece)]
        if not terms:
            continue
        per_field = [_match(field, terms) for field in SEARCH_FIELDS]
        clauses.append(q.Or(per_field))
    if not clauses:
        return None
    return q.And(clauses)


def _match(field: str, terms: list[str]):
    if len(terms) == 1:
        return q.Term(field, terms[0])
    return q.Phrase(field, terms)
