"""The onnxruntime runtime: the model exported once, checked against PyTorch, then run without torch.

Loading an export imports neither torch nor sentence-transformers, which is most of a cold start; and
onnxruntime reads a question about 3 times faster than PyTorch with the same vectors.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import KBError
from ..types import ModelIdentity
from .encoder import TransformerEncoder, model_token_layer
from .loading import CONVERTER_VERSION
from .torch import torch_reader

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EXPORT_VERSION = 2  # 2: a second output, the token states at the token layer
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


class OnnxUnsupported(Exception):
    """This model cannot run on onnxruntime with identical results; the PyTorch path is used instead."""


class OnnxEncoder(TransformerEncoder):
    """An `Encoder` over an export made by `ensure_onnx_export`."""

    runtime = "onnx"

    def __init__(self, export_dir: Path, threads: int | None = None) -> None:
        import onnxruntime as ort
        from tokenizers import Tokenizer

        meta = json.loads((export_dir / META_FILE).read_text(encoding="utf-8"))
        options = ort.SessionOptions()
        # onnxruntime's default is one thread per physical core; on 2 vCPUs sharing a core, using
        # both is still ~30 % faster for a single query (bench/performance.py).
        options.intra_op_num_threads = threads or os.cpu_count() or 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = ort.InferenceSession(str(export_dir / "model.onnx"), options, providers=["CPUExecutionProvider"])

        def run(ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            hidden, states = session.run(None, {"input_ids": ids, "attention_mask": mask})
            return hidden, states

        shrink = ort.RunOptions()  # a run with this option frees the arena's unused regions when it ends
        shrink.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
        one = np.ones((1, 1), dtype=np.int64)

        def release() -> None:
            session.run(None, {"input_ids": one, "attention_mask": one}, shrink)

        tokenizer = Tokenizer.from_file(str(export_dir / "tokenizer.json"))
        super().__init__(tokenizer, int(meta["max_tokens"]), int(meta["pad_id"]), run, release)


def export_dir_for(cache_dir: Path, identity: ModelIdentity) -> Path:
    """Where the export of the model `identity` names lives: it depends on the model and on how the
    default model is converted."""
    blob = json.dumps({**asdict(identity), "converter": CONVERTER_VERSION}, sort_keys=True)
    return cache_dir / f"onnx-v{EXPORT_VERSION}-{hashlib.sha256(blob.encode()).hexdigest()[:16]}"


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
            "token_layer": model_token_layer(model),
            "max_tokens": int(model.max_seq_length or 512),
            "pad_id": int(tokenizer.pad_token_id or 0),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        ours = OnnxEncoder(tmp).read(PROBES, len(PROBES), token_from=[0] * len(PROBES))
        theirs = torch_reader(model).read(PROBES, len(PROBES), token_from=[0] * len(PROBES))
        got, got_tokens, want_tokens = ours.vectors, ours.tokens, theirs.tokens
        assert got_tokens is not None and want_tokens is not None
        worst = min(
            float(np.min(np.sum(got * reference, axis=1))),
            *(float(np.min(np.sum(a * b, axis=1))) for a, b in zip(got_tokens, want_tokens, strict=True)),
        )
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
            out = self.inner(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True)
            return out.last_hidden_state, out.hidden_states[layer]

    layer = model_token_layer(model)

    example = model.tokenizer(["query: a b c", "passage: d"], padding=True, return_tensors="pt")
    dynamic = {0: "batch", 1: "tokens"}
    outputs = ("last_hidden_state", "token_states")
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")
            torch.onnx.export(
                Body(model[0].auto_model).eval(),
                (example["input_ids"], example["attention_mask"]),
                str(path),
                input_names=["input_ids", "attention_mask"],
                output_names=list(outputs),
                dynamic_axes={name: dynamic for name in ("input_ids", "attention_mask", *outputs)},
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
