"""Build a multilingual help-centre corpus for benchmarks: the GNOME user help and the help of seven GNOME
applications in es, fr, pl and it, as HTML.

Why: the fixtures of bench/documents.py are a handful of pages, enough to test a reader but not to measure
indexing, search or answer quality at the size of a real help centre. This script turns every page of the
GNOME help, and of the help of some GNOME applications, in Spanish, French, Polish and Italian into a
standalone HTML file, the way a company's help centre would publish them (breadcrumb trail, "More
information" / "See also" link lists, the "About" footer with credits and licence all kept), so that
benchmarks run on a few hundred real, well-translated pages per language.

Sources (Mallard help documents, each a folder <help root>/<lang>/<document>/ of <page>.page files, "C" the
English one; the helpers of bench/documents.py are imported and told which document a page is in):
  - "gnome-help": the GNOME user help, Debian package `gnome-user-docs` (installed: /usr/share/help/<lang>/
    gnome-help/, CC-BY-SA 3.0, GNOME Documentation Project);
  - the applications' help in APP_PACKAGES: baobab, eog, evince (evince-common), file-roller, gedit
    (gedit-common), gnome-calculator and gnome-terminal (gnome-terminal-data). These Debian packages are not
    installed (they would pull in a desktop): `apt-get download` fetches their .deb files once into --debs
    (default bench/results/debs, git-ignored; skipped when the files are there) and `dpkg -x` extracts them to
    <debs>/x, whose usr/share/help/ is their help root. file-roller and gnome-terminal have no Italian help.
    baobab and file-roller 43 put xml:lang="baobab-es" (not "es") on their translated pages, which makes
    yelp-build write the page chrome ("More Information", "About", "Translated By") in English: the extracted
    pages get xml:lang="es" (fix_xml_lang), and nothing else in them is changed.
Every document is turned into HTML by `yelp-build html` from `yelp-tools` against a cache of the whole
language of that document, so the trails and link lists are the real ones. yelp-build exits with an error
when an image a page names is missing (evince 43 names figures/search-not-found.png, which it does not
ship): images are not copied anyway, so that error alone is reported and the pages are kept; any other
failure of yelp-build on an application's help is reported and that document is skipped in that language.
Then, in each page:
  - the stylesheet link, highlight.js (its file and the inline snippet that starts it) and yelp.js are
    dropped: a reader only needs the HTML structure, and the files stay small (the inline SVG note icons stay);
  - `lang="<lang>"` is put on <html> (yelp-build puts it on <body> only).
Images (figures/*.svg, *.png) are not copied: their <img> elements keep their relative src and alt text.

Pages left out, each counted by reason in the printout:
  - index pages: Mallard type="guide" pages whose main text is mostly their link lists (their own prose,
    outside the link lists, is under MIN_CHARS characters or under half of the main text). Guide pages that
    are real articles with a few links (e.g. printing-envelopes, files-search) are kept;
  - stale translations: pages whose translated share is below --min-translated (default 0.8). A translated
    page is built by itstool from the current English page, so a message nobody translated yet is left in
    English. The translated share is 1 - (characters of the page's paragraphs and titles that are identical to
    a paragraph or title of the English page of the same document) / (characters of all its paragraphs and
    titles), counting only blocks of at least 3 words outside <info> (credits, licence) and editorial
    <comment>s, so a command, a product name or an URL that is the same in every language does not make a page
    look stale;
  - short pages: main text (as bench.documents.html_parts measures it: <article> minus its navigation lists)
    under MIN_CHARS characters.

What it writes, under --out (default bench/results/helpcentre, git-ignored), which is cleared first:
  <lang>/<page>.html        one file per gnome-help page kept (page id "<page>", e.g. "a11y-contrast")
  <lang>/<app>/<page>.html  one file per application page kept (page id "<app>/<page>", e.g.
                            "evince/annotation-properties": page names repeat across applications)
  pages.jsonl               one line per file written, in language, then document (gnome-help, then the
                            applications by name), then page order:
                            {"file", "lang", "page", "title", "translated_share", "chars", "source"}
                            ("source": the document, "gnome-help" or the application's)
Output is the same byte for byte for the same Debian package versions.

Needs: apt-get install -y gnome-user-docs yelp-tools; Debian's package lists (apt-get update) and the network
for the first `apt-get download`; lxml (in the project's environment).
Run:   python bench/helpcentre.py [--out DIR] [--langs es fr pl it] [--docs gnome-help evince ...]
                                  [--min-translated 0.8] [--limit N] [--debs DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.documents import (  # noqa: E402
    GNOME_HELP,
    LICENCE,
    HelpDoc,
    deb_version,
    html_parts,
    local,
    mallard,
    page_path,
    replace_once,
    squash,
    yelp_build,
)

DEFAULT_OUT = ROOT / "bench" / "results" / "helpcentre"
DEBS = ROOT / "bench" / "results" / "debs"  # the applications' .deb files, and x/: what they hold
LANGS = ("es", "fr", "pl", "it")
DEB_PACKAGES = ("gnome-user-docs", "yelp-tools")
APP_PACKAGES = {  # application help document -> the Debian package that ships it (downloaded, not installed)
    "baobab": "baobab",
    "eog": "eog",
    "evince": "evince-common",
    "file-roller": "file-roller",
    "gedit": "gedit-common",
    "gnome-calculator": "gnome-calculator",
    "gnome-terminal": "gnome-terminal-data",
}
DOCS = (GNOME_HELP.name, *APP_PACKAGES)
LICENCES = {  # of each document's text, as its pages (or their legal.xml) state it
    GNOME_HELP.name: LICENCE,
    "baobab": "CC-BY-SA 3.0 Unported",
    "eog": "CC-BY-SA 3.0",
    "evince": "CC-BY-SA 3.0",
    "file-roller": "CC-BY-SA 3.0 Unported",
    "gedit": "none stated in the pages (the package's Debian copyright file: GPL-2)",
    "gnome-calculator": "CC-BY-SA 3.0 Unported",
    "gnome-terminal": "CC-BY-SA 3.0 Unported or GPL-3, at the user's choice",
}
MIN_CHARS = 200  # main text (and a guide page's own prose) shorter than this: not an article
MIN_WORDS = 3  # blocks with fewer words are not judged translated or not ("GNOME", "sudo lspci")
WORD = re.compile(r"[^\W\d_]{2,}")
HLJS_START = re.compile(r"<script>\s*document\.addEventListener\('DOMContentLoaded'.*?hljs\..*?</script>", re.S)
LINK_LISTS = ".//div[contains(concat(' ', normalize-space(@class), ' '), ' links ')]"
FIXED_LANG_STAMP = "xml:lang fixed"  # in <debs>/x/.debs: fix_xml_lang ran on this extraction
MISSING_MEDIA = re.compile(r"Error: No source found for (\S+)")  # yelp-build: an image the page names is missing

INDEX, STALE, SHORT = "index", "stale", "short"
REASONS = {
    INDEX: "index page (Mallard guide, mostly link lists)",
    STALE: "stale translation (translated share below --min-translated)",
    SHORT: f"short (main text under {MIN_CHARS} characters)",
}


@dataclass
class DocReport:
    """What was written and skipped for one language of one document."""

    source: str
    lang: str
    written: list[dict[str, object]] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0
    note: str = ""  # what yelp-build complained about, when the pages were kept anyway
    failed: str = ""  # why the document was skipped in this language


def check_requirements() -> None:
    """Exit 1 with the install command when a Debian package or lxml is missing."""
    missing = [p for p in DEB_PACKAGES if deb_version(p) is None]
    if missing:
        raise SystemExit(f"missing Debian packages: {' '.join(missing)}\n  apt-get install -y {' '.join(missing)}")
    try:
        import lxml  # noqa: F401
    except ImportError:
        raise SystemExit(f"missing Python package lxml\n  {sys.executable} -m pip install lxml") from None


# ---------------------------------------------------------------------------------------------------------
# The applications' help: Debian packages downloaded and extracted, not installed


def deb_files(debs: Path, packages: list[str]) -> dict[str, Path]:
    """Package -> its .deb file in `debs` (exactly one each); exits when one is missing or there twice."""
    files = {}
    for package in packages:
        found = sorted(debs.glob(f"{package}_*.deb"))
        if len(found) != 1:
            what = "missing" if not found else f"there {len(found)} times ({', '.join(f.name for f in found)})"
            raise SystemExit(f"{package}: .deb file {what} in {debs}; delete {debs} and run python bench/helpcentre.py")
        files[package] = found[0]
    return files


def deb_file_version(path: Path) -> str:
    """The version of a downloaded .deb file (dpkg-deb -f FILE Version)."""
    return subprocess.run(
        ["dpkg-deb", "-f", str(path), "Version"], check=True, text=True, capture_output=True
    ).stdout.strip()


def fetch_apps(debs: Path, apps: list[str]) -> Path:
    """Download (once) and extract the applications' Debian packages; returns their help root (<debs>/x/usr/share/help).

    `apt-get download` only when a package's .deb file is not in `debs` yet; `dpkg -x` again only when the set
    of .deb files changed (<debs>/x/.debs lists the ones extracted).
    """
    packages = sorted({APP_PACKAGES[a] for a in apps})
    missing = [p for p in packages if not any(debs.glob(f"{p}_*.deb"))]
    if missing:
        if shutil.which("apt-get") is None:
            raise SystemExit(
                f"apt-get not found: the applications' help comes from Debian packages ({' '.join(missing)}), "
                "downloaded with apt-get download; run this on Debian, or pass --docs gnome-help"
            )
        debs.mkdir(parents=True, exist_ok=True)
        print(f"apt-get download {' '.join(missing)} (into {debs})", flush=True)
        proc = subprocess.run(["apt-get", "download", *missing], cwd=debs, text=True, capture_output=True)
        if proc.returncode != 0:
            errors = [line for line in proc.stderr.splitlines() if line.startswith("E:")] or proc.stderr.splitlines()
            raise SystemExit(
                f"apt-get download {' '.join(missing)} failed: {' / '.join(errors[-3:]) or 'no message'}\n"
                "  it needs Debian's package lists (apt-get update) and the network"
            )
    files = deb_files(debs, packages)
    extracted = debs / "x"
    stamp = extracted / ".debs"
    names = "".join(f"{f.name}\n" for f in files.values()) + f"{FIXED_LANG_STAMP}\n"
    if not stamp.is_file() or stamp.read_text(encoding="utf-8") != names:
        if extracted.exists():
            shutil.rmtree(extracted)
        for file in files.values():
            subprocess.run(["dpkg-deb", "-x", str(file), str(extracted)], check=True, text=True, capture_output=True)
        fixed = fix_xml_lang(extracted / "usr" / "share" / "help")
        if fixed:
            print(f"extracted {len(files)} packages into {extracted}; xml:lang fixed in {_counts(fixed)} pages")
        stamp.write_text(names, encoding="utf-8")
    return extracted / "usr" / "share" / "help"


def fix_xml_lang(help_root: Path) -> Counter[str]:
    """Put the language code in xml:lang where the package has "<app>-<lang>" (baobab 43, file-roller 43).

    yelp-build takes the page's language from xml:lang: with "baobab-es" it writes "More Information", "About"
    and "Translated By" in English, names the stylesheet baobab-es.css and puts lang="baobab-es" on <body>.
    Returns the number of pages fixed, by document.
    """
    fixed = Counter[str]()
    for folder in sorted(help_root.glob("*/*")):
        lang, app = folder.parent.name, folder.name
        wrong = f'xml:lang="{app}-{lang}"'
        for page in sorted(folder.glob("*.page")):
            text = page.read_text(encoding="utf-8")
            if wrong in text:
                page.write_text(text.replace(wrong, f'xml:lang="{lang}"'), encoding="utf-8")
                fixed[app] += 1
    return fixed


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{n} {key}" for key, n in sorted(counter.items()))


def app_help(apps: list[str] | tuple[str, ...] = (), debs: Path = DEBS) -> tuple[Path, dict[str, str]]:
    """The applications' help root as fetch_apps left it, and the version of the packages of `apps`
    (package -> version); exits when they are not there."""
    root = debs / "x" / "usr" / "share" / "help"
    if not root.is_dir():
        raise SystemExit(f"{root} not found: run python bench/helpcentre.py")
    files = deb_files(debs, sorted({APP_PACKAGES[a] for a in apps}))
    return root, {package: deb_file_version(path) for package, path in files.items()}


def help_docs(names: list[str], debs: Path) -> list[HelpDoc]:
    """The documents to build, gnome-help first, then the applications by name (their packages fetched)."""
    unknown = [n for n in names if n not in DOCS]
    if unknown:
        raise SystemExit(f"unknown documents: {' '.join(unknown)} (known: {' '.join(DOCS)})")
    docs = [GNOME_HELP] if GNOME_HELP.name in names else []
    apps = sorted(n for n in set(names) if n != GNOME_HELP.name)
    if apps:
        root = fetch_apps(debs, apps)
        docs += [HelpDoc(root, app) for app in apps]
    return docs


def page_id(doc: HelpDoc, page: str) -> str:
    """The id of a page in pages.jsonl: its name for the GNOME help, "<app>/<name>" for an application's."""
    return page if doc == GNOME_HELP else f"{doc.name}/{page}"


# ---------------------------------------------------------------------------------------------------------
# Mallard: page type and translated share


def text_blocks(root: ET.Element) -> list[str]:
    """The paragraphs and titles of a Mallard page with at least MIN_WORDS words, outside <info> and comments."""
    blocks: list[str] = []

    def walk(el: ET.Element) -> None:
        for child in el:
            name = local(child)
            if name in ("info", "comment"):
                continue
            if name in ("p", "title"):
                text = squash("".join(child.itertext()))
                if len(WORD.findall(text)) >= MIN_WORDS:
                    blocks.append(text)
            else:
                walk(child)

    walk(root)
    return blocks


def translated_share(lang: str, page: str, root: ET.Element, doc: HelpDoc = GNOME_HELP) -> float:
    """Share of the page's text (in characters) that is not left identical to the English page of the same
    document; 1.0 if none."""
    blocks = text_blocks(root)
    english_file = page_path("C", page, doc)
    english = set(text_blocks(ET.parse(english_file).getroot())) if english_file.exists() else set()
    total = sum(len(b) for b in blocks)
    if not total:
        return 1.0
    stale = sum(len(b) for b in blocks if b in english)
    return round(1 - stale / total, 3)


# ---------------------------------------------------------------------------------------------------------
# HTML


def standalone_html(built: Path, lang: str, page: str) -> str:
    """The yelp-build page without its CSS and JavaScript references, with lang on <html>."""
    text = (built / f"{page}.html").read_text(encoding="utf-8")
    text = replace_once(text, f'<link rel="stylesheet" type="text/css" href="{lang}.css">', "")
    text = replace_once(text, '<script type="text/javascript" src="highlight.pack.js"></script>', "")
    text = replace_once(text, '<script type="text/javascript" src="yelp.js"></script>', "")
    text, found = HLJS_START.subn("", text)
    if found != 1 or "<script" in text or "<style" in text:
        raise SystemExit(f"yelp-build output changed: {lang}/{page}.html has other scripts or styles than expected")
    return replace_once(text, "<html>", f'<html lang="{lang}">')


def own_prose_chars(path: Path) -> int:
    """Length of the article's text outside its navigation and link lists (what an index page lacks)."""
    import lxml.html

    tree = lxml.html.fromstring(path.read_bytes())
    for junk in tree.xpath("//script | //style | //svg"):
        junk.drop_tree()
    article = tree.xpath("//article")[0]
    for links in article.xpath(".//*[@role='navigation'] | " + LINK_LISTS):
        if links.getparent() is not None:
            links.drop_tree()
    return len(squash(article.text_content()))


# ---------------------------------------------------------------------------------------------------------


def build_html(doc: HelpDoc, lang: str, pages: list[str], ids: list[str], work: Path, report: DocReport) -> Path | None:
    """yelp-build all pages of one language of `doc` at once, against that language's cache (~3 s for gnome-help).

    Missing images alone are noted and the pages kept; on any other failure of an application's help, the
    reason is noted and None returned (the document is skipped in that language). `ids`: the pages' Mallard
    ids, which name yelp-build's HTML files.
    """
    try:
        return yelp_build(lang, pages, work, doc)
    except subprocess.CalledProcessError as exc:
        step = str(exc.cmd[1])  # yelp-build cache|html ... -o OUT ...
        out = Path(exc.cmd[exc.cmd.index("-o") + 1])
        errors = [line for line in (exc.stderr or "").splitlines() if line.startswith("Error:")]
        media = [m.group(1) for line in errors if (m := MISSING_MEDIA.fullmatch(line))]
        complete = all((out / f"{i}.html").is_file() for i in ids)
        if step == "html" and errors and len(media) == len(errors) and complete:
            report.note = f"yelp-build: no source for {', '.join(sorted(set(media)))} (images are not copied)"
            return out
        if doc == GNOME_HELP:
            raise
        last = (exc.stderr or "").strip().splitlines()[-1:] or [f"exit status {exc.returncode}"]
        report.failed = f"yelp-build {step} failed: {last[0]}"
        return None


def build_doc(doc: HelpDoc, lang: str, out: Path, work: Path, min_translated: float, limit: int) -> DocReport | None:
    """Build every page of one language of a document, write the ones kept to out/<lang>/ (gnome-help) or
    out/<lang>/<app>/, and say why the others were not. None when an application has no help in `lang`."""
    started = time.perf_counter()
    report = DocReport(doc.name, lang)
    pages = sorted(p.stem for p in doc.folder(lang).glob("*.page"))
    if not pages:
        if doc == GNOME_HELP:
            raise SystemExit(f"no gnome-help pages for {lang!r} under {doc.root / lang}")
        return None
    roots = {}
    for page in pages:
        try:
            roots[page] = mallard(lang, page, doc)
        except ET.ParseError as exc:
            if doc == GNOME_HELP:
                raise
            report.failed = f"{page_path(lang, page, doc)} is not well-formed XML ({exc})"
            return report
    # yelp-build names a page's HTML by its Mallard id, which is not always the file name (gnome-calculator's
    # functions.page is "function"): the page is known by its file name here, as page_path finds it
    html_names = {page: roots[page].get("id") or page for page in pages}
    built = build_html(doc, lang, pages, list(html_names.values()), work, report)
    if built is None:
        return report
    target = out / lang if doc == GNOME_HELP else out / lang / doc.name
    target.mkdir(parents=True)
    for page in pages:
        if limit and len(report.written) >= limit:
            break
        root, html = roots[page], built / f"{html_names[page]}.html"
        title, main, _, _ = html_parts(html)
        share = translated_share(lang, page, root, doc)
        reason = None
        if root.get("type") == "guide":
            prose = own_prose_chars(html)
            if prose < MIN_CHARS or prose < len(main) / 2:
                reason = INDEX
        if reason is None and share < min_translated:
            reason = STALE
        if reason is None and len(main) < MIN_CHARS:
            reason = SHORT
        if reason:
            report.skipped.setdefault(reason, []).append(page)
            continue
        path = target / f"{page}.html"
        path.write_text(standalone_html(built, lang, html_names[page]), encoding="utf-8")
        report.bytes += path.stat().st_size
        report.written.append(
            {
                "file": path.relative_to(out).as_posix(),
                "lang": lang,
                "page": page_id(doc, page),
                "title": title,
                "translated_share": share,
                "chars": len(main),
                "source": doc.name,
            }
        )
    if not report.written:
        target.rmdir()
    report.seconds = time.perf_counter() - started
    return report


def clear(out: Path) -> None:
    """Empty the output folder, refusing to delete a non-empty folder this script did not write."""
    if out.exists():
        if any(out.iterdir()) and not (out / "pages.jsonl").exists():
            raise SystemExit(f"{out} is not empty and has no pages.jsonl: not clearing a folder not made here")
        shutil.rmtree(out)
    out.mkdir(parents=True)


def spread(values: list[int]) -> str:
    if not values:
        return "-"
    if len(values) == 1:
        return f"median {values[0]:,}"
    deciles = statistics.quantiles(values, n=10, method="inclusive")
    return f"median {statistics.median(values):,.0f}, p10 {deciles[0]:,.0f}, p90 {deciles[8]:,.0f}"


def print_report(reports: list[DocReport], missing: list[str], out: Path, seconds: float) -> None:
    for r in reports:
        if r.failed:
            print(f"{r.source} {r.lang}: SKIPPED, {r.failed}")
            continue
        chars = [int(str(w["chars"])) for w in r.written]
        shares = [float(str(w["translated_share"])) for w in r.written]
        skipped = ", ".join(f"{len(r.skipped.get(k, []))} {k}" for k in REASONS)
        print(
            f"{r.source} {r.lang}: {len(r.written)} pages written ({r.bytes:,} bytes, {r.seconds:.1f} s); "
            f"skipped: {skipped}"
        )
        print(f"    main text chars: {spread(chars)}; translated share: min {min(shares, default=0):.3f}")
        if r.note:
            print(f"    {r.note}")
        for reason, pages in r.skipped.items():
            print(f"    {reason}: {' '.join(pages)}")
    if missing:
        print(f"no help in that language: {', '.join(missing)}")
    total = Counter[str]()
    for r in reports:
        for reason, pages in r.skipped.items():
            total[reason] += len(pages)
    print("skipped, by reason:")
    for reason, text in REASONS.items():
        print(f"  {total[reason]:>4}  {text}")
    langs = sorted({r.lang for r in reports})
    print("pages written, by source and language:")
    print(f"  {'source':<18}" + "".join(f"{lang:>6}" for lang in langs) + f"{'total':>7}")
    for source in dict.fromkeys(r.source for r in reports):
        counts = {r.lang: len(r.written) for r in reports if r.source == source}
        row = "".join(f"{counts.get(lang, '-'):>6}" for lang in langs)
        print(f"  {source:<18}{row}{sum(counts.values()):>7}")
    by_lang = [sum(len(r.written) for r in reports if r.lang == lang) for lang in langs]
    print(f"  {'total':<18}" + "".join(f"{n:>6}" for n in by_lang) + f"{sum(by_lang):>7}")
    failed = [f"{r.source} {r.lang}" for r in reports if r.failed]
    if failed:
        print(f"documents skipped because yelp-build failed: {', '.join(failed)}")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    written = sum(len(r.written) for r in reports)
    print(f"{written} pages, {size:,} bytes in {out} (with pages.jsonl), {seconds:.1f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (cleared first)")
    parser.add_argument("--langs", nargs="+", default=list(LANGS), help="languages (default: %(default)s)")
    parser.add_argument("--docs", nargs="+", default=list(DOCS), help="help documents (default: %(default)s)")
    parser.add_argument(
        "--min-translated", type=float, default=0.8, help="skip pages less translated than this (default: 0.8)"
    )
    parser.add_argument("--limit", type=int, default=0, help="at most N pages per document and language (0 = all)")
    parser.add_argument(
        "--debs", type=Path, default=DEBS, help="where the applications' .deb files are downloaded and extracted"
    )
    args = parser.parse_args(argv)
    check_requirements()
    started = time.perf_counter()
    docs = help_docs(args.docs, args.debs.resolve())
    out: Path = args.out.resolve()
    clear(out)
    reports: list[DocReport] = []
    missing: list[str] = []
    with tempfile.TemporaryDirectory(prefix="helpcentre-") as tmp:
        for lang in args.langs:
            for doc in docs:
                report = build_doc(doc, lang, out, Path(tmp), args.min_translated, args.limit)
                if report is None:
                    missing.append(f"{doc.name} {lang}")
                else:
                    reports.append(report)
    lines = [json.dumps(w, ensure_ascii=False) for r in reports for w in r.written]
    (out / "pages.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print_report(reports, missing, out, time.perf_counter() - started)


if __name__ == "__main__":
    main()
