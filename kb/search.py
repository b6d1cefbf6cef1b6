"""Retrieval: one question scored against the index once; ranked Hits and per-language evidence from that one pass."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .boilerplate import EDGE, is_boilerplate
from .index import Index, segment_max
from .types import Hit, Query

PER_DOCUMENT = 2  # passages per article before other articles get a turn
# A work's second passage is placed as if its relevance were this much lower (its score stays as it is):
# on a large help centre another article's best passage answers more often than one article's second
# (help-centre dev hit@5 / MRR / cross-lingual 0.848 / 0.739 / 0.822 -> 0.857 / 0.745 / 0.833); more
# than 0.01 took the five articles' development MRR below its floor of 0.82 (0.826 -> 0.823 at 0.01).
ANOTHER_PASSAGE = 0.01
CANDIDATES = 4  # how many times k to fetch from each vector set before scoring exactly
# ... and k is taken as at least this, so that the first hit, and whether it is `confident`, are the
# same for every k up to 10 (with 4 candidates, k = 1 missed a better passage for 10 of the 123
# 5-article questions).
FETCH_AT_LEAST = 10
# A passage's score moves this share of the way toward its context's (the passage with its neighbour)
# when that is higher (bench/eval: hit@5 0.873 -> 0.909, MRR@10 0.755 -> 0.771; 0.25-0.75 all help).
CONTEXT_WEIGHT = 0.5
# Weight of the word match (mean over the question's tokens of their best cosine to the passage's
# tokens) added to the meaning match for ranking (bench/eval: 0.25-0.75 all help; docs/measurements.md).
# 0.5 -> 0.3 with the question adapter (issue 34): word pieces match across Romance languages and
# English more than with Polish, whose pages then lose to other languages' (help-centre dev, with
# LEANING 0.35: hit@5 / MRR 0.838 / 0.725 -> 0.848 / 0.739; Polish pages as cross-lingual targets 0.745
# before both changes, 0.773 after; 0.2 gained as much on the help centre but took the 5-article MRR
# under its floor, 0.782).
TOKEN_WEIGHT = 0.3
# A passage's meaning match moves this share of the way toward its article title's match to the
# question when that is higher: help-centre titles are phrased like the questions people ask (help-
# centre dev hit@5 0.729 -> 0.779, MRR 0.592 -> 0.645; test 0.714 -> 0.768, 0.576 -> 0.631; docs/measurements.md).
TITLE_WEIGHT = 0.5
# The relevance gains this times (the word match of its article title (the question's tokens against
# the title's, both read as questions, both ways: `Index.title_word_matches`) - 0.5): help-centre titles
# use the words people ask with. Tuned on the help-centre dev set (hit@5 / MRR 0.772 / 0.652 -> 0.783 /
# 0.676; 0.1: 0.780 / 0.681) within the 5-article floors (development-set MRR 0.857 -> 0.827; 0.1:
# 0.812, under 0.82); test 0.752 / 0.629 -> 0.767 / 0.651 (docs/measurements.md). Read both ways (issue
# 34): help-centre dev hit@5 0.857 -> 0.861, test 0.840 -> 0.846; 0.05 and 0.1 with it: dev 0.862, 0.857.
TITLE_WORDS = 0.07
# Numbers the question names (13 in "Print a 13-page booklet", an error code, a percentage) are what
# tells apart help pages that differ in little else ("14-page booklet", "Booklet of 13-16 pages"), and
# the model reads 13 and 14 as near-synonyms. A passage gains this times the share of the question's
# numbers that its article title names (`numbers_in`): help-centre dev questions with a number (113 of
# 2,296) hit@5 0.558 -> 0.903, all dev 0.861 -> 0.879; 0.03 / 0.05 / 0.1 / 0.2: hit@5 0.872 / 0.879 /
# 0.879 / 0.879, MRR 0.755 / 0.758 / 0.768 / 0.769; numbers in the passage's text too: 0.717 on those
# questions (a booklet page lists many page numbers). Test 0.846 -> 0.866. Questions without a number
# are not touched (docs/measurements.md).
NUMBERS = 0.1
# Languages the question leans to: a passage loses this times (the mean relevance of its language's
# LEANING_TOP best candidates - the mean of those means over the languages), the candidates being
# those a search for 10 scores. A question sits closer to some languages than to others whatever it
# asks (Polish questions to Polish pages, Romance-language ones to Romance pages); its own scores
# say how much, for any question language, without labels (as CSLS does for hubs; Conneau et al. 2018).
# Taken before OWN_LANGUAGE, which stays a correction of its own. Help-centre dev hit@5 / MRR /
# cross-lingual hit@5 0.783 / 0.676 / 0.742 -> 0.796 / 0.689 / 0.760 (Polish pages as targets 0.686
# -> 0.710, Italian 0.656 -> 0.711), test 0.767 / 0.651 / 0.726 -> 0.785 / 0.662 / 0.752; 5-article
# development MRR 0.827 -> 0.860 (0.5: 0.830; 0.75, measured with OWN_LANGUAGE inside: 0.771, under
# its floor; docs/measurements.md). 0.25 -> 0.35 with the question adapter and TOKEN_WEIGHT 0.3 (issue 34,
# chosen on the help-centre dev split within the 5-article floors; docs/measurements.md).
LEANING = 0.35
LEANING_TOP = 5
# The word match is computed for the WORD_MATCHED candidates of a batch with the best meaning match;
# the rest get the lowest of their word matches. Below them it mostly added noise (help-centre dev
# hit@5 / MRR 0.794 / 0.653 -> 0.799 / 0.655 at 48; 32 lost a question of the 5-article development
# set), and it was a third of a search's time at 10k articles (~106 candidates, ~4,300 tokens).
WORD_MATCHED = 48
# Passages in the question's own language start ahead for reasons other than relevance: the word
# match rewards identical tokens (names, function words) and the vectors keep some of their
# language. A passage in the question's language loses this much, unless its article has
# translations (then the question's language is one of its versions, and should stay first).
# Help-centre dev hit@5 / MRR 0.724 / 0.597 -> 0.773 / 0.654 (cross-lingual 0.668 -> 0.731); on a
# corpus with every article in every language the top hit stays in the question's language (docs/measurements.md).
OWN_LANGUAGE = 0.03
# A question in a language no article of the corpus is written in (German or English questions of a
# help centre in Spanish, French, Italian and Polish) keeps its language's direction after
# `Index.neutral`, which removes only those that tell the corpus's languages apart: it scores lower
# against every passage, and its answers fell under the `confident` threshold more often. That
# direction is removed too (`Index.foreign_direction`; measured once for the default model by
# bench/question_languages.py). Help-centre dev / test, German questions in scope 0.886 / 0.877 ->
# 0.933 / 0.928, English 0.967 / 0.947 -> 0.974 / 0.961, off-topic not confident 1.000 in every
# language; hit@5 0.879 / 0.866 -> 0.879 / 0.865 (docs/measurements.md).
FOREIGN_QUESTIONS = True
# The sentence an answer cites of a passage: its cosine to the question, plus these weights times its
# word match (the question's tokens against the token vectors read in that sentence) and the cosine of
# its own part (its vector less the mean of its passage's sentences: vectors pooled from one pass
# share most of their direction, 0.885-0.897 for all eight bullets of one list). 5-article `ask`
# cites gold, development / check: 0.782 / 0.778 -> 0.891 / 0.822 (docs/measurements.md).
POINT_WORDS = 0.5
POINT_OWN = 0.5


@dataclass(frozen=True)
class Scored:
    """How well one chunk answers the question."""

    row: int
    score: float  # the relevance: Hit.score


class Ranking:
    """One question against one index. Each chunk is scored once, whoever asks: the ranked hits,
    the best passage of a language the hits miss, and the answer's choice of sentences."""

    def __init__(
        self,
        index: Index,
        query: Query,
        languages: Iterable[str] | None = None,
        query_lang: str = "",
        numbers: frozenset[str] = frozenset(),
    ) -> None:
        """`query_lang`: the question's language, if known (its passages lose OWN_LANGUAGE); `numbers`:
        the numbers it names (`numbers_in` of its text; passages whose title names them gain NUMBERS)."""
        self.index = index
        self.query = query
        self.query_lang = query_lang
        self.numbers = numbers
        self.languages = None if languages is None else sorted(set(languages))
        # the question without its language directions, as titles (read as questions) are compared to
        # it; passages, sentences and contexts to it mapped by the corpus's question adapter
        vector = query.vector
        foreign = index.foreign_direction(query_lang) if FOREIGN_QUESTIONS and query_lang else None
        if foreign is not None:  # a language no article is written in: its own direction goes too
            vector = vector - float(vector @ foreign) * foreign
        self._plain_query = index.neutral(vector)
        self._neutral_query = index.adapter.adapt(self._plain_query)
        self._scored: dict[int, Scored] = {}
        self._leaning: dict[str, float] | None = None  # per language, what its passages lose (`_lean`)
        self._relevant: dict[int, float] = {}  # relevance before `_lean`, of the rows `_lean` read
        self._everywhere: np.ndarray | None = None  # the candidates of a search for 10 in every language
        self._points: dict[int, tuple[int, float]] = {}
        self._token_cosines: dict[int, np.ndarray] = {}  # per chunk row word-matched: its tokens × the question's

    def scored(self, row: int) -> Scored:
        """The score of a chunk row (computed now if no one asked before)."""
        if row not in self._scored:
            self._score(np.array([row], dtype=np.int64))
        return self._scored[row]

    def top(self, k: int, per_document: int = PER_DOCUMENT) -> list[Hit]:
        """Top-k chunks, at most `per_document` per work (an article with its translations) before the rest.

        `Hit.score` is the relevance: the weighted mean of the meaning match (`_meaning`, on
        language-neutral vectors: `Index.neutral`) and the word match (`_word_match`), weights
        1 and TOKEN_WEIGHT, less OWN_LANGUAGE for a passage in the question's own language, plus
        TITLE_WORDS x (its title's word match - 0.5), plus NUMBERS x the share of the question's numbers
        its title names, less how far the question leans to its
        language (`_lean`). The `confident` threshold is set on it.

        Without the per-work cap one article (usually the one in the question's own language)
        fills every slot; passages beyond the cap still follow, in score order, when there is room. A
        work's second passage is placed as if ANOTHER_PASSAGE less relevant (its score is not changed).
        """
        n = max(k, FETCH_AT_LEAST) * CANDIDATES
        if self.languages is None and n == FETCH_AT_LEAST * CANDIDATES:
            rows = self._candidates_everywhere()  # the same search the leaning read
        else:
            rows = self.index.nearest(self._neutral_query, n, self.languages)
        scored = self._score(rows)
        first: list[tuple[float, Scored]] = []
        rest: list[Scored] = []
        per_work: dict[str, int] = {}
        for s in sorted(scored, key=lambda s: -s.score):  # stable: ties keep row order
            work = self.index.work(self.index.doc_id_of(s.row))
            nth = per_work[work] = per_work.get(work, 0) + 1
            if nth <= per_document:
                first.append((s.score - ANOTHER_PASSAGE * (nth - 1), s))
            else:
                rest.append(s)
        first.sort(key=lambda placed: -placed[0])  # stable too
        ordered = [s for _, s in first] + rest
        return [self.hit(s, rank) for rank, s in enumerate(ordered[:k], start=1)]

    def best_in(self, lang: str) -> Scored | None:
        """The best-scoring chunk in one language."""
        scored = self._score(self.index.nearest(self._neutral_query, CANDIDATES, [lang]))
        return min(scored, key=lambda s: (-s.score, s.row), default=None)

    def point(self, row: int) -> tuple[int, float]:
        """The sentence of chunk `row` an answer cites (row, its cosine to the question); -1 if it has
        none but boilerplate (a greeting, a call to action… at the article's edge: kb/boilerplate.py).

        Not simply the sentence most like the question (the one that scores the passage, `_meaning`):
        the sentences of one passage share their passage's direction, so this one is chosen on what
        each sentence says on its own and on the question's words in it too."""
        if row not in self._points:
            index, q = self.index, self._neutral_query
            sentences = index.sentences_of(np.array([row])).rows
            if not len(sentences):
                self._points[row] = (-1, -1.0)
                return self._points[row]
            vectors = index.neutral(index.sentence_vectors(sentences))
            cosines = index.adapter.calibrated(vectors @ q)
            own = vectors - vectors.mean(axis=0) if len(sentences) > 1 else vectors
            own /= np.maximum(np.linalg.norm(own, axis=1, keepdims=True), 1e-12)
            if row not in self._token_cosines:
                self._word_match(np.array([row]))
            words = index.sentence_word_matches(row, self._token_cosines.get(row, np.zeros((0, 0), np.float32)))
            choice = cosines + POINT_WORDS * words + POINT_OWN * (own @ q)
            choice[self._boilerplate(row, sentences)] = -np.inf
            best = int(np.argmax(choice))
            self._points[row] = (int(sentences[best]), float(cosines[best])) if choice[best] > -np.inf else (-1, -1.0)
        return self._points[row]

    def _boilerplate(self, row: int, sentences: np.ndarray) -> np.ndarray:
        """Which of chunk `row`'s sentences speak to the reader about the page (checked in the first
        and last EDGE passages of its article only)."""
        index = self.index
        doc_id = index.doc_id_of(row)
        rows = index.rows_of_document(doc_id)
        if len(rows) > 2 * EDGE and rows[EDGE - 1] < row < rows[-EDGE]:
            return np.zeros(len(sentences), dtype=bool)
        body = index.document(doc_id).body
        return np.array([is_boilerplate(body[slice(*index.sentence_span(int(s)))]) for s in sentences.tolist()])

    def hit(self, s: Scored, rank: int) -> Hit:
        chunk = self.index.chunk(s.row)
        doc = self.index.document(chunk.doc_id)
        return Hit(
            chunk_id=chunk.chunk_id,
            doc_id=chunk.doc_id,
            title=doc.title,
            lang=chunk.lang,
            text=chunk.text,
            start=chunk.start,
            end=chunk.end,
            score=s.score,
            rank=rank,
            heading=chunk.heading,
            page=doc.page_at(chunk.start),
            section=self.index.section_of(s.row, chunk.start),
        )

    def _score(self, rows: np.ndarray) -> list[Scored]:
        """Scores of `rows` (sorted, unique), computing only those not scored yet, in one batch."""
        new = np.array([r for r in rows.tolist() if r not in self._scored], dtype=np.int64)
        if len(new):
            leaning = self._lean()
            todo = np.array([r for r in new.tolist() if r not in self._relevant], dtype=np.int64)
            self._relevant.update(zip(todo.tolist(), self._relevance(todo).tolist(), strict=True) if len(todo) else ())
            own = OWN_LANGUAGE * self._own_language(new)
            for i, row in enumerate(new.tolist()):
                lean = leaning.get(self.index.lang_of(row), 0.0)
                self._scored[row] = Scored(row, self._relevant[row] - float(own[i]) - lean)
        return [self._scored[r] for r in rows.tolist()]

    def _relevance(self, rows: np.ndarray) -> np.ndarray:
        """Per chunk row, the relevance before the corrections for the question's language (OWN_LANGUAGE,
        LEANING)."""
        meaning = self._meaning(rows)
        scores = (meaning + TOKEN_WEIGHT * self._word_matches(rows, meaning)) / (1 + TOKEN_WEIGHT)
        return scores + TITLE_WORDS * (self._title_words(rows) - 0.5) + NUMBERS * self._numbers_named(rows)

    def _lean(self) -> dict[str, float]:
        """Per language, what its passages lose for this question (LEANING), from the candidates a search
        for 10 in every language scores (before OWN_LANGUAGE), so that it is the same whatever k or
        languages a caller asks for."""
        if self._leaning is None:
            rows = self._candidates_everywhere()
            self._relevant.update(zip(rows.tolist(), self._relevance(rows).tolist(), strict=True))
            best: dict[str, list[float]] = {}
            for row in rows.tolist():
                best.setdefault(self.index.lang_of(row), []).append(self._relevant[row])
            means = {lang: float(np.mean(sorted(s)[-LEANING_TOP:])) for lang, s in best.items() if len(s) >= 2}
            center = float(np.mean(list(means.values()))) if means else 0.0
            self._leaning = {lang: LEANING * (m - center) for lang, m in means.items()}
        return self._leaning

    def _candidates_everywhere(self) -> np.ndarray:
        """The chunk rows a search for 10 in every language scores (looked up once per question)."""
        if self._everywhere is None:
            self._everywhere = self.index.nearest(self._neutral_query, FETCH_AT_LEAST * CANDIDATES)
        return self._everywhere

    def _title_words(self, rows: np.ndarray) -> np.ndarray:
        """Per chunk row, the word match of its article's title (0.5, no change, for a title without one)."""
        if not len(self.query.tokens):
            return np.full(len(rows), 0.5, dtype=np.float32)
        return np.nan_to_num(self.index.title_word_matches(self.query.tokens, rows), nan=0.5)

    def _numbers_named(self, rows: np.ndarray) -> np.ndarray:
        """Per chunk row, the share of the question's numbers its article title names (0 for a question without)."""
        if not self.numbers:
            return np.zeros(len(rows), dtype=np.float32)
        index = self.index
        named = [len(self.numbers & index.title_numbers(index.doc_id_of(r))) for r in rows.tolist()]
        return np.array(named, dtype=np.float32) / len(self.numbers)

    def _own_language(self, rows: np.ndarray) -> np.ndarray:
        """1.0 for rows in the question's language whose article has no translation, else 0.0."""
        index, lang = self.index, self.query_lang
        return np.array(
            [index.lang_of(r) == lang and not index.translations(index.doc_id_of(r)) for r in rows.tolist()],
            dtype=np.float32,
        )

    def _meaning(self, rows: np.ndarray) -> np.ndarray:
        """Per chunk row: the higher of its cosine and its best sentence's, moved CONTEXT_WEIGHT of the way
        toward its context's (the passage read with its neighbour, before or after) when that is higher,
        then TITLE_WEIGHT of the way toward its article title's when that is higher.

        A passage that answers the question in one sentence is not diluted by the rest of its paragraph
        (bench/eval: hit@5 0.71 -> 0.86); one that needs its neighbour to make sense is found through the
        context. All vectors lose their language directions first (`Index.neutral`).
        """
        index, q = self.index, self._neutral_query
        sentences = index.sentences_of(rows)
        after, before = index.contexts_around(rows)
        calibrated = index.adapter.calibrated  # the adapted question's cosines on the model's scale
        own = calibrated(index.neutral(index.chunk_vectors(rows)) @ q)
        sentence_scores = calibrated(index.neutral(index.sentence_vectors(sentences.rows)) @ q)
        best_sentence = np.full(len(rows), -1.0, dtype=np.float32)
        np.maximum.at(best_sentence, sentences.owner, sentence_scores)
        best = np.maximum(own, best_sentence)
        context = calibrated(np.maximum(index.neutral(after) @ q, index.neutral(before) @ q))
        meaning = best + CONTEXT_WEIGHT * np.maximum(0.0, context - best)
        title = index.title_vectors(rows) @ self._plain_query
        return meaning + TITLE_WEIGHT * np.maximum(0.0, title - meaning)

    def _word_matches(self, rows: np.ndarray, meaning: np.ndarray) -> np.ndarray:
        """The word match of the WORD_MATCHED rows with the best `meaning`; the others get the lowest of those."""
        if len(rows) <= WORD_MATCHED:
            return self._word_match(rows)
        best = np.sort(np.argsort(-meaning, kind="stable")[:WORD_MATCHED])
        matched = self._word_match(rows[best])
        words = np.full(len(rows), matched.min(), dtype=np.float32)
        words[best] = matched
        return words

    def _word_match(self, rows: np.ndarray) -> np.ndarray:
        """Per chunk row: the mean over the question's token vectors of the best cosine to one of the
        chunk's token vectors (late interaction, as in ColBERT; Khattab & Zaharia 2020). Token vectors
        of a multilingual encoder align words across languages ("patience" ~ "pazienza"), which is what
        BM25 cannot do for questions asked in another language than the passage."""
        query_tokens = self.query.tokens
        if not len(query_tokens):
            return np.zeros(len(rows), dtype=np.float32)
        cosines, starts, counts = self.index.token_cosines(query_tokens, rows)  # (candidate tokens, question tokens)
        for row, start, count in zip(rows.tolist(), starts.tolist(), counts.tolist(), strict=True):
            self._token_cosines[row] = cosines[start : start + count]  # the answer's choice of sentence reads them
        return segment_max(cosines, counts).mean(axis=1)  # (rows, question tokens) -> rows


def language_evidence(ranking: Ranking, hits: list[Hit], min_score: float) -> list[Hit]:
    """`hits` plus, for each wanted language they miss, its best passage if that clears `min_score`.

    Several languages may make the same point; this keeps one language from crowding out the others.
    Passages are scored by the same `Ranking` (each chunk once).
    """
    index = ranking.index
    wanted = ranking.languages if ranking.languages is not None else index.languages
    present = {h.lang for h in hits} | {index.document(t).lang for h in hits for t in index.translations(h.doc_id)}
    extra: list[Hit] = []
    for lang in wanted:
        if lang in present:
            continue
        best = ranking.best_in(lang)
        if best is not None and best.score >= min_score:
            extra.append(ranking.hit(best, rank=len(hits) + len(extra) + 1))
    return hits + extra
