"""Plain text: UTF-8 (or UTF-16 with a BOM), an optional `---` fenced `key: value` header, the body as is."""

from __future__ import annotations

from .structure import Extracted, Limits

HEADER_FENCE = "---"
HEADER_KEYS = ("id", "title", "lang", "source", "published", "translation_of")


def read(raw: bytes, limits: Limits) -> Extracted:
    meta, body = split_header(decode_text(raw))
    return Extracted(body, "text", meta)


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
