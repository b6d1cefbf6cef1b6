"""Markdown: YAML front matter (known keys used, others kept) and the body as plain text (markdown-it-py)."""

from __future__ import annotations

from typing import Any

from .structure import Extracted, Limits, TextBuilder
from .text import decode_text, split_header

KNOWN = {
    "id": "id",
    "title": "title",
    "lang": "lang",
    "language": "lang",
    "source": "source",
    "url": "source",
    "published": "published",
    "date": "published",
    "translation_of": "translation_of",
}


def read(raw: bytes, limits: Limits) -> Extracted:
    meta, markdown = front_matter(decode_text(raw))
    from markdown_it import MarkdownIt

    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    out = TextBuilder()
    _render(tokens, out)
    if not meta.get("title") and out.sections and out.sections[0][1] == 1:
        meta["title"] = out.sections[0][2]
    return out.build("markdown", meta)


def front_matter(text: str) -> tuple[dict[str, str], str]:
    """YAML front matter between `---` lines, as strings: known keys under their names, others kept too."""
    lines = text.split("\n")
    if not lines or lines[0].rstrip("\r") != "---":
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip("\r") in ("---", "...")), None)
    if end is None:
        raise ValueError("front matter is not closed by a '---' line")
    import yaml

    try:
        data = yaml.safe_load("\n".join(lines[1:end])) or {}
    except yaml.YAMLError:
        try:  # our own simple `key: value` header is not always valid YAML ("title: a: b")
            return split_header(text)
        except ValueError:
            raise ValueError("front matter is not valid YAML; fix it or remove it") from None
    if not isinstance(data, dict):
        raise ValueError("front matter is not a set of `key: value` lines; fix it or remove it")
    meta: dict[str, str] = {}
    for key, value in data.items():
        name = KNOWN.get(str(key).lower(), str(key))
        meta[name] = ", ".join(map(str, value)) if isinstance(value, list) else ("" if value is None else str(value))
    return meta, "\n".join(lines[end + 1 :])


def _inline(token: Any) -> str:
    """The visible text of an inline token: emphasis, link and HTML syntax dropped, code kept."""
    parts: list[str] = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "image":
            parts.append(child.content)  # its alt text
    return "".join(parts)


def _render(tokens: list[Any], out: TextBuilder) -> None:
    lists: list[list[int]] = []  # per open list: [is ordered, next number]
    row: list[str] | None = None
    i = 0
    while i < len(tokens):
        t = tokens[i]
        if t.type == "heading_open":
            out.heading(_inline(tokens[i + 1]), int(t.tag[1]))
            i += 2
        elif t.type in ("bullet_list_open", "ordered_list_open"):
            lists.append([t.type == "ordered_list_open", int(t.attrs.get("start", 1) or 1)])
        elif t.type in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif t.type == "tr_open":
            row = []
        elif t.type == "tr_close" and row is not None:
            out.row(row)
            row = None
        elif t.type == "inline" and row is not None:
            row.append(_inline(t))
        elif t.type == "inline" and lists:
            ordered, number = lists[-1]
            marker = f"{number}." if ordered else "-"
            lists[-1][1] += 1
            out.item(_inline(t), marker)
        elif t.type == "inline":
            out.paragraph(_inline(t))
        elif t.type in ("fence", "code_block"):
            for line in t.content.splitlines():
                out.paragraph(line)
        i += 1
