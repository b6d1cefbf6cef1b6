"""How the model reads texts, whatever runs it: the `Encoder` interface, and the one implementation of it
over a transformer that both runtimes (kb/model/onnx.py, kb/model/torch.py) plug their forward pass into."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

if TYPE_CHECKING:
    from tokenizers import Tokenizer

# Token vectors come from this far up the layers: layer 7 of e5-small's 12. Word alignment across
# languages is best in the upper middle layers of multilingual encoders (SimAlign, Jalili Sabet et
# al. 2020); bench/eval: layers 7 and 8 about tie, 9, 10 and 12 (the last) are worse (docs/decisions.md).
TOKEN_DEPTH = 7 / 12
Run = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]  # (ids, mask) -> (last states, token states)
# A call whose widest batch held more tokens than this (passages, not a question) hands the model's
# working memory back when it ends: onnxruntime keeps the largest batch's memory otherwise, and a
# server that rebuilds every night grew by 30-40 MiB per rebuild (bench/app_memory.py).
RELEASE_ABOVE_TOKENS = 512


@dataclass(frozen=True)
class Encoded:
    """What one pass of the model over some texts gives (see `Encoder.encode`)."""

    vectors: np.ndarray  # (n, dim) normalized
    sums: np.ndarray  # (n, dim) sums of the last-layer token states behind `vectors`
    tokens: list[np.ndarray] | None = None  # per text: (word pieces, dim) normalized token-layer states
    spans: list[np.ndarray] | None = None  # per text: (spans, dim) normalized span vectors
    # with both: per text, the span each of its `tokens` lies in (the last span starting before it)
    token_spans: list[np.ndarray] | None = None

    def pooled(self, first: int, stop: int) -> np.ndarray:
        """The normalized vector of texts first..stop-1 read together, pooled from their passes' `sums`
        (a passage's context: it and the next one)."""
        total = self.sums[first:stop].sum(axis=0)
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


class Encoder(Protocol):
    """One runtime's way of running the model: `Embedder` chooses one when it first needs it."""

    runtime: str  # "onnx" or "torch"

    def encode(
        self,
        texts: list[str],
        prompt: str,
        batch_size: int,
        token_from: list[int] | None = None,
        spans: list[list[tuple[int, int]]] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Encoded:
        """`texts`, each read after `prompt` (character offsets in `token_from` and `spans` are in the
        texts without it): see `TransformerEncoder.encode`."""
        ...

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        """Character spans of the tokens of `text` (no special tokens, no truncation)."""
        ...


class TransformerEncoder:
    """Tokenize with `tokenizers`, run the transformer, mean-pool and L2-normalize; on request also
    return token vectors (see `encode`). `run(ids, mask)` is the transformer's forward pass: onnxruntime's
    (kb/model/onnx.py) or PyTorch's (kb/model/torch.py). An `Encoder`.
    """

    runtime = "onnx"

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
        prompt: str,
        batch_size: int,
        token_from: list[int] | None = None,
        spans: list[list[tuple[int, int]]] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Encoded:
        """`texts` read after `prompt`; offsets in `token_from` and `spans` are in the texts as given (the
        prompt's tokens are never among the token vectors)."""
        shift = len(prompt)
        return self.read(
            [prompt + t for t in texts],
            batch_size,
            None if token_from is None else [shift + f for f in token_from],
            None if spans is None else [[(a + shift, b + shift) for a, b in s] for s in spans],
            progress,
        )

    def read(
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
          pooled from their passes (`Encoded.pooled`).
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


def model_token_layer(model: Any) -> int:
    """Which hidden layer token vectors come from (TOKEN_DEPTH of the way up; the embeddings are layer 0)."""
    layers = int(model[0].auto_model.config.num_hidden_layers)
    return max(1, min(layers, round(layers * TOKEN_DEPTH)))
