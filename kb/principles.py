"""The principles of the corpus: groups of passages, across languages and articles, that make the same point."""

from __future__ import annotations

import numpy as np

from .answer import cite
from .index import Index
from .types import Citation, Principle

LANGUAGE_DEBIAS = 0.6  # share of its language's mean vector taken off each passage vector
SAME_PRINCIPLE = 0.60  # passages of different works this similar (language effect removed) make the same point
SAME_TEXT = 0.85  # this similar: the same text (a translation); joins the group of its counterpart
# The overview compares every pair of the passages it groups: beyond this many it groups an even sample,
# then gives each group every passage of the corpus as close to its first (the full GNOME help centre,
# 1,338 help-centre articles: 0.66-1.06 s instead of 6.35 s; docs/measurements.md).
MAX_PASSAGES = 4_000
MAX_GROUPS = 200  # groups formed, most widely made first: the view shows 10
# A principle is a claim, stated in a sentence: a passage of fewer words, a table row or a heading
# alone makes none (on a help centre these were most "principles": "| Sposta il cursore nel piè di pagina.").
# ... and its passages make it together: at least this share of their pairs from different works are as
# close as SAME_PRINCIPLE. Groups around a hub passage fall below it (help centre: 0.14-0.28 for groups
# of 20-80 how-to articles, "Otwórz ekran podglądu i zacznij pisać Ustawienia."; 5 CX articles: 0.50-0.73).
COHESION = 0.4
MIN_PASSAGE_WORDS = 12
MIN_STATEMENT_WORDS = 6


def find_principles(index: Index, limit: int = 10, threshold: float = SAME_PRINCIPLE) -> list[Principle]:
    """Groups of passages from different works that make the same point, most widely made first.

    Each passage vector has its language's mean vector (times LANGUAGE_DEBIAS) removed, so that
    passages group by what they say rather than by the language they say it in (without this, every
    close pair is two passages in the same language). Unlike `Index.neutral` (used by search),
    this also takes off much of what all passages share, which makes the fixed cosine thresholds
    below meaningful. Only passages that can state a point take part (`_claim`). Then, greedily on
    an even sample of them, the passage with the most still-free neighbours in *other* works
    (cosine ≥ `threshold`) seeds a group with its free neighbours, plus the translations of those
    (cosine ≥ SAME_TEXT); each group is then grown to every passage as close to its seed, and kept
    when it spans two works or more (an article and its translations are one work) and is cohesive
    (COHESION). Groups are ranked by works, then languages, then passages. The statement is the
    sentence nearest the group's mean in the most central passage that can state it.
    """
    claims = np.array([r for r in range(len(index)) if _claim(index, r)], dtype=np.int64)
    if len(claims) < 2:
        return []
    everything = _debiased(index, index.chunk_vectors(claims), [index.lang_of(r) for r in claims.tolist()])
    works_of = np.array([index.work(index.doc_id_of(r)) for r in claims.tolist()])
    sample = np.arange(len(claims))
    if len(sample) > MAX_PASSAGES:
        sample = np.linspace(0, len(claims) - 1, MAX_PASSAGES).astype(np.int64)
    vectors, works = everything[sample], works_of[sample]
    sims = vectors @ vectors.T
    near = sims >= threshold
    np.fill_diagonal(near, False)
    across = (near & (works[:, None] != works[None, :])).astype(np.int32)
    free = np.ones(len(sample), dtype=bool)
    counts = across.sum(axis=1)  # free neighbours in other works, kept up to date as groups form
    seeds: list[int] = []
    while len(seeds) < MAX_GROUPS:
        seed = int(np.argmax(counts * free))
        if not free[seed] or counts[seed] == 0:
            break
        members = np.flatnonzero(near[seed] & free)
        members = np.union1d([seed], members)
        members = np.union1d(members, np.flatnonzero((sims[members] >= SAME_TEXT).any(axis=0) & free))
        free[members] = False
        counts -= across[:, members].sum(axis=1)
        seeds.append(seed)
    # each group grown to every passage of the corpus that can make a point and is as close to its seed as
    # a member (a group found on a sample gets the passages the sample left out), each passage in one group
    taken = np.zeros(len(claims), dtype=bool)
    principles = []
    for seed in seeds:
        closeness = everything @ vectors[seed]
        members = np.flatnonzero((closeness >= threshold) & ~taken)
        members = members[np.argsort(-closeness[members], kind="stable")]  # the seed (most central) first
        taken[members] = True
        group_works = works_of[members]
        cross = group_works[:, None] != group_works[None, :]
        agree = (everything[members] @ everything[members].T >= threshold) & cross
        if cross.any() and agree.sum() >= COHESION * cross.sum():
            principles.append(_principle(index, claims[members], everything[members]))
    principles.sort(key=lambda p: (-p.works, -len(p.languages), -len(p.citations)))
    return principles[:limit]


def _claim(index: Index, row: int) -> bool:
    """Can passage `row` make a point: enough words, not a table row, and a sentence long enough to state it?"""
    chunk = index.chunk(row)
    return (
        len(chunk.text.split()) >= MIN_PASSAGE_WORDS
        and chunk.text.count("|") < 2
        and any(_statement(chunk.text_at(span)) for span in chunk.sentences)
    )


def _statement(sentence: str) -> bool:
    """A sentence that can state a principle (not a heading, a table cell or a fragment)."""
    return len(sentence.split()) >= MIN_STATEMENT_WORDS and "|" not in sentence and not sentence.rstrip().endswith(":")


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
        fit = sentences @ mean if len(sentence_rows) else np.zeros(0)
        if len(fit) == len(chunk.sentences):  # the statement: a sentence that can state a point
            fit[[not _statement(chunk.text_at(span)) for span in chunk.sentences]] = -np.inf
        best = int(np.argmax(fit)) if len(fit) else 0
        start, end = chunk.sentences[best] if chunk.sentences else (chunk.start, chunk.end)
        score = float(vectors[n - 1] @ mean / max(float(np.linalg.norm(mean)), 1e-12))
        citations.append(cite(index, n, chunk.doc_id, start, end, score, chunk.chunk_id))
    return Principle(
        statement=citations[0],
        citations=tuple(citations),
        languages=tuple(sorted({c.lang for c in citations})),
        works=len({index.work(c.doc_id) for c in citations}),
    )
