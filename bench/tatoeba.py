"""Tatoeba X->eng bitext accuracy (spa, pol, ita, fra) for the default model, as in MTEB.

Usage: python bench/tatoeba.py [DATA_DIR] [--model NAME|PATH]
For each sentence in language X, is its nearest English sentence (cosine) its own translation?
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.machine import describe  # noqa: E402
from kb import load_model  # noqa: E402

PUBLISHED = {"spa": 0.954, "pol": 0.914, "ita": 0.909, "fra": 0.930}  # fp32 multilingual-e5-small, MTEB
DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "benchmarks" / "tatoeba"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("data", nargs="?", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--model", default=None)
    args = parser.parse_args()
    model = load_model(args.model)
    print(f"machine: {describe()}")
    print("| lang | ours | published (fp32) | difference | sentences | seconds |")
    print("|---|---|---|---|---|---|")
    for lang, ref in PUBLISHED.items():
        src = (args.data / f"tatoeba.{lang}-eng.{lang}").read_text(encoding="utf-8").splitlines()
        eng = (args.data / f"tatoeba.{lang}-eng.eng").read_text(encoding="utf-8").splitlines()
        started = time.perf_counter()
        # Bitext mining embeds both sides the same way (MTEB uses no query/passage asymmetry here
        # beyond the model's default, which for e5 is "query: ").
        a = model.encode(src, prompt_name="query", batch_size=64, normalize_embeddings=True)
        b = model.encode(eng, prompt_name="query", batch_size=64, normalize_embeddings=True)
        accuracy = float(np.mean(np.argmax(a @ b.T, axis=1) == np.arange(len(src))))
        print(
            f"| {lang} | {accuracy:.3f} | {ref:.3f} | {accuracy - ref:+.3f} | {len(src)} | "
            f"{time.perf_counter() - started:.0f} |"
        )


if __name__ == "__main__":
    main()
