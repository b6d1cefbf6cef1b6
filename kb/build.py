"""The rebuild pipeline: corpus -> documents -> chunks -> vectors -> index (incremental)."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from .adapter import Adapter, fit_adapter
from .calibration import calibrated
from .chunking import chunk_document, embedding_text
from .config import Settings
from .corpus import CorpusScan, check_file, corpus_hashes, load_corpus
from .errors import KBError
from .index import Index, language_basis, language_means, neutral
from .model import TOKEN_DEPTH, Embedder
from .readers import VERSION as READERS_VERSION
from .readers import library_versions as reader_libraries
from .storage import DocumentEntry, DocumentRecord, Manifest, open_store
from .storage.base import headings_of
from .storage.tokens import CODE_BITS, CODE_DIMS, DISTINCT_TOKENS, TokenCode, TokenVectors, distinct_tokens, stack_rows
from .translations import DISCOVERY, Layout, discover_translations
from .types import Chunk, Document, ModelIdentity, Skipped

CHUNKER_VERSION = 3
# How a passage is read: one model pass gives its vector, its sentences' and its context's (late chunking).
PASSES = "one per passage; sentence and context vectors pooled from it"
# Public sentences the token codebook is learned from: 1,000 each in es, pl, it, fr and 1,000 in en
# from Tatoeba (tatoeba.org, CC BY 2.0 FR), text none of the question sets use.
TOKEN_CODE_TEXTS = Path(__file__).parent / "data" / "token_code_sentences.txt"
# Passages the model reads together, sorted by length. Sorting within groups of 32 articles padded
# the texts of 200 help pages by 17 %, within 1,024 passages by 4 % (as sorting them all);
# a group's token states take ~100 MB.
GROUP_PASSAGES = 1024
Progress = Callable[[int, int, str], None]  # (done, total, stage): "reading" files, "embedding" articles


@dataclass
class BuildReport:
    """What a rebuild did."""

    documents: int
    chunks_per_language: dict[str, int]
    embedded_documents: int
    reused_documents: int
    embedded_chunks: int
    seconds: float
    changed: bool
    skipped: list[Skipped] = field(default_factory=list)
    version: str = ""

    @property
    def chunks(self) -> int:
        return sum(self.chunks_per_language.values())


def chunking_settings(settings: Settings) -> dict[str, object]:
    """How passages are cut and read; a change re-embeds everything."""
    return {
        "chunker_version": CHUNKER_VERSION,
        "max_chunk_tokens": settings.max_chunk_tokens,
        "token_depth": TOKEN_DEPTH,
        "passes": PASSES,
        "distinct_tokens": DISTINCT_TOKENS,
        "distinct_within": "sentence",
    }


def rebuild(
    settings: Settings | None = None,
    *,
    full: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Index `settings.corpus_dir` into `settings.index_dir`, re-embedding only changed documents.

    Every document becomes one `DocumentRecord`: taken from the current index when its text, title,
    language and id are unchanged (and the model and chunking are the same), else embedded now.
    The writer gets the same type either way, so an incremental rebuild equals a full one.
    """
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    report_progress = progress or (lambda done, total, what: None)
    reading = {"readers": READERS_VERSION, "libraries": reader_libraries(), "limits": asdict(settings.limits)}
    store = open_store(settings, write=True)
    with store.lock():
        current = store.manifest()  # None: no usable index (missing, corrupted, older format)
        # the configured model, or the one `kb tune` made that the index was built with (it follows the index)
        embedder = embedder or Embedder.following(settings, current.model if current else None)
        unchanged = current is not None and current.reading == reading and _files_unchanged(settings, current)
        if not full and current is not None and unchanged and _same_settings(current, embedder.identity, settings):
            # Nothing changed: decided from file hashes and the manifest, without reading a file or the model.
            return BuildReport(
                documents=len(current.documents),
                chunks_per_language=dict(current.counts.chunks_per_language),
                embedded_documents=0,
                reused_documents=len(current.documents),
                embedded_chunks=0,
                seconds=time.perf_counter() - started,
                changed=False,
                skipped=list(current.skipped),
                version=current.version,
            )
        scan = load_corpus(settings.corpus_dir, settings.limits, report_progress)
        if not scan.documents:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in scan.skipped) or "no files"
            raise KBError(f"no usable articles in {settings.corpus_dir} ({reasons})")
        manifest = Manifest(
            model=embedder.identity,
            chunking=chunking_settings(settings),
            built_at=time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            corpus_fingerprint=_fingerprint(scan.documents, scan.skipped),
            documents={d.doc_id: DocumentEntry(d.path, d.content_hash, d.lang) for d in scan.documents},
            skipped=tuple(scan.skipped),
            translation_discovery=DISCOVERY,
            translations=(),
            vector_index=settings.index_spec,
            reading=reading,
        )
        manifest = replace(manifest, stale_since=stale_since(current, manifest, scan.documents))
        previous = None
        same_vectors = current is not None and (current.model, current.chunking) == (manifest.model, manifest.chunking)
        if not full and same_vectors:
            with contextlib.suppress(KBError):
                previous = Index.load(store)
        code = token_code(embedder, settings, report_progress)
        if previous is not None and previous.token_code.digest != code.digest:
            previous = None  # its token vectors are in another code (learned elsewhere): embed everything
        reused = {d.doc_id: _reuse(previous, d) for d in scan.documents} if previous else {}
        todo = [d for d in scan.documents if reused.get(d.doc_id) is None]
        fresh = embed_documents(todo, embedder, settings, report_progress, code)
        records = [reused.get(d.doc_id) or fresh[d.doc_id] for d in scan.documents]
        translations = discover_translations([Layout.of(r) for r in records])
        manifest = replace(manifest, translations=tuple(translations))
        adapting = lambda: report_progress(0, 1, "adapting")  # noqa: E731  (81 s at 10,000 articles)
        adapter = question_adapter(records, embedder.identity.dimension, adapting)
        written = store.write(records, manifest, adapter.to_array())
        if settings.confident_score is None:  # the new version's threshold, so that no question waits for it
            with contextlib.suppress(KBError):
                calibrated(Index.load(store), settings.index_dir)
        report_progress(1, 1, "done")
        embedded_chunks = sum(len(fresh[d.doc_id].chunks) for d in todo)
        return _report(scan, written, len(todo), embedded_chunks, started, changed=True)


def stale_since(current: Manifest | None, manifest: Manifest, documents: list[Document]) -> dict[str, str]:
    """The translations behind their original: those whose original's file changed since `current` while
    theirs did not (today), and those already behind in `current` whose file has not changed since."""
    before = current.documents if current is not None else {}
    was = current.stale_since if current is not None else {}
    out = {}
    for doc in documents:
        original = doc.translation_of
        if not original or original not in manifest.documents:
            continue
        mine, old = manifest.documents[doc.doc_id], before.get(doc.doc_id)
        if old is None or old.sha256 != mine.sha256:
            continue  # new or changed: written against the original as it is now
        theirs, old_original = manifest.documents[original], before.get(original)
        if old_original is not None and old_original.sha256 != theirs.sha256:
            out[doc.doc_id] = time.strftime("%Y-%m-%d")
        elif doc.doc_id in was:
            out[doc.doc_id] = was[doc.doc_id]
    return out


def add_files(settings: Settings, files: list[tuple[str, bytes]]) -> list[str]:
    """Put files (name, bytes) into the corpus directory, replacing files of the same name; returns the names.

    Each is written to a temporary file and renamed into place, so the corpus never holds half a file.
    A file a rebuild would skip (a format no reader takes, above its size limit, broken, without text)
    is refused, with why, before anything is written (`check_file`).
    """
    refused = [r for r in (check_file(name, data, settings.limits) for name, data in files) if r is not None]
    if refused:
        raise KBError("; ".join(f"cannot add {r.name!r}: {r.detail}" for r in refused) + "; nothing was added")
    names = [name for name, _ in files]
    try:
        settings.corpus_dir.mkdir(parents=True, exist_ok=True)
        for name, (_, data) in zip(names, files, strict=True):
            tmp = settings.corpus_dir / f".{name}.adding"
            tmp.write_bytes(data)
            os.replace(tmp, settings.corpus_dir / name)
    except OSError as exc:
        raise KBError(f"cannot write into {settings.corpus_dir}: {exc.strerror or exc}") from None
    return names


def _same_settings(current: Manifest, model: ModelIdentity, settings: Settings) -> bool:
    return (current.model, current.chunking, current.translation_discovery, current.vector_index) == (
        model,
        chunking_settings(settings),
        DISCOVERY,
        settings.index_spec,
    )


def _files_unchanged(settings: Settings, current: Manifest) -> bool:
    """Do the corpus files have the names and bytes the index was built from (indexed and skipped)?"""
    try:
        return corpus_hashes(settings.corpus_dir) == current.files_read()
    except KBError:
        return False


def question_adapter(records: list[DocumentRecord], dim: int, started: Callable[[], None] = lambda: None) -> Adapter:
    """The question adapter fitted to `records` (kb/adapter.py): each title and section heading, read
    as a question, for the passages it stands above, all vectors without their language directions
    as search compares them (`Index.neutral`). `started` is called when a fit begins (there may be none)."""
    langs = np.array([c.lang for r in records for c in r.chunks])
    passages = stack_rows([r.chunk_vectors for r in records], dim)
    sentence_langs = np.array([c.lang for r in records for c in r.chunks for _ in c.sentences])
    sets = (
        (passages, langs),
        (stack_rows([r.sentence_vectors for r in records], dim), sentence_langs),
        (stack_rows([r.context_vectors for r in records], dim), langs),
    )
    basis = language_basis(language_means(sorted(set(langs.tolist())), ((a.__getitem__, lg) for a, lg in sets)), dim)
    queries: list[np.ndarray] = []
    positives: list[np.ndarray] = []
    first = 0
    for record in records:
        rows = np.arange(first, first + len(record.chunks))
        if record.document.title and len(rows):
            queries.append(record.title_vector)
            positives.append(rows)
        for heading, vector in zip(headings_of(record.chunks), record.heading_vectors, strict=True):
            queries.append(vector)
            positives.append(rows[[c.heading == heading for c in record.chunks]])
        first += len(record.chunks)
    if not queries:
        return Adapter.none(dim)
    return fit_adapter(neutral(np.stack(queries), basis), positives, neutral(passages, basis), started)


def _reuse(previous: Index, doc: Document) -> DocumentRecord | None:
    """The stored record of `doc` when what its vectors depend on is unchanged (its id, title,
    language and body), carrying the new document (its file name and other header fields may differ)."""
    old = previous.documents.get(doc.doc_id)
    # What chunks and vectors depend on: the text, title and language, and the headings a reader found.
    if old is None or (old.title, old.lang, old.body, old.format, old.sections) != (
        doc.title,
        doc.lang,
        doc.body,
        doc.format,
        doc.sections,
    ):
        return None
    return replace(previous.record(doc.doc_id), document=doc)


def _report(
    scan: CorpusScan, manifest: Manifest, embedded: int, embedded_chunks: int, started: float, changed: bool
) -> BuildReport:
    return BuildReport(
        documents=len(scan.documents),
        chunks_per_language=dict(manifest.counts.chunks_per_language),
        embedded_documents=embedded,
        reused_documents=len(scan.documents) - embedded,
        embedded_chunks=embedded_chunks,
        seconds=time.perf_counter() - started,
        changed=changed,
        skipped=list(scan.skipped),
        version=manifest.version,
    )


def token_code(embedder: Embedder, settings: Settings, progress: Progress | None = None) -> TokenCode:
    """The codebook token vectors are stored in: learned once per model from TOKEN_CODE_TEXTS (read as
    passages are, distinct tokens only), then kept in the model cache. Deterministic (fixed seeds), so
    an incremental and a full rebuild store the same codes."""
    raw = TOKEN_CODE_TEXTS.read_bytes()
    what = json.dumps([asdict(embedder.identity), TOKEN_DEPTH, DISTINCT_TOKENS, CODE_DIMS, CODE_BITS], default=str)
    key = hashlib.sha256(what.encode() + raw).hexdigest()[:16]
    path = settings.model_cache_dir / f"token-code-{key}.npy"
    with contextlib.suppress(OSError, ValueError, KBError):
        return TokenCode(np.load(path, allow_pickle=False))
    if progress:
        progress(0, 1, "learning the token codebook (once per model)")
    code = learn_token_code(embedder, settings)
    with contextlib.suppress(OSError):  # a read-only cache only costs learning it again next time
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as f:
            np.save(f, code.centroids, allow_pickle=False)
        os.replace(tmp, path)
    return code


def learn_token_code(
    embedder: Embedder, settings: Settings, bits: int = CODE_BITS, width: int = CODE_DIMS
) -> TokenCode:
    """A codebook learned from the distinct token vectors of TOKEN_CODE_TEXTS, read as passages are."""
    texts = TOKEN_CODE_TEXTS.read_text(encoding="utf-8").splitlines()
    read = embedder.read_passages(texts, [0] * len(texts), [[] for _ in texts], settings.embed_batch_size)
    assert read.tokens is not None
    return TokenCode.train(np.concatenate([t[distinct_tokens(t)] for t in read.tokens]), bits=bits, width=width)


def embed_documents(
    documents: list[Document], embedder: Embedder, settings: Settings, progress: Progress, code: TokenCode
) -> dict[str, DocumentRecord]:
    """Chunk and embed `documents`: one record each, with passage, sentence, context and token vectors.

    Articles go to the model in groups of about GROUP_PASSAGES passages, their texts sorted by
    length across the group; progress is "articles done / total", counted within a group by the
    share of its tokens read (its last article counts when its records are made), so the time
    left follows from it.
    """
    total = len(documents)
    records: dict[str, DocumentRecord] = {}
    shown = -1

    def show(done: int) -> None:  # each count once (a batch may not finish another article)
        nonlocal shown
        if done != shown:
            shown = done
            progress(done, total, "embedding")

    show(0)
    for group in _chunked_groups(documents, embedder, settings):
        done, size = len(records), len(group)
        step = lambda share, done=done, size=size: show(done + min(size - 1, int(share * size)))  # noqa: E731
        records.update(_embed_group(group, embedder, settings, code, step))
        show(len(records))
    return records


def _chunked_groups(
    documents: list[Document], embedder: Embedder, settings: Settings
) -> Iterator[list[tuple[Document, list[Chunk]]]]:
    """The documents with their chunks, in groups of at least GROUP_PASSAGES passages (the last: the rest)."""
    # A passage must fit the model with its heading, prompt and special tokens.
    chunk_limit = min(settings.max_chunk_tokens, embedder.identity.max_tokens // 2)
    group: list[tuple[Document, list[Chunk]]] = []
    passages = 0
    for doc in documents:
        chunks = chunk_document(doc, embedder.count_tokens, chunk_limit)
        group.append((doc, chunks))
        passages += len(chunks)
        if passages >= GROUP_PASSAGES:
            yield group
            group, passages = [], 0
    if group:
        yield group


def _embed_group(
    group: list[tuple[Document, list[Chunk]]],
    embedder: Embedder,
    settings: Settings,
    code: TokenCode,
    progress: Callable[[float], None],
) -> dict[str, DocumentRecord]:
    """Embed a few chunked documents together: one pass of the model per passage gives everything.

    The passage's vector; its sentences' vectors, pooled from the states of their tokens in that
    pass (late chunking); its context vector (the passage read with the next one), pooled from the
    two passages' passes; its token vectors. The texts are batched by length (less padding).
    """
    chunks = [c for _, own in group for c in own]
    titles = {d.doc_id: d.title for d, _ in group}
    texts = [embedding_text(c, titles[c.doc_id]) for c in chunks]
    # where the chunk's own text begins in what the model reads (after a heading read as context):
    # token vectors are of the passage's own words (bench/eval: MRR 0.836 -> 0.868)
    begins = [len(text) - len(c.text) for text, c in zip(texts, chunks, strict=True)]
    spans = [[(b + s - c.start, b + e - c.start) for s, e in c.sentences] for b, c in zip(begins, chunks, strict=True)]
    read = embedder.read_passages(texts, begins, spans, settings.embed_batch_size, progress)
    title_vectors, title_tokens = embedder.read_titles([d.title for d, _ in group], settings.embed_batch_size)
    headings = [headings_of(own) for _, own in group]
    heading_vectors, _ = embedder.read_titles([h for own in headings for h in own], settings.embed_batch_size)
    heading_starts = np.cumsum([0] + [len(h) for h in headings])
    assert read.tokens is not None and read.spans is not None and read.token_spans is not None
    kept = [distinct_tokens(t, s) for t, s in zip(read.tokens, read.token_spans, strict=True)]
    dim = embedder.identity.dimension
    records: dict[str, DocumentRecord] = {}
    first = 0
    for n, (doc, own) in enumerate(group):
        rows = range(first, first + len(own))
        records[doc.doc_id] = DocumentRecord(
            document=doc,
            chunks=tuple(own),
            chunk_vectors=read.vectors[first : first + len(own)],
            sentence_vectors=np.concatenate([read.spans[r] for r in rows]) if own else np.zeros((0, dim), np.float32),
            context_vectors=np.array([read.pooled(r, min(r + 2, rows.stop)) for r in rows], np.float32).reshape(
                len(own), dim
            ),
            token_vectors=TokenVectors.encode(
                [read.tokens[r][kept[r]] for r in rows], [read.token_spans[r][kept[r]] for r in rows], code
            ),
            title_vector=title_vectors[n],
            title_tokens=TokenVectors.encode([title_tokens[n]], [np.zeros(len(title_tokens[n]), np.uint16)], code),
            heading_vectors=heading_vectors[heading_starts[n] : heading_starts[n + 1]].reshape(-1, dim),
        )
        first += len(own)
    return records


def _fingerprint(documents: list[Document], skipped: list[Skipped]) -> str:
    digest = hashlib.sha256()
    for d in documents:
        digest.update(f"{d.doc_id}\0{d.path}\0{d.content_hash}\n".encode())
    for s in sorted(skipped, key=lambda s: s.path):
        digest.update(f"skipped\0{s.path}\0{s.sha256}\n".encode())
    return digest.hexdigest()
