"""Retrieval: a query vector -> ranked Hits from the chunk index, optionally filtered by language."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

import numpy as np

from .store import StoredIndex
from .types import Hit

PER_DOCUMENT = 2  # passages per article before other articles get a turn
CANDIDATES = 4  # how many times k to fetch before diversifying
SENTENCES_PER_CHUNK = 3  # sentences fetched per chunk candidate
# Ranking subtracts this share of the query's similarity to the mean sentence of each language:
# the model scores anything in the question's own language higher, whatever it says
# (bench/eval: MRR@10 0.676 -> 0.755, hit@5 unchanged; 0.5-1.0 all help on the dev set, above 0.6 one of
# the retrieval test cases is lost). Hit.score stays the cosine.
LANGUAGE_DEBIAS = 0.6
# A passage's score moves this share of the way toward its context's (the passage with its neighbour)
# when that is higher (bench/eval: hit@5 0.873 -> 0.909, MRR@10 0.755 -> 0.771; 0.25-0.75 all help).
CONTEXT_WEIGHT = 0.5


def language_rows(stored: StoredIndex, languages: Iterable[str] | None) -> np.ndarray | None:
    """Rows of chunks in `languages` (None = no filter)."""
    if languages is None:
        return None
    wanted = set(languages)
    return np.array([i for i, c in enumerate(stored.chunks) if c.lang in wanted], dtype=np.int64)


def dense_search(
    stored: StoredIndex,
    query_vector: np.ndarray,
    k: int,
    languages: Iterable[str] | None = None,
    per_document: int = PER_DOCUMENT,
) -> list[Hit]:
    """Top-k chunks, at most `per_document` per article (with its translations) before the rest.

    Ranked by score minus a per-language offset (see LANGUAGE_DEBIAS); `Hit.score` has no offset.

    A chunk scores the higher of its own cosine and that of its best sentence: a passage that
    answers the question in one sentence is not diluted by the rest of its paragraph (bench/eval:
    hit@5 0.71 -> 0.86, MRR@10 0.51 -> 0.66 on the development set). Without the per-article cap
    one article (usually the one in the question's own language) fills every slot; passages beyond
    the cap still follow, in score order, when there is room.
    """
    scores = _chunk_scores(stored, query_vector, k * CANDIDATES, languages)
    offsets = {lang: LANGUAGE_DEBIAS * float(c @ query_vector) for lang, c in stored.language_centroids.items()}
    scored = sorted(scores.items(), key=lambda x: -(x[1] - offsets.get(stored.chunks[x[0]].lang, 0.0)))
    first: list[tuple[int, float]] = []
    rest: list[tuple[int, float]] = []
    per_doc: dict[str, int] = {}
    for row, score in scored:
        work = stored.works[stored.chunks[row].doc_id]  # an article and its translations share the cap
        per_doc[work] = per_doc.get(work, 0) + 1
        (first if per_doc[work] <= per_document else rest).append((row, score))
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


def _chunk_scores(
    stored: StoredIndex, query_vector: np.ndarray, n: int, languages: Iterable[str] | None
) -> dict[int, float]:
    """Candidate chunk rows -> max(chunk cosine, best retrieved sentence cosine), raised toward its context's."""
    rows = language_rows(stored, languages)
    scores, chunk_rows = stored.chunk_vectors.search(query_vector, n, rows)
    best = {int(r): float(s) for s, r in zip(scores, chunk_rows, strict=True)}
    sentence_rows = None if rows is None else np.flatnonzero(np.isin(stored.sentence_chunk, rows))
    scores, sent_rows = stored.sentence_vectors.search(query_vector, n * SENTENCES_PER_CHUNK, sentence_rows)
    found = stored.sentence_chunk[sent_rows]
    _add_own_scores(stored, query_vector, found, best)  # chunks found through a sentence: their own cosine too
    for score, row in zip(scores, found.tolist(), strict=True):
        best[row] = max(best[row], float(score))
    return _with_context(stored, query_vector, n, rows, best)


def _add_own_scores(stored: StoredIndex, query_vector: np.ndarray, rows: Iterable[int], best: dict[int, float]) -> None:
    """Give each chunk row not yet in `best` its own cosine (one vector lookup for all of them)."""
    missing = np.array(sorted({int(r) for r in rows} - best.keys()), dtype=np.int64)
    if len(missing):
        best.update(zip(missing.tolist(), (stored.chunk_vectors.vectors(missing) @ query_vector).tolist(), strict=True))


def _with_context(
    stored: StoredIndex, query_vector: np.ndarray, n: int, rows: np.ndarray | None, best: dict[int, float]
) -> dict[int, float]:
    """Raise each candidate's score part of the way toward its context's: the passage read together
    with its neighbour (before or after, same article), when that scores higher. Passages whose
    context matches well join the candidates."""
    chunks = stored.chunks

    def same_doc(a: int, b: int) -> bool:
        return 0 <= a < len(chunks) and 0 <= b < len(chunks) and chunks[a].doc_id == chunks[b].doc_id

    _, context_rows = stored.context_vectors.search(query_vector, n, rows)
    covered = [row for r in context_rows.tolist() for row in ((r, r + 1) if same_doc(r, r + 1) else (r,))]
    _add_own_scores(stored, query_vector, covered, best)  # context r = chunk r + chunk r+1
    candidates = np.array(sorted(best), dtype=np.int64)
    if not len(candidates):
        return best
    before = np.array([r - 1 if same_doc(r - 1, r) else r for r in candidates.tolist()], dtype=np.int64)
    after = stored.context_vectors.vectors(candidates) @ query_vector  # this passage + the next
    previous = stored.context_vectors.vectors(before) @ query_vector  # the previous passage + this
    for row, a, b in zip(candidates.tolist(), after.tolist(), previous.tolist(), strict=True):
        own = best[row]
        best[row] = own + CONTEXT_WEIGHT * max(0.0, max(a, b) - own)
    return best


def language_evidence(
    stored: StoredIndex, query_vector: np.ndarray, hits: list[Hit], min_score: float, languages: Iterable[str] | None
) -> list[Hit]:
    """`hits` plus, for each corpus language they miss, its best passage if that clears `min_score`.

    Several languages may make the same point; this keeps one language from crowding out the others.
    """
    wanted = sorted(set(languages) if languages is not None else set(stored.language_centroids))
    present = {h.lang for h in hits} | {
        stored.documents[t].lang for h in hits for t in stored.translations(h.doc_id)
    }
    extra: list[Hit] = []
    for lang in wanted:
        if lang in present:
            continue
        best = dense_search(stored, query_vector, 1, [lang])
        if best and best[0].score >= min_score:
            extra.append(replace(best[0], rank=len(hits) + len(extra) + 1))
    return hits + extra
