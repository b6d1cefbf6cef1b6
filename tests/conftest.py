"""Shared fixtures: the real corpus, a real index built once per session, and a fake embedder for plumbing."""

from __future__ import annotations

import os
import shutil
import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from bench.fakes import FakeEmbedder
from kb import KnowledgeBase, Settings
from kb.build import rebuild

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
SEEDS = ROOT.parent / "shared" / "seeds"  # only used when present; the corpus holds the same bodies
DATA = Path(__file__).resolve().parent / "data"

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def need_browser(*modules: str) -> None:
    """Skip the calling test module unless Debian's chromium and these Python modules (and playwright)
    are there; with KB_REQUIRE_BROWSER set (CI), their absence is an error instead."""
    import importlib.util

    from bench.browser import CHROMIUM

    missing = [m for m in ("playwright", *modules) if importlib.util.find_spec(m) is None]
    if not Path(CHROMIUM).exists():
        missing.append("chromium")
    if not missing:
        return
    if os.environ.get("KB_REQUIRE_BROWSER"):
        raise RuntimeError(f"KB_REQUIRE_BROWSER is set but {', '.join(missing)} is missing")
    pytest.skip(f"needs {', '.join(missing)} (install: apt-get install chromium)", allow_module_level=True)


LOCAL_HOSTS = {"127.0.0.1", "::1", "localhost", "0.0.0.0", None, ""}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The product is offline: any DNS lookup or connection to a non-loopback host is recorded,
    refused like an unplugged network would, and fails the test (even if a library swallowed the error)."""
    attempts: list[str] = []
    real_connect, real_getaddrinfo = socket.socket.connect, socket.getaddrinfo

    def guarded_connect(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else None
        if self.family in (socket.AF_INET, socket.AF_INET6) and host not in LOCAL_HOSTS:
            attempts.append(f"connect {address!r}")
            raise OSError("network disabled in tests")
        return real_connect(self, address)  # type: ignore[arg-type]

    def guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
        if host not in LOCAL_HOSTS:
            attempts.append(f"getaddrinfo {host!r}")
            raise socket.gaierror("network disabled in tests")
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "getaddrinfo", guarded_getaddrinfo)
    yield attempts
    assert not attempts, f"network access attempted: {attempts}"


@pytest.fixture(scope="session")
def real_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Settings for an index of the bundled corpus, built once with the real default model."""
    index_dir = tmp_path_factory.mktemp("real") / "index"
    settings = Settings.from_env(corpus_dir=CORPUS, index_dir=index_dir)
    rebuild(settings)
    return settings


@pytest.fixture(scope="session")
def faiss_kb(real_settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.open(settings=real_settings)


@pytest.fixture(scope="session")
def pg_settings(real_settings: Settings, faiss_kb: KnowledgeBase, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The same corpus and model on the pgvector store: a PostgreSQL server the project starts itself."""
    settings = replace(real_settings, vector_store="pgvector", index_dir=tmp_path_factory.mktemp("pg") / "index")
    rebuild(settings, embedder=faiss_kb.embedder)
    return settings


@pytest.fixture(scope="session")
def pg_kb(pg_settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.open(settings=pg_settings)


@pytest.fixture(scope="session", params=["faiss", "pgvector"])
def kb(request: pytest.FixtureRequest) -> KnowledgeBase:
    """The bundled corpus indexed with the real model; every test of the API runs on both stores."""
    return request.getfixturevalue("faiss_kb" if request.param == "faiss" else "pg_kb")


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    """A writable copy of the bundled corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()
