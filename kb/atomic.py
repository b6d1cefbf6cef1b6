"""Files written whole: beside their place, then renamed into it (a reader, or a process killed mid-write,
never sees half a file)."""

from __future__ import annotations

import os
from pathlib import Path


def write_atomic(path: Path, data: bytes, *, durable: bool = True, mode: int | None = None) -> None:
    """Write `data` to `path` atomically. `durable`: flushed to the disk before the rename (else a later
    `os.sync()` does it, once for many files); `mode`: the file's permissions (e.g. 0o600 for secrets)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        if mode is not None:
            os.fchmod(fh.fileno(), mode)
        fh.write(data)
        if durable:
            fh.flush()
            os.fsync(fh.fileno())
    os.replace(tmp, path)
