"""Intercom's Articles API: each locale of an article's `translated_content` is one article of its work.

What it asks, as the API reference documents it: `GET /articles?page=N&per_page=M` with a bearer token
and an `Intercom-Version` header, answered `{"type": "list", "pages": {"page", "per_page",
"total_pages"}, "total_count", "data": [...]}`, most recently updated first; pages are followed by
number until `total_pages` (every documented shape of `pages.next` agrees with that). An article of a
multilingual help centre carries `default_locale` (its original) and `translated_content`, one
`article_content` (title, body, state, updated_at, url) per locale code (`fr`, `pt-BR`, ...); one of a
single-language help centre is its own content. Drafts are left out. `updated_at` (seconds) says
whether a locale's content changed. A 429 names when to try again in `X-RateLimit-Reset`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

from .base import Failure, Item, Known, Listing, SourceConfig, wanted
from .http import Client, FetchError

PER_PAGE = 50
API_VERSION = "2.11"
API_BYTES = 50 * 2**20
MAX_PAGES = 10_000


class IntercomSource:
    """A `Source` over an Intercom workspace's help centre articles."""

    def __init__(self, config: SourceConfig, client: Client, max_article_bytes: int) -> None:
        self.config, self.client, self.max_article_bytes = config, client, max_article_bytes
        self.base = config.url.rstrip("/")

    def close(self) -> None:
        self.client.close()

    def items(self, known: Mapping[str, Known]) -> Listing:
        listing = Listing()
        for article in self._articles():
            for item in self._items(article, known, listing):
                listing.items.append(item)
        return listing

    def _articles(self) -> Iterator[dict[str, Any]]:
        for page in range(1, MAX_PAGES + 1):
            data = self._json(f"{self.base}/articles?page={page}&per_page={PER_PAGE}")
            articles = data.get("data")
            if not isinstance(articles, list):
                raise FetchError(f"{self.base}/articles gave no list of articles (page {page})")
            yield from (a for a in articles if isinstance(a, dict))
            pages = data.get("pages") if isinstance(data.get("pages"), dict) else {}
            total = pages.get("total_pages") if isinstance(pages, dict) else None
            if not articles or not isinstance(total, int) or page >= total:
                return
        raise FetchError(f"{self.base} gave more than {MAX_PAGES} pages of articles")

    def _items(self, article: dict[str, Any], known: Mapping[str, Known], listing: Listing) -> Iterator[Item]:
        article_id = str(article.get("id", ""))
        if not article_id:
            listing.skipped.append(("?", "an article without an id"))
            return
        default = str(article.get("default_locale") or "")
        translated = article.get("translated_content")
        if isinstance(translated, dict):
            contents = {k: v for k, v in translated.items() if k != "type" and isinstance(v, dict)}
        else:  # a single-language help centre: the article is its own (only) content
            contents = {default: article}
        for locale, content in contents.items():
            key = f"{article_id}/{locale}"
            if locale and not wanted(self.config, locale):
                continue
            if content.get("state") != "published":
                listing.skipped.append((str(content.get("url") or key), "a draft"))
                continue
            body = str(content.get("body") or "")
            if len(body.encode("utf-8")) > self.max_article_bytes:
                listing.failures.append(Failure(key, f"its body is over {self.max_article_bytes:,} bytes"))
                continue
            updated = _iso(content.get("updated_at"))
            held = known.get(key)
            unchanged = held is not None and updated and held.updated == updated
            yield Item(
                key,
                locale,
                str(content.get("url") or f"{self.base}/articles/{article_id}"),
                title=str(content.get("title") or ""),
                html=None if unchanged else body,
                updated=updated,
                group=f"intercom:{article_id}" if len(contents) > 1 or default else "",
                original=bool(default) and locale == default,
            )

    def _json(self, url: str) -> dict[str, Any]:
        return self.client.get_json(url, API_BYTES)


def _iso(seconds: object) -> str:
    """Intercom's times (seconds since the epoch) as ISO 8601 UTC, as the other sources give theirs."""
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)):
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
