"""Feedback on answers: helpful or not, a citation flagged as the wrong source, a comment; kept for the
editors (the editors' view, `kb gaps`), never read by the ranking (feedback goes to the people who own
the articles, not silently into the order of the results)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass
from typing import Any

from .config import Settings
from .errors import KBError
from .gaps import redact
from .logs import JsonLog

LOG_NAME = "feedback.jsonl"  # in the index directory
MAX_COMMENT = 2000  # characters kept of a comment
MAX_CITATIONS = 50


@dataclass(frozen=True)
class Cited:
    """Where a citation of the answer pointed: an article and body offsets (`Citation`)."""

    doc_id: str
    start: int
    end: int


@dataclass(frozen=True)
class Feedback:
    """What one person said of one answer, as the log keeps it."""

    day: str  # YYYY-MM-DD, nothing finer
    lang: str  # the question's
    helpful: bool | None  # None: only a source flagged, or only a comment
    citations: tuple[Cited, ...]  # the answer's, in order (citation n is citations[n - 1])
    wrong: tuple[int, ...] = ()  # the citation numbers flagged "wrong source"
    comment: str = ""  # redacted
    question: str = ""  # redacted; "" unless the deployment keeps wordings (Settings.gap_questions)
    version: str = ""  # the index version that answered
    confident: bool = False

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feedback:
        cited = tuple(Cited(**c) for c in data.get("citations", ()))
        return cls(**{**data, "citations": cited, "wrong": tuple(data.get("wrong", ()))})


class FeedbackLog:
    """The local log of feedback (`Settings.feedback_log` turns it off; bounded and safe to kill: kb/logs.py)."""

    def __init__(self, settings: Settings) -> None:
        self.log = JsonLog(settings.index_dir / LOG_NAME, settings.feedback_log)
        self.wordings = settings.gap_questions

    @property
    def enabled(self) -> bool:
        return self.log.enabled

    def record(
        self,
        question: str,
        lang: str,
        citations: list[Cited],
        helpful: bool | None = None,
        wrong: tuple[int, ...] | list[int] = (),
        comment: str = "",
        version: str = "",
        confident: bool = False,
    ) -> Feedback:
        """Keep one person's feedback on one answer; KBError for feedback that says nothing or points at
        no citation of the answer. Returns what was kept (also when the log is off: nothing is written)."""
        comment = comment.strip()
        wrong = tuple(sorted(set(wrong)))
        if helpful is None and not wrong and not comment:
            raise KBError(
                "feedback needs a verdict (helpful or not), a citation flagged as the wrong source or a comment"
            )
        if len(citations) > MAX_CITATIONS:
            raise KBError(f"an answer has at most {MAX_CITATIONS} citations, not {len(citations)}")
        if any(not 1 <= n <= len(citations) for n in wrong):
            raise KBError(f"a flagged citation must be one of the answer's (1-{len(citations)}), not {list(wrong)}")
        entry = Feedback(
            day=time.strftime("%Y-%m-%d"),
            lang=lang,
            helpful=helpful,
            citations=tuple(citations),
            wrong=wrong,
            comment=redact(comment[:MAX_COMMENT]),
            question=redact(question) if self.wordings else "",
            version=version,
            confident=confident,
        )
        self.log.append(asdict(entry))
        return entry

    def read(self) -> list[Feedback]:
        """Every kept feedback, oldest first; a damaged entry is passed over."""
        out = []
        for entry in self.log.read():
            with contextlib.suppress(TypeError, ValueError, AttributeError):
                out.append(Feedback.from_dict(entry))
        return out
