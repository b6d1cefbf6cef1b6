"""One Settings object; every tunable lives here, overridable by KB_* environment variables."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .errors import KBError
from .readers.structure import Limits
from .types import IndexSpec

DEFAULT_MODEL = "multilingual-e5-small"
# Settings an empty KB_* variable sets to "" (none: no role for people without an account, no trusted
# proxy); for every other setting an empty variable counts as unset.
EMPTY_MEANS_NONE = ("signed_in_role", "trusted_proxies")
BOOLEANS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _default_cache() -> Path:
    from platformdirs import user_cache_path

    return user_cache_path("cx-kb") / "models"


@dataclass(frozen=True)
class Settings:
    """Paths, model and tuning knobs. `Settings.from_env()` applies KB_* environment overrides."""

    corpus_dir: Path = Path("corpus")
    index_dir: Path = Path("index")
    model: str = DEFAULT_MODEL  # the default name, or a path to a sentence-transformers directory
    model_cache: Path | None = None  # where the default model is converted to; None = user cache
    # Corpus files above this size are skipped: a 2 MB article already takes ~30 min to embed on 2 cores.
    max_article_bytes: int = 2_000_000
    # PDF and DOCX files above this size are skipped; so are PDFs with more pages and DOCX files
    # (zip archives) that expand to more bytes (a zip bomb).
    max_binary_bytes: int = 50_000_000
    max_pages: int = 2_000
    max_unzipped_bytes: int = 100_000_000
    # Chunking: paragraphs above this many tokens are split at sentence boundaries.
    max_chunk_tokens: int = 200
    embed_batch_size: int = 16
    # "onnx": vectors from onnxruntime (an export checked against PyTorch); "torch": sentence-transformers.
    runtime: str = "onnx"
    # Vector sets up to this many rows are searched exactly; larger ones get an HNSW graph with these
    # parameters (chosen with bench/scale.py; they take effect at the next rebuild).
    exact_search_max: int = 20_000
    hnsw_m: int = 32
    hnsw_ef_construction: int = 64
    hnsw_ef_search: int = 256
    # Where index versions live: "faiss" (files in index_dir, searched in-process) or "pgvector"
    # (PostgreSQL + pgvector at database_url; without a URL, a server the project starts under index_dir).
    vector_store: str = "faiss"
    database_url: str = field(default="", repr=False)  # may hold a password: never printed
    database_reader: str = "kb_reader"  # the read-only role a rebuild lets read each version it writes
    # A vector set over this many rows is split into hash partitions (shards) of about this many, each
    # with its own HNSW graph; a search walks every shard and merges. One graph of 1M mixed help-centre
    # passages found 0.55 of the exact top 10 at ef_search 100 and 0.85 at 400; ten of 100k, 0.999 at 400.
    database_shard_rows: int = 100_000
    # pgvector's hnsw.ef_search, in each shard: with mixed help-centre passages, 400 found 0.992 of the
    # exact top 10 at 100k passages (11 ms a search) and 0.999 at 1M in ten shards (133 ms); 200 found
    # 0.970 and 0.990 (bench/engine.py; docs/measurements.md)
    database_ef_search: int = 400
    query_cache_size: int = 256
    # Queries longer than this many characters are cut (the model reads at most 512 tokens anyway).
    max_query_chars: int = 2000
    # Answering: a best passage whose relevance (Hit.score) is below this is "not confident". Unset (the
    # default), each index version has its own, calibrated on its corpus's titles (kb/calibration.py);
    # set, this one for every corpus.
    confident_score: float | None = None
    answer_points: int = 5  # the most points of an answer drawing on fewer passages (k) than this
    # The app keeps the questions it found no confident answer to in index_dir/gaps.jsonl, for the
    # content-gap report (`kb gaps`): its language, the day, the best score and the nearest article;
    # nothing about who asked. Its wording only with gap_questions on (e-mail addresses, links and
    # numbers blanked; names and street addresses are NOT recognised). KB_GAP_LOG=off turns it all off.
    gap_log: bool = True
    gap_questions: bool = False
    # Helpful / not helpful and "wrong source" on answers, with an optional comment, for the editors
    # (index_dir/feedback.jsonl): the day, the language, the answer's citations, the index version; the
    # question's wording only with gap_questions on; comments with e-mail addresses, links and numbers
    # blanked. Never read by the ranking. KB_FEEDBACK_LOG=off turns it off.
    feedback_log: bool = True
    # For the editors' charts and the articles no question reaches (index_dir/questions.jsonl): per question
    # the day, its language, whether the answer was confident and the articles it cited; no wording and
    # nothing about who asked. KB_USAGE_LOG=off turns it off.
    usage_log: bool = True
    # Questions whose vectors, without the corpus's language directions, are at least this similar are one
    # group in the report, whatever their languages: on bench/data/question_pairs (GNOME help titles and
    # descriptions in six languages, paired by page), best F1 on dev at 0.87; test precision 0.73, recall
    # 0.70 (bench/grouping.py; docs/measurements.md).
    gap_similarity: float = 0.87
    # Syncing from help centres (`kb sync`): requests a second to one host, seconds a server may take
    # to connect or to send the next part of a response, and the longest Retry-After waited for.
    sync_rate: float = 4.0
    sync_timeout: float = 20.0
    sync_max_wait: float = 60.0
    # The HTTP API (`kb serve`): requests a minute one API key may make; origins (comma-separated) a
    # browser widget may call it from (CORS; empty: none).
    api_rate: int = 120
    api_cors_origins: str = ""
    # Who uses the app (docs/access.md). With no identity configured it serves this machine only
    # (127.0.0.1) and its user may change the knowledge base; served beyond it, it refuses unless
    # app_anonymous is on, and then everyone only reads. A trusted reverse proxy names the person in
    # proxy_user_header (e.g. X-Forwarded-User; empty: off), honoured only from trusted_proxies
    # (addresses or networks). People the proxy or OIDC signs in who have no account get signed_in_role
    # ("" refuses them). A signed-in session lasts session_hours.
    app_anonymous: bool = False
    proxy_user_header: str = ""
    trusted_proxies: str = "127.0.0.1,::1"
    signed_in_role: str = "reader"
    session_hours: float = 12.0
    # How the app presents the deployment (title, intro, placeholder, examples per interface language):
    # a TOML file, by default app.toml at the top of the corpus (kb/presentation.py, docs/configuration.md)
    app_config: Path | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Defaults, then KB_<FIELD> environment variables, then explicit non-None overrides."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = os.environ.get("KB_" + f.name.upper())
            if raw or (raw == "" and f.name in EMPTY_MEANS_NONE):
                try:
                    values[f.name] = _coerce(f.type, raw)
                except ValueError as exc:
                    raise KBError(f"KB_{f.name.upper()}={raw!r} is not valid: {exc}") from None
        types = {f.name: str(f.type) for f in fields(cls)}
        for key, value in overrides.items():
            if value is not None:  # a path given as a string is still a path
                values[key] = Path(value) if "Path" in types.get(key, "") and isinstance(value, str) else value
        return replace(cls(), **values)

    @property
    def index_spec(self) -> IndexSpec:
        return IndexSpec(self.exact_search_max, self.hnsw_m, self.hnsw_ef_construction, self.hnsw_ef_search)

    @property
    def limits(self) -> Limits:
        return Limits(self.max_article_bytes, self.max_binary_bytes, self.max_pages, self.max_unzipped_bytes)

    @property
    def model_cache_dir(self) -> Path:
        return self.model_cache if self.model_cache is not None else _default_cache()


def _coerce(type_name: Any, raw: str) -> Any:
    name = str(type_name)
    if "Path" in name:
        return Path(raw)
    if name == "int":
        return int(raw)
    if name in ("float", "float | None"):
        return float(raw)
    if name == "bool":
        if raw.strip().lower() not in BOOLEANS:
            raise ValueError(f"expected one of {', '.join(BOOLEANS)}, got {raw!r}")
        return BOOLEANS[raw.strip().lower()]
    return raw
