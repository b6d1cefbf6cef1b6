"""A deterministic stand-in for the embedder, for plumbing tests and harnesses (never for retrieval claims)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable

import numpy as np

from kb.model import Encoded
from kb.types import ModelIdentity, Query


class FakeEmbedder:
    """Deterministic hash-based vectors: for plumbing tests only, never for retrieval claims."""

    def __init__(self, name: str = "fake", dim: int = 16) -> None:
        self.identity = ModelIdentity(name, "0" * 64, dim, {}, True, 512)
        self.passages_embedded = 0

    def _vec(self, text: str) -> np.ndarray:
        seed = int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little")
        v = np.random.default_rng(seed).standard_normal(self.identity.dimension).astype(np.float32)
        return v / np.linalg.norm(v)

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        self.passages_embedded += len(texts)
        return np.array([self._vec(t) for t in texts], dtype=np.float32).reshape(-1, self.identity.dimension)

    def read_passages(
        self,
        texts: list[str],
        token_from: list[int],
        spans: list[list[tuple[int, int]]],
        batch_size: int | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Encoded:
        vectors = self.encode_passages(texts, batch_size)
        dim = self.identity.dimension
        if progress:
            progress(1.0)
        return Encoded(
            vectors=vectors,
            sums=vectors,
            tokens=[self._tokens(t[f:]) for t, f in zip(texts, token_from, strict=True)],
            spans=[
                np.array([self._vec(t[a:b]) for a, b in s], dtype=np.float32).reshape(len(s), dim)
                for t, s in zip(texts, spans, strict=True)
            ],
            token_spans=[_word_spans(t, f, s) for t, f, s in zip(texts, token_from, spans, strict=True)],
        )

    def read_titles(self, titles: list[str], batch_size: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        dim = self.identity.dimension
        vectors = [self._vec("title " + t) if t else np.zeros(dim) for t in titles]
        return np.array(vectors, np.float32).reshape(-1, dim), [self._tokens(t) for t in titles]

    def encode_query(self, text: str) -> Query:
        return Query(self._vec(text), self._tokens(text))

    def _tokens(self, text: str) -> np.ndarray:
        words = text.split()
        return np.array([self._vec(w) for w in words], dtype=np.float32).reshape(len(words), self.identity.dimension)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + text.count(",")

    def truncate_query(self, text: str) -> tuple[str, bool]:
        return text, False

    def warm_up(self) -> None:  # nothing to load
        pass


def _word_spans(text: str, begin: int, spans: list[tuple[int, int]]) -> np.ndarray:
    """The span each word of text[begin:] (a fake token each, as `_tokens` makes them) starts in."""
    starts = np.array([a for a, _ in spans], dtype=np.int64)
    words = [begin + m.start() for m in re.finditer(r"\S+", text[begin:])]
    return np.maximum(np.searchsorted(starts, np.array(words, dtype=np.int64), side="right") - 1, 0)
