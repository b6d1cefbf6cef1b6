"""Answer composition: the best evidence sentences of the top hits, as numbered, cited points."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import Settings
from .store import StoredIndex
from .types import Answer, Citation, Hit

SAME_POINT = 0.90  # sentences this similar say the same thing (often a translation): one point


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
    chunk_rows: dict[str, int],
    sentence_offsets: dict[str, int],
    settings: Settings,
    notice: str = "",
) -> Answer:
    """Pick each hit's best sentence, merge near-duplicates into one point, number the citations."""
    sentence_vectors = stored.sentence_vectors
    candidates: list[_Candidate] = []
    for hit in hits:
        chunk = stored.chunks[chunk_rows[hit.chunk_id]]
        if not chunk.sentences:
            continue
        first = sentence_offsets[hit.chunk_id]
        vecs = sentence_vectors.index.reconstruct_n(first, len(chunk.sentences))
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

    citations: list[Citation] = []
    lines: list[str] = []
    for point in points:
        markers = []
        for cand in point:
            body = stored.documents[cand.hit.doc_id].body
            citations.append(
                Citation(
                    n=len(citations) + 1,
                    doc_id=cand.hit.doc_id,
                    title=cand.hit.title,
                    lang=cand.hit.lang,
                    quote=body[cand.start : cand.end],
                    start=cand.start,
                    end=cand.end,
                    score=cand.score,
                    chunk_id=cand.hit.chunk_id,
                )
            )
            markers.append(f"[{len(citations)}]")
        lines.append(f"{citations[-len(point)].quote} {''.join(markers)}")
    confident = bool(hits) and hits[0].score >= settings.confident_score
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
