"""Build a multilingual help-centre corpus for benchmarks: the whole GNOME user help in es, fr, pl and it, as HTML.

Why: the fixtures of bench/documents.py are a handful of pages, enough to test a reader but not to measure
indexing, search or answer quality at the size of a real help centre. This script turns every page of the
GNOME help in Spanish, French, Polish and Italian into a standalone HTML file, the way a company's help centre
would publish them (breadcrumb trail, "More information" / "See also" link lists, the "About" footer with
credits and licence all kept), so that benchmarks run on a few hundred real, well-translated pages per language.

Source and tools are the ones bench/documents.py uses (and its helpers are imported from it): the Debian
package `gnome-user-docs` (Mallard pages under /usr/share/help/<lang>/gnome-help/, CC-BY-SA 3.0, GNOME
Documentation Project), turned into HTML by `yelp-build html` from `yelp-tools` against a cache of the whole
language, so the trails and link lists are the real ones. Then, in each page:
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
    a paragraph or title of the English page) / (characters of all its paragraphs and titles), counting only
    blocks of at least 3 words outside <info> (credits, licence) and editorial <comment>s, so a command, a
    product name or an URL that is the same in every language does not make a page look stale;
  - short pages: main text (as bench.documents.html_parts measures it: <article> minus its navigation lists)
    under MIN_CHARS characters.

What it writes, under --out (default bench/results/helpcentre, git-ignored), which is cleared first:
  <lang>/<page-id>.html   one file per page kept
  pages.jsonl             one line per file written, in language then page order:
                          {"file", "lang", "page", "title", "translated_share", "chars"}
Output is the same byte for byte for the same Debian package versions.

Needs: apt-get install -y gnome-user-docs yelp-tools; lxml (in the project's environment).
Run:   python bench/helpcentre.py [--out DIR] [--langs es fr pl it] [--min-translated 0.8] [--limit N]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import statistics
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
    HELP,
    deb_version,
    html_parts,
    local,
    mallard,
    replace_once,
    squash,
    yelp_build,
)

DEFAULT_OUT = ROOT / "bench" / "results" / "helpcentre"
LANGS = ("es", "fr", "pl", "it")
DEB_PACKAGES = ("gnome-user-docs", "yelp-tools")
MIN_CHARS = 200  # main text (and a guide page's own prose) shorter than this: not an article
MIN_WORDS = 3  # blocks with fewer words are not judged translated or not ("GNOME", "sudo lspci")
WORD = re.compile(r"[^\W\d_]{2,}")
HLJS_START = re.compile(r"<script>\s*document\.addEventListener\('DOMContentLoaded'.*?hljs\..*?</script>", re.S)
LINK_LISTS = ".//div[contains(concat(' ', normalize-space(@class), ' '), ' links ')]"

INDEX, STALE, SHORT = "index", "stale", "short"
REASONS = {
    INDEX: "index page (Mallard guide, mostly link lists)",
    STALE: "stale translation (translated share below --min-translated)",
    SHORT: f"short (main text under {MIN_CHARS} characters)",
}


@dataclass
class LangReport:
    """What was written and skipped for one language."""

    lang: str
    written: list[dict[str, object]] = field(default_factory=list)
    skipped: dict[str, list[str]] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0


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


def translated_share(lang: str, page: str, root: ET.Element) -> float:
    """Share of the page's text (in characters) that is not left identical to the English page; 1.0 if none."""
    blocks = text_blocks(root)
    english_file = HELP / "C" / "gnome-help" / f"{page}.page"
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


def build_lang(lang: str, out: Path, work: Path, min_translated: float, limit: int) -> LangReport:
    """Build every page of one language, write the ones kept to out/<lang>/, and say why the others were not."""
    started = time.perf_counter()
    report = LangReport(lang)
    pages = sorted(p.stem for p in (HELP / lang / "gnome-help").glob("*.page"))
    if not pages:
        raise SystemExit(f"no gnome-help pages for {lang!r} under {HELP / lang}")
    built = yelp_build(lang, pages, work)  # all pages at once, against the language's cache: ~3 s
    target = out / lang
    target.mkdir(parents=True)
    for page in pages:
        if limit and len(report.written) >= limit:
            break
        root = mallard(lang, page)
        title, main, _, _ = html_parts(built / f"{page}.html")
        share = translated_share(lang, page, root)
        reason = None
        if root.get("type") == "guide":
            prose = own_prose_chars(built / f"{page}.html")
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
        path.write_text(standalone_html(built, lang, page), encoding="utf-8")
        report.bytes += path.stat().st_size
        report.written.append(
            {
                "file": f"{lang}/{page}.html",
                "lang": lang,
                "page": page,
                "title": title,
                "translated_share": share,
                "chars": len(main),
            }
        )
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


def print_report(reports: list[LangReport], out: Path, seconds: float) -> None:
    for r in reports:
        chars = [int(str(w["chars"])) for w in r.written]
        shares = [float(str(w["translated_share"])) for w in r.written]
        skipped = ", ".join(f"{len(r.skipped.get(k, []))} {k}" for k in REASONS)
        print(f"{r.lang}: {len(r.written)} pages written ({r.bytes:,} bytes, {r.seconds:.1f} s); skipped: {skipped}")
        print(f"    main text chars: {spread(chars)}; translated share: min {min(shares, default=0):.3f}")
        for reason, pages in r.skipped.items():
            print(f"    {reason}: {' '.join(pages)}")
    total = Counter[str]()
    for r in reports:
        for reason, pages in r.skipped.items():
            total[reason] += len(pages)
    print("skipped, by reason:")
    for reason, text in REASONS.items():
        print(f"  {total[reason]:>4}  {text}")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    written = sum(len(r.written) for r in reports)
    print(f"{written} pages, {size:,} bytes in {out} (with pages.jsonl), {seconds:.1f} s")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (cleared first)")
    parser.add_argument("--langs", nargs="+", default=list(LANGS), help="languages (default: %(default)s)")
    parser.add_argument(
        "--min-translated", type=float, default=0.8, help="skip pages less translated than this (default: 0.8)"
    )
    parser.add_argument("--limit", type=int, default=0, help="at most N pages per language (0 = all)")
    args = parser.parse_args(argv)
    check_requirements()
    started = time.perf_counter()
    out: Path = args.out.resolve()
    clear(out)
    reports = []
    with tempfile.TemporaryDirectory(prefix="helpcentre-") as tmp:
        for lang in args.langs:
            reports.append(build_lang(lang, out, Path(tmp), args.min_translated, args.limit))
    lines = [json.dumps(w, ensure_ascii=False) for r in reports for w in r.written]
    (out / "pages.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    print_report(reports, out, time.perf_counter() - started)


if __name__ == "__main__":
    main()
