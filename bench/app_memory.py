"""The app server over a week of rebuilds: its memory (RSS) and the wait for the first answer after each.

Starts `streamlit run app.py` on a copy of the bundled corpus, asks a question in headless chromium,
then five times: changes one article, presses "Rebuild index", waits for "Index ready", asks again.
Prints the server's RSS after each round and how long the first answer after the rebuild took.
Usage: python bench/app_memory.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.browser import CHROMIUM, CHROMIUM_ARGS, app_server  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402

QUESTIONS = [
    "Is customer experience about emotion or technology?",
    "¿Cómo medir el éxito de la experiencia de cliente?",
    "Czy technologia jest punktem wyjścia dla doświadczenia klienta?",
    "Perché l'essere umano è al centro della customer experience?",
    "Pourquoi les émotions comptent-elles pour les marques ?",
    "What should a brand measure first?",
]


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    print(f"machine: {describe()}")
    with tempfile.TemporaryDirectory(prefix="kb-memory-") as tmp:
        corpus, index = Path(tmp) / "corpus", Path(tmp) / "index"
        shutil.copytree(ROOT / "corpus", corpus)
        KnowledgeBase.rebuild(Settings.from_env(corpus_dir=corpus, index_dir=index))
        article = sorted(corpus.glob("*.txt"))[0]
        env = {"KB_INDEX_DIR": str(index), "KB_CORPUS_DIR": str(corpus), "KB_GAP_LOG": "off"}
        with app_server(env) as (url, pid), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            box = page.get_by_test_id("stChatInputTextArea")
            expect(box).to_be_visible(timeout=300_000)

            messages = page.get_by_test_id("stChatMessage")
            built = page.get_by_test_id("stSidebar").get_by_text(re.compile("Built: "))

            def ask(question: str) -> float:
                """Seconds from Enter to the new answer's sources on screen (the conversation reads down)."""
                shown = messages.count()
                started = time.perf_counter()
                box.fill(question)
                box.press("Enter")
                expect(messages.nth(shown)).to_contain_text(question, timeout=300_000)
                answer = messages.nth(shown + 1)
                expect(answer.get_by_role("heading", name="Sources", exact=True)).to_be_visible(timeout=300_000)
                return time.perf_counter() - started

            ask(QUESTIONS[0])
            start = rss_mib(pid)
            print(f"after the first answer: RSS {start:,.0f} MiB")
            print("| round | rebuild (click to ready) | first answer after it | server RSS | vs. start |")
            print("|---|---|---|---|---|")
            for n in range(1, args.rounds + 1):
                with open(article, "a", encoding="utf-8") as fh:  # a weekly edit: one article changes
                    fh.write(f"\n\nRevisión {n}: una frase nueva sobre la experiencia de cliente.\n")
                before = built.inner_text()
                clicked = time.perf_counter()
                page.get_by_role("button", name="Rebuild index").click()
                expect(built).not_to_have_text(before, timeout=600_000)  # the page shows the new version
                rebuilt = time.perf_counter() - clicked
                waited = ask(QUESTIONS[n % len(QUESTIONS)] + f" ({n})")
                rss = rss_mib(pid)
                print(f"| {n} | {rebuilt:.1f} s | {waited:.2f} s | {rss:,.0f} MiB | {rss - start:+,.0f} MiB |")
            browser.close()


if __name__ == "__main__":
    main()
