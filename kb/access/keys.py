"""API keys: made here, shown once, stored only as a hash (index dir/access/keys.json), revocable.

A key is 32 random bytes (`secrets`), so a plain SHA-256 of it cannot be guessed back; the slow,
memory-hard hashes are for passwords people choose. The file is replaced atomically, each change read,
made and written under one lock shared by every process (`kb key revoke` and the server noting a key's
use); a key's last use is written at most once a minute; the file is read again only when it changed.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import secrets
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from ..atomic import write_atomic
from ..config import Settings
from ..errors import KBError
from .roles import ROLES, Principal

PREFIX = "kb_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_lock = threading.Lock()
_last_written: dict[str, float] = {}
_read: dict[Path, tuple[tuple[int, int, int], list[ApiKey]]] = {}  # keys file -> (its stamp, its keys)


@dataclass(frozen=True)
class ApiKey:
    """A key as stored (never the key itself)."""

    name: str
    role: str
    sha256: str
    created: str
    revoked: str = ""  # when it was revoked ("" while valid)
    last_used: str = ""


def keys_file(settings: Settings) -> Path:
    return settings.index_dir / "access" / "keys.json"


def list_keys(settings: Settings) -> list[ApiKey]:
    """The keys as stored; read again only when the file changed (every API request looks its key up)."""
    path = keys_file(settings)
    try:
        stat = path.stat()
    except FileNotFoundError:
        return []
    stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
    cached = _read.get(path)
    if cached is not None and cached[0] == stamp:
        return list(cached[1])
    try:
        keys = [ApiKey(**k) for k in json.loads(path.read_text(encoding="utf-8"))["keys"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KBError(f"{path} is not a readable list of API keys ({exc}); restore it or remove it") from None
    _read[path] = (stamp, keys)
    return list(keys)


def add_key(settings: Settings, name: str, role: str) -> str:
    """A new key for `name` with `role`; returns the key, which is stored only as its hash."""
    if not _NAME.match(name):
        raise KBError(f"a key name is 1-64 letters, digits, '.', '_' or '-', not {name!r}")
    if role not in ROLES:
        raise KBError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    with _changing(settings):
        keys = list_keys(settings)
        if any(k.name == name and not k.revoked for k in keys):
            raise KBError(f"a key named {name!r} exists; revoke it first or choose another name")
        key = PREFIX + secrets.token_urlsafe(32)
        keys.append(ApiKey(name, role, _hash(key), _now()))
        _save(settings, keys)
    return key


def revoke_key(settings: Settings, name: str) -> None:
    with _changing(settings):
        keys = list_keys(settings)
        if not any(k.name == name and not k.revoked for k in keys):
            raise KBError(f"no valid key named {name!r}; `kb key list` shows them")
        _save(settings, [ApiKey(**{**asdict(k), "revoked": _now()}) if k.name == name else k for k in keys])


def identify_key(settings: Settings, key: str) -> Principal | None:
    """The principal a key stands for; None for an unknown, malformed or revoked key."""
    if not key.startswith(PREFIX) or len(key) > 200:
        return None
    digest = _hash(key)
    for k in list_keys(settings):
        if secrets.compare_digest(k.sha256, digest) and not k.revoked:
            _note_use(settings, k)
            return Principal(k.name, k.role, "key")
    return None


def _note_use(settings: Settings, used: ApiKey) -> None:
    now = time.monotonic()
    if now - _last_written.get(used.sha256, -1e9) < 60:
        return
    _last_written[used.sha256] = now
    with _changing(settings):  # read again under the lock: a revocation made meanwhile stays
        keys = list_keys(settings)
        _save(settings, [ApiKey(**{**asdict(k), "last_used": _now()}) if k.sha256 == used.sha256 else k for k in keys])


@contextlib.contextmanager
def _changing(settings: Settings) -> Iterator[None]:
    """Hold the keys file for a read-modify-write: other threads wait (`_lock`), and so do other
    processes (an exclusive flock on keys.json.lock beside it; the file itself is replaced, not locked)."""
    path = keys_file(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        # mode 600: whoever may open the lock file may hold it, and with it every key change
        held = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(held, fcntl.LOCK_EX)
            yield
        finally:
            os.close(held)  # releases the flock


def _save(settings: Settings, keys: list[ApiKey]) -> None:
    data = json.dumps({"keys": [asdict(k) for k in keys]}, indent=1) + "\n"
    write_atomic(keys_file(settings), data.encode("utf-8"), mode=0o600)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
