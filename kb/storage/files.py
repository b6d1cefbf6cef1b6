"""The files store: one version directory per build, checksummed, swapped in atomically. Knows nothing of models.

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
      title_tokens.npy  the token vectors of every title, title after title, codes in token_code.npy
      title_token_counts.npy  how many token vectors each title has
      headings.npy      the section headings of every document, read as questions, document after document
      heading_counts.npy  how many each document has
      adapter.npy       the question adapter fitted to this version (`kb.adapter.Adapter`)

This module alone knows that layout (each file is named once, above). A rebuild hands it one
`DocumentRecord` per document and `read_version` gives back float32 vectors; `kb.index.Index` turns
rows into answers to questions. The FAISS files are written and read by `faiss.VectorIndex`.
A rebuild writes a new version directory beside the old one, then replaces CURRENT; readers never
see a half-written index, and every checksum is verified before a parser reads a byte.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import REBUILD_HINT, IndexUnusable, KBError
from ..types import Chunk
from .base import (
    KEEP_VERSIONS,
    ArrayRows,
    DocumentHeads,
    DocumentRecord,
    FileEntry,
    Manifest,
    Records,
    StoredVersion,
    assemble_version,
    chunk_from_dict,
    document_from_json,
    prepare_version,
)
from .faiss import VectorIndex
from .tokens import TokenCode, TokenVectors, stack_rows

CURRENT = "CURRENT"
MANIFEST = "manifest.json"
VECTOR_FILES = ("chunks.faiss", "sentences.faiss", "contexts.faiss")
TOKEN_FILES = ("tokens.npy", "token_counts.npy", "token_sentences.npy", "token_code.npy")
TITLE_FILE = "titles.npy"  # one vector per document (in documents.jsonl order): its title read as a question
TITLE_TOKEN_FILES = ("title_tokens.npy", "title_token_counts.npy")  # their token vectors (codes, counts)
HEADING_FILES = ("headings.npy", "heading_counts.npy")  # the headings read as questions (vectors, counts)
ADAPTER_FILE = "adapter.npy"
# hashed as a stream, then memory-mapped
LARGE_FILES = VECTOR_FILES + TOKEN_FILES + (TITLE_FILE, *TITLE_TOKEN_FILES, *HEADING_FILES, ADAPTER_FILE)


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

    def write(self, records: Sequence[DocumentRecord], manifest: Manifest, adapter: np.ndarray) -> Manifest:
        return write_version(self.index_dir, records, manifest, adapter)


def write_version(
    index_dir: Path, records: Sequence[DocumentRecord], manifest: Manifest, adapter: np.ndarray
) -> Manifest:
    """Write `records` (in order) as a complete new version, make it current, return its manifest."""
    index_dir.mkdir(parents=True, exist_ok=True)
    dim = manifest.model.dimension
    manifest, tokens, title_tokens = prepare_version(records, manifest)
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
        index = VectorIndex.build(stack_rows([getattr(r, part) for r in records], dim), dim, manifest.vector_index)
        index.write(tmp / name)
        listing[name] = FileEntry(*_sha_file(tmp / name, sync=True), kind=index.kind)
    titles = np.array([r.title_vector for r in records], dtype=np.float32).reshape(len(records), dim)
    title_codes, title_counts, _, _ = title_tokens.arrays  # (a title is read as one sentence)
    headings = stack_rows([r.heading_vectors for r in records], dim)
    heading_counts = np.array([len(r.heading_vectors) for r in records], dtype=np.int32)
    arrays = [codes, counts, token_sentences, centroids, titles, title_codes, title_counts, headings, heading_counts]
    arrays.append(np.asarray(adapter, dtype=np.float32))
    names = (*TOKEN_FILES, TITLE_FILE, *TITLE_TOKEN_FILES, *HEADING_FILES, ADAPTER_FILE)
    for name, array in zip(names, arrays, strict=True):
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


@dataclass(frozen=True)
class MappedFile:
    """A memory-mapped file of a version as it was verified."""

    path: Path
    inode: int
    size: int


def damage(mapped: Sequence[MappedFile]) -> str:
    """What happened to a memory-mapped file since it was verified ("" when nothing did).

    A file cut short under a memory map kills the process (SIGBUS) at the first read past its new
    end, so readers look before each question: a few `stat` calls. A file replaced by another
    (a new inode) is harmless: the map keeps the old one."""
    for f in mapped:
        try:
            now = f.path.stat()
        except OSError:
            continue  # removed (an old version collected): the map keeps its pages
        if now.st_ino == f.inode and now.st_size != f.size:
            return f"index file {f.path} changed under the running app ({now.st_size:,} bytes, not {f.size:,})"
    return ""


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
        raise IndexUnusable(f"no index in {index_dir}; {REBUILD_HINT} to build it")
    raise IndexUnusable(f"index in {index_dir} is incomplete (a file is missing); {REBUILD_HINT} --full")


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
        raise IndexUnusable(f"{index_dir / CURRENT} is corrupted; {REBUILD_HINT} --full") from None
    return pointer


def _read_manifest(version_dir: Path, pointer: dict[str, Any]) -> Manifest:
    raw = (version_dir / MANIFEST).read_bytes()
    if _sha(raw) != pointer.get("manifest_sha256"):
        raise IndexUnusable(f"{version_dir / MANIFEST} is corrupted (checksum mismatch); {REBUILD_HINT} --full")
    return Manifest.from_json(raw, version_dir / MANIFEST)


def _read_version(index_dir: Path) -> StoredVersion:
    pointer = _read_pointer(index_dir)
    version_dir = index_dir / pointer["version"]
    manifest = _read_manifest(version_dir, pointer)
    if set(manifest.files) != {"documents.jsonl", "chunks.jsonl", *LARGE_FILES}:
        raise IndexUnusable(f"{version_dir / MANIFEST} lists the wrong files; {REBUILD_HINT} --full")
    data: dict[str, bytes] = {}
    for name, meta in manifest.files.items():
        if name in LARGE_FILES:  # hashed as a stream, then memory-mapped
            digest, size = _sha_file(version_dir / name)
        else:
            data[name] = (version_dir / name).read_bytes()
            digest, size = _sha(data[name]), len(data[name])
        if size != meta.bytes or digest != meta.sha256:
            raise IndexUnusable(
                f"index file {version_dir / name} is corrupted (checksum mismatch); {REBUILD_HINT} --full"
            )
    passages, sentences, contexts = (
        VectorIndex.read(version_dir / name, manifest.files[name].kind, manifest.vector_index) for name in VECTOR_FILES
    )
    codes, counts, token_sentences, centroids = (_load_array(version_dir / name) for name in TOKEN_FILES)
    if (
        token_sentences.shape != (len(codes),)
        or centroids.ndim != 3
        or int(counts.sum()) != len(codes)
        or codes.shape[1:] != (TokenCode.code_size_of(centroids.shape),)
        or centroids.shape[0] * centroids.shape[2] != manifest.model.dimension
    ):
        raise IndexUnusable(f"the token vectors in {version_dir} do not match their codebook; {REBUILD_HINT} --full")
    tokens = TokenVectors(codes, counts, token_sentences, TokenCode(centroids))
    titles = _load_array(version_dir / TITLE_FILE)
    title_codes, title_counts = (_load_array(version_dir / name) for name in TITLE_TOKEN_FILES)
    if int(title_counts.sum()) != len(title_codes) or title_codes.shape[1:] != codes.shape[1:]:
        raise IndexUnusable(f"the title token vectors in {version_dir} do not match; {REBUILD_HINT} --full")
    title_tokens = TokenVectors(title_codes, title_counts, np.zeros(len(title_codes), np.uint16), tokens.code)
    try:
        documents = [document_from_json(d) for d in _read_jsonl(data["documents.jsonl"])]
        chunks = ChunkRecords(data["chunks.jsonl"])
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexUnusable(f"the records in {version_dir} are malformed ({exc!r}); {REBUILD_HINT} --full") from None
    headings, heading_counts = (_load_array(version_dir / name) for name in HEADING_FILES)
    heading_starts = np.concatenate([[0], np.cumsum(heading_counts)]).astype(np.int64)
    if titles.shape != (len(documents), manifest.model.dimension) or (
        len(heading_counts) != len(documents) or headings.shape != (heading_starts[-1], manifest.model.dimension)
    ):
        raise IndexUnusable(f"the vectors in {version_dir} do not match its chunks; {REBUILD_HINT} --full")
    stored = assemble_version(
        version_dir,
        manifest,
        {d.doc_id: d for d in documents},
        DocumentHeads.of(documents),
        chunks,
        (passages, sentences, contexts),
        tokens,
        ArrayRows(titles),
        title_tokens,
        lambda i: np.array(headings[heading_starts[i] : heading_starts[i + 1]], np.float32),
        np.array(_load_array(version_dir / ADAPTER_FILE), np.float32),
    )
    stats = {name: (version_dir / name).stat() for name in LARGE_FILES}
    mapped = tuple(MappedFile(version_dir / n, st.st_ino, st.st_size) for n, st in stats.items())
    return replace(stored, damage=lambda: damage(mapped))


def _load_array(path: Path) -> np.ndarray:
    """Memory-map a .npy file written by `write_version` (its checksum must already be verified)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except FileNotFoundError:
        raise
    except (OSError, ValueError) as exc:
        raise IndexUnusable(f"index file {path} could not be read ({exc}); {REBUILD_HINT} --full") from exc


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
