"""The app end to end in a real browser on a help centre: what an agent sees, checked (issue 33).

On an index of a help centre (KB_INDEX_DIR, KB_CORPUS_DIR: e.g. the 441-article mixed help centre of
bench/helpcentre_questions.py), starts `streamlit run app.py`, drives Debian's headless chromium, prints
each figure and a verdict per check, and exits 1 if any check fails:
  - the example questions (article titles when the corpus has no app.toml): each one's point 1 cites its
    own article (or a translation of it); at a phone's width (390 px) each is whole;
  - questions from a question file, N per language (en, de, es, fr, it, pl), asked one after another in
    one conversation: point 1 on the page cites the article search ranks first; each new question is
    scrolled to the top of the view with its answer below; an answer is marked not sure exactly when it
    is not confident, in the question's language; the page logs no sandbox warning. Also printed: how
    many wrong answers (point 1 not a gold article) the page marks as not sure, and Enter-to-answer times;
  - Principles: under 2 s from the click to the view rendered;
  - Library: a row opens its article, titled once;
  - uploads: a .pptx is refused on the page; a file named like an article names that article and the
    "Add" button waits for the confirmation; the corpus is unchanged (nothing is confirmed).
Usage: python bench/app_helpcentre.py --questions bench/data/helpcentre/test.jsonl [--per-language 3]
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.browser import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.messages import UI_LANGUAGES, Messages  # noqa: E402

LANGUAGES = ("en", "de", "es", "fr", "it", "pl")
PRINCIPLES_SECONDS = 2.0  # issue 33: Principles under 2 s
FAILED: list[str] = []


def check(name: str, ok: bool, figure: str) -> None:
    """Print a figure with its verdict; remember a failure for the exit status."""
    print(f"{'ok  ' if ok else 'FAIL'} {name}: {figure}")
    if not ok:
        FAILED.append(name)


AT_TOP = "e => { const top = e.getBoundingClientRect().top; return top >= -2 && top < 450; }"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--questions", type=Path, required=True, help="a question file (JSONL, `kb eval`'s format)")
    parser.add_argument("--per-language", type=int, default=3, help="questions asked per language")
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    settings = Settings.from_env()
    kb = KnowledgeBase.open(settings=settings)
    rows = [json.loads(line) for line in args.questions.read_text(encoding="utf-8").splitlines() if line.strip()]
    asked: list[dict] = []
    for lang in LANGUAGES:
        asked += [r for r in rows if r.get("lang") == lang and r.get("gold")][: args.per_language]
    titles = {d.doc_id: d.title for d in kb.documents()}
    versions = {d.title: {d.title} | {titles[t] for t in kb.index.translations(d.doc_id)} for d in kb.documents()}
    print(f"machine: {describe()}")
    print(f"index: {len(kb.documents())} articles, {len(kb.index)} passages; {len(asked)} questions asked")

    env = {"KB_INDEX_DIR": str(settings.index_dir), "KB_CORPUS_DIR": str(settings.corpus_dir)}
    with running_app(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        logged: list[str] = []
        page.on("console", lambda m: logged.append(f"{m.type}: {m.text}") if m.type in ("warning", "error") else None)
        page.goto(url)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=300_000)
        messages = page.get_by_test_id("stChatMessage")

        def point_one(n: int) -> str:
            """The title point 1 cites in answer n (1-based), as the page shows it."""
            answer = messages.nth(2 * n - 1)
            first = answer.locator("strong").filter(has_text=re.compile(r"^\[1\] ")).first
            expect(first).to_be_visible(timeout=120_000)
            return first.inner_text().split("] ", 1)[1].strip()

        # the examples
        examples = [b.inner_text() for b in page.locator("[class*='st-key-example-'] button").all()]
        found, n = 0, 0
        for i, example in enumerate(examples):
            page.locator(f".st-key-example-{i} button").click()
            n += 1
            expect(messages).to_have_count(2 * n, timeout=120_000)
            found += point_one(n) in versions.get(example, {example})
        check("examples find their article", bool(examples) and found == len(examples), f"{found}/{len(examples)}")

        # the questions, in one conversation
        same, scrolled, marked, wrong, wrong_marked, seconds = 0, 0, 0, 0, 0, []
        for row in asked:
            question = row["question"]
            answer = kb.ask(question, reader_lang="en")
            search_first = kb.search(question, k=1)[0].title
            started = time.perf_counter()
            box.fill(question)
            box.press("Enter")
            n += 1
            expect(messages).to_have_count(2 * n, timeout=120_000)
            shown = point_one(n)
            seconds.append(time.perf_counter() - started)
            same += shown == search_first
            try:
                page.wait_for_function(AT_TOP, arg=messages.nth(2 * n - 2).element_handle(), timeout=30_000)
                page.wait_for_timeout(2_000)
                scrolled += bool(messages.nth(2 * n - 2).evaluate(AT_TOP))
            except Exception:  # noqa: BLE001 - counted as not scrolled into view
                pass
            notices = messages.nth(2 * n - 1).get_by_test_id("stAlertContainer").all_inner_texts()
            says = Messages(answer.query_lang if answer.query_lang in UI_LANGUAGES else "en")
            expected = says("contested") if answer.contested else says("not_confident")
            marked += any(expected in text for text in notices) if not answer.confident else not notices
            gold = {g["doc_id"] for g in row["gold"]}
            gold |= {t for d in gold for t in kb.index.translations(d)}
            if answer.points and answer.points[0].citations[0].doc_id not in gold:
                wrong += 1
                wrong_marked += bool(notices)
        seconds.sort()
        check("point 1 = search's first on the page", same == len(asked), f"{same}/{len(asked)}")
        everyone = len(asked)
        check(
            "each new question at the top of the view, its answer below", scrolled == everyone, f"{scrolled}/{everyone}"
        )
        check(
            "not-sure answers marked in the question's language, sure ones not",
            marked == everyone,
            f"{marked}/{everyone}",
        )
        check("no sandbox warning logged", not [x for x in logged if "sandbox" in x.lower()], f"{len(logged)} warnings")
        print(f"     wrong point 1 (not a gold article) marked not sure on the page: {wrong_marked}/{wrong}")
        print(f"     Enter to point 1 shown: p50 {seconds[len(seconds) // 2]:.2f} s, max {seconds[-1]:.2f} s")

        # Principles
        started = time.perf_counter()
        page.get_by_test_id("stSidebar").get_by_text("Principles", exact=True).click()
        view = page.get_by_role("heading", name="Principles of the corpus")
        expect(view).to_be_visible(timeout=120_000)
        outcome = page.locator("h3").filter(has_text=re.compile(r"^1\. ")).or_(page.get_by_text("No point is made"))
        expect(outcome.first).to_be_visible(timeout=120_000)
        took = time.perf_counter() - started
        principles = page.locator("h3").filter(has_text=re.compile(r"^\d+\. ")).count()
        check(
            f"Principles view under {PRINCIPLES_SECONDS:g} s",
            took < PRINCIPLES_SECONDS,
            f"{took:.2f} s from the click; {principles} principles, {page.locator('*').count()} page elements",
        )

        # the Library: a row opens its article, titled once
        page.get_by_test_id("stSidebar").get_by_text("Library", exact=True).click()
        grid = page.get_by_test_id("stDataFrame").first
        expect(grid).to_be_visible(timeout=60_000)
        area = grid.bounding_box()
        page.mouse.click(area["x"] + area["width"] / 3, area["y"] + 35 + 17)  # the first row, below the header
        dialog = page.get_by_role("dialog")
        expect(dialog).to_be_visible(timeout=60_000)
        first = sorted(kb.library(), key=lambda a: a.title)[0]
        titled = dialog.get_by_text(first.title, exact=True).count()
        check("a Library row opens its article, titled once", titled == 1, f"{first.title!r} shown {titled} time(s)")
        page.keyboard.press("Escape")

        # uploads: one the corpus cannot take, one that would replace an article; nothing is confirmed
        page.get_by_test_id("stSidebar").get_by_text("Ask", exact=True).click()
        before = {p: p.read_bytes() for p in settings.corpus_dir.rglob("*") if p.is_file()}
        page.locator('input[type="file"]').set_input_files(
            str(ROOT / "tests" / "data" / "documents" / "presentation.pptx")
        )
        refused = page.get_by_text("presentation.pptx was not added")
        expect(refused).to_be_visible(timeout=60_000)
        article = kb.documents()[0]  # a file of another name that carries its id takes its place
        impostor = f"---\nid: {article.doc_id}\ntitle: Refunds\n---\nCall 0900 123 456: we pay you back the same day.\n"
        page.locator('input[type="file"]').set_input_files(
            files=[{"name": "refunds.txt", "mimeType": "text/plain", "buffer": impostor.encode()}]
        )
        warning = page.get_by_text("replaces these articles of the knowledge base")
        expect(warning).to_be_visible(timeout=60_000)
        named = warning.count() > 0 and article.title in warning.first.inner_text()
        held = page.locator(".st-key-add-uploads button").is_disabled()
        unchanged = {p: p.read_bytes() for p in settings.corpus_dir.rglob("*") if p.is_file()} == before
        check("a .pptx refused on the page", refused.count() > 0, "refused")
        check("a file with an article's id names it and waits", named and held, f"{article.path}: {named=}, {held=}")
        check("the corpus unchanged by uploads", unchanged, "unchanged" if unchanged else "CHANGED")

        # at a phone's width, every example whole
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.goto(url)
        buttons = phone.locator("[class*='st-key-example-'] button")
        expect(buttons.first).to_be_visible(timeout=120_000)
        whole = [
            b.evaluate("b => [b, ...b.querySelectorAll('*')].every(e => e.scrollWidth <= e.clientWidth + 1)")
            and (lambda r: bool(r) and r["x"] >= 0 and r["x"] + r["width"] <= 390)(b.bounding_box())
            for b in buttons.all()
        ]
        check("examples whole at 390 px", all(whole), f"{sum(whole)}/{len(whole)}")
        browser.close()
    print("all checks passed" if not FAILED else f"FAILED: {', '.join(FAILED)}")
    sys.exit(1 if FAILED else 0)


if __name__ == "__main__":
    main()
