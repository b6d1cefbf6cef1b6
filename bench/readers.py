"""How well and how fast the readers extract the real help pages in tests/data/documents, and their install size.

Usage: python bench/readers.py [--repeat 20]

HTML: our reader (trafilatura) against a plain-DOM baseline (selectolax: the text of <body> without
<script>, <style>, <nav>, <header>, <footer>, <aside>, if selectolax is installed), scored on
expected.json: main-content phrases found, navigation/footer/licence/cookie phrases leaked, section
headings found in order. PDF, DOCX, Markdown: our readers' speed and the same checks.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import unicodedata
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb.corpus import parse_file  # noqa: E402

DOCUMENTS = ROOT / "tests" / "data" / "documents"


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def selectolax_text(path: Path) -> str:
    from selectolax.lexbor import LexborHTMLParser as HTMLParser

    tree = HTMLParser(path.read_bytes())
    for node in tree.css("script, style, nav, header, footer, aside"):
        node.decompose()
    return tree.body.text(separator="\n") if tree.body else ""


def score(body: str, headings: list[str], expected: dict) -> tuple[int, int, int, int, int]:
    """(phrases found, of, chrome leaked, of, headings found in order)."""
    body = nfc(body)
    found = sum(phrase in body for phrase in expected["must_contain"])
    leaked = sum(chrome in body for chrome in expected.get("must_not_contain", []))
    it = iter(nfc(h) for h in headings)
    in_order = sum(1 for h in expected["headings"] if h in it)
    return found, len(expected["must_contain"]), leaked, len(expected.get("must_not_contain", [])), in_order


def installed_mb(*packages: str) -> float:
    total = 0
    for name in packages:
        try:
            files = metadata.files(name) or []
        except metadata.PackageNotFoundError:
            continue
        total += sum(f.size or 0 for f in files)
    return total / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {describe()}")
    expected = [e for e in json.loads((DOCUMENTS / "expected.json").read_text(encoding="utf-8")) if not e.get("refuse")]
    print("\n| file | reader | main-content phrases | chrome leaked | headings in order | ms per file |")
    print("|---|---|---|---|---|---|")
    for e in expected:
        path = DOCUMENTS / e["file"]
        started = time.perf_counter()
        for _ in range(args.repeat):
            doc = parse_file(path)
        ms = (time.perf_counter() - started) / args.repeat * 1000
        f, nf, leak, nl, h = score(doc.body, [t for _, _, t in doc.sections], e)
        print(f"| {e['file']} | ours ({doc.format}) | {f}/{nf} | {leak}/{nl} | {h}/{len(e['headings'])} | {ms:.1f} |")
        if path.suffix == ".html":
            try:
                started = time.perf_counter()
                for _ in range(args.repeat):
                    text = selectolax_text(path)
                ms = (time.perf_counter() - started) / args.repeat * 1000
            except ImportError:
                continue
            lines = [line.strip() for line in text.splitlines() if line.strip()]
            f, nf, leak, nl, h = score(" ".join(lines), lines, e)
            print(
                f"| {e['file']} | selectolax body text | {f}/{nf} | {leak}/{nl} | {h}/{len(e['headings'])} | {ms:.1f} |"
            )
    print("\ninstalled size (MB, with what each needs that we do not already have):")
    sizes = {
        "HTML: trafilatura": (
            "trafilatura",
            "lxml",
            "lxml_html_clean",
            "jusText",
            "htmldate",
            "courlan",
            "dateparser",
            "regex",
            "tld",
            "babel",
            "python-dateutil",
            "tzlocal",
        ),
        "PDF: pypdf": ("pypdf",),
        "DOCX: python-docx": ("python-docx",),
        "Markdown: markdown-it-py + PyYAML": ("markdown-it-py", "mdurl", "PyYAML"),
        "(baseline) selectolax": ("selectolax",),
    }
    for label, packages in sizes.items():
        print(f"- {label}: {installed_mb(*packages):.1f}")


if __name__ == "__main__":
    main()
