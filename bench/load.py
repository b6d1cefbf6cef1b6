"""How many agents one machine serves: concurrent clients asking real questions, over the HTTP API and
through the app.

HTTP API: `kb serve` in its own process on a copy of an index, one API key, N concurrent clients
(1, 8, 32, 128 by default) each asking question after question (`POST /v1/ask`) for --seconds; per
level the throughput, the latency percentiles, the errors, and the server's memory. The per-key rate
limit is lifted for the run (KB_API_RATE), since all clients share one key, and the query cache is
off (KB_QUERY_CACHE_SIZE=0): every question is embedded, as distinct questions from many agents are.

App: `streamlit run app.py` on the same index and S browser sessions (Debian's chromium, 1, 4, 8 by
default), each asking --app-questions questions one after another; the time from Enter to the answer's
sources on the page.

    python bench/load.py                      # the bundled corpus (built by `kb rebuild`)
    python bench/load.py --index DIR --corpus DIR --questions FILE.jsonl

Never run it beside another benchmark: both share the machine's cores.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.browser import CHROMIUM, CHROMIUM_ARGS, free_port, running_app  # noqa: E402
from bench.machine import describe  # noqa: E402


def questions_from(path: Path) -> list[str]:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r["question"] for r in rows]


def rss_mib(pid: int) -> tuple[float, float]:
    """The process's resident memory now and at its peak (VmRSS, VmHWM), in MiB."""
    values = {}
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith(("VmRSS:", "VmHWM:")):
                values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values.get("VmRSS", 0.0), values.get("VmHWM", 0.0)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def api_level(base: str, key: str, questions: list[str], clients: int, seconds: float) -> dict[str, object]:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300) as http:
            while time.monotonic() < stop:
                question = rng.choice(questions)
                started = time.monotonic()
                try:
                    response = http.post("/v1/ask", json={"question": question, "k": 5})
                    outcome = "" if response.status_code == 200 else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    outcome = type(exc).__name__
                took = time.monotonic() - started
                with lock:
                    if outcome:
                        errors[outcome] = errors.get(outcome, 0) + 1
                    else:
                        latencies.append(took)

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - started
    return {
        "clients": clients,
        "answers": len(latencies),
        "per_s": len(latencies) / wall,
        "p50": percentile(latencies, 50),
        "p95": percentile(latencies, 95),
        "p99": percentile(latencies, 99),
        "errors": errors,
    }


def bench_api(settings_env: dict[str, str], questions: list[str], levels: list[int], seconds: float) -> None:
    from kb import Settings
    from kb.access import add_key

    key = add_key(Settings.from_env(index_dir=Path(settings_env["KB_INDEX_DIR"])), "load-bench", "reader")
    port = free_port()
    env = {**os.environ, **settings_env, "KB_API_RATE": "1000000"}
    server = subprocess.Popen(
        [sys.executable, "-m", "kb", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            try:
                if httpx.get(base + "/v1/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            raise SystemExit(f"kb serve did not start: {server.stderr.read() if server.stderr else ''}")
        api_level(base, key, questions, 1, 5)  # warm: the model loaded, caches filled
        idle, _ = rss_mib(server.pid)
        print(f"\nHTTP API (kb serve, one process), {seconds:.0f} s per level; server RSS after warm-up {idle:.0f} MiB")
        columns = ("clients", "answers", "answers/s", "p50 s", "p95 s", "p99 s", "RSS MiB")
        print(" ".join(f"{c:>{w}}" for c, w in zip(columns, (8, 8, 10, 7, 7, 7, 8), strict=True)) + " errors")
        for clients in levels:
            row = api_level(base, key, questions, clients, seconds)
            now, peak = rss_mib(server.pid)
            print(
                f"{row['clients']:>8} {row['answers']:>8} {row['per_s']:>10.2f} {row['p50']:>7.2f} {row['p95']:>7.2f}"
                f" {row['p99']:>7.2f} {now:>8.0f} {row['errors'] or 0} (peak RSS so far {peak:.0f} MiB)"
            )
    finally:
        server.terminate()
        server.wait(30)


def app_level(browser: Any, url: str, questions: list[str], count: int, per_session: int) -> None:
    """`count` browser sessions asking at once; each asks its next question when its answer is shown."""
    from playwright.sync_api import expect

    pages = []
    for _ in range(count):
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.goto(url)
        expect(page.get_by_test_id("stChatInputTextArea")).to_be_visible(timeout=300_000)
        pages.append(page)
    latencies: list[float] = []
    errors = 0
    asked = [0] * count
    pending: dict[int, float] = {}
    rng = random.Random(count)

    def ask(i: int) -> None:
        box = pages[i].get_by_test_id("stChatInputTextArea")
        box.fill(rng.choice(questions))
        box.press("Enter")
        pending[i] = time.monotonic()
        asked[i] += 1

    def answered(i: int) -> bool:  # the new answer on the page, and the page's run finished
        page = pages[i]
        shown = page.get_by_test_id("stChatMessage").count() >= 2 * asked[i]
        return (
            shown
            and page.locator("[data-testid=stChatMessage] h3").count() >= 1
            and not page.get_by_test_id("stStatusWidget").count()
        )

    started = time.monotonic()
    for i in range(count):
        ask(i)
    while pending:
        for i in list(pending):
            if answered(i):
                latencies.append(time.monotonic() - pending.pop(i))
                if asked[i] < per_session:
                    ask(i)
            elif time.monotonic() - pending[i] > 300:
                errors += 1
                pending.pop(i)
        pages[0].wait_for_timeout(50)
    wall = time.monotonic() - started
    print(
        f"{count:>8} {len(latencies):>8} {len(latencies) / wall:>10.2f} {percentile(latencies, 50):>7.2f}"
        f" {percentile(latencies, 95):>7.2f} {max(latencies, default=float('nan')):>7.2f} {errors}"
    )
    for page in pages:
        page.close()


def bench_app(settings_env: dict[str, str], questions: list[str], sessions: list[int], per_session: int) -> None:
    from playwright.sync_api import sync_playwright

    print(f"\nApp (streamlit run app.py), browser sessions each asking {per_session} questions one after another")
    print(f"{'sessions':>8} {'answers':>8} {'answers/s':>10} {'p50 s':>7} {'p95 s':>7} {'max s':>7} errors")
    with running_app(settings_env) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        for count in sessions:
            app_level(browser, url, questions, count, per_session)
        browser.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--index", type=Path, default=ROOT / "index", help="an index to copy (default: ./index)")
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--questions", type=Path, default=ROOT / "bench" / "data" / "dev.jsonl")
    parser.add_argument("--levels", default="1,8,32,128", help="concurrent API clients per level")
    parser.add_argument("--seconds", type=float, default=30.0, help="seconds per API level")
    parser.add_argument("--sessions", default="1,4,8", help="browser sessions per app level ('' to skip)")
    parser.add_argument("--app-questions", type=int, default=5, help="questions each browser session asks")
    args = parser.parse_args()
    if not (args.index / "CURRENT").exists():
        raise SystemExit(f"no index in {args.index}: run `kb rebuild` first")
    questions = questions_from(args.questions)
    print(f"bench/load.py on {describe()}; {len(questions)} questions from {args.questions.name}")
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        shutil.copytree(args.index, index, ignore=shutil.ignore_patterns("gaps.jsonl", "conversations", "access"))
        env = {
            "KB_INDEX_DIR": str(index),
            "KB_CORPUS_DIR": str(args.corpus.resolve()),
            "KB_GAP_LOG": "off",
            "KB_QUERY_CACHE_SIZE": "0",  # every question embedded, as distinct questions are
        }
        bench_api(env, questions, [int(n) for n in args.levels.split(",") if n], args.seconds)
        if args.sessions:
            bench_app(env, questions, [int(n) for n in args.sessions.split(",") if n], args.app_questions)


if __name__ == "__main__":
    main()
