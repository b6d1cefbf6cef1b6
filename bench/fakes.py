"""A deterministic stand-in for the embedder, for plumbing tests and harnesses (never for retrieval claims)."""

from __future__ import annotations

import hashlib

import numpy as np

from kb.types import ModelIdentity


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

    def encode_query(self, text: str) -> np.ndarray:
        return self._vec(text)

    def count_tokens(self, text: str) -> int:
        return len(text.split()) + text.count(",")

    def truncate_query(self, text: str) -> tuple[str, bool]:
        return text, False
