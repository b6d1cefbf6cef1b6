"""The audit log: who changed the knowledge base, how and when. Append-only JSON lines in the index directory."""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from ..config import Settings
from .roles import Principal

_lock = threading.Lock()


@dataclass(frozen=True)
class AuditEntry:
    time: str
    who: str
    role: str
    via: str  # "key", "cli", ...
    action: str  # "sync", "rebuild", "add", "key add", "key revoke", ...
    detail: str = ""


def audit_file(settings: Settings) -> Path:
    return settings.index_dir / "audit.jsonl"


def record(settings: Settings, principal: Principal, action: str, detail: str = "") -> None:
    """Append one entry (a line written whole with O_APPEND: entries of concurrent writers never interleave)."""
    entry = AuditEntry(
        time.strftime("%Y-%m-%dT%H:%M:%S%z"), principal.name, principal.role, principal.via, action, detail
    )
    line = (json.dumps(asdict(entry), ensure_ascii=False) + "\n").encode("utf-8")
    path = audit_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def read_audit(settings: Settings) -> list[AuditEntry]:
    """Every entry, oldest first (a line that is not an entry is skipped)."""
    path = audit_file(settings)
    if not path.exists():
        return []
    entries = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entries.append(AuditEntry(**json.loads(line)))
        except (ValueError, TypeError):
            continue
    return entries
