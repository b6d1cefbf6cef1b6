"""Who is asking: built-in accounts, sign-in throttling, the proxy's and the OIDC provider's identities."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kb import KBError, Settings
from kb.access import Forbidden, Unauthenticated
from kb.access.identity import door, from_oidc, from_proxy
from kb.access.users import (
    FREE_FAILURES,
    SignInRefused,
    Throttle,
    add_user,
    list_users,
    remove_user,
    sign_in,
    users_file,
)

PASSWORD = "correct horse battery staple"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus")


def test_accounts_keep_only_a_memory_hard_hash(settings: Settings) -> None:
    add_user(settings, "ana", "editor", PASSWORD)
    text = users_file(settings).read_text(encoding="utf-8")
    assert PASSWORD not in text and "$argon2id$" in text and "m=65536" in text  # Argon2id, 64 MiB
    assert oct(users_file(settings).stat().st_mode & 0o777) == "0o600"
    who = sign_in(settings, "ana", PASSWORD, throttle=Throttle())
    assert (who.name, who.role, who.via) == ("ana", "editor", "password")
    with pytest.raises(KBError, match="exists"):
        add_user(settings, "ANA", "reader", PASSWORD)  # names are one person whatever their case
    with pytest.raises(KBError, match="at least 10"):
        add_user(settings, "bob", "reader", "short")
    with pytest.raises(KBError, match="unknown role"):
        add_user(settings, "bob", "owner", PASSWORD)
    with pytest.raises(KBError, match="user name"):
        add_user(settings, "../bob", "reader", PASSWORD)


def test_sign_in_refuses_without_saying_which_part_was_wrong(settings: Settings) -> None:
    add_user(settings, "ana", "reader", PASSWORD)
    add_user(settings, "sso@example.com", "admin", None)  # external: no password signs it in
    throttle = Throttle()
    for name, password in [("ana", "wrong password!"), ("nobody", PASSWORD), ("sso@example.com", ""), ("ana", "")]:
        with pytest.raises(SignInRefused, match="^wrong name or password$"):
            sign_in(settings, name, password, address="198.51.100.7", throttle=throttle)
    with pytest.raises(SignInRefused):
        sign_in(settings, "ana", "x" * 100_000, throttle=throttle)  # never hashed: refused at once


def test_guessing_is_throttled_per_name_and_per_address(settings: Settings) -> None:
    add_user(settings, "ana", "reader", PASSWORD)
    throttle = Throttle()
    for _ in range(FREE_FAILURES):
        with pytest.raises(SignInRefused, match="wrong"):
            sign_in(settings, "ana", "guess guess guess", address="198.51.100.7", throttle=throttle)
    with pytest.raises(SignInRefused, match="too many failed sign-ins; try again in"):
        sign_in(settings, "ana", PASSWORD, address="203.0.113.9", throttle=throttle)  # the name is held
    with pytest.raises(SignInRefused, match="too many"):
        sign_in(settings, "other", PASSWORD, address="198.51.100.7", throttle=throttle)  # ... and the address
    assert sign_in(settings, "ana", PASSWORD, address="203.0.113.9", throttle=Throttle()).name == "ana"


def test_removing_an_account(settings: Settings) -> None:
    add_user(settings, "ana", "reader", PASSWORD)
    remove_user(settings, "ana")
    assert list_users(settings) == []
    with pytest.raises(SignInRefused):
        sign_in(settings, "ana", PASSWORD, throttle=Throttle())
    with pytest.raises(KBError, match="no user named"):
        remove_user(settings, "ana")
    users_file(settings).write_text("{broken", encoding="utf-8")
    with pytest.raises(KBError, match="not a readable list of users"):
        list_users(settings)


def test_the_user_command(settings: Settings) -> None:
    def kb(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "kb", "--index", str(settings.index_dir), "user", *args]
        return subprocess.run(command, input=stdin, capture_output=True, text=True, env={**os.environ}, timeout=60)

    added = kb("add", "ana", "--role", "editor", stdin=PASSWORD + "\n")
    assert added.returncode == 0 and "ana (editor) added" in added.stdout, added.stderr
    assert sign_in(settings, "ana", PASSWORD, throttle=Throttle()).role == "editor"
    assert kb("add", "bob", stdin="short\n").returncode == 1
    assert kb("add", "lead@example.com", "--external", "--role", "admin").returncode == 0
    listed = kb("list").stdout
    assert "ana  editor  password" in listed and "lead@example.com  admin  external" in listed
    assert PASSWORD not in listed and "argon2" not in listed
    assert kb("remove", "ana").returncode == 0 and "ana" not in kb("list").stdout
    audit = [json.loads(line) for line in (settings.index_dir / "audit.jsonl").read_text().splitlines()]
    assert [a["action"] for a in audit] == ["user add", "user add", "user remove"]
    assert PASSWORD not in (settings.index_dir / "audit.jsonl").read_text()


def test_the_app_identifies_people_in_one_order(settings: Settings) -> None:
    assert door(settings, "127.0.0.1", False) == "local"
    assert door(settings, "0.0.0.0", False) == "refused"
    assert door(replace(settings, app_anonymous=True), "0.0.0.0", False) == "anonymous"
    add_user(settings, "ana", "reader", PASSWORD)
    assert door(settings, "127.0.0.1", False) == "password"  # accounts: everyone signs in, here too
    assert door(replace(settings, proxy_user_header="X-Forwarded-User"), "0.0.0.0", False) == "proxy"
    assert door(replace(settings, proxy_user_header="X-Forwarded-User"), "0.0.0.0", True) == "oidc"


def test_proxy_headers_count_only_from_the_trusted_proxy(settings: Settings) -> None:
    add_user(settings, "lead", "admin", None)
    proxied = replace(settings, proxy_user_header="X-Forwarded-User", trusted_proxies="10.0.0.5,192.168.7.0/24")
    headers = {"x-forwarded-user": "lead"}
    assert from_proxy(proxied, "0.0.0.0", "10.0.0.5", headers).role == "admin"
    assert from_proxy(proxied, "0.0.0.0", "192.168.7.20", {"X-Forwarded-User": "agent7"}).role == "reader"
    with pytest.raises(Unauthenticated, match="only from the trusted proxy, not from 203.0.113.9"):
        from_proxy(proxied, "0.0.0.0", "203.0.113.9", headers)  # someone who reached the app directly
    with pytest.raises(Unauthenticated, match="not from 127.0.0.1"):
        from_proxy(proxied, "0.0.0.0", None, headers)  # this machine, the proxy elsewhere
    spoofed = {**headers, "X-Forwarded-For": "10.0.0.5"}  # uvicorn believed a loopback peer: unknown caller
    with pytest.raises(Unauthenticated, match="not from 10.0.0.5: an address the request's X-Forwarded-For names"):
        from_proxy(proxied, "0.0.0.0", "10.0.0.5", spoofed)
    for forwarded in ("10.0.0.5, 127.0.0.1", "10.0.0.5:443", "198.51.100.7, 10.0.0.5"):  # uvicorn picks any entry
        with pytest.raises(Unauthenticated, match="X-Forwarded-For names"):
            from_proxy(proxied, "0.0.0.0", "10.0.0.5", {**headers, "X-Forwarded-For": forwarded})
    relayed = {**headers, "X-Forwarded-For": "198.51.100.7"}  # the proxy names its client: it stays the peer
    assert from_proxy(proxied, "0.0.0.0", "10.0.0.5", relayed).name == "lead"
    with pytest.raises(Unauthenticated, match="did not say who"):
        from_proxy(proxied, "0.0.0.0", "10.0.0.5", {})
    local = replace(settings, proxy_user_header="X-Forwarded-User")  # the proxy on this machine (the default)
    assert from_proxy(local, "127.0.0.1", "198.51.100.7", headers).name == "lead"  # served on loopback only
    with pytest.raises(Unauthenticated):
        from_proxy(local, "0.0.0.0", "198.51.100.7", headers)
    with pytest.raises(Forbidden, match="no account here"):
        from_proxy(replace(proxied, signed_in_role=""), "0.0.0.0", "10.0.0.5", {"X-Forwarded-User": "agent7"})


def test_a_caller_cannot_forge_the_proxys_identity_header(settings: Settings) -> None:
    """Headers sent to the app as Streamlit serves it: uvicorn with its default belief in X-Forwarded-For
    from loopback, and what app.py hands `from_proxy` (st.context.ip_address: the address uvicorn reports,
    loopback as None; st.context.headers). 127.0.0.2 stands for a remote caller: neither uvicorn nor
    KB_TRUSTED_PROXIES trusts it, so the app sees it as it would see 192.0.2.7."""
    import httpx
    from streamlit.runtime.context import StreamlitHeaders

    from .test_server import serve

    add_user(settings, "boss", "admin", None)
    proxied = replace(settings, proxy_user_header="X-Forwarded-User")  # KB_TRUSTED_PROXIES: its default
    setup: dict[str, Any] = {"settings": proxied, "served_on": "0.0.0.0"}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        host = scope["client"][0]
        headers = StreamlitHeaders((k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"])
        peer = None if host in ("127.0.0.1", "::1") else host
        try:
            who = from_proxy(setup["settings"], setup["served_on"], peer, headers)
            text = f"{who.name} ({who.role})"
        except KBError as exc:
            text = str(exc)
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": text.encode()})

    for base in serve(app):

        def signed_in(headers: list[tuple[str, str]], source: str = "127.0.0.2", base: str = base) -> str:
            with httpx.Client(transport=httpx.HTTPTransport(local_address=source)) as client:
                return client.get(base, headers=headers, timeout=30).text

        boss = [("X-Forwarded-User", "boss")]
        forged = signed_in([*boss, ("X-Forwarded-For", "127.0.0.2")])  # naming its own address
        assert forged == (
            "identity headers are honoured only from the trusted proxy, not from 127.0.0.2: "
            "an address the request's X-Forwarded-For names (who connected is unknown)"
        )
        assert "not from 127.0.0.2" in signed_in(boss)
        setup["settings"] = replace(proxied, trusted_proxies="10.0.0.5")  # a program here naming the remote proxy
        for relay in (["10.0.0.5"], ["10.0.0.5, 127.0.0.1"], ["127.0.0.1", "10.0.0.5"]):
            said = signed_in([*boss, *(("X-Forwarded-For", r) for r in relay)], source="127.0.0.1")
            assert "honoured only from the trusted proxy" in said, relay
        setup["settings"] = replace(proxied, trusted_proxies="127.0.0.2")  # the real proxy, on another machine
        assert signed_in([*boss, ("X-Forwarded-For", "198.51.100.7")]) == "boss (admin)"
        setup.update(settings=proxied, served_on="127.0.0.1")  # the proxy on this machine, the app on loopback
        assert signed_in([*boss, ("X-Forwarded-For", "198.51.100.7")], source="127.0.0.1") == "boss (admin)"


def test_oidc_people_get_their_accounts_role(settings: Settings) -> None:
    add_user(settings, "lead@example.com", "editor", None)
    assert from_oidc(settings, {"email": "Lead@Example.com", "sub": "1"}).role == "editor"
    assert from_oidc(settings, {"email": "agent@example.com"}).role == "reader"
    with pytest.raises(Forbidden):
        from_oidc(replace(settings, signed_in_role=""), {"email": "agent@example.com"})
    with pytest.raises(Unauthenticated):
        from_oidc(settings, {})


def test_no_default_secrets_in_the_repository() -> None:
    """No password, key, token or cookie secret is shipped: every one is made by the deployment."""
    import re

    root = Path(__file__).resolve().parent.parent
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    assignment = re.compile(
        r"(secret|password|passwd|api_?key|token)\w*[\"']?\s*[:=]\s*[\"']([^\"'\s…{}<>]{8,})[\"']", re.IGNORECASE
    )
    shipped = [
        p
        for p in tracked
        if not p.startswith(("tests/", "corpus/", "bench/data/"))
        and p.endswith((".py", ".toml", ".md", ".cfg", ".ini", ".json", ".yaml", ".yml", ".env", "Makefile", "run"))
    ]
    assert "app.py" in shipped and ".streamlit/config.toml" in shipped
    found = [(p, m.group(0)) for p in shipped for m in assignment.finditer((root / p).read_text(errors="replace"))]
    assert found == []
    assert not any(p.endswith("secrets.toml") for p in tracked)
    assert ".streamlit/secrets.toml" in (root / ".gitignore").read_text()


def test_keys_and_passwords_never_reach_the_logs(tmp_path: Path) -> None:
    """`kb serve` as deployed, asked with a valid, a revoked and a made-up key: none is in its output."""
    import socket
    import time

    import httpx

    from kb.access import add_key, revoke_key

    settings = Settings.from_env(index_dir=tmp_path / "index", corpus_dir=tmp_path / "corpus")
    valid, revoked = add_key(settings, "desk", "editor"), add_key(settings, "old", "editor")
    revoke_key(settings, "old")
    made_up = "kb_" + "Z" * 43
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "kb", "--index", str(settings.index_dir), "serve", "--port", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                httpx.get(base + "/v1/health", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        statuses = [
            httpx.get(base + "/v1/job", headers={"Authorization": f"Bearer {key}"}, timeout=30).status_code
            for key in (valid, revoked, made_up)
        ]
        assert statuses == [200, 401, 401]
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert output.strip() and not any(key in output for key in (valid, revoked, made_up))
    stored = (settings.index_dir / "access" / "keys.json").read_text()
    assert not any(key in stored for key in (valid, revoked))
