"""HTML: the main content only, found by trafilatura (navigation, header, footer, cookie notices and
related-article lists dropped), with headings, lists and tables as readable lines."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

from .structure import Extracted, Limits, TextBuilder, clean
from .text import decode_text

_LANG = re.compile(rb"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3})", re.IGNORECASE)
_TAG = r"<{tag}\b[^>]*\b{attr}\s*=\s*[\"']{value}[\"'][^>]*>"
_CANONICAL = re.compile(_TAG.format(tag="link", attr="rel", value="canonical"), re.IGNORECASE)
_OG_URL = re.compile(_TAG.format(tag="meta", attr="property", value="og:url"), re.IGNORECASE)
_OG_TITLE = re.compile(_TAG.format(tag="meta", attr="property", value="og:title"), re.IGNORECASE)
_ATTR = {name: re.compile(rf"\b{name}\s*=\s*[\"']([^\"']*)[\"']", re.IGNORECASE) for name in ("href", "content")}
_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.IGNORECASE | re.DOTALL)
# What a sync (kb/sources/sync.py) states about the article: its id, language, translation group, the
# original it translates, its source address. These override what the page itself suggests.
_KB_META = re.compile(r"<meta\s+name=[\"']kb:([a-z_]+)[\"']\s+content=[\"']([^\"']*)[\"']", re.IGNORECASE)
_SITE_SUFFIX = re.compile(r"\s+[-|–—·]\s+[^-|–—·]+$")  # "Page title - Site name"
# Never the main content: the page's footer (one inside an <article> belongs to it) and the
# "contentinfo" landmark (credits, licence). On a short article trafilatura could take a long
# licence there for it: 18 of the 1,340 pages of the public help-centre set (17 GNOME Terminal help
# pages read as their GPL notice); removing these changed no other page.
_NOT_MAIN = ["//footer[not(ancestor::article)]", "//*[@role='contentinfo']"]


def read(raw: bytes, limits: Limits) -> Extracted:
    try:
        html = decode_text(raw)
    except ValueError:  # an older page in another encoding: the one its <meta charset> names
        try:
            html = raw.decode(_charset(raw) or "utf-8", errors="replace")
        except LookupError:
            raise ValueError("HTML in an unknown character encoding; re-save it as UTF-8") from None
    import trafilatura
    from lxml import etree

    try:
        xml = trafilatura.extract(
            html,
            output_format="xml",
            include_tables=True,
            include_comments=False,
            favor_recall=True,
            # Its metadata search (dates, authors, site names) took 3/4 of the time (19 ms of 25 per
            # GNOME help page) and changed no body: the title and canonical address come from the head.
            with_metadata=False,
            prune_xpath=_NOT_MAIN,
        )
    except RecursionError:
        raise ValueError("HTML is nested too deeply to read; simplify the page or export it as PDF") from None
    if not xml:
        raise ValueError("no readable main content in this HTML page (only navigation or scripts?)")
    root = etree.fromstring(xml.encode("utf-8"))
    out = TextBuilder()
    main = root.find("main")
    _render(main if main is not None else root, out)
    meta = {}
    first = out.sections[0][2] if out.sections and out.sections[0][1] == 1 else ""
    end = html.lower().find("</head>")
    head = html if end < 0 else html[:end]
    meta["title"] = first or _head_title(head)
    meta["source"] = _head_value(head, (_CANONICAL, "href"), (_OG_URL, "content"))
    lang = _LANG.search(raw[:20000])
    if lang:
        meta["lang"] = lang.group(1).decode().lower()[:2]
    for key, value in _KB_META.findall(head):
        meta["source" if key.lower() == "source_url" else key.lower()] = unescape(value).strip()
    return out.build("html", {k: v for k, v in meta.items() if v})


def _head_value(head: str, *where: tuple[re.Pattern[str], str]) -> str:
    """The first attribute value found: (tag pattern, attribute name) in order of preference."""
    for pattern, attr in where:
        tag = pattern.search(head)
        value = _ATTR[attr].search(tag.group(0)) if tag else None
        if value and value.group(1).strip():
            return unescape(value.group(1).strip())
    return ""


def _head_title(head: str) -> str:
    """og:title, else <title> without a trailing " - Site name"."""
    title = _head_value(head, (_OG_TITLE, "content"))
    if not title:
        match = _TITLE.search(head)
        title = _SITE_SUFFIX.sub("", unescape(match.group(1))) if match else ""
    return clean(title)


def _charset(raw: bytes) -> str:
    match = re.search(rb"charset\s*=\s*[\"']?([\w-]+)", raw[:4000], re.IGNORECASE)
    return match.group(1).decode() if match else ""


def _text(el: Any) -> str:
    return "".join(el.itertext())


def _render(el: Any, out: TextBuilder, marker: str = "-") -> None:
    for child in el:
        tag = child.tag
        if tag == "head":
            rend = child.get("rend") or "h2"
            level = int(rend[1]) if len(rend) == 2 and rend[1].isdigit() else 2
            out.heading(_text(child), level)
        elif tag == "list":
            numbered = child.get("rend") == "ol"
            for n, item in enumerate(child.findall("item"), start=1):
                nested = item.findall("list")
                for sub in nested:  # the nested list is read after the item; its tail text stays with the item
                    if sub.tail:
                        before = sub.getprevious()
                        if before is not None:
                            before.tail = (before.tail or "") + sub.tail
                        else:
                            item.text = (item.text or "") + sub.tail
                    item.remove(sub)
                out.item(_text(item), f"{n}." if numbered else "-")
                for sub in nested:
                    _render(etree_wrap(sub), out)
        elif tag == "table":
            for row in child.iter("row"):
                out.row([_text(cell) for cell in row.findall("cell")])
        elif tag in ("p", "quote", "code"):
            out.paragraph(_text(child))
        elif tag in ("div", "main", "section"):
            _render(child, out)
        else:
            out.paragraph(_text(child))


def etree_wrap(list_el: Any) -> Any:
    """A container holding one list element, so that `_render` reads it as a list."""
    from lxml import etree

    box = etree.Element("div")
    box.append(list_el)
    return box
