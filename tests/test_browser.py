"""End to end in a real browser: `streamlit run app.py`, driven by Playwright in Debian's headless chromium."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from bench.browser import CHROMIUM, CHROMIUM_ARGS, running_app
from kb import KnowledgeBase, Settings, language_label

from .conftest import ROOT, need_browser

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


need_browser()


@pytest.fixture(scope="module")
def app_url(real_settings: Settings) -> Iterator[str]:
    with running_app(
        {"KB_INDEX_DIR": str(real_settings.index_dir), "KB_CORPUS_DIR": str(real_settings.corpus_dir)}
    ) as url:
        yield url


def launch(p: Any) -> Any:
    return p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@contextmanager
def telling(page: Any) -> Iterator[None]:
    """A failed check says what the page showed at that moment (CI keeps no screenshot)."""
    try:
        yield
    except AssertionError as exc:
        try:
            shown = page.inner_text("body", timeout=5_000)
        except Exception as why:  # noqa: BLE001 - the page itself may be what failed
            shown = f"(the page could not be read: {why})"
        raise AssertionError(f"{exc}\n--- the page showed:\n{shown[:4000]}") from exc


def ask(page: Any, question: str) -> None:
    from playwright.sync_api import expect

    box = page.get_by_test_id("stChatInputTextArea")
    expect(box).to_be_visible(timeout=180_000)
    box.fill(question)
    box.press("Enter")


def open_library_row(page: Any, row: int) -> Any:
    """Click row `row` of the Library's grid (a canvas: by position) and return the article's dialog."""
    from playwright.sync_api import expect

    grid = page.get_by_test_id("stDataFrame").first
    expect(grid).to_be_visible(timeout=60_000)
    box = grid.bounding_box()
    page.mouse.click(box["x"] + box["width"] / 3, box["y"] + 35 * (row + 1) + 17)  # below the 35 px header
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=60_000)
    return dialog


def test_principle_question_in_the_browser(app_url: str, faiss_kb: KnowledgeBase) -> None:
    from playwright.sync_api import expect, sync_playwright

    question = "Is customer experience about emotion or technology?"
    # the citation deepest into its article: the article must open scrolled down to it
    deepest = max(faiss_kb.ask(question, k=6).citations, key=lambda c: c.start)
    assert deepest.start > 3000, deepest

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=180_000)
        # what users see and do not see: no developer chrome; every example question whole
        expect(page.get_by_role("button", name="Deploy")).to_have_count(0)
        for example in page.get_by_test_id("stButton").filter(has_text=re.compile(r"\?$")).all():
            assert example.evaluate(
                "b => [b, ...b.querySelectorAll('*')].every(e => e.scrollWidth <= e.clientWidth + 1)"
            ), example.inner_text()
        menu = page.get_by_test_id("stMainMenu")
        if menu.count():
            menu.click()
            expect(page.get_by_text("Clear cache")).to_have_count(0)
            expect(page.get_by_text("Rerun")).to_have_count(0)
            page.keyboard.press("Escape")
        page.screenshot(path=str(ARTIFACTS / "01-start.png"), full_page=True)
        box.fill(question)
        box.press("Enter")
        expect(page.get_by_role("heading", name="Sources", exact=True).first).to_be_visible(timeout=120_000)
        # (visible ones: a cited article's translations are the other tabs of its source)
        headers = page.locator("strong:visible").filter(has_text=re.compile(r"^\[\d+\] "))
        expect(headers.nth(1)).to_be_visible(timeout=60_000)  # the sources render one after another
        labels = page.get_by_text(re.compile(r"· (Spanish|Polish|Italian|French) \((es|pl|it|fr)\)")).all_inner_texts()
        languages = {m.group(1) for text in labels for m in [re.search(r"\((\w\w)\)", text)] if m}
        assert headers.count() >= 2 and len(languages) >= 2, labels
        page.screenshot(path=str(ARTIFACTS / "02-answer.png"), full_page=True)

        page.locator(f'[class*="st-key-open-a0-{deepest.n}-{deepest.doc_id}"] button').first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        mark = dialog.locator("mark#kb-cited")
        expect(mark).to_contain_text(" ".join(deepest.quote.split())[:40])
        expect(mark).to_be_in_viewport(timeout=10_000)  # scrolled to, without the reader scrolling
        background = mark.evaluate("el => getComputedStyle(el).backgroundColor")
        assert background not in ("", "transparent", "rgba(0, 0, 0, 0)", "rgb(255, 255, 255)"), background
        page.screenshot(path=str(ARTIFACTS / "03-article.png"), full_page=True)
        browser.close()


TEN = [
    "Is customer experience about emotion or technology?",
    "¿Cómo medir el éxito de la experiencia de cliente?",
    "Czy technologia jest punktem wyjścia dla doświadczenia klienta?",
    "Perché l'essere umano è al centro della customer experience?",
    "Pourquoi les émotions comptent-elles pour les marques ?",
    "What do customers remember about a brand?",
    "¿Qué papel tienen los empleados en la experiencia?",
    "Jak zmierzyć lojalność klientów?",
    "Come si costruisce la fiducia del cliente?",
    "Le numérique remplace-t-il le contact humain ?",
]


def test_ten_questions_in_a_row_each_answer_in_view(app_url: str) -> None:
    """Each new question is brought into view with its answer below it, every time (it once stayed under
    the input box for every second question); the page logs no warning while doing it; at a phone's
    width the example questions wrap whole."""
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        logged: list[str] = []
        page.on("console", lambda m: logged.append(f"{m.type}: {m.text}") if m.type in ("warning", "error") else None)
        page.goto(app_url)
        with telling(page):
            messages = page.get_by_test_id("stChatMessage")
            for i, question in enumerate(TEN, 1):
                ask(page, question)
                expect(messages).to_have_count(2 * i, timeout=120_000)
                asked = messages.nth(2 * i - 2)
                expect(asked).to_contain_text(question)
                expect(asked).to_be_in_viewport(timeout=20_000)
                expect(messages.nth(2 * i - 1).get_by_role("heading", name="Sources")).to_be_visible(timeout=60_000)
                # the question at the top, its answer below it, once the page has rendered, and it stays there
                at_top = "e => { const top = e.getBoundingClientRect().top; return top >= -2 && top < 450; }"
                try:
                    page.wait_for_function(at_top, arg=asked.element_handle(), timeout=30_000)
                except Exception:
                    raise AssertionError((i, question, asked.evaluate("e => e.getBoundingClientRect().top"))) from None
                page.wait_for_timeout(2_500)
                assert asked.evaluate(at_top), (i, question, asked.evaluate("e => e.getBoundingClientRect().top"))
        assert not [line for line in logged if "sandbox" in line.lower()], logged

        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(app_url)
        examples = phone.locator("[class*='st-key-example-'] button")  # whatever they end with
        expect(examples.first).to_be_visible(timeout=180_000)
        for example in examples.all():
            box = example.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390, (example.inner_text(), box)
            assert example.evaluate(
                "b => [b, ...b.querySelectorAll('*')].every(e => e.scrollWidth <= e.clientWidth + 1)"
            ), example.inner_text()
        ARTIFACTS.mkdir(exist_ok=True)
        phone.screenshot(path=str(ARTIFACTS / "06-phone.png"), full_page=True)
        browser.close()


def test_the_interface_follows_the_browser_and_the_selector(app_url: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(locale="pl-PL", viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(app_url)
        expect(page.get_by_text("Baza wiedzy o doświadczeniu klienta")).to_be_visible(timeout=180_000)
        ask(page, "Pourquoi les émotions comptent-elles pour les marques ?")
        expect(page.get_by_role("heading", name="Źródła", exact=True).first).to_be_visible(timeout=120_000)
        expect(page.get_by_text("Język pytania: Francuski (fr)")).to_be_visible()
        page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").click()
        page.get_by_role("option", name="Italiano").click()
        expect(page.get_by_text("Knowledge base sulla customer experience")).to_be_visible(timeout=60_000)
        expect(page.get_by_text("Lingua della domanda: Francese (fr)")).to_be_visible()
        assert "lang=it" in page.url
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "05-italian-interface.png"), full_page=True)
        browser.close()


def test_conversation_library_and_gaps(app_url: str, real_settings: Settings) -> None:
    from playwright.sync_api import expect, sync_playwright

    first, second = "¿Cómo medir el éxito de la experiencia de cliente?", "How many moons does Jupiter have?"
    with sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(app_url)
        ask(page, first)
        expect(page.get_by_role("heading", name="Sources", exact=True).first).to_be_visible(timeout=120_000)
        ask(page, second)
        expect(page.get_by_text("no passage that clearly answers")).to_be_visible(timeout=120_000)
        questions = page.get_by_test_id("stChatMessage").filter(has=page.get_by_test_id("stChatMessageAvatarUser"))
        expect(questions.get_by_test_id("stChatMessageContent")).to_have_text([first, second])  # oldest on top
        expect(questions.nth(1)).to_be_in_viewport()  # the page follows the conversation down
        page.wait_for_timeout(4_000)  # ... and stays there once the page has settled
        expect(questions.nth(1)).to_be_in_viewport()
        page.reload()  # the conversation survives
        expect(questions.get_by_test_id("stChatMessageContent")).to_have_text([first, second], timeout=120_000)

        # feedback on the second answer: thumbs down, then a comment for the editors (flagging a source is
        # checked in AppTest: the list's options move while the page settles, too unsteady to click here)
        page.locator(".st-key-fb-a1 button").filter(has_text="thumb_down").click()
        page.wait_for_timeout(2_000)  # the run the click starts
        page.get_by_text("Tell the editors").last.click()
        comment = page.locator(".st-key-fb-comment-a1 input")
        expect(comment).to_be_visible(timeout=30_000)
        comment.fill("Nada sobre Júpiter")
        comment.press("Enter")
        page.locator(".st-key-fb-send-a1 button").click()
        expect(page.get_by_text("Thank you: the editors will see it.")).to_be_visible(timeout=60_000)

        page.get_by_test_id("stSidebar").get_by_text("Library", exact=True).click()
        library = KnowledgeBase.open(settings=real_settings).library()
        dialog = open_library_row(page, 1)  # a click on a row opens its article, titled once
        expect(dialog.get_by_text(library[1].title)).to_have_count(1)
        body = KnowledgeBase.open(settings=real_settings).document(library[1].doc_id).body
        expect(dialog.get_by_test_id("stHtml")).to_contain_text(body.split("\n\n")[1][:40])
        page.keyboard.press("Escape")
        expect(dialog).to_have_count(0)

        page.get_by_test_id("stSidebar").get_by_text("Content gaps", exact=True).click()
        expect(page.get_by_text("Unanswered questions")).to_be_visible(timeout=60_000)
        # the pictures: questions per day and the share answered with confidence per language, coverage,
        # feedback per day (the dislike above)
        charts = page.get_by_test_id("stVegaLiteChart")
        expect(charts).to_have_count(5, timeout=60_000)
        for chart in charts.all():
            expect(chart.locator("canvas, svg").first).to_be_visible(timeout=60_000)
            box = chart.bounding_box()
            assert box and box["width"] > 100 and box["height"] > 100, box
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "06-gaps.png"), full_page=True)
        table = page.get_by_test_id("stDataFrame").first
        expect(table).to_be_visible()
        expect(page.get_by_text("Answers found not helpful")).to_be_visible()
        expect(page.get_by_text("Sources flagged as wrong")).to_be_visible()
        expect(page.get_by_text("No answer was found not helpful.")).to_have_count(0)  # the dislike is listed
        browser.close()
    given = [json.loads(line) for line in (real_settings.index_dir / "feedback.jsonl").open(encoding="utf-8")]
    assert [(f["helpful"], f["wrong"], f["comment"]) for f in given[-2:]] == [
        (False, [], ""),
        (None, [], "Nada sobre Júpiter"),
    ]
    logged = [json.loads(line) for line in (real_settings.index_dir / "gaps.jsonl").open(encoding="utf-8")]
    assert logged and all(entry["question"] == "" for entry in logged)  # no wording kept by default
    assert "Jupiter" not in (real_settings.index_dir / "gaps.jsonl").read_text(encoding="utf-8")


def test_rebuild_in_one_tab_while_another_asks(real_settings: Settings, tmp_path: Path) -> None:
    """One tab starts a rebuild and is closed; the other keeps asking, sees the progress, then the new index."""
    import shutil

    from playwright.sync_api import expect, sync_playwright

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(real_settings.corpus_dir, corpus)
    shutil.copytree(real_settings.index_dir, index)
    before = KnowledgeBase.open(index_dir=index, corpus_dir=corpus).stats().documents
    for i, source in enumerate(sorted(corpus.glob("*.txt"))[:4]):  # new articles: several to embed
        text = re.sub(r"(?m)^id: .*$", f"id: copy-{i}", source.read_text(encoding="utf-8"), count=1)
        note = f"\n\nNota {i}: una copia de prueba, con esta frase para que su texto sea otro.\n"
        (corpus / f"copy-{i}.txt").write_text(text + note, encoding="utf-8")
    with running_app({"KB_INDEX_DIR": str(index), "KB_CORPUS_DIR": str(corpus)}) as url, sync_playwright() as p:
        browser = launch(p)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        starter, asker = context.new_page(), context.new_page()
        for page in (starter, asker):
            page.goto(url)
            expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
        starter.get_by_role("button", name="Rebuild index").click()
        expect(starter.get_by_text(re.compile(r"Preparing|Reading|Embedding|Index ready"))).to_be_visible(
            timeout=60_000
        )
        starter.close()  # closing the tab that started it does not stop it
        expect(asker.get_by_text(re.compile(r"(Reading|Embedding): \d+/\d+"))).to_be_visible(timeout=60_000)
        ask(asker, "Is customer experience about emotion or technology?")
        expect(asker.get_by_role("heading", name="Sources", exact=True).first).to_be_visible(timeout=120_000)
        expect(asker.get_by_text(re.compile(r"Index ready in \d+ s"))).to_be_visible(timeout=300_000)
        ARTIFACTS.mkdir(exist_ok=True)
        asker.screenshot(path=str(ARTIFACTS / "07-rebuilt-while-asking.png"), full_page=True)
        table = asker.get_by_test_id("stSidebar").get_by_test_id("stTable")
        stats = KnowledgeBase.open(index_dir=index, corpus_dir=corpus).stats()
        for lang, n in stats.documents_per_language.items():  # the page shows the new index without a reload
            row = f"{language_label(lang)} {n} {stats.chunks_per_language[lang]}"
            expect(table.get_by_role("row", name=row)).to_be_visible()
        browser.close()
    assert KnowledgeBase.open(index_dir=index, corpus_dir=corpus).stats().documents == before + 4


def test_upload_documents_and_cite_a_pdf_page(real_settings: Settings, tmp_path: Path) -> None:
    """Upload a PDF and a DOCX in the app (in Spanish), with three files it cannot use: those are refused
    before they reach the corpus, each saying why and what to do, in Spanish, and the limits the page
    states are the real ones; the two are indexed and a PDF citation shows its page and section."""
    import shutil

    from playwright.sync_api import expect, sync_playwright

    from .conftest import DATA

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(real_settings.corpus_dir, corpus)
    shutil.copytree(real_settings.index_dir, index)
    large = tmp_path / "manual.html"
    large.write_text("<html><body>" + "<p>Texto de ayuda.</p>" * 150_000 + "</body></html>", encoding="utf-8")
    good = [DATA / "documents" / "keyboard-nav.pdf", DATA / "documents" / "tips-specialchars.docx"]
    bad = [DATA / "documents" / "presentation.pptx", DATA / "documents" / "broken.pdf", large]
    with running_app({"KB_INDEX_DIR": str(index), "KB_CORPUS_DIR": str(corpus)}) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_context(locale="es-ES", viewport={"width": 1400, "height": 1000}).new_page()
        page.goto(url)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=180_000)
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("PDF y DOCX hasta 50 MB; HTML, Markdown y texto hasta 2 MB")).to_be_visible()
        expect(sidebar.get_by_text(re.compile("200 ?MB"))).not_to_be_visible()  # Streamlit's own, wrong limit
        page.locator('input[type="file"]').set_input_files([str(u) for u in good + bad])
        expect(sidebar.get_by_text("presentation.pptx no se añadió")).to_contain_text("Expórtalo como PDF")
        expect(sidebar.get_by_text("broken.pdf no se añadió")).to_contain_text("no se pudo leer")
        expect(sidebar.get_by_text("manual.html no se añadió")).to_contain_text("Divídelo en archivos")
        assert not any((corpus / f.name).exists() for f in good + bad)  # nothing written yet
        page.get_by_role("button", name="Añadir a la base de conocimiento").click()
        expect(page.get_by_text("Añadido: keyboard-nav.pdf, tips-specialchars.docx")).to_be_visible(timeout=300_000)
        assert all((corpus / f.name).exists() for f in good) and not any((corpus / f.name).exists() for f in bad)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=180_000)
        box.fill("Con el teclado, ¿cómo muevo una ventana a otra pantalla?")
        box.press("Enter")
        expect(page.get_by_role("heading", name="Fuentes", exact=True).first).to_be_visible(timeout=120_000)
        location = page.get_by_text(re.compile(r"p\. \d · Navegación con el teclado")).first
        expect(location).to_be_visible(timeout=60_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "04-uploaded-pdf-citation.png"), full_page=True)
        browser.close()
    assert KnowledgeBase.open(index_dir=index, corpus_dir=corpus).document("keyboard-nav").format == "pdf"


def test_a_damaged_index_file_while_serving(real_settings: Settings, tmp_path: Path) -> None:
    """An index file cut short under the running server: the question gets the error and the repair,
    the server stays up, and the repair brings answers back."""
    import shutil

    from playwright.sync_api import expect, sync_playwright

    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(real_settings.corpus_dir, corpus)
    shutil.copytree(real_settings.index_dir, index)
    with running_app({"KB_INDEX_DIR": str(index), "KB_CORPUS_DIR": str(corpus)}) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        ask(page, "¿Cómo medir el éxito de la experiencia de cliente?")
        expect(page.get_by_role("heading", name="Sources", exact=True).first).to_be_visible(timeout=120_000)
        version = KnowledgeBase.current_version(index)
        for name in ("tokens.npy", "chunks.faiss"):  # cut short in place, as a full disk or a bad copy would
            path = index / version / name
            with open(path, "r+b") as fh:
                fh.truncate(path.stat().st_size // 2)
        ask(page, "Is customer experience about emotion or technology?")
        expect(page.get_by_text("changed under the running app")).to_be_visible(timeout=120_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "08-damaged-while-serving.png"), full_page=True)
        page.get_by_role("button", name="Rebuild the index now").click()
        expect(page.get_by_text(re.compile(r"Index ready in \d+ s"))).to_be_visible(timeout=300_000)
        ask(page, "Is customer experience about emotion or technology?")
        messages = page.get_by_test_id("stChatMessage")
        expect(messages).to_have_count(4, timeout=120_000)  # the first exchange and this one
        expect(messages.nth(3).get_by_role("heading", name="Sources", exact=True)).to_be_visible(timeout=120_000)
        expect(page.get_by_text("changed under the running app")).to_have_count(0)
        browser.close()
    assert KnowledgeBase.current_version(index) != version


HOSTILE_MD = """---
lang: en
title: Emotion <script>window.__kbPwned='title'</script><img src=x onerror="window.__kbPwned='title-img'">
source: javascript:window.__kbPwned='source'
---
Customer experience is about emotion <script>window.__kbPwned='body'</script> and trust between people.

<img src=x onerror="window.__kbPwned='body-img'"> [Read more](javascript:window.__kbPwned='link') about emotion.
"""
HOSTILE_HTML = """<html><head><title>Refunds <script>window.__kbPwned='html-title'</script></title></head>
<body><h1 onmouseover="window.__kbPwned='h1'">Refunds <img src=x onerror="window.__kbPwned='h1-img'"></h1>
<p>Refunds take 14 days after the customer returns the product. <a href="javascript:window.__kbPwned='a'">More</a></p>
<script>window.__kbPwned='html-body'</script></body></html>"""


def pwned(page: Any) -> list[str]:
    """What any script planted in an article managed to set, in the page or any of its frames."""
    found = []
    for frame in page.frames:
        try:
            value = frame.evaluate("() => window.__kbPwned")
        except Exception:  # a frame gone meanwhile  # noqa: BLE001
            continue
        if value is not None:
            found.append(str(value))
    return found


def test_script_in_an_article_never_runs_and_replacing_an_article_asks(tmp_path: Path) -> None:
    """Title, body, source URL and file name carrying script: shown as text in the answer, the article view,
    the library and the exported answer, never run. Uploading a file of an existing article's name names
    it and waits for the editor's confirmation."""
    from playwright.sync_api import expect, sync_playwright

    from kb.access import read_audit
    from kb.build import rebuild

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "<img src=x onerror=alert(1)>.md").write_text(HOSTILE_MD, encoding="utf-8")
    (corpus / "refunds.html").write_text(HOSTILE_HTML, encoding="utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings)
    dialogs: list[str] = []
    env = {"KB_INDEX_DIR": str(settings.index_dir), "KB_CORPUS_DIR": str(corpus)}
    with running_app(env) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(url)
        ask(page, "Is customer experience about emotion?")
        expect(page.get_by_role("heading", name="Sources", exact=True).first).to_be_visible(timeout=120_000)
        expect(page.get_by_text("<script>window.__kbPwned='title'</script>").first).to_be_visible()
        page.get_by_text("Copy as Markdown").first.click()  # the exported answer: text in a code block
        expect(page.locator("code").filter(has_text="\\<script\\>").first).to_be_attached()
        page.get_by_role("button", name="Open the article").first.click()
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible()
        page.wait_for_timeout(1_500)
        page.keyboard.press("Escape")
        ask(page, "How long do refunds take?")
        expect(page.get_by_text("Refunds take 14 days").first).to_be_visible(timeout=60_000)
        page.get_by_test_id("stSidebar").get_by_text("Library", exact=True).click()
        open_library_row(page, 0)
        page.wait_for_timeout(1_500)
        page.keyboard.press("Escape")
        page.get_by_test_id("stSidebar").get_by_text("Principles", exact=True).click()
        page.wait_for_timeout(3_000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "08-script-in-articles.png"), full_page=True)
        assert pwned(page) == [] and dialogs == []

        # an upload named like an existing article: named, and held until confirmed
        page.get_by_test_id("stSidebar").get_by_text("Ask", exact=True).click()
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files(
            files=[
                {
                    "name": "refunds.html",
                    "mimeType": "text/html",
                    "buffer": b"<html><head><title>Refunds</title></head><body><h1>Refunds</h1><p>For a refund, "
                    b"call 0900 123 456 and give your order number: our agents pay it back the same day.</p>"
                    b"</body></html>",
                }
            ]
        )
        expect(page.get_by_text("replaces these articles of the knowledge base")).to_be_visible()
        expect(page.get_by_text("Refunds", exact=False).first).to_be_visible()
        add = page.locator(".st-key-add-uploads button")
        expect(add).to_be_disabled()
        assert "Refunds take 14 days" in (corpus / "refunds.html").read_text(encoding="utf-8")
        page.get_by_text("Replace this article").click()
        expect(add).to_be_enabled()
        browser.close()
    assert "Refunds take 14 days" in (corpus / "refunds.html").read_text(encoding="utf-8")  # not confirmed+added
    assert read_audit(settings) == []


def test_a_trusted_proxy_names_who_signs_in(tmp_path: Path) -> None:
    """The identity header of a sign-in proxy on this machine (the app on 127.0.0.1) signs the person in
    with their account's role; without it no one is signed in; served beyond this machine with the proxy
    elsewhere, a relay on this machine that claims the proxy's address is refused."""
    from playwright.sync_api import expect, sync_playwright

    from kb.access.users import add_user
    from kb.build import rebuild

    from .identity_proxy import identity_proxy

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("---\nlang: es\n---\nLa experiencia de cliente es emoción.\n")
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    rebuild(settings)
    add_user(settings, "lead", "editor", None)
    env = {
        "KB_INDEX_DIR": str(settings.index_dir),
        "KB_CORPUS_DIR": str(settings.corpus_dir),
        "KB_PROXY_USER_HEADER": "X-Forwarded-User",
    }

    def signed_in_through(proxy: str, expected: str, browser: Any) -> Any:
        page = browser.new_page()
        page.goto(proxy)
        expect(page.get_by_text(expected)).to_be_visible(timeout=120_000)
        return page

    with sync_playwright() as p:
        browser = launch(p)
        with running_app(env) as url:
            with identity_proxy(url, "lead") as proxy:
                page = signed_in_through(proxy, "Signed in as lead (editor).", browser)
                gaps = page.get_by_test_id("stSidebar").get_by_text("Content gaps", exact=True)
                expect(gaps).to_be_visible(timeout=120_000)
            with identity_proxy(url, "agent7") as proxy:
                page = signed_in_through(proxy, "Signed in as agent7 (reader).", browser)
                expect(page.get_by_test_id("stSidebar").get_by_text("Library", exact=True)).to_be_visible(
                    timeout=120_000
                )
                expect(page.get_by_test_id("stSidebar").get_by_text("Content gaps", exact=True)).to_have_count(0)
            page = signed_in_through(url, "the proxy did not say who is signed in", browser)  # around the proxy
            expect(page.get_by_test_id("stChatInputTextArea")).to_have_count(0)
        beyond = {**env, "STREAMLIT_SERVER_ADDRESS": "0.0.0.0", "KB_TRUSTED_PROXIES": "192.0.2.1"}
        with running_app(beyond) as url, identity_proxy(url, "lead", forwarded_for="192.0.2.1") as relay:
            page = signed_in_through(relay, "honoured only from the trusted proxy", browser)
            expect(page.get_by_test_id("stChatInputTextArea")).to_have_count(0)
        browser.close()


def test_built_in_accounts_in_the_browser(tmp_path: Path) -> None:
    """What a person sees: the sign-in form and nothing else; a wrong password refused; a reader asks and
    reads without the editor's controls; after signing out, an editor has them."""
    from playwright.sync_api import expect, sync_playwright

    from kb.access.users import add_user
    from kb.build import rebuild

    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("---\nlang: es\n---\nLa experiencia de cliente es emoción.\n")
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    rebuild(settings)
    add_user(settings, "agent7", "reader", "agent seven password")
    add_user(settings, "lead", "editor", "lead editor password")
    env = {"KB_INDEX_DIR": str(settings.index_dir), "KB_CORPUS_DIR": str(settings.corpus_dir)}
    with running_app(env) as url, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)

        def sign_in(name: str, password: str) -> None:
            page.get_by_role("textbox", name="User name").fill(name)
            page.get_by_role("textbox", name="Password").fill(password)
            page.get_by_role("button", name="Sign in").click()

        with telling(page):
            expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=120_000)
            expect(page.get_by_test_id("stChatInputTextArea")).to_have_count(0)
            sign_in("agent7", "a guess at it")
            expect(page.get_by_text("Sign-in refused: wrong name or password")).to_be_visible(timeout=60_000)
            sign_in("agent7", "agent seven password")
            expect(page.get_by_text("Signed in as agent7 (reader).")).to_be_visible(timeout=60_000)
            ask(page, "¿Qué es la experiencia de cliente?")
            expect(page.get_by_role("heading", name="Sources", exact=True).first).to_be_visible(timeout=120_000)
            sidebar = page.get_by_test_id("stSidebar")
            expect(sidebar.get_by_role("button", name="Rebuild index")).to_have_count(0)
            expect(sidebar.get_by_text("Content gaps", exact=True)).to_have_count(0)
            expect(page.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(0)
            sidebar.get_by_role("button", name="Sign out").click()
            expect(page.get_by_role("button", name="Sign in")).to_be_visible(timeout=60_000)
            sign_in("lead", "lead editor password")
            expect(page.get_by_text("Signed in as lead (editor).")).to_be_visible(timeout=60_000)
            expect(page.get_by_test_id("stChatMessage")).to_have_count(0)  # the reader's conversation left with them
            expect(sidebar.get_by_text("Content gaps", exact=True)).to_be_visible()
            expect(page.get_by_test_id("stFileUploaderDropzoneInput")).to_have_count(1)
            expect(sidebar.get_by_role("button", name="Rebuild index")).to_have_count(1)
        browser.close()


def test_uploads_without_the_pages_xsrf_token_are_refused(app_url: str) -> None:
    """XSRF protection stays on: a file sent to the app's upload endpoint by another site's page (no
    token from the app's own page) is refused."""
    import httpx

    response = httpx.put(
        f"{app_url}/_stcore/upload_file/some-session/some-file",
        files={"file": ("a.txt", b"---\nlang: es\n---\nLlame al 0900 123 456.\n", "text/plain")},
        headers={"Origin": "https://evil.example"},
        timeout=30,
    )
    assert response.status_code == 403, response.text
