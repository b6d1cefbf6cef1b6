"""End to end in a real browser: `streamlit run app.py`, driven by Playwright in Debian's headless chromium."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kb import KnowledgeBase, Settings

from .conftest import ROOT

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
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


def browser_available() -> bool:
    try:
        import playwright  # noqa: F401
    except ImportError:
        return False
    return Path(CHROMIUM).exists()


if not browser_available():
    if os.environ.get("KB_REQUIRE_BROWSER"):
        raise RuntimeError("KB_REQUIRE_BROWSER is set but chromium or playwright is missing")
    pytest.skip("needs Debian's chromium and playwright (install: apt-get install chromium)", allow_module_level=True)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def app_url(real_settings: Settings) -> Iterator[str]:
    port = free_port()
    env = {**os.environ, "KB_INDEX_DIR": str(real_settings.index_dir), "KB_CORPUS_DIR": str(real_settings.corpus_dir)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(ROOT / "app.py"),
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--browser.gatherUsageStats",
            "false",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 120
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        proc.kill()
        raise RuntimeError("streamlit did not become healthy")
    yield url
    proc.terminate()
    proc.wait(timeout=30)


def test_principle_question_in_the_browser(app_url: str, kb: KnowledgeBase) -> None:
    from playwright.sync_api import expect, sync_playwright

    question = "Is customer experience about emotion or technology?"
    quote = kb.ask(question, k=6).citations[0].quote  # what the first citation must highlight

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=180_000)
        page.screenshot(path=str(ARTIFACTS / "01-start.png"), full_page=True)
        box.fill(question)
        box.press("Enter")
        expect(page.get_by_text("Sources", exact=True)).to_be_visible(timeout=120_000)
        headers = page.locator("strong").filter(has_text=re.compile(r"^\[\d+\] "))
        expect(headers.first).to_be_visible()
        labels = page.get_by_text(re.compile(r"· (Spanish|Polish|Italian|French) \((es|pl|it|fr)\)")).all_inner_texts()
        languages = {m.group(1) for text in labels for m in [re.search(r"\((\w\w)\)", text)] if m}
        assert headers.count() >= 2 and len(languages) >= 2, labels
        page.screenshot(path=str(ARTIFACTS / "02-answer.png"), full_page=True)

        page.get_by_text("Open the article").first.click()
        expanded = page.get_by_role("dialog")
        expect(expanded).to_be_visible()
        highlight = expanded.get_by_text(quote[:40]).first
        expect(highlight).to_be_visible()
        highlight.scroll_into_view_if_needed()
        background = highlight.evaluate(
            """el => { for (let e = el; e; e = e.parentElement) {
                   const c = getComputedStyle(e).backgroundColor;
                   if (c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') return c; } return ''; }"""
        )
        assert background and background != "rgb(255, 255, 255)", background
        page.screenshot(path=str(ARTIFACTS / "03-article.png"), full_page=True)
        browser.close()
