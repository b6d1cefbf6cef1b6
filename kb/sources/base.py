"""What every source shares: its configuration, the `Source` interface, and the items a source lists.

A source lists every article it has now (`Source.items`), in every locale it is asked for; an article
the sync already holds unchanged comes back without its HTML, so an unchanged help centre costs a
304 or nothing. The sync (kb/sources/sync.py) turns the items into corpus files; a new kind of help
centre (Freshdesk, Help Scout, Confluence, ...) is one module that implements `Source`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import KBError

KINDS = ("site", "zendesk", "intercom")
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")


@dataclass(frozen=True)
class SourceConfig:
    """One source as `kb source add` records it (corpus/.kb/sources.json)."""

    name: str  # also the corpus folder its articles are written to
    kind: str  # "site", "zendesk" or "intercom"
    url: str  # the help centre's address (a site: its articles' URL prefix)
    locales: tuple[str, ...] = ()  # the locales to mirror (empty: every locale the source has)
    token_env: str = ""  # the environment variable holding an API token (never the token itself)

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise KBError(f"a source name is 1-40 lower-case letters, digits or '-', not {self.name!r}")
        if self.kind not in KINDS:
            raise KBError(f"unknown source kind {self.kind!r}; use one of: {', '.join(KINDS)}")
        if not re.match(r"^https?://[^/\s]+", self.url):
            raise KBError(f"the source address must start with http:// or https://, not {self.url!r}")


@dataclass(frozen=True)
class Known:
    """What the sync holds of an article from its last fetch: enough to ask whether it changed."""

    updated: str = ""  # the source's own change time or sitemap lastmod ("" when it gave none)
    etag: str = ""
    last_modified: str = ""
    group: str = ""
    locale: str = ""
    url: str = ""  # where people read it (a page's canonical address)


@dataclass(frozen=True)
class Item:
    """One article in one locale, as a source lists it.

    `html` is None when the article is unchanged since `Known` (the sync keeps its file). `group`
    names the translation group: items of one source with the same group are one work, translations
    of each other, exactly as the source declares; `original` marks the group's original."""

    key: str  # stable within the source: "<article id>/<locale>", or the page's URL
    locale: str  # "es", "fr", "pt-br", ... ("" when the source does not say)
    url: str  # where people read it (the citation's source)
    title: str = ""
    html: str | None = None
    updated: str = ""
    group: str = ""
    original: bool = False
    outdated: bool = False  # the source marks this translation as behind its original
    etag: str = ""
    last_modified: str = ""


@dataclass(frozen=True)
class Failure:
    """An article the source lists but could not give this time: the sync keeps what it had."""

    key: str
    reason: str


@dataclass
class Listing:
    """Everything a source gave in one sync: its items, the articles that failed, what it skipped and why."""

    items: list[Item] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (URL or id, reason): drafts, other hosts, ...


class Source(Protocol):
    """A help centre to mirror. `items` raises FetchError when the source cannot be listed at all (then
    the sync changes nothing of it); an article that fails alone is a `Failure` in the listing."""

    config: SourceConfig

    def items(self, known: Mapping[str, Known]) -> Listing: ...

    def close(self) -> None: ...


def locale_language(locale: str) -> str:
    """The ISO 639-1 language of a locale ("pt-BR" -> "pt", "es-419" -> "es"; "" when unknown)."""
    head = re.split(r"[-_]", locale.strip().lower(), maxsplit=1)[0]
    return head if re.fullmatch(r"[a-z]{2}", head) else ""


def wanted(config: SourceConfig, locale: str) -> bool:
    """Whether the source is to mirror `locale` (its language, or the exact locale, is in `locales`)."""
    if not config.locales:
        return True
    asked = {loc.lower() for loc in config.locales}
    return locale.lower() in asked or locale_language(locale) in asked
