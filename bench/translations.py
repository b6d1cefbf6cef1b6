"""Translation discovery at scale: recall and precision on a help centre with every article in each of its languages.

Usage: python bench/helpcentre.py && python bench/helpcentre_questions.py   # once: the corpora
       python bench/translations.py [--corpus DIR] [--index DIR]

The parallel help-centre corpus (bench/results/helpcentre-parallel/corpus/<lang>/<page>.html, and
<lang>/<app>/<page>.html for the applications' help) holds each GNOME help page in every language it is
translated into, with no `translation_of` headers: two documents translate each other exactly when they
are the same page (path below the language folder: page names such as "introduction" repeat across
applications) in two languages.
The index is rebuilt if needed (incremental); then `discover_translations` runs on its passage
vectors. What is scored is what search uses: the works (each group of documents linked by
discovered pairs), every two documents of a work being a translation pair. Pages are split in two
halves by a hash of their name (dev: tune on it; test: report it). Also printed: how many true
pairs reach the candidate step (compared in full at all) and how long discovery takes next to the
rebuild's embedding time.
Then the sentence an answer shows as a cited sentence's version in a translation (`Index.version_of`),
checked on the true pairs whose pages have as many paragraphs (paragraph k translates paragraph k),
next to the sentence most like it alone (the rule before).
With `--mixed DIR` (default: the mixed help-centre corpus, each page in one language), the pairs
found there too: none are translations, but for near-copies (two applications' identical pages).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase, Settings  # noqa: E402
from kb.build import rebuild  # noqa: E402
from kb.evaluate import paragraphs  # noqa: E402
from kb.index import Index  # noqa: E402
from kb.translations import Layout, candidate_pairs, discover_translations, works  # noqa: E402
from kb.types import Document  # noqa: E402

PARALLEL = ROOT / "bench" / "results" / "helpcentre-parallel"
MIXED = ROOT / "bench" / "results" / "helpcentre-mixed"


def page_of(path: str) -> str:
    """The page a corpus file is a language version of: "es/a11y.html" -> "a11y", "es/evince/bookmarks.html" ->
    "evince/bookmarks" (for the GNOME help, the file name, as before the applications' help was added)."""
    return Path(*Path(path).parts[1:]).with_suffix("").as_posix()


def work_pairs(pairs: list[tuple[str, str, float]], documents: list[Document]) -> set[tuple[str, str]]:
    """Every two documents (in order) of each work the discovered pairs make, as the index groups them."""
    members: dict[str, list[str]] = {}
    for doc_id, work in works([d.doc_id for d in documents], [(a, b) for a, b, _ in pairs]).items():
        members.setdefault(work, []).append(doc_id)
    return {tuple(sorted(p)) for group in members.values() for p in itertools.combinations(group, 2)}  # type: ignore[misc]


def split_of(page: str) -> str:
    return "dev" if zlib.crc32(page.encode()) % 2 == 0 else "test"


def versions(index: Index, pairs: list[tuple[str, str]]) -> dict[str, tuple[int, int, int]]:
    """(sentences, shown, right) per rule, both ways over `pairs` the index links as translations."""
    counts = {"aligned in order (kb)": [0, 0, 0], "most like it alone, >= 0.80": [0, 0, 0]}

    def paragraph(spans: list[tuple[int, int]], offset: int) -> int | None:
        return next((k for k, (start, end) in enumerate(spans) if start <= offset < end), None)

    for a, b in [(a, b) for p in pairs for a, b in (p, p[::-1])]:
        if b not in index.translations(a):
            continue
        spans_a, spans_b = paragraphs(index.document(a).body), paragraphs(index.document(b).body)
        rows_a, rows_b = index.sentences_of_document(a), index.sentences_of_document(b)
        if len(spans_a) != len(spans_b) or not len(rows_a) or not len(rows_b):
            continue
        cosines = index.sentence_vectors(rows_a) @ index.sentence_vectors(rows_b).T
        for i, row in enumerate(rows_a.tolist()):
            k = paragraph(spans_a, index.sentence_span(row)[0])
            if k is None:
                continue
            aligned = index.version_of(row, b)
            alone = int(rows_b[cosines[i].argmax()]) if cosines[i].max() >= 0.80 else None
            for rule, version in zip(counts, (aligned[0] if aligned else None, alone), strict=True):
                counts[rule][0] += 1
                counts[rule][1] += version is not None
                counts[rule][2] += version is not None and paragraph(spans_b, index.sentence_span(version)[0]) == k
    return {rule: (n, shown, right) for rule, (n, shown, right) in counts.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, default=PARALLEL / "corpus")
    parser.add_argument("--index", type=Path, default=PARALLEL / "index")
    parser.add_argument("--mixed", type=Path, default=MIXED)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    settings = Settings.from_env(corpus_dir=args.corpus, index_dir=args.index)
    report = rebuild(settings)
    print(f"index: {report.documents} documents ({'rebuilt' if report.changed else 'up to date'})")
    kb = KnowledgeBase.open(settings=settings)
    index = kb.index
    documents = [index.document(d) for d in sorted(index.documents)]
    layouts = [Layout.of(index.record(d.doc_id)) for d in documents]
    page = {d.doc_id: page_of(d.path) for d in documents}
    truth = {
        tuple(sorted((a.doc_id, b.doc_id)))
        for a, b in itertools.combinations(documents, 2)
        if page[a.doc_id] == page[b.doc_id] and a.lang != b.lang
    }
    started = time.perf_counter()
    found = work_pairs(discover_translations(layouts), documents)
    seconds = time.perf_counter() - started
    ids = [d.doc_id for d in documents]
    compared = candidate_pairs(documents, [layout.passages for layout in layouts])
    candidates = {tuple(sorted((ids[i], ids[j]))) for i, j in compared}
    print(f"discovery: {seconds:.2f} s for {len(documents)} documents, {len(candidates)} pairs compared in full\n")
    print("| split | true pairs | reach the candidate step | found | right | recall | precision |")
    print("|---|---|---|---|---|---|---|")
    for split in ("dev", "test"):
        true = {p for p in truth if split_of(page[p[0]]) == split}
        got = {p for p in found if split_of(page[p[0]]) == split}
        right = got & true
        print(
            f"| {split} | {len(true)} | {len(candidates & true)} | {len(got)} | {len(right)} | "
            f"{len(right) / max(len(true), 1):.3f} | {len(right) / max(len(got), 1):.3f} |"
        )
    print("\nsentence versions (what an answer shows of a cited sentence in a translation), over the sentences")
    print("of the true pairs the index links whose two pages have as many paragraphs (paragraph k translates")
    print("paragraph k): shown, shown in the right paragraph, and wrong of those shown")
    print("| split | sentences | rule | shown | right | wrong of shown |")
    print("|---|---|---|---|---|---|")
    for split in ("dev", "test"):
        counts = versions(index, [p for p in truth if split_of(page[p[0]]) == split])
        for rule in ("aligned in order (kb)", "most like it alone, >= 0.80"):
            n, shown, right = counts[rule]
            wrong = (shown - right) / max(shown, 1)
            print(f"| {split} | {n} | {rule} | {shown / n:.3f} | {right / n:.3f} | {wrong:.3f} |")
    if (args.mixed / "index").is_dir():
        mixed = KnowledgeBase.open(
            settings=Settings.from_env(corpus_dir=args.mixed / "corpus", index_dir=args.mixed / "index")
        )
        docs = [mixed.index.document(d) for d in sorted(mixed.index.documents)]
        pairs = discover_translations([Layout.of(mixed.index.record(d.doc_id)) for d in docs])
        named = {d.doc_id: page_of(d.path) for d in docs}
        print(f"\nmixed corpus ({len(docs)} pages, each in one language): {len(pairs)} pairs found")
        for a, b, share in pairs:
            print(f"  {named[a]} ~ {named[b]} ({share})")


if __name__ == "__main__":
    main()
