"""Retrieval: a query vector -> ranked Hits from the chunk index, optionally filtered by language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from .store import StoredIndex
from .types import Hit, Query

PER_DOCUMENT = 2  # passages per article before other articles get a turn
CANDIDATES = 4  # how many times k to fetch from each vector set before scoring exactly
SENTENCES_PER_CHUNK = 3  # sentences fetched per chunk candidate
# A passage's score moves this share of the way toward its context's (the passage with its neighbour)
# when that is higher (bench/eval: hit@5 0.873 -> 0.909, MRR@10 0.755 -> 0.771; 0.25-0.75 all help).
CONTEXT_WEIGHT = 0.5
# Weight of the word match (mean over the question's tokens of their best cosine to the passage's
# tokens) added to the meaning match for ranking (bench/eval: 0.25-0.75 all help; README).
TOKEN_WEIGHT = 0.5


def language_rows(stored: StoredIndex, languages: Iterable[str] | None) -> np.ndarray | None:
    """Rows of chunks in `languages` (None = no filter)."""
    if languages is None:
        return None
    wanted = set(languages)
    return np.array([i for i, c in enumerate(stored.chunks) if c.lang in wanted], dtype=np.int64)


def dense_search(
    stored: StoredIndex,
    query: Query,
    k: int,
    languages: Iterable[str] | None = None,
    per_document: int = PER_DOCUMENT,
) -> list[Hit]:
    """Top-k chunks, at most `per_document` per article (with its translations) before the rest.

    `Hit.score` is the relevance: the weighted mean of the meaning match (`_meaning`, on
    language-neutral vectors: `StoredIndex.neutral`) and the word match (`_word_match`), weights
    1 and TOKEN_WEIGHT. It runs from -1 to 1; the `confident` threshold is set on it.

    Without the per-article cap one article (usually the one in the question's own language)
    fills every slot; passages beyond the cap still follow, in score order, when there is room.
    """
    rows = _candidates(stored, stored.neutral(query.vector), k * CANDIDATES, language_rows(stored, languages))
    if not len(rows):
        return []
    meaning = _meaning(stored, rows, query.vector)
    scores = (meaning + TOKEN_WEIGHT * _word_match(stored, rows, query.tokens)) / (1 + TOKEN_WEIGHT)
    first: list[tuple[int, float]] = []
    rest: list[tuple[int, float]] = []
    per_doc: dict[str, int] = {}
    for i in np.argsort(-scores, kind="stable").tolist():
        row = int(rows[i])
        work = stored.works[stored.chunks[row].doc_id]  # an article and its translations share the cap
        per_doc[work] = per_doc.get(work, 0) + 1
        (first if per_doc[work] <= per_document else rest).append((row, float(scores[i])))
    hits = []
    for rank, (row, score) in enumerate((first + rest)[:k], start=1):
        chunk = stored.chunks[row]
        doc = stored.documents[chunk.doc_id]
        hits.append(
            Hit(
                chunk_id=chunk.chunk_id,
                doc_id=chunk.doc_id,
                title=doc.title,
                lang=chunk.lang,
                text=chunk.text,
                start=chunk.start,
                end=chunk.end,
                score=score,
                rank=rank,
                heading=chunk.heading,
            )
        )
    return hits


def _candidates(stored: StoredIndex, query_vector: np.ndarray, n: int, rows: np.ndarray | None) -> np.ndarray:
    """Chunk rows worth scoring: the nearest `n` chunks, the chunks of the nearest sentences, and
    both chunks of the nearest contexts (context r = chunk r + chunk r+1)."""
    _, chunk_rows = stored.chunk_vectors.search(query_vector, n, rows)
    sentence_rows = None if rows is None else np.flatnonzero(np.isin(stored.sentence_chunk, rows))
    _, sent_rows = stored.sentence_vectors.search(query_vector, n * SENTENCES_PER_CHUNK, sentence_rows)
    _, context_rows = stored.context_vectors.search(query_vector, n, rows)
    following = context_rows + 1
    following = following[[_same_doc(stored, r - 1, r) for r in following.tolist()]]
    found = np.concatenate([chunk_rows, stored.sentence_chunk[sent_rows], context_rows, following])
    found = np.unique(found.astype(np.int64))
    return found if rows is None else found[np.isin(found, rows)]


def _same_doc(stored: StoredIndex, a: int, b: int) -> bool:
    n = len(stored.chunks)
    return 0 <= a < n and 0 <= b < n and stored.chunks[a].doc_id == stored.chunks[b].doc_id


def _meaning(stored: StoredIndex, rows: np.ndarray, query_vector: np.ndarray) -> np.ndarray:
    """Per chunk row: the higher of its cosine and its best sentence's, moved CONTEXT_WEIGHT of the way
    toward its context's (the passage read with its neighbour, before or after) when that is higher.

    A passage that answers the question in one sentence is not diluted by the rest of its paragraph
    (bench/eval: hit@5 0.71 -> 0.86); one that needs its neighbour to make sense is found through the
    context. All vectors lose their language directions first (`StoredIndex.neutral`).
    """
    first = stored.first_sentence[rows]
    counts = np.array([len(stored.chunks[r].sentences) for r in rows.tolist()], dtype=np.int64)
    sentence_rows = np.concatenate([np.arange(f, f + c) for f, c in zip(first.tolist(), counts.tolist(), strict=True)])
    owner = np.repeat(np.arange(len(rows)), counts)
    before = np.array([r - 1 if _same_doc(stored, r - 1, r) else r for r in rows.tolist()], dtype=np.int64)
    blocks = [
        stored.chunk_vectors.vectors(rows),
        stored.sentence_vectors.vectors(sentence_rows.astype(np.int64)),
        stored.context_vectors.vectors(rows),  # this passage + the next
        stored.context_vectors.vectors(before),  # the previous passage + this
    ]
    q = stored.neutral(query_vector)
    own, sentences, after, previous = (stored.neutral(b) @ q for b in blocks)
    best = own.copy()
    np.maximum.at(best, owner, sentences)
    context = np.maximum(after, previous)
    return best + CONTEXT_WEIGHT * np.maximum(0.0, context - best)


def _word_match(stored: StoredIndex, rows: np.ndarray, query_tokens: np.ndarray) -> np.ndarray:
    """Per chunk row: the mean over the question's token vectors of the best cosine to one of the
    chunk's token vectors (late interaction, as in ColBERT; Khattab & Zaharia 2020). Token vectors
    of a multilingual encoder align words across languages ("patience" ~ "pazienza"), which is what
    BM25 cannot do for questions asked in another language than the passage."""
    tokens, starts = stored.chunk_tokens(rows)
    if not len(query_tokens) or not len(tokens):
        return np.zeros(len(rows), dtype=np.float32)
    similarity = query_tokens @ tokens.T  # (question tokens, all candidate tokens)
    empty = stored.token_counts[rows] == 0
    best = np.maximum.reduceat(similarity, np.minimum(starts, len(tokens) - 1), axis=1)
    best[:, empty] = 0.0
    return best.mean(axis=0)


def language_evidence(
    stored: StoredIndex, query: Query, hits: list[Hit], min_score: float, languages: Iterable[str] | None
) -> list[Hit]:
    """`hits` plus, for each corpus language they miss, its best passage if that clears `min_score`.

    Several languages may make the same point; this keeps one language from crowding out the others.
    """
    wanted = sorted(set(languages) if languages is not None else stored.languages)
    present = {h.lang for h in hits} | {stored.documents[t].lang for h in hits for t in stored.translations(h.doc_id)}
    extra: list[Hit] = []
    for lang in wanted:
        if lang in present:
            continue
        best = dense_search(stored, query, 1, [lang])
        if best and best[0].score >= min_score:
            extra.append(replace(best[0], rank=len(hits) + len(extra) + 1))
    return hits + extra
