"""Bring the corpus in step with each source: new and changed articles written, removed ones deleted.

Each source owns one folder of the corpus, `corpus/<name>/<locale>/<article>.html`; nothing else
writes there. Every file carries, in its head, what the index needs to know exactly: its id, its
language, its translation group and the original it translates (`<meta name="kb:…">`, read by
kb/readers/html.py). What the sync knows of each article (its source's change time, ETag, the
file it wrote and that file's hash) is kept in `corpus/.kb/state/<name>.json`, so a later sync asks
only for what changed.

What it never does: delete on a failed listing (an outage, an error status, a malformed sitemap),
replace an article whose fetch failed (the previous file stays and the report says so), or remove
more than `MASS_DELETION` of a source's articles in one sync unless told to (`allow_deletions`: a
broken sitemap or a revoked token that lists nothing must not empty the knowledge base). Each file
and the state are replaced atomically (written beside, then renamed): a sync killed at any point
leaves whole files, and the next one completes it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..atomic import write_atomic
from ..config import Settings
from ..errors import KBError
from .base import Item, Known, Listing, Source, SourceConfig, locale_language
from .http import Client, FetchError, origin

MASS_DELETION = 0.2  # a sync that would remove more than this share of a source's articles removes none
STATE_DIR = ".kb"  # inside the corpus directory (hidden: the corpus never reads it as an article)
_META = re.compile(r"\n?<meta name=\"kb:[a-z_]+\" content=\"[^\"]*\">")  # as `with_meta` writes them
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


@dataclass
class SourceReport:
    """What one sync did for one source."""

    name: str
    listed: int = 0  # articles the source lists now (in the locales mirrored)
    fetched: int = 0  # article bodies downloaded
    requests: int = 0  # HTTP requests sent
    added: list[str] = field(default_factory=list)  # corpus files
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)  # (article, reason): its previous file kept
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (article or URL, reason)
    held_back: list[str] = field(default_factory=list)  # removals refused by the mass-deletion guard
    error: str = ""  # the source could not be listed: nothing of it changed
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """Did everything the source lists arrive (no error, no failed article, no held-back deletion)?"""
        return not self.error and not self.failed and not self.held_back

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.removed)


# -- the sources a knowledge base records ------------------------------------------------------


def sources_file(settings: Settings) -> Path:
    return settings.corpus_dir / STATE_DIR / "sources.json"


def load_sources(settings: Settings) -> list[SourceConfig]:
    """The sources recorded for this corpus (none when the file does not exist)."""
    path = sources_file(settings)
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return [
            SourceConfig(s["name"], s["kind"], s["url"], tuple(s.get("locales", ())), s.get("token_env", ""))
            for s in data["sources"]
        ]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KBError(f"{path} is not a readable list of sources ({exc}); fix or delete it") from None


def save_sources(settings: Settings, sources: Iterable[SourceConfig]) -> None:
    data = {"sources": [{**asdict(s), "locales": list(s.locales)} for s in sources]}
    write_atomic(sources_file(settings), (json.dumps(data, ensure_ascii=False, indent=2) + "\n").encode("utf-8"))


def add_source(settings: Settings, config: SourceConfig) -> None:
    """Record a source (KBError when the name is taken)."""
    sources = load_sources(settings)
    if any(s.name == config.name for s in sources):
        raise KBError(f"a source named {config.name!r} exists; remove it first or choose another name")
    if (settings.corpus_dir / config.name).exists() and not _state_file(settings, config.name).exists():
        raise KBError(f"{settings.corpus_dir / config.name} exists and is not a source's folder; choose another name")
    save_sources(settings, [*sources, config])


def remove_source(settings: Settings, name: str) -> None:
    """Forget a source; its articles leave the corpus at the next sync."""
    sources = load_sources(settings)
    if not any(s.name == name for s in sources):
        raise KBError(f"no source named {name!r}; `kb source list` shows them")
    save_sources(settings, [s for s in sources if s.name != name])


def open_source(config: SourceConfig, settings: Settings) -> Source:
    """The `Source` for a recorded source, with an HTTP client limited to its host."""
    headers = {}
    if config.kind == "intercom" and not config.token_env:
        raise KBError(f"source {config.name!r}: Intercom's API needs an access token; add it with --token-env VAR")
    if config.token_env:
        token = os.environ.get(config.token_env, "")
        if not token:
            raise KBError(f"source {config.name!r} reads its token from ${config.token_env}, which is not set")
        # Zendesk's API tokens are "email/token:TOKEN", sent as Basic; anything else is an OAuth bearer token
        basic = config.kind == "zendesk" and ":" in token
        headers["Authorization"] = (
            f"Basic {base64.b64encode(token.encode('utf-8')).decode('ascii')}" if basic else f"Bearer {token}"
        )
    if config.kind == "intercom":
        from .intercom import API_VERSION

        headers["Intercom-Version"] = API_VERSION
    client = Client(
        frozenset({origin(config.url)}),
        rate=settings.sync_rate,
        timeout=settings.sync_timeout,
        headers=headers,
        max_wait=settings.sync_max_wait,
    )
    if config.kind == "site":
        from .site import SiteSource

        return SiteSource(config, client, settings.max_article_bytes)
    if config.kind == "zendesk":
        from .zendesk import ZendeskSource

        return ZendeskSource(config, client, settings.max_article_bytes)
    from .intercom import IntercomSource

    return IntercomSource(config, client, settings.max_article_bytes)


# -- one sync -----------------------------------------------------------------------------------


def sync(
    settings: Settings,
    names: Iterable[str] | None = None,
    *,
    dry_run: bool = False,
    allow_deletions: bool = False,
    opener: Callable[[SourceConfig, Settings], Source] = open_source,
) -> list[SourceReport]:
    """Sync every recorded source (or those `names`), then remove the folders of sources no longer recorded.

    Returns one report per source; the corpus is changed only where a report says so (nothing with
    `dry_run`). The caller rebuilds the index afterwards (`KnowledgeBase.sync` does)."""
    sources = load_sources(settings)
    chosen = list(names) if names else [s.name for s in sources]
    unknown = sorted(set(chosen) - {s.name for s in sources})
    if unknown:
        raise KBError(f"no source named {', '.join(map(repr, unknown))}; `kb source list` shows them")
    reports = []
    for config in sources:
        if config.name in chosen:
            report = _sync_one(settings, config, dry_run, allow_deletions, opener)
            reports.append(report)
            if not dry_run:
                _record(settings, report)
    if not names:
        for gone in _forgotten(settings, {s.name for s in sources}):
            reports.append(_remove_all(settings, gone, dry_run))
    return reports


def _sync_one(
    settings: Settings,
    config: SourceConfig,
    dry_run: bool,
    allow_deletions: bool,
    opener: Callable[[SourceConfig, Settings], Source],
) -> SourceReport:
    started = time.perf_counter()
    report = SourceReport(config.name)
    if not dry_run:
        _sweep(settings, config.name)
    state = _read_state(settings, config.name)
    known = {key: _known(entry) for key, entry in state.items() if _file_intact(settings, entry)}
    try:
        source = opener(config, settings)
    except KBError as exc:
        report.error = str(exc)
        return report
    try:
        listing = source.items(known)
    except FetchError as exc:
        report.error = f"could not list {config.url}: {exc}; nothing of this source was changed"
        return report
    finally:
        report.requests = getattr(getattr(source, "client", None), "requests", 0)
        source.close()
    report.listed, report.skipped = len(listing.items), listing.skipped
    report.failed = [(f.key, f.reason) for f in listing.failures]
    present = {item.key for item in listing.items} | {f.key for f in listing.failures}
    removals = sorted(key for key in state if key not in present)
    if removals and len(removals) > MASS_DELETION * max(len(state), 1) and not allow_deletions:
        report.held_back = [state[key]["file"] for key in removals]
        removals = []
    # what stays as it was (a failed fetch, a held-back removal) still belongs to its translation group
    listed = {item.key for item in listing.items}
    kept = [state[key] for key in state if key not in removals and key not in listed]
    plan = _plan(config, listing, state, kept)
    new_state = {key: entry for key, entry in state.items() if key not in removals}
    in_use = {entry["file"] for _, entry in plan}  # a page listed under a new address keeps its file
    for item, entry in plan:
        before = state.get(item.key)
        report.fetched += item.html is not None
        data: bytes | None = _render(settings, item, entry, before)
        if before is None:
            report.added.append(entry["file"])
        elif item.key not in known or (entry["file"], entry["sha256"]) != (before.get("file"), before.get("sha256")):
            report.updated.append(entry["file"])  # (a file changed or lost by hand is written again too)
        else:
            report.unchanged += 1
            data = None  # the file on disk is this already
        if data is not None and not dry_run:
            write_atomic(settings.corpus_dir / entry["file"], data, durable=False)
            if before is not None and before["file"] != entry["file"] and before["file"] not in in_use:
                _delete(settings, before["file"])
        new_state[item.key] = entry
    for key in removals:
        report.removed.append(state[key]["file"])
        if not dry_run and state[key]["file"] not in in_use:
            _delete(settings, state[key]["file"])
    if not dry_run:
        os.sync()  # the articles on disk (written without an fsync each) before the state that records them
        _write_state(settings, config.name, new_state)
    report.seconds = time.perf_counter() - started
    return report


def _plan(
    config: SourceConfig, listing: Listing, state: dict[str, dict[str, Any]], kept: list[dict[str, Any]]
) -> list[tuple[Item, dict[str, Any]]]:
    """Each listed item with the state entry it will have: its file, id, group and the id it translates.
    `kept`: the state entries of articles that stay as they were; they count in their groups."""
    ids = _ids(config, listing.items)
    members: dict[str, list[tuple[str, bool]]] = {}  # group -> (id, original) of each member
    for item in listing.items:
        if item.group:
            members.setdefault(item.group, []).append((ids[item.key], item.original))
    for entry in kept:
        if entry.get("group"):
            members.setdefault(entry["group"], []).append((entry["id"], bool(entry.get("original"))))
    anchor = {}  # group -> the document the others translate: the original, else the smallest id
    for group, found in members.items():
        originals = sorted(doc_id for doc_id, original in found if original)
        anchor[group] = (originals or sorted(doc_id for doc_id, _ in found))[0]
    plan = []
    for item in listing.items:
        held = state.get(item.key, {})
        doc_id = ids[item.key]
        translation_of = anchor.get(item.group, "") if item.group else ""
        entry = {
            "file": f"{config.name}/{_folder(item)}/{doc_id[len(config.name) + 1 :]}.html",
            "id": doc_id,
            "url": item.url,
            "locale": item.locale,
            "group": item.group,
            "original": item.original,
            "translation_of": "" if translation_of == doc_id else translation_of,
            "outdated": item.outdated,
            "updated": item.updated,
            "etag": item.etag,
            "last_modified": item.last_modified,
            "sha256": held.get("sha256", ""),
        }
        if item.html is None:  # unchanged at the source: the file is re-headed only if its group changed
            for name in ("etag", "last_modified", "updated"):
                entry[name] = entry[name] or held.get(name, "")
        plan.append((item, entry))
    return plan


def _ids(config: SourceConfig, items: list[Item]) -> dict[str, str]:
    """Each item's document id; two keys that read the same get the later one (by key) made unique."""
    ids: dict[str, str] = {}
    taken: set[str] = set()
    for item in sorted(items, key=lambda i: i.key):
        doc_id = _doc_id(config, item)
        if doc_id in taken:
            digest = hashlib.sha256(item.key.encode("utf-8")).hexdigest()[:10]
            doc_id = f"{doc_id[:89]}-{digest}"
        taken.add(doc_id)
        ids[item.key] = doc_id
    return ids


def _render(settings: Settings, item: Item, entry: dict[str, Any], before: dict[str, Any] | None) -> bytes:
    """The bytes of an article's file: the page fetched (or, unchanged at the source, the file held) with
    its `kb:` head; sets `entry["sha256"]`."""
    if item.html is not None:
        page = item.html if _HEAD.search(item.html) else _page_of(item)
    else:
        assert before is not None  # an item comes back without its HTML only when its file is intact
        page = (settings.corpus_dir / before["file"]).read_text(encoding="utf-8")
    data = with_meta(page, _meta(entry)).encode("utf-8")
    entry["sha256"] = hashlib.sha256(data).hexdigest()
    return data


def _meta(entry: dict[str, Any]) -> dict[str, str]:
    meta = {"id": entry["id"], "lang": locale_language(entry["locale"]), "source_url": entry["url"]}
    if entry["group"]:
        meta["group"] = entry["group"]
    if entry["translation_of"]:
        meta["translation_of"] = entry["translation_of"]
    if entry["updated"][:10] and re.match(r"\d{4}-\d{2}-\d{2}", entry["updated"]):
        meta["published"] = entry["updated"][:10]
    if entry["updated"]:
        meta["updated"] = entry["updated"]
    if entry["outdated"]:
        meta["outdated"] = "true"
    return {k: v for k, v in meta.items() if v}


def with_meta(html: str, meta: dict[str, str]) -> str:
    """`html` with its `<meta name="kb:…">` tags replaced by `meta`'s, at the start of its head."""
    html = _META.sub("", html)
    tags = "".join(f'\n<meta name="kb:{k}" content="{escape(v, quote=True)}">' for k, v in meta.items())
    head = _HEAD.search(html)
    if head is None:
        return f"<head>{tags}\n</head>\n{html}"
    return html[: head.end()] + tags + html[head.end() :]


def _page_of(item: Item) -> str:
    """A whole HTML page for an article an API gives as a title and a body."""
    title = escape(item.title)
    return (
        f'<!doctype html>\n<html lang="{escape(item.locale)}">\n<head>\n<meta charset="utf-8">\n'
        f'<title>{title}</title>\n<link rel="canonical" href="{escape(item.url, quote=True)}">\n</head>\n'
        f"<body>\n<article>\n<h1>{title}</h1>\n{item.html or ''}\n</article>\n</body>\n</html>\n"
    )


def _doc_id(config: SourceConfig, item: Item) -> str:
    """A stable id: the source, the locale and the article's key (an API's article id; a page's canonical
    path below the source's address, without the locale's own folder), readable and at most 100 characters."""
    if "://" in item.key:  # a page: its canonical address names it
        path = urlsplit(item.url or item.key).path
        scope = urlsplit(config.url).path.rstrip("/")
        path = path[len(scope) :] if scope and path.startswith(scope + "/") else path
        key = "/".join(part for part in path.split("/") if part and part.lower() != item.locale.lower())
    else:
        key = item.key.rsplit("/", 1)[0]
    readable = re.sub(r"[^A-Za-z0-9]+", "-", key).strip("-").lower() or "index"
    locale = re.sub(r"[^a-z0-9]+", "-", item.locale.lower()).strip("-") or "xx"
    doc_id = f"{config.name}-{locale}-{readable}"
    if len(doc_id) > 100:
        digest = hashlib.sha256(item.key.encode("utf-8")).hexdigest()[:10]
        doc_id = f"{doc_id[:89]}-{digest}"
    return doc_id


def _folder(item: Item) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", item.locale.lower()).strip("-") or "xx"


def _remove_all(settings: Settings, name: str, dry_run: bool) -> SourceReport:
    """A source no longer recorded: its files and state leave the corpus."""
    report = SourceReport(name)
    state = _read_state(settings, name)
    for entry in state.values():
        report.removed.append(entry["file"])
        if not dry_run:
            _delete(settings, entry["file"])
    if not dry_run:
        _state_file(settings, name).unlink(missing_ok=True)
    return report


def _forgotten(settings: Settings, recorded: set[str]) -> list[str]:
    folder = settings.corpus_dir / STATE_DIR / "state"
    return sorted(p.stem for p in folder.glob("*.json") if p.stem not in recorded) if folder.is_dir() else []


def sync_status(settings: Settings, name: str) -> dict[str, Any] | None:
    """How the last sync of a source ended (None before the first): when, counts, failures."""
    path = settings.corpus_dir / STATE_DIR / "last" / f"{name}.json"
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        return None


def _record(settings: Settings, report: SourceReport) -> None:
    last = {
        "finished": time.strftime("%Y-%m-%d %H:%M:%S%z"),
        "articles": len(_read_state(settings, report.name)),
        "added": len(report.added),
        "updated": len(report.updated),
        "removed": len(report.removed),
        "failed": len(report.failed),
        "held_back": len(report.held_back),
        "error": report.error,
    }
    path = settings.corpus_dir / STATE_DIR / "last" / f"{report.name}.json"
    write_atomic(path, (json.dumps(last, ensure_ascii=False, indent=1) + "\n").encode("utf-8"))


# -- files ----------------------------------------------------------------------------------------


def _state_file(settings: Settings, name: str) -> Path:
    return settings.corpus_dir / STATE_DIR / "state" / f"{name}.json"


def _read_state(settings: Settings, name: str) -> dict[str, dict[str, Any]]:
    path = _state_file(settings, name)
    if not path.exists():
        return {}
    try:
        articles = json.loads(path.read_text(encoding="utf-8"))["articles"]
        return {str(k): dict(v) for k, v in articles.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # unreadable: the next sync fetches everything again (and rewrites identical files)


def _write_state(settings: Settings, name: str, articles: dict[str, dict[str, Any]]) -> None:
    data = json.dumps({"articles": dict(sorted(articles.items()))}, ensure_ascii=False, indent=1) + "\n"
    write_atomic(_state_file(settings, name), data.encode("utf-8"))


def _known(entry: dict[str, Any]) -> Known:
    return Known(
        entry.get("updated", ""),
        entry.get("etag", ""),
        entry.get("last_modified", ""),
        entry.get("group", ""),
        entry.get("locale", ""),
        entry.get("url", ""),
    )


def _file_intact(settings: Settings, entry: dict[str, Any]) -> bool:
    """Is the article's file there, as the sync wrote it? (Else it is fetched again, unconditionally.)"""
    path = settings.corpus_dir / entry.get("file", "")
    try:
        return path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() == entry.get("sha256")
    except OSError:
        return False


def _sweep(settings: Settings, name: str) -> None:
    """Remove what a sync killed mid-write left: its temporary files (hidden, so never read as articles)."""
    for folder in (settings.corpus_dir / name, settings.corpus_dir / STATE_DIR):
        for litter in folder.rglob(".*.tmp") if folder.is_dir() else ():
            litter.unlink(missing_ok=True)


def _delete(settings: Settings, file: str) -> None:
    path = settings.corpus_dir / file
    path.unlink(missing_ok=True)
    for parent in path.parents:  # empty locale and source folders go too
        if parent == settings.corpus_dir or not parent.is_relative_to(settings.corpus_dir):
            break
        try:
            parent.rmdir()
        except OSError:
            break
