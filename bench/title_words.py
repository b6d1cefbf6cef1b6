"""The title word match's weight (`TITLE_WORDS` in kb/search.py) swept on question sets, one index.

Usage: python bench/title_words.py [--weights 0,0.05,0.07,0.1] FILE.jsonl [FILE.jsonl ...]
(index and corpus: KB_INDEX_DIR / KB_CORPUS_DIR, as for `kb eval`). Each weight is set in the module
and the questions evaluated as `kb eval` does; nothing is rebuilt (the titles' token vectors are in
the index). Tune on a dev split (the help centre's, bench/data/helpcentre/README.md), keep the
5-article floors (bench/data/dev.jsonl, check.jsonl), then report the test split.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import kb.search as search  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402

SHOWN = (
    "hit@1",
    "hit@5",
    "mrr@10",
    "cross-lingual hit@5",
    "ask cites gold",
    "in-scope confident",
    "in-scope contested",
    "out-of-scope not confident",
    "confident answers right at point 1",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--weights", default=f"0,{search.TITLE_WORDS}")
    args = parser.parse_args()
    kb = KnowledgeBase.open()
    print(f"machine: {describe()}")
    for path in args.files:
        questions = load_questions(path, kb)
        for weight in (float(w) for w in args.weights.split(",")):
            search.TITLE_WORDS = weight
            started = time.perf_counter()
            metrics = evaluate(kb, questions, parallel=False).metrics
            shown = " ".join(f"{name}={metrics[name]:.3f}" for name in SHOWN if name in metrics)
            print(f"{path.name} w={weight}: {shown} ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
