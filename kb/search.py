"""Retrieval: a query vector -> ranked Hits from the chunk index, optionally filtered by language."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .store import StoredIndex
from .types import Hit

PER_DOCUMENT = 2  # passages per article before other articles get a turn
CANDIDATES = 4  # how many times k to fetch before diversifying


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
    """Top-k chunks by cosine similarity, at most `per_document` per article before the rest.

    Without the cap one article (usually the one in the question's own language) fills every
    slot; passages beyond the cap still follow, in score order, when there is room.
    """
    scores, rows = stored.chunk_vectors.search(query_vector, k * CANDIDATES, language_rows(stored, languages))
    first: list[tuple[float, int]] = []
    rest: list[tuple[float, int]] = []
    per_doc: dict[str, int] = {}
    for score, row in zip(scores, rows, strict=True):
        doc_id = stored.chunks[int(row)].doc_id
        per_doc[doc_id] = per_doc.get(doc_id, 0) + 1
        (first if per_doc[doc_id] <= per_document else rest).append((float(score), int(row)))
    hits = []
    for rank, (score, row) in enumerate((first + rest)[:k], start=1):
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
                score=float(score),
                rank=rank,
                heading=chunk.heading,
            )
        )
    return hits
