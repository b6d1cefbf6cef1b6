"""Intercom's Articles API on loopback, answering as its reference documents it.

`GET /articles?page=&per_page=` (15 a page by default, at most 150) gives `{"type": "list", "pages":
{"type": "pages", "page", "per_page", "total_pages"}, "total_count", "data"}`, the most recently updated
first, no `next` on the last page; an article has a string `id`, times in seconds, `state`
published or draft, `default_locale` and `translated_content` (`"type": "article_translated_content"`,
one `article_content` per locale code) in a multilingual help centre. Without `Authorization: Bearer
<token>` it answers 401 with an `error.list`; over its rate limit, 429 with `X-RateLimit-Reset` (no
Retry-After). The article bodies are the GNOME help pages of tests/data/helpsite, written in Spanish.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from bench.helpsite import DATA, LANGS, QuietHandler, loopback, reply

TOKEN = "dG9rOmFiY2RlZmdoOjE6MA=="


@dataclass
class Content:
    title: str
    body: str
    state: str = "published"
    updated: int = 1_760_000_000


@dataclass
class Workspace:
    articles: dict[str, dict[str, Content]] = field(default_factory=dict)  # id -> locale -> content
    log: list[str] = field(default_factory=list)
    limited: int = 0  # answer this many requests 429 first
    base: str = ""
    clock: int = 1_760_000_000

    @classmethod
    def from_fixture(cls) -> Workspace:
        space = cls()
        for n, page in enumerate(sorted({p.stem for p in DATA.glob("*/*.html")})):
            contents = {}
            for lang in LANGS:
                html = (DATA / lang / f"{page}.html").read_text(encoding="utf-8")
                title = re.search(r"<title>(.*?)</title>", html, re.S)
                body = re.search(r"<article>(.*?)</article>", html, re.S)
                assert title and body
                contents[lang] = Content(title.group(1).strip(), body.group(1), updated=space.clock + n)
            space.articles[str(6_871_100 + n)] = contents
        return space

    def edit(self, article_id: str, locale: str, old: str, new: str) -> None:
        content = self.articles[article_id][locale]
        assert old in content.body
        self.clock += 3600
        content.body, content.updated = content.body.replace(old, new), self.clock

    def item(self, article_id: str) -> dict[str, Any]:
        contents = self.articles[article_id]
        default = contents["es"]
        translated: dict[str, Any] = {"type": "article_translated_content"}
        for locale, c in contents.items():
            translated[locale] = {
                "type": "article_content",
                "title": c.title,
                "description": "",
                "body": c.body,
                "author_id": 5017691,
                "state": c.state,
                "created_at": 1_759_000_000,
                "updated_at": c.updated,
                "url": f"{self.base}/help/{locale}/articles/{article_id}" if c.state == "published" else None,
            }
        return {
            "id": article_id,
            "type": "article",
            "workspace_id": "hfi1bx4l",
            "parent_id": 125685,
            "parent_type": "collection",
            "parent_ids": [125685],
            "title": default.title,
            "description": "",
            "body": default.body,
            "author_id": 5017691,
            "state": default.state,
            "created_at": 1_759_000_000,
            "updated_at": max(c.updated for c in contents.values()),
            "url": f"{self.base}/help/es/articles/{article_id}",
            "default_locale": "es",
            "translated_content": translated,
        }


def _handler(space: Workspace) -> type[BaseHTTPRequestHandler]:
    class Handler(QuietHandler):
        def do_GET(self) -> None:  # noqa: N802
            space.log.append(self.path)
            reset = str(int(time.time()) + 1)
            headers = {"X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "99", "X-RateLimit-Reset": reset}
            if space.limited > 0:
                space.limited -= 1
                error = {"code": "rate_limit_exceeded", "message": "The rate limit for the App has been exceeded"}
                body = {"type": "error.list", "request_id": None, "errors": [error]}
                return self._json(429, body, {**headers, "X-RateLimit-Remaining": "0"})
            if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                error = {"code": "unauthorized", "message": "Access Token Invalid"}
                body = {"type": "error.list", "request_id": "86d69044-5966-428e-9a40-2b39fba3f823", "errors": [error]}
                return self._json(401, body, headers)
            parts = urlsplit(self.path)
            if parts.path != "/articles":
                error = {"code": "not_found", "message": "Resource Not Found"}
                return self._json(404, {"type": "error.list", "request_id": None, "errors": [error]}, headers)
            query = parse_qs(parts.query)
            page = int(query.get("page", ["1"])[0])
            per_page = min(int(query.get("per_page", ["15"])[0]), 150)
            items = sorted((space.item(i) for i in space.articles), key=lambda a: -a["updated_at"])
            total_pages = max(1, -(-len(items) // per_page))
            pages: dict[str, Any] = {"type": "pages", "page": page, "per_page": per_page, "total_pages": total_pages}
            if page < total_pages:
                pages["next"] = {"per_page": per_page, "starting_after": f"cursor-{page}"}
            body = {
                "type": "list",
                "pages": pages,
                "total_count": len(items),
                "data": items[(page - 1) * per_page : page * per_page],
            }
            return self._json(200, body, headers)

        def _json(self, status: int, data: object, headers: dict[str, str]) -> None:
            reply(self, status, json.dumps(data).encode("utf-8"), "application/json; charset=utf-8", headers)

    return Handler


@contextmanager
def serve(space: Workspace) -> Iterator[Workspace]:
    with loopback(_handler(space)) as space.base:
        yield space
