"""The principles of the corpus: groups of passages, across languages and articles, that make the same point."""

from __future__ import annotations

import numpy as np

from .answer import cite
from .index import Index
from .types import Citation, Principle

LANGUAGE_DEBIAS = 0.6  # share of its language's mean vector taken off each passage vector
SAME_PRINCIPLE = 0.60  # passages of different works this similar (language effect removed) make the same point
SAME_TEXT = 0.85  # this similar: the same text (a translation); joins the group of its counterpart
MAX_PASSAGES = 20_000  # the overview compares every pair of passages: sample beyond this many


def find_principles(index: Index, limit: int = 10, threshold: float = SAME_PRINCIPLE) -> list[Principle]:
    """Groups of passages from different works that make the same point, most widely made first.

    Each passage vector has its language's mean vector (times LANGUAGE_DEBIAS) removed, so that
    passages group by what they say rather than by the language they say it in (without this, every
    close pair is two passages in the same language). Unlike `Index.neutral` (used by search),
    this also takes off much of what all passages share, which makes the fixed cosine thresholds
    below meaningful. Then, greedily, the passage with the most
    still-free neighbours in *other* works (cosine ≥ `threshold`) forms a group with all its free
    neighbours, plus the translations of those (cosine ≥ SAME_TEXT). A group must span at least two
    works (an article and its translations are one work). Groups are ranked by works, then
    languages, then passages. The statement is the sentence nearest the group's mean in the most
    central passage.
    """
    rows = np.arange(len(index))
    if len(rows) > MAX_PASSAGES:
        rows = rows[np.linspace(0, len(rows) - 1, MAX_PASSAGES).astype(np.int64)]
    if len(rows) < 2:
        return []
    vectors = _debiased(index, index.chunk_vectors(rows), [index.lang_of(r) for r in rows.tolist()])
    sims = vectors @ vectors.T
    works = np.array([index.work(index.doc_id_of(r)) for r in rows.tolist()])
    near = sims >= threshold
    np.fill_diagonal(near, False)
    across = near & (works[:, None] != works[None, :])
    free = np.ones(len(rows), dtype=bool)
    groups: list[np.ndarray] = []
    while True:
        counts = (across & free[None, :]).sum(axis=1) * free  # free neighbours in other works
        seed = int(np.argmax(counts))
        if counts[seed] == 0:
            break
        members = np.flatnonzero(near[seed] & free)
        members = np.union1d([seed], members)
        members = np.union1d(members, np.flatnonzero((sims[members] >= SAME_TEXT).any(axis=0) & free))
        free[members] = False
        order = np.argsort(-sims[seed, members])  # the seed (most central) first
        groups.append(members[order])
    principles = [_principle(index, rows[g], vectors[g]) for g in groups]
    principles.sort(key=lambda p: (-p.works, -len(p.languages), -len(p.citations)))
    return principles[:limit]


def _debiased(index: Index, vectors: np.ndarray, langs: list[str]) -> np.ndarray:
    if not len(vectors):
        return vectors
    means = np.stack([index.language_mean(lang) for lang in langs])
    out = vectors - LANGUAGE_DEBIAS * means
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def _principle(index: Index, rows: np.ndarray, vectors: np.ndarray) -> Principle:
    mean = vectors.mean(axis=0)
    citations: list[Citation] = []
    for n, row in enumerate(rows.tolist(), start=1):
        chunk = index.chunk(row)
        sentence_rows = index.sentences_of(np.array([row])).rows
        sentences = _debiased(index, index.sentence_vectors(sentence_rows), [chunk.lang] * len(sentence_rows))
        best = int(np.argmax(sentences @ mean)) if len(sentence_rows) else 0
        start, end = chunk.sentences[best] if chunk.sentences else (chunk.start, chunk.end)
        score = float(vectors[n - 1] @ mean / max(float(np.linalg.norm(mean)), 1e-12))
        citations.append(cite(index, n, chunk.doc_id, start, end, score, chunk.chunk_id))
    return Principle(
        statement=citations[0],
        citations=tuple(citations),
        languages=tuple(sorted({c.lang for c in citations})),
        works=len({index.work(c.doc_id) for c in citations}),
    )
