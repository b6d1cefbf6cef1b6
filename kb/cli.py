"""The `kb` command line: a thin layer over the public API (rebuild, search, ask, gaps, info)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .config import Settings
from .errors import KBError
from .language import language_label, language_name


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="kb", description="Multilingual customer-experience knowledge base.")
    parser.add_argument("--index", type=Path, help="index directory (default ./index or KB_INDEX_DIR)")
    parser.add_argument("--corpus", type=Path, help="corpus directory (default ./corpus or KB_CORPUS_DIR)")
    parser.add_argument("--model", help="model name or path (default multilingual-e5-small or KB_MODEL)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("rebuild", help="(re)index the corpus; only changed articles are embedded again")
    p.add_argument("--full", action="store_true", help="re-embed every article")
    p.add_argument("--strict", action="store_true", help="exit non-zero when a corpus file was skipped")
    _common(p)

    p = sub.add_parser("add", help="copy files into the corpus (replacing same-named ones), then rebuild")
    p.add_argument("files", nargs="+", type=Path, help="HTML, PDF, DOCX, Markdown or text files")
    p.add_argument("--strict", action="store_true", help="exit non-zero when a corpus file was skipped")
    _common(p)

    p = sub.add_parser("search", help="passages closest in meaning to a query")
    p.add_argument("query")
    p.add_argument("-k", type=int, default=10, help="number of passages (default 10)")
    p.add_argument("--lang", action="append", help="only passages in this language (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("ask", help="a cited answer built from the articles")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=5, help="passages to draw the answer from (default 5)")
    p.add_argument("--lang", action="append", help="only cite passages in this language (repeatable)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("principles", help="the main points the articles make, across languages, with citations")
    p.add_argument("--limit", type=int, default=10, help="how many principles (default 10)")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("eval", help="retrieval and answer quality on questions with gold evidence (JSONL)")
    p.add_argument(
        "file",
        type=Path,
        help="JSONL: {id, lang, question, gold: [{doc_id, quote}]} per line (without a quote: the whole document)",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("gaps", help="content gaps: unanswered questions (kept by the app) and missing translations")
    p.add_argument("--csv", choices=["questions", "translations"], help="print one part of the report as CSV")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("info", help="what the index holds")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    args = parser.parse_args(argv)
    settings = Settings.from_env(index_dir=args.index, corpus_dir=args.corpus, model=args.model)
    try:
        return int(COMMANDS[args.command](args, settings))
    except KBError as exc:
        print(f"kb: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("kb: interrupted", file=sys.stderr)
        return 130


def _common(p: argparse.ArgumentParser) -> None:
    # Accept the global options after the sub-command too: `kb search q --index DIR`.
    p.add_argument("--index", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--corpus", type=Path, default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    p.add_argument("--model", default=argparse.SUPPRESS, help=argparse.SUPPRESS)


def cmd_rebuild(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from .knowledge_base import KnowledgeBase

    bars: dict[str, Any] = {}
    units = {"reading": "file", "embedding": "article"}

    def progress(done: int, total: int, stage: str) -> None:
        if stage not in units:
            return
        bar = bars.get(stage)
        if bar is None:  # tqdm shows the rate and the time left
            for done_stage in bars.values():  # one stage at a time: its bar replaces the last one's
                done_stage.close()
            bar = bars[stage] = tqdm(total=total, desc=stage, unit=units[stage], file=sys.stderr)
        bar.update(done - bar.n)

    try:
        if args.command == "add":
            report = KnowledgeBase.add(args.files, settings, progress=progress)
        else:
            report = KnowledgeBase.rebuild(settings, full=args.full, progress=progress)
    finally:
        for bar in bars.values():
            bar.close()
    for s in report.skipped:
        print(f"skipped {s.path}: {s.reason}", file=sys.stderr)
    state = "rebuilt" if report.changed else "already up to date"
    langs = ", ".join(f"{lang} {n}" for lang, n in sorted(report.chunks_per_language.items()))
    print(
        f"index {state}: {report.documents} documents, {report.chunks} chunks ({langs}); "
        f"embedded {report.embedded_documents} documents ({report.embedded_chunks} chunks), "
        f"reused {report.reused_documents}; skipped {len(report.skipped)}; {report.seconds:.1f} s"
    )
    return 2 if args.strict and report.skipped else 0


def cmd_search(args: argparse.Namespace, settings: Settings) -> int:
    from .knowledge_base import KnowledgeBase

    hits = KnowledgeBase.open(settings=settings).search(args.query, k=args.k, languages=args.lang)
    if args.json:
        print(json.dumps([asdict(h) for h in hits], ensure_ascii=False, indent=2))
        return 0
    if not hits:
        print("no passages")
    for h in hits:
        place = f"{h.doc_id} {h.start}-{h.end}" + (f", {h.location}" if h.location else "")
        print(f"{h.rank:>2}. {h.score:.3f}  [{h.lang}] {h.title} ({place})")
        print(f"    {_short(h.text)}")
    return 0


def cmd_ask(args: argparse.Namespace, settings: Settings) -> int:
    from .knowledge_base import KnowledgeBase

    answer = KnowledgeBase.open(settings=settings).ask(args.question, k=args.k, languages=args.lang)
    if args.json:
        data = asdict(answer)
        data.pop("hits")
        data.pop("points")
        data["points"] = [{"text": p.text, "citations": [c.n for c in p.citations]} for p in answer.points]
        for cited, citation in zip(data["citations"], answer.citations, strict=True):
            cited["location"] = citation.location
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    print(f"Question language: {language_label(answer.query_lang)}")
    if answer.notice:
        print(answer.notice)
    print()
    print(answer.text)
    print()
    for c in answer.citations:
        where = f"{c.location} · " if c.location else ""
        print(f'[{c.n}] {c.title} ({language_name(c.lang)}, {where}{c.source}): "{_short(c.quote)}"')
    return 0


def cmd_principles(args: argparse.Namespace, settings: Settings) -> int:
    from .knowledge_base import KnowledgeBase

    principles = KnowledgeBase.open(settings=settings).principles(limit=args.limit)
    if args.json:
        print(json.dumps([asdict(p) for p in principles], ensure_ascii=False, indent=2))
        return 0
    if not principles:
        print("No point is made by more than one article.")
    for i, p in enumerate(principles, start=1):
        langs = ", ".join(language_name(lang) for lang in p.languages)
        print(f'{i}. "{_short(p.statement.quote)}"')
        print(f"   made in {len(p.citations)} passages, {p.works} works; languages: {langs}")
        for c in p.citations:
            print(f'   [{c.n}] {c.title} ({c.lang}, {c.doc_id} {c.start}-{c.end}): "{_short(c.quote, 120)}"')
        print()
    return 0


def cmd_eval(args: argparse.Namespace, settings: Settings) -> int:
    from .evaluate import as_dict, evaluate, load_questions
    from .knowledge_base import KnowledgeBase

    kb = KnowledgeBase.open(settings=settings)
    report = evaluate(kb, load_questions(args.file, kb))
    if args.json:
        print(json.dumps(as_dict(report), ensure_ascii=False, indent=2))
        return 0
    print(f"{report.questions} questions, {report.in_scope} with an answer in the corpus")
    print(report.table())
    for failure in report.failures:
        print(f"not in the top 5: {failure}")
    return 0


def cmd_gaps(args: argparse.Namespace, settings: Settings) -> int:
    from .gaps import GapLog, gap_report
    from .knowledge_base import KnowledgeBase

    log = GapLog(settings)
    report = gap_report(KnowledgeBase.open(settings=settings, allow_stale=True), log.read())
    if args.csv:
        sys.stdout.write(report.questions_csv() if args.csv == "questions" else report.translations_csv())
        return 0
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
        return 0
    state = "" if log.enabled else " (the log is off: KB_GAP_LOG)"
    print(f"Unanswered questions{state}: {sum(g.asked for g in report.questions)} in {len(report.questions)} groups")
    for g in report.questions:
        print(f"  [{g.lang}] {g.asked}× (last {g.last_asked}, best score {g.best_score:.3f}) {_short(g.questions[0])}")
        for other in g.questions[1:]:
            print(f"        also: {_short(other)}")
    print()
    langs = ", ".join(report.languages)
    print(f"Missing translations (corpus languages: {langs}): {len(report.translations)} articles")
    for m in report.translations:
        print(f"  [{m.lang}] {m.title} ({m.doc_id}): has {', '.join(m.versions)}; missing {', '.join(m.missing)}")
    return 0


def cmd_info(args: argparse.Namespace, settings: Settings) -> int:
    from .knowledge_base import KnowledgeBase

    kb = KnowledgeBase.open(settings=settings, allow_stale=True)
    stats = kb.stats()
    if args.json:
        print(json.dumps({**asdict(stats), "stale": kb.stale_reason}, ensure_ascii=False, indent=2))
        return 0
    print(f"index:     {stats.index_dir} ({stats.version}, format {stats.format_version})")
    print(f"built at:  {stats.built_at}")
    print(f"model:     {stats.model}")
    print(f"documents: {stats.documents} ({_per_lang(stats.documents_per_language)})")
    print(f"chunks:    {stats.chunks} ({_per_lang(stats.chunks_per_language)})")
    print(f"sentences: {stats.sentences}")
    low, high = stats.token_norms
    print(
        f"tokens:    {stats.token_vectors} token vectors, norms {low:.3f}–{high:.3f} "
        "as reconstructed from their codes (the encoder's are 1.000; read back, they are made 1.000 again)"
    )
    print(f"skipped:   {len(stats.skipped)} files")
    for skipped in stats.skipped:
        print(f"  {skipped.path}: {skipped.reason}")
    if kb.stale_reason:
        print(f"stale:     {kb.stale_reason}; run `kb rebuild`")
    return 0


def _per_lang(counts: dict[str, int]) -> str:
    return ", ".join(f"{lang} {n}" for lang, n in sorted(counts.items()))


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


COMMANDS = {
    "rebuild": cmd_rebuild,
    "add": cmd_rebuild,
    "search": cmd_search,
    "ask": cmd_ask,
    "principles": cmd_principles,
    "eval": cmd_eval,
    "gaps": cmd_gaps,
    "info": cmd_info,
}

if __name__ == "__main__":
    sys.exit(main())
