"""Which documents translate each other, discovered by aligning their passages (no metadata needed)."""

from __future__ import annotations

import bisect
import functools
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from .language import NUMBER, numbers_in
from .storage.base import DocumentRecord
from .storage.tokens import TokenVectors
from .types import Document

# Measured on a help centre with every article in up to four languages (bench/translations.py: tuned
# on its dev half, reported on both halves) and on the same help centre with every article in one
# language (where every pair found is wrong, or a near-copy).
#
# Passages align when each is the other's best match and their cosine stands out from both
# passages' NEIGHBOURS best matches in the other's language across the corpus (the margin criterion
# of bitext mining, Artetxe & Schwenk 2019): a generic passage ("Click OK.") resembles many and
# aligns with none. No fixed cosine told a free Polish translation (0.84) from a page on the topic.
NEIGHBOURS = 8
MARGIN = 1.0  # cosine over the mean of the two passages' NEIGHBOURS best cosines in the other language
# ... and their lengths keep the proportion of the two documents (within this factor), as a
# translation's paragraphs do (Gale & Church 1993): pages on one topic may share a step word for
# word, not the proportions of the rest.
LENGTH_TOLERANCE = 1.3
PASSAGE_SHARE = 0.5  # translations: this share of the longer document's passages align, in order
# ... and their words agree: the mean over each document's word pieces of the best cosine to one of
# the other's (both ways; the token vectors of the word match, which line words up across
# languages). Pages on one topic share their subject's words, not every word.
WORDS = 0.6
CANDIDATES = 10  # documents of each other language compared in full with each document (the most similar)
# A translation keeps its numbers: at least this share of the two documents' numbers (as a multiset
# of digit runs) are the same. Pages that differ only in them ("print 7 pages" / "print 11 pages")
# align as well as translations do (bench/translations.py). Titles that both name numbers share one:
# the GNOME help's booklet pages ("Folleto de 11 páginas", "Livret de 7 pages") share most of their
# page numbers and were linked (5 pairs on the mixed help centre, none right).
NUMBERS = 0.6
# A translation keeps its sentences in order, so a sentence's version in a translation is the one an
# in-order alignment of the two documents' sentences pairs it with (`align_sentences`). Sentence vectors
# are read within their passage and share its direction: the sentence most like it alone was another
# step of the same passage for one help-centre sentence in five ("Active la opción Teclas Lentas." ->
# "Kliknij Ustawienia."). Pairs gain their cosine over ALIGNED; lower, a sentence has no version there.
ALIGNED = 0.75
ALIGNMENT_WINDOW = 40  # sentences either side of one whose version is sought (`Index.version_of`)
BLOCK = 1024  # documents (or passages) whose similarities are computed at once
TOKEN_BLOCK = 4096  # token vectors of each document compared at once (64 MB of cosines)
DISCOVERY = {
    "version": 8,  # 7, 8: titles that both name numbers, none the same, are not translations
    "neighbours": NEIGHBOURS,
    "margin": MARGIN,
    "length_tolerance": LENGTH_TOLERANCE,
    "passage_share": PASSAGE_SHARE,
    "words": WORDS,
    "candidates": CANDIDATES,
    "numbers": NUMBERS,
}


@dataclass(frozen=True)
class Layout:
    """What discovery reads of one document: its passages' vectors, lengths and token vectors."""

    document: Document
    passages: np.ndarray  # (passages, dim), normalized
    lengths: Sequence[int]  # characters of each passage
    tokens: TokenVectors | np.ndarray  # its passages' token vectors: as stored, or decoded (tokens, dim)

    @classmethod
    def of(cls, record: DocumentRecord) -> Layout:
        lengths = [c.end - c.start for c in record.chunks]
        return cls(record.document, record.chunk_vectors, lengths, record.token_vectors)

    def token_matrix(self) -> np.ndarray:
        if isinstance(self.tokens, np.ndarray):
            return self.tokens
        parts = self.tokens.per_chunk()
        return np.concatenate(parts) if parts else np.zeros((0, self.passages.shape[1]), dtype=np.float32)


def discover_translations(layouts: Sequence[Layout]) -> list[tuple[str, str, float]]:
    """(doc_a, doc_b, share of aligned passages): the pairs of documents in different languages that
    make them translations of each other (with the `translation_of` headers, each group of linked
    documents is one work). A pair qualifies when a share of their passages align one to one, in
    order, in proportion to their lengths (`_aligned_passages`), their words agree (`_word_agreement`)
    and their numbers too; the qualifying pairs then join works, best agreeing words first, never
    two documents of one language in a work.
    """
    documents = [layout.document for layout in layouts]
    usable = [i for i, layout in enumerate(layouts) if len(layout.passages)]
    # An article whose source declares its translation group (a help centre's sync) is never paired by
    # a guess: its group is its work. Its passages still count among its language's for the margins.
    none = np.zeros((0, 1), np.float32)
    searched = [none if layout.document.meta.get("group") else layout.passages for layout in layouts]
    near = dict(zip(usable, _neighbour_cosines([layouts[i] for i in usable]), strict=True))
    tokens = functools.lru_cache(maxsize=1)(lambda i: layouts[i].token_matrix())  # pairs come sorted by i
    scored = []
    for i, j in sorted(candidate_pairs(documents, searched)):
        a, b = layouts[i], layouts[j]
        if _other_numbers(a.document.title, b.document.title):  # "11 pages" / "7 pages": checked first, cheapest
            continue
        share = _aligned_passages(a, b, near[i][b.document.lang], near[j][a.document.lang])
        if share < PASSAGE_SHARE or _same_numbers(a.document.body, b.document.body) < NUMBERS:
            continue
        words = _word_agreement(tokens(i), b.token_matrix())
        if words >= WORDS:
            scored.append((words, share, i, j))
    return [
        (documents[i].doc_id, documents[j].doc_id, round(share, 3)) for _, share, i, j in _into_works(scored, documents)
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


def _into_works(
    scored: list[tuple[float, float, int, int]], documents: list[Document]
) -> list[tuple[float, float, int, int]]:
    """The pairs (score, tie-breaker, i, j) that join works (best first) or agree with them, skipping any
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
    for score, tie, i, j in sorted(scored, key=lambda t: (-t[0], -t[1], t[2], t[3])):
        a, b = root(i), root(j)
        if a == b:  # already one work (declared, or through a third language): agrees with it
            joined.append((score, tie, i, j))
        elif not languages[a] & languages[b]:
            join(a, b)
            joined.append((score, tie, i, j))
    return sorted(joined, key=lambda t: (t[2], t[3]))


def candidate_pairs(documents: list[Document], passage_vectors: list[np.ndarray]) -> set[tuple[int, int]]:
    """Pairs (i, j), i < j, of documents compared in full: for each document and each other language,
    the CANDIDATES documents of that language most similar to it on average (mean passage vector).

    Taking the nearest documents of any language first and dropping same-language ones after left
    the true partner out for 3 pairs in 4 on a help centre in four languages (its median rank was 74:
    the articles of one's own language are nearer than any translation). Rows are compared a block
    at a time, so memory stays small on a large corpus.
    """
    usable = [i for i, v in enumerate(passage_vectors) if len(v)]
    if len(usable) < 2:
        return set()
    means = np.stack([passage_vectors[i].mean(axis=0) for i in usable])
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


def align_sentences(similarity: np.ndarray) -> dict[int, int]:
    """The in-order pairing of two documents' sentences (`similarity`: rows the first's, columns the
    second's cosines) that gains the most cosine over ALIGNED in all, each sentence in one pair at most
    (a free translation may merge, split or leave out sentences): {row: column}."""
    gain = similarity - ALIGNED
    n, m = gain.shape
    best = np.zeros((n + 1, m + 1))  # best[i, j]: the most the first i rows and first j columns gain
    for i in range(1, n + 1):
        paired = np.concatenate(([0.0], best[i - 1, :-1] + gain[i - 1]))
        best[i] = np.maximum.accumulate(np.maximum(best[i - 1], paired))  # skipping a column is free too
    pairs: dict[int, int] = {}
    i, j = n, m
    while i and j:
        if best[i, j] == best[i, j - 1]:
            j -= 1
        elif best[i, j] == best[i - 1, j]:
            i -= 1
        else:  # row i - 1 and column j - 1 are paired (their gain is positive)
            pairs[i - 1] = j - 1
            i, j = i - 1, j - 1
    return pairs


def _other_numbers(a: str, b: str) -> bool:
    """Do both titles name numbers, none of them the same? ("5-8 pagine" / "8 páginas" share one; a
    title that spells its number out names none.)"""
    na, nb = numbers_in(a), numbers_in(b)
    return bool(na) and bool(nb) and not na & nb


def _same_numbers(a: str, b: str) -> float:
    """Share of the two texts' numbers (digit runs, with repeats) that both have; 1.0 when neither has any."""
    na, nb = Counter(NUMBER.findall(a)), Counter(NUMBER.findall(b))
    both = sum((na | nb).values())
    return sum((na & nb).values()) / both if both else 1.0


def _neighbour_cosines(layouts: Sequence[Layout]) -> list[dict[str, np.ndarray]]:
    """Per document and other corpus language: each of its passages' mean cosine to its NEIGHBOURS
    most similar passages of that language (any document)."""
    by_language: dict[str, list[int]] = {}
    for n, layout in enumerate(layouts):
        by_language.setdefault(layout.document.lang, []).append(n)
    stacked = {lang: np.concatenate([layouts[n].passages for n in docs]) for lang, docs in by_language.items()}
    out: list[dict[str, np.ndarray]] = [{} for _ in layouts]
    for lang, docs in by_language.items():
        rows = sum(len(layouts[n].passages) for n in docs)
        for other, vectors in stacked.items():
            if other == lang:
                continue
            k = min(NEIGHBOURS, len(vectors))
            blocks = (stacked[lang][start : start + BLOCK] @ vectors.T for start in range(0, rows, BLOCK))
            means = np.concatenate([-np.partition(-sims, k - 1, axis=1)[:, :k].mean(axis=1) for sims in blocks])
            ends = np.cumsum([len(layouts[n].passages) for n in docs])[:-1]
            for n, part in zip(docs, np.split(means, ends), strict=True):
                out[n][other] = part
    return out


def _aligned_passages(a: Layout, b: Layout, near_a: np.ndarray, near_b: np.ndarray) -> float:
    """Share of the longer document's passages aligned in order: mutual best matches by margin (cosine
    over the mean of the two passages' neighbour cosines, `near_a` / `near_b`) of at least MARGIN, whose
    length ratio is within LENGTH_TOLERANCE of the two documents' ratio."""
    margin = (a.passages @ b.passages.T) / np.maximum((near_a[:, None] + near_b[None, :]) / 2, 1e-3)
    best_in_b, best_in_a = margin.argmax(axis=1), margin.argmax(axis=0)
    la, lb = np.asarray(a.lengths, dtype=np.float64), np.asarray(b.lengths, dtype=np.float64)
    ratio = la.sum() / max(lb.sum(), 1.0)
    aligned = [
        int(j)
        for i, j in enumerate(best_in_b)
        if best_in_a[j] == i
        and margin[i, j] >= MARGIN
        and 1 / LENGTH_TOLERANCE <= la[i] / max(lb[j], 1.0) / ratio <= LENGTH_TOLERANCE
    ]
    return _longest_increasing(aligned) / max(len(la), len(lb))


def _word_agreement(a: np.ndarray, b: np.ndarray) -> float:
    """Mean of the two documents' mean best cosine of each of their token vectors to the other's
    (computed TOKEN_BLOCK × TOKEN_BLOCK at a time: two long articles hold hundreds of thousands)."""
    if not len(a) or not len(b):
        return 0.0
    best_a = np.full(len(a), -1.0, dtype=np.float32)
    best_b = np.full(len(b), -1.0, dtype=np.float32)
    for i in range(0, len(a), TOKEN_BLOCK):
        for j in range(0, len(b), TOKEN_BLOCK):
            cosines = a[i : i + TOKEN_BLOCK] @ b[j : j + TOKEN_BLOCK].T
            np.maximum(best_a[i : i + TOKEN_BLOCK], cosines.max(axis=1), out=best_a[i : i + TOKEN_BLOCK])
            np.maximum(best_b[j : j + TOKEN_BLOCK], cosines.max(axis=0), out=best_b[j : j + TOKEN_BLOCK])
    return float((best_a.mean() + best_b.mean()) / 2)


def _longest_increasing(values: list[int]) -> int:
    """Length of the longest strictly increasing subsequence (patience sorting)."""
    tails: list[int] = []
    for v in values:
        k = bisect.bisect_left(tails, v)
        tails[k : k + 1] = [v]
    return len(tails)
