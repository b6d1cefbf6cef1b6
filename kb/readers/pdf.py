"""PDF: the text layer of each page (pypdf), lines joined back into paragraphs, page starts and the
outline's headings recorded."""

from __future__ import annotations

import io
import re
from typing import Any

from .structure import Extracted, Limits, TextBuilder, clean

_BULLET = re.compile(r"^\s*([•\-–*▪◦]|\d{1,2}[.)])\s+")
_END = (".", "!", "?", ":", ";", "…")


def read(raw: bytes, limits: Limits) -> Extracted:
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(raw))
        encrypted = reader.is_encrypted
    except Exception as exc:  # pypdf raises many types on damaged files
        raise ValueError(f"broken PDF ({type(exc).__name__}); export or download it again") from None
    if encrypted:
        try:  # many "protected" PDFs only restrict printing and open with an empty password
            opened = bool(reader.decrypt(""))
        except Exception:  # e.g. an AES key this installation cannot handle
            opened = False
        if not opened:
            raise ValueError("encrypted PDF (password-protected); save a copy without a password")
    try:
        n = len(reader.pages)
    except Exception as exc:
        raise ValueError(f"broken PDF ({type(exc).__name__}); export or download it again") from None
    if n > limits.max_pages:
        raise ValueError(f"PDF has {n} pages, above the limit of {limits.max_pages} (split it, or raise KB_MAX_PAGES)")
    out = TextBuilder()
    try:
        page_lines = [(page.extract_text() or "").splitlines() for page in reader.pages]
        outline = _outline(reader, reader.outline)
    except Exception as exc:
        raise ValueError(f"broken PDF ({type(exc).__name__}); export or download it again") from None
    if sum(len(line.strip()) for lines in page_lines for line in lines) < 20:
        raise ValueError("PDF has no text layer (a scan?); run OCR on it first")
    headings: dict[int, list[tuple[int, str]]] = {}
    for page, level, title in outline:
        headings.setdefault(page, []).append((level, clean(title)))
    for number, lines in enumerate(page_lines):
        out.page()
        _page(lines, headings.get(number, []), out)
    meta: dict[str, str] = {}
    try:
        info: Any = reader.metadata or {}
        title = clean(str(info.get("/Title") or ""))
    except Exception:  # a damaged /Info dictionary: the title comes from the outline instead
        title = ""
    meta["title"] = title or (out.sections[0][2] if out.sections else "")
    return out.build("pdf", {k: v for k, v in meta.items() if v})


def _outline(reader: Any, items: Any, level: int = 1) -> list[tuple[int, int, str]]:
    """(page index, level, title) of every outline entry."""
    found: list[tuple[int, int, str]] = []
    for item in items or []:
        if isinstance(item, list):
            found += _outline(reader, item, level + 1)
        else:
            page = reader.get_destination_page_number(item)
            if page is not None and page >= 0:
                found.append((page, level, str(item.title)))
    return found


def _page(lines: list[str], headings: list[tuple[int, str]], out: TextBuilder) -> None:
    """Lines of one page as paragraphs: a line that ends a sentence, or a heading, or a list item,
    ends its paragraph; the outline's headings of this page become headings."""
    pending: list[str] = []
    kind = "paragraph"

    def flush() -> None:
        if pending:
            text = " ".join(pending)
            if kind == "item":
                match = _BULLET.match(text)
                marker = match.group(1) if match and match.group(1)[0].isdigit() else "-"
                out.item(text[match.end() :] if match else text, marker)
            else:
                out.paragraph(text)
            pending.clear()

    wanted = list(headings)
    for line in lines:
        text = clean(line)
        if not text:
            flush()
            continue
        heading = next((h for h in wanted if clean(h[1]) == text), None)
        if heading is not None:
            flush()
            out.heading(text, heading[0])
            wanted.remove(heading)
            continue
        if _BULLET.match(text):
            flush()
            kind = "item"
        elif not pending:
            kind = "paragraph"
        pending.append(text)
        if text.endswith(_END):
            flush()
    flush()
