"""The public entry point: open an index, search it, ask it, read its documents."""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

from . import calibration
from .answer import compose_answer
from .build import BuildReport, Progress, add_files, rebuild
from .config import Settings
from .corpus import corpus_hashes
from .duplicates import Contradiction, NearDuplicate, contradictions, near_duplicates
from .errors import REBUILD_HINT, IndexUnusable, KBError
from .index import Index
from .language import UNKNOWN, detect_language, has_words, numbers_in, ranking_language
from .model import Embedder
from .principles import find_principles
from .search import FETCH_AT_LEAST, Ranking, language_evidence
from .sources import SourceReport
from .storage import open_store
from .storage.base import FORMAT_VERSION
from .types import Answer, Article, Cut, Document, Hit, Principle, Skipped

MAX_K = 1000  # the library's bound (evaluations, the command line)
MAX_K_ASKED = 20  # passages one question or search draws on in the app and the HTTP API


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
    format_version: int = FORMAT_VERSION
    sentences: int = 0
    token_vectors: int = 0
    token_norms: tuple[float, float] = (0.0, 0.0)  # smallest and largest stored token-vector norm (unit: 1.0)
    skipped: tuple[Skipped, ...] = ()  # corpus files the index does not hold, with the reason
    question_adapter: bool = False  # a question adapter fitted to the corpus (kb/adapter.py)
    confident_score: float = 0.0  # the threshold of a confident answer (KnowledgeBase.confident_score)
    cross_lingual_score: float = 0.0  # the same for a question in a language no article is written in
    confidence: str = "fixed"  # how it was set: "set" (KB_CONFIDENT_SCORE), "calibrated" or "fixed" (small corpus)
    # question languages no article is written in whose direction search removes (Index.foreign_direction)
    foreign_languages: tuple[str, ...] = ()


@dataclass(frozen=True)
class SyncResult:
    """What `KnowledgeBase.sync` did: one report per source, and the rebuild after it (None: a dry run)."""

    sources: list[SourceReport]
    build: BuildReport | None
    build_error: str = ""  # the rebuild after the sync failed (the index served is the one before)

    @property
    def ok(self) -> bool:
        """Did every source sync completely, and the rebuild after it?"""
        return all(r.ok for r in self.sources) and not self.build_error

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": self.ok,
            "sources": [asdict(r) | {"ok": r.ok} for r in self.sources],
            "build": None if self.build is None else asdict(self.build),
            "build_error": self.build_error,
        }


class KnowledgeBase:
    """A loaded index plus the embedder that reads questions. Create with `KnowledgeBase.open()`."""

    def __init__(self, index: Index, embedder: Embedder, settings: Settings, stale_reason: str = "") -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.stale_reason = stale_reason
        _one_blas_thread()
        self._principles: list[Principle] | None = None  # all of them, found on first use
        self._examples: dict[tuple[str, int], list[str]] = {}
        self._repeats: tuple[list[NearDuplicate], list[Contradiction]] | None = None

    @functools.cached_property
    def confident_score(self) -> float:
        """The relevance an answer's best passage needs for the answer to be confident: KB_CONFIDENT_SCORE
        when set, else this version's own, calibrated on the corpus's titles (kb/calibration.py)."""
        return self._thresholds[0]

    @functools.cached_property
    def cross_lingual_score(self) -> float:
        """The same for a question in a language none of the searched articles is written in: it can
        only be answered across languages (KB_CONFIDENT_SCORE when set, else calibrated on what the
        titles find in the other languages)."""
        return self._thresholds[1]

    @functools.cached_property
    def _thresholds(self) -> tuple[float, float]:
        if self.settings.confident_score is not None:
            return self.settings.confident_score, self.settings.confident_score
        return calibration.calibrated(self.index, self.settings.index_dir)

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
        store = open_store(settings)
        index = Index.load(store)
        built_with = index.manifest.model
        embedder = embedder or Embedder.following(settings, built_with)
        if built_with != embedder.identity:
            raise IndexUnusable(
                f"the index in {store.where} was built with model {built_with.name!r} "
                f"({built_with.source_sha256[:12]}), not the configured {embedder.identity.name!r} "
                f"({embedder.identity.source_sha256[:12]}); {REBUILD_HINT} "
                "(or set KB_MODEL to the model it was built with)"
            )
        stale = staleness(index, settings.corpus_dir)
        if stale and not allow_stale:
            raise IndexUnusable(f"the index is stale: {stale}; {REBUILD_HINT}")
        return cls(index, embedder, settings, stale)

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

    @staticmethod
    def add(
        files: Iterable[str | Path | tuple[str, bytes]],
        settings: Settings | None = None,
        *,
        progress: Progress | None = None,
        embedder: Embedder | None = None,
    ) -> BuildReport:
        """Copy files (paths, or (name, bytes) as an upload gives them) into the corpus directory, replacing
        files of the same name, then rebuild incrementally. Unsupported formats are refused before any copy."""
        settings = settings or Settings.from_env()
        items = []
        for f in files:
            if isinstance(f, tuple):
                items.append(f)
            else:
                path = Path(f)
                try:
                    items.append((path.name, path.read_bytes()))
                except OSError as exc:
                    raise KBError(f"cannot read {path}: {exc.strerror}") from None
        add_files(settings, items)
        return rebuild(settings, progress=progress, embedder=embedder)

    @staticmethod
    def sync(
        settings: Settings | None = None,
        *,
        names: Iterable[str] | None = None,
        dry_run: bool = False,
        allow_deletions: bool = False,
        progress: Progress | None = None,
        embedder: Embedder | None = None,
    ) -> SyncResult:
        """Bring the corpus in step with its recorded help centres (`kb source add`), then rebuild
        incrementally (not with `dry_run`). See kb/sources/sync.py for what a sync never does."""
        from .sources import sync

        settings = settings or Settings.from_env()
        reports = sync(settings, names, dry_run=dry_run, allow_deletions=allow_deletions)
        if dry_run:
            return SyncResult(reports, None)
        try:
            return SyncResult(reports, rebuild(settings, progress=progress, embedder=embedder))
        except KBError as exc:  # e.g. a first sync that brought nothing: the sources' reports say why
            return SyncResult(reports, None, build_error=str(exc))

    @staticmethod
    def current_version(index_dir: str | Path | None = None) -> str:
        """The version name of the usable index in `index_dir` (default ./index or KB_INDEX_DIR; or the
        database KB_VECTOR_STORE and KB_DATABASE_URL name), or ""
        when there is none (missing, corrupted, or of an older format). Cheap: reads the manifest only."""
        manifest = open_store(Settings.from_env(index_dir=index_dir)).manifest()
        return manifest.version if manifest else ""

    @property
    def version(self) -> str:
        """The name of the index version this knowledge base answers from."""
        return self.index.version

    def check_stale(self) -> str:
        """Re-compare the corpus directory with the index; returns (and remembers) what changed."""
        self.stale_reason = staleness(self.index, self.settings.corpus_dir)
        return self.stale_reason

    def _query(self, text: str) -> tuple[str, Cut | None]:
        self.index.check_intact()
        if not isinstance(text, str) or not text.strip():
            raise KBError("the question is empty; type a question")
        if not has_words(text):  # emoji, punctuation, zero-width only
            raise KBError("the question has no words; type a question")
        shortened = None
        if len(text) > self.settings.max_query_chars:
            text = text[: self.settings.max_query_chars]
            shortened = Cut("characters", self.settings.max_query_chars)
        text, cut = self.embedder.truncate_query(text)
        if cut and shortened is None:
            shortened = Cut("tokens", self.embedder.identity.max_tokens)
        return text, shortened

    def _languages(self, languages: Iterable[str] | None) -> list[str] | None:
        """The language filter, checked: None searches every language; an empty or unknown one is refused."""
        if languages is None:
            return None
        chosen = [languages] if isinstance(languages, str) else list(languages)
        held = self.languages()
        if not chosen:
            raise KBError(f"no language chosen; choose one or more of: {', '.join(held)}")
        unknown = sorted(set(chosen) - set(held))
        if unknown:
            raise KBError(
                f"the knowledge base has no articles in {', '.join(map(repr, unknown))}; "
                f"its languages are: {', '.join(held)}"
            )
        return chosen

    @staticmethod
    def _check_k(k: int) -> None:
        if not isinstance(k, int) or not 1 <= k <= MAX_K:
            raise KBError(f"k must be an integer between 1 and {MAX_K}, got {k!r}")

    def search(self, query: str, k: int = 10, languages: Iterable[str] | None = None) -> list[Hit]:
        """The k passages closest in meaning to `query`, in any language (or only `languages`)."""
        self._check_k(k)
        text, _ = self._query(query)
        vectors = self.embedder.encode_query(text)
        langs = self._languages(languages)
        return Ranking(self.index, vectors, langs, ranking_language(text), numbers_in(text)).top(k)

    def ask(
        self, question: str, k: int = 5, languages: Iterable[str] | None = None, reader_lang: str | None = None
    ) -> Answer:
        """An extractive answer: the best evidence sentences of the top-k passages (and of the best
        passage of each language they miss), cited. One scoring pass serves all of it. Points come in
        search's order; among points of near-equal relevance, those in the question's language (then
        `reader_lang`, e.g. the interface's) first, each led by its version in that language if it has one."""
        self._check_k(k)
        text, cut = self._query(question)
        # the question's own language loses a little in ranking (search.OWN_LANGUAGE)
        langs = self._languages(languages)
        asked_in = ranking_language(text)
        ranking = Ranking(self.index, self.embedder.encode_query(text), langs, asked_in, numbers_in(text))
        top = ranking.top(k)
        # a question in a language none of the searched articles is written in is answered across
        # languages only: its threshold is calibrated so (kb/calibration.py)
        across = asked_in != UNKNOWN and asked_in not in (langs if langs is not None else self.index.languages)
        threshold = self.cross_lingual_score if across else self.confident_score
        hits = language_evidence(ranking, top, threshold)
        # Confident when the best-ranked passage clears the threshold, as `search` ranks it: the best
        # passage of a language the top misses is found among fewer candidates, and a score it reaches
        # there is not what the threshold was set on (help-centre dev: one off-topic question of 60
        # was confident through an Italian passage at 0.733).
        confident = bool(top) and top[0].score >= threshold
        query_lang = detect_language(text, allowed=self.languages())
        # One point at most per passage drawn from, so `k` is how much evidence the answer may show
        # (with k = 20 the app showed 5 points, as with 6: the cap was answer_points alone).
        points = max(self.settings.answer_points, k)
        prefer = tuple(dict.fromkeys(lang for lang in (query_lang, reader_lang) if lang))
        # rivals of point 1 among search's first ten whatever k is, so that `confident` does not depend on k
        ranked = top if k >= FETCH_AT_LEAST else ranking.top(FETCH_AT_LEAST)
        return compose_answer(question, query_lang, ranking, hits, confident, points, cut, prefer, ranked)

    def principles(self, limit: int = 10) -> list[Principle]:
        """The main points the corpus makes across articles and languages, most widely made first.

        Computed from the stored vectors alone (no model call); see `kb.principles.find_principles`.
        """
        if limit < 1:
            raise KBError(f"limit must be at least 1, not {limit}")
        if self._principles is None:
            self._principles = find_principles(self.index, limit=len(self.index))
        return self._principles[:limit]

    def repeats(self) -> tuple[list[NearDuplicate], list[Contradiction]]:
        """Passages that repeat each other within a language, and sentences on one topic whose numbers
        differ (kb/duplicates.py); found once per version, from the stored vectors."""
        if self._repeats is None:
            self._repeats = (near_duplicates(self.index), contradictions(self.index))
        return self._repeats

    def document(self, doc_id: str) -> Document:
        """The full article `doc_id` (its body is what citation offsets point into)."""
        return self.index.document(doc_id)

    def documents(self) -> list[Document]:
        """All indexed articles."""
        return list(self.index.documents.values())

    def library(self) -> list[Article]:
        """Every indexed article with its language, source, translations and passage count, by title."""
        langs = self.index.document_langs
        out = []
        for doc in self.index.documents.values():
            out.append(
                Article(
                    doc_id=doc.doc_id,
                    title=doc.title,
                    lang=doc.lang,
                    source=doc.source or doc.path,
                    published=doc.published,
                    format=doc.format,
                    passages=len(self.index.rows_of_document(doc.doc_id)),
                    translations={t: langs[t] for t in self.index.translations(doc.doc_id)},
                )
            )
        return sorted(out, key=lambda a: (a.title.casefold(), a.lang, a.doc_id))

    def examples(self, lang: str, n: int = 4) -> list[str]:
        """Up to `n` example questions drawn from the corpus: article titles, in `lang` when the corpus
        has articles in it, each one that search answers with its own article (or a translation of it)
        first. The same for every call on one version; spread over the corpus, not its first titles."""
        if (lang, n) not in self._examples:
            articles = sorted(
                self.index.documents.values(),
                key=lambda d: (d.lang != lang, hashlib.sha256(d.doc_id.encode()).hexdigest()),
            )
            chosen: list[str] = []
            for doc in articles[: 4 * n]:  # a bounded number of searches, whatever the corpus's size
                title = " ".join(doc.title.split())
                if len(chosen) == n:
                    break
                if not 2 <= len(title.split()) <= 12 or title.casefold() in map(str.casefold, chosen):
                    continue
                first = self.search(title, k=1)
                if first and first[0].doc_id in {doc.doc_id, *self.index.translations(doc.doc_id)}:
                    chosen.append(title)
            self._examples[(lang, n)] = chosen
        return list(self._examples[(lang, n)])

    def languages(self) -> list[str]:
        """Languages the corpus holds."""
        return list(self.index.document_languages)

    def stats(self) -> Stats:
        """What the index holds, how it was built, its health (token-vector norms) and the skipped files."""
        m, health = self.index.manifest, self.index.health()
        return Stats(
            documents=health.documents,
            chunks=health.chunks,
            documents_per_language=dict(Counter(self.index.document_langs.values())),
            chunks_per_language=dict(m.counts.chunks_per_language),
            model=m.model.name,
            built_at=m.built_at,
            version=m.version,
            index_dir=open_store(self.settings).where,
            format_version=health.format_version,
            sentences=health.sentences,
            token_vectors=health.token_vectors,
            token_norms=health.token_norms,
            skipped=health.skipped,
            question_adapter=health.question_adapter,
            confident_score=self.confident_score,
            cross_lingual_score=self.cross_lingual_score,
            confidence="set"
            if self.settings.confident_score is not None
            else "fixed"
            if len(self.index.documents) < calibration.MIN_TITLES
            else "calibrated",
            foreign_languages=tuple(self.index.foreign_languages()),
        )


def staleness(index: Index, corpus_dir: Path) -> str:
    """Why the index no longer matches the corpus directory ("" when it matches or there is no corpus)."""
    if not corpus_dir.is_dir():
        return ""
    recorded = index.manifest.files_read()
    current = corpus_hashes(corpus_dir)
    changes = [f"{name} was added" for name in current.keys() - recorded.keys()]
    changes += [f"{name} was removed" for name in recorded.keys() - current.keys()]
    changes += [f"{name} changed" for name in current.keys() & recorded.keys() if current[name] != recorded[name]]
    return ", ".join(sorted(changes)[:5]) + (f" and {len(changes) - 5} more" if len(changes) > 5 else "")


@functools.cache
def _one_blas_thread() -> None:
    """numpy's BLAS on one thread in this process (once).

    A question's matrix products are small; BLAS threads spinning after them took the cores the
    model needed for the next question: at 10k articles, question embedding p50 15.6 ms with them,
    7.3 ms without, and `ask` 57.7 ms against 31.3 (bench/ingest.py). The model (onnxruntime) and
    FAISS keep their own threads.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
