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

    Honoured only from a connection whose address is in KB_TRUSTED_PROXIES. Streamlit reports a loopback
    peer as None. Its web server (uvicorn) believes X-Forwarded-For from a loopback peer and reports an
    address named there instead, so an address the header names says nothing about who connected: a
    program on this machine can name the proxy's, and anyone can name their own (uvicorn then reports it
    as is). Such an address never counts as the proxy's. A proxy on this machine is recognised by the app
    being served on loopback only (no one else can connect). `headers`: Streamlit's st.context.headers
    (all the values of a repeated header count) or a plain mapping."""
    trusted = _networks(settings.trusted_proxies)
    if not (served_locally(served_on) and any(net.network_address.is_loopback for net in trusted)):
        if peer is not None and peer in _forwarded_hosts(_headers(headers, "X-Forwarded-For")):
            raise Unauthenticated(
                f"identity headers are honoured only from the trusted proxy, not from {peer}: an address "
                "the request's X-Forwarded-For names (who connected is unknown)"
            )
        address = ipaddress.ip_address(peer or "127.0.0.1")  # None: this machine
        if not any(address in net for net in trusted):
            raise Unauthenticated(f"identity headers are honoured only from the trusted proxy, not from {address}")
    name = next(iter(_headers(headers, settings.proxy_user_header)), "").strip()
    if not name:
        raise Unauthenticated("the proxy did not say who is signed in")
    return _signed_in(settings, name, "proxy")


def _headers(headers: Mapping[str, str], name: str) -> list[str]:
    """Every value of header `name` (any case)."""
    get_all = getattr(headers, "get_all", None)  # Streamlit's headers keep a repeated header's values
    if callable(get_all):
        return [str(v) for v in get_all(name)]
    return [v for k, v in headers.items() if k.lower() == name.lower()]


def _forwarded_hosts(values: list[str]) -> set[str]:
    """The addresses X-Forwarded-For headers name, without ports, as uvicorn reads them."""
    hosts = set()
    for entry in (e.strip() for value in values for e in value.split(",")):
        if entry.startswith("[") and "]" in entry:  # [IPv6]:port
            entry = entry[1 : entry.index("]")]
        elif entry.count(":") == 1:  # IPv4:port
            entry = entry.rsplit(":", 1)[0]
        hosts.add(entry)
    return hosts


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
