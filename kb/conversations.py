"""Conversations kept on the server, so that reloading the page keeps them: what was asked, and how.

One small JSON file per conversation under index_dir/conversations, named by a random id that the
page carries in its address, with the name of the person it belongs to: only they get it back (an
address passed to someone else opens an empty conversation). The answers are not stored: a reload asks
the questions again, so the citations always point into the articles as they are now.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from .config import Settings

MAX_EXCHANGES = 50  # the oldest questions of a longer conversation are dropped
KEEP_DAYS = 30  # conversations untouched for longer are deleted
_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Exchange:
    """One question of a conversation, with the options it was asked with."""

    question: str
    k: int
    languages: tuple[str, ...] | None = None  # None: every language


class Conversations:
    def __init__(self, settings: Settings) -> None:
        self.dir = settings.index_dir / "conversations"

    @staticmethod
    def new_id() -> str:
        return secrets.token_urlsafe(16)

    @staticmethod
    def valid(conversation_id: str) -> bool:
        return bool(_ID.match(conversation_id or ""))

    def _path(self, conversation_id: str) -> Path | None:
        return self.dir / f"{conversation_id}.json" if self.valid(conversation_id) else None

    def owner(self, conversation_id: str) -> str | None:
        """Whose conversation this is (None when there is none by this id)."""
        path = self._path(conversation_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8")) if path is not None else None
        except (OSError, ValueError):
            return None
        return str(data.get("owner", "")) if isinstance(data, dict) else None

    def load(self, conversation_id: str, owner: str) -> list[Exchange]:
        """The exchanges of `owner`'s conversation ([] for an unknown, malformed or unreadable one, or one
        that belongs to someone else)."""
        path = self._path(conversation_id)
        if path is None:
            return []
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or data.get("owner") != owner:
                return []
            rows = data["exchanges"]
            return [
                Exchange(r["question"], int(r["k"]), tuple(r["languages"]) if r.get("languages") else None)
                for r in rows
            ]
        except (OSError, ValueError, KeyError, TypeError):
            return []

    def save(self, conversation_id: str, owner: str, exchanges: list[Exchange]) -> bool:
        """Write `owner`'s conversation (its newest MAX_EXCHANGES exchanges) atomically; False (nothing
        written) when the id belongs to someone else. A disk error loses only this conversation."""
        path = self._path(conversation_id)
        if path is None:
            return False
        if self.owner(conversation_id) not in (None, owner):
            return False
        rows = [
            {"question": e.question, "k": e.k, "languages": list(e.languages) if e.languages else None}
            for e in exchanges[-MAX_EXCHANGES:]
        ]
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps({"owner": owner, "exchanges": rows}, ensure_ascii=False), encoding="utf-8")
            os.replace(tmp, path)
        except OSError:
            pass  # the conversation still lives in the page; only a reload would lose it
        return True

    def prune(self, days: int = KEEP_DAYS) -> int:
        """Delete conversations untouched for `days` days; returns how many."""
        cutoff, removed = time.time() - days * 86400, 0
        for path in self.dir.glob("*.json") if self.dir.is_dir() else ():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except OSError:
                continue
        return removed
