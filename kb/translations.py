"""Which documents translate each other, discovered by aligning their sentence vectors (no metadata needed)."""

from __future__ import annotations

import bisect
import re
from collections import Counter
from collections.abc import Iterable, Sequence

import numpy as np

from .types import Document

# Measured on a help centre with every article in up to four languages (bench/translations.py,
# tuned on its dev half, reported on both halves). Sentence vectors are pooled from their passage's
# model pass, so the sentences of one passage share most of their direction: that shared part is
# removed before sentences are aligned (raw vectors aligned 36 % of the true pairs at 0.88).
ALIGNED = 0.5  # a sentence and its translation score at least this cosine, after the passage's part is removed
SHARE = 0.35  # translations: this share of the shorter document's sentences align one-to-one, in order
LENGTH_RATIO = 0.7  # ... and the shorter has at least this share of the longer one's sentences
CANDIDATES = 2  # documents of each other language compared in full with each document (the most similar)
# A translation keeps its numbers: at least this share of the two documents' numbers (as a multiset
# of digit runs) are the same. Pages that differ only in them ("print 7 pages" / "print 11 pages")
# align sentence by sentence as well as translations do (bench/translations.py).
NUMBERS = 0.6
_DIGITS = re.compile(r"\d+")
BLOCK = 1024  # documents whose similarities are computed at once
DISCOVERY = {
    "version": 5,
    "aligned": ALIGNED,
    "share": SHARE,
    "length_ratio": LENGTH_RATIO,
    "candidates": CANDIDATES,
    "numbers": NUMBERS,
}


def discover_translations(
    documents: list[Document], sentence_vectors: list[np.ndarray], passages: list[Sequence[int]]
) -> list[tuple[str, str, float]]:
    """(doc_a, doc_b, share of aligned sentences): the pairs of documents in different languages that
    make them translations of each other (with the `translation_of` headers, each group of linked
    documents is one work). A pair qualifies when the two have a similar number of sentences, a
    share of the shorter one's sentences have a mutual best match in the other, and their numbers
    agree; the qualifying pairs then join works best aligned first, never two documents of one
    language in a work. `sentence_vectors[i]` holds the normalized sentence vectors of
    `documents[i]`, `passages[i]` how many of them each of its passages holds.
    """
    own = [_own_parts(v, counts) for v, counts in zip(sentence_vectors, passages, strict=True)]
    scored = []
    for i, j in sorted(candidate_pairs(documents, sentence_vectors)):
        a, b = own[i], own[j]
        if min(len(a), len(b)) < LENGTH_RATIO * max(len(a), len(b)):
            continue
        share = _aligned_share(a, b)
        if share >= SHARE and _same_numbers(documents[i].body, documents[j].body) >= NUMBERS:
            scored.append((share, i, j))
    return [
        (documents[i].doc_id, documents[j].doc_id, round(share, 3)) for share, i, j in _into_works(scored, documents)
    ]


def works(doc_ids: Iterable[str], links: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The work of each document: documents linked (by `translation_of` headers or discovered pairs),
    directly or through others, form one work, named by its smallest document id. Links to unknown
    documents are ignored."""
    parent = {doc_id: doc_id for doc_id in doc_ids}

    def root(x: str) -> str:
        while parent[x] != x:
            x = parent[x]
        return x

    for a, b in links:
        if a in parent and b in parent:
            ra, rb = root(a), root(b)
            parent[max(ra, rb)] = min(ra, rb)
    return {doc_id: root(doc_id) for doc_id in parent}


def _into_works(scored: list[tuple[float, int, int]], documents: list[Document]) -> list[tuple[float, int, int]]:
    """The pairs (share, i, j) that join works (best share first) or agree with them, skipping any
    that would put two documents of one language in one work. A page and its near-copy (two
    applications' identical "license" pages) both align with a translation; only the better aligned
    is its translation (bench/translations.py: precision 0.93 -> 0.99 on the parallel help centre)."""
    parent = list(range(len(documents)))
    languages = [{d.lang} for d in documents]

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x

    def join(a: int, b: int) -> None:
        parent[b] = a
        languages[a] |= languages[b]

    index = {d.doc_id: n for n, d in enumerate(documents)}
    for n, d in enumerate(documents):  # declared translations are works already
        if d.translation_of in index and root(n) != root(index[d.translation_of]):
            join(root(index[d.translation_of]), root(n))
    joined = []
    for share, i, j in sorted(scored, key=lambda t: (-t[0], t[1], t[2])):
        a, b = root(i), root(j)
        if a == b:  # already one work (declared, or through a third language): agrees with it
            joined.append((share, i, j))
        elif not languages[a] & languages[b]:
            join(a, b)
            joined.append((share, i, j))
    return sorted(joined, key=lambda t: (t[1], t[2]))


def _own_parts(vectors: np.ndarray, passages: Sequence[int]) -> np.ndarray:
    """Each sentence vector less the mean of its passage's sentences (a passage of one sentence: as
    is), normalized: what the sentence says of its own."""
    out = np.array(vectors, dtype=np.float32, copy=True)
    first = 0
    for count in passages:
        if count > 1:
            out[first : first + count] -= out[first : first + count].mean(axis=0)
        first += count
    if first != len(out):
        raise ValueError(f"{len(out)} sentence vectors, but the passages hold {first} sentences")
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def candidate_pairs(documents: list[Document], sentence_vectors: list[np.ndarray]) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, of documents compared in full: for each document and each other language,
    the CANDIDATES documents of that language most similar to it on average (mean sentence vector).

    Taking the nearest documents of any language first and dropping same-language ones after left
    the true partner out for 3 pairs in 4 on a help centre in four languages (its median rank was 74:
    the articles of one's own language are nearer than any translation). Rows are compared a block
    at a time, so memory stays small on a large corpus.
    """
    usable = [i for i, v in enumerate(sentence_vectors) if len(v)]
    if len(usable) < 2:
        return set()
    means = np.stack([sentence_vectors[i].mean(axis=0) for i in usable])
    means /= np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)
    by_language: dict[str, list[int]] = {}
    for row, i in enumerate(usable):
        by_language.setdefault(documents[i].lang, []).append(row)
    pairs: set[tuple[int, int]] = set()
    for lang, rows in by_language.items():
        for other, columns in by_language.items():
            if other == lang:
                continue
            for start in range(0, len(rows), BLOCK):
                block = rows[start : start + BLOCK]
                similar = means[block] @ means[columns].T
                nearest = np.argsort(-similar, axis=1, kind="stable")[:, :CANDIDATES]
                for row, picked in zip(block, nearest.tolist(), strict=True):
                    for col in picked:
                        i, j = usable[row], usable[columns[col]]
                        pairs.add((min(i, j), max(i, j)))
    return pairs


def _same_numbers(a: str, b: str) -> float:
    """Share of the two texts' numbers (digit runs, with repeats) that both have; 1.0 when neither has any."""
    na, nb = Counter(_DIGITS.findall(a)), Counter(_DIGITS.findall(b))
    both = sum((na | nb).values())
    return sum((na & nb).values()) / both if both else 1.0


def _aligned_share(a: np.ndarray, b: np.ndarray) -> float:
    """Share of the shorter document's sentences aligned in order: mutual best matches at cosine
    ALIGNED or more, of which the most that keep the same order in both documents (a translation
    keeps its sentence order; an article on the same topic matches sentences here and there)."""
    sims = a @ b.T
    best_in_b, best_in_a = sims.argmax(axis=1), sims.argmax(axis=0)
    mutual = [int(j) for i, j in enumerate(best_in_b) if best_in_a[j] == i and sims[i, j] >= ALIGNED]
    return _longest_increasing(mutual) / min(len(a), len(b))


def _longest_increasing(values: list[int]) -> int:
    """Length of the longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for v in values:
        k = bisect.bisect_left(tails, v)
        tails[k : k + 1] = [v]
    return len(tails)
