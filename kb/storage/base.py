"""What every store shares: the version model (`Manifest`, `DocumentRecord`, `StoredVersion`), the
interfaces a backend implements (`Store`, `VectorSearch`, `VectorRows`, `TokenStore`), how a version is
prepared before it is written and checked after it is read, and the one plan for a language-filtered search.

A backend (kb/storage/files.py, kb/storage/pgvector.py) imports from here and from kb/storage/tokens.py,
never from another backend.
"""

from __future__ import annotations

import contextlib
import functools
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..errors import REBUILD_HINT, IndexUnusable, KBError
from ..types import Chunk, Document, IndexSpec, ModelIdentity, Skipped
from .tokens import TokenCode, TokenVectors

# 5: typed manifest with skipped files and token-norm health. Format 4 indexes could hold token
# vectors that an incremental rebuild had written without their scales (hundreds of times too
# long), so they are never read: a plain `kb rebuild` replaces them.
# 11: the section headings read as questions, the question adapter; 10: the titles' token vectors;
# 9: each token vector's sentence; 8: token vectors as product-quantization codes; 7: title vectors;
# 6: 4 bits (5: int8)
FORMAT_VERSION = 11
KEEP_VERSIONS = 2  # the current one and its predecessor (for readers that are mid-open)
# The encoder gives unit token vectors; their codes put together come back 0.82-1.03 long (help
# centre, 49,312 vectors). Anything outside this range means codes and codebook do not belong together.
TOKEN_NORM_RANGE = (0.5, 1.5)


class Store(Protocol):
    """Where index versions live: a directory of files searched with FAISS (`files.FileStore`)
    or a PostgreSQL database with pgvector (`pgvector.PgStore`).

    Readers open the current version whole; a writer adds a complete version and makes it current at
    once, under `lock`, so a reader never sees a version half-written."""

    @property
    def where(self) -> str:
        """Where the versions are, for messages (never a password)."""
        ...

    def lock(self) -> contextlib.AbstractContextManager[None]:
        """Held by the one rebuild that may run (KBError when another holds it)."""
        ...

    def manifest(self) -> Manifest | None:
        """The current version's manifest, or None when there is no usable index."""
        ...

    def read(self) -> StoredVersion:
        """The current version (KBError when missing, corrupted or of another format)."""
        ...

    def write(self, records: Sequence[DocumentRecord], manifest: Manifest, adapter: np.ndarray) -> Manifest:
        """`records` as a complete new version, made current, with the question adapter fitted to
        them (`kb.adapter.Adapter.to_array`); its manifest."""
        ...


class VectorSearch(Protocol):
    """A set of vectors search and answers read and search by row: a FAISS index (kb/storage/faiss.py) or
    a database table (kb/storage/pgvector.py)."""

    def __len__(self) -> int: ...

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors, (n, dim): all of them, or those of `rows`."""
        ...

    def search(
        self, query: np.ndarray, k: int, rows: np.ndarray | None = None, languages: tuple[str, ...] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows), best first, optionally restricted to `rows`, which are the rows in
        `languages` (a set that keeps its rows' languages filters by those, in its index scan)."""
        ...


class TokenStore(Protocol):
    """What the loaded index needs of the token vectors: `TokenVectors` (in memory or memory-mapped),
    or a database's, fetched for the chunks asked about."""

    code: TokenCode
    counts: np.ndarray  # per chunk, how many token vectors it has

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def cosines(self, rows: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def sentences_of(self, row: int) -> np.ndarray: ...

    def chunks(self, first: int, stop: int) -> TokenVectors: ...


class VectorRows(Protocol):
    """Vectors read by row: a memory-mapped array (`ArrayRows`), or a database table's."""

    def __len__(self) -> int: ...

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray: ...


# A language filter passing at most this many rows is searched exactly over its rows (copying
# them costs less than 1 ms); past it, the filter is a bitmap the search skips rows by. Exact over
# 48k sentence rows of one language took 30 ms; the bitmap walk of the graph 0.1 ms (bench/ingest.py).
EXACT_FILTER_MAX = 4096
TIGHT_FILTER_SHARE = 20  # a filter passing under 1/20 of a graph's rows is scored exactly too


@dataclass(frozen=True)
class FilterPlan:
    """How a backend searches `k` rows of a filter: score the filter's rows themselves (`exact`), or
    walk or scan the whole set skipping other rows, a graph walk widened to `ef_search` candidates."""

    exact: bool
    ef_search: int


def plan_filter(total: int, passing: int, k: int, ef_search: int, graph: bool) -> FilterPlan:
    """The plan for a filter that `passing` of `total` rows pass (`graph`: the set is searched by an
    HNSW walk, `ef_search` its usual width). Both backends follow it."""
    # A walk of the graph finds too few of a tight filter's rows (0.73-0.79 of the top 10 of 2.7 % of 100k
    # passages, bench/engine.py); it visits rows outside the filter too, so it is widened for k to remain.
    exact = passing <= EXACT_FILTER_MAX or (graph and TIGHT_FILTER_SHARE * passing < total)
    return FilterPlan(exact, max(ef_search, 2 * k * total // max(passing, 1)))


@dataclass(frozen=True)
class DocumentRecord:
    """One document as an index holds it: its chunks and all their vectors (float32; token vectors encoded).

    A rebuild makes one per document, freshly embedded or taken from the previous version
    (`Index.record`); both kinds are the same type and go through the same writer.
    """

    document: Document
    chunks: tuple[Chunk, ...]
    chunk_vectors: np.ndarray  # (chunks, dim)
    sentence_vectors: np.ndarray  # (sentences of all chunks, dim), chunk after chunk
    context_vectors: np.ndarray  # (chunks, dim): chunk i read with chunk i+1 (the last alone)
    # its chunks' token vectors, encoded as stored: a rebuild holds a quarter of float32's bytes, and
    # a reused document's are copied as they are
    token_vectors: TokenVectors
    title_vector: np.ndarray  # (dim,): the title read with the model's query prompt (titles read like questions)
    title_tokens: TokenVectors  # one entry: the title's token vectors, read with it (in the same code)
    # (headings, dim): the distinct section headings of its chunks (`headings_of`), read as questions
    heading_vectors: np.ndarray


@dataclass(frozen=True)
class DocumentEntry:
    """What the manifest records of an indexed document (enough to tell whether its file changed)."""

    path: str
    sha256: str
    lang: str


@dataclass(frozen=True)
class FileEntry:
    sha256: str
    bytes: int
    kind: str = ""  # vector files: "flat" or "hnsw"


@dataclass(frozen=True)
class Counts:
    documents: int = 0
    chunks: int = 0
    sentences: int = 0
    tokens: int = 0
    chunks_per_language: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Manifest:
    """Everything known about one index version, without reading its vectors."""

    model: ModelIdentity
    chunking: dict[str, Any]  # the chunking settings: a change re-embeds everything
    built_at: str
    corpus_fingerprint: str  # the corpus files (names and hashes, indexed and skipped)
    documents: dict[str, DocumentEntry]
    skipped: tuple[Skipped, ...]
    translation_discovery: dict[str, Any]
    translations: tuple[tuple[str, str, float], ...]  # discovered (doc_a, doc_b, share of aligned passages)
    vector_index: IndexSpec
    reading: dict[str, Any]  # how files were read (reader version, size limits): a change re-reads them
    # Translations (declared `translation_of`) whose original changed in a rebuild while they did not: the
    # day it was seen, carried from version to version until the translation changes (history the files
    # alone do not hold: a first build in an empty index directory starts without it).
    stale_since: dict[str, str] = field(default_factory=dict)
    # Filled in by `prepare_version` and the store that writes the version:
    counts: Counts = Counts()
    token_norms: tuple[float, float] = (0.0, 0.0)  # smallest and largest token-vector norm as stored
    format_version: int = FORMAT_VERSION
    version: str = ""
    files: dict[str, FileEntry] = field(default_factory=dict)

    def files_read(self) -> dict[str, str]:
        """sha256 of every corpus file this version was built from, indexed or skipped, by name."""
        return {e.path: e.sha256 for e in self.documents.values()} | {s.path: s.sha256 for s in self.skipped}

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), ensure_ascii=False, indent=2).encode("utf-8")

    @classmethod
    def from_json(cls, raw: bytes, where: Path) -> Manifest:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format_version") != FORMAT_VERSION:
            found = data.get("format_version") if isinstance(data, dict) else None
            why = {
                4: " (an older version wrote it; its incremental rebuilds could corrupt relevance scores)",
                5: " (an older version wrote it, with token vectors five times the size)",
                6: " (an older version wrote it, without the article titles' vectors)",
                7: " (an older version wrote it, with token vectors two and a half times the size)",
                8: " (an older version wrote it, without the sentence each token vector was read in)",
                9: " (an older version wrote it, without the token vectors of the article titles)",
                10: " (an older version wrote it, without the question adapter fitted to the corpus)",
            }.get(found if isinstance(found, int) else -1, "")
            raise IndexUnusable(
                f"the index in {where.parent} has format {found}, not the supported {FORMAT_VERSION}{why}; "
                f"{REBUILD_HINT} to replace it"
            )
        try:
            counts = data["counts"]
            return cls(
                model=ModelIdentity(**data["model"]),
                chunking=dict(data["chunking"]),
                built_at=str(data["built_at"]),
                corpus_fingerprint=str(data["corpus_fingerprint"]),
                documents={k: DocumentEntry(**v) for k, v in data["documents"].items()},
                skipped=tuple(Skipped(**s) for s in data["skipped"]),
                translation_discovery=dict(data["translation_discovery"]),
                translations=tuple((str(a), str(b), float(s)) for a, b, s in data["translations"]),
                vector_index=IndexSpec(**data["vector_index"]),
                reading=dict(data["reading"]),
                stale_since={str(k): str(v) for k, v in data.get("stale_since", {}).items()},
                counts=Counts(**counts),
                token_norms=(float(data["token_norms"][0]), float(data["token_norms"][1])),
                format_version=int(data["format_version"]),
                version=str(data["version"]),
                files={k: FileEntry(**v) for k, v in data["files"].items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise IndexUnusable(f"{where} is malformed ({exc!r}); {REBUILD_HINT} --full") from exc


def prepare_version(
    records: Sequence[DocumentRecord], manifest: Manifest
) -> tuple[Manifest, TokenVectors, TokenVectors]:
    """The manifest of a new version of `records` (its name, counts and token health; files still
    empty), all their chunks' token vectors and their titles'; KBError for what must never be
    published. Every store writes what this returns."""
    if not records:
        raise KBError("an index needs at least one document")
    now = datetime.now(timezone.utc)
    version = f"v-{now.strftime('%Y%m%dT%H%M%S.%f')}-{uuid.uuid4().hex[:6]}"  # sorts by creation time
    code = records[0].token_vectors.code
    tokens = TokenVectors.concat([r.token_vectors for r in records], code)
    title_tokens = TokenVectors.concat([r.title_tokens for r in records], code)
    if len(title_tokens.counts) != len(records):
        raise KBError(f"a document without its title's token vectors (a bug); {REBUILD_HINT} --full")
    norms = tokens.norm_range()
    for vectors in (tokens, title_tokens):
        low, high = vectors.norm_range()
        if vectors.counts.sum() and not TOKEN_NORM_RANGE[0] <= low <= high <= TOKEN_NORM_RANGE[1]:
            # never publish vectors no encoder produced
            raise KBError(
                f"refusing to write token vectors with norms {low:.3f}–{high:.3f} (a bug); {REBUILD_HINT} --full"
            )
    chunks = [c for r in records for c in r.chunks]
    manifest = replace(
        manifest,
        counts=Counts(
            documents=len(records),
            chunks=len(chunks),
            sentences=sum(len(c.sentences) for c in chunks),
            tokens=int(tokens.counts.sum()),
            chunks_per_language=dict(Counter(c.lang for c in chunks)),
        ),
        token_norms=(round(norms[0], 6), round(norms[1], 6)),
        format_version=FORMAT_VERSION,
        version=version,
        files={},
    )
    return manifest, tokens, title_tokens


class Records:
    """The chunk records of a version by row, with per-row columns: its document (an index into
    `doc_ids`), language and number of sentences. A `Chunk` is made (`_make`) when a row is asked
    for; the last 4,096 asked for are kept. The files store holds them in memory, a database reads them."""

    doc_ids: list[str]
    doc_of: np.ndarray
    langs: np.ndarray
    sentence_counts: np.ndarray

    def __init__(self) -> None:
        self._cached = functools.lru_cache(maxsize=4096)(self._make)

    def __len__(self) -> int:
        return len(self.doc_of)

    def __getitem__(self, row: int) -> Chunk:
        if not 0 <= row < len(self):
            raise IndexError(f"chunk row {row} out of range 0..{len(self) - 1}")
        return self._cached(int(row))

    def __iter__(self) -> Iterator[Chunk]:
        return (self._make(row) for row in range(len(self)))

    def _make(self, row: int) -> Chunk:
        raise NotImplementedError


def headings_of(chunks: Sequence[Chunk]) -> list[str]:
    """The distinct section headings above a document's chunks, in order (the adapter's questions)."""
    return list(dict.fromkeys(c.heading for c in chunks if c.heading))


def chunk_from_dict(record: dict[str, Any]) -> Chunk:
    """A `Chunk` from its JSON object (ValueError, KeyError or TypeError when malformed)."""
    return Chunk(**{**record, "sentences": tuple(tuple(s) for s in record["sentences"])})


@dataclass(frozen=True)
class DocumentHeads:
    """What the loaded index keeps of every document, in document order (the order of the titles)."""

    ids: list[str]
    langs: list[str]
    translation_of: list[str]  # the declared original ("" when none)

    @classmethod
    def of(cls, documents: Sequence[Document]) -> DocumentHeads:
        return cls([d.doc_id for d in documents], [d.lang for d in documents], [d.translation_of for d in documents])


class ArrayRows:
    """`VectorRows` over a (rows, dim) array."""

    def __init__(self, array: np.ndarray) -> None:
        self._array = array

    def __len__(self) -> int:
        return len(self._array)

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        return np.array(self._array if rows is None else self._array[np.asarray(rows, dtype=np.int64)], np.float32)


@dataclass(frozen=True)
class StoredVersion:
    """A verified version as a store read it: records and vectors in memory or memory-mapped (files),
    or fetched when asked for (a database)."""

    path: Path  # the version's directory (files), or its name (a database)
    manifest: Manifest
    documents: Mapping[str, Document]
    heads: DocumentHeads
    chunks: Records
    chunk_vectors: VectorSearch
    sentence_vectors: VectorSearch
    context_vectors: VectorSearch
    tokens: TokenStore
    titles: VectorRows  # row i: the title vector of document heads.ids[i]
    title_tokens: TokenStore  # row i: the token vectors of document heads.ids[i]'s title
    headings: Callable[[int], np.ndarray]  # i -> the heading vectors of document heads.ids[i]
    adapter: np.ndarray  # (dim + 1, dim): the question adapter (`kb.adapter.Adapter.from_array`)
    # What happened to the version since it was verified ("" when nothing did); checked before each
    # question (the files store: memory-mapped files cut short, which would kill the process at a read).
    damage: Callable[[], str] = lambda: ""


def document_from_json(record: dict[str, Any]) -> Document:
    """A `Document` from its JSON object (KeyError, TypeError or ValueError when malformed)."""
    sections = tuple(tuple(s) for s in record.get("sections", ()))
    return Document(**{**record, "sections": sections, "pages": tuple(record.get("pages", ()))})


def assemble_version(
    path: Path,
    manifest: Manifest,
    documents: Mapping[str, Document],
    heads: DocumentHeads,
    chunks: Records,
    vector_sets: tuple[VectorSearch, VectorSearch, VectorSearch],
    tokens: TokenStore,
    titles: VectorRows,
    title_tokens: TokenStore,
    headings: Callable[[int], np.ndarray],
    adapter: np.ndarray,
) -> StoredVersion:
    """A `StoredVersion` from what a store read, every count checked against the others."""
    passages, sentences, contexts = vector_sets
    if (
        len(tokens.counts) != len(chunks)
        or int(tokens.counts.sum()) != manifest.counts.tokens
        or len(passages) != len(chunks)
        or len(sentences) != int(chunks.sentence_counts.sum())
        or len(contexts) != len(chunks)
        or len(titles) != len(heads.ids)
        or len(title_tokens.counts) != len(heads.ids)
        or len(documents) != len(heads.ids)
        or adapter.shape != (manifest.model.dimension + 1, manifest.model.dimension)
    ):
        raise IndexUnusable(f"the vectors in {path} do not match its chunks; {REBUILD_HINT} --full")
    return StoredVersion(
        path,
        manifest,
        documents,
        heads,
        chunks,
        passages,
        sentences,
        contexts,
        tokens,
        titles,
        title_tokens,
        headings,
        adapter,
    )
