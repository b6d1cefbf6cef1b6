"""A help-centre website: its sitemaps say which pages exist and, with hreflang, which translate each other.

robots.txt is read first (protego, the parser Scrapy uses) for its rules and its sitemaps, else
/sitemap.xml; sitemap indexes and gzipped sitemaps are followed. A page's translation group and
language come from the sitemap's `xhtml:link rel="alternate" hreflang` entries or, failing those,
the page's own `<link rel="alternate" hreflang>`. Only pages under the source's address (same scheme
and host, same path prefix) are ever requested; the others are listed as skipped. A page whose
sitemap `lastmod` is the one already held costs nothing; the others are asked for conditionally
(ETag, Last-Modified), so an unchanged page costs a 304.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from html import unescape
from typing import Any
from urllib.parse import urldefrag, urljoin, urlsplit

from .base import Failure, Item, Known, Listing, SourceConfig, locale_language, wanted
from .http import USER_AGENT, Client, FetchError, gunzip, origin

SITEMAP_BYTES = 50 * 2**20  # the sitemap protocol's limit for one (uncompressed) sitemap
SITEMAP_URLS = 50_000  # the protocol's limit for the URLs of one sitemap
MAX_SITEMAPS = 500  # sitemaps followed from indexes, at most
ROBOTS_BYTES = 512 * 2**10
DEFAULT_SITEMAPS = ("/sitemap.xml", "/sitemap_index.xml")  # tried in turn when robots.txt names none
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
_ALTERNATE = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
# A page's hreflang links change when a translation is added or removed, without the page changing:
# they are taken out of what is stored (the group says the same), so a file changes only with its page.
_ALTERNATE_TAG = re.compile(r"<link\b[^>]*\bhreflang\s*=[^>]*>\n?", re.IGNORECASE)
_ATTR = re.compile(r"""\b([a-z:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.IGNORECASE)


@dataclass(frozen=True)
class Entry:
    """A sitemap's `<url>`: the page, its lastmod and its hreflang alternates (hreflang -> URL)."""

    url: str
    lastmod: str
    alternates: tuple[tuple[str, str], ...]


class SiteSource:
    """A `Source` over a website's sitemaps."""

    def __init__(self, config: SourceConfig, client: Client, max_page_bytes: int) -> None:
        self.config, self.client, self.max_page_bytes = config, client, max_page_bytes
        self.scope = config.url if config.url.endswith("/") else config.url.rsplit("/", 1)[0] + "/"
        if urlsplit(config.url).path in ("", "/"):
            self.scope = origin(config.url) + "/"

    def close(self) -> None:
        self.client.close()

    def items(self, known: Mapping[str, Known]) -> Listing:
        listing = Listing()
        robots = self._robots()
        entries = self._entries(robots, listing)
        canonical: dict[str, str] = {}  # the canonical address of each page taken -> its sitemap address
        for entry in entries:
            if not self._in_scope(entry.url):
                listing.skipped.append((entry.url, "outside the source's address; not requested"))
                continue
            if robots is not None and not robots.can_fetch(entry.url, USER_AGENT):
                listing.skipped.append((entry.url, "robots.txt disallows it"))
                continue
            group, locale, original = _group_of(entry)
            if locale and not wanted(self.config, locale):
                continue
            try:
                item = self._page(entry, known.get(entry.url), group, locale, original)
            except FetchError as exc:
                listing.failures.append(Failure(entry.url, str(exc)))
                continue
            if item is None or (item.locale and not wanted(self.config, item.locale)):
                continue
            if item.url in canonical:  # two addresses of one page: the canonical address is the article
                listing.skipped.append((entry.url, f"the same page as {canonical[item.url]} (its canonical address)"))
                continue
            canonical[item.url] = entry.url
            listing.items.append(item)
        return listing

    def _robots(self) -> Any:
        """The parsed robots.txt (None when the site has none); FetchError when it cannot be read."""
        from protego import Protego

        response = self.client.get(origin(self.config.url) + "/robots.txt", max_bytes=ROBOTS_BYTES, ok=(200, 404, 410))
        if response.status != 200:
            return None
        return Protego.parse(response.text())

    def _entries(self, robots: Any, listing: Listing) -> list[Entry]:
        """Every `<url>` of the site's sitemaps (indexes followed), in order, each once."""
        found = [u for u in (getattr(robots, "sitemaps", None) or []) if _same_origin(u, self.config.url)]
        defaults = [origin(self.config.url) + name for name in DEFAULT_SITEMAPS]
        queue = found or defaults[:1]
        for url in getattr(robots, "sitemaps", None) or []:
            if url not in found:
                listing.skipped.append((url, "a sitemap on another host; not requested"))
        seen: set[str] = set()
        entries: dict[str, Entry] = {}
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            if len(seen) > MAX_SITEMAPS:
                raise FetchError(f"{self.config.url} has more than {MAX_SITEMAPS} sitemaps; refused")
            if not _same_origin(url, self.config.url):
                listing.skipped.append((url, "a sitemap on another host; not requested"))
                continue
            fallback = url in defaults[:-1] and not found  # a guessed place: missing there, try the next
            response = self.client.get(
                url,
                max_bytes=SITEMAP_BYTES,
                accept="application/xml, text/xml",
                ok=(200, 404, 410) if fallback else (200,),
            )
            if response.status != 200:
                queue.append(defaults[defaults.index(url) + 1])
                continue
            body = response.body
            if body[:2] == b"\x1f\x8b":  # a .xml.gz sitemap
                body = gunzip(body, SITEMAP_BYTES, url)
            children, urls = parse_sitemap(body, url)
            queue.extend(children)
            for entry in urls:
                entries.setdefault(entry.url, entry)
        return list(entries.values())

    def _in_scope(self, url: str) -> bool:
        return _same_origin(url, self.config.url) and url.startswith(self.scope)

    def _page(self, entry: Entry, held: Known | None, group: str, locale: str, original: bool) -> Item | None:
        if held is not None:  # the page as held: unchanged, its file kept
            kept = Item(
                entry.url,
                locale or held.locale,
                held.url or entry.url,
                updated=held.updated,
                group=group or held.group,
                original=original,
                etag=held.etag,
                last_modified=held.last_modified,
            )
            if entry.lastmod and held.updated == entry.lastmod:  # the sitemap says so: nothing asked
                return kept
        response = self.client.get(
            entry.url,
            max_bytes=self.max_page_bytes,
            etag=held.etag if held else "",
            last_modified=held.last_modified if held else "",
            accept="text/html",
        )
        etag, modified = response.headers.get("etag", ""), response.headers.get("last-modified", "")
        if response.not_modified and held is not None:  # the server says so
            return replace(
                kept,
                updated=entry.lastmod or held.updated,
                etag=etag or held.etag,
                last_modified=modified or held.last_modified,
            )
        kind = response.headers.get("content-type", "text/html").split(";")[0].strip().lower()
        if kind not in ("text/html", "application/xhtml+xml"):
            raise FetchError(f"{entry.url} is {kind or 'of no declared type'}, not an HTML page")
        html = response.text()
        if not group:  # the page's own hreflang links
            alternates = page_alternates(html, entry.url)
            if alternates:
                group, locale, original = _group_of(Entry(entry.url, entry.lastmod, alternates))
        if not locale:
            lang = re.search(r"<html\b[^>]*?\blang\s*=\s*[\"']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)", html[:20000])
            locale = lang.group(1).lower() if lang else ""
        canonical = page_canonical(html, entry.url)
        return Item(
            entry.url,
            locale,
            canonical if canonical and self._in_scope(canonical) else entry.url,
            html=_ALTERNATE_TAG.sub("", html),  # the group is the item's; the page keeps its own words only
            updated=entry.lastmod,
            group=group,
            original=original,
            etag=etag,
            last_modified=modified,
        )


def parse_sitemap(data: bytes, where: str) -> tuple[list[str], list[Entry]]:
    """(child sitemaps, url entries) of a sitemap or sitemap index. FetchError when it is not one, or
    lists more than SITEMAP_URLS entries. Entities are never resolved and nothing is fetched by the parser."""
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise FetchError(f"{where} is not a readable sitemap ({str(exc)[:200]})") from None
    tag = etree.QName(root).localname
    if tag == "sitemapindex":
        children = [_text(s, "loc") for s in root.iter(f"{SM}sitemap", "sitemap")]
        return [urljoin(where, c) for c in children if c], []
    if tag != "urlset":
        raise FetchError(f"{where} is not a sitemap (its root is <{tag}>)")
    entries: list[Entry] = []
    for node in root.iter(f"{SM}url", "url"):
        if len(entries) >= SITEMAP_URLS:
            raise FetchError(f"{where} lists more than {SITEMAP_URLS:,} URLs (the sitemap protocol's limit); refused")
        loc = _text(node, "loc")
        if not loc:
            continue
        alternates = tuple(
            (link.get("hreflang", "").strip().lower(), urldefrag(urljoin(where, link.get("href", "").strip()))[0])
            for link in node.iter(f"{XHTML}link")
            if link.get("rel") == "alternate" and link.get("hreflang") and link.get("href")
        )
        entries.append(Entry(urldefrag(urljoin(where, loc))[0], _text(node, "lastmod"), alternates))
    return [], entries


def page_alternates(html: str, url: str) -> tuple[tuple[str, str], ...]:
    """The `<link rel="alternate" hreflang="…" href="…">` of a page's head, as (hreflang, absolute URL)."""
    end = html.lower().find("</head>")
    found = []
    for tag in _ALTERNATE.findall(html if end < 0 else html[:end]):
        attrs = {
            m.group(1).lower(): unescape(m.group(2) or m.group(3) or m.group(4) or "") for m in _ATTR.finditer(tag)
        }
        if attrs.get("rel", "").lower() == "alternate" and attrs.get("hreflang") and attrs.get("href"):
            found.append((attrs["hreflang"].strip().lower(), urldefrag(urljoin(url, attrs["href"].strip()))[0]))
    return tuple(found)


def page_canonical(html: str, url: str) -> str:
    """The page's `<link rel="canonical" href>`, absolute ("" when it has none)."""
    end = html.lower().find("</head>")
    for tag in _ALTERNATE.findall(html if end < 0 else html[:end]):
        attrs = {
            m.group(1).lower(): unescape(m.group(2) or m.group(3) or m.group(4) or "") for m in _ATTR.finditer(tag)
        }
        if attrs.get("rel", "").lower() == "canonical" and attrs.get("href"):
            return urldefrag(urljoin(url, attrs["href"].strip()))[0]
    return ""


def _group_of(entry: Entry) -> tuple[str, str, bool]:
    """(group, locale, original) from a page's hreflang alternates: the group is named by the smallest
    URL among them; the page's locale is the hreflang that names it; the original is x-default's page."""
    if not entry.alternates:
        return "", "", False
    members = sorted({href for lang, href in entry.alternates} | {entry.url})
    own = [lang for lang, href in entry.alternates if href == entry.url and lang != "x-default"]
    default = [href for lang, href in entry.alternates if lang == "x-default"]
    locale = own[0] if own else ""
    return members[0], locale if locale_language(locale) else "", bool(default) and default[0] == entry.url


def _text(node: object, name: str) -> str:
    from lxml import etree

    for child in node.iterchildren():  # type: ignore[attr-defined]
        if isinstance(child.tag, str) and etree.QName(child).localname == name:
            return (child.text or "").strip()
    return ""


def _same_origin(url: str, base: str) -> bool:
    try:
        return origin(url) == origin(base)
    except ValueError:
        return False
