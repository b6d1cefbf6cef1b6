"""Corrupt every index file (truncations and bit flips) and check that opening fails cleanly.

Usage: python bench/corrupt.py INDEX_DIR [--per-kind N] [--seed S]
Prints JSON: trials per file and how each ended. Run in its own process: a crash (for example
FAISS parsing a malformed file) must show up as a failed run, not take the caller down.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from kb import KBError, KnowledgeBase, Settings  # noqa: E402
from kb.storage.files import CURRENT, read_manifest  # noqa: E402


def trials(index_dir: Path, per_kind: int, seed: int) -> dict[str, dict[str, int]]:
    rng = random.Random(seed)
    manifest = read_manifest(index_dir)
    if manifest is None:
        raise SystemExit(f"no index in {index_dir}")
    version = manifest.version
    names = [CURRENT, f"{version}/manifest.json", *(f"{version}/{n}" for n in manifest.files)]
    results: dict[str, dict[str, int]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "index"
        shutil.copytree(index_dir, work)
        settings = Settings.from_env(index_dir=work, corpus_dir=Path(tmp) / "no-corpus")
        for name in names:
            path = work / name
            original = path.read_bytes()
            counts = results.setdefault(name, {"trials": 0, "clear_error": 0, "same_index": 0, "other": 0})
            for kind in ("truncate", "flip"):
                for _ in range(per_kind):
                    data = bytearray(original)
                    if kind == "truncate":
                        data = data[: rng.randrange(len(data))]
                    else:
                        pos = rng.randrange(len(data))
                        data[pos] ^= 1 << rng.randrange(8)
                    path.write_bytes(bytes(data))
                    counts["trials"] += 1
                    try:
                        kb = KnowledgeBase.open(settings=settings)
                    except KBError:
                        counts["clear_error"] += 1
                    else:  # only acceptable if nothing that matters changed (e.g. JSON whitespace)
                        same = kb.index.manifest == manifest
                        counts["same_index" if same else "other"] += 1
                    path.write_bytes(original)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("index_dir", type=Path)
    parser.add_argument("--per-kind", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(json.dumps(trials(args.index_dir, args.per_kind, args.seed), indent=2))


if __name__ == "__main__":
    main()
