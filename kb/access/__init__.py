"""Who may do what: roles and the one check every way in calls, API keys, and the audit log."""

from __future__ import annotations

from .audit import AuditEntry, read_audit, record
from .keys import ApiKey, add_key, identify_key, list_keys, revoke_key
from .roles import ACTIONS, ROLES, Forbidden, Principal, Unauthenticated, allowed, authorize

__all__ = [
    "ACTIONS",
    "ROLES",
    "ApiKey",
    "AuditEntry",
    "Forbidden",
    "Principal",
    "Unauthenticated",
    "add_key",
    "allowed",
    "authorize",
    "identify_key",
    "list_keys",
    "read_audit",
    "record",
    "revoke_key",
]
