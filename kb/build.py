"""The rebuild pipeline: corpus -> documents -> chunks -> vectors -> index (incremental)."""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

import numpy as np

from .chunking import chunk_document, embedding_text
from .config import Settings
from .corpus import load_corpus
from .embedding import Embedder
from .errors import KBError
from .onnx_encoder import TOKEN_DEPTH
from .store import StoredIndex, read_index, read_manifest, write_index, write_lock
from .translations import DISCOVERY, discover_translations
from .types import Chunk, Document, Skipped

CHUNKER_VERSION = 3
Progress = Callable[[int, int, str], None]  # (done, total, what)


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
    }


def rebuild(
    settings: Settings | None = None,
    *,
    full: bool = False,
    embedder: Embedder | None = None,
    progress: Progress | None = None,
) -> BuildReport:
    """Index `settings.corpus_dir` into `settings.index_dir`, re-embedding only changed documents."""
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    embedder = embedder or Embedder(settings.model, settings)
    report_progress = progress or (lambda done, total, what: None)
    with write_lock(settings.index_dir):
        scan = load_corpus(settings.corpus_dir, settings.max_article_bytes)
        if not scan.documents:
            reasons = "; ".join(f"{s.path}: {s.reason}" for s in scan.skipped) or "no .txt or .md files"
            raise KBError(f"no usable articles in {settings.corpus_dir} ({reasons})")
        identity = embedder.identity.as_dict()
        chunking = chunking_settings(settings)
        skipped_hashes = {s.path: s.sha256 for s in scan.skipped}
        corpus_fingerprint = _fingerprint(scan.documents, skipped_hashes)
        current = read_manifest(settings.index_dir)
        if (  # nothing changed: decided from the manifest alone, without loading vectors or the model
            not full
            and current is not None
            and current.get("model") == identity
            and current.get("chunking") == chunking
            and current.get("corpus_fingerprint") == corpus_fingerprint
            # derived from the vectors: a change here rewrites the index but embeds nothing
            and current.get("translation_discovery") == DISCOVERY
            and current.get("vector_index") == asdict(settings.index_spec)
        ):
            return BuildReport(
                documents=len(scan.documents),
                chunks_per_language=dict(current["counts"]["chunks_per_language"]),
                embedded_documents=0,
                reused_documents=len(scan.documents),
                embedded_chunks=0,
                seconds=time.perf_counter() - started,
                changed=False,
                skipped=scan.skipped,
                version=str(current["version"]),
            )
        previous = None if full else _reusable(settings, identity, chunking)
        reused = _reusable_documents(previous, scan.documents) if previous is not None else {}

        todo = [d for d in scan.documents if d.doc_id not in reused]
        # A passage must fit the model with its heading, prompt and special tokens.
        chunk_limit = min(settings.max_chunk_tokens, embedder.identity.max_tokens // 2)
        new_chunks: dict[str, list[Chunk]] = {}
        for i, doc in enumerate(todo):
            report_progress(i, len(todo), "chunking")
            new_chunks[doc.doc_id] = chunk_document(doc, embedder.count_tokens, chunk_limit)
        report_progress(len(todo), len(todo), "chunking")
        titles = {d.doc_id: d.title for d in scan.documents}
        fresh = [c for cs in new_chunks.values() for c in cs]
        chunk_texts = [embedding_text(c, titles[c.doc_id]) for c in fresh]
        sentence_texts = [c.text_at(s) for c in fresh for s in c.sentences]
        context_texts = [text for cs in new_chunks.values() for text in context_texts_of(cs)]
        total = len(chunk_texts) + len(sentence_texts) + len(context_texts)
        # token vectors of the passage's own words; its heading is context only (bench/eval: MRR 0.836 -> 0.868)
        token_from = [len(text) - len(c.text) for text, c in zip(chunk_texts, fresh, strict=True)]
        chunk_vecs, chunk_tokens = _embed(
            embedder, chunk_texts, settings.embed_batch_size, report_progress, 0, total, token_from
        )
        others = sentence_texts + context_texts
        vectors, _ = _embed(embedder, others, settings.embed_batch_size, report_progress, len(chunk_texts), total)
        sentence_vecs, context_vecs = vectors[: len(sentence_texts)], vectors[len(sentence_texts) :]

        all_chunks: list[Chunk] = []
        chunk_parts: list[np.ndarray] = []
        sentence_parts: list[np.ndarray] = []
        context_parts: list[np.ndarray] = []
        token_parts: list[np.ndarray] = []  # one (tokens, dim) matrix per chunk
        ci = si = 0
        for doc in scan.documents:
            if doc.doc_id in reused:
                chunks, cvec, svec, xvec, tvec = reused[doc.doc_id]
            else:
                chunks = new_chunks[doc.doc_id]
                n_sent = sum(len(c.sentences) for c in chunks)
                cvec, svec = chunk_vecs[ci : ci + len(chunks)], sentence_vecs[si : si + n_sent]
                xvec, tvec = context_vecs[ci : ci + len(chunks)], chunk_tokens[ci : ci + len(chunks)]
                ci, si = ci + len(chunks), si + n_sent
            all_chunks.extend(chunks)
            chunk_parts.append(cvec)
            sentence_parts.append(svec)
            context_parts.append(xvec)
            token_parts.extend(tvec)

        dim = embedder.identity.dimension
        manifest = {
            "model": identity,
            "chunking": chunking,
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "corpus_fingerprint": corpus_fingerprint,
            "documents": {d.doc_id: {"path": d.path, "sha256": d.content_hash, "lang": d.lang} for d in scan.documents},
            "skipped": skipped_hashes,
            "translation_discovery": DISCOVERY,
            "translations": [list(t) for t in discover_translations(scan.documents, sentence_parts)],
            "counts": {
                "documents": len(scan.documents),
                "chunks": len(all_chunks),
                "sentences": sum(len(c.sentences) for c in all_chunks),
                "chunks_per_language": dict(Counter(c.lang for c in all_chunks)),
            },
        }
        path = write_index(
            settings.index_dir,
            scan.documents,
            all_chunks,
            _stack(chunk_parts, dim),
            _stack(sentence_parts, dim),
            _stack(context_parts, dim),
            token_parts,
            manifest,
            settings.index_spec,
        )
        report_progress(1, 1, "done")
        return BuildReport(
            documents=len(scan.documents),
            chunks_per_language=dict(Counter(c.lang for c in all_chunks)),
            embedded_documents=len(todo),
            reused_documents=len(scan.documents) - len(todo),
            embedded_chunks=len(chunk_texts),
            seconds=time.perf_counter() - started,
            changed=True,
            skipped=scan.skipped,
            version=path.name,
        )


def _reusable(settings: Settings, identity: dict[str, object], chunking: dict[str, object]) -> StoredIndex | None:
    """The current index, if it was built by the same model and chunking (else everything is redone)."""
    try:
        previous = read_index(settings.index_dir)
    except KBError:
        return None
    if previous.manifest.get("model") != identity or previous.manifest.get("chunking") != chunking:
        return None
    return previous


def context_texts_of(chunks: list[Chunk]) -> list[str]:
    """Per chunk of one article: its text followed by the next chunk's (the last one alone)."""
    return [c.text + ("\n" + chunks[i + 1].text if i + 1 < len(chunks) else "") for i, c in enumerate(chunks)]


def _reusable_documents(
    previous: StoredIndex, documents: list[Document]
) -> dict[str, tuple[list[Chunk], np.ndarray, np.ndarray, np.ndarray, list[np.ndarray]]]:
    """Chunks, vectors and token vectors of documents whose content is unchanged since the previous build."""
    chunk_vecs = previous.chunk_vectors.vectors()
    sentence_vecs = previous.sentence_vectors.vectors()
    context_vecs = previous.context_vectors.vectors()
    starts = previous.token_start
    rows: dict[str, list[int]] = {}
    sentence_rows: dict[str, list[int]] = {}
    s = 0
    for row, chunk in enumerate(previous.chunks):
        rows.setdefault(chunk.doc_id, []).append(row)
        sentence_rows.setdefault(chunk.doc_id, []).extend(range(s, s + len(chunk.sentences)))
        s += len(chunk.sentences)
    out = {}
    for doc in documents:
        old = previous.documents.get(doc.doc_id)
        if old is None or old != doc or doc.doc_id not in rows:
            continue
        chunks = [previous.chunks[r] for r in rows[doc.doc_id]]
        out[doc.doc_id] = (
            chunks,
            chunk_vecs[rows[doc.doc_id]],
            sentence_vecs[sentence_rows[doc.doc_id]],
            context_vecs[rows[doc.doc_id]],
            [np.asarray(previous.token_vectors[starts[r] : starts[r + 1]]) for r in rows[doc.doc_id]],
        )
    return out


def _embed(
    embedder: Embedder,
    texts: list[str],
    batch_size: int,
    progress: Progress,
    done: int,
    total: int,
    token_from: list[int] | None = None,
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Embed passages longest-first in batches (less padding), reporting progress per batch
    (`done` of `total` texts came before); with `token_from` also each text's token vectors
    (`Embedder.encode_passages_and_tokens`)."""
    dim = embedder.identity.dimension
    tokens: list[np.ndarray] = [np.zeros((0, dim), np.float32)] * len(texts)
    if not texts:
        return np.zeros((0, dim), dtype=np.float32), tokens
    order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
    out = np.zeros((len(texts), dim), dtype=np.float32)
    for start in range(0, len(order), batch_size):
        progress(done + start, total, "embedding")
        batch = order[start : start + batch_size]
        if token_from is not None:
            out[batch], batch_tokens = embedder.encode_passages_and_tokens(
                [texts[i] for i in batch], [token_from[i] for i in batch], batch_size
            )
            for i, t in zip(batch, batch_tokens, strict=True):
                tokens[i] = t
        else:
            out[batch] = embedder.encode_passages([texts[i] for i in batch], batch_size=batch_size)
    progress(done + len(texts), total, "embedding")
    return out, tokens


def _stack(parts: list[np.ndarray], dim: int) -> np.ndarray:
    parts = [p for p in parts if len(p)]
    return np.vstack(parts).astype(np.float32) if parts else np.zeros((0, dim), dtype=np.float32)


def _fingerprint(documents: list[Document], skipped: dict[str, str]) -> str:
    digest = hashlib.sha256()
    for d in documents:
        digest.update(f"{d.doc_id}\0{d.path}\0{d.content_hash}\n".encode())
    for path, sha in sorted(skipped.items()):
        digest.update(f"skipped\0{path}\0{sha}\n".encode())
    return digest.hexdigest()
