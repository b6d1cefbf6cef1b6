"""The public entry point: open an index, search it, ask it, read its documents."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from .answer import compose_answer
from .build import BuildReport, Progress, rebuild
from .config import Settings
from .corpus import corpus_hashes
from .embedding import Embedder
from .errors import KBError
from .language import detect_language
from .principles import find_principles
from .search import dense_search, language_evidence
from .store import REBUILD_HINT, StoredIndex, read_index
from .types import Answer, Document, Hit, Principle

MAX_K = 1000


@dataclass(frozen=True)
class Stats:
    """What an index holds and how it was built."""

    documents: int
    chunks: int
    documents_per_language: dict[str, int]
    chunks_per_language: dict[str, int]
    model: str
    built_at: str
    version: str
    index_dir: str


class KnowledgeBase:
    """A loaded index plus the embedder that reads questions. Create with `KnowledgeBase.open()`."""

    def __init__(self, stored: StoredIndex, embedder: Embedder, settings: Settings, stale_reason: str = "") -> None:
        self.stored = stored
        self.embedder = embedder
        self.settings = settings
        self.stale_reason = stale_reason
        self._principles: list[Principle] | None = None  # all of them, found on first use

    @classmethod
    def open(
        cls,
        index_dir: str | Path | None = None,
        *,
        corpus_dir: str | Path | None = None,
        model: str | None = None,
        allow_stale: bool = False,
        settings: Settings | None = None,
        embedder: Embedder | None = None,
    ) -> KnowledgeBase:
        """Open and validate an index (default ./index or KB_INDEX_DIR).

        Raises KBError when the index is missing, corrupted, built with another model, or stale
        (the corpus changed since it was built; pass allow_stale=True to open it anyway).
        """
        settings = settings or Settings.from_env(
            index_dir=Path(index_dir) if index_dir else None,
            corpus_dir=Path(corpus_dir) if corpus_dir else None,
            model=model,
        )
        stored = read_index(settings.index_dir)
        embedder = embedder or Embedder(settings.model, settings)
        built_with = stored.manifest["model"]
        if built_with != embedder.identity.as_dict():
            raise KBError(
                f"the index in {settings.index_dir} was built with model {built_with.get('name')!r} "
                f"({str(built_with.get('source_sha256'))[:12]}), not the configured {embedder.identity.name!r} "
                f"({embedder.identity.source_sha256[:12]}); {REBUILD_HINT} "
                "(or set KB_MODEL to the model it was built with)"
            )
        stale = staleness(stored, settings.corpus_dir)
        if stale and not allow_stale:
            raise KBError(f"the index is stale: {stale}; {REBUILD_HINT}")
        return cls(stored, embedder, settings, stale)

    @staticmethod
    def rebuild(
        settings: Settings | None = None,
        *,
        full: bool = False,
        progress: Progress | None = None,
        embedder: Embedder | None = None,
    ) -> BuildReport:
        """Re-index the corpus (see `kb.build.rebuild`); pass an open KB's embedder to reuse its model."""
        return rebuild(settings, full=full, progress=progress, embedder=embedder)

    def check_stale(self) -> str:
        """Re-compare the corpus directory with the index; returns (and remembers) what changed."""
        self.stale_reason = staleness(self.stored, self.settings.corpus_dir)
        return self.stale_reason

    def _query(self, text: str) -> tuple[str, str]:
        if not isinstance(text, str) or not text.strip():
            raise KBError("the question is empty; type a question")
        notice = ""
        if len(text) > self.settings.max_query_chars:
            text = text[: self.settings.max_query_chars]
            notice = f"The question was cut to its first {self.settings.max_query_chars} characters."
        text, cut = self.embedder.truncate_query(text)
        if cut and not notice:
            notice = f"The question was cut to the model's limit of {self.embedder.identity.max_tokens} tokens."
        return text, notice

    @staticmethod
    def _check_k(k: int) -> None:
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise KBError(f"k must be an integer between 1 and {MAX_K}, got {k!r}")

    def search(self, query: str, k: int = 10, languages: Iterable[str] | None = None) -> list[Hit]:
        """The k passages closest in meaning to `query`, in any language (or only `languages`)."""
        self._check_k(k)
        text, _ = self._query(query)
        return dense_search(self.stored, self.embedder.encode_query(text), k, _langs(languages))

    def ask(self, question: str, k: int = 5, languages: Iterable[str] | None = None) -> Answer:
        """An extractive answer: the best evidence sentences of the top-k passages, cited."""
        self._check_k(k)
        text, notice = self._query(question)
        query = self.embedder.encode_query(text)
        hits = dense_search(self.stored, query, k, _langs(languages))
        hits = language_evidence(self.stored, query, hits, self.settings.confident_score, _langs(languages))
        query_lang = detect_language(text, allowed=self.languages())
        return compose_answer(
            question,
            query_lang,
            query.vector,
            hits,
            self.stored,
            self.settings,
            notice,
        )

    def principles(self, limit: int = 10) -> list[Principle]:
        """The main points the corpus makes across articles and languages, most widely made first.

        Computed from the stored vectors alone (no model call); see `kb.principles.find_principles`.
        """
        if limit < 1:
            raise KBError(f"limit must be at least 1, not {limit}")
        if self._principles is None:
            self._principles = find_principles(self.stored, limit=len(self.stored.chunks))
        return self._principles[:limit]

    def document(self, doc_id: str) -> Document:
        """The full article `doc_id` (its body is what citation offsets point into)."""
        try:
            return self.stored.documents[doc_id]
        except KeyError:
            raise KBError(f"no document {doc_id!r}; known ids: {', '.join(sorted(self.stored.documents))}") from None

    def documents(self) -> list[Document]:
        """All indexed articles."""
        return list(self.stored.documents.values())

    def languages(self) -> list[str]:
        """Languages the corpus holds."""
        return sorted({d.lang for d in self.stored.documents.values()})

    def stats(self) -> Stats:
        """Documents and chunks per language, model, build time."""
        m = self.stored.manifest
        return Stats(
            documents=len(self.stored.documents),
            chunks=len(self.stored.chunks),
            documents_per_language=dict(Counter(d.lang for d in self.stored.documents.values())),
            chunks_per_language=dict(Counter(c.lang for c in self.stored.chunks)),
            model=m["model"]["name"],
            built_at=m["built_at"],
            version=m["version"],
            index_dir=str(self.settings.index_dir),
        )


def staleness(stored: StoredIndex, corpus_dir: Path) -> str:
    """Why the index no longer matches the corpus directory ("" when it matches or there is no corpus)."""
    if not corpus_dir.is_dir():
        return ""
    recorded = {meta["path"]: meta["sha256"] for meta in stored.manifest["documents"].values()}
    recorded.update(stored.manifest.get("skipped", {}))
    current = corpus_hashes(corpus_dir)
    changes = [f"{name} was added" for name in current.keys() - recorded.keys()]
    changes += [f"{name} was removed" for name in recorded.keys() - current.keys()]
    changes += [f"{name} changed" for name in current.keys() & recorded.keys() if current[name] != recorded[name]]
    return ", ".join(sorted(changes)[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")


def _langs(languages: Iterable[str] | None) -> list[str] | None:
    if languages is None:
        return None
    if isinstance(languages, str):
        return [languages]
    return list(languages)
