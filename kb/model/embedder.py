"""The Embedder: texts in, L2-normalized vectors out, through one `Encoder` (onnxruntime or PyTorch) chosen once."""

from __future__ import annotations

import logging
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from ..config import Settings
from ..errors import KBError
from ..types import ModelIdentity, Query
from .encoder import TOKEN_DEPTH, Encoded, Encoder
from .loading import following, load_lock, load_model, model_identity

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

PASSAGE_LIKE_WORDS = 12
log = logging.getLogger(__name__)
# The loaded runtimes, by model (name and content hash), runtime setting and export directory: every
# Embedder of one model in a process reads with the same copy of it (each `KnowledgeBase.open`, the app's
# and the HTTP server's Service, a rebuild next to them) instead of holding 0.5-1 GB each; a copy no
# Embedder holds any more is freed.
_LOADED: weakref.WeakValueDictionary[tuple[str, str, str, str], Encoder] = weakref.WeakValueDictionary()


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
        self._encoder: Encoder | None = None
        self._query_limit: int | None = None
        self._query_cache: OrderedDict[str, Query] = OrderedDict()
        self._cache_lock = threading.Lock()

    @classmethod
    def following(cls, settings: Settings, recorded: ModelIdentity | None) -> Embedder:
        """The embedder to read or rebuild an index with whose model is `recorded` (None: no index):
        the configured model, or the model `kb tune` made that the index follows (`loading.following`)."""
        return cls(following(settings, recorded), settings)

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
        return self.encoder.runtime

    @property
    def token_depth(self) -> float:
        """How far up the model's layers token vectors are read (a share of its layers)."""
        return TOKEN_DEPTH

    @property
    def encoder(self) -> Encoder:
        """The runtime that reads texts, chosen on first use: onnxruntime (`KB_RUNTIME=onnx`, the default)
        over an export made once and checked against PyTorch, or PyTorch (`KB_RUNTIME=torch`, and for a
        model the export does not reproduce)."""
        if self._encoder is None:
            if self.settings.runtime not in ("onnx", "torch"):
                raise KBError(f"KB_RUNTIME must be 'onnx' or 'torch', not {self.settings.runtime!r}")
            identity = self.identity
            key = (identity.name, identity.source_sha256, self.settings.runtime, str(self.settings.model_cache_dir))
            with load_lock:
                if self._encoder is None:
                    self._encoder = _LOADED.get(key)
                if self._encoder is None:
                    self._encoder = _LOADED[key] = self._choose_encoder()
        return self._encoder

    def _choose_encoder(self) -> Encoder:
        from .torch import TorchEncoder

        if self.settings.runtime == "onnx":
            from .onnx import META_FILE, OnnxUnsupported, ensure_onnx_export, export_dir_for, load_or_explain

            target = export_dir_for(self.settings.model_cache_dir, self.identity)
            try:
                if not (target / META_FILE).is_file():
                    # Export from a private copy: tracing may leave state behind in the model it traces.
                    ensure_onnx_export(load_model(self.name, self.settings), target)
            except OnnxUnsupported as exc:
                log.warning("using PyTorch for %s: %s", self.name, exc)
                return TorchEncoder(self.model)
            return load_or_explain(target)
        return TorchEncoder(self.model)

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

    def read_titles(self, titles: list[str], batch_size: int | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
        """Each article title read as a question (the "query" prompt: help-centre titles are phrased like
        the questions people ask): (n, dim) vectors, and each title's token vectors as a question's are
        (`encode_query`). An empty title gives a zero vector and no token vector (it matches nothing)."""
        batch_size = batch_size or self.settings.embed_batch_size
        read = self._encode([t or " " for t in titles], "query", batch_size, token_from=[0] * len(titles))
        vectors = np.array(read.vectors, dtype=np.float32)
        vectors[np.array([not t for t in titles], dtype=bool)] = 0.0
        empty = np.zeros((0, vectors.shape[1]), np.float32)
        assert read.tokens is not None
        tokens = [np.asarray(t, np.float32) if title else empty for t, title in zip(read.tokens, titles, strict=True)]
        return vectors, tokens

    def encode_query(self, text: str) -> Query:
        """A query's vector, using the model's "query" prompt if it has one, and its token vectors.

        The token vectors are the states, at a middle-upper layer (encoder.TOKEN_DEPTH), of
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
        return self.encoder.encode(texts, prompt, batch_size, token_from, spans, progress)

    def count_tokens(self, text: str) -> int:
        """Tokens the model would read for `text` (without special tokens or prompt)."""
        return len(self.encoder.token_offsets(text))

    def truncate_query(self, text: str) -> tuple[str, bool]:
        """Cut a query to what the model reads (max tokens minus prompt and specials)."""
        if self._query_limit is None:  # what is left after the prompt and <s> </s>
            self._query_limit = self.identity.max_tokens - 2 - self.count_tokens(self.identity.prompts.get("query", ""))
        limit = self._query_limit
        offsets = self.encoder.token_offsets(text)
        if len(offsets) <= limit:
            return text, False
        return text[: offsets[limit - 1][1]], True
