"""Retrieval and answer quality on a question set with gold evidence (default: bench/data/dev.jsonl).

Usage: python bench/eval.py [FILE.jsonl]   (index: KB_INDEX_DIR or ./index)
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "data" / "dev.jsonl"
    kb = KnowledgeBase.open()
    report = evaluate(kb, load_questions(path, kb))
    print(f"machine: {describe()}")
    print(f"{path.name}: {report.questions} questions, {report.in_scope} with an answer in the corpus")
    print(report.table())
    if report.failures:
        print("\nnot in the top 5:")
        print("\n".join(f"- {f}" for f in report.failures))


if __name__ == "__main__":
    main()
