"""Rebuild and query figures on the bundled corpus: full and no-change rebuild, search/ask latency, size, memory.

Usage: python bench/rebuild_and_query.py [--queries N]
"""

from __future__ import annotations

import argparse
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.build import rebuild  # noqa: E402
from kb.embedding import Embedder  # noqa: E402

QUESTIONS = [
    "Is customer experience about emotion or technology?",
    "How should success be measured?",
    "What is the role of technology?",
    "Why do emotional memories last?",
    "What are data islands?",
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
]


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.array(values) * 1000, q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--queries", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    tmp = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        settings = Settings.from_env(corpus_dir=ROOT / "corpus", index_dir=tmp / "index")
        embedder = Embedder(settings.model, settings)
        t = time.perf_counter()
        embedder.warm_up()
        load_s = time.perf_counter() - t
        t = time.perf_counter()
        report = rebuild(settings, embedder=embedder, full=True)
        full_s = time.perf_counter() - t
        t = time.perf_counter()
        again = rebuild(settings, embedder=embedder)
        nochange_s = time.perf_counter() - t
        assert not again.changed
        size = sum(p.stat().st_size for p in (tmp / "index").rglob("*") if p.is_file())

        t = time.perf_counter()
        kb = KnowledgeBase.open(settings=settings, embedder=embedder)
        open_s = time.perf_counter() - t
        kb.search("warm up")
        queries = [QUESTIONS[i % len(QUESTIONS)] + ("" if i < len(QUESTIONS) else f" {i}") for i in range(args.queries)]
        search_t, ask_t = [], []
        for q in queries:
            t = time.perf_counter()
            kb.search(q, k=10)
            search_t.append(time.perf_counter() - t)
        for q in queries:
            t = time.perf_counter()
            kb.ask(q, k=5)
            ask_t.append(time.perf_counter() - t)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        n_texts = report.embedded_chunks + sum(len(c.sentences) for c in kb.stored.chunks)
        print("| measure | value |")
        print("|---|---|")
        print(
            f"| corpus | {report.documents} articles, {report.chunks} passages, "
            f"{kb.stored.manifest['counts']['sentences']} sentences |"
        )
        print(f"| model load (warm file cache) | {load_s:.1f} s |")
        print(f"| full rebuild (model loaded) | {full_s:.1f} s ({n_texts / full_s:.0f} texts embedded/s) |")
        print(f"| no-change rebuild | {nochange_s * 1000:.0f} ms |")
        print(f"| KnowledgeBase.open (model not yet loaded) | {open_s * 1000:.0f} ms |")
        print(
            f"| search latency p50 / p95 ({len(queries)} queries, k=10) | "
            f"{pct(search_t, 50):.1f} / {pct(search_t, 95):.1f} ms |"
        )
        print(
            f"| ask latency p50 / p95 ({len(queries)} queries, k=5) | {pct(ask_t, 50):.1f} / {pct(ask_t, 95):.1f} ms |"
        )
        print(f"| index size on disk | {size / 1024:.0f} KiB |")
        print(f"| peak memory (RSS) | {peak_mb:.0f} MiB |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
