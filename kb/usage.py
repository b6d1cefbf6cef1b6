"""What was asked, as the editors' view counts it: per question the day, its language, whether the answer
was confident, and the articles it cited; no wording and nothing about who asked (index/questions.jsonl,
bounded and safe to kill: kb/logs.py; `Settings.usage_log` turns it off)."""

from __future__ import annotations

import contextlib
import time
from dataclasses import asdict, dataclass

from .config import Settings
from .logs import JsonLog
from .types import Answer

LOG_NAME = "questions.jsonl"  # in the index directory


@dataclass(frozen=True)
class Asked:
    """One question asked (not an example of the page's), as the log keeps it."""

    day: str  # YYYY-MM-DD
    lang: str
    confident: bool
    cited: tuple[str, ...]  # the articles the answer cited, point 1's first
    contested: bool = False
    version: str = ""


class UsageLog:
    def __init__(self, settings: Settings) -> None:
        self.log = JsonLog(settings.index_dir / LOG_NAME, settings.usage_log)

    @property
    def enabled(self) -> bool:
        return self.log.enabled

    def record(self, answer: Answer, version: str = "") -> None:
        cited = tuple(dict.fromkeys(c.doc_id for c in answer.citations))
        entry = Asked(time.strftime("%Y-%m-%d"), answer.query_lang, answer.confident, cited, answer.contested, version)
        self.log.append(asdict(entry))

    def read(self) -> list[Asked]:
        out = []
        for entry in self.log.read():
            with contextlib.suppress(TypeError, ValueError):
                out.append(Asked(**{**entry, "cited": tuple(entry.get("cited", ()))}))
        return out
