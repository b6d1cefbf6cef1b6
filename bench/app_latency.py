"""Browser-measured answer latency: time from pressing Enter to the cited answer being rendered.

Starts `streamlit run app.py` on a free port (index: KB_INDEX_DIR or ./index, built if missing),
drives Debian's headless chromium with Playwright, asks 20 questions in one conversation (each answer
stays on the page), prints p50/p95, the last question's time and the cold start.
Usage: python bench/app_latency.py [--questions N]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.browser import CHROMIUM, CHROMIUM_ARGS, running_app  # noqa: E402
from bench.machine import describe  # noqa: E402
from bench.performance import queries  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--questions", type=int, default=20)
    args = parser.parse_args()
    from playwright.sync_api import expect, sync_playwright

    subprocess.run([sys.executable, "-m", "kb", "rebuild"], cwd=ROOT, check=True, capture_output=True)
    times: list[float] = []
    idle: list[float] = []
    launched = time.perf_counter()
    with running_app() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        started = time.perf_counter()
        page.goto(url)
        box = page.get_by_test_id("stChatInputTextArea")
        expect(box).to_be_visible(timeout=300_000)
        first_page = time.perf_counter() - started
        for i in range(args.questions + 1):  # the first question warms up
            question = queries(args.questions + 1)[i]  # all distinct: no cached query vector
            box.fill(question)
            t = time.perf_counter()
            box.press("Enter")
            # rendered = the new question is at the bottom and its answer's "Sources" heading is visible
            messages = page.get_by_test_id("stChatMessage")
            expect(messages.nth(2 * i)).to_contain_text(question, timeout=120_000)
            expect(messages.nth(2 * i + 1).get_by_role("heading", name="Sources", exact=True)).to_be_visible(
                timeout=120_000
            )
            shown = time.perf_counter() - t
            expect(page.get_by_test_id("stStatusWidget")).to_be_hidden(timeout=120_000)
            if not i:
                first_answer = time.perf_counter() - launched
            if i:
                times.append(shown)
                idle.append(time.perf_counter() - t)
        browser.close()
    ms = np.array(times) * 1000
    print(f"machine: {describe()}")
    print(f"the last question (its conversation {len(ms)} answers long): {ms[-1]:.0f} ms")
    print(f"cold start: page to box {first_page:.1f} s, server launch to first answer {first_answer:.1f} s")
    done = np.array(idle) * 1000
    print(
        f"submit -> answer and its sources visible, {len(ms)} questions: p50 {np.percentile(ms, 50):.0f} ms, "
        f"p95 {np.percentile(ms, 95):.0f} ms"
    )
    print(
        f"submit -> app idle again (status widget gone): p50 {np.percentile(done, 50):.0f} ms, "
        f"p95 {np.percentile(done, 95):.0f} ms"
    )


if __name__ == "__main__":
    main()
