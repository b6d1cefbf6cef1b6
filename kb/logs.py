"""The local logs an app or server keeps in the index directory (unanswered questions, feedback): one JSON
object a line, bounded in size, and safe to kill.

- Each entry is one `write` of one line to a file opened for appending, so lines from two processes do not
  interleave, and a process killed mid-write leaves at most one damaged last line, which reading passes over.
- A file past `max_bytes` is rotated: `x.jsonl` becomes `x.jsonl.1` (`.1` becomes `.2`, …), and the oldest
  beyond `keep` is deleted; what a log can take on disk is about (keep + 1) × max_bytes.
- Off (`enabled=False`), nothing is written at all; reading still shows what was kept before.
- A full or read-only disk never costs a person their answer: writing fails silently (the caller's
  answer matters more than its log line)."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import KBError

MAX_BYTES = 10 * 1024 * 1024  # a log file this large is rotated
KEEP = 4  # rotated files kept


class JsonLog:
    """One append-only log of JSON objects (see the module's docstring)."""

    def __init__(self, path: Path, enabled: bool = True, max_bytes: int = MAX_BYTES, keep: int = KEEP) -> None:
        self.path = path
        self.enabled = enabled
        self.max_bytes = max_bytes
        self.keep = keep
        self._lock = threading.Lock()

    def append(self, entry: dict[str, Any]) -> bool:
        """Write `entry` as one line (rotating first when the file is full); False when it was not written."""
        if not self.enabled:
            return False
        line = (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8")
        try:
            with self._lock, self._rotation():
                fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
                try:
                    size = os.fstat(fd).st_size
                    if size and os.pread(fd, 1, size - 1) != b"\n":  # a line cut short (a full disk, a crash)
                        line = b"\n" + line  # ends there: this entry starts on a line of its own
                    os.write(fd, line)  # one write of one line
                finally:
                    os.close(fd)
        except OSError:
            return False
        return True

    @contextlib.contextmanager
    def _rotation(self) -> Iterator[None]:
        """Held while appending: rotates a full file, one process at a time (a lock file beside the log)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_name(self.path.name + ".lock"), os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            with contextlib.suppress(FileNotFoundError):
                if self.path.stat().st_size >= self.max_bytes:
                    for n in range(self.keep, 0, -1):
                        older = self._rotated(n)
                        if n == self.keep:
                            older.unlink(missing_ok=True)
                        elif older.exists():
                            older.rename(self._rotated(n + 1))
                    if self.keep:
                        self.path.rename(self._rotated(1))
                    else:
                        self.path.unlink()
            yield
        finally:
            os.close(fd)  # and with it the lock

    def _rotated(self, n: int) -> Path:
        return self.path.with_name(f"{self.path.name}.{n}")

    def read(self) -> list[dict[str, Any]]:
        """Every entry kept, oldest first (rotated files, then the current one); damaged lines passed over."""
        out: list[dict[str, Any]] = []
        for path in [*(self._rotated(n) for n in range(self.keep, 0, -1)), self.path]:
            try:
                text = path.read_text(encoding="utf-8", errors="replace")
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise KBError(f"cannot read the log {path}: {exc.strerror}") from None
            for line in text.split("\n"):
                with contextlib.suppress(ValueError):
                    entry = json.loads(line)
                    if isinstance(entry, dict):
                        out.append(entry)
        return out
