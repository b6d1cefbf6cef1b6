"""Vectors and records on disk: FAISS files + JSONL + a checksummed manifest, swapped in atomically.

Layout of an index directory::

    CURRENT                    {"version": "v-...", "manifest_sha256": "..."}  (replaced atomically)
    v-<time>-<id>/manifest.json, chunks.faiss, sentences.faiss, contexts.faiss, tokens.npy,
                  token_scales.npy, token_counts.npy, chunks.jsonl, documents.jsonl

(contexts.faiss: one vector per chunk, of its text followed by the next chunk of the same article;
tokens.npy: the token vectors of every chunk, one after another, as int8 (each token vector is
its int8 row times its float32 scale in token_scales.npy); token_counts.npy: how many belong to
each chunk.)

A rebuild writes a new version directory beside the old one, then replaces CURRENT; readers
never see a half-written index. Knows nothing of models.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .errors import KBError
from .types import Chunk, Document, IndexSpec

FORMAT_VERSION = 4  # 3: token vectors; 4: int8 token vectors
CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTOR_FILES = ("chunks.faiss", "sentences.faiss", "contexts.faiss")
TOKEN_FILES = ("tokens.npy", "token_scales.npy", "token_counts.npy")
LARGE_FILES = VECTOR_FILES + TOKEN_FILES  # hashed as a stream, then memory-mapped
CENTROID_SAMPLE = 5000  # vectors per language and vector set averaged for its mean (all in small corpora)
KEEP_VERSIONS = 2  # the current one and its predecessor (for readers that are mid-open)
REBUILD_HINT = "run `kb rebuild`"


class VectorSearch(Protocol):
    """What search and answers need from a set of vectors (a remote engine could provide it: docs/scaling.md)."""

    def __len__(self) -> int: ...

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors, (n, dim): all of them, or those of `rows`."""
        ...

    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows), best first, optionally restricted to `rows`."""
        ...


class VectorIndex:
    """Inner-product search over L2-normalized vectors, in one of two FAISS layouts chosen by size.

    - "flat" (IndexFlatIP): exact; used up to `spec.exact_max` vectors, where scanning them all is cheap.
    - "hnsw" (IndexHNSWFlat): a navigable small-world graph over the same vectors, `spec.hnsw_m`
      neighbours per node; a query walks it keeping `spec.ef_search` candidates. Approximate;
      bench/scale.py measures its recall against exact search.

    Files are memory-mapped when read, so opening a large index does not copy its vectors into RAM.
    """

    def __init__(self, index: Any, kind: str, spec: IndexSpec) -> None:
        self.index = index
        self.kind = kind
        self.spec = spec
        if kind == "hnsw":
            index.hnsw.efSearch = spec.ef_search

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, spec: IndexSpec | None = None) -> VectorIndex:
        import faiss

        spec = spec or IndexSpec()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index: Any
        if len(vectors) <= spec.exact_max:
            index = faiss.IndexFlatIP(dim)
            kind = "flat"
        else:
            index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = spec.ef_construction
            kind = "hnsw"
        if len(vectors):
            index.add(vectors)
        return cls(index, kind, spec)

    @classmethod
    def read(cls, path: Path, kind: str, spec: IndexSpec | None = None) -> VectorIndex:
        """Memory-map a file written by `write` (its checksum must already be verified)."""
        import faiss

        if not path.is_file():
            raise FileNotFoundError(path)
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError as exc:
            if not path.is_file():  # a rebuild collected this version between check and map
                raise FileNotFoundError(path) from exc
            raise KBError(f"index file {path} could not be read ({exc}); {REBUILD_HINT} --full") from exc
        return cls(index, kind, spec or IndexSpec())

    def write(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors, (n, dim): all of them, or those of `rows`."""
        if rows is not None:
            if not len(rows):
                return np.zeros((0, self.index.d), dtype=np.float32)
            return self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        if not len(self):
            return np.zeros((0, self.index.d), dtype=np.float32)
        return self.index.reconstruct_n(0, len(self))

    def search(self, query: np.ndarray, k: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) for one query vector, optionally restricted to `rows`."""
        import faiss

        k = min(k, len(self) if rows is None else len(rows))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if rows is not None and self.kind == "hnsw" and len(rows) <= self.spec.exact_max:
            # A graph walk under a tight filter finds too few rows: score the rows themselves (exact).
            rows = np.asarray(rows, dtype=np.int64)
            scores = self.vectors(rows) @ q[0]
            top = np.argsort(-scores, kind="stable")[:k]
            return scores[top], rows[top]
        if rows is not None:
            selector = faiss.IDSelectorBatch(np.asarray(rows, dtype=np.int64))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=self.spec.ef_search)  # type: ignore[attr-defined]
        scores, ids = self.index.search(q, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]


@dataclass
class StoredIndex:
    """A loaded, verified index version."""

    path: Path
    manifest: dict[str, Any]
    documents: dict[str, Document]
    chunks: list[Chunk]
    chunk_vectors: VectorSearch
    sentence_vectors: VectorSearch
    context_vectors: VectorSearch  # row r: chunk r followed by chunk r+1 of the same article (or alone)
    token_vectors: np.ndarray  # (tokens, dim) int8: the token vectors of chunk 0, then chunk 1, ...
    token_scales: np.ndarray  # (tokens,) float32: token vector = int8 row × its scale
    token_counts: np.ndarray  # (chunks,) how many token vectors each chunk has
    sentence_chunk: np.ndarray = field(init=False)  # row of the chunk that holds each sentence
    first_sentence: np.ndarray = field(init=False)  # sentence row of each chunk's first sentence
    chunk_row: dict[str, int] = field(init=False)  # chunk_id -> row

    sentence_spans: list[tuple[int, int]] = field(init=False)  # body offsets of each sentence row
    doc_sentences: dict[str, tuple[int, int]] = field(init=False)  # doc_id -> its [first, last) sentence rows
    token_start: np.ndarray = field(init=False)  # (chunks + 1,) where each chunk's token vectors start
    languages: list[str] = field(init=False)  # languages of the chunks
    language_means: dict[str, np.ndarray] = field(init=False)  # mean vector of each language (all vector sets)
    language_basis: np.ndarray = field(init=False)  # (r, dim) directions that tell the languages apart
    works: dict[str, str] = field(init=False)  # doc_id -> the work it belongs to (itself and its translations)

    def __post_init__(self) -> None:
        counts = [len(c.sentences) for c in self.chunks]
        self.sentence_chunk = np.repeat(np.arange(len(self.chunks), dtype=np.int64), counts)
        self.first_sentence = (np.cumsum(counts, dtype=np.int64) - counts) if counts else np.zeros(0, np.int64)
        self.chunk_row = {c.chunk_id: row for row, c in enumerate(self.chunks)}
        self.sentence_spans = [span for c in self.chunks for span in c.sentences]
        self.doc_sentences = {}
        row = 0
        for c, n in zip(self.chunks, counts, strict=True):  # a document's chunks are contiguous
            first, _ = self.doc_sentences.get(c.doc_id, (row, row))
            row += n
            self.doc_sentences[c.doc_id] = (first, row)
        self.token_start = np.concatenate([[0], np.cumsum(self.token_counts, dtype=np.int64)])
        self.languages = sorted({c.lang for c in self.chunks})
        self.language_means = self._language_means()
        self.language_basis = self._language_basis()
        self.works = self._group_translations()

    def _language_means(self) -> dict[str, np.ndarray]:
        """Each language's mean vector over its passages, sentences and contexts together (an even
        sample of each on a large index)."""
        chunk_langs = np.array([c.lang for c in self.chunks] or [""])
        sets = (
            (self.chunk_vectors, chunk_langs),
            (self.sentence_vectors, chunk_langs[self.sentence_chunk]),
            (self.context_vectors, chunk_langs),
        )
        means = {}
        for lang in self.languages:
            parts = []
            for vectors, langs in sets:
                rows = np.flatnonzero(langs == lang)
                rows = rows[np.unique(np.linspace(0, len(rows) - 1, min(len(rows), CENTROID_SAMPLE)).astype(np.int64))]
                parts.append(vectors.vectors(rows))
            means[lang] = np.concatenate(parts).mean(axis=0)
        return means

    def _language_basis(self) -> np.ndarray:
        """Orthonormal directions spanned by the differences between the languages' mean vectors.

        Removing them (`neutral`) is the low-rank language subspace removal of Xie et al. 2022
        ("Discovering low-rank subspaces for language-agnostic multilingual representations"),
        with the subspace estimated from the corpus itself.
        """
        dim = self.chunk_vectors.vectors(np.zeros(0, np.int64)).shape[1]
        if len(self.language_means) < 2:
            return np.zeros((0, dim), dtype=np.float32)
        means = np.stack(list(self.language_means.values()))
        _, singular, directions = np.linalg.svd(means - means.mean(axis=0), full_matrices=False)
        return directions[singular > 1e-6 * singular[0]].astype(np.float32)

    def neutral(self, vectors: np.ndarray) -> np.ndarray:
        """`vectors` (one or a matrix of rows) without the language directions, L2-normalized again.

        Cosines of neutral vectors compare what texts say rather than which language they say it
        in: the model otherwise scores anything in the question's own language higher.
        """
        basis = self.language_basis
        out = vectors - (vectors @ basis.T) @ basis
        norms = np.linalg.norm(out, axis=-1, keepdims=True)
        return (out / np.maximum(norms, 1e-12)).astype(np.float32)

    def chunk_tokens(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The token vectors of chunks `rows`, one after another (float32), and where each chunk's vectors start."""
        counts = self.token_counts[rows].astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(rows) else counts
        if not counts.sum():
            return np.zeros((0, self.token_vectors.shape[1]), np.float32), starts
        picked = np.concatenate([np.arange(self.token_start[r], self.token_start[r + 1]) for r in rows.tolist()])
        tokens = self.token_vectors[picked].astype(np.float32)
        tokens *= self.token_scales[picked, None]
        return tokens, starts

    def _group_translations(self) -> dict[str, str]:
        """Union of `translation_of` headers and translations discovered at build time (manifest)."""
        links = [(d.doc_id, d.translation_of) for d in self.documents.values() if d.translation_of in self.documents]
        links += [(a, b) for a, b, *_ in self.manifest.get("translations", []) if {a, b} <= self.documents.keys()]
        parent = {doc_id: doc_id for doc_id in self.documents}

        def root(x: str) -> str:
            while parent[x] != x:
                x = parent[x]
            return x

        for a, b in links:
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)  # the smallest id names the work
        return {doc_id: root(doc_id) for doc_id in self.documents}

    def translations(self, doc_id: str) -> list[str]:
        """Documents that translate `doc_id` or that it translates (declared or discovered)."""
        work = self.works[doc_id]
        return sorted(d for d, w in self.works.items() if w == work and d != doc_id)


def write_index(
    index_dir: Path,
    documents: list[Document],
    chunks: list[Chunk],
    chunk_vectors: np.ndarray,
    sentence_vectors: np.ndarray,
    context_vectors: np.ndarray,
    token_vectors: list[np.ndarray],
    manifest: dict[str, Any],
    spec: IndexSpec | None = None,
) -> Path:
    """Write a complete new version beside the current one, then atomically make it current."""
    index_dir.mkdir(parents=True, exist_ok=True)
    dim = int(manifest["model"]["dimension"])
    now = datetime.now(timezone.utc)
    version = f"v-{now.strftime('%Y%m%dT%H%M%S.%f')}-{uuid.uuid4().hex[:6]}"  # sorts by creation time
    tmp = index_dir / f".tmp-{version}"
    tmp.mkdir()
    files = {
        "documents.jsonl": _jsonl(asdict(d) for d in documents),
        "chunks.jsonl": _jsonl(asdict(c) for c in chunks),
    }
    for name, data in files.items():
        _write_durable(tmp / name, data)
    listing = {name: {"sha256": _sha(data), "bytes": len(data)} for name, data in files.items()}
    for name, vectors in zip(VECTOR_FILES, (chunk_vectors, sentence_vectors, context_vectors), strict=True):
        index = VectorIndex.build(vectors, dim, spec)
        index.write(tmp / name)
        digest, size = _sha_file(tmp / name, sync=True)
        listing[name] = {"sha256": digest, "bytes": size, "kind": index.kind}
    counts = np.array([len(t) for t in token_vectors], dtype=np.int32)
    tokens, scales = _int8(np.concatenate(token_vectors) if token_vectors else np.zeros((0, dim)))
    for name, array in zip(TOKEN_FILES, (tokens, scales, counts), strict=True):
        np.save(tmp / name, array, allow_pickle=False)
        digest, size = _sha_file(tmp / name, sync=True)
        listing[name] = {"sha256": digest, "bytes": size}
    manifest = {
        **manifest,
        "format_version": FORMAT_VERSION,
        "version": version,
        "vector_index": asdict(spec or IndexSpec()),
        "files": listing,
    }
    manifest_bytes = json.dumps(manifest, ensure_ascii=False, indent=2).encode("utf-8")
    _write_durable(tmp / MANIFEST, manifest_bytes)
    _fsync_dir(tmp)
    os.rename(tmp, index_dir / version)
    pointer = {"version": version, "manifest_sha256": _sha(manifest_bytes)}
    _write_durable(index_dir / f".{CURRENT}.tmp", json.dumps(pointer).encode("utf-8"))
    os.replace(index_dir / f".{CURRENT}.tmp", index_dir / CURRENT)
    _fsync_dir(index_dir)
    collect_garbage(index_dir)
    return index_dir / version


def read_index(index_dir: Path) -> StoredIndex:
    """Load the current version, verifying every checksum before FAISS parses a byte."""
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


def read_manifest(index_dir: Path) -> dict[str, Any] | None:
    """The current manifest (verified), or None when there is no usable index."""
    try:
        pointer = _read_pointer(index_dir)
        return _read_manifest(index_dir / pointer["version"], pointer)
    except (KBError, FileNotFoundError):
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


def _read_manifest(version_dir: Path, pointer: dict[str, Any]) -> dict[str, Any]:
    raw = (version_dir / MANIFEST).read_bytes()
    if _sha(raw) != pointer.get("manifest_sha256"):
        raise KBError(f"{version_dir / MANIFEST} is corrupted (checksum mismatch); {REBUILD_HINT} --full")
    manifest: dict[str, Any] = json.loads(raw)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise KBError(
            f"index format {manifest.get('format_version')} is not the supported {FORMAT_VERSION}; "
            f"{REBUILD_HINT} --full"
        )
    return manifest


def _read_version(index_dir: Path) -> StoredIndex:
    pointer = _read_pointer(index_dir)
    version_dir = index_dir / pointer["version"]
    manifest = _read_manifest(version_dir, pointer)
    data: dict[str, bytes] = {}
    for name, meta in manifest["files"].items():
        if name in LARGE_FILES:  # hashed as a stream, then memory-mapped
            digest, size = _sha_file(version_dir / name)
        else:
            data[name] = (version_dir / name).read_bytes()
            digest, size = _sha(data[name]), len(data[name])
        if size != meta["bytes"] or digest != meta["sha256"]:
            raise KBError(f"index file {version_dir / name} is corrupted (checksum mismatch); {REBUILD_HINT} --full")
    spec = IndexSpec(**manifest.get("vector_index", {}))
    vectors = {
        name: VectorIndex.read(version_dir / name, manifest["files"][name].get("kind", "flat"), spec)
        for name in VECTOR_FILES
    }
    documents = {d["doc_id"]: Document(**d) for d in _read_jsonl(data["documents.jsonl"])}
    chunks = [
        Chunk(**{**c, "sentences": tuple(tuple(s) for s in c["sentences"])}) for c in _read_jsonl(data["chunks.jsonl"])
    ]
    tokens, scales, counts = (_load_array(version_dir / name) for name in TOKEN_FILES)
    if len(counts) != len(chunks) or int(counts.sum()) != len(tokens) or len(scales) != len(tokens):
        raise KBError(f"token vectors in {version_dir} do not match its chunks; {REBUILD_HINT} --full")
    return StoredIndex(
        path=version_dir,
        manifest=manifest,
        documents=documents,
        chunks=chunks,
        chunk_vectors=vectors["chunks.faiss"],
        sentence_vectors=vectors["sentences.faiss"],
        context_vectors=vectors["contexts.faiss"],
        token_vectors=tokens,
        token_scales=scales,
        token_counts=counts,
    )


def _int8(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each row as int8 values times a float32 scale (its largest magnitude maps to 127).

    A quarter of float32's bytes, and cosines change by under 1e-4; converting int8 back is fast,
    float16 is not (numpy casts it element by element: 5 ms per search on the bundled corpus).
    Applied to its own output it gives the same bytes again, so reused vectors stay identical.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    scales = np.abs(vectors).max(axis=1, initial=0.0) / 127
    scales[scales == 0] = 1.0
    return np.round(vectors / scales[:, None]).astype(np.int8), scales.astype(np.float32)


def _load_array(path: Path) -> np.ndarray:
    """Memory-map a .npy file written by `write_index` (its checksum must already be verified)."""
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
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line]


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
