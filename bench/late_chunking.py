"""Do sentence vectors pooled from their passage's forward pass (late chunking) rank as well as embedded ones?

Usage: python bench/late_chunking.py          (index: KB_INDEX_DIR or ./index, built with the onnx runtime)

Separately embedded sentences are ~2.6 of the 4.9 model passes a passage costs today. Late chunking
(Günther et al. 2024) reads each passage once and mean-pools the last-layer states of each sentence's
tokens instead. This writes a copy of the current index whose sentence vectors are pooled that way
(everything else identical) and prints the dev and check set figures of both, side by side.
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
from kb.chunking import embedding_text  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402
from kb.store import DocumentRecord, write_version  # noqa: E402

METRICS = ("hit@5", "mrr@10", "ask cites gold", "in-scope confident", "out-of-scope not confident")


def late_sentences(kb: KnowledgeBase, record: DocumentRecord) -> np.ndarray:
    """The record's sentence vectors, each the mean last-layer state of its tokens in its passage's pass."""
    encoder = kb.embedder._onnx_encoder()
    if encoder is None:
        raise SystemExit("needs the onnx runtime (KB_RUNTIME=onnx)")
    prompt = kb.embedder.identity.prompts.get("passage", "")
    vectors = list(record.sentence_vectors)
    row = 0
    for chunk in record.chunks:
        text = prompt + embedding_text(chunk, record.document.title)
        offset = len(text) - len(chunk.text) - chunk.start  # body offset -> offset in `text`
        encoding = encoder.tokenizer.encode(text)
        ids = np.array([encoding.ids], dtype=np.int64)
        hidden = encoder.run(ids, np.ones_like(ids))[0][0]
        spans = [(a, b) for (a, b), special in zip(encoding.offsets, encoding.special_tokens_mask, strict=True)]
        special = encoding.special_tokens_mask
        for start, end in chunk.sentences:
            keep = [t for t, (a, b) in enumerate(spans) if not special[t] and a < end + offset and b > start + offset]
            if keep:
                v = hidden[keep].mean(axis=0)
                vectors[row] = (v / np.linalg.norm(v)).astype(np.float32)
            row += 1
    return np.stack(vectors) if vectors else record.sentence_vectors


def main() -> None:
    print(f"machine: {describe()}")
    kb = KnowledgeBase.open()
    started = time.perf_counter()
    records = [replace(r, sentence_vectors=late_sentences(kb, r)) for r in map(kb.index.record, kb.index.documents)]
    print(f"sentences pooled from their passages in {time.perf_counter() - started:.1f} s")
    with tempfile.TemporaryDirectory() as tmp:
        write_version(Path(tmp), records, kb.index.manifest)
        late = KnowledgeBase.open(settings=Settings.from_env(index_dir=tmp), embedder=kb.embedder, allow_stale=True)
        print("\n| set | sentence vectors | " + " | ".join(METRICS) + " |")
        print("|---|---|" + "---|" * len(METRICS))
        for name in ("dev.jsonl", "check.jsonl"):
            path = ROOT / "bench" / "data" / name
            for label, base in (("embedded separately", kb), ("late chunking", late)):
                metrics = evaluate(base, load_questions(path, base), parallel=False).metrics
                print(f"| {name} | {label} | " + " | ".join(f"{metrics[m]:.3f}" for m in METRICS) + " |")


if __name__ == "__main__":
    main()
