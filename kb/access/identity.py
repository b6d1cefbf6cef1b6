"""Who uses the app: one decision from the deployment's settings, the connection and what it carries.

The app calls `door` once a run to learn how people are identified, then the matching function here.
In order: OIDC sign-in (Streamlit's st.login, when .streamlit/secrets.toml has an [auth] section), a
trusted reverse proxy's identity header (KB_PROXY_USER_HEADER), built-in accounts (`kb user add`); with
none of them, the person at this machine when the app is served on loopback only, anonymous readers
when KB_APP_ANONYMOUS=on, else no one (docs/access.md).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping

from ..config import Settings
from .roles import Forbidden, Principal, Unauthenticated
from .users import has_accounts, role_of

LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
LOCAL_USER = Principal("app on this machine (no sign-in)", "editor", "app")
ANONYMOUS = Principal("anonymous (app)", "reader", "app")


def served_locally(address: str) -> bool:
    return address.strip() in LOOPBACK_NAMES


def door(settings: Settings, served_on: str, oidc_configured: bool) -> str:
    """How the app identifies people: "oidc", "proxy", "password", "local", "anonymous" or "refused"."""
    if oidc_configured:
        return "oidc"
    if settings.proxy_user_header:
        return "proxy"
    if has_accounts(settings):
        return "password"
    if served_locally(served_on):
        return "local"
    return "anonymous" if settings.app_anonymous else "refused"


def _networks(spec: str) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    out = []
    for part in spec.split(","):
        if part.strip():
            out.append(ipaddress.ip_network(part.strip(), strict=False))
    return out


def from_proxy(settings: Settings, served_on: str, peer: str | None, headers: Mapping[str, str]) -> Principal:
    """The person a trusted proxy names in its identity header.

    Honoured only from an address in KB_TRUSTED_PROXIES. Streamlit reports a loopback peer as None; and
    its web server (uvicorn) replaces a loopback peer's address by the last one in its X-Forwarded-For,
    so an address equal to that last entry came from this machine, whatever it says. A proxy on this
    machine is recognised by the app being served on loopback only (no one else can connect)."""
    trusted = _networks(settings.trusted_proxies)
    forwarded = [a.strip() for a in _header(headers, "X-Forwarded-For").split(",") if a.strip()]
    if peer is None or (forwarded and forwarded[-1] == peer):
        peer = "127.0.0.1"  # the connection came from this machine
    address = ipaddress.ip_address(peer)
    via_trusted = any(address in net for net in trusted)
    if not via_trusted and served_locally(served_on) and any(net.network_address.is_loopback for net in trusted):
        via_trusted = True
    if not via_trusted:
        raise Unauthenticated(f"identity headers are honoured only from the trusted proxy, not from {address}")
    name = _header(headers, settings.proxy_user_header).strip()
    if not name:
        raise Unauthenticated("the proxy did not say who is signed in")
    return _signed_in(settings, name, "proxy")


def _header(headers: Mapping[str, str], name: str) -> str:
    return next((v for k, v in headers.items() if k.lower() == name.lower()), "")


def from_oidc(settings: Settings, claims: Mapping[str, object]) -> Principal:
    """The person the OIDC provider signed in (by e-mail, else subject), with their account's role."""
    name = str(claims.get("email") or claims.get("sub") or "").strip()
    if not name:
        raise Unauthenticated("the identity provider did not say who is signed in")
    return _signed_in(settings, name, "oidc")


def _signed_in(settings: Settings, name: str, via: str) -> Principal:
    role = role_of(settings, name, settings.signed_in_role)
    if role is None:
        raise Forbidden(f"{name} has no account here; an admin adds one with `kb user add {name} --external`")
    return Principal(name, role, via)
