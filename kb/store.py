"""The index on disk: one version directory per build, checksummed, swapped in atomically. Knows nothing of models.

Layout of an index directory::

    CURRENT          {"version": "v-...", "manifest_sha256": "..."}  (replaced atomically)
    .lock            held by the one rebuild that may run
    v-<time>-<id>/
      manifest.json     a `Manifest`: format, model, settings, documents, skipped files, counts,
                        translations, the sha256 and size of every other file
      documents.jsonl   one `Document` per line (the body citations point into)
      chunks.jsonl      one `Chunk` per line, grouped by document, in document order
      chunks.faiss      row r: the vector of chunk r
      sentences.faiss   the vectors of every chunk's sentences, chunk after chunk
      contexts.faiss    row r: chunk r read with the next chunk of its document (alone if last)
      tokens.npy        the token vectors of every chunk, chunk after chunk, as product-quantization
                        codes (96 uint8 a vector: `TokenVectors`) ...
      token_code.npy    ... in this codebook (`TokenCode`)
      token_counts.npy  how many token vectors each chunk has
      token_sentences.npy  per token vector, the sentence of its chunk it was read in (uint16)
      titles.npy        one vector per document, in documents.jsonl order: its title read as a question

This module alone knows that layout. A rebuild hands it one `DocumentRecord` per document and
`read_version` gives back float32 vectors; `kb.index.Index` turns rows into answers to questions.
A rebuild writes a new version directory beside the old one, then replaces CURRENT; readers never
see a half-written index, and every checksum is verified before a parser reads a byte.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import REBUILD_HINT, KBError
from .types import Chunk, Document, IndexSpec, ModelIdentity, Skipped
from .vectors import VectorIndex, VectorSearch

# 5: typed manifest with skipped files and token-norm health. Format 4 indexes could hold token
# vectors that an incremental rebuild had written without their scales (hundreds of times too
# long), so they are never read: a plain `kb rebuild` replaces them.
FORMAT_VERSION = 9  # 9: each token vector's sentence; 8: token vectors as product-quantization codes; 7: title
# vectors; 6: 4 bits (5: int8)
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTOR_FILES = ("chunks.faiss", "sentences.faiss", "contexts.faiss")
TOKEN_FILES = ("tokens.npy", "token_counts.npy", "token_sentences.npy", "token_code.npy")
TITLE_FILE = "titles.npy"  # one vector per document (in documents.jsonl order): its title read as a question
LARGE_FILES = VECTOR_FILES + TOKEN_FILES + (TITLE_FILE,)  # hashed as a stream, then memory-mapped
KEEP_VERSIONS = 2  # the current one and its predecessor (for readers that are mid-open)
# The encoder gives unit token vectors; their codes put together come back 0.82-1.03 long (help
# centre, 49,312 vectors). Anything outside this range means codes and codebook do not belong together.
TOKEN_NORM_RANGE = (0.5, 1.5)


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
    # Filled in by `write_version`:
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
            }.get(found if isinstance(found, int) else -1, "")
            raise KBError(
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
                counts=Counts(**counts),
                token_norms=(float(data["token_norms"][0]), float(data["token_norms"][1])),
                format_version=int(data["format_version"]),
                version=str(data["version"]),
                files={k: FileEntry(**v) for k, v in data["files"].items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise KBError(f"{where} is malformed ({exc!r}); {REBUILD_HINT} --full") from exc


# A passage keeps a token vector only if no vector it already keeps is this similar (cosine): a
# repeated or near-same word piece adds nothing to "the best cosine to one of the passage's tokens".
# bench/token_compression.py: 12.2 -> 8.3 KB a passage on the help centre, its MRR 0.645 -> 0.654;
# development / check sets 0.871 / 0.852 -> 0.866 / 0.852 (0.8: 10.0 KB; 0.6 lost 0.04).
DISTINCT_TOKENS = 0.7


def distinct_tokens(
    tokens: np.ndarray, sentences: np.ndarray | None = None, similar: float = DISTINCT_TOKENS
) -> np.ndarray:
    """Which rows of `tokens` (unit vectors) are kept (a boolean mask): each, in order, unless a row
    kept before it in the same sentence (`sentences`: each row's sentence; None: one sentence) is at
    cosine `similar` or more. Within a sentence, so that every sentence keeps its own words for
    choosing the sentence an answer cites (6 % more vectors on the bundled corpus)."""
    kept = np.ones(len(tokens), dtype=bool)
    if len(tokens) < 2:
        return kept
    near = np.tril((tokens @ tokens.T) >= similar, -1)  # row i: the rows before it that are that close
    if sentences is not None:
        near &= sentences[:, None] == sentences[None, :]
    for i in np.flatnonzero(near.any(axis=1)):  # in order; a row with no close row before it is kept
        kept[i] = not (near[i] & kept).any()
    return kept


# Token vectors are stored as product-quantization codes (Jégou et al. 2011): a vector is cut into
# sub-vectors of CODE_DIMS dimensions and each is replaced by the number (CODE_BITS) of the nearest
# of 2**CODE_BITS centroids, learned once per model (kb/build.py `token_code`). 384 dimensions: 96
# bytes a vector instead of 196 in 4 bits a dimension (index format 7) or 1,536 as float32; vectors
# come back at cosine 0.96 to the originals (bench/token_compression.py). 6 dimensions in 10 bits
# (80 bytes, cosine 0.945) decode in numpy at 4.6 ms for a question's 6,000 candidate tokens, these
# in faiss at 1.7 ms; 6 dimensions in 8 bits (64 bytes, cosine 0.917) lost ~0.007 MRR.
CODE_DIMS = 4
CODE_BITS = 8


class TokenCode:
    """The codebook token vectors are stored in: (sub-vectors, 2**bits, dimensions) float32 centroids."""

    def __init__(self, centroids: np.ndarray) -> None:
        import faiss

        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        parts, k, width = self.centroids.shape
        bits = int(k).bit_length() - 1
        if k != 1 << bits or not np.isfinite(self.centroids).all():
            raise KBError(f"a token codebook of shape {self.centroids.shape} is not one this code writes")
        self._pq: Any = faiss.ProductQuantizer(parts * width, parts, bits)
        faiss.copy_array_to_vector(self.centroids.ravel(), self._pq.centroids)
        self.digest = hashlib.sha256(self.centroids.tobytes()).hexdigest()[:16]

    @classmethod
    def train(cls, vectors: np.ndarray, bits: int = CODE_BITS, width: int = CODE_DIMS) -> TokenCode:
        """A codebook for unit vectors like `vectors` (k-means per sub-vector; deterministic: fixed seed)."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        width = next(w for w in (width, 4, 3, 2, 1) if dim % w == 0)
        pq = faiss.ProductQuantizer(dim, dim // width, bits)
        pq.cp.niter = 15
        pq.cp.min_points_per_centroid = 1  # a few thousand sentences are enough (the warning is for 39 a centroid)
        _one_thread()
        pq.train(vectors)
        return cls(faiss.vector_to_array(pq.centroids).reshape(dim // width, 1 << bits, width))

    @property
    def dim(self) -> int:
        return int(self._pq.d)

    @property
    def code_size(self) -> int:
        return int(self._pq.code_size)

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """(n, code_size) uint8 codes of unit vectors (anything else is a bug upstream: refused)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        norms = np.linalg.norm(vectors, axis=1)
        if len(norms) and not (np.abs(norms - 1.0) <= 0.01).all():
            raise KBError(
                f"refusing to encode token vectors of norms {norms.min():.3f}–{norms.max():.3f} (unit vectors expected)"
            )
        if not len(vectors):
            return np.zeros((0, self.code_size), np.uint8)
        _one_thread()
        return self._pq.compute_codes(vectors)

    def reconstruct(self, codes: np.ndarray) -> np.ndarray:
        """The centroids codes name, put together (not yet unit length)."""
        if not len(codes):
            return np.zeros((0, self.dim), np.float32)
        _one_thread()
        return self._pq.decode(np.ascontiguousarray(codes, dtype=np.uint8))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Unit float32 vectors from codes (scores then keep the encoder's scale)."""
        out = self.reconstruct(codes)
        out *= _inverse_norms(out)[:, None]
        return out


def _inverse_norms(rows: np.ndarray) -> np.ndarray:
    """1 / the length of each row (einsum: np.linalg.norm took twice as long on a question's candidates)."""
    return 1.0 / np.sqrt(np.maximum(np.einsum("ij,ij->i", rows, rows), 1e-24))


def _one_thread() -> None:
    # Encoding and decoding are small, and OpenMP threads in a process that forks (a rebuild in a
    # child process) can leave the child waiting for threads it does not have.
    import faiss

    faiss.omp_set_num_threads(1)


class TokenVectors:
    """Every chunk's token vectors: codes in one `TokenCode` on disk; out, unit float32 vectors only.
    With each vector, the number of the sentence of its chunk it was read in.

    All chunks of an index share one code (the writer refuses a mix: a reused article keeps its
    codes only when the code is the same)."""

    def __init__(self, codes: np.ndarray, counts: np.ndarray, sentences: np.ndarray, code: TokenCode) -> None:
        self._codes, self.counts, self.sentences, self.code = codes, counts, sentences, code
        self._start = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])

    @classmethod
    def encode(cls, per_chunk: Sequence[np.ndarray], sentences: Sequence[np.ndarray], code: TokenCode) -> TokenVectors:
        """Unit float32 token vectors, one (tokens, dim) matrix per chunk, encoded; `sentences[i]`: the
        sentence of chunk i each of its vectors was read in."""
        numbers = [np.asarray(s, dtype=np.uint16) for s in sentences]
        if [len(s) for s in numbers] != [len(t) for t in per_chunk]:
            raise ValueError("one sentence number per token vector")
        return cls(
            code.encode(_stack(per_chunk, code.dim)),
            np.array([len(t) for t in per_chunk], np.int32),
            np.concatenate(numbers or [np.zeros(0, np.uint16)]).astype(np.uint16),
            code,
        )

    @classmethod
    def concat(cls, parts: Sequence[TokenVectors], code: TokenCode) -> TokenVectors:
        """Several sets of chunks' token vectors, one after another (all in `code`)."""
        if any(p.code.digest != code.digest for p in parts):
            raise KBError(f"token vectors in different codes cannot share an index (a bug); {REBUILD_HINT} --full")
        return cls(
            np.concatenate([p._codes for p in parts] or [np.zeros((0, code.code_size), np.uint8)]),
            np.concatenate([p.counts for p in parts] or [np.zeros(0, np.int32)]).astype(np.int32),
            np.concatenate([p.sentences for p in parts] or [np.zeros(0, np.uint16)]).astype(np.uint16),
            code,
        )

    def chunks(self, first: int, stop: int) -> TokenVectors:
        """Chunks first..stop-1, copied out of this set (of a memory-mapped file: into memory)."""
        a, b = int(self._start[first]), int(self._start[stop])
        return TokenVectors(
            np.array(self._codes[a:b]),
            np.array(self.counts[first:stop], np.int32),
            np.array(self.sentences[a:b], np.uint16),
            self.code,
        )

    def per_chunk(self) -> tuple[np.ndarray, ...]:
        """Decoded float32 token vectors, one (tokens, dim) matrix per chunk."""
        decoded = self.code.decode(self._codes)
        return tuple(np.split(decoded, self._start[1:-1])) if len(self.counts) else ()

    def sentences_of(self, row: int) -> np.ndarray:
        """The sentence numbers of chunk `row`'s vectors, in order."""
        return np.asarray(self.sentences[int(self._start[row]) : int(self._start[row + 1])], dtype=np.int64)

    def sentences_per_chunk(self) -> tuple[np.ndarray, ...]:
        """The sentence numbers of each chunk's vectors, as `per_chunk` splits them."""
        return tuple(np.split(np.asarray(self.sentences), self._start[1:-1])) if len(self.counts) else ()

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(codes, counts, sentences, centroids): what the token files hold."""
        return self._codes, self.counts, self.sentences, self.code.centroids

    def __len__(self) -> int:
        return len(self.counts)

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The token vectors of chunks `rows`, one chunk after another, and where each chunk's begin."""
        picked, starts = self._picked(rows)
        return self.code.decode(self._codes[picked]), starts

    def cosines(self, rows: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(stored tokens of `rows`, query rows) cosines of the token vectors of chunks `rows` (one chunk
        after another) to the unit vectors `query`, and where each chunk's begin. The same as `of`'s
        vectors times `query`, without making every vector unit length first (1.5 ms a question)."""
        picked, starts = self._picked(rows)
        raw = self.code.reconstruct(self._codes[picked])
        cosines = raw @ np.asarray(query, dtype=np.float32).T
        cosines *= _inverse_norms(raw)[:, None]
        return cosines, starts

    def _picked(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored vector numbers of chunks `rows` in order, and where each chunk's begin among them."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.counts[rows].astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(rows) else counts
        picked = np.repeat(self._start[rows] - starts, counts) + np.arange(int(counts.sum()), dtype=np.int64)
        return picked, starts

    def norm_range(self, sample: int = 65536) -> tuple[float, float]:
        """Smallest and largest norm of (an even sample of at most `sample` of) the stored vectors as
        reconstructed, before they are made unit again: how far the code is from the vectors it
        stores ((0, 0) when there are none). A sample finds codes read with the wrong codebook, and
        keeps this check from decoding a large index whole at every rebuild."""
        if not len(self._codes):
            return 0.0, 0.0
        rows = np.unique(np.linspace(0, len(self._codes) - 1, min(sample, len(self._codes))).astype(np.int64))
        norms = 1.0 / _inverse_norms(self.code.reconstruct(self._codes[rows]))
        return float(norms.min()), float(norms.max())


class TokenStore(Protocol):
    """What the loaded index needs of the token vectors: `TokenVectors` (in memory or memory-mapped),
    or a database's, fetched for the chunks asked about."""

    code: TokenCode
    counts: np.ndarray  # per chunk, how many token vectors it has

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def cosines(self, rows: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...

    def sentences_of(self, row: int) -> np.ndarray: ...

    def chunks(self, first: int, stop: int) -> TokenVectors: ...


class Store(Protocol):
    """Where index versions live: a directory (`FileStore`) or a PostgreSQL database (`kb.pgstore.PgStore`).

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

    def write(self, records: Sequence[DocumentRecord], manifest: Manifest) -> Manifest:
        """`records` as a complete new version, made current; its manifest."""
        ...


@dataclass(frozen=True)
class FileStore:
    """Versions as directories of files in `index_dir` (the layout above); FAISS searches them in-process."""

    index_dir: Path

    @property
    def where(self) -> str:
        return str(self.index_dir)

    def lock(self) -> contextlib.AbstractContextManager[None]:
        return write_lock(self.index_dir)

    def manifest(self) -> Manifest | None:
        return read_manifest(self.index_dir)

    def read(self) -> StoredVersion:
        return read_version(self.index_dir)

    def write(self, records: Sequence[DocumentRecord], manifest: Manifest) -> Manifest:
        return write_version(self.index_dir, records, manifest)


def prepare_version(records: Sequence[DocumentRecord], manifest: Manifest) -> tuple[Manifest, TokenVectors]:
    """The manifest of a new version of `records` (its name, counts and token health; files still
    empty), and all their token vectors; KBError for what must never be published. Every store
    writes what this returns."""
    if not records:
        raise KBError("an index needs at least one document")
    now = datetime.now(timezone.utc)
    version = f"v-{now.strftime('%Y%m%dT%H%M%S.%f')}-{uuid.uuid4().hex[:6]}"  # sorts by creation time
    tokens = TokenVectors.concat([r.token_vectors for r in records], records[0].token_vectors.code)
    norms = tokens.norm_range()
    if tokens.counts.sum() and not TOKEN_NORM_RANGE[0] <= norms[0] <= norms[1] <= TOKEN_NORM_RANGE[1]:
        # never publish vectors no encoder produced
        raise KBError(
            f"refusing to write token vectors with norms {norms[0]:.3f}–{norms[1]:.3f} (a bug); {REBUILD_HINT} --full"
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
    return manifest, tokens


def write_version(index_dir: Path, records: Sequence[DocumentRecord], manifest: Manifest) -> Manifest:
    """Write `records` (in order) as a complete new version, make it current, return its manifest."""
    index_dir.mkdir(parents=True, exist_ok=True)
    dim = manifest.model.dimension
    manifest, tokens = prepare_version(records, manifest)
    version = manifest.version
    codes, counts, token_sentences, centroids = tokens.arrays
    tmp = index_dir / f".tmp-{version}"
    tmp.mkdir()
    chunks = [c for r in records for c in r.chunks]
    listing: dict[str, FileEntry] = {}
    for name, rows in (
        ("documents.jsonl", (asdict(r.document) for r in records)),
        ("chunks.jsonl", (asdict(c) for c in chunks)),
    ):
        data = _jsonl(rows)
        _write_durable(tmp / name, data)
        listing[name] = FileEntry(_sha(data), len(data))
    for name, part in zip(VECTOR_FILES, ("chunk_vectors", "sentence_vectors", "context_vectors"), strict=True):
        index = VectorIndex.build(_stack([getattr(r, part) for r in records], dim), dim, manifest.vector_index)
        index.write(tmp / name)
        listing[name] = FileEntry(*_sha_file(tmp / name, sync=True), kind=index.kind)
    titles = np.array([r.title_vector for r in records], dtype=np.float32).reshape(len(records), dim)
    arrays = (codes, counts, token_sentences, centroids, titles)
    for name, array in zip((*TOKEN_FILES, TITLE_FILE), arrays, strict=True):
        np.save(tmp / name, array, allow_pickle=False)
        listing[name] = FileEntry(*_sha_file(tmp / name, sync=True))
    manifest = replace(manifest, files=listing)
    manifest_bytes = manifest.to_json()
    _write_durable(tmp / MANIFEST, manifest_bytes)
    _fsync_dir(tmp)
    os.rename(tmp, index_dir / version)
    pointer = {"version": version, "manifest_sha256": _sha(manifest_bytes)}
    _write_durable(index_dir / f".{CURRENT}.tmp", json.dumps(pointer).encode("utf-8"))
    os.replace(index_dir / f".{CURRENT}.tmp", index_dir / CURRENT)
    _fsync_dir(index_dir)
    collect_garbage(index_dir)
    return manifest


class Records:
    """The chunk records of a version by row, with per-row columns: its document (an index into
    `doc_ids`), language and number of sentences. A `Chunk` is made (`_make`) when a row is asked
    for; the last 4,096 asked for are kept. `ChunkRecords` holds them in memory, a database reads them."""

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


class ChunkRecords(Records):
    """The chunk records of a version, by row: the bytes of chunks.jsonl (one JSON object a line),
    and per row where its line begins, its document, its language and its number of sentences as
    numpy columns. A `Chunk` is made when a row is asked for (the last 4,096 asked are kept).

    Holding every chunk as a Python object cost 2.5 KB a passage (114 MiB for 46k passages, 1.1 GB
    at 460k); this holds the file's bytes (0.6 KB a passage) and 22 bytes of columns.
    """

    def __init__(self, data: bytes) -> None:
        """Read and check every record once (ValueError, KeyError or TypeError when one is malformed)."""
        self._data = data
        starts: list[int] = []
        documents: dict[str, int] = {}
        languages: dict[str, int] = {}
        doc_of: list[int] = []
        lang_of: list[int] = []
        sentences: list[int] = []
        at = 0
        # Split on "\n" only: str.splitlines() also breaks on U+2028 and others, which JSON leaves unescaped.
        for line in data.split(b"\n"):
            if line.strip():
                chunk = chunk_from_dict(json.loads(line))
                starts.append(at)
                doc_of.append(documents.setdefault(chunk.doc_id, len(documents)))
                lang_of.append(languages.setdefault(chunk.lang, len(languages)))
                sentences.append(len(chunk.sentences))
            at += len(line) + 1
        self._starts = np.array(starts + [at], dtype=np.int64)
        self.doc_ids: list[str] = list(documents)  # in order of first row
        self.doc_of = np.array(doc_of, dtype=np.int32)  # row -> index into doc_ids
        self.langs = np.array(list(languages) or [""])[np.array(lang_of, dtype=np.int32)]  # row -> language
        self.sentence_counts = np.array(sentences, dtype=np.int64)
        super().__init__()

    def _make(self, row: int) -> Chunk:
        return chunk_from_dict(json.loads(self._data[self._starts[row] : self._starts[row + 1]]))


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


class VectorRows(Protocol):
    """Vectors read by row: a memory-mapped array (`ArrayRows`), or a database table's."""

    def __len__(self) -> int: ...

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray: ...


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
    mapped: tuple[MappedFile, ...] = ()  # the memory-mapped files (files store)

    def damage(self) -> str:
        """What happened to a memory-mapped file since it was verified ("" when nothing did).

        A file cut short under a memory map kills the process (SIGBUS) at the first read past its new
        end, so readers look before each question: a few `stat` calls. A file replaced by another
        (a new inode) is harmless: the map keeps the old one."""
        for f in self.mapped:
            try:
                now = f.path.stat()
            except OSError:
                continue  # removed (an old version collected): the map keeps its pages
            if now.st_ino == f.inode and now.st_size != f.size:
                return f"index file {f.path} changed under the running app ({now.st_size:,} bytes, not {f.size:,})"
        return ""


@dataclass(frozen=True)
class MappedFile:
    path: Path
    inode: int
    size: int


def read_version(index_dir: Path) -> StoredVersion:
    """Load the current version, verifying every checksum before any parser reads a byte."""
    for attempt in range(3):
        try:
            return _read_version(index_dir)
        except FileNotFoundError:
            if attempt == 2 or not (index_dir / CURRENT).exists():
                break
            time.sleep(0.05)  # a rebuild swapped versions while we were reading; retry
    if not index_dir.exists() or not (index_dir / CURRENT).exists():
        raise KBError(f"no index in {index_dir}; {REBUILD_HINT} to build it")
    raise KBError(f"index in {index_dir} is incomplete (a file is missing); {REBUILD_HINT} --full")


def read_manifest(index_dir: Path) -> Manifest | None:
    """The current manifest (verified), or None when there is no usable index (missing, corrupted, older format)."""
    try:
        pointer = _read_pointer(index_dir)
        return _read_manifest(index_dir / pointer["version"], pointer)
    except (KBError, OSError):
        return None


def _read_pointer(index_dir: Path) -> dict[str, Any]:
    raw = (index_dir / CURRENT).read_bytes()
    try:
        pointer = json.loads(raw)
        if not isinstance(pointer, dict) or not str(pointer.get("version", "")).startswith("v-"):
            raise ValueError
        if "/" in pointer["version"] or ".." in pointer["version"]:
            raise ValueError
    except ValueError:
        raise KBError(f"{index_dir / CURRENT} is corrupted; {REBUILD_HINT} --full") from None
    return pointer


def _read_manifest(version_dir: Path, pointer: dict[str, Any]) -> Manifest:
    raw = (version_dir / MANIFEST).read_bytes()
    if _sha(raw) != pointer.get("manifest_sha256"):
        raise KBError(f"{version_dir / MANIFEST} is corrupted (checksum mismatch); {REBUILD_HINT} --full")
    return Manifest.from_json(raw, version_dir / MANIFEST)


def _read_version(index_dir: Path) -> StoredVersion:
    pointer = _read_pointer(index_dir)
    version_dir = index_dir / pointer["version"]
    manifest = _read_manifest(version_dir, pointer)
    if set(manifest.files) != {"documents.jsonl", "chunks.jsonl", *LARGE_FILES}:
        raise KBError(f"{version_dir / MANIFEST} lists the wrong files; {REBUILD_HINT} --full")
    data: dict[str, bytes] = {}
    for name, meta in manifest.files.items():
        if name in LARGE_FILES:  # hashed as a stream, then memory-mapped
            digest, size = _sha_file(version_dir / name)
        else:
            data[name] = (version_dir / name).read_bytes()
            digest, size = _sha(data[name]), len(data[name])
        if size != meta.bytes or digest != meta.sha256:
            raise KBError(f"index file {version_dir / name} is corrupted (checksum mismatch); {REBUILD_HINT} --full")
    passages, sentences, contexts = (
        VectorIndex.read(version_dir / name, manifest.files[name].kind, manifest.vector_index) for name in VECTOR_FILES
    )
    codes, counts, token_sentences, centroids = (_load_array(version_dir / name) for name in TOKEN_FILES)
    if (
        token_sentences.shape != (len(codes),)
        or centroids.ndim != 3
        or int(counts.sum()) != len(codes)
        or codes.shape[1:] != (-(-centroids.shape[0] * (centroids.shape[1].bit_length() - 1) // 8),)
        or centroids.shape[0] * centroids.shape[2] != manifest.model.dimension
    ):
        raise KBError(f"the token vectors in {version_dir} do not match their codebook; {REBUILD_HINT} --full")
    tokens = TokenVectors(codes, counts, token_sentences, TokenCode(centroids))
    titles = _load_array(version_dir / TITLE_FILE)
    try:
        documents = [document_from_json(d) for d in _read_jsonl(data["documents.jsonl"])]
        chunks = ChunkRecords(data["chunks.jsonl"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KBError(f"the records in {version_dir} are malformed ({exc!r}); {REBUILD_HINT} --full") from None
    if titles.shape != (len(documents), manifest.model.dimension):
        raise KBError(f"the vectors in {version_dir} do not match its chunks; {REBUILD_HINT} --full")
    stored = assemble_version(
        version_dir,
        manifest,
        {d.doc_id: d for d in documents},
        DocumentHeads.of(documents),
        chunks,
        (passages, sentences, contexts),
        tokens,
        ArrayRows(titles),
    )
    stats = {name: (version_dir / name).stat() for name in LARGE_FILES}
    return replace(stored, mapped=tuple(MappedFile(version_dir / n, st.st_ino, st.st_size) for n, st in stats.items()))


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
        or len(documents) != len(heads.ids)
    ):
        raise KBError(f"the vectors in {path} do not match its chunks; {REBUILD_HINT} --full")
    return StoredVersion(path, manifest, documents, heads, chunks, passages, sentences, contexts, tokens, titles)


def _stack(parts: Sequence[np.ndarray], dim: int) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    return np.vstack(parts).astype(np.float32) if parts else np.zeros((0, dim), dtype=np.float32)


def _load_array(path: Path) -> np.ndarray:
    """Memory-map a .npy file written by `write_version` (its checksum must already be verified)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise KBError(f"index file {path} could not be read ({exc}); {REBUILD_HINT} --full") from exc


@contextlib.contextmanager
def write_lock(index_dir: Path) -> Iterator[None]:
    """One rebuild at a time per index directory (readers never need the lock)."""
    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / ".lock", "w") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise KBError(f"another rebuild of {index_dir} is running; wait for it to finish") from None
        yield


def collect_garbage(index_dir: Path) -> None:
    """Remove temporary litter and all but the newest KEEP_VERSIONS versions (call under the lock)."""
    try:
        current = _read_pointer(index_dir)["version"]
    except (KBError, FileNotFoundError):
        return
    for tmp in index_dir.glob(".tmp-*"):
        shutil.rmtree(tmp, ignore_errors=True)
    versions = sorted((p for p in index_dir.glob("v-*") if p.is_dir()), key=lambda p: p.name)
    keep = {current} | {p.name for p in versions[-KEEP_VERSIONS:]}
    for old in versions:
        if old.name not in keep:
            shutil.rmtree(old, ignore_errors=True)


def _jsonl(rows: Any) -> bytes:
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode("utf-8")


def _read_jsonl(data: bytes) -> list[dict[str, Any]]:
    # Split on "\n" only: str.splitlines() also breaks on U+2028 and others, which JSON leaves unescaped.
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _sha_file(path: Path, sync: bool = False) -> tuple[str, int]:
    """(sha256, size) of a file read as a stream; `sync` also flushes it to disk."""
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            digest.update(block)
            size += len(block)
        if sync:
            os.fsync(fh.fileno())
    return digest.hexdigest(), size


def _write_durable(path: Path, data: bytes) -> None:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
