"""Index plumbing (fake embedder): manifest, validation errors, atomic versions, incremental rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb import KBError, KnowledgeBase, Settings
from kb.build import rebuild
from kb.chunking import embedding_text
from kb.store import CURRENT, FORMAT_VERSION, MANIFEST, VectorIndex, read_index
from kb.types import IndexSpec

from .conftest import FakeEmbedder


@pytest.fixture
def built(corpus_copy: Path, tmp_path: Path, fake_embedder: FakeEmbedder) -> Settings:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=fake_embedder)
    return settings


def open_kb(settings: Settings, embedder: FakeEmbedder | None = None, **kw) -> KnowledgeBase:
    return KnowledgeBase.open(settings=settings, embedder=embedder or FakeEmbedder(), **kw)


def test_manifest_contents(built: Settings) -> None:
    stored = read_index(built.index_dir)
    m = stored.manifest
    assert m["format_version"] == FORMAT_VERSION == 4 and m["model"]["name"] == "fake" and m["model"]["dimension"] == 16
    assert m["chunking"]["max_chunk_tokens"] == built.max_chunk_tokens
    assert set(m["documents"]) == {"000", "001", "002", "003", "004"}
    assert all(len(d["sha256"]) == 64 for d in m["documents"].values())
    assert m["counts"]["chunks"] == len(stored.chunks) > 0
    assert set(m["files"]) == {
        "documents.jsonl",
        "chunks.jsonl",
        "chunks.faiss",
        "sentences.faiss",
        "contexts.faiss",
        "tokens.npy",
        "token_scales.npy",
        "token_counts.npy",
    }
    assert len(stored.token_counts) == len(stored.chunks) and stored.token_counts.sum() == len(stored.token_vectors)
    assert stored.token_vectors.dtype == np.int8 and len(stored.token_scales) == len(stored.token_vectors)
    norms = np.linalg.norm(stored.chunk_tokens(np.arange(len(stored.chunks)))[0], axis=1)
    assert np.allclose(norms, 1.0, atol=0.01)  # int8 × scale gives back the unit token vectors
    assert m["built_at"]
    for line in (stored.path / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        body = stored.documents[rec["doc_id"]].body
        assert body[rec["start"] : rec["end"]] == rec["text"]
    assert "ó" in (stored.path / "documents.jsonl").read_text(encoding="utf-8")  # ensure_ascii=False


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(KBError, match="no index.*kb rebuild"):
        open_kb(Settings(index_dir=tmp_path / "nothing"))


@pytest.mark.parametrize(
    "name", ["chunks.faiss", "chunks.jsonl", "documents.jsonl", "sentences.faiss", "contexts.faiss", MANIFEST]
)
def test_tampered_file(built: Settings, name: str) -> None:
    path = read_index(built.index_dir).path / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(KBError, match="corrupted.*kb rebuild"):
        open_kb(built)


def test_corrupted_pointer(built: Settings) -> None:
    (built.index_dir / CURRENT).write_text("garbage")
    with pytest.raises(KBError, match="corrupted"):
        open_kb(built)


def test_missing_file(built: Settings) -> None:
    (read_index(built.index_dir).path / "chunks.faiss").unlink()
    with pytest.raises(KBError, match="kb rebuild"):
        open_kb(built)


def test_stale_index(built: Settings) -> None:
    path = built.corpus_dir / "003_68022a63496d1942.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nNuova frase.", encoding="utf-8")
    with pytest.raises(KBError, match="stale: 003_68022a63496d1942.txt changed.*kb rebuild"):
        open_kb(built)
    assert open_kb(built, allow_stale=True).stale_reason
    (built.corpus_dir / "new.txt").write_text("Un article nouveau sur le client.", encoding="utf-8")
    with pytest.raises(KBError, match="new.txt was added"):
        open_kb(built)


def test_other_model(built: Settings) -> None:
    with pytest.raises(KBError, match="built with model 'fake'.*kb rebuild"):
        open_kb(built, FakeEmbedder(name="other"))


def test_no_change_rebuild_reuses_everything(built: Settings) -> None:
    embedder = FakeEmbedder()
    version = read_index(built.index_dir).path.name
    report = rebuild(built, embedder=embedder)
    assert not report.changed and embedder.passages_embedded == 0
    assert read_index(built.index_dir).path.name == version


def test_incremental_rebuild_embeds_only_changed_documents(built: Settings) -> None:
    before = read_index(built.index_dir)
    path = built.corpus_dir / "001_a515b0edf6fefc07.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nUna frase nueva sobre clientes.", encoding="utf-8")
    embedder = FakeEmbedder()
    report = rebuild(built, embedder=embedder)
    assert report.changed and report.embedded_documents == 1 and report.reused_documents == 4
    after = read_index(built.index_dir)
    n_new = [c for c in after.chunks if c.doc_id == "001"]
    # the changed article's passages, its sentences and its passages with their context
    assert embedder.passages_embedded == 2 * len(n_new) + sum(len(c.sentences) for c in n_new)
    # unchanged documents keep their exact vectors
    old = {c.chunk_id: i for i, c in enumerate(before.chunks)}
    for index in ("chunk_vectors", "context_vectors"):
        new_vecs, old_vecs = getattr(after, index).vectors(), getattr(before, index).vectors()
        for i, c in enumerate(after.chunks):
            if c.doc_id != "001":
                assert np.array_equal(new_vecs[i], old_vecs[old[c.chunk_id]])
    for i, c in enumerate(after.chunks):  # and their exact token vectors
        if c.doc_id != "001":
            j = old[c.chunk_id]
            new_tokens = after.token_vectors[after.token_start[i] : after.token_start[i + 1]]
            assert np.array_equal(new_tokens, before.token_vectors[before.token_start[j] : before.token_start[j + 1]])
    full = rebuild(built, embedder=FakeEmbedder(), full=True)
    assert full.embedded_documents == 5


def test_old_versions_are_collected(built: Settings) -> None:
    for i in range(4):
        (built.corpus_dir / "extra.txt").write_text(f"Texto número {i} sobre la experiencia.", encoding="utf-8")
        rebuild(built, embedder=FakeEmbedder())
    versions = [p for p in built.index_dir.iterdir() if p.name.startswith("v-")]
    assert len(versions) == 2
    assert not [p for p in built.index_dir.iterdir() if p.name.startswith(".tmp")]


def test_removed_document_disappears(built: Settings) -> None:
    (built.corpus_dir / "000_e1dc8b6cc2691786.txt").unlink()
    rebuild(built, embedder=FakeEmbedder())
    kb = open_kb(built)
    assert "000" not in {d.doc_id for d in kb.documents()}
    with pytest.raises(KBError, match="no document '000'"):
        kb.document("000")


def test_empty_corpus_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "c").mkdir()
    with pytest.raises(KBError, match="no usable articles"):
        rebuild(Settings(corpus_dir=tmp_path / "c", index_dir=tmp_path / "i"), embedder=FakeEmbedder())


def reloaded(index: VectorIndex, path: Path) -> VectorIndex:
    index.write(path)
    return VectorIndex.read(path, index.kind, index.spec)


def test_faiss_matches_exact_numpy_search(tmp_path: Path) -> None:
    rng = np.random.default_rng(42)
    vectors = rng.standard_normal((2000, 64)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    index = reloaded(VectorIndex.build(vectors, 64), tmp_path / "flat.faiss")
    assert index.kind == "flat"
    for q in rng.standard_normal((20, 64)).astype(np.float32):
        q /= np.linalg.norm(q)
        scores, rows = index.search(q, 10)
        exact = np.argsort(-(vectors @ q))[:10]
        assert list(rows) == list(exact)
        assert np.allclose(scores, (vectors @ q)[exact], atol=1e-5)
        subset = np.arange(0, 2000, 7)
        _, rows = index.search(q, 5, subset)
        exact_sub = subset[np.argsort(-(vectors[subset] @ q))[:5]]
        assert list(rows) == list(exact_sub)


def clustered(n: int, dim: int, seed: int) -> np.ndarray:
    """Unit vectors around 50 centres, like embeddings of texts on a few topics."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).standard_normal((50, dim)).astype(np.float32)  # the same topics for all
    vectors = centres[rng.integers(0, 50, n)] + 0.5 * rng.standard_normal((n, dim)).astype(np.float32)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def test_large_vector_sets_get_an_hnsw_index_close_to_exact(tmp_path: Path) -> None:
    vectors = clustered(20_000, 64, seed=7)
    spec = IndexSpec(exact_max=5_000, hnsw_m=16, ef_construction=40, ef_search=64)
    index = reloaded(VectorIndex.build(vectors, 64, spec), tmp_path / "hnsw.faiss")
    assert index.kind == "hnsw" and index.index.hnsw.efSearch == 64
    assert np.array_equal(index.vectors(np.array([3, 19_999])), vectors[[3, 19_999]])
    queries = clustered(100, 64, seed=8)
    found = 0
    for q in queries:
        _, rows = index.search(q, 10)
        found += len(set(rows.tolist()) & set(np.argsort(-(vectors @ q))[:10].tolist()))
    assert found / (10 * len(queries)) >= 0.95  # approximate, but close (bench/scale.py measures it)
    subset = np.arange(0, 20_000, 11)  # a filter: exact over its rows
    for q in queries[:10]:
        scores, rows = index.search(q, 5, subset)
        exact = subset[np.argsort(-(vectors[subset] @ q))[:5]]
        assert list(rows) == list(exact) and np.allclose(scores, vectors[exact] @ q, atol=1e-5)


def test_large_index_round_trips_through_a_rebuild(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index", exact_search_max=50)
    rebuild(settings, embedder=FakeEmbedder())
    kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    kinds = {name: meta["kind"] for name, meta in kb.stored.manifest["files"].items() if name.endswith(".faiss")}
    assert kinds == {"chunks.faiss": "hnsw", "sentences.faiss": "hnsw", "contexts.faiss": "hnsw"}
    flat = VectorIndex.build(kb.stored.chunk_vectors.vectors(), 16)
    assert np.array_equal(flat.vectors(), kb.stored.chunk_vectors.vectors())
    for chunk in kb.stored.chunks[::10]:  # a query equal to a passage's own text finds that passage
        title = kb.stored.documents[chunk.doc_id].title
        hits = kb.search(embedding_text(chunk, title), k=3)
        assert hits[0].chunk_id == chunk.chunk_id


def test_changed_derived_settings_rewrite_without_embedding(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kb.build

    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    assert not rebuild(settings, embedder=FakeEmbedder()).changed
    monkeypatch.setattr(kb.build, "DISCOVERY", {**kb.build.DISCOVERY, "aligned": 0.5})
    embedder = FakeEmbedder()
    report = rebuild(settings, embedder=embedder)
    assert report.changed and embedder.passages_embedded == 0
    assert read_index(settings.index_dir).manifest["translation_discovery"]["aligned"] == 0.5
    bigger = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index", exact_search_max=10)
    report = rebuild(bigger, embedder=embedder)
    assert report.changed and embedder.passages_embedded == 0
    assert read_index(settings.index_dir).manifest["files"]["chunks.faiss"]["kind"] == "hnsw"


def test_index_of_an_older_format_is_rebuilt_by_a_plain_rebuild(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    version = read_index(settings.index_dir).path
    manifest = json.loads((version / MANIFEST).read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    raw = json.dumps(manifest).encode()
    (version / MANIFEST).write_bytes(raw)
    pointer = json.loads((settings.index_dir / CURRENT).read_text())
    pointer["manifest_sha256"] = __import__("hashlib").sha256(raw).hexdigest()
    (settings.index_dir / CURRENT).write_text(json.dumps(pointer))
    with pytest.raises(KBError, match="format"):
        KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    report = rebuild(settings, embedder=FakeEmbedder())
    assert report.changed and report.reused_documents == 0
    assert (
        KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).stored.manifest["format_version"]
        == FORMAT_VERSION
    )
