"""The question adapter's settings on a built index: refit it with each, then search the questions (search only).

Usage: python bench/adapter.py QUESTIONS.jsonl [--set "STEPS=100,PENALTY=0.003" ...] [--none]
       python bench/adapter.py --timing 1000 10000   (the fitting time alone, at these many articles)

The index is the one KB_INDEX_DIR / KB_CORPUS_DIR name (built by `kb rebuild`); its records are read
back (`Index.record`) and the adapter is fitted on them as a rebuild does (`kb.build.question_adapter`),
with the constants of kb/adapter.py overridden by each --set ("" = as they are; --none: no adapter).
Prints hit@5 / MRR@10 for all questions, the cross-lingual ones, title-style and description-style
questions apart (the rows' "kind"), and per article language (cross-lingual), with the fitting time.
--timing fits on random unit vectors shaped as the help centre's are (per article: 2.67 titles and
headings read as questions, 4.24 passages, each heading above 1.9 of them).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import kb.adapter as adapter  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase  # noqa: E402
from kb.adapter import Adapter  # noqa: E402
from kb.build import question_adapter  # noqa: E402

KNOBS = ("PENALTY", "TEMPERATURE", "STEPS", "LEARNING_RATE", "MIN_QUERIES")


def figures(ranks: list[int | None]) -> str:
    n = max(len(ranks), 1)
    hit = sum(1 for r in ranks if r and r <= 5) / n
    mrr = sum(1 / r for r in ranks if r) / n
    return f"{hit:.3f} / {mrr:.3f}"


def timing(sizes: list[int], dim: int = 384) -> None:
    rng = np.random.default_rng(0)
    print(f"machine: {describe()}")
    for articles in sizes:
        passages = rng.standard_normal((round(4.24 * articles), dim)).astype(np.float32)
        queries = rng.standard_normal((round(2.67 * articles), dim)).astype(np.float32)
        passages /= np.linalg.norm(passages, axis=1, keepdims=True)
        queries /= np.linalg.norm(queries, axis=1, keepdims=True)
        starts = rng.integers(0, len(passages) - 2, len(queries))
        positives = [np.arange(s, s + 2) for s in starts]
        started = time.perf_counter()
        adapter.fit_adapter(queries, positives, passages)
        print(
            f"{articles:,} articles ({len(queries):,} titles and headings, {len(passages):,} passages):"
            f" fitted in {time.perf_counter() - started:.1f} s",
            flush=True,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("questions", type=Path, nargs="?")
    parser.add_argument("--timing", type=int, nargs="+", help="time the fitting alone at these many articles")
    parser.add_argument("--set", action="append", default=[], dest="sets", help='e.g. "STEPS=100,PENALTY=0.003"')
    parser.add_argument("--none", action="store_true", help="also measure without an adapter")
    args = parser.parse_args()
    if args.timing:
        return timing(args.timing)
    if args.questions is None:
        parser.error("give a question set (or --timing)")
    kb = KnowledgeBase.open()
    dim = kb.index.manifest.model.dimension
    records = [kb.index.record(doc_id) for doc_id in kb.index.documents]
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("gold")]
    defaults = {name: getattr(adapter, name) for name in KNOBS}
    print(f"machine: {describe()}; {len(records)} articles, {len(rows)} questions ({args.questions.name})")
    for setting in (["none"] if args.none else []) + (args.sets or [""]):
        for name, value in defaults.items():
            setattr(adapter, name, value)
        started = time.perf_counter()
        if setting == "none":
            kb.index.adapter = Adapter.none(dim)
        else:
            for pair in filter(None, setting.split(",")):
                name, value = pair.split("=")
                setattr(adapter, name, type(defaults[name])(float(value)))
            kb.index.adapter = question_adapter(records, dim)
        fitted = time.perf_counter() - started
        found = []
        for r in rows:
            gold = {g["doc_id"] for g in r["gold"]}
            hits = kb.search(r["question"], k=10)
            rank = next((i for i, h in enumerate(hits, 1) if h.doc_id in gold), None)
            found.append((r["lang"], r.get("kind", ""), r.get("doc_lang", ""), rank))
        cross = [f for f in found if f[0] != f[2]]
        by_lang = " ".join(
            f"{lang} {figures([f[3] for f in cross if f[2] == lang])}" for lang in sorted({f[2] for f in cross})
        )
        print(
            f"[{setting or 'as in kb/adapter.py'}] fitted in {fitted:.1f} s"
            f" | all {figures([f[3] for f in found])} | cross-lingual {figures([f[3] for f in cross])}"
            f" | title {figures([f[3] for f in found if f[1] == 'title'])}"
            f" | description {figures([f[3] for f in found if f[1] == 'desc'])}"
            f" | cross-lingual by article language: {by_lang}",
            flush=True,
        )


if __name__ == "__main__":
    main()
