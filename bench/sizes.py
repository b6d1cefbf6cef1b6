"""Quality as the knowledge base grows: the help-centre dev and test figures at nested corpus sizes.

Usage: python bench/sizes.py [--sizes 100 200 300] [--splits dev test] [--pages DIR] [--mixed DIR]

Corpora, nested (each holds the one before it):
  - the first N articles of the mixed help centre (every page once, in one language) in a stable order
    (a hash of the page id), for each N in --sizes, then all of them (441);
  - all pages: the parallel help centre, every article in every language it was built in (1,340 files;
    a question's gold is every language version of its page).
Each is indexed by `kb rebuild --full` (a fresh process, in a temporary folder) and asked the questions
of bench/data/helpcentre/{dev,test}.jsonl whose article it holds, plus the 60 off-topic questions, with
`kb.evaluate` as `kb eval` does. Prints one table per split; the figures go in docs/measurements.md.

Input: --pages, the pages bench/helpcentre.py writes (default bench/results/helpcentre: <lang>/<page>.html),
and --mixed, the mixed corpus's documents.jsonl that bench/helpcentre_questions.py writes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402

DATA = ROOT / "bench" / "data" / "helpcentre"
RESULTS = ROOT / "bench" / "results"
LANGS = ("es", "fr", "it", "pl")


def order(page: str) -> int:
    """The stable order articles join the corpus in (the same on every machine)."""
    return int.from_bytes(hashlib.sha256(f"size:{page}".encode()).digest()[:8], "big")


def build(files: list[str], pages: Path, work: Path) -> KnowledgeBase:
    """An index of `files` (paths below `pages`), built by `kb rebuild --full` in a fresh process."""
    corpus, index = work / "corpus", work / "index"
    shutil.rmtree(work, ignore_errors=True)
    for file in files:
        (corpus / file).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(pages / file, corpus / file)
    env = {**os.environ, "KB_CORPUS_DIR": str(corpus), "KB_INDEX_DIR": str(index)}
    subprocess.run(
        [sys.executable, "-m", "kb", "rebuild", "--full"], cwd=ROOT, env=env, check=True, capture_output=True
    )
    return KnowledgeBase.open(settings=Settings.from_env(index_dir=index, corpus_dir=corpus))


def questions_for(split: str, gold: dict[str, list[str]], indexed: set[str], work: Path) -> Path:
    """The split's questions whose page the corpus holds (gold: every version of it there), and the off-topic ones."""
    rows = []
    for line in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        held = [d for d in gold.get(row["page"], []) if d in indexed]  # a file the rebuild skipped is not gold
        if held:
            rows.append({**row, "gold": [{"doc_id": d} for d in held]})
    rows += [json.loads(line) for line in (DATA / "offtopic.jsonl").read_text(encoding="utf-8").splitlines() if line]
    path = work / f"{split}.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def by_article_language(by_pair: dict[str, dict[str, float]]) -> dict[str, float]:
    """Cross-lingual hit@5 per article language (pairs whose gold is in one language only)."""
    sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for pair, v in by_pair.items():
        asked, _, target = pair.partition(" → ")
        if asked != target and "/" not in target:
            sums[target][0] += v["n"]
            sums[target][1] += v["hit@5"] * v["n"]
    return {lang: hit / n for lang, (n, hit) in sorted(sums.items()) if n}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[100, 200, 300])
    parser.add_argument("--splits", nargs="+", default=["dev", "test"])
    parser.add_argument("--pages", type=Path, default=RESULTS / "helpcentre")
    parser.add_argument("--mixed", type=Path, default=RESULTS / "helpcentre-mixed" / "documents.jsonl")
    parser.add_argument("--no-parallel", action="store_true", help="leave out the all-pages corpus")
    parser.add_argument("--no-mixed", action="store_true", help="the all-pages corpus only")
    args = parser.parse_args()
    for path in (args.pages, args.mixed):
        if not path.exists():
            sys.exit(f"{path} is missing: run python bench/helpcentre.py && python bench/helpcentre_questions.py")
    documents = sorted(
        (json.loads(line) for line in args.mixed.read_text(encoding="utf-8").splitlines() if line),
        key=lambda d: order(d["page"]),
    )
    corpora: list[tuple[str, dict[str, list[str]], list[str]]] = []  # name, gold per page, files
    for n in [] if args.no_mixed else [*sorted(s for s in args.sizes if s < len(documents)), len(documents)]:
        chosen = documents[:n]
        corpora.append((f"{n} articles", {d["page"]: [d["doc_id"]] for d in chosen}, [d["file"] for d in chosen]))
    if not args.no_parallel:
        gold: dict[str, list[str]] = {}
        files: list[str] = []
        for d in documents:
            versions = [f"{lang}/{d['page']}.html" for lang in d["available"].split("/")]
            files += versions
            gold[d["page"]] = [f"{v.split('/', 1)[0]}-{d['doc_id'].split('-', 1)[1]}" for v in versions]
        corpora.append((f"all pages ({len(files)} files)", gold, files))
    print(f"machine: {describe()}")
    rows: dict[str, list[str]] = defaultdict(list)
    with tempfile.TemporaryDirectory(prefix="kb-sizes-") as tmp:
        work = Path(tmp)
        for name, gold, files in corpora:
            t0 = time.perf_counter()
            kb = build(files, args.pages, work / "kb")
            built = time.perf_counter() - t0
            for split in args.splits:
                asked = questions_for(split, gold, set(kb.index.documents), work)
                report = evaluate(kb, load_questions(asked, kb), parallel=False)
                m = report.metrics
                langs = by_article_language(report.by_pair)
                cells = [
                    f"{name}{'' if kb.stats().question_adapter else ' (no adapter)'}",
                    str(report.in_scope),
                    *(
                        f"{m.get(k, float('nan')):.3f}"
                        for k in ("hit@5", "mrr@10", "cross-lingual hit@5", "ask cites gold")
                    ),
                    " ".join(f"{lang} {v:.2f}" for lang, v in langs.items()) or "-",
                    *(f"{m.get(k, float('nan')):.3f}" for k in ("in-scope confident", "in-scope contested")),
                    f"{m.get('out-of-scope not confident', float('nan')):.3f}",
                    # issue 34 item 4 asks both in every question language
                    " ".join(f"{lang} {v['in scope']:.3f}" for lang, v in sorted(report.by_language.items()) if v["n"]),
                    " ".join(
                        f"{lang} {v['not confident']:.2f}"
                        for lang, v in sorted(report.by_language.items())
                        if v["out of scope"]
                    ),
                ]
                rows[split].append("| " + " | ".join(cells) + " |")
                print(f"{split} {name}: built in {built:.0f} s; " + " ".join(cells[1:]), flush=True)
    for split in args.splits:
        print(f"\n{split}:")
        print(
            "| corpus | questions | hit@5 | MRR@10 | cross-lingual hit@5 | `ask` cites gold "
            "| cross-lingual hit@5 by article language | in-scope confident | contested | off-topic not confident "
            "| in scope by question language | off-topic not confident by question language |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|---|---|")
        print("\n".join(rows[split]))


if __name__ == "__main__":
    main()
