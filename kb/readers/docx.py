"""DOCX: headings (by paragraph style), paragraphs, list items and tables in document order (python-docx)."""

from __future__ import annotations

import io
import re
import zipfile

from .structure import Extracted, Limits, TextBuilder, clean


def read(raw: bytes, limits: Limits) -> Extracted:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, ValueError) as exc:
        raise ValueError(f"broken DOCX (not a valid zip: {exc}); save it again from the word processor") from None
    if expanded > limits.max_unzipped_bytes:
        raise ValueError(
            f"DOCX expands to {expanded / 1e6:.0f} MB, above the {limits.max_unzipped_bytes / 1e6:.0f} MB limit "
            "(a zip bomb?); not read"
        )
    import docx
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    try:
        document = docx.Document(io.BytesIO(raw))
    except Exception as exc:  # python-docx raises several types on damaged files
        raise ValueError(f"broken DOCX ({type(exc).__name__}); save it again from the word processor") from None
    out = TextBuilder()
    numbers: dict[str, int] = {}
    for block in document.element.body.iterchildren():
        tag = block.tag.rsplit("}", 1)[-1]
        if tag == "tbl":
            for row in Table(block, document).rows:
                out.row(_unique(cell.text for cell in row.cells))
        elif tag == "p":
            paragraph = Paragraph(block, document)
            style = (paragraph.style.name if paragraph.style is not None else "") or ""
            text = paragraph.text
            if style == "Title":
                out.heading(text, 1)
            elif heading := re.match(r"heading\s*(\d)", style, re.IGNORECASE):
                out.heading(text, int(heading.group(1)))
            elif style.startswith("List Number"):
                numbers[style] = numbers.get(style, 0) + 1
                out.item(text, f"{numbers[style]}.")
            elif style.startswith("List") or paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None:
                out.item(text)
            else:
                numbers.clear()
                out.paragraph(text)
    props = document.core_properties
    meta = {"title": clean(props.title or "") or (out.sections[0][2] if out.sections else "")}
    if props.language:
        meta["lang"] = props.language[:2].lower()
    if props.author:
        meta["author"] = props.author
    return out.build("docx", {k: v for k, v in meta.items() if v})


def _unique(cells: object) -> list[str]:
    """Cell texts of a row, merged cells (which python-docx repeats) once."""
    out: list[str] = []
    for text in cells:  # type: ignore[attr-defined]
        if not out or out[-1] != text:
            out.append(text)
    return out
