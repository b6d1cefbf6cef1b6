"""A Zendesk Help Center API on loopback, answering as the API reference documents it.

`GET /api/v2/help_center/locales` gives `{"default_locale", "locales"}` (plain lower-case strings);
`GET /api/v2/help_center/{locale}/articles` gives `{"articles": [...]}` with the article object's
documented fields (one `id` across locales, `source_locale`, `draft`, `outdated` always false
(deprecated), `outdated_locales`, ISO 8601 UTC times, `url` and `html_url` with the locale in them),
paged by cursor (`page[size]` up to 100: `meta.has_more`, `meta.after_cursor`, `links.next`, and the
`Link` header) or by offset (`page`, `per_page` (30 by default): `next_page`, `page_count`, `count`).
Anonymous callers see published articles only; a help centre restricted to signed-in users answers
them 401 `{"error":"Couldn't authenticate you"}`; an API token is Basic `email/token:TOKEN`. A 429
carries `Retry-After` and a plain-text body. The article bodies are the GNOME help pages of
tests/data/helpsite (their main content), written in Spanish and translated.
"""

from __future__ import annotations

import base64
import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from bench.helpsite import DATA, LANGS, QuietHandler, loopback, reply

TOKEN = "agent@example.com/token:s3cret"


@dataclass
class Translation:
    title: str
    body: str
    draft: bool = False
    edited: float = 1_760_000_000.0


@dataclass
class Article:
    id: int
    source_locale: str
    translations: dict[str, Translation]
    outdated_locales: list[str] = field(default_factory=list)
    position: int = 0


@dataclass
class HelpCenter:
    articles: dict[int, Article] = field(default_factory=dict)
    log: list[str] = field(default_factory=list)
    restricted: bool = False  # a help centre for signed-in users only
    throttle: int = 0  # answer this many requests 429 first
    next_links: bool = True  # cursor pages carry links.next (else only meta.after_cursor says where to go)
    cursor: bool = True  # honour page[size] (else offset pages whatever is asked)
    per_page: int = 30  # offset pagination's default page size (the reference's, for articles)
    json_only: bool = False  # route only the paths ending in .json (the reference calls the ending optional)
    relative: bool = False  # next_page as a path rather than an absolute URL
    base: str = ""
    clock: float = 1_760_000_000.0

    @classmethod
    def from_fixture(cls) -> HelpCenter:
        center = cls()
        pages = sorted({p.stem for p in DATA.glob("*/*.html")})
        for n, page in enumerate(pages):
            translations = {}
            for lang in LANGS:
                html = (DATA / lang / f"{page}.html").read_text(encoding="utf-8")
                title = re.search(r"<title>(.*?)</title>", html, re.S)
                body = re.search(r"<article>(.*?)</article>", html, re.S)
                assert title and body
                translations[lang] = Translation(title.group(1).strip(), body.group(1))
            center.articles[360_000_100 + n] = Article(360_000_100 + n, "es", translations, position=n)
        return center

    def tick(self) -> float:
        self.clock += 3600
        return self.clock

    def edit(self, article_id: int, locale: str, old: str, new: str) -> None:
        t = self.articles[article_id].translations[locale]
        assert old in t.body
        t.body, t.edited = t.body.replace(old, new), self.tick()

    def article_json(self, article: Article, locale: str) -> dict[str, Any]:
        t = article.translations[locale]
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t.edited))
        return {
            "id": article.id,
            "url": f"{self.base}/api/v2/help_center/{locale}/articles/{article.id}.json",
            "html_url": f"{self.base}/hc/{locale}/articles/{article.id}",
            "author_id": 888887,
            "comments_disabled": False,
            "draft": t.draft,
            "promoted": False,
            "position": article.position,
            "vote_sum": 0,
            "vote_count": 0,
            "section_id": 28523491991699,
            "created_at": "2025-10-09T08:00:00Z",
            "updated_at": stamp,
            "name": t.title,
            "title": t.title,
            "source_locale": article.source_locale,
            "locale": locale,
            "outdated": False,  # deprecated: always false
            "outdated_locales": article.outdated_locales,
            "edited_at": stamp,
            "user_segment_id": None,
            "permission_group_id": 123,
            "content_tag_ids": [],
            "label_names": [],
            "body": t.body,
        }


def _handler(center: HelpCenter) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            center.log.append(self.path)
            headers = {"X-Rate-Limit": "700", "X-Rate-Limit-Remaining": "699"}
            if center.throttle > 0:
                center.throttle -= 1
                return self._send(429, b"Too Many Requests", "text/plain", {**headers, "Retry-After": "0"})
            signed_in = self._signed_in()
            if center.restricted and not signed_in:
                return self._json(401, {"error": "Couldn't authenticate you"}, headers)
            parts = urlsplit(self.path)
            if center.json_only and not parts.path.endswith(".json"):
                return self._json(404, {"error": "RecordNotFound", "description": "Not found"}, headers)
            path, query = re.sub(r"\.json$", "", parts.path), parse_qs(parts.query)
            if path == "/api/v2/help_center/locales":
                return self._json(200, {"default_locale": "es", "locales": list(LANGS)}, headers)
            match = re.fullmatch(r"/api/v2/help_center/([a-z-]+)/articles", path)
            if match and match.group(1) in LANGS:
                locale = match.group(1)
                rows = [
                    center.article_json(a, locale)
                    for a in sorted(center.articles.values(), key=lambda a: (a.position, a.id))
                    if locale in a.translations and (signed_in or not a.translations[locale].draft)
                ]
                return self._page(rows, locale, query, headers)
            return self._json(404, {"error": "RecordNotFound", "description": "Not found"}, headers)

        def _page(
            self, rows: list[dict[str, Any]], locale: str, query: dict[str, list[str]], headers: dict[str, str]
        ) -> None:
            url = f"{center.base}/api/v2/help_center/{locale}/articles.json"
            if "page[size]" in query and center.cursor:  # cursor pagination
                size = min(int(query["page[size]"][0]), 100)
                start = int(base64.b64decode(query["page[after]"][0]).decode()) if "page[after]" in query else 0
                chunk, more = rows[start : start + size], start + size < len(rows)
                after = base64.b64encode(str(start + size).encode()).decode()
                before = base64.b64encode(str(start).encode()).decode()
                following = f"{url}?{urlencode({'page[size]': size, 'page[after]': after})}" if more else None
                body = {
                    "articles": chunk,
                    "meta": {"has_more": more, "after_cursor": after if more else None, "before_cursor": before},
                    "links": {"first": f"{url}?page[size]={size}", "next": following if center.next_links else None},
                }
                extra = {"Link": f'<{following}>; rel="next"'} if following else {}
                return self._json(200, body, {**headers, **extra})
            per_page = min(int(query.get("per_page", [str(center.per_page)])[0]), 100)
            if center.relative:
                url = urlsplit(url).path
            page = int(query.get("page", ["1"])[0])
            count = len(rows)
            pages = max(1, -(-count // per_page))
            body = {
                "articles": rows[(page - 1) * per_page : page * per_page],
                "page": page,
                "previous_page": f"{url}?page={page - 1}&per_page={per_page}" if page > 1 else None,
                "next_page": f"{url}?page={page + 1}&per_page={per_page}" if page < pages else None,
                "per_page": per_page,
                "page_count": pages,
                "count": count,
                "sort_by": "position",
                "sort_order": "asc",
            }
            return self._json(200, body, headers)

        def _signed_in(self) -> bool:
            auth = self.headers.get("Authorization", "")
            return auth == "Basic " + base64.b64encode(TOKEN.encode()).decode()

        def _json(self, status: int, data: object, headers: dict[str, str]) -> None:
            reply(self, status, json.dumps(data).encode("utf-8"), "application/json; charset=utf-8", headers)

        def _send(self, status: int, body: bytes, kind: str, headers: dict[str, str]) -> None:
            reply(self, status, body, kind, headers)

    return Handler


@contextmanager
def serve(center: HelpCenter) -> Iterator[HelpCenter]:
    with loopback(_handler(center)) as center.base:
        yield center
