"""The app end to end in a real browser on a help centre: what an agent sees, checked against the library.

On an index of a help centre (KB_INDEX_DIR, KB_CORPUS_DIR: e.g. the 441-article mixed help centre of
bench/helpcentre_questions.py), starts `streamlit run app.py`, drives Debian's headless chromium and checks
what issue 33 asks of the page, printing each figure:
  - the example questions (article titles when the corpus has no app.toml): does each one's point 1 cite
    its own article (or a translation of it)?
  - questions from a question file, N per language (en, de, es, fr, it, pl), asked one after another in
    one conversation: does point 1 on the page cite the article search ranks first? is each new question
    scrolled to the top of the view with its answer below? is a not-confident answer marked as such
    (and a confident one not)? how long from Enter to the sources?
  - Principles: seconds from the click to the view rendered, and what it shows;
  - an upload the corpus cannot take (.pptx): refused on the page, the corpus unchanged.
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

LANGUAGES = ("en", "de", "es", "fr", "it", "pl")
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
    asked = []
    for lang in LANGUAGES:
        asked += [r["question"] for r in rows if r.get("lang") == lang and r.get("gold")][: args.per_language]
    titles = {d.doc_id: d.title for d in kb.documents()}
    versions = {d.title: {d.title} | {titles[t] for t in kb.index.translations(d.doc_id)} for d in kb.documents()}
    print(f"machine: {describe()}")
    print(f"index: {len(kb.documents())} articles, {len(kb.index)} passages; {len(asked)} questions asked")

    env = {"KB_INDEX_DIR": str(settings.index_dir), "KB_CORPUS_DIR": str(settings.corpus_dir)}
    with running_app(env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
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
        print(f"examples: {len(examples)}; point 1 cites the example's article: {found}/{len(examples)}")

        # the questions, in one conversation
        same, scrolled, marked, seconds = 0, 0, 0, []
        for question in asked:
            answer = kb.ask(question)
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
            notice = messages.nth(2 * n - 1).get_by_test_id("stAlertContainer").count() > 0
            marked += notice == (not answer.confident)
        seconds.sort()
        print(f"questions: {len(asked)}; point 1 = search's first on the page: {same}/{len(asked)}")
        print(f"each new question at the top of the view, its answer below: {scrolled}/{len(asked)}")
        print(f"not-confident answers marked (and confident ones not): {marked}/{len(asked)}")
        print(f"Enter to point 1 shown: p50 {seconds[len(seconds) // 2]:.2f} s, max {seconds[-1]:.2f} s")

        # Principles
        started = time.perf_counter()
        page.get_by_test_id("stSidebar").get_by_text("Principles", exact=True).click()
        view = page.get_by_role("heading", name="Principles of the corpus")
        expect(view).to_be_visible(timeout=120_000)
        outcome = page.locator("h3").filter(has_text=re.compile(r"^1\. ")).or_(page.get_by_text("No point is made"))
        expect(outcome.first).to_be_visible(timeout=120_000)
        principles = page.locator("h3").filter(has_text=re.compile(r"^\d+\. ")).count()
        print(
            f"Principles view: {time.perf_counter() - started:.2f} s from the click; {principles} principles, "
            f"{page.locator('*').count()} page elements"
        )

        # an upload the corpus cannot take
        page.get_by_test_id("stSidebar").get_by_text("Ask", exact=True).click()
        before = sorted(p.name for p in settings.corpus_dir.rglob("*"))
        page.locator('input[type="file"]').set_input_files(
            str(ROOT / "tests" / "data" / "documents" / "presentation.pptx")
        )
        refused = page.get_by_text("presentation.pptx was not added")
        expect(refused).to_be_visible(timeout=60_000)
        unchanged = sorted(p.name for p in settings.corpus_dir.rglob("*")) == before
        print(f"upload of a .pptx: refused on the page: yes; corpus unchanged: {'yes' if unchanged else 'NO'}")
        browser.close()


if __name__ == "__main__":
    main()
