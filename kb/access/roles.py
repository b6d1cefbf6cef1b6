"""Roles and the one check every way in (the HTTP API, the command line, later the app) calls before acting."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import KBError

ROLES = ("reader", "editor", "admin")  # each can do what the one before it can, and more
# The least role each action needs. Reading answers is a reader's; changing the knowledge base (its
# documents, sources, index) or reading what people asked (the gap report) an editor's; access an admin's.
ACTIONS = {
    "ask": "reader",
    "search": "reader",
    "article": "reader",
    "library": "reader",
    "principles": "reader",
    "feedback": "reader",
    "gaps": "editor",
    "add": "editor",
    "sync": "editor",
    "rebuild": "editor",
    "job": "editor",
    "keys": "admin",
    "users": "admin",
    "audit": "admin",
}


class Unauthenticated(KBError):
    """No identity, or one that is not valid (an unknown or revoked key)."""


class Forbidden(KBError):
    """An identity whose role does not allow the action."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: a name, a role, and how they were identified ("key", "cli", ...)."""

    name: str
    role: str
    via: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise KBError(f"unknown role {self.role!r}; roles are: {', '.join(ROLES)}")


def allowed(principal: Principal | None, action: str) -> bool:
    """Whether `principal` may do `action` (for showing a control; acting still goes through `authorize`)."""
    try:
        authorize(principal, action)
    except KBError:
        return False
    return True


def authorize(principal: Principal | None, action: str) -> Principal:
    """`principal` if its role allows `action`; Unauthenticated without one, Forbidden when its role is too low."""
    if action not in ACTIONS:
        raise KBError(f"unknown action {action!r}")
    if principal is None:
        raise Unauthenticated("sign in first (the HTTP API: send an API key as `Authorization: Bearer KEY`)")
    needed = ACTIONS[action]
    if ROLES.index(principal.role) < ROLES.index(needed):
        raise Forbidden(f"{principal.name} ({principal.role}) may not {action}: it needs the {needed} role")
    return principal
