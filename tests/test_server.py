"""The HTTP API (`kb serve`), against a real uvicorn server the tests start on loopback, on a real index.

An access matrix: every endpoint × {no key, a malformed header, an unknown key, a revoked key, reader,
editor, admin}, asserting the status, and for every refusal that nothing changed (the audit log, the
job, the index version). Then what a tool relies on: JSON errors with the knowledge base's message,
answers with citations it can link to, the audit log naming the key that changed something, the rate
limit per key, and the key commands of the command line.
"""

from __future__ import annotations

import re
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import pytest

from kb import KBError, Service, Settings
from kb.access import ACTIONS, ROLES, add_key, read_audit, revoke_key
from kb.build import rebuild
from kb.cli import main as cli
from kb.server import create_app

from .conftest import CORPUS

# action -> (method, path, JSON body)
CALLS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "search": ("GET", "/v1/search?q=¿Cómo medir el éxito?&k=3", None),
    "ask": ("POST", "/v1/ask", {"question": "Is customer experience about emotion or technology?", "k": 3}),
    "article": ("GET", "/v1/articles/002", None),
    "library": ("GET", "/v1/library", None),
    "principles": ("GET", "/v1/principles?limit=2", None),
    "feedback": (
        "POST",
        "/v1/feedback",
        {"question": "¿Cómo medir?", "citations": [{"doc_id": "002", "start": 0, "end": 20}], "helpful": False},
    ),
    "gaps": ("GET", "/v1/gaps", None),
    "job": ("GET", "/v1/job", None),
    "audit": ("GET", "/v1/audit", None),
    "rebuild": ("POST", "/v1/rebuild", {"full": False}),
    "sync": ("POST", "/v1/sync", None),
}


def serve(app: Any) -> Iterator[str]:
    """Run `app` in uvicorn on a free loopback port; yields its address (a generator: the server stops after)."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def api_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("api")
    shutil.copytree(CORPUS, root / "corpus")
    settings = Settings.from_env(corpus_dir=root / "corpus", index_dir=root / "index")
    rebuild(settings)
    return settings


@pytest.fixture(scope="module")
def api(api_settings: Settings) -> Iterator[str]:
    yield from serve(create_app(api_settings))


@pytest.fixture(scope="module")
def keys(api_settings: Settings) -> dict[str, str]:
    found = {role: add_key(api_settings, f"tool-{role}", role) for role in ROLES}
    found["revoked"] = add_key(api_settings, "tool-revoked", "admin")
    revoke_key(api_settings, "tool-revoked")
    return found


def call(base: str, action: str, headers: dict[str, str]) -> httpx.Response:
    method, path, body = CALLS[action]
    return httpx.request(method, base + path, json=body, headers=headers, timeout=120)


def wait_for_job(settings: Settings) -> None:
    job = Service.shared(settings).wait(timeout=300)
    assert job is None or not job.running


def test_every_action_for_every_kind_of_caller(api: str, api_settings: Settings, keys: dict[str, str]) -> None:
    # every action the API offers is in the matrix (uploads, accounts and keys are not offered over HTTP)
    assert set(CALLS) == set(ACTIONS) - {"add", "keys", "users"}
    callers = {
        "no key": {},
        "malformed header": {"Authorization": "Basic dXNlcjpwYXNz"},
        "unknown key": {"Authorization": "Bearer kb_" + "x" * 43},
        "revoked key": {"Authorization": f"Bearer {keys['revoked']}"},
        **{role: {"Authorization": f"Bearer {keys[role]}"} for role in ROLES},
    }
    service = Service.shared(api_settings)
    for who, headers in callers.items():
        for action in CALLS:
            wait_for_job(api_settings)
            before = (len(read_audit(api_settings)), service.job, service.version(), len(service.feedback.read()))
            response = call(api, action, headers)
            allowed = who in ROLES and ROLES.index(who) >= ROLES.index(ACTIONS[action])
            if allowed:
                assert response.status_code in (200, 202), (who, action, response.text)
                continue
            assert response.status_code == (403 if who in ROLES else 401), (who, action, response.text)
            assert "error" in response.json() and keys.get(who, "none") not in response.text  # no key echoed
            after = (len(read_audit(api_settings)), service.job, service.version(), len(service.feedback.read()))
            assert after == before, (who, action)
    wait_for_job(api_settings)
    changes = [(e.who, e.via, e.action) for e in read_audit(api_settings) if e.via == "key"]
    assert changes == [
        ("tool-editor", "key", "rebuild"),
        ("tool-editor", "key", "sync"),
        ("tool-admin", "key", "rebuild"),
        ("tool-admin", "key", "sync"),
    ]


def test_answers_carry_what_a_widget_links_to_and_errors_are_json(api: str, keys: dict[str, str]) -> None:
    reader = {"Authorization": f"Bearer {keys['reader']}"}
    response = call(api, "ask", reader)
    answer = response.json()["answer"]
    assert answer["citations"] and response.json()["markdown"].startswith("**")
    for c in answer["citations"]:
        article = httpx.get(f"{api}/v1/articles/{c['doc_id']}", headers=reader, timeout=60).json()["article"]
        assert article["body"][c["start"] : c["end"]] == c["quote"] and c["lang"] == article["lang"]
    for body, message in (
        ({"question": "   "}, "the question is empty"),
        ({"question": "hola", "k": 0}, "k must be an integer between 1 and 20"),
        ({"question": "hola", "languages": ["xx"]}, "the knowledge base has no articles in 'xx'"),
    ):
        refused = httpx.post(f"{api}/v1/ask", json=body, headers=reader, timeout=60)
        assert refused.status_code == 400 and message in refused.json()["error"], refused.text
    missing = httpx.get(f"{api}/v1/articles/nope", headers=reader, timeout=60)
    assert missing.status_code == 404 and "no document 'nope'" in missing.json()["error"]
    assert httpx.get(f"{api}/v1/health", timeout=60).json()["status"] == "ok"  # no key needed, nothing told
    assert "/v1/ask" in httpx.get(f"{api}/openapi.json", timeout=60).json()["paths"]


def test_the_api_stops_where_the_app_does(api: str, keys: dict[str, str]) -> None:
    """k as in the app (MAX_K_ASKED), principles and request bodies bounded: each refusal names its limit."""
    reader = {"Authorization": f"Bearer {keys['reader']}"}
    question = "Is customer experience about emotion or technology?"
    for method, path, body, message in (
        ("GET", "/v1/search?q=hola&k=21", None, "k must be an integer between 1 and 20, got 21"),
        ("GET", "/v1/search?q=hola&k=1000", None, "k must be an integer between 1 and 20, got 1000"),
        ("POST", "/v1/ask", {"question": question, "k": 21}, "k must be an integer between 1 and 20, got 21"),
        ("GET", "/v1/principles?limit=51", None, "limit must be an integer between 1 and 50, got 51"),
        ("GET", "/v1/principles?limit=0", None, "limit must be an integer between 1 and 50, got 0"),
    ):
        refused = httpx.request(method, api + path, json=body, headers=reader, timeout=60)
        assert refused.status_code == 400 and refused.json() == {"error": message}, (path, refused.text)
    assert len(httpx.get(f"{api}/v1/search?q=hola&k=20", headers=reader, timeout=60).json()["hits"]) == 20
    big = {"question": question + " " + "x" * 70_000}  # a question is read up to 2,000 characters anyway
    refused = httpx.post(f"{api}/v1/ask", json=big, headers=reader, timeout=60)
    size = len(refused.request.content)
    assert refused.status_code == 413, refused.text
    assert refused.json() == {"error": f"the request body is {size:,} bytes; the API accepts at most 65,536 bytes"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the body is counted as it is read
        yield b'{"question": "'
        yield from (b"x" * 10_000 for _ in range(7))
        yield b'"}'

    chunked = httpx.post(
        f"{api}/v1/ask", content=chunks(), headers={**reader, "Content-Type": "application/json"}, timeout=60
    )
    assert chunked.status_code == 413 and "content-length" not in chunked.request.headers
    assert chunked.json() == {"error": "the request body is over 65,536 bytes; the API accepts at most 65,536 bytes"}


def test_every_error_is_the_same_json(api: str, keys: dict[str, str]) -> None:
    """Unknown endpoints and articles (404), a wrong method (405) and requests not of the documented shape
    (422) answer {"error": message} like every other refusal, not FastAPI's {"detail": ...}."""
    reader = {"Authorization": f"Bearer {keys['reader']}"}
    for method, path, content, status, message in (
        ("GET", "/v1/nope", None, 404, "no endpoint /v1/nope; the endpoints are listed at /docs"),
        ("GET", "/v1/articles/nope", None, 404, "no document 'nope'; known ids: 000, 001"),
        ("DELETE", "/v1/library", None, 405, "/v1/library does not take DELETE; see /docs"),
        ("POST", "/v1/ask", "{}", 422, "question is missing"),
        ("POST", "/v1/ask", '{"question": "hola", "k": "many"}', 422, "k: Input should be a valid integer"),
        ("POST", "/v1/ask", '{"question": ', 422, "the body is not valid JSON (Expecting value)"),
        ("GET", "/v1/search", None, 422, "q is missing"),
        ("GET", "/v1/principles?limit=ten", None, 422, "limit: Input should be a valid integer"),
    ):
        headers = {**reader, "Content-Type": "application/json"}
        response = httpx.request(method, api + path, content=content, headers=headers, timeout=60)
        assert response.status_code == status and response.headers["content-type"] == "application/json", path
        assert list(response.json()) == ["error"] and response.json()["error"].startswith(message), response.text


def test_cors_is_off_unless_origins_are_named(api: str, api_settings: Settings, keys: dict[str, str]) -> None:
    widget, other = "https://widget.example.com", "https://elsewhere.example.com"
    reader = {"Authorization": f"Bearer {keys['reader']}"}
    preflight = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}

    def cors(base: str, origin: str) -> tuple[str | None, str | None]:
        asked = httpx.options(f"{base}/v1/library", headers={"Origin": origin, **preflight}, timeout=60)
        got = httpx.get(f"{base}/v1/library", headers={"Origin": origin, **reader}, timeout=60)
        assert got.status_code == 200
        return asked.headers.get("access-control-allow-origin"), got.headers.get("access-control-allow-origin")

    assert cors(api, widget) == (None, None)  # off by default
    for base in serve(create_app(replace(api_settings, api_cors_origins=f"{widget}, https://other.example.org"))):
        assert cors(base, widget) == (widget, widget)
        asked = httpx.options(f"{base}/v1/ask", headers={"Origin": widget, **preflight}, timeout=60)
        assert "authorization" in asked.headers["access-control-allow-headers"].lower()
        assert cors(base, other) == (None, None)


def test_a_key_past_its_rate_is_told_to_slow_down(api_settings: Settings, keys: dict[str, str]) -> None:
    slow = replace(api_settings, api_rate=3)
    for base in serve(create_app(slow)):
        reader = {"Authorization": f"Bearer {keys['reader']}"}
        responses = [call(base, "library", reader) for _ in range(5)]
        assert [r.status_code for r in responses] == [200, 200, 200, 429, 429]
        assert "more than 3 requests a minute" in responses[-1].json()["error"]
        assert responses[-1].headers["retry-after"] == "60"
        editor = {"Authorization": f"Bearer {keys['editor']}"}
        assert call(base, "library", editor).status_code == 200  # the limit is per key


def test_the_key_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    where = ["--index", str(tmp_path / "index"), "--corpus", str(tmp_path / "corpus")]
    assert cli(["key", "add", "widget", "--role", "reader", *where]) == 0
    key = capsys.readouterr().out.strip().splitlines()[-1]  # the key is the last line
    settings = Settings.from_env(index_dir=tmp_path / "index")
    assert key.startswith("kb_") and key not in (tmp_path / "index" / "access" / "keys.json").read_text()
    assert cli(["key", "add", "widget", *where]) == 1  # the name is taken
    assert cli(["key", "list", *where]) == 0 and "widget  reader" in capsys.readouterr().out
    assert cli(["key", "revoke", "widget", *where]) == 0
    assert cli(["audit", *where]) == 0
    out = capsys.readouterr().out
    assert "key add: widget (reader)" in out and "key revoke: widget" in out and key not in out
    from kb.access import identify_key

    assert identify_key(settings, key) is None  # revoked at once


def test_a_revocation_is_not_undone_by_the_server_noting_a_use(
    api: str, api_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kb key revoke`, in another process, made while the server writes a key's last use from the keys it
    read before: the key stays revoked. The server's write is held there (a patched `_save`) until the
    command has finished or waits for the keys' lock (a waiter in Linux's /proc/locks)."""
    import subprocess
    import sys

    from kb.access import keys as stored
    from kb.access import list_keys

    if not Path("/proc/locks").exists():
        pytest.skip("needs Linux's /proc/locks to see the command wait")

    def waits_for_a_lock(pid: int) -> bool:
        with open("/proc/locks") as fh:  # "1: -> FLOCK ADVISORY WRITE <pid> ..." for a waiter
            return any(f[1:2] == ["->"] and f[5:6] == [str(pid)] for f in (line.split() for line in fh))

    key = add_key(api_settings, "tool-raced", "reader")
    real_save, revoking = stored._save, []

    def save_after_a_revocation(settings: Settings, keys: list[Any]) -> None:
        if not revoking:  # the server noting tool-raced's use, with the keys it read before
            command = [sys.executable, "-m", "kb", "--index", str(settings.index_dir), "key", "revoke", "tool-raced"]
            revoking.append(subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
            for _ in range(6000):
                if revoking[0].poll() is not None or waits_for_a_lock(revoking[0].pid):
                    break
                time.sleep(0.02)
        real_save(settings, keys)

    monkeypatch.setattr(stored, "_save", save_after_a_revocation)
    reader = {"Authorization": f"Bearer {key}"}
    assert call(api, "library", reader).status_code == 200  # valid when it asked
    out, err = revoking[0].communicate(timeout=120)
    assert revoking[0].returncode == 0 and "key tool-raced revoked" in out, err
    assert call(api, "library", reader).status_code == 401
    assert [bool(k.revoked) for k in list_keys(api_settings) if k.name == "tool-raced"] == [True]
    assert [k.last_used != "" for k in list_keys(api_settings) if k.name == "tool-raced"] == [True]


def test_paths_and_names_that_try_to_leave_their_place_are_refused(
    api: str, api_settings: Settings, keys: dict[str, str], tmp_path: Path
) -> None:
    from kb.build import add_files
    from kb.sources import SourceConfig

    reader = {"Authorization": f"Bearer {keys['reader']}"}
    for doc_id in ("..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "..%5C..%5Cwindows", "002%00.txt", "."):
        response = httpx.get(f"{api}/v1/articles/{doc_id}", headers=reader, timeout=60)
        assert response.status_code in (400, 404), (doc_id, response.text)
        assert "root:" not in response.text
    for name in ("../outside.txt", "/etc/passwd.txt", "..\\outside.txt", ".hidden.txt", "a/../../b.txt"):
        with pytest.raises(KBError, match="plain file name"):
            add_files(replace(api_settings, corpus_dir=tmp_path / "corpus"), [(name, b"x")])
    assert not list(tmp_path.rglob("*.txt"))  # nothing written anywhere
    for name in ("../evil", "a/b", "..", "Evil", ""):
        with pytest.raises(KBError, match="source name"):
            SourceConfig(name=name, kind="site", url="https://help.example.com/")


def test_the_api_docs_work_without_a_cdn(api: str) -> None:
    page = httpx.get(f"{api}/docs", timeout=60)
    assert page.status_code == 200 and "cdn." not in page.text
    scripts = re.findall(r'src="([^"]+\.js)"', page.text)
    assert scripts and all(httpx.get(api + src, timeout=60).status_code == 200 for src in scripts)


def test_feedback_from_a_widget_reaches_the_editors(api: str, keys: dict[str, str]) -> None:
    """A widget posts back the citations /v1/ask gave it, with a verdict, a flagged source and a comment; an
    editor finds them in /v1/gaps. Feedback that points at nothing is refused, and nothing is kept."""
    reader, editor = ({"Authorization": f"Bearer {keys[role]}"} for role in ("reader", "editor"))
    question = "¿Qué papel juega la tecnología en la experiencia de cliente?"
    answer = httpx.post(f"{api}/v1/ask", json={"question": question, "k": 5}, headers=reader, timeout=120).json()
    citations = [{k: c[k] for k in ("doc_id", "start", "end")} for c in answer["answer"]["citations"]]
    assert len(citations) >= 2
    body = {"question": question, "citations": citations, "helpful": False, "wrong": [2], "comment": "No es esto"}
    sent = httpx.post(f"{api}/v1/feedback", json=body, headers=reader, timeout=60)
    assert sent.status_code == 200 and sent.json()["kept"] is True
    refused = httpx.post(f"{api}/v1/feedback", json={**body, "wrong": [len(citations) + 1]}, headers=reader, timeout=60)
    assert refused.status_code == 400 and "must be one of the answer's" in refused.json()["error"]
    gaps = httpx.get(f"{api}/v1/gaps", headers=editor, timeout=120).json()
    disliked = [d for d in gaps["disliked"] if d["doc_id"] == citations[0]["doc_id"]]
    assert disliked and "No es esto" in disliked[0]["comments"]
    flagged = [f for f in gaps["flagged"] if (f["doc_id"], f["start"], f["end"]) == tuple(citations[1].values())]
    assert flagged and flagged[0]["quote"] == answer["answer"]["citations"][1]["quote"]
