"""A multilingual help-centre website on loopback, for the site sync tests and bench/sync.py.

It publishes a folder of `<lang>/<page>.html` files (tests/data/helpsite by default) the way
help-centre generators do: one URL per page and language (`/hc/<lang>/articles/<page>`), robots.txt
naming a sitemap index, child sitemaps (one of them gzipped) whose `<url>` entries carry `lastmod`
and `xhtml:link rel="alternate" hreflang` alternates with an `x-default`, the same alternates in each
page's head, and ETag / Last-Modified answered with 304 to a conditional request. A test edits, adds
and deletes pages, breaks the site, and reads the log of requests it received.
"""

from __future__ import annotations

import gzip
import hashlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "helpsite"
LANGS = ("es", "fr", "it", "pl")
ORIGINAL = "es"  # x-default: the language each page was written in, for the test


@dataclass
class Page:
    html: str
    modified: float  # seconds since the epoch


@dataclass
class HelpSite:
    """The site's content and behaviour, changed by the tests while it serves."""

    pages: dict[tuple[str, str], Page] = field(default_factory=dict)  # (lang, page) -> Page
    log: list[str] = field(default_factory=list)  # the paths requested, in order
    outage: bool = False  # every request answers 503
    broken: set[str] = field(default_factory=set)  # paths answering 500
    lastmod: bool = True  # whether the sitemap gives lastmod
    extra_urls: list[str] = field(default_factory=list)  # more <loc>s for the first sitemap (hostile ones)
    special: dict[str, Callable[[BaseHTTPRequestHandler], None]] = field(default_factory=dict)  # path -> handler
    clock: float = 1_760_000_000.0
    base: str = ""
    index_path: str = "/hc/sitemap.xml"  # where the sitemap index is served
    aliases: dict[tuple[str, str], str] = field(default_factory=dict)  # (lang, page) -> a suffix for its <loc>
    robots_names_sitemap: bool = True  # whether robots.txt has a Sitemap: line

    @classmethod
    def from_fixture(cls, folder: Path = DATA) -> HelpSite:
        """The pages of `folder`/<lang>/[<document>/]<page>.html (of the languages in LANGS); a page in a
        document's folder is named "<document>-<page>"."""
        site = cls()
        for path in sorted(folder.rglob("*.html")):
            lang, *rest = path.relative_to(folder).with_suffix("").parts
            if lang in LANGS and rest:
                site.pages[(lang, "-".join(rest))] = Page(path.read_text(encoding="utf-8"), site.clock)
        return site

    def tick(self) -> float:
        self.clock += 3600
        return self.clock

    def edit(self, lang: str, page: str, old: str, new: str) -> None:
        current = self.pages[(lang, page)]
        assert old in current.html, f"{old!r} is not in {lang}/{page}"
        self.pages[(lang, page)] = Page(current.html.replace(old, new), self.tick())

    def add(self, lang: str, page: str, html: str) -> None:
        self.pages[(lang, page)] = Page(html, self.tick())

    def delete(self, lang: str, page: str) -> None:
        del self.pages[(lang, page)]

    def url(self, lang: str, page: str) -> str:
        return f"{self.base}/hc/{lang}/articles/{page}"

    def page_requests(self) -> list[str]:
        return [p for p in self.log if "/articles/" in p]

    # -- what the server sends ---------------------------------------------------------------------

    def alternates(self, page: str) -> list[tuple[str, str]]:
        langs = [lang for lang in LANGS if (lang, page) in self.pages]
        found = [(lang, self.url(lang, page)) for lang in langs]
        if ORIGINAL in langs:
            found.append(("x-default", self.url(ORIGINAL, page)))
        return found

    def sitemap(self, part: int) -> bytes:
        names = sorted({page for _, page in self.pages})
        half = names[: len(names) // 2] if part == 1 else names[len(names) // 2 :]
        rows = []
        for page in half:
            for lang in LANGS:
                if (lang, page) not in self.pages:
                    continue
                links = "".join(
                    f'<xhtml:link rel="alternate" hreflang="{code}" href="{href}"/>'
                    for code, href in self.alternates(page)
                )
                modified = self.pages[(lang, page)].modified
                stamp = f"<lastmod>{_iso(modified)}</lastmod>" if self.lastmod else ""
                loc = self.url(lang, page) + self.aliases.get((lang, page), "")
                rows.append(f"<url><loc>{loc}</loc>{stamp}{links}</url>")
        if part == 1:
            rows += [f"<url><loc>{loc}</loc></url>" for loc in self.extra_urls]
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
            'xmlns:xhtml="http://www.w3.org/1999/xhtml">\n' + "\n".join(rows) + "\n</urlset>\n"
        ).encode("utf-8")

    def page_html(self, lang: str, page: str) -> str:
        html = self.pages[(lang, page)].html
        links = "".join(
            f'<link rel="alternate" hreflang="{code}" href="{href}">\n' for code, href in self.alternates(page)
        )
        canonical = f'<link rel="canonical" href="{self.url(lang, page)}">\n'
        return html.replace("</head>", canonical + links + "</head>", 1)


def _iso(seconds: float) -> str:
    import time

    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive, answering at once, logging nothing (each server below logs what it needs)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: Nagle held each body 40 ms

    def log_message(self, *args: object) -> None:
        pass


def _handler(site: HelpSite) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802 (the standard library's name)
            site.log.append(self.path)
            if site.outage:
                return self._send(503, b"down for maintenance", "text/plain", {"Retry-After": "0"})
            if self.path in site.broken:
                return self._send(500, b"internal error", "text/plain")
            if self.path in site.special:
                return site.special[self.path](self)
            if self.path == "/robots.txt":
                body = "User-agent: *\nDisallow: /hc/private/\n"
                if site.robots_names_sitemap:
                    body += f"\nSitemap: {site.base}{site.index_path}\n"
                return self._send(200, body.encode(), "text/plain")
            if self.path == site.index_path:
                index = (
                    '<?xml version="1.0" encoding="UTF-8"?>\n'
                    '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
                    f"<sitemap><loc>{site.base}/hc/sitemap-1.xml</loc></sitemap>"
                    f"<sitemap><loc>{site.base}/hc/sitemap-2.xml.gz</loc></sitemap>"
                    "</sitemapindex>\n"
                )
                return self._send(200, index.encode(), "application/xml")
            if self.path == "/hc/sitemap-1.xml":
                return self._send(200, site.sitemap(1), "application/xml")
            if self.path == "/hc/sitemap-2.xml.gz":
                return self._send(200, gzip.compress(site.sitemap(2), mtime=0), "application/x-gzip")
            parts = urlsplit(self.path).path.strip("/").split("/")
            if len(parts) == 4 and parts[0] == "hc" and parts[2] == "articles" and (parts[1], parts[3]) in site.pages:
                page = site.pages[(parts[1], parts[3])]
                body = site.page_html(parts[1], parts[3]).encode("utf-8")
                etag = '"' + hashlib.sha1(body).hexdigest() + '"'
                modified = formatdate(page.modified, usegmt=True)
                headers = {"ETag": etag, "Last-Modified": modified}
                if self.headers.get("If-None-Match") == etag:
                    return self._send(304, b"", "text/html; charset=utf-8", headers)
                return self._send(200, body, "text/html; charset=utf-8", headers)
            return self._send(404, b"not found", "text/plain")

        def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str] | None = None) -> None:
            reply(self, status, body, kind, headers or {})

    return Handler


@contextmanager
def loopback(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """Serve `handler` on a free loopback port while the block runs; yields the server's address."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def reply(handler: BaseHTTPRequestHandler, status: int, body: bytes, kind: str, headers: dict[str, str]) -> None:
    """Send one whole response (no body for a 304)."""
    handler.send_response(status)
    handler.send_header("Content-Type", kind)
    handler.send_header("Content-Length", str(len(body)))
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    if status != 304:
        handler.wfile.write(body)


@contextmanager
def serve(site: HelpSite) -> Iterator[HelpSite]:
    """Serve `site` on a free loopback port while the block runs (its `base` is set to the address)."""
    with loopback(_handler(site)) as site.base:
        yield site


@contextmanager
def trap() -> Iterator[list[str]]:
    """Another host (another loopback port): records every request it gets, so a test can say it got none."""
    hits: list[str] = []

    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    with loopback(Handler) as address:
        hits.append(address)  # hits[0] is the address
        yield hits
