"""Crash and concurrency harnesses for the index: SIGKILLed rebuilds, readers during rebuilds.

Usage: python bench/reliability.py [--kills N] [--queries N] [--copies C]
The rebuilds use a fake embedder (hash vectors): what is tested is the on-disk protocol
(versions, atomic swap, checksums, locks), not the model.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.fakes import FakeEmbedder  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb import KBError, KnowledgeBase, Settings  # noqa: E402
from kb.build import rebuild  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def make_corpus(target: Path, copies: int) -> None:
    """`copies` renamed copies of the bundled corpus (large enough for a rebuild to take seconds)."""
    target.mkdir(parents=True)
    for i in range(copies):
        for src in sorted((ROOT / "corpus").glob("*.txt")):
            text = src.read_text(encoding="utf-8").replace("\nid: ", f"\nid: c{i}-", 1)
            text = text.replace("translation_of: ", f"translation_of: c{i}-", 1)
            (target / f"c{i}-{src.name}").write_text(text, encoding="utf-8")


def check_consistent(kb: KnowledgeBase) -> None:
    """Everything the KB serves comes from one complete version."""
    m = kb.index.manifest
    assert m.counts.chunks == len(kb.index), "chunk count differs from the manifest"
    assert set(m.documents) == set(kb.index.documents), "documents differ from the manifest"
    for c in kb.index.chunks():
        assert kb.document(c.doc_id).body[c.start : c.end] == c.text, "a chunk does not match its document"


def _start_rebuild(settings: Settings, forever: bool) -> mp.process.BaseProcess:
    """A full rebuild (or rebuilds in a loop) in a forked child, started."""
    proc = mp.get_context("fork").Process(target=_rebuild, args=(settings, forever))
    proc.start()
    return proc


def _rebuild(settings: Settings, forever: bool) -> None:
    embedder = FakeEmbedder()
    while True:
        rebuild(settings, full=True, embedder=embedder)
        if not forever:
            return


def kill_trials(settings: Settings, kills: int, seed: int = 0) -> dict[str, float]:
    """SIGKILL full rebuilds at random moments; after each, the index must open complete and consistent."""
    rng = random.Random(seed)
    embedder = FakeEmbedder()
    rebuild(settings, full=True, embedder=embedder)
    killed_while_running = 0
    durations = []
    for trial in range(kills):
        if trial % 10 == 0:  # time a whole rebuild in a child like the killed ones, again as the machine's load drifts
            started = time.perf_counter()
            _start_rebuild(settings, forever=False).join()
            durations.append(time.perf_counter() - started)
        proc = _start_rebuild(settings, forever=False)
        time.sleep(rng.uniform(0, durations[-1] * 1.2))
        if proc.is_alive():  # (is_alive reaps a finished child: then there is nothing to kill)
            killed_while_running += 1
            proc.kill()  # SIGKILL
        proc.join()
        kb = KnowledgeBase.open(settings=settings, embedder=embedder)  # must not raise
        check_consistent(kb)
    rebuild(settings, full=True, embedder=embedder)  # the next rebuild cleans up
    litter = [p.name for p in settings.index_dir.iterdir() if p.name.startswith(".tmp")]
    assert not litter, f"temporary litter left behind: {litter}"
    return {
        "kills": kills,
        "killed_mid_rebuild": killed_while_running,
        "completed_before_the_kill": kills - killed_while_running,
        "rebuild_seconds": statistics.median(durations) if durations else 0.0,
    }


def reader_trials(settings: Settings, queries: int) -> dict[str, float]:
    """Open and query the index `queries` times while another process rebuilds it in a loop."""
    embedder = FakeEmbedder()
    rebuild(settings, full=True, embedder=embedder)
    writer = _start_rebuild(settings, forever=True)
    versions: set[str] = set()
    errors = 0
    try:
        for i in range(queries):
            try:
                kb = KnowledgeBase.open(settings=settings, embedder=embedder)
                hits = kb.search(f"experiencia del cliente {i}", k=5)
                for h in hits:
                    assert kb.document(h.doc_id).body[h.start : h.end] == h.text
                check_consistent(kb) if i % 50 == 0 else None
                versions.add(kb.index.manifest.version)
            except (KBError, AssertionError, OSError):
                errors += 1
    finally:
        os.kill(writer.pid, signal.SIGKILL)
        writer.join()
    return {"queries": queries, "errors": errors, "versions_seen": len(versions)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--kills", type=int, default=500)
    parser.add_argument("--queries", type=int, default=5000)
    parser.add_argument("--copies", type=int, default=10)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="kb-reliability-"))
    try:
        make_corpus(tmp / "corpus", args.copies)
        settings = Settings.from_env(corpus_dir=tmp / "corpus", index_dir=tmp / "index")
        print(f"machine: {describe()}")
        print("kills:", kill_trials(settings, args.kills))
        print("readers:", reader_trials(settings, args.queries))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
