"""The pgvector store: the index in PostgreSQL, one schema per version, made current in one transaction.

Knows nothing of models. Layout of the database (the same records and vectors as the files store's)::

    kb.versions(name, manifest, manifest_sha256, token_code, token_code_shape)   versions not yet dropped
    kb.current(name)                       the one version readers open (a single row)
    "kb_<version>".documents(n, doc_id, lang, translation_of, record)
        n: the document's number; record: its `Document` as JSON
    "kb_<version>".titles(n, embedding, token_count, tokens, token_sentences, headings)
        row n: document n's title vector, its token vectors as a chunk's are, and its section
        headings read as questions (float32 bytes, heading after heading)
    "kb_<version>".adapter(matrix)          one row: the question adapter (float32 bytes, `kb.adapter`)
    "kb_<version>".chunks(n, doc, lang, sentences, record, token_count, tokens, token_sentences)
        n: the chunk's row; doc: its document's number; record: its `Chunk` as JSON; tokens: its token
        vectors' product-quantization codes (token_count x code size bytes); token_sentences: the
        sentence each was read in (uint16)
    "kb_<version>".passages(n, lang, embedding)     row n: chunk n's vector
    "kb_<version>".contexts(n, lang, embedding)     row n: chunk n read with the next chunk of its document
    "kb_<version>".sentences(n, lang, embedding)    every chunk's sentences, chunk after chunk

Vector sets larger than `EXACT_MAX` rows get an HNSW index (inner product: the vectors
are unit length, so it ranks as cosine); smaller ones are scanned exactly. A set larger than
`Settings.database_shard_rows` is a table partitioned by hash of n into shards of about that many
rows ("passages_0", "passages_1", ...), each with its own HNSW graph: the server walks each shard's
graph and merges them in order (Merge Append), as vector engines search their segments. A language
filter is a `WHERE lang = ANY(...)` that the index scan applies as it walks (`hnsw.iterative_scan`).

An app process keeps the columns (ids, languages, counts); records and vectors are read when a
question needs them.

A rebuild writes a new schema and points `kb.current` at it in the same transaction: a reader sees
the old version or the new one, never part of one; a writer killed mid-way leaves nothing behind.
Connections, and the local server the project starts without `KB_DATABASE_URL`, are kb/storage/pgserver.py's.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence, ValuesView
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from ..config import Settings
from ..errors import REBUILD_HINT, IndexUnusable, KBError
from ..types import Chunk, Document, IndexSpec
from .base import (
    KEEP_VERSIONS,
    DocumentHeads,
    DocumentRecord,
    FilterPlan,
    Manifest,
    Records,
    StoredVersion,
    assemble_version,
    chunk_from_dict,
    document_from_json,
    plan_filter,
    prepare_version,
)
from .pgserver import READER, Database, VersionRemoved, connect, describe, local_server, reason
from .tokens import TokenCode, TokenVectors

T = TypeVar("T")
VECTOR_TABLES = ("passages", "contexts", "sentences")  # a narrow table each: rows stay in line (under 2 kB)
REBUILD_LOCK = 0x6B62_7265_6275_696C  # the advisory lock one rebuild holds ("kbrebuil")
# A rebuild's last step waits at most this long for readers of a version it drops (they hold it a
# query at a time); past it, the version is dropped by a later rebuild.
DROP_WAIT = "5s"
# The server scans a vector set exactly up to this many rows (FAISS: `Settings.exact_search_max`); its
# scan costs ~0.55 us a row (10k passages: 5.4 ms, against 0.3 ms in FAISS), more than an HNSW walk
# past a few thousand rows (bench/engine.py).
EXACT_MAX = 5000
EF_SEARCH_MAX = 1000  # pgvector's limit
SEARCH_SETTINGS = (
    # psycopg prepares a statement run 5 times; its generic plan, not knowing the LIMIT or the
    # filter, scanned every row (6 ms a search at 10k passages instead of 1-3)
    "SET plan_cache_mode = force_custom_plan",
    # a filtered search walks on until k rows pass the filter (or this many were visited)
    "SET hnsw.iterative_scan = relaxed_order",
    "SET hnsw.max_scan_tuples = 50000",
)


class PgVectors:
    """One vector column of a version's table, searched by the server (`VectorSearch`)."""

    def __init__(self, db: Database, schema: str, table: str, count: int, dim: int, ef_search: int) -> None:
        self._db, self._count, self._dim, self._ef_search = db, count, dim, ef_search
        self._table = (schema, table)

    def __len__(self) -> int:
        return self._count

    def vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        from psycopg import sql

        schema, table = self._table
        if rows is None:
            query = sql.SQL("SELECT embedding FROM {}.{} ORDER BY n").format(
                sql.Identifier(schema), sql.Identifier(table)
            )
            return _matrix([r[0] for r in self._db.rows(query)], self._dim)
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return np.zeros((0, self._dim), dtype=np.float32)
        wanted = np.unique(rows)
        query = sql.SQL("SELECT embedding FROM {}.{} WHERE n = ANY(%s) ORDER BY n").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        found = _matrix([r[0] for r in self._db.rows(query, [wanted.tolist()])], self._dim)
        if len(found) != len(wanted):
            raise IndexUnusable(f"rows are missing from {schema}.{table} in {self._db.where}; {REBUILD_HINT} --full")
        return found[np.searchsorted(wanted, rows)]

    def search(
        self, query: np.ndarray, k: int, rows: np.ndarray | None = None, languages: tuple[str, ...] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        from psycopg import sql

        k = min(k, self._count if rows is None else len(rows))
        if k <= 0:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        schema, table = self._table
        vector = np.ascontiguousarray(query.reshape(-1), dtype=np.float32)
        table_sql = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        if languages is None:
            # the distance once a row (ORDER BY its alias), walked by the HNSW index where there is one
            statement = sql.SQL("SELECT n, embedding <#> %s AS distance FROM {} ORDER BY distance LIMIT %s")
            found = self._db.rows(statement.format(table_sql), [vector, k])
        elif (plan := self._plan(rows, k)).exact:
            # A tight filter: its rows scored exactly, found by the language index
            found = self._exact(table_sql, vector, languages, k)
        else:
            # A broad filter: the walk skips other rows, as wide as the plan says (at most pgvector's limit)
            ef = min(EF_SEARCH_MAX, plan.ef_search)
            statement = sql.SQL(
                "SELECT n, embedding <#> %s AS distance FROM {} WHERE lang = ANY(%s) ORDER BY distance LIMIT %s"
            )
            found = self._db.rows(
                statement.format(table_sql), [vector, list(languages), k], local=[("hnsw.ef_search", str(ef))]
            )
            if len(found) < k:
                # The walk stopped (hnsw.max_scan_tuples) before k rows passed the filter: at 1M passages
                # a Spanish filter (32 %) got no row at all for 12 of 14 questions. Never fewer than k.
                found = self._exact(table_sql, vector, languages, k)
        ids = np.array([r[0] for r in found], dtype=np.int64)
        scores = -np.array([r[1] for r in found], dtype=np.float32)  # <#> is the negative inner product
        order = np.argsort(-scores, kind="stable")  # an iterative scan returns rows in nearly, not exactly, that order
        return scores[order], ids[order]

    def _plan(self, rows: np.ndarray | None, k: int) -> FilterPlan:
        # `graph`: a set small enough to have no graph (EXACT_MAX) is one that any filter is tight in
        passing = self._count if rows is None else len(rows)
        return plan_filter(self._count, passing, k, self._ef_search, graph=True)

    def _exact(self, table: Any, vector: np.ndarray, languages: tuple[str, ...], k: int) -> list[tuple[Any, ...]]:
        """The k rows of `languages` closest to `vector`, every one of them scored (the language index finds them)."""
        from psycopg import sql

        statement = sql.SQL(
            "SELECT n, distance FROM (SELECT n, embedding <#> %s AS distance FROM {} WHERE lang = ANY(%s) "
            "OFFSET 0) AS filtered ORDER BY distance LIMIT %s"
        )
        return self._db.rows(statement.format(table), [vector, list(languages), k])


class PgTokens:
    """The token vectors of a version's chunks, or of its titles (`TokenStore`): counts in memory, codes
    fetched per question."""

    def __init__(self, db: Database, schema: str, counts: np.ndarray, code: TokenCode, table: str = "chunks") -> None:
        self._db, self._schema, self.counts, self.code, self._table = db, schema, counts, code, table

    def _fetch(self, rows: np.ndarray) -> TokenVectors:
        """Chunks `rows`' token vectors, in that order, as an in-memory `TokenVectors`."""
        from psycopg import sql

        rows = np.asarray(rows, dtype=np.int64)
        wanted = np.unique(rows)
        query = sql.SQL("SELECT tokens, token_sentences FROM {}.{} WHERE n = ANY(%s) ORDER BY n").format(
            sql.Identifier(self._schema), sql.Identifier(self._table)
        )
        found = self._db.rows(query, [wanted.tolist()]) if len(wanted) else []
        if len(found) != len(wanted):
            raise IndexUnusable(
                f"rows are missing from {self._schema}.{self._table} in {self._db.where}; {REBUILD_HINT} --full"
            )
        at = np.searchsorted(wanted, rows)
        return TokenVectors.of_chunks([found[i][0] for i in at], [found[i][1] for i in at], self.code)

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._fetch(rows).of(np.arange(len(rows)))

    def cosines(self, rows: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self._fetch(rows).cosines(np.arange(len(rows)), query)

    def sentences_of(self, row: int) -> np.ndarray:
        return self._fetch(np.array([row])).sentences_of(0)

    def chunks(self, first: int, stop: int) -> TokenVectors:
        return self._fetch(np.arange(first, stop))


class PgDocuments(Mapping[str, Document]):
    """A version's documents by id, each read from the database when asked for (the last 1,024 kept)."""

    def __init__(self, db: Database, schema: str, ids: list[str]) -> None:
        self._db, self._schema, self._ids = db, schema, ids
        self._number = {doc_id: n for n, doc_id in enumerate(ids)}
        self._cached = functools.lru_cache(maxsize=1024)(self._fetch)

    def __getitem__(self, doc_id: str) -> Document:
        if doc_id not in self._number:
            raise KeyError(doc_id)
        return self._cached(self._number[doc_id])

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def values(self) -> ValuesView[Document]:
        """All documents, read in one query."""
        return _AllDocuments(self)

    def _fetch(self, n: int) -> Document:
        return _parsed(document_from_json, _records(self._db, self._schema, "documents", n)[0], self._db.where)

    def read_all(self) -> Iterator[Document]:
        return (_parsed(document_from_json, r, self._db.where) for r in _records(self._db, self._schema, "documents"))


class _AllDocuments(ValuesView[Document]):
    def __init__(self, documents: PgDocuments) -> None:
        super().__init__(documents)
        self._documents = documents

    def __iter__(self) -> Iterator[Document]:
        return self._documents.read_all()


def _records(db: Database, schema: str, table: str, row: int | None = None) -> list[str]:
    """The JSON records of a version's table: all of them in order, or that of one row."""
    from psycopg import sql

    name = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    if row is None:
        return [r[0] for r in db.rows(sql.SQL("SELECT record FROM {} ORDER BY n").format(name))]
    return [r[0] for r in db.rows(sql.SQL("SELECT record FROM {} WHERE n = %s").format(name), [row])]


def _parsed(parse: Callable[[Any], T], text: str, where: str) -> T:
    try:
        return parse(json.loads(text))
    except (ValueError, KeyError, TypeError) as exc:
        raise IndexUnusable(f"a record in {where} is malformed ({exc!r}); {REBUILD_HINT} --full") from None


class PgChunkRecords(Records):
    """A version's chunk records: the columns in memory, each record read from the database when asked for."""

    def __init__(
        self,
        db: Database,
        schema: str,
        doc_ids: list[str],
        doc_of: np.ndarray,
        langs: np.ndarray,
        sentences: np.ndarray,
    ) -> None:
        self._db, self._schema = db, schema
        self.doc_ids, self.doc_of, self.langs, self.sentence_counts = doc_ids, doc_of, langs, sentences
        super().__init__()

    def __iter__(self) -> Iterator[Chunk]:
        return (_parsed(chunk_from_dict, r, self._db.where) for r in _records(self._db, self._schema, "chunks"))

    def _make(self, row: int) -> Chunk:
        return _parsed(chunk_from_dict, _records(self._db, self._schema, "chunks", row)[0], self._db.where)


@dataclass(frozen=True)
class PgStore:
    """Index versions in a PostgreSQL database with pgvector (`Store`). Open with `PgStore.of(settings)`."""

    url: str
    where: str
    reader_role: str  # granted read access to each version written
    ef_search: int  # hnsw.ef_search: candidates an HNSW walk keeps (in each shard)
    shard_rows: int  # a rebuild splits a vector set larger than this into shards of about this many rows

    @classmethod
    def of(cls, settings: Settings, write: bool = False) -> PgStore:
        """The store `settings` name; one per process and URL, so its connection is shared."""
        if settings.database_shard_rows < 1:
            raise KBError(
                f"KB_DATABASE_SHARD_ROWS must be a number of rows above 0, not {settings.database_shard_rows}"
            )
        if settings.database_url:
            url, where, reader = settings.database_url, describe(settings.database_url), settings.database_reader
        else:
            writer_url, reader_url = local_server(settings.index_dir.resolve())
            url, where, reader = (
                (writer_url if write else reader_url),
                f"the local database in {settings.index_dir / 'pgdata'}",
                READER,
            )
        return _shared_store(url, where, reader, settings.database_ef_search, settings.database_shard_rows)

    @functools.cached_property
    def _db(self) -> Database:
        ef = min(max(self.ef_search, 1), EF_SEARCH_MAX)
        return Database(self.url, self.where, (*SEARCH_SETTINGS, f"SET hnsw.ef_search = {int(ef)}"))

    # -- reading ---------------------------------------------------------------------------------

    def manifest(self) -> Manifest | None:
        try:
            found = self._current()
        except KBError:
            return None
        return found[1] if found else None

    def _current(self) -> tuple[str, Manifest, tuple[bytes, list[int]]] | None:
        if not self._db.rows("SELECT to_regclass('kb.current')")[0][0]:
            return None  # no version was ever written here (or this role may not see them)
        rows = self._db.rows(
            "SELECT v.name, v.manifest, v.manifest_sha256, v.token_code, v.token_code_shape "
            "FROM kb.current c JOIN kb.versions v ON v.name = c.name"
        )
        if not rows:
            return None
        name, text, sha, code, shape = rows[0]
        raw = text.encode("utf-8")
        if hashlib.sha256(raw).hexdigest() != sha:
            raise IndexUnusable(
                f"the manifest of {name} in {self.where} is corrupted (checksum mismatch); {REBUILD_HINT} --full"
            )
        return name, Manifest.from_json(raw, Path(name) / "manifest.json"), (bytes(code), list(shape))

    def read(self) -> StoredVersion:
        for attempt in range(3):
            try:
                return self._read()
            except VersionRemoved:
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _read(self) -> StoredVersion:
        from psycopg import sql

        found = self._current()
        if found is None:
            raise IndexUnusable(f"no index in {self.where}; {REBUILD_HINT} to build it")
        name, manifest, (code_bytes, shape) = found
        schema = schema_of(name)
        dim = manifest.model.dimension
        s = sql.Identifier(schema)  # one query per column set: the records and vectors stay in the database
        heads = self._db.rows(sql.SQL("SELECT doc_id, lang, translation_of FROM {}.documents ORDER BY n").format(s))
        columns = self._db.rows(sql.SQL("SELECT doc, lang, sentences, token_count FROM {}.chunks ORDER BY n").format(s))
        title_counts = self._db.rows(sql.SQL("SELECT token_count FROM {}.titles ORDER BY n").format(s))
        adapter = self._db.rows(sql.SQL("SELECT matrix FROM {}.adapter").format(s))
        if len(adapter) != 1 or len(adapter[0][0]) != 4 * (dim + 1) * dim:
            raise IndexUnusable(f"the question adapter of {name} in {self.where} is missing; {REBUILD_HINT} --full")
        db = self._db

        def headings(document: int) -> np.ndarray:
            found = db.rows(sql.SQL("SELECT headings FROM {}.titles WHERE n = %s").format(s), [document])
            return np.frombuffer(bytes(found[0][0]), dtype=np.float32).reshape(-1, dim).copy()

        code = TokenCode.from_bytes(code_bytes, shape)
        n_chunks = len(columns)
        vector_sets = (
            PgVectors(self._db, schema, "passages", n_chunks, dim, self.ef_search),
            PgVectors(self._db, schema, "sentences", manifest.counts.sentences, dim, self.ef_search),
            PgVectors(self._db, schema, "contexts", n_chunks, dim, self.ef_search),
        )
        ids = [h[0] for h in heads]
        chunks = PgChunkRecords(
            self._db,
            schema,
            ids,
            np.array([c[0] for c in columns], dtype=np.int32),
            np.array([c[1] for c in columns] or [""])[: len(columns)],
            np.array([c[2] for c in columns], dtype=np.int64),
        )
        return assemble_version(
            Path(name),
            manifest,
            PgDocuments(self._db, schema, ids),
            DocumentHeads(ids, [h[1] for h in heads], [h[2] for h in heads]),
            chunks,
            vector_sets,
            PgTokens(self._db, schema, np.array([c[3] for c in columns], dtype=np.int32), code),
            PgVectors(self._db, schema, "titles", len(heads), dim, self.ef_search),
            PgTokens(self._db, schema, np.array([c[0] for c in title_counts], dtype=np.int32), code, "titles"),
            headings,
            np.frombuffer(bytes(adapter[0][0]), dtype=np.float32).reshape(dim + 1, dim).copy(),
        )

    # -- writing ---------------------------------------------------------------------------------

    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """An advisory lock on the server: one rebuild at a time, whichever machine runs it."""
        connection = connect(self.url, self.where, autocommit=True)
        try:
            if not connection.execute("SELECT pg_try_advisory_lock(%s)", [REBUILD_LOCK]).fetchone()[0]:
                raise KBError(f"another rebuild of {self.where} is running; wait for it to finish")
            yield
        finally:
            connection.close()  # releases the lock

    def write(self, records: Sequence[DocumentRecord], manifest: Manifest, adapter: np.ndarray) -> Manifest:
        import psycopg

        manifest, tokens, _ = prepare_version(records, manifest)
        text = manifest.to_json().decode("utf-8")
        try:
            with connect(self.url, self.where) as connection:
                with connection.transaction():
                    _write_version(connection, manifest, records, tokens, adapter, self.reader_role, self.shard_rows)
                    connection.execute(
                        "INSERT INTO kb.versions (name, manifest, manifest_sha256, token_code, token_code_shape) "
                        "VALUES (%s, %s, %s, %s, %s)",
                        [
                            manifest.version,
                            text,
                            hashlib.sha256(text.encode("utf-8")).hexdigest(),
                            tokens.code.to_bytes(),
                            list(tokens.code.centroids.shape),
                        ],
                    )
                    connection.execute(
                        "INSERT INTO kb.current (one, name) VALUES (true, %s) "
                        "ON CONFLICT (one) DO UPDATE SET name = excluded.name",
                        [manifest.version],
                    )
                _drop_old_versions(connection)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise KBError(
                f"{self.where} does not let this role write an index ({reason(exc)}); use the writer role's URL"
            ) from None
        except psycopg.OperationalError as exc:
            raise KBError(
                f"lost the connection to {self.where} mid-rebuild ({reason(exc)}); the served index is unchanged"
            ) from None
        return manifest


@functools.cache
def _shared_store(url: str, where: str, reader_role: str, ef_search: int, shard_rows: int) -> PgStore:
    """One store (and connection) per process for each URL and setting."""
    return PgStore(url, where, reader_role, ef_search, shard_rows)


def schema_of(version: str) -> str:
    return f"kb_{version}"


def _write_version(
    connection: Any,
    manifest: Manifest,
    records: Sequence[DocumentRecord],
    tokens: TokenVectors,
    adapter: np.ndarray,
    reader: str,
    shard_rows: int,
) -> None:
    """Create the version's schema and fill it (inside the caller's transaction)."""

    from psycopg import sql

    dim = manifest.model.dimension
    s = sql.Identifier(schema_of(manifest.version))
    vector = sql.SQL(f"vector({int(dim)})")
    for statement in (
        "CREATE SCHEMA IF NOT EXISTS kb",
        "CREATE TABLE IF NOT EXISTS kb.versions (name text PRIMARY KEY, manifest text NOT NULL, "
        "manifest_sha256 text NOT NULL, token_code bytea NOT NULL, token_code_shape int4[] NOT NULL)",
        "CREATE TABLE IF NOT EXISTS kb.current (one bool PRIMARY KEY DEFAULT true CHECK (one), "
        "name text NOT NULL REFERENCES kb.versions)",
    ):
        connection.execute(statement)
    connection.execute(sql.SQL("CREATE SCHEMA {}").format(s))
    sizes = {
        "passages": manifest.counts.chunks,
        "contexts": manifest.counts.chunks,
        "sentences": manifest.counts.sentences,
    }
    for table, columns in (
        (
            "documents",
            "n int4 PRIMARY KEY, doc_id text NOT NULL UNIQUE, lang text NOT NULL, translation_of text NOT NULL, "
            "record text NOT NULL",
        ),
        (
            "chunks",
            "n int4 PRIMARY KEY, doc int4 NOT NULL, lang text NOT NULL, sentences int4 NOT NULL, record text NOT NULL, "
            "token_count int4 NOT NULL, tokens bytea NOT NULL, token_sentences bytea NOT NULL",
        ),
        (
            "titles",
            "n int4 PRIMARY KEY, embedding {v} NOT NULL, "
            "token_count int4 NOT NULL, tokens bytea NOT NULL, token_sentences bytea NOT NULL, headings bytea NOT NULL",
        ),
        ("adapter", "matrix bytea NOT NULL"),
        *((name, "n int4 PRIMARY KEY, lang text NOT NULL, embedding {v} NOT NULL") for name in VECTOR_TABLES),
    ):
        shards = -(-sizes.get(table, 0) // shard_rows)  # PgStore.of refuses shard_rows < 1
        partitioned = shards > 1
        create = sql.SQL("CREATE TABLE {}.{} (" + columns + ")" + (" PARTITION BY HASH (n)" if partitioned else ""))
        connection.execute(create.format(s, sql.Identifier(table), v=vector))
        for shard in range(shards if partitioned else 0):
            connection.execute(
                sql.SQL("CREATE TABLE {}.{} PARTITION OF {}.{} FOR VALUES WITH (MODULUS {}, REMAINDER {})").format(
                    s,
                    sql.Identifier(f"{table}_{shard}"),
                    s,
                    sql.Identifier(table),
                    sql.Literal(shards),
                    sql.Literal(shard),
                )
            )
    with connection.cursor() as cursor:

        def copy_rows(table: str, columns: str, types: list[str], rows: Iterator[tuple[Any, ...]]) -> None:
            with cursor.copy(
                sql.SQL("COPY {}.{} (" + columns + ") FROM STDIN (FORMAT BINARY)").format(s, sql.Identifier(table))
            ) as copy:
                copy.set_types(types)
                for row in rows:
                    copy.write_row(row)

        copy_rows(
            "documents",
            "n, doc_id, lang, translation_of, record",
            ["int4", "text", "text", "text", "text"],
            (
                (n, d.doc_id, d.lang, d.translation_of, json.dumps(asdict(d), ensure_ascii=False))
                for n, d in enumerate(r.document for r in records)
            ),
        )
        copy_rows(
            "titles",
            "n, embedding, token_count, tokens, token_sentences, headings",
            ["int4", "vector", "int4", "bytea", "bytea", "bytea"],
            (
                (
                    n,
                    np.asarray(r.title_vector, dtype=np.float32),
                    int(r.title_tokens.counts[0]),
                    *r.title_tokens.chunk(0),
                    np.ascontiguousarray(r.heading_vectors, dtype=np.float32).tobytes(),
                )
                for n, r in enumerate(records)
            ),
        )
        copy_rows("adapter", "matrix", ["bytea"], iter([(np.ascontiguousarray(adapter, dtype=np.float32).tobytes(),)]))
        copy_rows(
            "chunks",
            "n, doc, lang, sentences, record, token_count, tokens, token_sentences",
            ["int4", "int4", "text", "int4", "text", "int4", "bytea", "bytea"],
            _chunk_rows(records),
        )
        for table, part, per in (
            ("passages", "chunk_vectors", _chunk_langs),
            ("contexts", "context_vectors", _chunk_langs),
            ("sentences", "sentence_vectors", _sentence_langs),
        ):
            copy_rows(
                table,
                "n, lang, embedding",
                ["int4", "text", "vector"],
                (
                    (n, lang, np.asarray(v, dtype=np.float32))
                    for n, (lang, v) in enumerate(
                        pair for r in records for pair in zip(per(r), getattr(r, part), strict=True)
                    )
                ),
            )
    spec: IndexSpec = manifest.vector_index
    for table in VECTOR_TABLES:
        if sizes[table] > min(spec.exact_max, EXACT_MAX):  # smaller sets are scanned exactly
            index = "CREATE INDEX ON {}.{} USING hnsw (embedding vector_ip_ops) WITH (m = {}, ef_construction = {})"
            connection.execute(
                sql.SQL(index).format(
                    s, sql.Identifier(table), sql.Literal(spec.hnsw_m), sql.Literal(spec.ef_construction)
                )
            )
            connection.execute(sql.SQL("CREATE INDEX ON {}.{} (lang)").format(s, sql.Identifier(table)))
        connection.execute(sql.SQL("ANALYZE {}.{}").format(s, sql.Identifier(table)))
    if connection.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [reader]).fetchone():
        role = sql.Identifier(reader)
        connection.execute(sql.SQL("GRANT USAGE ON SCHEMA kb, {} TO {}").format(s, role))
        connection.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA {} TO {}").format(s, role))
        connection.execute(sql.SQL("GRANT SELECT ON kb.versions, kb.current TO {}").format(role))


def _chunk_langs(record: DocumentRecord) -> list[str]:
    return [c.lang for c in record.chunks]


def _sentence_langs(record: DocumentRecord) -> list[str]:
    return [c.lang for c in record.chunks for _ in c.sentences]


def _chunk_rows(records: Sequence[DocumentRecord]) -> Iterator[tuple[Any, ...]]:
    """Per chunk: its row, document number, language, sentence count, record, and token vectors (codes,
    and each one's sentence)."""
    row = 0
    for document, record in enumerate(records):
        for i, chunk in enumerate(record.chunks):
            codes, sentences = record.token_vectors.chunk(i)
            yield (
                row,
                document,
                chunk.lang,
                len(chunk.sentences),
                json.dumps(asdict(chunk), ensure_ascii=False),
                len(codes) // record.token_vectors.code.code_size,
                codes,
                sentences,
            )
            row += 1


def _drop_old_versions(connection: Any) -> None:
    """Drop all but the newest KEEP_VERSIONS versions (each in its own transaction; one that readers
    hold past DROP_WAIT is left for the next rebuild)."""
    import psycopg
    from psycopg import sql

    old = connection.execute(
        "SELECT name FROM kb.versions WHERE name <> (SELECT name FROM kb.current) ORDER BY name DESC OFFSET %s",
        [KEEP_VERSIONS - 1],
    ).fetchall()
    connection.commit()
    for (name,) in old:
        try:
            with connection.transaction():
                connection.execute(f"SET LOCAL lock_timeout = '{DROP_WAIT}'")
                connection.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema_of(name))))
                connection.execute("DELETE FROM kb.versions WHERE name = %s", [name])
        except psycopg.errors.LockNotAvailable:
            continue


def _matrix(vectors: Sequence[Any], dim: int) -> np.ndarray:
    if not len(vectors):
        return np.zeros((0, dim), dtype=np.float32)
    # pgvector gives `Vector` objects (to_numpy) or, for older versions of the package, arrays
    arrays = [v.to_numpy() if hasattr(v, "to_numpy") else v for v in vectors]
    return np.vstack(arrays).astype(np.float32, copy=False).reshape(len(vectors), dim)
