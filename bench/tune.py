"""Fine-tune the model on a built index's corpus (kb/tune.py) with given settings, and save it.

Usage: python bench/tune.py OUT_DIR [--set "STEPS=150,LEARNING_RATE=2e-5" ...]

The index is the one KB_INDEX_DIR / KB_CORPUS_DIR name (built by `kb rebuild`). Prints the training set's
size and the training time on this machine. Then build an index with the tuned model and measure it:
    KB_INDEX_DIR=... python -m kb --model OUT_DIR rebuild --full
    python bench/adapter.py QUESTIONS.jsonl --none   (search only, title- and description-style apart)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import kb.tune as tune  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase  # noqa: E402
from kb.model import load_model  # noqa: E402

KNOBS = (
    "STEPS",
    "BATCH",
    "LEARNING_RATE",
    "WARMUP",
    "TEMPERATURE",
    "QUERY_TOKENS",
    "PASSAGE_TOKENS",
    "LAYERS",
    "SAME_LANGUAGE",
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--set", default="", help='e.g. "STEPS=150,LEARNING_RATE=2e-5"')
    args = parser.parse_args()
    for pair in filter(None, args.set.split(",")):
        name, value = pair.split("=")
        assert name in KNOBS, name
        setattr(tune, name, type(getattr(tune, name))(float(value)))
    kb = KnowledgeBase.open()
    data = tune.training_set(kb.index)
    print(f"machine: {describe()}", flush=True)
    print(
        f"{len(kb.index.documents)} articles: {len(data.queries)} titles and headings as questions,"
        f" {len(data.passages)} passages",
        flush=True,
    )
    import torch

    torch.set_num_threads(2)
    model = load_model(kb.settings.model, kb.settings)

    def show(step: int, loss: float) -> None:
        if step % 10 == 0 or step == 1:
            print(f"step {step}: loss {loss:.3f}", flush=True)

    done = tune.tune(
        model,
        data,
        steps=tune.STEPS,
        batch=tune.BATCH,
        learning_rate=tune.LEARNING_RATE,
        progress=show,
    )
    tune.save(model, args.out)
    print(f"[{args.set or 'as in kb/tune.py'}] {done}", flush=True)


if __name__ == "__main__":
    main()
