"""End to end in a real browser: `streamlit run app.py`, driven by Playwright in Debian's headless chromium."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.browser import CHROMIUM, CHROMIUM_ARGS, running_app
from kb import KnowledgeBase, Settings

from .conftest import ROOT

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


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


@pytest.fixture(scope="module")
def app_url(real_settings: Settings) -> Iterator[str]:
    with running_app(
        {"KB_INDEX_DIR": str(real_settings.index_dir), "KB_CORPUS_DIR": str(real_settings.corpus_dir)}
    ) as url:
        yield url


def test_principle_question_in_the_browser(app_url: str, faiss_kb: KnowledgeBase) -> None:
    from playwright.sync_api import expect, sync_playwright

    question = "Is customer experience about emotion or technology?"
    quote = faiss_kb.ask(question, k=6).citations[0].quote  # what the first citation must highlight

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
        expect(headers.nth(1)).to_be_visible(timeout=60_000)  # the sources render one after another
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


def test_upload_documents_and_cite_a_pdf_page(real_settings: Settings, tmp_path: Path) -> None:
    """Upload a PDF and a DOCX in the app; they are indexed and a PDF citation shows its page and section."""
    import shutil

    from playwright.sync_api import expect, sync_playwright

    from .conftest import DATA

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(real_settings.corpus_dir, corpus)
    shutil.copytree(real_settings.index_dir, index)
    uploads = [DATA / "documents" / "keyboard-nav.pdf", DATA / "documents" / "tips-specialchars.docx"]
    with running_app({"KB_INDEX_DIR": str(index), "KB_CORPUS_DIR": str(corpus)}) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
        page.locator('input[type="file"]').set_input_files([str(u) for u in uploads])
        page.get_by_role("button", name="Add to the knowledge base").click()
        expect(page.get_by_text("Added keyboard-nav.pdf, tips-specialchars.docx")).to_be_visible(timeout=300_000)
        assert (corpus / "keyboard-nav.pdf").exists() and (corpus / "tips-specialchars.docx").exists()
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=180_000)
        box.fill("Con el teclado, ¿cómo muevo una ventana a otra pantalla?")
        box.press("Enter")
        expect(page.get_by_text("Sources", exact=True)).to_be_visible(timeout=120_000)
        location = page.get_by_text(re.compile(r"p\. \d · Navegación con el teclado")).first
        expect(location).to_be_visible(timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "04-uploaded-pdf-citation.png"), full_page=True)
        browser.close()
    assert KnowledgeBase.open(index_dir=index, corpus_dir=corpus).document("keyboard-nav").format == "pdf"
