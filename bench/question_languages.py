"""Build kb/data/question_languages.npz: the direction each language adds to a question's vector.

A question asked in a language none of the corpus's articles is written in (German or English
questions of a Spanish/French/Italian/Polish help centre) keeps its language's direction after
`Index.neutral`, which only removes the directions that tell the corpus's languages apart; so it
scores lower against every passage, relevant or not, and its answers fall under the `confident`
threshold more often (kb/search.py, FOREIGN_QUESTIONS). This script measures each language's
direction once per model, from paragraphs that say the same thing in that language and in English:
the GNOME desktop help (`gnome-user-docs`, CC-BY-SA 3.0), whose translators keep every paragraph of
a page in the same order. For language L, the mean of its paragraphs' vectors (read as questions,
with the model's "query" prompt) less the mean of the same paragraphs' English vectors; English is 0.
Only the file's vectors are kept (no text), with the model's identity: another model gets none.

Only `<p>` paragraphs (not titles or descriptions: those are the help-centre questions) of pages in
the help-centre set's *dev* split (bench/helpcentre_questions.py) are read, so the test split's pages
contribute nothing.

Usage: python bench/question_languages.py [--pairs N] [--out kb/data/question_languages.npz]
Needs the Debian package gnome-user-docs (`apt-get install gnome-user-docs`) and the model.
"""

from __future__ import annotations

import argparse
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.helpcentre_questions import split_of  # noqa: E402
from kb.language import LINGUA_LANGUAGES  # noqa: E402
from kb.model.embedder import Embedder  # noqa: E402
from kb.model.languages import DATA  # noqa: E402

HELP = Path("/usr/share/help")
MALLARD = "{http://projectmallard.org/1.0/}"
LOCALES = {"en": "C", "pt": "pt_BR", "zh": "zh_CN", "nb": "nb"}  # language -> gnome-help locale, when not the code
MIN_WORDS = 6
PER_PAGE = 3  # paragraphs a page gives at most, so that no page dominates


def paragraphs(path: Path) -> list[str]:
    """The page's <p> texts outside <info>, whitespace squashed."""
    out: list[str] = []

    def walk(el: ET.Element) -> None:
        for child in el:
            if child.tag in (f"{MALLARD}info", f"{MALLARD}comment"):
                continue
            if child.tag == f"{MALLARD}p":
                out.append(" ".join("".join(child.itertext()).split()))
            else:
                walk(child)

    walk(ET.parse(path).getroot())
    return out


def pairs_for(lang: str, limit: int) -> list[tuple[str, str]]:
    """Up to `limit` (paragraph in `lang`, the same paragraph in English) pairs from dev-split pages."""
    folder = HELP / LOCALES.get(lang, lang) / "gnome-help"
    english = HELP / "C" / "gnome-help"
    if not folder.is_dir():
        return []
    found: list[tuple[str, str]] = []
    for page in sorted(folder.glob("*.page")):
        if split_of(page.stem) != "dev" or not (english / page.name).exists():
            continue
        try:
            theirs, ours = paragraphs(page), paragraphs(english / page.name)
        except ET.ParseError:
            continue
        if len(theirs) != len(ours):  # not kept in step with the English page
            continue
        kept = [(t, e) for t, e in zip(theirs, ours, strict=True) if t != e and len(e.split()) >= MIN_WORDS]
        found += kept[:PER_PAGE]
        if len(found) >= limit:
            break
    return found[:limit]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pairs", type=int, default=200, help="paragraph pairs per language (default 200)")
    parser.add_argument("--min-pairs", type=int, default=100, help="a language with fewer is left out")
    parser.add_argument("--out", type=Path, default=DATA)
    args = parser.parse_args(argv)
    if not (HELP / "C" / "gnome-help").is_dir():
        sys.exit("the GNOME help is not installed: apt-get install gnome-user-docs")
    embedder = Embedder()
    started = time.perf_counter()
    langs, directions = ["en"], [np.zeros(embedder.identity.dimension, np.float32)]
    for code in LINGUA_LANGUAGES:
        lang = code.lower()
        if lang == "en":
            continue
        pairs = pairs_for(lang, args.pairs)
        if len(pairs) < args.min_pairs:
            print(f"{lang}: {len(pairs)} paragraph pairs, left out")
            continue
        theirs = embedder._encode([t for t, _ in pairs], "query", 32).vectors
        english = embedder._encode([e for _, e in pairs], "query", 32).vectors
        direction = np.asarray(theirs, np.float32).mean(axis=0) - np.asarray(english, np.float32).mean(axis=0)
        langs.append(lang)
        directions.append(direction.astype(np.float32))
        print(f"{lang}: {len(pairs)} paragraph pairs, |direction| {np.linalg.norm(direction):.3f}", flush=True)
    identity = embedder.identity
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        model=np.array(identity.name),
        source_sha256=np.array(identity.source_sha256),
        langs=np.array(langs),
        directions=np.stack(directions),
    )
    print(f"{len(langs)} languages -> {args.out} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
