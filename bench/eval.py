"""Retrieval and answer quality on question sets with gold evidence.

Usage: python bench/eval.py [FILE.jsonl ...]   (index: KB_INDEX_DIR or ./index)

Default: bench/data/dev.jsonl (the development set, which settings were chosen on) and
bench/data/check.jsonl (written before the session that used it, to confirm a change generalizes).
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
    paths = [Path(p) for p in sys.argv[1:]] or [ROOT / "bench" / "data" / name for name in ("dev.jsonl", "check.jsonl")]
    kb = KnowledgeBase.open()
    print(f"machine: {describe()}")
    for path in paths:
        report = evaluate(kb, load_questions(path, kb), parallel=path == paths[0])
        print(f"\n{path.name}: {report.questions} questions, {report.in_scope} with an answer in the corpus")
        print(report.table())
        if report.failures:
            print("\nnot in the top 5:")
            print("\n".join(f"- {f}" for f in report.failures))


if __name__ == "__main__":
    main()
