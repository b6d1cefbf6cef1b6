"""Answer composition: the best evidence sentences of the top hits, as numbered, cited points."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from .index import Index
from .messages import DEFAULT, UI_LANGUAGES, Messages
from .search import Ranking
from .types import Answer, Citation, Cut, Hit, Point

SAME_POINT = 0.90  # sentences this similar say the same thing (often a translation): one point
# A cited sentence of fewer words runs on through the next sentence of its passage: "Queremos vivir
# experiencias." says little alone (5-article dev `ask` cites gold 0.745 -> 0.782; check unchanged).
MIN_POINT_WORDS = 6
# A sentence of fewer words just before the cited one, on the same line, introduces it: "Un bel exemple
# en est la musique. Une chanson qui me touche peut ne pas impressionner quelqu'un d'autre…" (5-article
# `ask` cites gold, development / check: 0.909 / 0.822 -> 0.927 / 0.844; help-centre dev unchanged, 0.864).
INTRO_WORDS = 10
# The order of the points: search's. Point 1 is the passage search ranks first (on the help-centre dev
# set, putting a passage whose point scored higher first never placed the answer higher: gold in point 1
# 0.603 in search's order, 0.573 by the points' scores). After it, among passages whose relevance is
# within NEAR of the next in line, those the asker reads first (docs/measurements.md).
NEAR = 0.005
# Confident means point 1 answers: its passage clears the threshold (the caller decides) and no passage
# of another work (an article and its translations are one) comes within RIVAL_MARGIN of it. A rival that
# close means search could not tell which answers: on the help-centre dev set, point 1 was right for 40 %
# of the answers so contested and 73 % of the others; excepting rivals whose sentence point 1 merged
# (SAME_POINT) changed nothing there and made "change the password of the mail / of the bank" agree.
RIVAL_MARGIN = 0.015


@dataclass
class _Candidate:
    hit: Hit
    sentence_row: int
    score: float
    vector: np.ndarray  # the sentence's vector (as stored) to compare it with other sentences


def compose_answer(
    question: str,
    query_lang: str,
    ranking: Ranking,
    hits: list[Hit],
    confident: bool,
    max_points: int,
    cut: Cut | None = None,
    prefer: tuple[str, ...] = (),
    ranked: list[Hit] | None = None,
) -> Answer:
    """Each hit's sentence as `ranking.point` chooses it, near-duplicates merged into one point, citations numbered.

    `confident`: whether the question's best-ranked passage clears the threshold (as `search` ranks
    it), decided by the caller; the answer is confident if so, and it has points, and no passage of
    `ranked` (search's first hits; else `hits`) is a rival (`_rival`): else it is `contested`. A
    not-confident answer says so first, in the asker's language. `prefer`: the languages
    the asker reads, best first (the question's, then the interface's): among points of near-equal
    relevance theirs come first, and a point whose sentence has a version in one of them leads with it."""
    index = ranking.index
    candidates: list[_Candidate] = []
    for hit in hits:
        sentence_row, sentence_score = ranking.point(index.row_of(hit.chunk_id))
        if sentence_row < 0:  # no sentence, or only boilerplate
            continue
        vector = index.sentence_vectors(np.array([sentence_row]))[0]
        score = 0.5 * hit.score + 0.5 * sentence_score
        candidates.append(_Candidate(hit, sentence_row, score, vector))
    candidates = _ordered(index, candidates, prefer)

    groups: list[list[_Candidate]] = []
    for cand in candidates:
        for group in groups:
            if float(group[0].vector @ cand.vector) >= SAME_POINT:
                group.append(cand)
                break
        else:
            if len(groups) < max_points:
                groups.append([cand])
            else:  # full: a language not yet heard takes the place of the weakest point of a repeated one
                _balance(index, groups, cand)

    citations: list[Citation] = []
    points: list[Point] = []
    quoted: set[tuple[str, int]] = set()  # (document, sentence start) of every quote and parallel so far
    for group in groups:
        cited: list[Citation] = []
        translated: set[str] = set()  # documents already shown as a parallel of this point
        for cand in group:
            start, end = index.sentence_span(cand.sentence_row, MIN_POINT_WORDS, INTRO_WORDS)
            if cand.hit.doc_id in translated or (cand.hit.doc_id, start) in quoted:
                continue  # a version of a sentence already cited (here or as a parallel): not twice
            n = len(citations) + 1
            parallels = tuple(_parallels(index, cand, n, ranking.languages))
            translated.update(p.doc_id for p in parallels)
            citation = cite(index, n, cand.hit.doc_id, start, end, cand.score, cand.hit.chunk_id, parallels)
            citation = _lead_in(citation, prefer)
            quoted.update((c.doc_id, c.start) for c in (citation, *parallels))
            citations.append(citation)
            cited.append(citation)
        if cited:
            points.append(Point(text=cited[0].quote, citations=tuple(cited)))
    contested = confident and bool(points) and _rival(index, ranked if ranked is not None else hits)
    confident = confident and bool(points) and not contested
    lines = [f"- {p.text} {p.markers}" for p in points]
    says = Messages(next((lang for lang in prefer if lang in UI_LANGUAGES), DEFAULT))  # the asker's language
    doubt = says("contested" if contested else "not_clear")
    text = says("nothing") if not points else "\n".join(lines if confident else [doubt, *lines])
    return Answer(
        question=question,
        query_lang=query_lang,
        text=text,
        citations=citations,
        confident=confident,
        points=points,
        hits=hits,
        cut=cut,
        contested=contested,
    )


def _rival(index: Index, hits: list[Hit]) -> bool:
    """Is there a passage of another work within RIVAL_MARGIN of the best one?"""
    work = index.work(hits[0].doc_id) if hits else ""
    return any(h.score >= hits[0].score - RIVAL_MARGIN and index.work(h.doc_id) != work for h in hits[1:])


def _ordered(index: Index, candidates: list[_Candidate], prefer: tuple[str, ...]) -> list[_Candidate]:
    """Search's order (the candidates come in it); after the first, among candidates of near-equal
    relevance to the next in line, one in (or translated into) the asker's best language first."""

    def reads(cand: _Candidate) -> int:  # the rank of the best preferred language it can be shown in
        langs = {cand.hit.lang} | {index.document_langs[t] for t in index.translations(cand.hit.doc_id)}
        return min((i for i, lang in enumerate(prefer) if lang in langs), default=len(prefer))

    left, out = list(candidates), candidates[:1]
    del left[:1]
    while left:
        near = [c for c in left if abs(c.hit.score - left[0].hit.score) <= NEAR]
        chosen = min(near, key=lambda c: (reads(c), left.index(c)))
        left.remove(chosen)
        out.append(chosen)
    return out


def _lead_in(citation: Citation, prefer: tuple[str, ...]) -> Citation:
    """The citation led by its version in the asker's best language, when it has one (a translation)."""
    versions = (citation, *citation.parallels)
    for lang in prefer:
        if citation.lang == lang:
            return citation
        lead = next((v for v in citation.parallels if v.lang == lang), None)
        if lead is not None:
            others = tuple(v for v in versions if v is not lead)
            return replace(lead, parallels=tuple(replace(v, parallels=()) for v in others))
    return citation


def _balance(index: Index, groups: list[list[_Candidate]], cand: _Candidate) -> None:
    def langs(group: list[_Candidate]) -> set[str]:  # with the languages of its translations (parallels)
        own = {c.hit.lang for c in group}
        return own | {index.document(t).lang for c in group for t in index.translations(c.hit.doc_id)}

    heard = [lang for group in groups for lang in langs(group)]
    if cand.hit.lang in heard:
        return
    for i in range(len(groups) - 1, 0, -1):  # weakest first; point 1 stays search's first
        if len(groups[i]) == 1 and all(heard.count(lang) > 1 for lang in langs(groups[i])):
            groups[i] = [cand]
            return


def cite(
    index: Index,
    n: int,
    doc_id: str,
    start: int,
    end: int,
    score: float,
    chunk_id: str = "",
    parallels: tuple[Citation, ...] = (),
) -> Citation:
    """A citation of body[start:end] of a document."""
    doc = index.document(doc_id)
    section = index.section_of(index.row_of(chunk_id), start) if chunk_id else doc.section_at(start)
    return Citation(
        n=n,
        doc_id=doc_id,
        title=doc.title,
        lang=doc.lang,
        quote=doc.body[start:end],
        start=start,
        end=end,
        score=score,
        chunk_id=chunk_id,
        parallels=parallels,
        page=doc.page_at(start),
        section=section,
        source=doc.source or doc.path,
    )


def _parallels(index: Index, cand: _Candidate, n: int, languages: list[str] | None) -> list[Citation]:
    """The sentence saying the same thing in each translation of the candidate's article (only translations
    in `languages` when the question is filtered: "Polish only" shows no French)."""
    out = []
    for doc_id in index.translations(cand.hit.doc_id):
        if languages is not None and index.document_langs[doc_id] not in languages:
            continue
        version = index.version_of(cand.sentence_row, doc_id)
        if version is not None:
            row, cosine = version
            start, end = index.sentence_span(row, MIN_POINT_WORDS, INTRO_WORDS)
            chunk = index.chunk(int(index.sentence_chunk(np.array([row]))[0]))
            out.append(cite(index, n, doc_id, start, end, cosine, chunk.chunk_id))
    return out
