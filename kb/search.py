"""Retrieval: a query vector -> ranked Hits from the chunk index, optionally filtered by language."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from .store import StoredIndex
from .types import Hit


def language_rows(stored: StoredIndex, languages: Iterable[str] | None) -> np.ndarray | None:
    """Rows of chunks in `languages` (None = no filter)."""
    if languages is None:
        return None
    wanted = set(languages)
    return np.array([i for i, c in enumerate(stored.chunks) if c.lang in wanted], dtype=np.int64)


def dense_search(stored: StoredIndex, query_vector: np.ndarray, k: int, languages: Iterable[str] | None = None) -> list[Hit]:
    """Top-k chunks by cosine similarity to the query vector."""
    scores, rows = stored.chunk_vectors.search(query_vector, k, language_rows(stored, languages))
    hits = []
    for rank, (score, row) in enumerate(zip(scores, rows), start=1):
        chunk = stored.chunks[int(row)]
        doc = stored.documents[chunk.doc_id]
        hits.append(
            Hit(
                chunk_id=chunk.chunk_id, doc_id=chunk.doc_id, title=doc.title, lang=chunk.lang,
                text=chunk.text, start=chunk.start, end=chunk.end, score=float(score), rank=rank,
                heading=chunk.heading,
            )
        )
    return hits
