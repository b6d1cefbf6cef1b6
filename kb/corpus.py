"""Read and validate corpus files (a small metadata header + the article body) into Documents."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .errors import KBError
from .language import UNKNOWN, detect_language
from .types import Document, Skipped

HEADER_FENCE = "---"
HEADER_KEYS = ("id", "title", "lang", "source", "published", "translation_of")
CORPUS_SUFFIXES = (".txt", ".md")
# A publication date at the start of a line, optionally labelled ("Opublikowany: 2019-05-20").
DATE_LINE = re.compile(r"^[^\W\d_]{0,20}:?[ \t]*(\d{4}-\d{2}-\d{2})", re.MULTILINE)
_ID_OK = re.compile(r"^[\w.-]{1,100}$")


@dataclass
class CorpusScan:
    """The documents of a corpus directory and the files that were skipped (with reasons)."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Article files in `corpus_dir` (README files and hidden files excluded), sorted by name."""
    if not corpus_dir.is_dir():
        raise KBError(f"corpus directory {corpus_dir} does not exist; create it or pass --corpus DIR")
    return sorted(
        p
        for p in corpus_dir.iterdir()
        if p.suffix.lower() in CORPUS_SUFFIXES and not p.name.startswith(".") and p.name.lower() != "readme.md"
    )


def load_corpus(corpus_dir: Path, max_bytes: int = 2_000_000, indexed: Mapping[str, str] | None = None) -> CorpusScan:
    """Parse every article file; a bad file is skipped with a reason, the others still load.

    Two files with the same text (after any header) or the same id are one article. Which file
    it is comes first by: having a header with an id (a re-export without one is the copy), being
    in the index unchanged (`indexed`: file name -> sha256 of its bytes), the older modification
    time, the shorter name ("Returns (1).txt" is the copy), the name. The others are skipped as
    duplicates of it.
    """
    scan = CorpusScan()
    root = corpus_dir.resolve()
    parsed: list[tuple[tuple[bool, bool, int, int, str], Document]] = []
    for path in corpus_files(corpus_dir):
        try:
            if not path.resolve().is_relative_to(root):
                raise ValueError("it links to a file outside the corpus directory")
            doc, named = _parse(path, max_bytes)
        except ValueError as exc:
            scan.skipped.append(Skipped(path.name, str(exc), file_sha256(path)))
            continue
        indexed_as_is = (indexed or {}).get(path.name) == doc.content_hash
        parsed.append(((not named, not indexed_as_is, path.stat().st_mtime_ns, len(path.name), path.name), doc))
    by_id: dict[str, Document] = {}
    by_text: dict[str, Document] = {}
    for _, doc in sorted(parsed, key=lambda p: p[0]):
        text = body_hash(doc.body)
        if text in by_text:
            first = by_text[text]
            reason = f"same text as {first.path} (article {first.doc_id!r}); delete one of the two files"
            scan.skipped.append(Skipped(doc.path, reason, doc.content_hash))
        elif doc.doc_id in by_id:
            first = by_id[doc.doc_id]
            reason = f"id {doc.doc_id!r} is already used by {first.path}; give this file another id in its header"
            scan.skipped.append(Skipped(doc.path, reason, doc.content_hash))
        else:
            by_id[doc.doc_id] = by_text[text] = doc
    scan.documents = sorted(by_id.values(), key=lambda d: d.path)
    scan.skipped.sort(key=lambda s: s.path)
    return scan


def body_hash(body: str) -> str:
    """What makes two articles the same text: the body, whatever the header, line endings and outer blank space."""
    return hashlib.sha256(body.replace("\r\n", "\n").strip().encode("utf-8")).hexdigest()


def corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """sha256 of every article file in `corpus_dir` by name (what an index records as its corpus)."""
    return {p.name: file_sha256(p) for p in corpus_files(corpus_dir)}


_hash_cache: dict[str, tuple[int, int, str]] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes ("" when it cannot be read); cached while its size and mtime stay the same."""
    try:
        stat = path.stat()
        key = str(path.resolve())
        cached = _hash_cache.get(key)
        if cached and cached[:2] == (stat.st_size, stat.st_mtime_ns):
            return cached[2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    except OSError:
        return ""
    _hash_cache[key] = (stat.st_size, stat.st_mtime_ns, digest)
    return digest


def parse_file(path: Path, max_bytes: int = 2_000_000) -> Document:
    """One corpus file -> Document. Raises ValueError with a one-line reason when unusable."""
    return _parse(path, max_bytes)[0]


def _parse(path: Path, max_bytes: int) -> tuple[Document, bool]:
    """The document, and whether its header names its id."""
    if not path.is_file():
        raise ValueError("not a regular file")
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(
            f"file is {size / 1e6:.1f} MB, above the {max_bytes / 1e6:.1f} MB limit for one article "
            "(split it, or raise KB_MAX_ARTICLE_BYTES)"
        )
    raw = path.read_bytes()
    text = decode_text(raw)
    meta, body = split_header(text)
    if not body.strip():
        raise ValueError("the article body is empty")
    doc_id = meta.get("id") or path.stem.split("_")[0] or path.stem
    if not _ID_OK.match(doc_id):
        raise ValueError(f"invalid id {doc_id!r} (letters, digits, '.', '_' and '-' only)")
    lang = meta.get("lang") or detect_language(body)
    if lang != UNKNOWN and not re.fullmatch(r"[a-z]{2}", lang):
        raise ValueError(f"invalid lang {lang!r} in header (expected an ISO 639-1 code such as 'es')")
    document = Document(
        doc_id=doc_id,
        title=meta.get("title") or guess_title(body) or doc_id,
        lang=lang,
        body=body,
        source=meta.get("source", ""),
        published=meta.get("published") or find_date(body),
        translation_of=meta.get("translation_of", ""),
        path=path.name,
        content_hash=hashlib.sha256(raw).hexdigest(),
    )
    return document, "id" in meta


def decode_text(raw: bytes) -> str:
    """Bytes -> text: UTF-8 (BOM allowed) or UTF-16 with a BOM; anything else is refused."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValueError("invalid UTF-16 text") from exc
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise ValueError(
                f"not UTF-8 text (undecodable byte at offset {exc.start}); re-save the file as UTF-8"
            ) from exc
    if "\x00" in text:
        raise ValueError("contains NUL bytes (binary file?)")
    return text


def split_header(text: str) -> tuple[dict[str, str], str]:
    """Split an optional `---` fenced `key: value` header from the body (kept byte for byte)."""
    first, sep, rest = text.partition("\n")
    if first.rstrip("\r") != HEADER_FENCE:
        return {}, text
    meta: dict[str, str] = {}
    pos = len(first) + len(sep)
    while True:
        line, sep, _ = text[pos:].partition("\n")
        if not sep and not line:
            raise ValueError("metadata header is not closed by a '---' line")
        pos += len(line) + len(sep)
        line = line.rstrip("\r")
        if line == HEADER_FENCE:
            return meta, text[pos:]
        if not line.strip():
            continue
        key, colon, value = line.partition(":")
        key = key.strip()
        if not colon or key not in HEADER_KEYS:
            raise ValueError(f"malformed metadata header line {line[:60]!r} (keys: {', '.join(HEADER_KEYS)})")
        meta[key] = value.strip()
        if not sep:
            raise ValueError("metadata header is not closed by a '---' line")
    return meta, rest  # unreachable


def guess_title(body: str) -> str:
    """The first line, when it reads like a title (short, no final full stop)."""
    first = body.lstrip().split("\n", 1)[0].strip()
    return first if 0 < len(first) <= 120 and not first.endswith((".", ":", ";")) else ""


def find_date(body: str) -> str:
    """A publication date (YYYY-MM-DD) written near the top of the body, if any."""
    head = "\n".join(body.splitlines()[:5])
    match = DATE_LINE.search(head)
    return match.group(1) if match else ""
