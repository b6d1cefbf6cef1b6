"""Indexing a real help centre: articles/s of a full rebuild against plain sentence-transformers, and query latency.

Usage: python bench/helpcentre.py        # once: the GNOME help pages in es/fr/pl/it as HTML
       python bench/ingest.py [--articles 200] [--queries 100]

Takes `--articles` pages from bench/results/helpcentre (round robin over the languages), indexes
them with a full rebuild (model already loaded), then embeds the same passages once with plain
`SentenceTransformer.encode` in the same run, and prints articles/s, passage tokens/s, peak RSS,
index bytes per passage and search / ask latency (the pages' titles as questions).
"""

from __future__ import annotations

import argparse
import json
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
from kb import KnowledgeBase, Settings, load_model  # noqa: E402
from kb.build import rebuild  # noqa: E402
from kb.chunking import embedding_text  # noqa: E402
from kb.embedding import Embedder  # noqa: E402

SOURCE = ROOT / "bench" / "results" / "helpcentre"


def pick(source: Path, n: int) -> list[dict]:
    """`n` pages, taking the languages in turn (each language's pages in name order)."""
    pages = [json.loads(line) for line in (source / "pages.jsonl").read_text(encoding="utf-8").splitlines() if line]
    by_lang: dict[str, list[dict]] = {}
    for page in sorted(pages, key=lambda p: p["file"]):
        by_lang.setdefault(page["lang"], []).append(page)
    chosen: list[dict] = []
    while len(chosen) < n and any(by_lang.values()):
        for lang in sorted(by_lang):
            if by_lang[lang] and len(chosen) < n:
                chosen.append(by_lang[lang].pop(0))
    return chosen


def p50_p95(seconds: list[float]) -> str:
    return f"{np.percentile(seconds, 50) * 1000:.1f} / {np.percentile(seconds, 95) * 1000:.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--articles", type=int, default=200)
    parser.add_argument("--queries", type=int, default=100)
    parser.add_argument("--source", type=Path, default=SOURCE)
    args = parser.parse_args()
    if not (args.source / "pages.jsonl").is_file():
        raise SystemExit(f"no help-centre pages in {args.source}: run `python bench/helpcentre.py` first")
    print(f"machine: {describe()}")
    pages = pick(args.source, args.articles)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus"
        for page in pages:
            (corpus / page["file"]).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(args.source / page["file"], corpus / page["file"])
        settings = Settings.from_env(corpus_dir=corpus, index_dir=Path(tmp) / "index")
        embedder = Embedder(settings.model, settings)
        embedder.warm_up()  # the model load is not part of the rebuild's rate
        started = time.perf_counter()
        report = rebuild(settings, full=True, embedder=embedder)
        ours = time.perf_counter() - started
        kb = KnowledgeBase.open(settings=settings, embedder=embedder)
        chunks = kb.index.chunks()
        texts = [embedding_text(c, kb.document(c.doc_id).title) for c in chunks]
        tokens = sum(embedder.count_tokens(t) for t in texts)
        index_bytes = sum(f.stat().st_size for f in kb.index.path.iterdir())
        model = load_model()
        started = time.perf_counter()
        model.encode(texts, prompt_name="passage", batch_size=settings.embed_batch_size, normalize_embeddings=True)
        plain = time.perf_counter() - started
        questions = [kb.document(d.doc_id).title for d in kb.documents()][: args.queries]
        search_s, ask_s = [], []
        for q in questions:
            t = time.perf_counter()
            kb.search(q, k=10)
            search_s.append(time.perf_counter() - t)
            t = time.perf_counter()
            kb.ask(q + " ?")
            ask_s.append(time.perf_counter() - t)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(report.chunks_per_language.items()))
    print(f"\n{report.documents} articles ({langs} passages), {len(chunks)} passages, {tokens} passage tokens")
    print("\n| measure | value |\n|---|---|")
    print(
        f"| full rebuild (model loaded) | {ours:.1f} s: **{report.documents / ours:.2f} articles/s**, "
        f"{tokens / ours:.0f} passage tokens/s |"
    )
    print(
        f"| plain SentenceTransformer.encode of the same passages, once | {plain:.1f} s "
        f"({report.documents / plain:.2f} articles/s); ours takes {ours / plain:.1f}× its time |"
    )
    print(f"| index bytes per passage | {index_bytes / max(len(chunks), 1):,.0f} |")
    print(f"| search k=10 p50 / p95 | {p50_p95(search_s)} |")
    print(f"| ask k=5 p50 / p95 | {p50_p95(ask_s)} |")
    print(f"| peak RSS of this process | {rss:.0f} MiB |")


if __name__ == "__main__":
    main()
