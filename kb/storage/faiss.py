"""FAISS for the files store: inner-product search over L2-normalized float32 vectors, exact or HNSW by size."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import REBUILD_HINT, IndexUnusable
from ..types import IndexSpec
from .base import plan_filter


class VectorIndex:
    """Inner-product search over L2-normalized vectors, in one of two FAISS layouts chosen by size.

    - "flat" (IndexFlatIP): exact; used up to `spec.exact_max` vectors, where scanning them all is cheap.
    - "hnsw" (IndexHNSWFlat): a navigable small-world graph over the same vectors, `spec.hnsw_m`
      neighbours per node; a query walks it keeping `spec.ef_search` candidates. Approximate;
      bench/scale.py measures its recall against exact search.

    Files are memory-mapped when read, so opening a large index does not copy its vectors into RAM.
    """

    def __init__(self, index: Any, kind: str, spec: IndexSpec) -> None:
        self.index = index
        self.kind = kind
        self.spec = spec
        if kind == "hnsw":
            index.hnsw.efSearch = spec.ef_search

    @classmethod
    def build(cls, vectors: np.ndarray, dim: int, spec: IndexSpec | None = None) -> VectorIndex:
        import faiss

        spec = spec or IndexSpec()
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        index: Any
        if len(vectors) <= spec.exact_max:
            index = faiss.IndexFlatIP(dim)
            kind = "flat"
        else:
            index = faiss.IndexHNSWFlat(dim, spec.hnsw_m, faiss.METRIC_INNER_PRODUCT)
            index.hnsw.efConstruction = spec.ef_construction
            kind = "hnsw"
        if len(vectors):
            faiss.omp_set_num_threads(os.cpu_count() or 1)  # building a graph uses every core
            index.add(vectors)
        return cls(index, kind, spec)

    @classmethod
    def read(cls, path: Path, kind: str, spec: IndexSpec | None = None) -> VectorIndex:
        """Memory-map a file written by `write` (its checksum must already be verified)."""
        import faiss

        if not path.is_file():
            raise FileNotFoundError(path)
        try:
            index = faiss.read_index(str(path), faiss.IO_FLAG_MMAP_IFC | faiss.IO_FLAG_READ_ONLY)
        except RuntimeError as exc:
            if not path.is_file():  # a rebuild collected this version between check and map
                raise FileNotFoundError(path) from exc
            raise IndexUnusable(f"index file {path} could not be read ({exc}); {REBUILD_HINT} --full") from exc
        return cls(index, kind, spec or IndexSpec())

    def write(self, path: Path) -> None:
        import faiss

        faiss.write_index(self.index, str(path))

    def __len__(self) -> int:
        return int(self.index.ntotal)

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        """Stored vectors, (n, dim): all of them, or those of `rows`."""
        if rows is not None:
            if not len(rows):
                return np.zeros((0, self.index.d), dtype=np.float32)
            return self.index.reconstruct_batch(np.asarray(rows, dtype=np.int64))
        if not len(self):
            return np.zeros((0, self.index.d), dtype=np.float32)
        return self.index.reconstruct_n(0, len(self))

    def search(
        self, query: np.ndarray, k: int, rows: np.ndarray | None = None, languages: tuple[str, ...] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-k (scores, rows) for one query vector, optionally restricted to `rows` (sorted, unique;
        `languages` is not needed: the rows say it)."""
        import faiss

        k = min(k, len(self) if rows is None else len(rows))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        # One query is one thread's work: OpenMP threads spinning against each other (and against a
        # rebuild or another request) made a 46k-vector flat scan take 14 ms instead of 5 (bench/ingest.py).
        faiss.omp_set_num_threads(1)
        q = np.ascontiguousarray(query.reshape(1, -1), dtype=np.float32)
        params = None
        if rows is not None:
            plan = plan_filter(len(self), len(rows), k, self.spec.ef_search, graph=self.kind == "hnsw")
            if plan.exact:  # a tight filter: its rows scored themselves
                rows = np.asarray(rows, dtype=np.int64)
                scores = self.vectors(rows) @ q[0]
                top = np.argsort(-scores, kind="stable")[:k]
                return scores[top], rows[top]
            # A broad filter: faiss skips the other rows while it scans or walks, by a bitmap of the rows.
            allowed = np.zeros(len(self), dtype=bool)
            allowed[rows] = True
            bitmap = np.packbits(allowed, bitorder="little")
            selector = faiss.IDSelectorBitmap(len(self), faiss.swig_ptr(bitmap))
            params = faiss.SearchParameters(sel=selector)  # type: ignore[call-arg]
            if self.kind == "hnsw":
                params = faiss.SearchParametersHNSW(sel=selector, efSearch=plan.ef_search)  # type: ignore[attr-defined]
        scores, ids = self.index.search(q, k, params=params)
        keep = ids[0] >= 0
        return scores[0][keep], ids[0][keep]
