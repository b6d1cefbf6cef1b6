"""Read and validate corpus files (any format `kb.readers` reads) into Documents; others are skipped with a reason."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from . import readers
from .chrome import drop_chrome
from .errors import KBError
from .language import UNKNOWN, detect_language
from .presentation import FILE_NAME as PRESENTATION_FILE
from .readers import Limits
from .readers.structure import guess_title
from .readers.text import HEADER_KEYS, decode_text, split_header
from .types import Document, Refusal, Skipped

KNOWN_KEYS = HEADER_KEYS  # the metadata a Document has fields for; other keys go to Document.meta
# A publication date at the start of a line, optionally labelled ("Opublikowany: 2019-05-20").
DATE_LINE = re.compile(r"^[^\W\d_]{0,20}:?[ \t]*(\d{4}-\d{2}-\d{2})", re.MULTILINE)
_ID_OK = re.compile(r"^[\w.-]{1,100}$")
EMPTY_BODY = "the article body is empty"
__all__ = ["CorpusScan", "corpus_files", "decode_text", "load_corpus", "parse_file", "split_header"]


@dataclass
class CorpusScan:
    """The documents of a corpus directory and the files that were skipped (with reasons)."""

    documents: list[Document] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def corpus_files(corpus_dir: Path) -> list[Path]:
    """Every file under `corpus_dir` (README files, hidden files and folders, and the app's settings file at
    its top excluded), sorted by name."""
    if not corpus_dir.is_dir():
        raise KBError(f"corpus directory {corpus_dir} does not exist; create it or pass --corpus DIR")
    return sorted(
        p
        for p in corpus_dir.rglob("*")
        if not any(part.startswith(".") for part in p.relative_to(corpus_dir).parts)
        and p.name.lower() not in ("readme.md", "readme.txt")
        and p != corpus_dir / PRESENTATION_FILE
        and (p.is_file() or p.is_symlink())
    )


def relative_name(path: Path, corpus_dir: Path) -> str:
    """How the index names a corpus file: its path below the corpus directory."""
    return path.relative_to(corpus_dir).as_posix()


def load_corpus(
    corpus_dir: Path,
    limits: Limits | None = None,
    progress: Callable[[int, int, str], None] | None = None,
) -> CorpusScan:
    """Parse every article file; a bad file is skipped with a reason, the others still load.

    Two files with the same text (after any header) or the same id are one article. Which file
    it is comes first by: having a header with an id (a re-export without one is the copy), the
    shorter name ("Returns (1).txt" is the copy), the name. The others are skipped as duplicates
    of it. The choice depends on the files only, never on an index or on modification times, so
    an incremental rebuild keeps the same file a full one would (tests/test_incremental.py found
    a touched file making the two differ when the indexed file and the older one were preferred).
    Lines a site repeats on most of its pages (its banner, say) are then dropped: kb/chrome.py.
    """
    scan = CorpusScan()
    root = corpus_dir.resolve()
    parsed: list[tuple[tuple[bool, int, str], Document]] = []
    files = corpus_files(corpus_dir)
    for done, path in enumerate(files):
        if progress is not None and done % 10 == 0:
            progress(done, len(files), "reading")
        try:
            if not path.resolve().is_relative_to(root):
                raise ValueError("it links to a file outside the corpus directory")
            doc, named = _parse(path, limits or Limits(), relative_name(path, corpus_dir))
        except ValueError as exc:
            scan.skipped.append(Skipped(relative_name(path, corpus_dir), str(exc), file_sha256(path)))
            continue
        except Exception as exc:  # a reader's library failing on a strange file: that file only is skipped
            reason = f"could not be read ({type(exc).__name__}: {str(exc)[:200]})"
            scan.skipped.append(Skipped(relative_name(path, corpus_dir), reason, file_sha256(path)))
            continue
        parsed.append((precedence(doc, named), doc))
    if progress is not None:
        progress(len(files), len(files), "reading")
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
    scan.documents = drop_chrome(sorted(by_id.values(), key=lambda d: d.path))  # kb/chrome.py
    scan.skipped.sort(key=lambda s: s.path)
    return scan


def body_hash(body: str) -> str:
    """What makes two articles the same text: the body, whatever the header, line endings and outer blank space."""
    return hashlib.sha256(body.replace("\r\n", "\n").strip().encode("utf-8")).hexdigest()


def corpus_hashes(corpus_dir: Path) -> dict[str, str]:
    """sha256 of every article file in `corpus_dir` by name (what an index records as its corpus)."""
    return {relative_name(p, corpus_dir): file_sha256(p) for p in corpus_files(corpus_dir)}


_hash_cache: dict[str, tuple[tuple[int, int, int, int], str]] = {}


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes ("" when it cannot be read); cached while its size and mtime stay the same."""
    try:
        stat = path.stat()
        key = str(path.resolve())
        cached = _hash_cache.get(key)
        stamp = (stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)  # ctime: `cp -p` keeps mtime
        if cached and cached[0] == stamp:
            return cached[1]
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
    except OSError:
        return ""
    _hash_cache[key] = (stamp, digest)
    return digest


def parse_file(path: Path, limits: Limits | None = None) -> Document:
    """One corpus file -> Document. Raises ValueError with a one-line reason when unusable."""
    return _parse(path, limits or Limits(), path.name)[0]


def _parse(path: Path, limits: Limits, name: str) -> tuple[Document, bool]:
    """The document, and whether its metadata names its id."""
    if not path.is_file():
        raise ValueError("not a regular file")
    if path.suffix.lower() not in readers.SUFFIXES:
        raise ValueError(readers.unsupported_reason(path))
    readers.check_size(path, path.stat().st_size, limits)  # before a byte is read
    raw = path.read_bytes()
    extracted = readers.read(path, raw, limits)
    meta, body = extracted.meta, extracted.body
    if not body.strip():
        raise ValueError(EMPTY_BODY)
    # A help-centre export often has one folder per language with the same file names: the folder is part of the id.
    doc_id = meta.get("id") or slug(str(Path(name).with_suffix("")))
    if not _ID_OK.match(doc_id):
        raise ValueError(f"invalid id {doc_id!r} (letters, digits, '.', '_' and '-' only)")
    lang = (meta.get("lang") or detect_language(body)).lower()
    if re.fullmatch(r"[a-z]{2}[-_][a-z0-9]+", lang):  # "pt-BR" -> "pt"
        lang = lang[:2]
    if lang != UNKNOWN and not re.fullmatch(r"[a-z]{2}", lang):
        raise ValueError(f"invalid lang {lang!r} (expected an ISO 639-1 code such as 'es')")
    document = Document(
        doc_id=doc_id,
        title=meta.get("title") or guess_title(body) or doc_id,
        lang=lang,
        body=body,
        source=meta.get("source", ""),
        published=meta.get("published") or find_date(body),
        translation_of=meta.get("translation_of", ""),
        path=name,
        content_hash=hashlib.sha256(raw).hexdigest(),
        format=extracted.format,
        sections=extracted.sections,
        pages=extracted.pages,
        meta={k: v for k, v in meta.items() if k not in KNOWN_KEYS},
    )
    return document, "id" in meta


def check_file(name: str, data: bytes, limits: Limits) -> Refusal | None:
    """Why the file `name` with these bytes would not become an article of the corpus (None: it would),
    found by reading it as a rebuild would, in a scratch folder: nothing is written to the corpus."""
    read = _read_offered(name, data, limits)
    return read if isinstance(read, Refusal) else None


def replaced_by(
    documents: Iterable[Document], name: str, data: bytes, limits: Limits
) -> tuple[list[Document], Refusal | None]:
    """What adding the file `name` would do to the articles of a corpus (`documents`, as indexed): the
    articles it would take the place of, or why it would be skipped (a refusal) because one of them is
    the same article and stays. It takes an article's place when it has that article's file name (and
    other bytes), or its id or its text and would be the file kept (`precedence`): a file named
    "a.txt" with the header "id: 002" replaces "002_returns.txt" as article 002."""
    read = _read_offered(name, data, limits)
    if isinstance(read, Refusal):
        return [], read
    new, named = read
    replaced = []
    for doc in documents:
        if doc.path == name:
            if doc.content_hash != hashlib.sha256(data).hexdigest():
                replaced.append(doc)
            continue
        same_id, same_text = doc.doc_id == new.doc_id, body_hash(doc.body) == body_hash(new.body)
        if not (same_id or same_text):
            continue
        # an indexed article named by its file has the file's slug as its id
        if precedence(new, named) < precedence(doc, doc.doc_id != slug(str(Path(doc.path).with_suffix("")))):
            replaced.append(doc)
        else:
            why = f"same text as {doc.path}" if same_text else f"id {doc.doc_id!r} is already used by {doc.path}"
            detail = f"{why} (article {doc.title!r}); change that file instead"
            return [], Refusal(name, "duplicate", detail, article=f"{doc.title} · {doc.path}")
    return replaced, None


def precedence(doc: Document, named: bool) -> tuple[bool, int, str]:
    """Of files that are one article (the same id or the same text), the corpus keeps the lowest: one whose
    header names its id (a re-export without one is the copy), then the shorter name ("Returns (1).txt"
    is the copy), then the name."""
    return (not named, len(doc.path), doc.path)


def _read_offered(name: str, data: bytes, limits: Limits) -> tuple[Document, bool] | Refusal:
    """A file offered to the corpus read as a rebuild would, in a scratch folder; or why it cannot be."""
    import tempfile

    clean = Path(name).name
    if not clean or clean != name or clean.startswith(".") or "\\" in name or "\x00" in name:
        return Refusal(name, "name", "give a plain file name (no folder, not starting with a dot)")
    if Path(clean).stem.lower() == "readme":
        return Refusal(name, "name", "README files in the corpus describe it and are not indexed; rename it")
    path = Path(clean)
    if path.suffix.lower() not in readers.SUFFIXES:
        return Refusal(name, "format", readers.unsupported_reason(path))
    try:
        readers.check_size(path, len(data), limits)
    except ValueError as exc:
        return Refusal(name, "size", str(exc), len(data), readers.size_limit(path, limits)[0])
    with tempfile.TemporaryDirectory(prefix="kb-check-") as scratch:
        copy = Path(scratch) / clean
        copy.write_bytes(data)
        try:
            return _parse(copy, limits, clean)
        except ValueError as exc:
            return Refusal(name, "empty" if str(exc) == EMPTY_BODY else "unreadable", str(exc))
        except Exception as exc:  # a reader's library failing on a damaged file  # noqa: BLE001
            return Refusal(name, "unreadable", f"{type(exc).__name__}: {exc}")


def slug(name: str) -> str:
    """An id from a file name (with its folders): letters and digits kept (accents dropped), every other run
    of characters a '-' ("es/FAQ - Devoluciones" -> "es-FAQ-Devoluciones")."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9._]+", "-", ascii_name).strip("-._")[:100] or "article"


def find_date(body: str) -> str:
    """A publication date (YYYY-MM-DD) written near the top of the body, if any."""
    head = "\n".join(body.splitlines()[:5])
    match = DATE_LINE.search(head)
    return match.group(1) if match else ""
