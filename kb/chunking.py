"""Documents -> Chunks: paragraph- and sentence-aware, with exact character offsets into the body."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .corpus import DATE_LINE
from .types import Chunk, Document

BULLET = re.compile(r"[•\-*–·▪◦‣]\s+|\d{1,2}[.)]\s+")
INNER_END = re.compile(r"[.!?…;:。！？]")  # a line without any of these is one sentence
TERMINAL = (".", "!", "?", "…", ":", ";", '"', "”", "»", ")")
MAX_HEADING_CHARS = 120
MAX_QUESTION_HEADING_WORDS = 8  # a question line this short, alone, is a (sub)title
MIN_CHUNK_TOKENS = 12  # shorter paragraphs are merged into the next one of their section
PYSBD_LANGS = {"en", "es", "pl", "it", "fr", "de", "nl", "da", "ru", "el", "bg", "fa", "ar", "sk"}

CountTokens = Callable[[str], int]


@dataclass
class _Line:
    start: int
    end: int
    kind: str  # "heading", "text", "bullet"
    paragraph: int


def chunk_document(doc: Document, count_tokens: CountTokens, max_tokens: int) -> list[Chunk]:
    """Split a document into chunks that fit `max_tokens` and quote the body exactly."""
    # Formats with structure (HTML, PDF outline, DOCX, Markdown) say which lines are headings.
    lines = classify_lines(doc.body, {s[0] for s in doc.sections} if doc.format != "text" and doc.sections else None)
    chunks: list[Chunk] = []
    heading = ""
    pending: list[_Line] = []  # consecutive lines that will form one chunk

    def flush() -> None:
        if pending:
            for start, end in _fit(doc.body, pending[0].start, pending[-1].end, doc.lang, count_tokens, max_tokens):
                chunks.append(_make_chunk(doc, len(chunks), pending[0].paragraph, start, end, heading))
            pending.clear()

    for i, line in enumerate(lines):
        if line.kind == "heading":
            flush()
            heading = doc.body[line.start : line.end]
            continue
        if line.kind == "bullet":
            if pending and pending[-1].kind != "bullet" and not _lead_in(doc.body, pending[-1]):
                flush()
            pending.append(line)
            continue
        if pending and pending[-1].kind == "bullet":
            flush()
        pending.append(line)
        text = doc.body[pending[0].start : line.end]
        nxt = lines[i + 1] if i + 1 < len(lines) else None
        keep_open = _lead_in(doc.body, line) and nxt is not None and nxt.kind == "bullet"
        short = (  # merge a short paragraph into the next one, unless a dropped stray line lies between
            nxt is not None
            and nxt.kind == "text"
            and nxt.paragraph == line.paragraph + 1
            and count_tokens(text) < MIN_CHUNK_TOKENS
        )
        if not keep_open and not short:
            flush()
    flush()
    return chunks


def classify_lines(body: str, headings: set[int] | None = None) -> list[_Line]:
    """Non-blank lines with their trimmed spans and kinds; stray lines without words are dropped.
    `headings`: the offsets where headings start, when the document's format knows them."""
    raw: list[tuple[int, int]] = []
    pos = 0
    for line in body.split("\n"):
        start, end = trim(body, pos, pos + len(line))
        pos += len(line) + 1
        if start < end:
            raw.append((start, end))
    out: list[_Line] = []
    for paragraph, (start, end) in enumerate(raw):
        text = body[start:end]
        date = DATE_LINE.match(text) if paragraph < 5 else None
        if date:  # a date glued to the first sentence: the chunk starts after the date
            start += date.end()
            while start < end and body[start].isspace():
                start += 1
            text = body[start:end]
        if sum(ch.isalpha() for ch in text) < 2:  # "1969", "|", a bare date
            continue
        is_last = paragraph == len(raw) - 1
        if BULLET.match(text):
            kind = "bullet"
        elif start in headings if headings is not None else _looks_like_heading(text) and not is_last:
            kind = "heading"
        else:
            kind = "text"
        out.append(_Line(start, end, kind, paragraph))
    return out


def trim(body: str, start: int, end: int) -> tuple[int, int]:
    """The span without leading and trailing whitespace."""
    while start < end and body[start].isspace():
        start += 1
    while end > start and body[end - 1].isspace():
        end -= 1
    return start, end


def _looks_like_heading(text: str) -> bool:
    """A short line without final punctuation, or a short question standing alone ("¿Personas o solo datos?")."""
    words = len(text.split())
    if text.endswith("?"):
        return words <= MAX_QUESTION_HEADING_WORDS
    return len(text) <= MAX_HEADING_CHARS and not text.endswith(TERMINAL) and words <= 15


def _lead_in(body: str, line: _Line) -> bool:
    return line.kind == "text" and body[line.end - 1] == ":"


def _fit(
    body: str, start: int, end: int, lang: str, count_tokens: CountTokens, max_tokens: int
) -> list[tuple[int, int]]:
    """Split [start, end) at sentence (then word) boundaries into spans of at most max_tokens."""
    if count_tokens(body[start:end]) <= max_tokens:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    for s, e in sentence_spans(body, start, end, lang):
        if count_tokens(body[s:e]) > max_tokens:
            pieces.extend(_split_words(body, s, e, count_tokens, max_tokens))
        else:
            pieces.append((s, e))
    spans: list[tuple[int, int]] = []
    for s, e in pieces:  # greedily pack consecutive pieces
        if spans and count_tokens(body[spans[-1][0] : e]) <= max_tokens:
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    return spans


def _split_words(body: str, start: int, end: int, count_tokens: CountTokens, max_tokens: int) -> list[tuple[int, int]]:
    """Last resort for a sentence above the limit: windows of whole words (or characters)."""
    spans: list[tuple[int, int]] = []
    words = [(m.start() + start, m.end() + start) for m in re.finditer(r"\S+", body[start:end])]
    i = 0
    while i < len(words):
        lo, hi = i + 1, len(words)  # binary search for the longest window that fits
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if count_tokens(body[words[i][0] : words[mid - 1][1]]) <= max_tokens:
                lo = mid
            else:
                hi = mid - 1
        s, e = words[i][0], words[lo - 1][1]
        if lo == i + 1 and count_tokens(body[s:e]) > max_tokens:  # one enormous "word"
            step = max(1, max_tokens)  # a token is at least one character
            spans.extend((p, min(p + step, e)) for p in range(s, e, step))
        else:
            spans.append((s, e))
        i = lo
    return spans


@lru_cache(maxsize=32)
def _segmenter(lang: str) -> Any:
    import pysbd

    return pysbd.Segmenter(language=lang if lang in PYSBD_LANGS else "en", clean=False, char_span=True)


def sentence_spans(body: str, start: int, end: int, lang: str) -> list[tuple[int, int]]:
    """Absolute, whitespace-trimmed spans of the sentences in body[start:end] (pysbd, per language)."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", body[start:end]):
        base = start + line.start()
        text = line.group()
        if not INNER_END.search(text.rstrip()[:-1]):  # no sentence end before the last character: one
            parts = [(0, len(text))]  # sentence (pysbd agreed on all 3,048 such lines of the help centre)
        elif len(text) > 20_000:  # pysbd is slow on huge unpunctuated text; fall back to a regex
            parts = [(m.start(), m.end()) for m in re.finditer(r"[^.!?]+[.!?]*", text)]
        else:
            parts = [(s.start, s.end) for s in _segmenter(lang).segment(text)]
        for s, e in parts:
            s, e = trim(body, base + s, base + e)
            marker = BULLET.match(body, s, e)
            if marker:  # a quote starts at the words, not at the bullet sign
                s = marker.end()
            if s < e:
                spans.append((s, e))
    return spans


def _make_chunk(doc: Document, n: int, paragraph: int, start: int, end: int, heading: str) -> Chunk:
    return Chunk(
        chunk_id=f"{doc.doc_id}#{n}",
        doc_id=doc.doc_id,
        lang=doc.lang,
        paragraph=paragraph,
        start=start,
        end=end,
        text=doc.body[start:end],
        heading=heading,
        sentences=tuple(sentence_spans(doc.body, start, end, doc.lang)),
    )


def embedding_text(chunk: Chunk, title: str) -> str:
    """What the model reads for a chunk: its section heading as context, then the text.

    The article title is left out on purpose: repeated on every chunk it makes all chunks of an
    article look alike, and one article then crowds out the others (measured in bench/variants).
    """
    return f"{chunk.heading}\n{chunk.text}" if chunk.heading and chunk.heading != title else chunk.text
