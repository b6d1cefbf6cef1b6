"""Vector search at 10k / 100k / 1M chunks: index type, build time, memory, recall@10 against exact, latency.

Usage: python bench/scale.py [--sizes 10000 100000 1000000] [--queries 300] [--ef-search 64 256]

The chunk vectors are synthetic but shaped like real ones: each is a random mix of three real
multilingual-e5-small passage vectors (Tatoeba sentences in five languages, or the bundled corpus
when Tatoeba is absent) plus a little noise, so they sit on the same cone as real embeddings rather
than uniformly on the sphere. The queries are real query vectors of other Tatoeba sentences.
Each size is searched through `kb.storage.faiss.VectorIndex` as `kb` builds it (exact flat up to
`exact_search_max`, an HNSW graph above), after writing it to disk and memory-mapping it back.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import Settings  # noqa: E402
from kb.model import Embedder  # noqa: E402
from kb.storage.faiss import VectorIndex  # noqa: E402
from kb.types import IndexSpec  # noqa: E402

TATOEBA = ROOT.parent / "shared" / "benchmarks" / "tatoeba"


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def real_vectors(n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(base passage vectors, query vectors) from real sentences."""
    texts: list[str] = []
    if TATOEBA.is_dir():
        for path in sorted(TATOEBA.glob("tatoeba.*")):
            texts += [t for t in path.read_text(encoding="utf-8").splitlines() if t.strip()]
    else:
        for path in sorted((ROOT / "corpus").glob("*.txt")):
            texts += [t for t in path.read_text(encoding="utf-8").splitlines() if len(t) > 20]
    texts = sorted(set(texts))
    rng = np.random.default_rng(0)
    rng.shuffle(texts)
    embedder = Embedder()
    queries, base = texts[:n_queries], texts[n_queries:]
    started = time.perf_counter()
    base_vectors = embedder.encode_passages(base, batch_size=64)
    query_vectors = np.stack([embedder.encode_query(q).vector for q in queries])
    print(f"real vectors: {len(base)} passages + {len(queries)} queries in {time.perf_counter() - started:.0f} s")
    return base_vectors, query_vectors


def synthetic(base: np.ndarray, n: int, seed: int) -> np.ndarray:
    """n unit vectors, each a random convex mix of three base vectors plus noise (in blocks: bounded memory)."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        m = min(100_000, n - start)
        weights = rng.dirichlet(np.ones(3), m).astype(np.float32)
        picks = rng.integers(0, len(base), (m, 3))
        block = np.einsum("mk,mkd->md", weights, base[picks])
        block += rng.standard_normal(block.shape, dtype=np.float32) * 0.01
        out[start : start + m] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def exact_top(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    import faiss

    flat = faiss.IndexFlatIP(vectors.shape[1])
    flat.add(vectors)
    return flat.search(queries, k)[1]


def latencies(index: VectorIndex, queries: np.ndarray, k: int = 10) -> tuple[np.ndarray, list[np.ndarray]]:
    for q in queries[::-1]:  # warm: the mapped pages a query path touches are resident
        index.search(q, k)
    times, found = [], []
    for q in queries:
        t = time.perf_counter()
        _, rows = index.search(q, k)
        times.append(time.perf_counter() - t)
        found.append(rows)
    return np.array(times) * 1000, found


def recall(found: list[np.ndarray], truth: np.ndarray) -> float:
    return float(np.mean([len(set(f.tolist()) & set(t.tolist())) / len(t) for f, t in zip(found, truth, strict=True)]))


def main() -> None:
    import faiss

    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--ef-search", type=int, nargs="+", default=None, help="also report these efSearch values")
    args = parser.parse_args()
    settings = Settings.from_env()
    faiss.omp_set_num_threads(1)  # one query at a time: threads cost more than they give (faiss #2953)
    print(f"machine: {describe()}")
    base, queries = real_vectors(args.queries)
    rows = []
    for n in args.sizes:
        vectors = synthetic(base, n, seed=n)
        truth = exact_top(vectors, queries, 10)
        gc.collect()
        before = rss_mib()
        faiss.omp_set_num_threads(os.cpu_count() or 1)  # building uses every core
        t = time.perf_counter()
        built = VectorIndex.build(vectors, vectors.shape[1], settings.index_spec)
        build_s = time.perf_counter() - t
        faiss.omp_set_num_threads(1)
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "chunks.faiss"
            built.write(path)
            size, kind = path.stat().st_size, built.kind
            del built
            gc.collect()
            before_open = rss_mib()
            t = time.perf_counter()
            index = VectorIndex.read(path, kind, settings.index_spec)
            open_s = time.perf_counter() - t
            opened_rss = rss_mib() - before_open
            ms, found = latencies(index, queries)
            ef = settings.hnsw_ef_search if kind == "hnsw" else "-"
            rows.append((n, kind, ef, build_s, size, opened_rss, open_s, recall(found, truth), ms))
            for ef in args.ef_search or []:
                if kind == "hnsw":
                    index.index.hnsw.efSearch = ef
                    ms, found = latencies(index, queries)
                    rows.append((n, kind, ef, build_s, size, opened_rss, open_s, recall(found, truth), ms))
            flat = VectorIndex.build(vectors, vectors.shape[1], IndexSpec(exact_max=n))
            ms, _ = latencies(flat, queries[:100])
            rows.append(
                (
                    n,
                    "flat (exact, for comparison)",
                    "-",
                    float("nan"),
                    n * vectors.shape[1] * 4,
                    float("nan"),
                    float("nan"),
                    1.0,
                    ms,
                )
            )
            del index, flat
        del vectors
        gc.collect()
        print(f"  {n:>9,} done (RSS before build {before:.0f} MiB)", flush=True)
    print()
    print(
        "| chunks | index | efSearch | build s | build µs/chunk | file MiB | bytes/chunk | RSS after mmap open MiB "
        "| open s | recall@10 | p50 ms | p95 ms |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for n, kind, nprobe, build_s, size, opened, open_s, rec, ms in rows:
        print(
            f"| {n:,} | {kind} | {nprobe} | {build_s:.1f} | {build_s / n * 1e6:.1f} | {size / 2**20:.0f} | "
            f"{size / n:.0f} | {opened:.0f} | {open_s:.2f} | {rec:.3f} | {np.percentile(ms, 50):.2f} | "
            f"{np.percentile(ms, 95):.2f} |"
        )


if __name__ == "__main__":
    main()
