"""Site chrome: lines a site repeats on most of its pages (the help's product name above every article,
a "Was this article helpful?" below it). A page's reader keeps them when the site's generator does not
mark them as navigation; indexed, they would be matched and cited as if each article said them.

A line is chrome when it is, whole, a paragraph of at least SHARE of the pages of one site in one
language (at least MIN_PAGES of them). A site is the corpus folder the page sits in at the top (a synced
source's folder, a help-centre export's language folder), or the corpus's top level. How often an
instruction line repeats on a real help centre, for scale: at most 9 of the 110 pages of one language
of the public GNOME help set ("2. Click Settings.", 8 %).

The choice depends on all the pages at once, so it is made in `load_corpus` for full and incremental
rebuilds alike: a page whose text changes because a line became chrome is embedded again.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import replace

from .readers.structure import guess_title
from .types import Document

SHARE = 0.5  # of a site's pages in one language
MIN_PAGES = 5  # fewer pages than this say nothing about a site
_SPACE = re.compile(r"\s+")


def site(doc: Document) -> str:
    """The corpus folder a page sits in at the top ("" for the corpus's top level)."""
    head, sep, _ = doc.path.partition("/")
    return head if sep else ""


def find_chrome(documents: list[Document]) -> dict[tuple[str, str], frozenset[str]]:
    """The chrome lines of each (site, language) with enough pages, normalized (`_key`)."""
    groups: dict[tuple[str, str], list[Document]] = defaultdict(list)
    for doc in documents:
        groups[(site(doc), doc.lang)].append(doc)
    chrome: dict[tuple[str, str], frozenset[str]] = {}
    for group, docs in groups.items():
        if len(docs) < MIN_PAGES:
            continue
        seen = Counter(key for doc in docs for key in {_key(line) for line in doc.body.split("\n")} if key)
        lines = frozenset(key for key, n in seen.items() if n >= max(MIN_PAGES, SHARE * len(docs)))
        if lines:
            chrome[group] = lines
    return chrome


def drop_chrome(documents: list[Document]) -> list[Document]:
    """The documents without their site's chrome lines (sections, pages and a title moved with the text)."""
    chrome = find_chrome(documents)
    return [without(doc, chrome[key]) if (key := (site(doc), doc.lang)) in chrome else doc for doc in documents]


def without(doc: Document, lines: frozenset[str]) -> Document:
    """`doc` without the paragraphs in `lines` (unchanged when that would leave no text)."""
    kept: list[str] = []
    removed: list[tuple[int, int]] = []  # (start, length) of each dropped line with its line break
    at = 0
    for line in doc.body.split("\n"):
        if _key(line) in lines:
            removed.append((at, len(line) + 1))
        else:
            kept.append(line)
        at += len(line) + 1
    if not removed:
        return doc
    joined = "\n".join(kept)
    body = joined.strip("\n")
    if not body.strip():
        return doc
    lead = len(joined) - len(joined.lstrip("\n"))  # blank lines the kept text starts with

    def moved(offset: int) -> int:
        gone = 0
        for start, length in removed:
            if start >= offset:
                break
            gone += min(length, offset - start)
        return max(0, min(len(body), offset - gone - lead))

    dropped = {start for start, _ in removed}
    sections = tuple((moved(s), level, text) for s, level, text in doc.sections if s not in dropped)
    title = doc.title
    if _key(title) in lines:  # the title was read from the chrome (the site's name as the page's first heading)
        title = next((text for _, level, text in sections if level <= 2), "") or guess_title(body) or doc.doc_id
    return replace(doc, body=body, sections=sections, pages=tuple(moved(p) for p in doc.pages), title=title)


def _key(line: str) -> str:
    return _SPACE.sub(" ", line).strip()
