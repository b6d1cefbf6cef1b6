"""Start the app under `streamlit run` on a free port, for browser tests and benchmarks."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
# Headless Debian chromium on a machine without a network: no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def running_app(env: dict[str, str] | None = None, timeout: float = 240) -> Iterator[str]:
    """Run `streamlit run app.py` headless; yields its URL once /_stcore/health answers."""
    with app_server(env, timeout) as (url, _):
        yield url


@contextmanager
def app_server(
    env: dict[str, str] | None = None, timeout: float = 240, app: Path = ROOT / "app.py"
) -> Iterator[tuple[str, int]]:
    """Run `streamlit run <app>` headless; yields (URL, server pid) once /_stcore/health answers."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("streamlit did not become healthy") from None
                time.sleep(0.5)
        yield url, proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=30)
