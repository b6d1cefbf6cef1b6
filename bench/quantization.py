"""Would an int8 model make the rebuild faster than plain sentence-transformers, with quality unchanged?

Usage: python bench/quantization.py [question sets...] [--corpus DIR]
       (default: the bundled corpus with bench/data/dev.jsonl and check.jsonl; for the help centre:
        --corpus bench/results/helpcentre-mixed/corpus bench/results/helpcentre-dev.jsonl)

onnxruntime's *dynamic* int8 (activation scales from each batch) read passages 2x faster, but a
passage's vector then depends on the other texts of its batch, so an incremental rebuild would differ
from a full one. This builds *static* int8 copies of the model's ONNX export instead: activation
scales calibrated once, on Tatoeba sentences joined into passage-length texts (public text that is in
none of our question sets), so a vector depends on its own text only. Weights are int8 per channel;
the attention products stay fp32. Two variants:

- "all": every projection in int8 (min/max calibration);
- "ffn 0-6 fp32": the feed-forward output projections of layers 0-6 stay fp32 (their inputs have
  outliers up to 68 that one int8 scale cannot hold next to values of ~1; the word-match token
  vectors come from layer 7), the others calibrated on the 99.999th percentile.

For each it prints: the time to read the 200 help-centre articles' passages against fp32 (the same
export), whether a vector depends on its batch, cosine to the fp32 vectors, Tatoeba accuracy (query
prompt, both sides), and the question sets' figures with the model used for passages and questions.
Needs bench/results/helpcentre (python bench/helpcentre.py) for the timing texts.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.ingest import SOURCE, pick, write_corpus  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.tatoeba import DEFAULT_DATA as TATOEBA  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.build import rebuild  # noqa: E402
from kb.chunking import chunk_document, embedding_text  # noqa: E402
from kb.corpus import load_corpus  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402
from kb.model import Embedder  # noqa: E402
from kb.model.onnx import META_FILE, OnnxEncoder, export_dir_for  # noqa: E402

METRICS = ("hit@5", "mrr@10", "ask cites gold", "in-scope confident", "out-of-scope not confident")
VARIANTS = {  # label: (MatMul nodes kept in fp32 (regex), calibration)
    "all": (r"self/MatMul", "MinMax"),
    "ffn 0-6 fp32": (r"self/MatMul|layer\.[0-6]/output/dense", "Percentile"),
}
CALIBRATION_TOKENS = 128  # calibration batches padded or cut to one length (histograms need it)


def calibration_batches(tokenizer, n: int = 160, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """Tatoeba sentences (past the 500th of each file) joined 1-12 at a time, 80 % with the passage prompt.
    (The percentile calibration keeps every tensor of every batch in memory: 320 texts needed 24 GB.)"""
    rng = random.Random(seed)
    texts: list[str] = []
    for lang in ("spa", "pol", "ita", "fra"):
        for side in (lang, "eng"):
            lines = (TATOEBA / f"tatoeba.{lang}-eng.{side}").read_text(encoding="utf-8").splitlines()[500:]
            rng.shuffle(lines)
            at = 0
            for _ in range(n // 8):
                take = rng.choice([1, 2, 4, 8, 12])
                prompt = "passage: " if rng.random() < 0.8 else "query: "
                texts.append(prompt + " ".join(lines[at : at + take]))
                at += take
    rng.shuffle(texts)
    batches = []
    for i in range(0, len(texts), 8):
        ids = [e.ids[:CALIBRATION_TOKENS] for e in tokenizer.encode_batch(texts[i : i + 8])]
        batches.append(
            {
                "input_ids": np.array([x + [1] * (CALIBRATION_TOKENS - len(x)) for x in ids], np.int64),
                "attention_mask": np.array([[1] * len(x) + [0] * (CALIBRATION_TOKENS - len(x)) for x in ids], np.int64),
            }
        )
    return batches


def quantize(export: Path, target: Path, keep_fp32: str, method: str) -> Path:
    import onnx
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process
    from tokenizers import Tokenizer

    target.mkdir(parents=True, exist_ok=True)
    for name in (META_FILE, "tokenizer.json"):
        shutil.copy(export / name, target / name)
    prepared = target / "prepared.onnx"
    quant_pre_process(str(export / "model.onnx"), str(prepared), skip_symbolic_shape=True)
    graph = onnx.load(str(prepared), load_external_data=False).graph
    excluded = [n.name for n in graph.node if n.op_type == "MatMul" and re.search(keep_fp32, n.name)]
    batches = iter(calibration_batches(Tokenizer.from_file(str(export / "tokenizer.json"))))

    class Reader(CalibrationDataReader):
        def get_next(self):  # type: ignore[no-untyped-def]
            return next(batches, None)

    cwd = os.getcwd()
    os.chdir(target)  # the calibrator writes scratch files into the working directory
    try:
        quantize_static(
            str(prepared),
            str(target / "model.onnx"),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            nodes_to_exclude=excluded,
            calibrate_method=getattr(CalibrationMethod, method),
            extra_options={"CalibPercentile": 99.999},
        )
    finally:
        os.chdir(cwd)
    prepared.unlink()
    return target


def timing_texts(settings: Settings, embedder: Embedder, tmp: Path) -> list[str]:
    write_corpus(pick(SOURCE, 200), SOURCE, tmp / "timing")
    documents = load_corpus(tmp / "timing", settings.limits).documents
    limit = min(settings.max_chunk_tokens, embedder.identity.max_tokens // 2)
    chunks = [(d, c) for d in documents for c in chunk_document(d, embedder.count_tokens, limit)]
    return ["passage: " + embedding_text(c, d.title) for d, c in chunks]


def tatoeba(encoder: OnnxEncoder) -> str:
    row = []
    for lang in ("spa", "pol", "ita", "fra"):
        files = (TATOEBA / f"tatoeba.{lang}-eng.{side}" for side in (lang, "eng"))
        a, b = ([f"query: {t}" for t in f.read_text(encoding="utf-8").splitlines()] for f in files)
        va, vb = encoder.encode(a, 64).vectors, encoder.encode(b, 64).vectors
        row.append(f"{lang} {np.mean(np.argmax(va @ vb.T, axis=1) == np.arange(len(a))):.3f}")
    return " ".join(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    args = parser.parse_args()
    sets = args.sets or [ROOT / "bench" / "data" / n for n in ("dev.jsonl", "check.jsonl")]
    print(f"machine: {describe()}")
    settings = Settings.from_env()
    embedder = Embedder(settings.model, settings)
    embedder.warm_up()
    export = export_dir_for(settings.model_cache_dir, embedder.identity)
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        texts = timing_texts(settings, embedder, tmp)
        models = {"fp32": export}
        for label, (keep, method) in VARIANTS.items():
            models[label] = quantize(export, tmp / label.replace(" ", "-"), keep, method)
        reference = None
        print(f"\n{len(texts)} passages of 200 help-centre articles\n")
        print("| model | read passages | batch-dependent (max abs) | cosine to fp32, passages min/mean |", end="")
        print(" tokens mean | Tatoeba |")
        print("|---|---|---|---|---|---|")
        for label, path in models.items():
            encoder = OnnxEncoder(path)
            encoder.encode(texts[:16], 32, [0] * 16)
            started = time.perf_counter()
            read = encoder.encode(texts, 32, [0] * len(texts))
            seconds = time.perf_counter() - started
            alone = np.array([encoder.encode([t], 1, [0]).vectors[0] for t in texts[:20]])
            reference = read if reference is None else reference
            cos = (read.vectors * reference.vectors).sum(axis=1)
            tokens = np.concatenate([(a * b).sum(axis=1) for a, b in zip(read.tokens, reference.tokens, strict=True)])
            print(
                f"| {label} | {seconds:.1f} s | {np.abs(alone - read.vectors[:20]).max():.4f} | "
                f"{cos.min():.4f} / {cos.mean():.4f} | {tokens.mean():.4f} | {tatoeba(encoder)} |",
                flush=True,
            )
        print("\n| set | model | " + " | ".join(METRICS) + " |")
        print("|---|---|" + "---|" * len(METRICS))
        for label, path in models.items():
            run = Settings.from_env(corpus_dir=args.corpus, index_dir=tmp / f"index-{label.replace(' ', '-')}")
            model = Embedder(run.model, run)
            model._onnx_tried, model._onnx = True, OnnxEncoder(path)
            rebuild(run, full=True, embedder=model)
            kb = KnowledgeBase.open(settings=run, embedder=model)
            for path_set in sets:
                m = evaluate(kb, load_questions(path_set, kb), parallel=False).metrics
                figures = " | ".join(f"{m.get(k, float('nan')):.3f}" for k in METRICS)
                print(f"| {path_set.name} | {label} | {figures} |")


if __name__ == "__main__":
    main()
