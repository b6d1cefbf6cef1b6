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
      tokens.npy        the token vectors of every chunk, chunk after chunk, 4 bits a dimension
                        (two to a uint8: `TokenVectors`) ...
      token_scales.npy  ... times one float32 scale per token vector
      token_counts.npy  how many token vectors each chunk has
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
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .errors import REBUILD_HINT, KBError
from .types import Chunk, Document, IndexSpec, ModelIdentity, Skipped
from .vectors import VectorIndex

# 5: typed manifest with skipped files and token-norm health. Format 4 indexes could hold token
# vectors that an incremental rebuild had written without their scales (hundreds of times too
# long), so they are never read: a plain `kb rebuild` replaces them.
FORMAT_VERSION = 7  # 7: a title vector per document; 6: token vectors in 4 bits a dimension (5: int8)
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTOR_FILES = ("chunks.faiss", "sentences.faiss", "contexts.faiss")
TOKEN_FILES = ("tokens.npy", "token_scales.npy", "token_counts.npy")
TITLE_FILE = "titles.npy"  # one vector per document (in documents.jsonl order): its title read as a question
LARGE_FILES = VECTOR_FILES + TOKEN_FILES + (TITLE_FILE,)  # hashed as a stream, then memory-mapped
KEEP_VERSIONS = 2  # the current one and its predecessor (for readers that are mid-open)
# The encoder gives unit token vectors; rounding to 4 bits lengthens them by up to ~11 % (1.108 the
# most among the help centre's 72,734). Anything outside this range is a bug (the one this check was
# written for multiplied every vector by ~100).
TOKEN_NORM_RANGE = (0.9, 1.2)


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
    translations: tuple[tuple[str, str, float], ...]  # discovered (doc_a, doc_b, aligned share)
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
                5: " (an older version wrote it, with token vectors twice the size)",
                6: " (an older version wrote it, without the article titles' vectors)",
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


def distinct_tokens(tokens: np.ndarray, similar: float = DISTINCT_TOKENS) -> np.ndarray:
    """The rows of `tokens` (unit vectors) kept in order, each unless a row kept before it is at
    cosine `similar` or more."""
    if len(tokens) < 2:
        return tokens
    near = (tokens @ tokens.T) >= similar
    kept = np.zeros(len(tokens), dtype=bool)
    for i in range(len(tokens)):
        kept[i] = not near[i, kept].any()
    return tokens[kept]


class TokenVectors:
    """Every chunk's token vectors. On disk 4 bits a dimension (two to a byte) with one float32 scale
    per vector; out, float32 only.

    A vector's values are rounded to the integers -7..7 in steps of its largest magnitude / 7 (the
    scale): 196 bytes a vector instead of 388 as int8 and 1,536 as float32. MRR and hit@5 equal
    int8's on the development and check sets and are within 0.005 on the help-centre set
    (bench/token_compression.py). Decoding is a few bit operations; encoding what decoding gives returns
    the same bytes. Decoded norms are 1 +- ~0.03 (rounding adds a little length), not 1 +- 1e-3.
    """

    def __init__(self, codes: np.ndarray, scales: np.ndarray, counts: np.ndarray) -> None:
        self._codes, self._scales, self.counts = codes, scales, counts
        self._start = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])

    @classmethod
    def encode(cls, per_chunk: Sequence[np.ndarray], dim: int) -> TokenVectors:
        """Float32 token vectors, one (tokens, dim) matrix per chunk, encoded."""
        codes, scales = _encode(_stack(per_chunk, dim))
        return cls(codes, scales, np.array([len(t) for t in per_chunk], dtype=np.int32))

    @classmethod
    def concat(cls, parts: Sequence[TokenVectors], dim: int) -> TokenVectors:
        """Several sets of chunks' token vectors, one after another."""
        if not parts:
            return cls(np.zeros((0, dim // 2), np.uint8), np.zeros(0, np.float32), np.zeros(0, np.int32))
        return cls(
            np.concatenate([p._codes for p in parts]).reshape(-1, dim // 2),
            np.concatenate([p._scales for p in parts]).astype(np.float32),
            np.concatenate([p.counts for p in parts]).astype(np.int32),
        )

    def chunks(self, first: int, stop: int) -> TokenVectors:
        """Chunks first..stop-1, copied out of this set (of a memory-mapped file: into memory)."""
        a, b = int(self._start[first]), int(self._start[stop])
        return TokenVectors(
            np.array(self._codes[a:b]), np.array(self._scales[a:b]), np.array(self.counts[first:stop], np.int32)
        )

    def per_chunk(self) -> tuple[np.ndarray, ...]:
        """Decoded float32 token vectors, one (tokens, dim) matrix per chunk."""
        bounds = zip(self._start[:-1].tolist(), self._start[1:].tolist(), strict=True)
        return tuple(_decode(self._codes[a:b], self._scales[a:b]) for a, b in bounds)

    def scaled(self, factor: float) -> TokenVectors:
        """The same vectors times `factor` (what a broken encoder could produce: tests of the writer)."""
        return TokenVectors(self._codes, self._scales * factor, self.counts)

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(codes, scales, counts): what the token files hold."""
        return self._codes, self._scales, self.counts

    def __len__(self) -> int:
        return len(self.counts)

    @property
    def dim(self) -> int:
        return int(self._codes.shape[1]) * 2

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The token vectors of chunks `rows`, one chunk after another, and where each chunk's begin."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.counts[rows].astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(rows) else counts
        if not counts.sum():
            return np.zeros((0, self.dim), np.float32), starts
        picked = np.concatenate([np.arange(self._start[r], self._start[r + 1]) for r in rows.tolist()])
        return _decode(self._codes[picked], self._scales[picked]), starts

    def norm_range(self) -> tuple[float, float]:
        """Smallest and largest norm of the stored token vectors ((0, 0) when there are none)."""
        if not len(self._codes):
            return 0.0, 0.0
        norms = np.concatenate(
            [
                np.linalg.norm(_decode(self._codes[i : i + 65536], self._scales[i : i + 65536]), axis=1)
                for i in range(0, len(self._codes), 65536)
            ]
        )
        return float(norms.min()), float(norms.max())


def _encode(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row as 4-bit integers -7..7 (stored +8, two to a byte) times a float32 scale (its largest
    magnitude / 7)."""
    vectors = np.asarray(vectors, dtype=np.float32)
    n, dim = vectors.shape
    if dim % 2:
        raise KBError(f"token vectors of {dim} dimensions cannot be packed two to a byte")
    scales = np.abs(vectors).max(axis=1, initial=0.0) / 7
    scales[scales == 0] = 1.0
    nibbles = (np.clip(np.round(vectors / scales[:, None]), -7, 7) + 8).astype(np.uint8).reshape(n, dim // 2, 2)
    return (nibbles[..., 0] | (nibbles[..., 1] << 4)).astype(np.uint8), scales.astype(np.float32)


def _decode(codes: np.ndarray, scales: np.ndarray) -> np.ndarray:
    # Bit operations, not a lookup table: numpy's gather took 12 ms for the 6,000 token vectors of a
    # question's candidates, these 1.6 ms (int8's conversion: 1.3 ms).
    out = np.empty((len(codes), 2 * codes.shape[1]), dtype=np.float32)
    out[:, 0::2] = codes & 15
    out[:, 1::2] = codes >> 4
    out -= 8
    out *= scales[:, None]
    return out


def write_version(index_dir: Path, records: Sequence[DocumentRecord], manifest: Manifest) -> Manifest:
    """Write `records` (in order) as a complete new version, make it current, return its manifest."""
    index_dir.mkdir(parents=True, exist_ok=True)
    dim = manifest.model.dimension
    now = datetime.now(timezone.utc)
    version = f"v-{now.strftime('%Y%m%dT%H%M%S.%f')}-{uuid.uuid4().hex[:6]}"  # sorts by creation time
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
    tokens = TokenVectors.concat([r.token_vectors for r in records], dim)
    codes, scales, counts = tokens.arrays
    norms = tokens.norm_range()
    if len(codes) and not TOKEN_NORM_RANGE[0] <= norms[0] <= norms[1] <= TOKEN_NORM_RANGE[1]:
        shutil.rmtree(tmp, ignore_errors=True)  # never publish vectors no encoder produced
        raise KBError(
            f"refusing to write token vectors with norms {norms[0]:.3f}–{norms[1]:.3f} (a bug); {REBUILD_HINT} --full"
        )
    titles = np.array([r.title_vector for r in records], dtype=np.float32).reshape(len(records), dim)
    for name, array in zip((*TOKEN_FILES, TITLE_FILE), (codes, scales, counts, titles), strict=True):
        np.save(tmp / name, array, allow_pickle=False)
        listing[name] = FileEntry(*_sha_file(tmp / name, sync=True))
    manifest = replace(
        manifest,
        counts=Counts(
            documents=len(records),
            chunks=len(chunks),
            sentences=sum(len(c.sentences) for c in chunks),
            tokens=len(codes),
            chunks_per_language=dict(Counter(c.lang for c in chunks)),
        ),
        token_norms=(round(norms[0], 6), round(norms[1], 6)),
        format_version=FORMAT_VERSION,
        version=version,
        files=listing,
    )
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


class ChunkRecords:
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
                chunk = _chunk(line)
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
        return _chunk(self._data[self._starts[row] : self._starts[row + 1]])


def _chunk(line: bytes) -> Chunk:
    record = json.loads(line)
    return Chunk(**{**record, "sentences": tuple(tuple(s) for s in record["sentences"])})


@dataclass(frozen=True)
class StoredVersion:
    """A verified version as read from disk: typed records, float32 vectors (memory-mapped)."""

    path: Path
    manifest: Manifest
    documents: list[Document]
    chunks: ChunkRecords
    chunk_vectors: VectorIndex
    sentence_vectors: VectorIndex
    context_vectors: VectorIndex
    tokens: TokenVectors
    titles: np.ndarray  # (documents, dim), in the order of `documents`


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
    try:
        documents = [
            Document(
                **{**d, "sections": tuple(tuple(s) for s in d.get("sections", ())), "pages": tuple(d.get("pages", ()))}
            )
            for d in _read_jsonl(data["documents.jsonl"])
        ]
        chunks = ChunkRecords(data["chunks.jsonl"])
    except (ValueError, KeyError, TypeError) as exc:
        raise KBError(f"the records in {version_dir} are malformed ({exc!r}); {REBUILD_HINT} --full") from None
    codes, scales, counts = (_load_array(version_dir / name) for name in TOKEN_FILES)
    titles = _load_array(version_dir / TITLE_FILE)
    n_sentences = int(chunks.sentence_counts.sum())
    if (
        len(counts) != len(chunks)
        or int(counts.sum()) != len(codes)
        or len(scales) != len(codes)
        or len(passages) != len(chunks)
        or len(sentences) != n_sentences
        or len(contexts) != len(chunks)
        or titles.shape != (len(documents), manifest.model.dimension)
    ):
        raise KBError(f"the vectors in {version_dir} do not match its chunks; {REBUILD_HINT} --full")
    tokens = TokenVectors(codes, scales, counts)
    return StoredVersion(version_dir, manifest, documents, chunks, passages, sentences, contexts, tokens, titles)


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
