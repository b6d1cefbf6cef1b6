"""Help centres the corpus mirrors: one `Source` per kind (a website, Zendesk), and the sync that
reconciles a source with its corpus folder (kb/sources/sync.py). The rest of kb reads the files."""

from __future__ import annotations

from .base import Item, Known, Listing, Source, SourceConfig
from .http import FetchError
from .sync import SourceReport, add_source, load_sources, remove_source, sync, sync_status

__all__ = [
    "FetchError",
    "Item",
    "Known",
    "Listing",
    "Source",
    "SourceConfig",
    "SourceReport",
    "add_source",
    "load_sources",
    "remove_source",
    "sync",
    "sync_status",
]
