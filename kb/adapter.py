"""The question adapter: a linear map on the question vector, fitted to each corpus at rebuild time.

The model stays the same; what is learned is how this corpus's questions relate to its passages.
The signal is the corpus's own structure, without any labelled question: each article title and
each section heading, read as a question, should find the passages it stands above among all the
corpus's passages (InfoNCE over the corpus, as in contrastive retrieval training; Karpukhin et al.
2020), with the map kept near the identity. Help-centre test hit@5 / MRR 0.785 / 0.662 -> 0.820 /
0.688; description-style questions (not titles) 0.762 -> 0.793 (docs/measurements.md).

A map of dim x dim numbers needs examples: a corpus with fewer than MIN_QUERIES titles and headings
gets none (on the five bundled articles, 25 of them, a fitted map lost 0.09 MRR).

The adapted question's cosines sit on another scale than the model's (the map removes the direction
all vectors share), while the `confident` threshold and the answer's margins are set on the model's
scale: `scale` and `shift` put them back on it, matched on the best passage of each training question.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

# Tuned on the help-centre dev set (`python bench/adapter.py`; docs/measurements.md): hit@5 0.796 ->
# 0.831. Penalty 0.001-0.03 and temperature 0.05-0.15 all gave 0.822-0.831, temperature 0.02 lost
# (0.777); 300 steps at 1e-3 gave the same as 100 at 3e-3, in 3.5 times as long.
PENALTY = 0.003  # weight of the squared distance of the map from the identity
TEMPERATURE = 0.1
STEPS = 100
LEARNING_RATE = 3e-3
MIN_QUERIES = 300
# Questions and passages in one step; a larger corpus is sampled (each step: its own draw, seeded)
QUERY_BATCH = 2048
PASSAGE_BATCH = 8192
SEED = 34


@dataclass(frozen=True)
class Adapter:
    """The map (`matrix`, dim x dim) and the scale its cosines are put back on (`scale` x c + `shift`)."""

    matrix: np.ndarray
    scale: float = 1.0
    shift: float = 0.0

    @classmethod
    def none(cls, dim: int) -> Adapter:
        return cls(np.eye(dim, dtype=np.float32))

    @functools.cached_property  # asked at every search: the comparison with the identity once
    def fitted(self) -> bool:
        return not (self.scale == 1.0 and self.shift == 0.0 and np.array_equal(self.matrix, np.eye(len(self.matrix))))

    def adapt(self, vector: np.ndarray) -> np.ndarray:
        """A (language-neutral, unit) question vector mapped, unit length again."""
        if not self.fitted:
            return vector
        out = self.matrix @ vector
        return (out / max(float(np.linalg.norm(out)), 1e-12)).astype(np.float32)

    def calibrated(self, cosines: np.ndarray) -> np.ndarray:
        """Cosines of an adapted question, on the model's scale."""
        return (self.scale * cosines + self.shift).astype(np.float32) if self.fitted else cosines

    def to_array(self) -> np.ndarray:
        """As stored: (dim + 1, dim), the last row [scale, shift, 0, ...]."""
        last = np.zeros((1, self.matrix.shape[1]), dtype=np.float32)
        last[0, :2] = self.scale, self.shift
        return np.concatenate([self.matrix.astype(np.float32), last])

    @classmethod
    def from_array(cls, array: np.ndarray) -> Adapter:
        array = np.asarray(array, dtype=np.float32)
        return cls(array[:-1].copy(), float(array[-1, 0]), float(array[-1, 1]))


def fit_adapter(
    queries: np.ndarray,
    positives: list[np.ndarray],
    passages: np.ndarray,
    started: Callable[[], None] = lambda: None,
) -> Adapter:
    """The map that makes each of `queries` (unit vectors, n x dim) find its `positives` (rows of
    `passages`, unit vectors) among all `passages`; no map when there are fewer than MIN_QUERIES.
    The same input gives the same map (full batches, or a seeded draw). `started` is called when a
    fit begins (for a progress display)."""
    dim = passages.shape[1]
    keep = [i for i, rows in enumerate(positives) if len(rows)]
    if len(keep) < MIN_QUERIES:
        return Adapter.none(dim)
    import torch  # lazy: only a rebuild fits

    started()

    matrix = _fit(torch, queries[keep], [positives[i] for i in keep], passages)
    # put the adapted cosines back on the model's scale: match the mean and spread of each
    # question's best positive passage
    before, after = _best_positive(queries[keep], positives, keep, passages, np.eye(dim, dtype=np.float32), matrix)
    scale = float(np.float32(before.std() / max(after.std(), 1e-6)))  # as stored: float32
    return Adapter(matrix, scale, float(np.float32(before.mean() - scale * after.mean())))


def _fit(torch: Any, queries: np.ndarray, positives: list[np.ndarray], passages: np.ndarray) -> np.ndarray:
    dim = passages.shape[1]
    q_all, p_all = (
        torch.from_numpy(np.ascontiguousarray(queries, np.float32)),
        torch.from_numpy(np.ascontiguousarray(passages, np.float32)),
    )
    owner = np.repeat(np.arange(len(positives)), [len(p) for p in positives])
    pos_rows = np.concatenate(positives)
    generator = np.random.default_rng(SEED)
    eye = torch.eye(dim)
    weights = torch.eye(dim, requires_grad=True)
    optimizer = torch.optim.Adam([weights], lr=LEARNING_RATE)
    for _ in range(STEPS):
        if len(queries) <= QUERY_BATCH:
            batch = np.arange(len(queries))
        else:
            batch = np.sort(generator.choice(len(queries), QUERY_BATCH, replace=False))
        if len(passages) <= PASSAGE_BATCH:
            columns = np.arange(len(passages))
        else:
            mine = pos_rows[np.isin(owner, batch)]
            columns = np.union1d(mine, generator.choice(len(passages), PASSAGE_BATCH, replace=False))
        where = np.full(len(passages), -1)
        where[columns] = np.arange(len(columns))
        mask = torch.zeros(len(batch), len(columns), dtype=torch.bool)
        for i, query in enumerate(batch.tolist()):
            mask[i, where[positives[query]]] = True
        mapped = torch.nn.functional.normalize(q_all[batch] @ weights.T, dim=1)
        logits = mapped @ p_all[columns].T / TEMPERATURE
        loss = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~mask, -1e9), 1)).mean()
        loss = loss + PENALTY * ((weights - eye) ** 2).sum()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return weights.detach().numpy().astype(np.float32)


def _best_positive(
    queries: np.ndarray,
    positives: list[np.ndarray],
    keep: list[int],
    passages: np.ndarray,
    *matrices: np.ndarray,
) -> list[np.ndarray]:
    """Per matrix, each query's best cosine to one of its positive passages, the query mapped by it."""
    out = []
    for matrix in matrices:
        mapped = queries @ matrix.T
        mapped /= np.maximum(np.linalg.norm(mapped, axis=1, keepdims=True), 1e-12)
        out.append(np.array([float((passages[positives[i]] @ q).max()) for q, i in zip(mapped, keep, strict=True)]))
    return out
