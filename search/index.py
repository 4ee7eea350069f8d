"""The Whoosh index: its schema, one writer at a time, a searcher kept open, label-filtered
queries evaluated over Whoosh's own posting lists.

Documents are leads and policies. Every document carries the *labels* of who may see it
(DESIGN.md §5): ``t<tenant id>`` for each tenant that sees it, ``overseer`` for leads (the city
tenant and assessors see every lead), ``all`` for city-wide policies. A query is filtered by the
reader's labels here, and every hit is checked again against the database by the caller before
it is shown.

Queries are built from the folded, segmented words of what the user typed — no query syntax is
parsed, so nothing a user types can make a query fail: each whitespace-separated piece must
match (its words as a phrase) in the title, the names (company, 文号) or the body. Every hit
count (``Results.total``, :meth:`SearchIndex.count`) is exact.

**How a query runs** (the search issue's benchmark: stock Whoosh took ~600 ms at 100k documents,
most of it in Python per posting, and as much again counting the total):

* A document's title, names and body are indexed together twice (search/analysis.py): ``text``,
  whose posting weights are the document's BM25F weights for each term (title > names > body),
  computed once when the document is written; and ``pairs``, each two terms at consecutive
  positions, weighted by the fields they stand in. A phrase piece (a 文号, 光伏组件) matches the
  documents holding its terms and the pairs of its neighbouring words. A document scores, per
  piece, the idf of the piece's terms times the term's weight (one word) or the weakest pair's
  (a phrase: where the phrase itself stands, so a 文号 in a policy's names outranks the same
  文号 cited in another's body). idf is computed at query time over the whole index.
* Posting lists are read straight from Whoosh's segment files a block at a time and kept,
  decoded, in a per-process cache (segments never change once written, except for deletions,
  which are applied as a mask). Sets of documents — a term's, a label's, a filter's, the live
  ones — are Python ints with one byte per document, so combining them and counting the total
  are a few C-level operations whatever the number of matches.
* The top of the ranking comes from the candidates directly when they are few, else from
  block-max "threshold" evaluation: blocks in order of their largest weight, stopping when no
  unread block can beat the current top. Highlights are for the shown page only (the caller's).
* The searcher is reopened only when another commit happened, reusing the readers of segments
  that did not change.
* Writes: :meth:`SearchIndex.put` finds a document's old version through the open searcher
  (Whoosh's ``update_document`` opens a reader on every segment per call); fields that are only
  stored or sorted on are not indexed; segments are separate files (see ``SEGMENT_COMPOUND``).
"""

from __future__ import annotations

import contextlib
import fcntl
import heapq
import io
import logging
import math
import pickle
import sys
import threading
import zlib
from array import array
from bisect import bisect_left
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate, compress, islice, repeat
from pathlib import Path

from whoosh import index as whoosh_index
from whoosh import query as q
from whoosh.codec.whoosh3 import W3Codec
from whoosh.fields import DATETIME, ID, KEYWORD, NUMERIC, TEXT, FieldType, Schema
from whoosh.index import LockError
from whoosh.reading import EmptyReader, MultiReader, SegmentReader, TermNotFound
from whoosh.scoring import BM25F
from whoosh.searching import Searcher
from whoosh.writing import CLEAR

from search.analysis import (
    FIELD_SEPARATOR,
    ImpactTokenizer,
    PairTokenizer,
    merge_compounds,
    pair,
    words,
)

log = logging.getLogger(__name__)

WRITER_TIMEOUT_SECONDS = 10.0
SEARCH_FIELDS = ("title", "names", "body")
# Title over company names and 文号 over body text (the order).
FIELD_BOOSTS = {"title": 4.0, "names": 2.5, "body": 1.0}
# A field's usual length in words: BM25's average length, fixed (see ImpactTokenizer).
REFERENCE_LENGTHS = {"title": 8.0, "names": 6.0, "body": 100.0}
MAX_QUERY_PIECES = 8
# Decoded postings and document sets kept per process. A posting costs 8 bytes, a document set
# one byte per document of its segment: at 100k documents this holds the lists of a few
# thousand terms and a few hundred sets.
CACHE_BYTES = 160 * 2**20
# Up to this many candidates are scored one by one; more go through block-max evaluation.
DIRECT_SCORING_LIMIT = 2000
# Segments are written as separate files, not as Whoosh's one compound file: a reader of a
# compound segment copies the whole of it into memory (its BufferFile wraps the mmap in a
# BytesIO) — at 100k documents 0.3 s (seconds from a cold disk) and 200+ MB per process, again
# at every reopen. Separate files are read with seek and read, under the index's read lock.
SEGMENT_COMPOUND = False
OPEN_ATTEMPTS = 3


class SOURCE(FieldType):
    """A field the document carries but Whoosh neither indexes nor stores: title, names and
    body reach the index through ``text`` and ``pairs`` (see :meth:`SearchIndex.put`)."""

    indexed = False
    stored = False

    def __init__(self):
        pass


def schema() -> Schema:
    boosts = [FIELD_BOOSTS[name] for name in SEARCH_FIELDS]
    lengths = [REFERENCE_LENGTHS[name] for name in SEARCH_FIELDS]
    return Schema(
        doc_id=ID(stored=True, unique=True),  # "lead:12", "policy:3"
        kind=ID(stored=True),
        # of the content: `flask search check` finds stale ones
        fingerprint=_unindexed(ID(stored=True)),
        object_id=_unindexed(NUMERIC(stored=True, numtype=int, bits=64)),
        title=SOURCE(),
        names=SOURCE(),
        body=SOURCE(),
        text=TEXT(analyzer=ImpactTokenizer(boosts, lengths), phrase=False),
        pairs=TEXT(analyzer=PairTokenizer(boosts), phrase=False),
        labels=KEYWORD(),
        chain=ID(),
        stage=ID(),
        tenant=ID(),
        validity=ID(),
        year=NUMERIC(numtype=int, shift_step=0),  # matched whole: no range terms
        when=_unindexed(DATETIME(sortable=True)),  # only its column, for newest first
    )


def _unindexed(field: FieldType) -> FieldType:
    # Stored or kept as a column only: every indexed term costs time in each commit.
    field.indexed = False
    return field


@dataclass(frozen=True)
class Hit:
    kind: str
    object_id: int
    score: float


@dataclass(frozen=True)
class Results:
    hits: list[Hit]
    total: int


@dataclass(frozen=True)
class _Piece:
    """One whitespace-separated piece of a query: the terms a matching document holds (number
    and unit merged) and, for more than one word, the pairs of neighbouring words it holds."""

    terms: tuple[str, ...]
    pairs: tuple[str, ...]


def _pieces(text: str) -> list[_Piece]:
    found = []
    for piece in (text or "").split()[:MAX_QUERY_PIECES]:
        piece_words = [word for word, _ in words(piece)]
        if not piece_words:
            continue
        terms = merge_compounds(piece_words)
        neighbours = zip(piece_words, piece_words[1:], strict=False) if len(terms) > 1 else ()
        pairs = dict.fromkeys(pair(first, second) for first, second in neighbours)
        found.append(_Piece(tuple(dict.fromkeys(terms)), tuple(pairs)))
    return found


def build_query(text: str):
    """The Whoosh query equivalent to what :meth:`SearchIndex.search` evaluates for ``text``
    (before labels and filters), or None when it holds no searchable word."""
    clauses = []
    for piece in _pieces(text):
        parts = [q.Term("text", term) for term in piece.terms]
        parts += [q.Term("pairs", term) for term in piece.pairs]
        clauses.append(parts[0] if len(parts) == 1 else q.And(parts))
    if not clauses:
        return None
    return q.And(clauses)


class SearchIndex:
    """One index folder. Writers are exclusive across processes (Whoosh's lock file, waited for
    up to ``WRITER_TIMEOUT_SECONDS``); the searcher is opened once and refreshed only when
    another writer has committed since. Safe to share between threads."""

    def __init__(self, path: str | Path, cache_bytes: int = CACHE_BYTES):
        self.path = Path(path)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        # Whoosh reads a segment file through one file object per reader (seek, then read):
        # reads from the shared readers take turns; decoding happens outside.
        self._read_lock = threading.Lock()
        self._searcher = None
        self._generation = None
        self._view: _View | None = None
        self._cache = _Cache(cache_bytes)
        self.path.mkdir(parents=True, exist_ok=True)
        self._ix = _open_or_create(self.path)

    # ---- writing --------------------------------------------------------------------------

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
            writer = self._ix.writer(
                timeout=timeout,
                compound=SEGMENT_COMPOUND,
                # A request's commit writes a block per term of a document or two: compressing
                # each is a tenth of the commit and saves nothing on so few postings. Merges and
                # rebuilds write compressed blocks.
                codec=None if replace_all else W3Codec(compression=0),
            )
            # put() need not look for a document's old version when all of them are dropped.
            writer.xq_replace_all = replace_all
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
        fields = dict(document)
        fields["text"] = fields["pairs"] = FIELD_SEPARATOR.join(
            str(document.get(name) or "") for name in SEARCH_FIELDS
        )
        if not getattr(writer, "xq_replace_all", False):
            self._delete(writer, document["doc_id"])
        writer.add_document(**fields)

    def remove(self, writer, doc_id: str) -> None:
        self._delete(writer, doc_id)

    def _delete(self, writer, doc_id: str) -> None:
        """Whoosh's own delete_by_term opens a reader on every segment for each call; the open
        searcher is on the same segments while this process holds the writer lock."""
        view = self._current_view()
        if [seg.segid for seg in view.segments] != [s.segment_id() for s in writer.segments]:
            writer.delete_by_term("doc_id", doc_id)
            return
        for seg in view.segments:
            found = self._decode(seg, "doc_id", doc_id)
            for docnum in found.ids if found else ():
                writer.delete_document(seg.offset + docnum)

    def merge(self, optimize: bool = False) -> None:
        """Merge small segments (or everything, ``optimize``): a CLI job, never a request —
        optimizing 100k documents takes minutes."""
        with self._write_lock:
            writer = self._ix.writer(timeout=WRITER_TIMEOUT_SECONDS, compound=SEGMENT_COMPOUND)
            writer.commit(merge=True, optimize=optimize)

    # ---- reading --------------------------------------------------------------------------

    def searcher(self):
        """The open searcher, reopened when a writer (of any process) committed since. (Whoosh's
        own ``refresh()`` misses a commit that only deletes: readers are reused here only for a
        segment whose deletions did not change.)"""
        with self._lock:
            generation = self._ix.latest_generation()
            if self._searcher is None or generation != self._generation:
                # The old searcher is not closed here: another thread may still be reading
                # from it; it is released when the last reference goes.
                self._searcher, self._generation = self._open_searcher(self._searcher)
                self._view = None
            return self._searcher

    def _open_searcher(self, previous):
        for attempt in range(OPEN_ATTEMPTS):
            try:
                return self._open_readers(previous)
            except FileNotFoundError:
                # A merge committed and deleted the segments of the table of contents just
                # read: read the newer one.
                if attempt == OPEN_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _open_readers(self, previous):
        toc = self._ix._read_toc()  # the segment list, to reuse readers
        reusable = {}
        if previous is not None:
            for reader, _ in previous.reader().leaf_readers():
                if isinstance(reader, SegmentReader):
                    segment = reader.segment()
                    reusable[(segment.segment_id(), segment.deleted_count())] = reader
        readers = []
        for segment in toc.segments:
            key = (segment.segment_id(), segment.deleted_count())
            reader = reusable.pop(key, None)
            if reader is None:
                reader = SegmentReader(
                    self._ix.storage, toc.schema, segment, generation=toc.generation
                )
                _open_files(reader)
            readers.append(reader)
        if not readers:
            reader = EmptyReader(toc.schema)
        elif len(readers) == 1:
            reader = readers[0]
        else:
            reader = MultiReader(readers, generation=toc.generation)
        searcher = Searcher(reader, weighting=BM25F(), fromindex=self._ix)
        return searcher, toc.generation

    def _current_view(self) -> _View:
        searcher = self.searcher()
        with self._lock:
            view = self._view
            if view is None or view.searcher is not searcher:
                view = self._view = _View(searcher)
            return view

    def stored(self) -> dict[str, str]:
        """doc_id → fingerprint of every document in the index."""
        searcher = self.searcher()
        with self._read_lock:
            return {
                fields["doc_id"]: fields.get("fingerprint", "")
                for fields in searcher.all_stored_fields()
            }

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def generation(self) -> int:
        return self._ix.latest_generation()

    def clear_cache(self) -> None:
        """Forget every decoded posting list and document set (benchmarks measure cold
        queries with it; the cache never needs clearing for correctness)."""
        self._cache.clear()

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
                self._searcher = None
                self._view = None
        self._cache.clear()

    # ---- searching ------------------------------------------------------------------------

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
        """One page of the documents matching ``text`` that ``labels`` reach and ``filters``
        keep, best first (or newest first), and the exact number of them."""
        page, per_page = max(page, 1), max(per_page, 1)
        top: list[tuple] = []  # a min-heap of the best page × per_page so far
        view, total = self._evaluate(text, labels, filters, page * per_page, newest_first, top)
        ranked = sorted(top, reverse=True)[(page - 1) * per_page :]
        hits = []
        with self._read_lock:
            for entry in ranked:
                fields = view.searcher.stored_fields(-entry[1])
                hits.append(Hit(fields["kind"], int(fields["object_id"]), float(entry[-1])))
        return Results(hits, total)

    def count(
        self, text: str, labels: Iterable[str], *, filters: dict[str, str] | None = None
    ) -> int:
        """``search(...).total`` without ranking anything (counts per kind beside a page)."""
        return self._evaluate(text, labels, filters, 0, False, [])[1]

    def _evaluate(self, text, labels, filters, wanted: int, newest_first: bool, top: list):
        """(the view searched, the total), collecting the best ``wanted`` into ``top``."""
        pieces = _pieces(text)
        labels = tuple(sorted(set(labels)))
        view = self._current_view()
        if not pieces or not labels or not view.segments:
            return view, 0
        conditions = tuple(sorted((k, v) for k, v in (filters or {}).items() if v))
        terms = list(dict.fromkeys(term for piece in pieces for term in piece.terms))

        # Term statistics over the whole index first: a score's idf must not depend on the
        # segment a document happens to be in.
        postings = {}
        frequency = dict.fromkeys(terms, 0)
        for seg in view.segments:
            for term in terms:
                found = postings[seg.segid, term] = self._postings(seg, "text", term)
                frequency[term] += len(found.ids) if found else 0
        total_docs = view.doc_count_all
        idf = {
            term: math.log(1 + (total_docs - df + 0.5) / (df + 0.5))
            for term, df in frequency.items()
        }

        total = 0
        for seg in view.segments:
            if any(postings[seg.segid, term] is None for term in terms):
                continue  # a term no document of this segment holds: nothing matches
            candidates = self._allowed(seg, labels, conditions)
            lists = []
            for piece in sorted(pieces, key=lambda p: min(len(postings[seg.segid, t].ids)
                                                           for t in p.terms)):  # fmt: skip
                if not candidates:
                    break
                docs, found = self._piece(seg, piece, postings)
                candidates &= docs
                lists.append((sum(idf[term] for term in piece.terms), found))
            count = candidates.bit_count()
            total += count
            if not count or not wanted:
                continue
            members = candidates.to_bytes(seg.doc_count, "little")
            if newest_first:
                self._newest(seg, members, count, lists, wanted, top)
            elif count <= DIRECT_SCORING_LIMIT:
                self._score_each(seg, members, lists, wanted, top)
            else:
                self._score_blocks(seg, members, lists, wanted, top)
        return view, total

    def _score_each(self, seg, members: bytes, lists, wanted: int, top: list) -> None:
        docs = _members(members)
        scores = [0.0] * len(docs)
        for weight, found in lists:
            if len(found.ids) <= 4 * len(docs):
                # A short list: walk it and keep the candidates' weights.
                ids = found.ids
                held = dict(
                    compress(zip(ids, found.weights, strict=True), map(members.__getitem__, ids))
                )
                for i, docnum in enumerate(docs):
                    scores[i] += weight * held.get(docnum, 0.0)
            else:
                for i, docnum in enumerate(docs):
                    scores[i] += weight * found.weight(docnum)
        offset = seg.offset
        for docnum, score in zip(docs, scores, strict=True):
            _offer(top, wanted, (score, -(offset + docnum), score))

    def _score_blocks(self, seg, members: bytes, lists, wanted: int, top: list) -> None:
        """Block-max evaluation: read each list's blocks in order of their largest weight,
        score every candidate in a block completely, and stop when even the best unread block
        of every list together cannot beat the current top. Every candidate holds every term,
        so once one list is read to the end every candidate has been scored."""
        orders = [found.block_order() for _, found in lists]
        read = [0] * len(lists)
        fronts = [weight * found.maxes[order[0]] for (weight, found), order in
                  zip(lists, orders, strict=True)]  # fmt: skip
        seen = bytearray(seg.doc_count)
        offset = seg.offset
        while True:
            if len(top) >= wanted and top[0][0] >= sum(fronts):
                return
            best = max(range(len(lists)), key=fronts.__getitem__)
            weight, found = lists[best]
            block = orders[best][read[best]]
            read[best] += 1
            start = found.ends[block - 1] if block else 0
            block_ids = found.ids[start : found.ends[block]]
            for docnum in compress(block_ids, map(members.__getitem__, block_ids)):
                if seen[docnum]:
                    continue
                seen[docnum] = 1
                score = 0.0
                for term_weight, term_found in lists:
                    score += term_weight * term_found.weight(docnum)
                _offer(top, wanted, (score, -(offset + docnum), score))
            if read[best] == len(orders[best]):
                return
            fronts[best] = weight * found.maxes[orders[best][read[best]]]

    def _newest(self, seg, members: bytes, count: int, lists, wanted: int, top: list) -> None:
        when = self._when(seg)
        if count <= DIRECT_SCORING_LIMIT:
            docs = _members(members)
            picked = heapq.nlargest(wanted, docs, key=lambda d: (when[d], -d))
        else:
            order = self._when_order(seg)
            picked = list(islice(compress(order, map(members.__getitem__, order)), wanted))
        for docnum in picked:
            score = sum(weight * found.weight(docnum) for weight, found in lists)
            _offer(top, wanted, (when[docnum], -(seg.offset + docnum), score))

    # ---- document sets and postings ------------------------------------------------------------

    def _allowed(self, seg, labels: tuple, conditions: tuple) -> int:
        """The live documents of ``seg`` the reader's labels reach and the filters keep (the
        issue's cached label filters: one entry per reader's labels and filters)."""
        key = ("allowed", seg.segid, seg.deleted_count, labels, conditions)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        allowed = 0
        for label in labels:
            allowed |= self._term_docs(seg, "labels", label)
        for name, value in conditions:
            allowed &= self._term_docs(seg, name, value)
        allowed &= self._live(seg)
        self._cache.put(key, allowed, seg.doc_count)
        return allowed

    def _live(self, seg) -> int:
        key = ("live", seg.segid, seg.deleted_count)
        live = self._cache.get(key)
        if live is None:
            live = int.from_bytes(b"\x01" * seg.doc_count, "little")
            deleted = seg.reader.segment().deleted_docs() if seg.deleted_count else ()
            if deleted:
                live &= ~_doc_set(deleted, seg.doc_count)
            self._cache.put(key, live, seg.doc_count)
        return live

    def _term_docs(self, seg, field: str, value) -> int:
        key = ("docs", seg.segid, field, value)
        docs = self._cache.get(key)
        if docs is None:
            found = self._postings(seg, field, value)
            docs = found.doc_set(seg.doc_count) if found else 0
            self._cache.put(key, docs, seg.doc_count)
        return docs

    def _piece(self, seg, piece: _Piece, postings: dict) -> tuple[int, _Postings]:
        """The documents of ``seg`` that hold the piece, and the postings that weight it: the
        term's own for one word; for a phrase, its pair's — or of several pairs, the weakest
        one's in each document."""
        if not piece.pairs:
            term = piece.terms[0]
            return self._term_docs(seg, "text", term), postings[seg.segid, term]
        key = ("phrase", seg.segid, piece.terms, piece.pairs)
        cached = self._cache.get(key)
        if cached is None:
            docs = -1  # every bit set: the identity of &
            for field, term in [("text", t) for t in piece.terms] + [
                ("pairs", p) for p in piece.pairs
            ]:
                docs &= self._term_docs(seg, field, term)
            if not docs:
                found = _NOTHING
            elif len(piece.pairs) == 1:
                found = self._postings(seg, "pairs", piece.pairs[0])
            else:
                holders = [self._postings(seg, "pairs", p) for p in piece.pairs]
                ids = array("i", _members(docs.to_bytes(seg.doc_count, "little")))
                weights = array("f", (min(h.weight(d) for h in holders) for d in ids))
                found = _Postings.from_lists(ids, weights)
            cached = (docs, found)
            self._cache.put(key, cached, found.nbytes + seg.doc_count)
        return cached

    def _postings(self, seg, field: str, value):
        key = ("postings", seg.segid, field, value)
        found = self._cache.get(key)
        if found is None:
            found = self._decode(seg, field, value) or _NOTHING
            self._cache.put(key, found, found.nbytes)
        return None if found is _NOTHING else found

    def _decode(self, seg, field: str, value) -> _Postings | None:
        """A term's postings in one segment, read as one slice of the postings file and
        decoded block by block (Whoosh's W3 codec: per block a pickled header with the count,
        last id and largest weight, then the pickled, usually zlib-compressed, delta-encoded
        ids and weights)."""
        reader = seg.reader
        tbytes = _term_bytes(reader.schema[field], value)
        terms = getattr(reader, "_terms", None)
        postfile = getattr(terms, "_postfile", None)
        with self._read_lock:
            try:
                info = terms.term_info(field, tbytes) if postfile is not None else None
            except (KeyError, TermNotFound):
                return None
            if info is None or info.is_inlined():
                return _decode_matcher(reader, field, tbytes)
            start, length = info.extent()
            if isinstance(length, tuple):  # W3TermInfo.from_bytes leaves it in a 1-tuple
                length = length[0]
            raw = postfile.get(start, length)
        return _decode_blocks(memoryview(raw))

    def _when(self, seg) -> array:
        """Each document's ``when`` (Whoosh's sortable unsigned integer), by document number."""
        key = ("when", seg.segid)
        when = self._cache.get(key)
        if when is None:
            with self._read_lock:
                when = _read_numeric_column(seg.reader, "when", seg.doc_count)
            self._cache.put(key, when, 8 * seg.doc_count)
        return when

    def _when_order(self, seg) -> array:
        key = ("when-order", seg.segid)
        order = self._cache.get(key)
        if order is None:
            when = self._when(seg)
            order = array("i", sorted(range(seg.doc_count), key=lambda d: (-when[d], d)))
            self._cache.put(key, order, 4 * seg.doc_count)
        return order


def _open_files(reader) -> None:
    """Open now the files a search reads later (stored fields, the ``when`` column), not at
    first use: a merge deletes a merged segment's files, and an open file stays readable."""
    if reader.doc_count_all():
        reader.stored_fields(0)
        if reader.has_column("when"):
            reader.column_reader("when", translate=False)


class _Segment:
    __slots__ = ("reader", "offset", "segid", "doc_count", "deleted_count")

    def __init__(self, reader, offset):
        segment = reader.segment()
        self.reader = reader
        self.offset = offset
        self.segid = segment.segment_id()
        self.doc_count = segment.doc_count_all()
        self.deleted_count = segment.deleted_count()


class _View:
    """The segments of one searcher, with their document-number offsets."""

    def __init__(self, searcher):
        self.searcher = searcher
        self.segments = []
        if searcher.doc_count_all():
            for subsearcher, offset in searcher.leaf_searchers():
                self.segments.append(_Segment(subsearcher.reader(), offset))
        self.doc_count_all = searcher.doc_count_all()


class _Postings:
    """One term's postings in one segment: document numbers ascending, their weights, and for
    each block (as Whoosh wrote it) where it ends and its largest weight."""

    __slots__ = ("ids", "weights", "ends", "maxes", "_order", "nbytes")

    def __init__(self, ids: array, weights: array, ends: list[int], maxes: list[float]):
        self.ids, self.weights, self.ends, self.maxes = ids, weights, ends, maxes
        self._order = None
        self.nbytes = 8 * len(ids) + 16 * len(ends) + 200

    @classmethod
    def from_lists(cls, ids: array, weights: array, block: int = 128) -> _Postings:
        ends = list(range(block, len(ids), block)) + [len(ids)]
        starts = [0, *ends[:-1]]
        maxes = [max(weights[a:b]) for a, b in zip(starts, ends, strict=True)]
        return cls(ids, weights, ends, maxes)

    def weight(self, docnum: int) -> float:
        i = bisect_left(self.ids, docnum)
        if i < len(self.ids) and self.ids[i] == docnum:
            return self.weights[i]
        return 0.0

    def doc_set(self, doc_count: int) -> int:
        return _doc_set(self.ids, doc_count)

    def block_order(self) -> list[int]:
        if self._order is None:
            self._order = sorted(range(len(self.ends)), key=self.maxes.__getitem__, reverse=True)
        return self._order


_NOTHING = _Postings(array("i"), array("f"), [], [])


def _decode_blocks(raw: memoryview) -> _Postings:
    ids, weights, ends, maxes = array("i"), array("f"), [], []
    pos = 4  # the postings' magic number
    while pos < len(raw):
        size = abs(int.from_bytes(raw[pos : pos + 4], "big", signed=True))
        header = io.BytesIO(raw[pos + 4 : pos + 4 + size])
        count, _, top, compression, _, _ = pickle.load(header)  # noqa: S301 - our own index
        data = raw[pos + 4 + header.tell() : pos + 4 + size]
        block_ids, block_weights = pickle.loads(  # noqa: S301
            zlib.decompress(data) if compression else data
        )[:2]
        ids.extend(accumulate(block_ids))
        if block_weights is None or isinstance(block_weights, float):
            weights.extend(repeat(1.0 if block_weights is None else block_weights, count))
        else:
            weights.extend(block_weights)
        ends.append(len(ids))
        maxes.append(top)
        pos += 4 + size
    return _Postings(ids, weights, ends, maxes)


def _read_numeric_column(reader, field: str, doc_count: int) -> array:
    """A numeric column's values in one read (Whoosh's reader unpacks them one call a
    document); a document without a value gets the column's default, as Whoosh sorts it."""
    if not reader.has_column(field):
        return array("Q", bytes(8 * doc_count))
    column = reader.column_reader(field, translate=False)
    try:
        stored = column._count  # a fixed-width column: count, start, file
        raw = column._dbfile.get(column._basepos, stored * column._fixedlen)
        values = array(column._typecode)
        values.frombytes(raw)
        if sys.byteorder == "little":  # written big-endian
            values.byteswap()
        values.extend(repeat(column._default, doc_count - stored))
    except AttributeError:
        values = array("Q", (column[d] for d in range(doc_count)))
    return values


def _decode_matcher(reader, field: str, tbytes: bytes) -> _Postings | None:
    """Any other postings (inlined in the term info, another codec) through Whoosh's matcher."""
    try:
        matcher = reader.postings(field, tbytes)
    except TermNotFound:
        return None
    ids, weights = array("i"), array("f")
    while matcher.is_active():
        ids.append(matcher.id())
        weights.append(matcher.weight())
        matcher.next()
    if not ids:
        return None
    return _Postings(ids, weights, [len(ids)], [max(weights)])


def _term_bytes(field, value) -> bytes:
    if isinstance(field, NUMERIC):
        return field.to_bytes(int(value))
    return field.to_bytes(str(value))


def _doc_set(docnums: Iterable[int], doc_count: int) -> int:
    """A set of document numbers as an int with byte ``d`` set to 1 for each member: & | ~ and
    bit_count run in C over the whole segment."""
    flags = bytearray(doc_count)
    deque(map(flags.__setitem__, docnums, repeat(1)), maxlen=0)
    return int.from_bytes(flags, "little")


def _members(flags: bytes) -> list[int]:
    docs, find = [], flags.find
    i = find(1)
    while i >= 0:
        docs.append(i)
        i = find(1, i + 1)
    return docs


def _offer(top: list, wanted: int, entry: tuple) -> None:
    # Entries are (key, -docnum, score): among equal keys the lower document number wins, as
    # in Whoosh's own collector.
    if len(top) < wanted:
        heapq.heappush(top, entry)
    elif entry > top[0]:
        heapq.heapreplace(top, entry)


class _Cache:
    """A least-recently-used map bounded by the (estimated) bytes of its values."""

    def __init__(self, capacity: int):
        self.capacity = capacity
        self._items: OrderedDict = OrderedDict()
        self._size = 0
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            item = self._items.get(key)
            if item is None:
                return None
            self._items.move_to_end(key)
            return item[0]

    def put(self, key, value, nbytes: int) -> None:
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._size -= old[1]
            self._items[key] = (value, nbytes)
            self._size += nbytes
            while self._size > self.capacity and len(self._items) > 1:
                _, (_, size) = self._items.popitem(last=False)
                self._size -= size

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._size = 0


_CREATE_LOCK = threading.Lock()


def _open_or_create(path: Path):
    """Open the index, creating it first if the folder has none — once, however many threads
    and processes (web workers starting together) try at the same moment. An index written
    with another schema (before the search fields of this version, or with tokenizers this
    code no longer has) is replaced by an empty one: `flask search rebuild` fills it again."""
    with _CREATE_LOCK, open(path / ".create.lock", "a") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        try:
            if not _readable(path):
                whoosh_index.create_in(str(path), schema())
        finally:
            fcntl.flock(lock_file, fcntl.LOCK_UN)
    return whoosh_index.open_dir(str(path))


def _readable(path: Path) -> bool:
    """Whether the folder holds an index of the current schema."""
    try:
        if not whoosh_index.exists_in(str(path)):
            return False
        found = whoosh_index.open_dir(str(path)).schema
    except (AttributeError, ImportError, pickle.UnpicklingError):
        found = None  # pickled with classes that are gone
    if found is None or not _current(found):
        log.warning("search index at %s has an older schema: recreated empty", path)
        return False
    return True


def _current(found: Schema) -> bool:
    wanted = schema()
    return set(found.names()) == set(wanted.names()) and all(
        found[name].analyzer == wanted[name].analyzer for name in ("text", "pairs")
    )
