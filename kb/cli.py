"""The `kb` command line: a thin layer over the public API (rebuild, search, ask, gaps, info, sources, sync)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from .access import Principal, record
from .adapter import MIN_QUERIES
from .calibration import MIN_TITLES
from .config import Settings
from .errors import KBError
from .language import language_label, language_name
from .model.loading import base_of


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

    p = sub.add_parser(
        "tune", help="fine-tune the model on this corpus's titles and headings, then rebuild with it (optional)"
    )
    p.add_argument("--steps", type=int, default=None, help="training steps (default: as kb/tune.py)")
    p.add_argument("--off", action="store_true", help="go back to the model it was tuned from, and rebuild")
    _common(p)

    p = sub.add_parser("add", help="copy files into the corpus, then rebuild")
    p.add_argument("files", nargs="+", type=Path, help="HTML, PDF, DOCX, Markdown or text files")
    p.add_argument("--replace", action="store_true", help="replace corpus files of the same names (else refused)")
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

    p = sub.add_parser(
        "gaps",
        help="the editors' report: unanswered questions and feedback (kept by the app and the HTTP API), "
        "missing and stale translations",
    )
    p.add_argument(
        "--csv",
        choices=["questions", "disliked", "flagged", "use", "repeats", "translations", "stale"],
        help="print one part of the report as CSV",
    )
    p.add_argument("--days", type=int, default=30, help="the period the use of articles is counted over")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("source", help="the help centres the corpus mirrors (kb sync brings them in)")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("add", help="record a help centre to mirror")
    q.add_argument("name", help="its name, also the corpus folder of its articles (a-z, 0-9, -)")
    q.add_argument(
        "url", help="a help site's address (its articles' prefix), a Zendesk help centre's, or Intercom's API"
    )
    q.add_argument("--kind", choices=["site", "zendesk", "intercom"], default="site", help="what it is (default: site)")
    q.add_argument("--locales", default="", help="the locales to mirror, comma-separated (default: all)")
    q.add_argument("--token-env", default="", help="the environment variable that holds its API token")
    _common(q)
    q = actions.add_parser("list", help="the recorded help centres and their last sync")
    q.add_argument("--json", action="store_true", help="print JSON")
    _common(q)
    q = actions.add_parser("remove", help="forget a help centre (its articles leave at the next sync)")
    q.add_argument("name")
    _common(q)
    _common(p)

    p = sub.add_parser("sync", help="bring the corpus in step with the help centres, then rebuild")
    p.add_argument("names", nargs="*", help="only these sources (default: all)")
    p.add_argument("--dry-run", action="store_true", help="say what would change; change nothing")
    p.add_argument(
        "--allow-deletions", action="store_true", help="remove articles even when more than 20 %% of a source's go"
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("serve", help="the HTTP API for other tools (API keys: kb key add)")
    p.add_argument("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="the port (default 8000)")
    _common(p)

    p = sub.add_parser("key", help="API keys for the HTTP API")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("add", help="make a key (printed once, on the last line; only its hash is kept)")
    q.add_argument("name", help="who or what uses it (a tool, a widget)")
    q.add_argument("--role", choices=["reader", "editor", "admin"], default="reader", help="default: reader")
    _common(q)
    q = actions.add_parser("list", help="the keys, their roles and last use")
    _common(q)
    q = actions.add_parser("revoke", help="revoke a key at once")
    q.add_argument("name")
    _common(q)
    _common(p)

    p = sub.add_parser("user", help="people who sign in to the app, and their roles")
    actions = p.add_subparsers(dest="action", required=True)
    q = actions.add_parser("add", help="an account: its password is read from standard input (twice on a terminal)")
    q.add_argument("name", help="a user name, or the name/e-mail the proxy or OIDC signs the person in with")
    q.add_argument("--role", choices=["reader", "editor", "admin"], default="reader", help="default: reader")
    q.add_argument("--external", action="store_true", help="no password: the person signs in through the proxy or OIDC")
    _common(q)
    q = actions.add_parser("list", help="the accounts and their roles")
    _common(q)
    q = actions.add_parser("remove", help="remove an account (its open sessions end at their next step)")
    q.add_argument("name")
    _common(q)
    _common(p)

    p = sub.add_parser("audit", help="who changed the knowledge base, and when")
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
    from .knowledge_base import KnowledgeBase

    bars: dict[str, Any] = {}
    progress = _rebuild_bars(bars)
    try:
        if args.command == "add":
            replacing = _replaced(settings, args.files)
            if replacing and not args.replace:
                raise KBError(
                    f"adding would replace {'; '.join(replacing)}: add --replace to replace "
                    f"{'it' if len(replacing) == 1 else 'them'}; nothing was changed"
                )
            report = KnowledgeBase.add(args.files, settings, progress=progress)
            record(settings, operator(), "add", ", ".join(Path(f).name for f in args.files))
        else:
            record(settings, operator(), "full rebuild" if args.full else "rebuild")
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


def _rebuild_bars(bars: dict[str, Any]) -> Any:
    """A rebuild's progress shown as one tqdm bar per stage (kept in `bars`, for the caller to close)."""
    from tqdm import tqdm

    units = {"reading": "file", "embedding": "article"}

    def progress(done: int, total: int, stage: str) -> None:
        if stage == "adapting":  # no count to show: a line says what the wait is for
            for done_stage in bars.values():
                done_stage.close()
            print("fitting the question adapter to the corpus…", file=sys.stderr)
            return
        if stage not in units:
            return
        bar = bars.get(stage)
        if bar is None:  # tqdm shows the rate and the time left
            for done_stage in bars.values():  # one stage at a time: its bar replaces the last one's
                done_stage.close()
            bar = bars[stage] = tqdm(total=total, desc=stage, unit=units[stage], file=sys.stderr)
        bar.update(done - bar.n)

    return progress


def cmd_tune(args: argparse.Namespace, settings: Settings) -> int:
    from tqdm import tqdm

    from . import tune

    bars: dict[str, Any] = {}
    progress = _rebuild_bars(bars)
    try:
        if args.off:
            record(settings, operator(), "untune")
            report = tune.untune(settings, progress)
            print(
                f"index rebuilt with the model the tuned one came from ({report.documents} documents);"
                " the tuned models are deleted"
            )
            return 0
        steps = args.steps or tune.STEPS
        if steps < 1:
            raise KBError("--steps must be at least 1")
        bar = bars["tuning"] = tqdm(total=steps, desc="tuning", unit="step", file=sys.stderr)  # closed by the next

        def step(done: int, loss: float) -> None:
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
            bar.update(done - bar.n)

        record(settings, operator(), "tune")
        done = tune.tune_index(settings, steps=steps, progress=step, rebuild_progress=progress)
    finally:
        for each in bars.values():
            each.close()
    print(
        f"tuned on {done.questions} titles and section headings and {done.passages} passages in {done.steps} steps"
        f" ({done.seconds:.0f} s; loss {done.first_loss:.2f} -> {done.last_loss:.2f}); model kept in {done.model}\n"
        f"index rebuilt with it: {done.build.documents} documents, {done.build.chunks} chunks. The app, kb search and"
        " kb ask use it from now on, and kb rebuild keeps it (KB_MODEL or --model still choose another);"
        " kb tune --off goes back"
    )
    return 0


def _replaced(settings: Settings, files: list[Path]) -> list[str]:
    """The articles (title and file) that adding `files` would replace: by file name, or by the id or text
    of an article in another file (`replaced_by`). A file that would be skipped as a copy of an article
    the corpus keeps is refused here, with why."""
    from .corpus import replaced_by
    from .knowledge_base import KnowledgeBase

    try:
        documents = KnowledgeBase.open(settings=settings).documents()
    except KBError:  # no usable index: the files' names are what can be compared
        documents = []
    out = []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError:
            continue  # an unreadable file: the add says so
        replaced, refusal = replaced_by(documents, f.name, data, settings.limits)
        if refusal is not None and refusal.kind == "duplicate":
            raise KBError(f"cannot add {f.name!r}: {refusal.detail}; nothing was added")
        out += [f'{settings.corpus_dir / d.path} ("{d.title}")' for d in replaced]
        target = settings.corpus_dir / f.name
        if not replaced and refusal is None and target.is_file() and target.read_bytes() != data:
            out.append(str(target))  # a corpus file the index does not hold
    return out


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
    from .feedback import FeedbackLog
    from .gaps import GapLog, gap_report
    from .knowledge_base import KnowledgeBase
    from .usage import UsageLog

    if args.days < 1:
        raise KBError(f"--days must be at least 1, not {args.days}")
    log, feedback, usage = GapLog(settings), FeedbackLog(settings), UsageLog(settings)
    kb = KnowledgeBase.open(settings=settings, allow_stale=True)
    report = gap_report(kb, log.read(), feedback.read(), usage.read(), args.days)
    if args.csv:
        parts = {
            "questions": report.questions_csv,
            "translations": report.translations_csv,
            "stale": report.stale_csv,
            "disliked": report.disliked_csv,
            "flagged": report.flagged_csv,
            "use": report.use_csv,
            "repeats": report.repeats_csv,
        }
        sys.stdout.write(parts[args.csv]())
        return 0
    if args.json:
        print(json.dumps(asdict(report), ensure_ascii=False, indent=2))
        return 0
    state = "" if log.enabled else " (the log is off: KB_GAP_LOG)"
    print(f"Unanswered questions{state}: {sum(g.asked for g in report.questions)} in {len(report.questions)} groups")
    if log.enabled and not log.wordings:
        print("  (wordings are not kept: KB_GAP_QUESTIONS=on keeps them; grouped by the nearest article)")
    for g in report.questions:
        what = _short(g.questions[0]) if g.questions else f"nearest article: {g.nearest_title or '(none)'}"
        langs = ", ".join(g.languages) or g.lang
        print(f"  [{langs}] {g.asked}× (last {g.last_asked}, best score {g.best_score:.3f}) {what}")
        for other in g.questions[1:]:
            print(f"        also: {_short(other)}")
    print()
    state = "" if feedback.enabled else " (the feedback log is off: KB_FEEDBACK_LOG)"
    disliked = sum(d.times for d in report.disliked)
    print(f"Feedback{state}: {report.helpful} helpful, {disliked} not helpful")
    for d in report.disliked:
        said = f"; said: {_short(' | '.join(d.comments))}" if d.comments else ""
        print(f"  {d.times}× not helpful (last {d.last}), point 1 from [{d.lang}] {d.title or '(nothing)'}{said}")
    print(f"Sources flagged as wrong: {sum(f.times for f in report.flagged)}")
    for f in report.flagged:
        print(f"  {f.times}× [{f.lang}] {f.title} ({f.doc_id}, {f.start}-{f.end}): {_short(f.quote)}")
    print()
    state = "" if usage.enabled else " (the usage log is off: KB_USAGE_LOG)"
    print(f"Questions in the last {report.days} days{state}: {report.asked}")
    if report.asked:
        print(f"  most cited: {', '.join(f'{u.title} ({u.cited})' for u in report.most_cited[:5])}")
        print(f"  articles no question reached: {len(report.unreached)} of {len(kb.documents())}")
    print()
    for kind, name in (("duplicate", "Passages that repeat each other"), ("contradiction", "Numbers that differ")):
        found = [r for r in report.repeats if r.kind == kind]
        print(f"{name}: {len(found)}")
        for r in found[:10]:
            says = f" ({' '.join(r.a_says)} / {' '.join(r.b_says)})" if kind == "contradiction" else ""
            print(
                f"  {r.questions} questions, {r.similarity:.2f}{says}: [{r.a.lang}] {r.a.title} ({r.a.doc_id}, "
                f"{r.a.start}-{r.a.end}) ~ [{r.b.lang}] {r.b.title} ({r.b.doc_id}, {r.b.start}-{r.b.end})"
            )
    print()
    langs = ", ".join(report.languages)
    print(f"Missing translations (corpus languages: {langs}): {len(report.translations)} articles")
    for m in report.translations:
        print(f"  [{m.lang}] {m.title} ({m.doc_id}): has {', '.join(m.versions)}; missing {', '.join(m.missing)}")
    print()
    print(f"Stale translations: {len(report.stale)}")
    for t in report.stale:
        print(f"  [{t.lang}] {t.title} ({t.doc_id}): {t.reason} ({t.original_lang} original {t.original})")
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
    tuned = base_of(stats.model)
    print(f"model:     {stats.model}" + (f" (kb tune: {tuned} tuned on this corpus)" if tuned != stats.model else ""))
    print(f"documents: {stats.documents} ({_per_lang(stats.documents_per_language)})")
    print(f"chunks:    {stats.chunks} ({_per_lang(stats.chunks_per_language)})")
    print(f"sentences: {stats.sentences}")
    low, high = stats.token_norms
    print(
        f"tokens:    {stats.token_vectors} token vectors, norms {low:.3f}–{high:.3f} "
        "as reconstructed from their codes (the encoder's are 1.000; read back, they are made 1.000 again)"
    )
    print(
        "adapter:   "
        + (
            "a question adapter fitted to this corpus's titles and section headings"
            if stats.question_adapter
            else f"none (the corpus has fewer than {MIN_QUERIES} titles and section headings to fit one on)"
        )
    )
    how = {
        "set": "set by KB_CONFIDENT_SCORE",
        "calibrated": "calibrated on this corpus's titles",
        "fixed": f"fixed: the corpus has fewer than {MIN_TITLES} articles to calibrate on",
    }[stats.confidence]
    print(f"confident: an answer whose best passage scores {stats.confident_score:.3f} or more ({how})")
    if stats.cross_lingual_score != stats.confident_score:
        print(
            f"           {stats.cross_lingual_score:.3f} for a question in a language no article is written in "
            "(calibrated on what the titles find in the other languages)"
        )
    foreign = stats.foreign_languages
    print(
        "questions: "
        + (
            f"in {len(foreign)} languages no article is written in ({', '.join(foreign)}) lose that language's "
            "direction before search"
            if foreign
            else "in languages no article is written in are searched as they are (this model has no measured "
            "language directions: python bench/question_languages.py)"
        )
    )
    print(f"skipped:   {len(stats.skipped)} files")
    for skipped in stats.skipped:
        print(f"  {skipped.path}: {skipped.reason}")
    if kb.stale_reason:
        print(f"stale:     {kb.stale_reason}; run `kb rebuild`")
    return 0


def cmd_source(args: argparse.Namespace, settings: Settings) -> int:
    from .sources import SourceConfig, add_source, load_sources, remove_source, sync_status

    if args.action == "add":
        locales = tuple(loc.strip() for loc in args.locales.split(",") if loc.strip())
        add_source(settings, SourceConfig(args.name, args.kind, args.url, locales, args.token_env))
        record(settings, operator(), "source add", f"{args.name} ({args.kind}) {args.url}")
        print(f"source {args.name} recorded; `kb sync {args.name}` brings its articles in")
    elif args.action == "remove":
        remove_source(settings, args.name)
        record(settings, operator(), "source remove", args.name)
        print(f"source {args.name} removed; its articles leave the corpus at the next `kb sync`")
    else:
        rows = [(s, sync_status(settings, s.name)) for s in load_sources(settings)]
        if args.json:
            print(json.dumps([{**asdict(s), "last_sync": last} for s, last in rows], ensure_ascii=False, indent=2))
        elif not rows:
            print("no sources; add one with `kb source add NAME URL`")
        for s, last in rows if not args.json else []:
            scope = ",".join(s.locales) or "all locales"
            print(f"{s.name}  {s.kind}  {s.url}  ({scope})")
            print(f"  last sync: {_last_sync(last)}")
    return 0


def _last_sync(last: dict[str, Any] | None) -> str:
    if not last:
        return "never"
    counts = f"{last['articles']} articles; +{last['added']} ~{last['updated']} -{last['removed']}"
    trouble = last.get("error") or (f"{last['failed']} failed" if last.get("failed") else "")
    return f"{last['finished']}: {counts}" + (f"; {trouble}" if trouble else "")


def cmd_sync(args: argparse.Namespace, settings: Settings) -> int:
    from .knowledge_base import KnowledgeBase

    if not args.dry_run:
        record(settings, operator(), "sync", ", ".join(args.names) or "every source")
    result = KnowledgeBase.sync(
        settings, names=args.names or None, dry_run=args.dry_run, allow_deletions=args.allow_deletions
    )
    if args.json:
        print(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
        return 0 if result.ok else 3
    verb = "would be" if args.dry_run else ""
    for r in result.sources:
        if r.error:
            print(f"{r.name}: FAILED: {r.error}", file=sys.stderr)
            continue
        print(
            f"{r.name}: {r.listed} articles listed, {r.fetched} fetched ({r.requests} requests, {r.seconds:.1f} s); "
            f"{len(r.added)} added, {len(r.updated)} updated, {len(r.removed)} removed, {r.unchanged} unchanged"
            + (f" ({verb} changed)" if verb and r.changed else "")
        )
        for key, reason in r.failed:
            print(f"  failed, previous version kept: {key}: {reason}", file=sys.stderr)
        for key, reason in r.skipped[:20]:
            print(f"  skipped {key}: {reason}")
        if len(r.skipped) > 20:
            print(f"  … and {len(r.skipped) - 20} more skipped")
        if r.held_back:
            print(
                f"  {len(r.held_back)} removals held back: more than 20 % of the source's articles would go "
                "(an outage or a broken listing?); run with --allow-deletions if they really went",
                file=sys.stderr,
            )
    if result.build_error:
        print(f"kb: error: the rebuild after the sync failed: {result.build_error}", file=sys.stderr)
    if result.build is not None:
        b = result.build
        state = "rebuilt" if b.changed else "already up to date"
        print(f"index {state}: {b.documents} documents; embedded {b.embedded_documents}, reused {b.reused_documents}")
    return 0 if result.ok else 3


def operator() -> Principal:
    """Whoever runs the command line: the machine's user, with every right (they hold the files anyway)."""
    import getpass

    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "local"
    return Principal(name, "admin", "cli")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from .server import create_app

    print(f"the HTTP API on http://{args.host}:{args.port} (docs: /docs); every call needs a key (kb key add)")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_key(args: argparse.Namespace, settings: Settings) -> int:
    from .access import add_key, list_keys, record, revoke_key

    if args.action == "add":
        key = add_key(settings, args.name, args.role)
        record(settings, operator(), "key add", f"{args.name} ({args.role})")
        print(f"key {args.name} ({args.role}); it is shown this once, keep it now:")
        print(key)
    elif args.action == "revoke":
        revoke_key(settings, args.name)
        record(settings, operator(), "key revoke", args.name)
        print(f"key {args.name} revoked")
    else:
        for k in list_keys(settings):
            state = f"revoked {k.revoked}" if k.revoked else f"last used {k.last_used or 'never'}"
            print(f"{k.name}  {k.role}  created {k.created}  {state}")
    return 0


def read_password() -> str:
    """A new password: asked twice without echo on a terminal, else the first line of standard input."""
    import getpass

    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise KBError("the two passwords differ; nothing was changed")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def cmd_user(args: argparse.Namespace, settings: Settings) -> int:
    from .access import record
    from .access.users import add_user, list_users, remove_user

    if args.action == "add":
        user = add_user(settings, args.name, args.role, None if args.external else read_password())
        how = "signs in through the proxy or OIDC" if user.external else "signs in with a password"
        record(settings, operator(), "user add", f"{user.name} ({user.role}, {how})")
        print(f"user {user.name} ({user.role}) added; {how}")
    elif args.action == "remove":
        remove_user(settings, args.name)
        record(settings, operator(), "user remove", args.name)
        print(f"user {args.name} removed")
    else:
        for u in list_users(settings):
            print(f"{u.name}  {u.role}  {'external' if u.external else 'password'}  created {u.created}")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from .access import read_audit

    entries = read_audit(settings)
    if args.json:
        print(json.dumps([asdict(e) for e in entries], ensure_ascii=False, indent=2))
        return 0
    for e in entries:
        print(f"{e.time}  {e.who} ({e.role}, {e.via})  {e.action}" + (f": {e.detail}" if e.detail else ""))
    if not entries:
        print("nothing changed yet")
    return 0


def _per_lang(counts: dict[str, int]) -> str:
    return ", ".join(f"{lang} {n}" for lang, n in sorted(counts.items()))


def _short(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


COMMANDS = {
    "rebuild": cmd_rebuild,
    "add": cmd_rebuild,
    "tune": cmd_tune,
    "search": cmd_search,
    "ask": cmd_ask,
    "principles": cmd_principles,
    "eval": cmd_eval,
    "gaps": cmd_gaps,
    "info": cmd_info,
    "source": cmd_source,
    "sync": cmd_sync,
    "serve": cmd_serve,
    "key": cmd_key,
    "user": cmd_user,
    "audit": cmd_audit,
}

if __name__ == "__main__":
    sys.exit(main())
