"""Where index versions live: one `Store` interface (kb/storage/base.py), two backends, one place that chooses.

- `files.FileStore`: a directory of version folders, vectors searched in-process by FAISS (`faiss.py`);
- `pgvector.PgStore`: a PostgreSQL database with pgvector (`pgserver.py` reaches it, or starts one).

Both hold the same records and vectors (`base.DocumentRecord` in, `base.StoredVersion` out); token
vectors are encoded by one codec (`tokens.py`) in both.
"""

from __future__ import annotations

from ..config import Settings
from ..errors import KBError
from .base import DocumentEntry, DocumentRecord, Manifest, Store, StoredVersion
from .files import FileStore

__all__ = ["DocumentEntry", "DocumentRecord", "FileStore", "Manifest", "Store", "StoredVersion", "open_store"]


def open_store(settings: Settings, write: bool = False) -> Store:
    """The store `settings` name: files in `index_dir` (FAISS), or PostgreSQL + pgvector
    (`KB_VECTOR_STORE=pgvector`: the server at `KB_DATABASE_URL`, else one the project starts under
    `index_dir`). `write`: for a rebuild (a local server's writer role; readers get the read-only one)."""
    if settings.vector_store == "faiss":
        return FileStore(settings.index_dir)
    if settings.vector_store == "pgvector":
        from .pgvector import PgStore  # psycopg is imported only by those who use it

        return PgStore.of(settings, write)
    raise KBError(f"KB_VECTOR_STORE={settings.vector_store!r} is not a vector store; use faiss or pgvector")
