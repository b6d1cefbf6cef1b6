"""How long the Principles overview takes to find, cold, on the index KB_INDEX_DIR names, and what it finds.

Usage: KB_INDEX_DIR=... KB_CORPUS_DIR=... python bench/principles.py [--rounds 3]
Prints the articles and passages, the seconds of each cold round (a fresh KnowledgeBase each time: the
model is not used, only the stored vectors), and the principles found (works, languages, passages,
statement).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    seconds = []
    for _ in range(args.rounds):
        kb = KnowledgeBase.open()
        started = time.perf_counter()
        principles = kb.principles()
        seconds.append(time.perf_counter() - started)
    print(f"{len(kb.documents())} articles, {len(kb.index)} passages")
    print("cold rounds: " + ", ".join(f"{s:.2f} s" for s in seconds))
    for p in principles:
        quote = " ".join(p.statement.quote.split())[:100]
        print(f"  {p.works} works · {','.join(p.languages)} · {len(p.citations)} passages · {quote}")
    if not principles:
        print("  no principles: no point is made in more than one article")


if __name__ == "__main__":
    main()
