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
import fcntl
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as q
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, TEXT, Schema
from whoosh.index import LockError
from whoosh.scoring import BM25F
from whoosh.writing import CLEAR

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
        fingerprint=ID(stored=True),  # of the content: `flask search check` finds stale ones
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
        self._write_lock = threading.Lock()
        self._searcher = None
        self._generation = None
        self.path.mkdir(parents=True, exist_ok=True)
        self._ix = _open_or_create(self.path)

    @contextlib.contextmanager
    def writer(self, timeout: float = WRITER_TIMEOUT_SECONDS, replace_all: bool = False):
        """A writer that commits on success and cancels on error; raises whoosh's LockError
        when another writer (of any process) holds the index longer than ``timeout``. Merging
        is left to :meth:`merge` (a CLI job), so a commit from a request stays small.
        ``replace_all``: the commit drops every existing document (a rebuild)."""
        # Whoosh's lock file keeps other processes out; threads of this one queue here first.
        if not self._write_lock.acquire(timeout=timeout):
            raise LockError("another thread of this process is writing the index")
        try:
            writer = self._ix.writer(timeout=timeout)
            try:
                yield writer
            except BaseException:
                writer.cancel()
                raise
            if writer.is_closed:  # the caller cancelled: nothing to commit
                return
            if replace_all:
                writer.commit(mergetype=CLEAR)
            else:
                writer.commit(merge=False)
        finally:
            self._write_lock.release()

    def put(self, writer, document: dict) -> None:
        writer.update_document(**document)

    def remove(self, writer, doc_id: str) -> None:
        writer.delete_by_term("doc_id", doc_id)

    def merge(self, optimize: bool = False) -> None:
        """Merge small segments (or everything, ``optimize``): a CLI job, never a request —
        optimizing 100k documents takes minutes."""
        with self._write_lock:
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

    def stored(self) -> dict[str, str]:
        """doc_id → fingerprint of every document in the index."""
        searcher = self.searcher()
        return {
            fields["doc_id"]: fields.get("fingerprint", "")
            for fields in searcher.all_stored_fields()
        }

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def generation(self) -> int:
        return self._ix.latest_generation()

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
        conditions += [_filter(name, value) for name, value in (filters or {}).items() if value]
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


_CREATE_LOCK = threading.Lock()


def _open_or_create(path: Path):
    """Open the index, creating it first if the folder has none — once, however many threads
    and processes (web workers starting together) try at the same moment."""
    with _CREATE_LOCK, open(path / ".create.lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            if not whoosh_index.exists_in(str(path)):
                whoosh_index.create_in(str(path), schema())
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return whoosh_index.open_dir(str(path))


def _filter(name: str, value):
    if name == "year":  # a numeric field: its terms are encoded, so match by range
        return q.NumericRange("year", int(value), int(value))
    return q.Term(name, value)


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
