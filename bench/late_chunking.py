"""Do sentence and context vectors pooled from one pass per passage (late chunking) rank as well as embedded ones?

Usage: python bench/late_chunking.py [question sets...]
       (index: KB_INDEX_DIR or ./index; default sets: bench/data/dev.jsonl, bench/data/check.jsonl)

A rebuild reads each passage once: sentence vectors are the mean last-layer states of each sentence's
tokens in that pass, and a context vector (the passage read with the next one) is pooled from the two
passages' passes (Günther et al. 2024, "late chunking"). Before, each sentence and each context was
embedded on its own: ~4 model passes per passage instead of 1. This writes a copy of the current index
whose sentence and context vectors are embedded separately, the old way (everything else identical),
and prints the figures of each question set for both.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402
from kb.storage import DocumentRecord  # noqa: E402
from kb.storage.files import write_version  # noqa: E402

METRICS = ("hit@5", "mrr@10", "ask cites gold", "in-scope confident", "out-of-scope not confident")


def separately(kb: KnowledgeBase, records: list[DocumentRecord], contexts_too: bool = True) -> list[DocumentRecord]:
    """The records with each sentence, and each passage followed by the next one, embedded on their own."""
    sentences = [c.text_at(s) for r in records for c in r.chunks for s in c.sentences]
    contexts = [
        c.text + ("\n" + r.chunks[i + 1].text if i + 1 < len(r.chunks) else "")
        for r in records
        for i, c in enumerate(r.chunks)
    ]
    vectors = kb.embedder.encode_passages(sentences + (contexts if contexts_too else []))
    s_vecs, c_vecs = vectors[: len(sentences)], vectors[len(sentences) :]
    out, si, ci = [], 0, 0
    for r in records:
        n_sent = sum(len(c.sentences) for c in r.chunks)
        own = replace(r, sentence_vectors=s_vecs[si : si + n_sent])
        out.append(replace(own, context_vectors=c_vecs[ci : ci + len(r.chunks)]) if contexts_too else own)
        si, ci = si + n_sent, ci + len(r.chunks)
    return out


def row(name: str, label: str, metrics: dict[str, float]) -> str:
    return f"| {name} | {label} | " + " | ".join(f"{metrics.get(m, np.nan):.3f}" for m in METRICS) + " |"


def main() -> None:
    sets = [Path(p) for p in sys.argv[1:]] or [ROOT / "bench" / "data" / n for n in ("dev.jsonl", "check.jsonl")]
    print(f"machine: {describe()}")
    kb = KnowledgeBase.open()
    records = [kb.index.record(doc_id) for doc_id in kb.index.documents]
    started = time.perf_counter()
    slow = separately(kb, records)
    print(f"sentences and contexts embedded separately in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        write_version(Path(tmp) / "slow", slow, kb.index.manifest)
        write_version(Path(tmp) / "mixed", separately(kb, records, contexts_too=False), kb.index.manifest)
        bases = {
            label: KnowledgeBase.open(
                settings=Settings.from_env(index_dir=Path(tmp) / name), embedder=kb.embedder, allow_stale=True
            )
            for label, name in (
                ("embedded separately", "slow"),
                ("sentences separately, contexts pooled", "mixed"),
            )
        }
        bases["pooled from one pass"] = kb
        print("\n| set | sentence and context vectors | " + " | ".join(METRICS) + " |")
        print("|---|---|" + "---|" * len(METRICS))
        for path in sets:
            for label, base in bases.items():
                print(row(path.name, label, evaluate(base, load_questions(path, base), parallel=False).metrics))


if __name__ == "__main__":
    main()
