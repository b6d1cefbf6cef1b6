"""File readers: one module per format, each turning a file's bytes into a plain-text body plus structure.

Every reader returns an `Extracted`: the body (what citations point into), metadata (known keys
`id`, `title`, `lang`, `source`, `published`, `translation_of`; any other key is kept), the
headings with their body offsets and levels, and for paged formats where each page begins.
A file that cannot be read raises ValueError with a one-line reason that says what to do.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .structure import Extracted, Limits

Reader = Callable[[bytes, Limits], Extracted]


def _readers() -> dict[str, Reader]:
    from . import docx, html, markdown, pdf, text

    return {
        ".txt": text.read,
        ".text": text.read,
        ".md": markdown.read,
        ".markdown": markdown.read,
        ".html": html.read,
        ".htm": html.read,
        ".pdf": pdf.read,
        ".docx": docx.read,
    }


# recorded in the manifest: a change re-reads every file
# (5: site chrome dropped, kb/chrome.py; 4: kb: meta tags; 3: no page footer; 2: title)
VERSION = 5
SUFFIXES = (".txt", ".text", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx")
# What to do with formats we do not read.
ADVICE = {
    ".pptx": "export it as PDF",
    ".ppt": "export it as PDF",
    ".key": "export it as PDF",
    ".doc": "save it as .docx",
    ".odt": "save it as .docx or export it as PDF",
    ".rtf": "save it as .docx",
    ".pages": "export it as .docx or PDF",
    ".xlsx": "export the sheet as PDF",
    ".xls": "export the sheet as PDF",
    ".csv": "turn it into an article (.md or .txt)",
    ".epub": "export it as PDF",
    ".mhtml": "save the page as .html",
}


def library_versions() -> dict[str, str]:
    """Versions of the libraries that extract text (recorded in the manifest: an upgrade re-reads every file)."""
    from importlib import metadata

    versions = {}
    for name in ("trafilatura", "pypdf", "python-docx", "markdown-it-py", "PyYAML"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = ""
    return versions


def unsupported_reason(path: Path) -> str:
    suffix = path.suffix.lower() or "(no extension)"
    advice = ADVICE.get(path.suffix.lower(), "export it as PDF, DOCX, HTML, Markdown or plain text")
    return f"unsupported format {suffix} — {advice}"


def size_limit(path: Path, limits: Limits) -> tuple[int, str]:
    """The most bytes one file of this format may have, and the setting that raises it."""
    if path.suffix.lower() in (".pdf", ".docx"):
        return limits.max_binary_bytes, "KB_MAX_BINARY_BYTES"
    return limits.max_bytes, "KB_MAX_ARTICLE_BYTES"


def check_size(path: Path, size: int, limits: Limits) -> None:
    """Refuse a file above its format's size limit (ValueError with a reason); call it before reading the file."""
    limit, setting = size_limit(path, limits)
    if size > limit:
        raise ValueError(
            f"file is {size / 1e6:.1f} MB, above the {limit / 1e6:.1f} MB limit for one article "
            f"(split it, or raise {setting})"
        )


def read(path: Path, raw: bytes, limits: Limits) -> Extracted:
    """The extracted text and structure of one file (ValueError with a reason when it cannot be used).
    The caller checks the size first (`check_size`)."""
    reader = _readers().get(path.suffix.lower())
    if reader is None:
        raise ValueError(unsupported_reason(path))
    return reader(raw, limits)


__all__ = [
    "SUFFIXES",
    "VERSION",
    "Extracted",
    "Limits",
    "check_size",
    "library_versions",
    "read",
    "unsupported_reason",
]
