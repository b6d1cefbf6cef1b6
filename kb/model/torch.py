"""The PyTorch runtime: vectors as sentence-transformers makes them, whatever the model's pooling; the rest
(token and span vectors) from the same transformer read again by a `TransformerEncoder`. Used with
`KB_RUNTIME=torch`, for models the ONNX export does not reproduce, and to check that export."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from .encoder import Encoded, TransformerEncoder, model_token_layer

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


def torch_reader(model: SentenceTransformer) -> TransformerEncoder:
    """A `TransformerEncoder` running the model's transformer on PyTorch."""
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
    return TransformerEncoder(own, int(model.max_seq_length or 512), int(tokenizer.pad_token_id or 0), run)


class TorchEncoder:
    """An `Encoder` on PyTorch, over a loaded sentence-transformers model."""

    runtime = "torch"

    def __init__(self, model: SentenceTransformer) -> None:
        self.model = model
        self._reader: TransformerEncoder | None = None  # made when token or span vectors are first asked for

    def encode(
        self,
        texts: list[str],
        prompt: str,
        batch_size: int,
        token_from: list[int] | None = None,
        spans: list[list[tuple[int, int]]] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Encoded:
        import torch

        with torch.inference_mode():
            vectors = self.model.encode(
                texts,
                prompt=prompt or None,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), -1)
        if token_from is None and spans is None:
            return Encoded(vectors, vectors)
        if self._reader is None:
            self._reader = torch_reader(self.model)
        return replace(self._reader.encode(texts, prompt, batch_size, token_from, spans, progress), vectors=vectors)

    def token_offsets(self, text: str) -> list[tuple[int, int]]:
        enc = self.model.tokenizer(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"]]
