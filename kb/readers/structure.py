"""What a reader produces (`Extracted`) and a builder that lays out blocks as plain text with their offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_SPACE = re.compile(r"[ \t\r\f\v\u00a0]+")


def guess_title(body: str) -> str:
    """The first line, when it reads like a title (short, no final full stop)."""
    first = body.lstrip().split("\n", 1)[0].strip()
    return first if 0 < len(first) <= 120 and not first.endswith((".", ":", ";")) else ""


@dataclass(frozen=True)
class Limits:
    """How much of a file a reader will take on (hostile files are refused, not read)."""

    max_bytes: int = 2_000_000  # text, Markdown and HTML files
    max_binary_bytes: int = 50_000_000  # PDF and DOCX files
    max_pages: int = 2_000  # PDF pages
    max_unzipped_bytes: int = 100_000_000  # what a DOCX (a zip) may expand to


@dataclass(frozen=True)
class Extracted:
    """A file as text: the body, metadata, headings (offset, level, text) and page starts (offsets)."""

    body: str
    format: str
    meta: dict[str, str] = field(default_factory=dict)
    sections: tuple[tuple[int, int, str], ...] = ()
    pages: tuple[int, ...] = ()


def clean(text: str) -> str:
    """One line of readable text: runs of spaces and line breaks folded to one space."""
    return _SPACE.sub(" ", " ".join(text.split("\n"))).strip()


class TextBuilder:
    """Blocks (headings, paragraphs, list items, table rows) laid out as lines of a plain-text body.

    Paragraphs and headings are separated by a blank line, list items and table rows follow each
    other; every heading and page start is recorded at its exact offset in the body.
    """

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.length = 0
        self.sections: list[tuple[int, int, str]] = []
        self.pages: list[int] = []
        self._last = ""  # kind of the last block
        self._new_pages = 0  # pages begun that have no block yet

    def _add(self, text: str, kind: str) -> int:
        if self.parts:
            sep = "\n" if kind == self._last == "item" else "\n\n"
            self.parts.append(sep)
            self.length += len(sep)
        start = self.length
        self.pages.extend([start] * self._new_pages)
        self._new_pages = 0
        self.parts.append(text)
        self.length += len(text)
        self._last = kind
        return start

    def heading(self, text: str, level: int) -> None:
        text = clean(text)
        if text:
            self.sections.append((self._add(text, "heading"), level, text))

    def paragraph(self, text: str) -> None:
        text = clean(text)
        if text:
            self._add(text, "paragraph")

    def item(self, text: str, marker: str = "-") -> None:
        text = clean(text)
        if text:
            self._add(f"{marker} {text}", "item")

    def row(self, cells: list[str]) -> None:
        cells = [clean(c) for c in cells]
        if any(cells):
            self._add("- " + " · ".join(c for c in cells if c), "item")

    def page(self) -> None:
        """The next block starts a new page."""
        self._new_pages += 1

    def build(self, format: str, meta: dict[str, str]) -> Extracted:
        body = "".join(self.parts)
        pages = (*self.pages, *[len(body)] * self._new_pages)
        return Extracted(body, format, meta, tuple(self.sections), pages)
