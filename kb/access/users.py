"""People who sign in to the app: built-in accounts, and the roles of people a proxy or OIDC signs in.

Stored in index dir/access/users.json (mode 600, replaced atomically). An account with a password keeps
only its Argon2id hash (argon2-cffi: memory-hard, salted, the parameters inside the hash, so they can
be raised later). An account without one ("external") only gives a role to a person whom the trusted
proxy or the OIDC provider signs in under that name (their user name or e-mail address).

Sign-in is throttled against guessing: after FREE_FAILURES failures for one name, or for one address,
each further attempt must wait, twice as long after each failure, up to MAX_WAIT seconds.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..atomic import write_atomic
from ..config import Settings
from ..errors import KBError
from .roles import ROLES, Principal

MIN_PASSWORD = 10  # characters
MAX_PASSWORD = 1024  # longer is refused before hashing (a denial of service otherwise)
FREE_FAILURES = 5
MAX_WAIT = 900.0  # seconds
_NAME = re.compile(r"^[\w.@+-]{1,128}$")
_hasher = PasswordHasher()  # Argon2id, 64 MiB, 3 passes (RFC 9106's second recommended option)
_lock = threading.Lock()
# A hash to check against when the name is unknown, so that a wrong name takes as long as a wrong password.
_DUMMY = _hasher.hash("not a password anyone has")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    password_hash: str  # "" for an external account (signed in by the proxy or OIDC)
    created: str

    @property
    def external(self) -> bool:
        return not self.password_hash


class SignInRefused(KBError):
    """A wrong name or password (which of the two is not said), or too many attempts."""


def users_file(settings: Settings) -> Path:
    return settings.index_dir / "access" / "users.json"


def list_users(settings: Settings) -> list[User]:
    path = users_file(settings)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [User(**u) for u in data["users"]]
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KBError(f"{path} is not a readable list of users ({exc}); restore it or remove it") from None


def find_user(settings: Settings, name: str) -> User | None:
    return next((u for u in list_users(settings) if u.name.casefold() == name.casefold()), None)


def has_accounts(settings: Settings) -> bool:
    """Whether any account signs in with a password (then the app asks for one)."""
    return any(not u.external for u in list_users(settings))


def add_user(settings: Settings, name: str, role: str, password: str | None) -> User:
    """A new account; `password` None makes an external one (its person signs in through the proxy or OIDC)."""
    if not _NAME.match(name):
        raise KBError(f"a user name is 1-128 letters, digits, '.', '@', '+', '_' or '-', not {name!r}")
    if role not in ROLES:
        raise KBError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    if password is not None:
        if len(password) < MIN_PASSWORD:
            raise KBError(f"a password has at least {MIN_PASSWORD} characters")
        if len(password) > MAX_PASSWORD:
            raise KBError(f"a password has at most {MAX_PASSWORD} characters")
    with _lock:
        users = list_users(settings)
        if any(u.name.casefold() == name.casefold() for u in users):
            raise KBError(f"a user named {name!r} exists; remove it first (kb user remove {name})")
        user = User(name, role, _hasher.hash(password) if password is not None else "", _now())
        _save(settings, [*users, user])
    return user


def remove_user(settings: Settings, name: str) -> None:
    """Remove an account; its open sessions are refused at their next step."""
    with _lock:
        users = list_users(settings)
        kept = [u for u in users if u.name.casefold() != name.casefold()]
        if len(kept) == len(users):
            raise KBError(f"no user named {name!r}; `kb user list` shows them")
        _save(settings, kept)


def role_of(settings: Settings, name: str, default: str) -> str | None:
    """The role of a person signed in elsewhere (proxy, OIDC): their account's, else `default` ("" refuses)."""
    user = find_user(settings, name)
    if user is not None:
        return user.role
    return default or None


class Throttle:
    """Failed sign-ins per name and per address; past FREE_FAILURES, a wait that doubles after each failure."""

    def __init__(self) -> None:
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (failures, when the last one was)
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds before the next attempt for any of `keys` is allowed (0: now)."""
        now, longest = time.monotonic(), 0.0
        with self._lock:
            for key in keys:
                failures, last = self._failures.get(key, (0, 0.0))
                if failures >= FREE_FAILURES:
                    longest = max(longest, last + min(MAX_WAIT, 2.0 ** (failures - FREE_FAILURES + 1)) - now)
        return max(0.0, longest)

    def failed(self, *keys: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in keys:
                failures, last = self._failures.get(key, (0, 0.0))
                if now - last > MAX_WAIT * 2:  # quiet for long enough: start again
                    failures = 0
                self._failures[key] = (failures + 1, now)

    def succeeded(self, name_key: str) -> None:
        with self._lock:
            self._failures.pop(name_key, None)


THROTTLE = Throttle()  # one per process: the app's sessions share it


def sign_in(
    settings: Settings, name: str, password: str, address: str = "", throttle: Throttle = THROTTLE
) -> Principal:
    """The principal of a built-in account whose password matches; SignInRefused otherwise (after a wait
    when there were too many failures for this name or this address)."""
    keys = ("name:" + name.casefold(), "address:" + address)
    waiting = throttle.wait(*keys)
    if waiting > 0:
        raise SignInRefused(f"too many failed sign-ins; try again in {max(1, round(waiting))} s")
    user = find_user(settings, name) if _NAME.match(name) else None
    ok = False
    if len(password) <= MAX_PASSWORD:
        try:
            ok = _hasher.verify(user.password_hash if user and not user.external else _DUMMY, password)
            ok = ok and user is not None and not user.external
        except (VerificationError, InvalidHashError):
            ok = False
    if not ok or user is None:
        throttle.failed(*keys)
        raise SignInRefused("wrong name or password")
    throttle.succeeded(keys[0])
    return Principal(user.name, user.role, "password")


def _save(settings: Settings, users: list[User]) -> None:
    data = json.dumps({"users": [asdict(u) for u in users]}, indent=1, ensure_ascii=False) + "\n"
    write_atomic(users_file(settings), data.encode("utf-8"), mode=0o600)


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")
