"""Zendesk Guide through its Help Center API: every locale's articles, one article id across locales one work.

What it asks, as the API reference documents it: the help centre's locales
(`GET /api/v2/help_center/locales`: `locales`, `default_locale`), then each locale's articles
(`GET /api/v2/help_center/{locale}/articles`, cursor pagination: `page[size]`, `meta.has_more`,
`links.next`; an offset page's `next_page` is followed too). An article is the same `id` in every
locale, rendered in that locale; `source_locale` is its original. Drafts are left out. A translation
is out of date when its locale is in the article's `outdated_locales` (the article's `outdated` flag
is deprecated: always false). `edited_at` (else `updated_at`) says whether it changed. A public help
centre needs no token; a private one takes an API token (`email/token:TOKEN`, sent as Basic) or an
OAuth token (Bearer) from the environment variable the source names.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import quote, urljoin

from .base import Failure, Item, Known, Listing, SourceConfig, wanted
from .http import Client, FetchError, origin

PAGE_SIZE = 100  # the most the API gives a page (cursor pagination)
API_BYTES = 50 * 2**20  # one page of up to 100 articles with their bodies
MAX_PAGES = 10_000  # per locale: a next link that never ends is an error, not a loop


class ZendeskSource:
    """A `Source` over a Zendesk help centre's API."""

    def __init__(self, config: SourceConfig, client: Client, max_article_bytes: int) -> None:
        self.config, self.client, self.max_article_bytes = config, client, max_article_bytes
        self.base = origin(config.url)
        self.suffix = ""  # ".json" for a server that wants it

    def close(self) -> None:
        self.client.close()

    def items(self, known: Mapping[str, Known]) -> Listing:
        listing = Listing()
        data = self._locales()
        locales = [str(loc) for loc in data.get("locales", []) if isinstance(loc, str)]
        if not locales:
            raise FetchError(f"{self.base} lists no help-centre locales")
        for locale in locales:
            if not wanted(self.config, locale):
                continue
            for article in self._articles(locale):
                item = self._item(article, locale, known, listing)
                if item is not None:
                    listing.items.append(item)
        return listing

    def _articles(self, locale: str) -> Iterator[dict[str, Any]]:
        """Every article of a locale, page after page."""
        url: str | None = self._list_url(locale)
        for _ in range(MAX_PAGES):
            if not url:
                return
            page_url, page = url, self._json(url)
            articles = page.get("articles")
            if not isinstance(articles, list):
                raise FetchError(f"{url} gave no list of articles")
            yield from (a for a in articles if isinstance(a, dict))
            meta, links = page.get("meta") or {}, page.get("links") or {}
            if isinstance(meta, dict) and "has_more" in meta:
                url = None
                if meta.get("has_more"):  # the next link, else the cursor it would carry
                    url = links.get("next") if isinstance(links, dict) else None
                    url = urljoin(page_url, url) if isinstance(url, str) and url else None
                    if not url and meta.get("after_cursor"):
                        after = quote(str(meta["after_cursor"]))
                        url = f"{self._list_url(locale)}&page[after]={after}"
                    if not url:
                        raise FetchError(f"{self.base} says more {locale} articles follow but gives no next page")
            else:
                following = page.get("next_page")  # offset pagination
                url = urljoin(page_url, following) if isinstance(following, str) and following else None
        raise FetchError(f"{self.base} gave more than {MAX_PAGES} pages of {locale} articles")

    def _locales(self) -> dict[str, Any]:
        """The locales document. The reference says the `.json` ending is optional; a server that routes
        only the form with it answers 404 to the one without, and is then asked that way from here on."""
        url = f"{self.base}/api/v2/help_center/locales"
        response = self.client.get(url, max_bytes=API_BYTES, accept="application/json", ok=(200, 404))
        if response.status == 404:
            self.suffix = ".json"
            return self._json(url + self.suffix)
        return response.json()

    def _list_url(self, locale: str) -> str:
        return f"{self.base}/api/v2/help_center/{quote(locale)}/articles{self.suffix}?page[size]={PAGE_SIZE}"

    def _item(self, article: dict[str, Any], locale: str, known: Mapping[str, Known], listing: Listing) -> Item | None:
        article_id = str(article.get("id", ""))
        key = f"{article_id}/{locale}"
        if not article_id.isdigit():
            listing.skipped.append((key, "an article without an id"))
            return None
        if article.get("draft"):
            listing.skipped.append((str(article.get("html_url") or key), "a draft"))
            return None
        body, title = article.get("body") or "", str(article.get("title") or "")
        if len(body.encode("utf-8")) > self.max_article_bytes:
            listing.failures.append(Failure(key, f"its body is over {self.max_article_bytes:,} bytes"))
            return None
        updated = str(article.get("edited_at") or article.get("updated_at") or "")
        source_locale = str(article.get("source_locale") or "")
        outdated = locale in [str(x).lower() for x in article.get("outdated_locales") or []]
        held = known.get(key)
        unchanged = held is not None and updated and held.updated == updated
        return Item(
            key,
            str(article.get("locale") or locale),
            str(article.get("html_url") or f"{self.base}/hc/{locale}/articles/{article_id}"),
            title=title,
            html=None if unchanged else body,
            updated=updated,
            group=f"zendesk:{article_id}",
            original=locale.lower() == source_locale.lower(),
            outdated=outdated,
        )

    def _json(self, url: str) -> dict[str, Any]:
        return self.client.get_json(url, API_BYTES)
