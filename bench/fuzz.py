"""Query fuzzing at scale: runs tests/test_fuzz.py with N generated queries per test (default 5000 x 2).

Usage: python bench/fuzz.py [N]
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/test_fuzz.py"],
        cwd=ROOT,
        env={**os.environ, "KB_FUZZ_EXAMPLES": str(n)},
        capture_output=True,
        text=True,
    )
    print(f"machine: {describe()}")
    print(proc.stdout.strip().splitlines()[-1])
    status = "no exception other than the documented empty-query error" if proc.returncode == 0 else "FAILURES"
    print(f"{2 * n} generated queries (search and ask), {status}, {time.perf_counter() - started:.0f} s")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
