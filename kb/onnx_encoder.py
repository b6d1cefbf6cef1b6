"""Run a sentence-transformers model with onnxruntime: exported once, checked against PyTorch, then used to encode."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import KBError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EXPORT_VERSION = 1
META_FILE = "kb_onnx.json"
# The export is accepted only if onnxruntime reproduces PyTorch on these texts (several scripts, one long).
PROBES = [
    "query: Is customer experience about emotion or technology?",
    "passage: La experiencia de cliente es el negocio, no un departamento.",
    "query: Jak mierzyć sukces w obsłudze klienta?",
    "passage: Il tocco personale conta più della tecnologia. " * 60,
    "query: Que montre la campagne #WeighThis de LeanCuisine ?",
]
MIN_PROBE_COSINE = 0.9999
log = logging.getLogger(__name__)


class OnnxUnsupported(Exception):
    """This model cannot run on onnxruntime with identical results; the PyTorch path is used instead."""


class OnnxEncoder:
    """Tokenize with `tokenizers`, run the transformer with onnxruntime, mean-pool and L2-normalize.

    Loading it imports neither torch nor sentence-transformers, which is most of a cold start.
    """

    def __init__(self, export_dir: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((export_dir / META_FILE).read_text(encoding="utf-8"))
        self.max_tokens = int(meta["max_tokens"])
        self.tokenizer = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.untruncated = Tokenizer.from_str(self.tokenizer.to_str())  # for offsets; never reconfigured
        self.untruncated.no_truncation()
        self.tokenizer.enable_truncation(max_length=self.max_tokens)
        self.pad_id = int(meta["pad_id"])
        options = ort.SessionOptions()
        # onnxruntime's default is one thread per physical core; on 2 vCPUs sharing a core, using
        # both is still ~30 % faster for a single query (bench/performance.py).
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self.session = ort.InferenceSession(str(export_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])

    def encode(self, texts: list[str], batch_size: int) -> np.ndarray:
        """(n, dim) normalized vectors; texts are batched by length so little time goes to padding."""
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        out: list[np.ndarray] = [np.empty(0)] * len(texts)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            hidden = self.session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
            pooled = (hidden * mask[..., None]).sum(axis=1) / mask.sum(axis=1, keepdims=True)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for r, i in enumerate(rows):
                out[i] = pooled[r]
        return np.ascontiguousarray(np.stack(out), dtype=np.float32)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of `text` (no special tokens, no truncation)."""
        return list(self.untruncated.encode(text, add_special_tokens=False).offsets)


def export_dir_for(cache_dir: Path, model_sha256: str) -> Path:
    return cache_dir / f"onnx-v{EXPORT_VERSION}-{model_sha256[:16]}"


def ensure_onnx_export(model: SentenceTransformer, target: Path) -> Path:
    """Export `model` to `target` once (atomically) and verify it reproduces PyTorch; return `target`.

    Raises OnnxUnsupported when the model's pipeline is not transformer → mean pooling (→ normalize),
    or when onnxruntime's vectors differ from PyTorch's.
    """
    if (target / META_FILE).is_file():
        return target
    _check_pipeline(model)
    reference = model.encode(PROBES, convert_to_numpy=True, normalize_embeddings=True, batch_size=len(PROBES))
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        tokenizer = model.tokenizer
        tokenizer.backend_tokenizer.save(str(tmp / "tokenizer.json"))
        _export(model, tmp / "model.onnx")
        meta = {
            "export_version": EXPORT_VERSION,
            "max_tokens": int(model.max_seq_length or 512),
            "pad_id": int(tokenizer.pad_token_id or 0),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        got = OnnxEncoder(tmp).encode(PROBES, batch_size=len(PROBES))
        worst = float(np.min(np.sum(got * reference, axis=1)))
        if worst < MIN_PROBE_COSINE:
            raise OnnxUnsupported(f"onnxruntime differs from PyTorch (cosine {worst:.5f})")
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / META_FILE).is_file():  # lost a race only if the winner is complete
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _check_pipeline(model: Any) -> None:
    names = [type(m).__name__ for m in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        raise OnnxUnsupported(f"pipeline {names} is not transformer + mean pooling")
    pooling = model[1].get_config_dict()
    mode = pooling.get("pooling_mode") or ("mean" if pooling.get("pooling_mode_mean_tokens") else "other")
    if mode != "mean" or not pooling.get("include_prompt", True):
        raise OnnxUnsupported(f"pooling is {mode!r}, not mean over all tokens")
    if model.tokenizer is None or not getattr(model.tokenizer, "is_fast", False):
        raise OnnxUnsupported("no fast tokenizer")


def _export(model: Any, path: Path) -> None:
    import torch

    class Body(torch.nn.Module):
        def __init__(self, inner: Any) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

    example = model.tokenizer(["query: a b c", "passage: d"], padding=True, return_tensors="pt")
    dynamic = {0: "batch", 1: "tokens"}
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Body(model[0].auto_model).eval(),
                (example["input_ids"], example["attention_mask"]),
                str(path),
                input_names=["input_ids", "attention_mask"],
                output_names=["last_hidden_state"],
                dynamic_axes={"input_ids": dynamic, "attention_mask": dynamic, "last_hidden_state": dynamic},
                opset_version=17,
                dynamo=False,
            )
    except Exception as exc:  # an architecture the exporter does not handle
        raise OnnxUnsupported(f"export failed: {exc}") from exc


def load_or_explain(target: Path) -> OnnxEncoder:
    try:
        return OnnxEncoder(target)
    except Exception as exc:
        raise KBError(f"could not load the ONNX export in {target}: {exc}; delete that directory to redo it") from exc
