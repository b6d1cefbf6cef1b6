"""A knowledge base that stays up in a server: one loaded version, rebuilt in the background, swapped in place.

The app keeps one `Service` per process (not per browser session). Questions go to the version it
holds; a rebuild runs on a thread of its own, so closing the tab that started it does not stop it,
and every session reads its progress from `Service.job`. When the new version is written, the job
loads it with the model already in memory and swaps it in: the next question is answered by it
without a cold start, and the old version is released (its memory maps closed), so memory stays flat
over nightly rebuilds. A version written by another process (`kb rebuild`) is picked up the same way.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace

from .access import Principal, record
from .build import BuildReport
from .config import Settings
from .conversations import Conversations
from .errors import KBError
from .feedback import Cited, Feedback, FeedbackLog
from .gaps import GapLog, GapReport, gap_report
from .knowledge_base import KnowledgeBase
from .language import detect_language
from .model import Embedder
from .sources import SourceConfig, SourceReport, load_sources, sync_status
from .storage import open_store
from .types import Answer
from .usage import UsageLog

_SHARED: dict[Settings, Service] = {}
_SHARED_LOCK = threading.Lock()
STAGES = ("reading", "embedding")  # the progress stages a job reports with counts (files, articles)
PHASES = ("adapting",)  # stages without counts: fitting the question adapter
M_MMAP_THRESHOLD, MMAP_THRESHOLD = -3, 128 * 1024  # glibc's mallopt parameter, and its default value


def _hand_back_large_blocks() -> None:
    """Keep glibc's malloc giving blocks of 128 KiB and more back to the system when they are freed.

    By default glibc raises that threshold each time such a block is freed, up to 32 MiB; after that,
    a rebuild's large arrays come from the heap, which does not shrink, and a server rebuilding every
    night grew by 30-40 MiB per rebuild (bench/app_memory.py). Fixing the threshold at its default
    turns the raising off. Not glibc (musl, macOS): nothing to do.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)
    except (OSError, AttributeError):
        pass


@dataclass(frozen=True)
class Job:
    """A background rebuild as every session sees it."""

    number: int  # 1, 2, ... in this process
    kind: str  # "rebuild", "full rebuild", "add" or "sync"
    started: float  # time.time()
    stage: str = ""  # "", "syncing", "reading", "embedding", "loading" (the new version), "done"
    done: int = 0
    total: int = 0
    stage_started: float = 0.0
    finished: float = 0.0  # 0 while it runs
    error: str = ""
    report: BuildReport | None = None
    files: tuple[str, ...] = ()  # what an "add" job put into the corpus
    synced: tuple[SourceReport, ...] = ()  # what a "sync" job did, per help centre

    @property
    def running(self) -> bool:
        return not self.finished

    @property
    def seconds_left(self) -> float | None:
        """Time left in the current stage at the rate so far (None before there is a rate)."""
        if self.stage not in STAGES or not 0 < self.done < self.total:
            return None
        return (time.time() - self.stage_started) / self.done * (self.total - self.done)


class Service:
    """The current `KnowledgeBase` of a long-running process, and its one background rebuild."""

    def __init__(self, settings: Settings | None = None, embedder: Embedder | None = None) -> None:
        self.settings = settings or Settings.from_env()
        _hand_back_large_blocks()  # a long-lived process: what a rebuild frees goes back to the system
        # Each load and each job otherwise picks the model the index follows (a `kb tune` in another
        # process changes it): one copy of a model is shared by all its Embedders, so that costs nothing.
        self._embedder = embedder
        self._kb: KnowledgeBase | None = None
        self._lock = threading.Lock()  # guards _kb and _job
        self._loading = threading.Lock()  # one version load at a time
        self._job: Job | None = None
        self._thread: threading.Thread | None = None
        self.gaps = GapLog(self.settings)
        self.feedback = FeedbackLog(self.settings)
        self.usage = UsageLog(self.settings)
        self.conversations = Conversations(self.settings)
        self.conversations.prune()

    @classmethod
    def shared(cls, settings: Settings | None = None) -> Service:
        """The one Service of this process for these settings (the app's sessions all use it)."""
        settings = settings or Settings.from_env()
        with _SHARED_LOCK:
            if settings not in _SHARED:
                _SHARED[settings] = cls(settings)
            return _SHARED[settings]

    def loaded(self) -> KnowledgeBase | None:
        """The version in memory, without looking for a newer one (cheap: for polling)."""
        with self._lock:
            return self._kb

    # -- the served version ------------------------------------------------------------------------

    def version(self) -> str:
        """The version on disk (or in the database) now; "" when there is no usable one."""
        manifest = open_store(self.settings).manifest()
        return manifest.version if manifest else ""

    def knowledge_base(self) -> KnowledgeBase:
        """The loaded knowledge base, moved to the current version if another process wrote a new one.

        KBError when there is no usable index (missing, corrupted, another model) and none is loaded."""
        current = self.version()
        with self._lock:
            kb = self._kb
        if kb is not None and (not current or current == kb.version):
            return kb  # up to date, or the stored one is unusable: keep answering from the loaded one
        if self.job_running() and kb is not None:
            return kb  # the job swaps the new version in when it has loaded it
        return self._load()

    def _load(self) -> KnowledgeBase:
        with self._loading:  # sessions that find a new version at once load it once
            current = self.version()
            kb = self.loaded()
            if kb is not None and current and current == kb.version:
                return kb
            kb = KnowledgeBase.open(settings=self.settings, allow_stale=True, embedder=self._embedder)
            kb.embedder.warm_up()  # load the model now (if not yet), not on the first question
            with self._lock:
                self._kb = kb  # the version it replaces is released with its last reference
            _find_principles_soon(kb)
            return kb

    def sources(self) -> list[tuple[SourceConfig, dict[str, object] | None]]:
        """The help centres the corpus mirrors, each with how its last sync ended (None: never synced)."""
        return [(config, sync_status(self.settings, config.name)) for config in load_sources(self.settings)]

    def ask(
        self,
        question: str,
        k: int = 5,
        languages: Iterable[str] | None = None,
        reader_lang: str | None = None,
        example: bool = False,
    ) -> Answer:
        """`KnowledgeBase.ask` on the current version; a question without a confident answer goes to the gap
        log, unless it is one of the page's `example` questions (nobody's need)."""
        kb = self.knowledge_base()
        answer = kb.ask(question, k=k, languages=languages, reader_lang=reader_lang)
        if not example:
            self.usage.record(answer, kb.version)
            if not answer.confident:
                self.gaps.record(answer)
        return answer

    def report(self, days: int = 30) -> GapReport:
        """The editors' report on the current version, from every log this process keeps (kb/gaps.py)."""
        return gap_report(self.knowledge_base(), self.gaps.read(), self.feedback.read(), self.usage.read(), days)

    def feedback_on(
        self, answer: Answer, helpful: bool | None = None, wrong: tuple[int, ...] = (), comment: str = ""
    ) -> Feedback:
        """Keep what a person says of `answer` for the editors (kb/feedback.py): helpful or not, the
        citation numbers they flag as the wrong source, a comment."""
        cited = [Cited(c.doc_id, c.start, c.end) for c in answer.citations]
        return self.give_feedback(
            answer.question, cited, helpful, wrong, comment, lang=answer.query_lang, confident=answer.confident
        )

    def give_feedback(
        self,
        question: str,
        citations: list[Cited],
        helpful: bool | None = None,
        wrong: tuple[int, ...] = (),
        comment: str = "",
        *,
        lang: str = "",
        confident: bool = False,
    ) -> Feedback:
        """Feedback on an answer the caller holds as its question and citations (the HTTP API): each
        citation must point into an article of the current version (NotFound, KBError otherwise)."""
        kb = self.knowledge_base()
        for c in citations:
            body = kb.document(c.doc_id).body
            if not 0 <= c.start < c.end <= len(body):
                raise KBError(f"citation {c.start}-{c.end} is outside article {c.doc_id!r} ({len(body)} characters)")
        lang = lang or detect_language(question, allowed=kb.languages())
        return self.feedback.record(question, lang, citations, helpful, wrong, comment, kb.version, confident)

    # -- the background rebuild --------------------------------------------------------------------

    @property
    def job(self) -> Job | None:
        """The running job, or the last one that ended (None before the first)."""
        with self._lock:
            return self._job

    def job_running(self) -> bool:
        job = self.job
        return job is not None and job.running

    def start(
        self,
        *,
        full: bool = False,
        uploads: list[tuple[str, bytes]] | None = None,
        sync: bool = False,
        by: Principal | None = None,
    ) -> Job:
        """Start a rebuild (of everything when `full`; after copying `uploads` into the corpus when given;
        after syncing the recorded help centres with `sync`); `by`: who, for the audit log.

        KBError when one is already running here (another process's rebuild is refused by the index lock,
        and the job ends with that error)."""
        with self._lock:
            if self._job is not None and self._job.running:
                raise KBError("a rebuild is already running; wait for it to finish")
            number = self._job.number + 1 if self._job else 1
            kind = "sync" if sync else "add" if uploads else "full rebuild" if full else "rebuild"
            self._job = job = Job(number, kind, time.time(), files=tuple(name for name, _ in uploads or ()))
            self._thread = threading.Thread(
                target=self._run, args=(full, uploads, sync), name=f"kb-{kind}-{number}", daemon=True
            )
            self._thread.start()
        if by is not None:  # who changed the knowledge base, in the audit log
            record(self.settings, by, kind, ", ".join(name for name, _ in uploads or ()))
        return job

    def wait(self, timeout: float | None = None) -> Job | None:
        """Block until the running job ends (for scripts and tests); returns it."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout)
        return self.job

    def _update(self, **changes: object) -> None:
        with self._lock:
            assert self._job is not None
            self._job = replace(self._job, **changes)  # type: ignore[arg-type]

    def _progress(self, done: int, total: int, stage: str) -> None:
        job = self.job
        if job is None or stage not in STAGES + PHASES:
            return
        started = job.stage_started if job.stage == stage else time.time()
        self._update(stage=stage, done=done, total=total, stage_started=started)

    def _run(self, full: bool, uploads: list[tuple[str, bytes]] | None, sync: bool = False) -> None:
        try:
            embedder = self._embedder
            if embedder is None:  # the model the index follows now; held until the new version is loaded
                manifest = open_store(self.settings).manifest()
                embedder = Embedder.following(self.settings, manifest.model if manifest else None)
            if sync:
                self._update(stage="syncing")
                result = KnowledgeBase.sync(self.settings, progress=self._progress, embedder=embedder)
                self._update(synced=tuple(result.sources))
                if result.build is None:
                    raise KBError(result.build_error or "the sync brought nothing to index")
                report = result.build
            elif uploads:
                report = KnowledgeBase.add(uploads, self.settings, progress=self._progress, embedder=embedder)
            else:
                report = KnowledgeBase.rebuild(self.settings, full=full, progress=self._progress, embedder=embedder)
            loaded = self._kb
            if report.changed or loaded is None or loaded.version != report.version:
                self._update(stage="loading", done=0, total=0)
                self._load()  # the new version, with the model in memory: no cold start for the next visitor
            self._update(stage="done", report=report, finished=time.time())
        except KBError as exc:
            self._update(error=str(exc), finished=time.time())
        except Exception as exc:  # noqa: BLE001 - a job must end, and say why, whatever went wrong
            self._update(error=f"the rebuild failed: {exc!r}", finished=time.time())


def _find_principles_soon(kb: KnowledgeBase) -> None:
    """Find the version's principles in the background, so that the Principles view opens at once (they
    take about 1 s at 1,338 articles on 2 cores; each version keeps them once found)."""
    threading.Thread(target=kb.principles, name="kb-principles", daemon=True).start()
