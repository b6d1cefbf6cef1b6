"""Answer composition: the best evidence sentences of the top hits, as numbered, cited points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Settings
from .store import StoredIndex
from .types import Answer, Citation, Hit

SAME_POINT = 0.90  # sentences this similar say the same thing (often a translation): one point
PARALLEL = 0.80  # the best-aligned sentence of a translation must be at least this similar


@dataclass
class _Candidate:
    hit: Hit
    start: int
    end: int
    score: float
    vector: np.ndarray


def compose_answer(
    question: str,
    query_lang: str,
    query_vector: np.ndarray,
    hits: list[Hit],
    stored: StoredIndex,
    settings: Settings,
    notice: str = "",
) -> Answer:
    """Pick each hit's best sentence, merge near-duplicates into one point, number the citations."""
    sentence_vectors = stored.sentence_vectors
    candidates: list[_Candidate] = []
    for hit in hits:
        row = stored.chunk_row[hit.chunk_id]
        chunk = stored.chunks[row]
        if not chunk.sentences:
            continue
        first = int(stored.first_sentence[row])
        vecs = sentence_vectors.vectors(np.arange(first, first + len(chunk.sentences)))
        sims = vecs @ query_vector
        best = int(np.argmax(sims))
        start, end = chunk.sentences[best]
        candidates.append(_Candidate(hit, start, end, 0.5 * hit.score + 0.5 * float(sims[best]), vecs[best]))
    candidates.sort(key=lambda c: -c.score)

    points: list[list[_Candidate]] = []
    for cand in candidates:
        for point in points:
            if float(point[0].vector @ cand.vector) >= SAME_POINT:
                point.append(cand)
                break
        else:
            if len(points) < settings.answer_points:
                points.append([cand])
            else:  # full: a language not yet heard takes the place of the weakest point of a repeated one
                _balance(points, cand, stored)

    citations: list[Citation] = []
    lines: list[str] = []
    for point in points:
        markers = []
        translated: set[str] = set()  # documents already shown as a parallel of this point
        for cand in point:
            if cand.hit.doc_id in translated:
                continue  # this sentence is a version of one already cited: shown as its parallel
            parallels = _parallels(stored, cand, len(citations) + 1)
            translated.update(p.doc_id for p in parallels)
            citations.append(
                cite(
                    stored,
                    len(citations) + 1,
                    cand.hit.doc_id,
                    cand.start,
                    cand.end,
                    cand.score,
                    cand.hit.chunk_id,
                    tuple(parallels),
                )
            )
            markers.append(f"[{len(citations)}]")
        lines.append(f"{citations[-len(markers)].quote} {''.join(markers)}")
    confident = bool(hits) and max(h.score for h in hits) >= settings.confident_score
    if not lines:
        text = "The knowledge base has nothing on this question."
    elif confident:
        text = "\n".join(f"- {line}" for line in lines)
    else:
        text = "The knowledge base has no passage that clearly answers this. The closest passages:\n" + "\n".join(
            f"- {line}" for line in lines
        )
    return Answer(
        question=question,
        query_lang=query_lang,
        text=text,
        citations=citations,
        confident=confident,
        points=lines,
        hits=hits,
        notice=notice,
    )


def _balance(points: list[list[_Candidate]], cand: _Candidate, stored: StoredIndex) -> None:
    def langs(point: list[_Candidate]) -> set[str]:  # with the languages of its translations (parallels)
        own = {c.hit.lang for c in point}
        return own | {stored.documents[t].lang for c in point for t in stored.translations(c.hit.doc_id)}

    heard = [lang for point in points for lang in langs(point)]
    if cand.hit.lang in heard:
        return
    for i in range(len(points) - 1, -1, -1):  # weakest first
        if len(points[i]) == 1 and all(heard.count(lang) > 1 for lang in langs(points[i])):
            points[i] = [cand]
            return


def cite(
    stored: StoredIndex,
    n: int,
    doc_id: str,
    start: int,
    end: int,
    score: float,
    chunk_id: str = "",
    parallels: tuple[Citation, ...] = (),
) -> Citation:
    doc = stored.documents[doc_id]
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
    )


def _parallels(stored: StoredIndex, cand: _Candidate, n: int) -> list[Citation]:
    """The sentence saying the same thing in each translation of the candidate's article."""
    out = []
    for doc_id in stored.translations(cand.hit.doc_id):
        first, last = stored.doc_sentences.get(doc_id, (0, 0))
        if first == last:
            continue
        sims = stored.sentence_vectors.vectors(np.arange(first, last)) @ cand.vector
        best = int(np.argmax(sims))
        if sims[best] >= PARALLEL:
            start, end = stored.sentence_spans[first + best]
            row = int(stored.sentence_chunk[first + best])
            out.append(cite(stored, n, doc_id, start, end, float(sims[best]), stored.chunks[row].chunk_id))
    return out
