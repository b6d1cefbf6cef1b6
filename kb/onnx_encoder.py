"""Run a sentence-transformers model with onnxruntime: exported once, checked against PyTorch, then used to encode."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import KBError

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer
    from tokenizers import Tokenizer

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
# Token vectors come from this far up the layers: layer 7 of e5-small's 12. Word alignment across
# languages is best in the upper middle layers of multilingual encoders (SimAlign, Jalili Sabet et
# al. 2020); bench/eval: layers 7 and 8 about tie, 9, 10 and 12 (the last) are worse (README).
TOKEN_DEPTH = 7 / 12
Run = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # (ids, mask) -> (last states, token states)
# A call whose widest batch held more tokens than this (passages, not a question) hands the model's
# working memory back when it ends: onnxruntime keeps the largest batch's memory otherwise, and a
# server that rebuilds every night grew by 30-40 MiB per rebuild (bench/app_memory.py).
RELEASE_ABOVE_TOKENS = 512
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Encoded:
    """What one pass of the model over some texts gives (see `Encoder.encode`)."""

    vectors: np.ndarray  # (n, dim) normalized
    sums: np.ndarray  # (n, dim) sums of the last-layer token states behind `vectors`
    tokens: list[np.ndarray] | None = None  # per text: (word pieces, dim) normalized token-layer states
    spans: list[np.ndarray] | None = None  # per text: (spans, dim) normalized span vectors
    # with both: per text, the span each of its `tokens` lies in (the last span starting before it)
    token_spans: list[np.ndarray] | None = None


def pooled(sums: np.ndarray) -> np.ndarray:
    """The normalized vector of texts read together, pooled from their passes' `Encoded.sums` rows."""
    total = sums.sum(axis=0)
    return (total / max(float(np.linalg.norm(total)), 1e-12)).astype(np.float32)


def _span_means(encoding: Any, hidden: np.ndarray, spans: list[tuple[int, int]], fallback: np.ndarray) -> np.ndarray:
    """Normalized mean last-layer state of the (non-special) tokens overlapping each character span."""
    offsets = np.array(encoding.offsets, dtype=np.int64).reshape(-1, 2)
    regular = np.array(encoding.special_tokens_mask, dtype=bool) == 0
    out = np.empty((len(spans), hidden.shape[-1]), dtype=np.float32)
    for j, (a, b) in enumerate(spans):
        inside = regular & (offsets[:, 0] < b) & (offsets[:, 1] > a)
        if inside.any():
            v = hidden[: len(offsets)][inside].mean(axis=0)
            out[j] = v / max(float(np.linalg.norm(v)), 1e-12)
        else:
            out[j] = fallback
    return out


def _stack(rows: list[np.ndarray], dim: int) -> np.ndarray:
    if not rows:
        return np.zeros((0, dim), dtype=np.float32)
    return np.ascontiguousarray(np.stack(rows), dtype=np.float32)


class OnnxUnsupported(Exception):
    """This model cannot run on onnxruntime with identical results; the PyTorch path is used instead."""


class Encoder:
    """Tokenize with `tokenizers`, run the transformer, mean-pool and L2-normalize; on request also
    return token vectors (see `encode`). `run(ids, mask)` is the transformer: onnxruntime here,
    PyTorch for the comparison in `ensure_onnx_export` and for `KB_RUNTIME=torch`.
    """

    def __init__(
        self, tokenizer: Tokenizer, max_tokens: int, pad_id: int, run: Run, release: Callable[[], None] | None = None
    ) -> None:
        """`tokenizer` becomes this encoder's own (it is reconfigured): pass a copy of a shared one.
        `release`, if given, frees the memory `run` keeps for reuse (see RELEASE_ABOVE_TOKENS)."""
        self.max_tokens = max_tokens
        self.pad_id = pad_id
        self.run = run
        self.release = release
        self.tokenizer = tokenizer  # (parsing a 250k-word tokenizer takes 0.6 s: one per encoder)
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self._is_word: dict[int, bool] = {}

    def encode(
        self,
        texts: list[str],
        batch_size: int,
        token_from: list[int] | None = None,
        spans: list[list[tuple[int, int]]] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Encoded:
        """One pass of the model over each text; texts are batched by length so little time goes to padding.

        - `vectors`: (n, dim) normalized mean of the last-layer states of all tokens (the text's vector).
        - `sums`: (n, dim) the sum behind that mean, so a vector of several texts read as one can be
          pooled from their passes (`pooled`).
        - with `token_from` (per text, the character where the words of interest begin: after the
          prompt, and after a heading read as context), `tokens`: one (tokens, dim) matrix per text, the
          normalized states at the token layer of those word pieces that hold a letter or digit. They
          let search match a question's words to a passage's words across languages (kb/search.py).
        - with `spans` (per text, character spans such as its sentences), `spans`: per text one
          normalized vector per span, the mean last-layer state of the span's tokens read in the whole
          text (late chunking, Günther et al. 2024: one pass instead of one per span). A span with no
          token (cut off by truncation) gets the text's vector.
        - with both, `token_spans`: per text, the number of the span each of its `tokens` lies in.

        `progress`, if given, gets the share of all tokens read after each batch.
        """
        encodings = self.tokenizer.encode_batch(texts)
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        total_tokens, read_tokens = sum(len(e.ids) for e in encodings), 0
        dim = 0
        out: list[np.ndarray] = [np.empty(0)] * len(texts)
        sums: list[np.ndarray] = [np.empty(0)] * len(texts)
        tokens: list[np.ndarray] = [np.empty(0)] * len(texts)
        token_spans: list[np.ndarray] = [np.empty(0)] * len(texts)
        pooled_spans: list[np.ndarray] = [np.empty(0)] * len(texts)
        widest = 0
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            width = max(len(encodings[i].ids) for i in rows)
            ids = np.full((len(rows), width), self.pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), width), dtype=np.int64)
            for r, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[r, :n] = encodings[i].ids
                mask[r, :n] = 1
            hidden, states = self.run(ids, mask)
            widest = max(widest, ids.size)
            dim = hidden.shape[-1]
            total = (hidden * mask[..., None]).sum(axis=1)
            pooled = total / mask.sum(axis=1, keepdims=True)
            pooled /= np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
            for r, i in enumerate(rows):
                out[i], sums[i] = pooled[r], total[r]
                if token_from is not None:
                    tokens[i], starts = self._content(encodings[i], states[r], token_from[i])
                    if spans is not None:
                        # a word piece's span starts at the space before it (see `_content`)
                        span_starts = np.array([a for a, _ in spans[i]], dtype=np.int64)
                        within = np.searchsorted(span_starts, starts + 1, side="right") - 1
                        token_spans[i] = np.maximum(within, 0).astype(np.int64)
                if spans is not None:
                    pooled_spans[i] = _span_means(encodings[i], hidden[r], spans[i], pooled[r])
            read_tokens += int(mask.sum())
            if progress:
                progress(read_tokens / max(total_tokens, 1))
        if self.release is not None and widest > RELEASE_ABOVE_TOKENS:
            self.release()
        return Encoded(
            vectors=_stack(out, dim),
            sums=_stack(sums, dim),
            tokens=tokens if token_from is not None else None,
            spans=pooled_spans if spans is not None else None,
            token_spans=token_spans if token_from is not None and spans is not None else None,
        )

    def _content(self, encoding: Any, states: np.ndarray, begin: int) -> tuple[np.ndarray, np.ndarray]:
        """The normalized states of the word pieces from character `begin` on that hold a letter or
        digit, and where each starts (a character offset)."""
        # A word piece's span includes the space before it ("▁ho" of "query: hola" starts at the space).
        keep = [
            t
            for t, (special, (start, _), token_id) in enumerate(
                zip(encoding.special_tokens_mask, encoding.offsets, encoding.ids, strict=True)
            )
            if not special and start >= begin - 1 and self._word(token_id)
        ]
        picked = states[keep].astype(np.float32)
        starts = np.array([encoding.offsets[t][0] for t in keep], dtype=np.int64)
        return picked / np.maximum(np.linalg.norm(picked, axis=1, keepdims=True), 1e-12), starts

    def _word(self, token_id: int) -> bool:
        """Does this token hold a letter or digit? ("?", "¿", "," and a bare "▁" do not.)"""
        if token_id not in self._is_word:
            self._is_word[token_id] = any(ch.isalnum() for ch in self.tokenizer.id_to_token(token_id) or "")
        return self._is_word[token_id]

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of `text` (no special tokens, no truncation: what truncation
        cuts off comes back as `overflowing` encodings, in order)."""
        encoding = self.tokenizer.encode(text, add_special_tokens=False)
        return [span for part in [encoding, *encoding.overflowing] for span in part.offsets]


class OnnxEncoder(Encoder):
    """An `Encoder` over an export made by `ensure_onnx_export`.

    Loading it imports neither torch nor sentence-transformers, which is most of a cold start.
    """

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


def model_token_layer(model: Any) -> int:
    """Which hidden layer token vectors come from (TOKEN_DEPTH of the way up; the embeddings are layer 0)."""
    layers = int(model[0].auto_model.config.num_hidden_layers)
    return max(1, min(layers, round(layers * TOKEN_DEPTH)))


def torch_encoder(model: SentenceTransformer) -> Encoder:
    """The same `Encoder` running the model's transformer on PyTorch."""
    import torch
    from tokenizers import Tokenizer

    inner: Any = model[0].auto_model
    layer = model_token_layer(model)

    def run(ids: np.ndarray, mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        with torch.inference_mode():
            out = inner(
                input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask), output_hidden_states=True
            )
        return out.last_hidden_state.numpy(), out.hidden_states[layer].numpy()

    tokenizer = model.tokenizer
    own = Tokenizer.from_str(tokenizer.backend_tokenizer.to_str())  # the model's stays as sentence-transformers set it
    return Encoder(own, int(model.max_seq_length or 512), int(tokenizer.pad_token_id or 0), run)


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
            "token_layer": model_token_layer(model),
            "max_tokens": int(model.max_seq_length or 512),
            "pad_id": int(tokenizer.pad_token_id or 0),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2), encoding="utf-8")
        ours = OnnxEncoder(tmp).encode(PROBES, len(PROBES), token_from=[0] * len(PROBES))
        theirs = torch_encoder(model).encode(PROBES, len(PROBES), token_from=[0] * len(PROBES))
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
