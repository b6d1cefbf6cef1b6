"""Index plumbing (fake embedder): manifest, validation errors, atomic versions, incremental rebuilds."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from kb import IndexUnusable, KBError, KnowledgeBase, Settings
from kb.build import rebuild
from kb.chunking import embedding_text
from kb.index import Index, segment_max
from kb.storage import FileStore
from kb.storage.base import FORMAT_VERSION
from kb.storage.faiss import VectorIndex
from kb.storage.files import CURRENT, MANIFEST
from kb.storage.tokens import TokenVectors
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
    index = Index.load(FileStore(built.index_dir))
    m = index.manifest
    assert m.format_version == FORMAT_VERSION == 11 and m.model.name == "fake" and m.model.dimension == 16
    assert m.chunking["max_chunk_tokens"] == built.max_chunk_tokens
    assert set(m.documents) == {"000", "001", "002", "003", "004"}
    assert all(len(d.sha256) == 64 for d in m.documents.values())
    assert m.counts.chunks == len(index) > 0 and m.skipped == ()
    assert set(m.files) == {
        "documents.jsonl",
        "chunks.jsonl",
        "chunks.faiss",
        "sentences.faiss",
        "contexts.faiss",
        "tokens.npy",
        "token_counts.npy",
        "token_sentences.npy",
        "token_code.npy",
        "titles.npy",
        "title_tokens.npy",
        "title_token_counts.npy",
        "headings.npy",
        "heading_counts.npy",
        "adapter.npy",
    }
    titles = np.load(index.path / "titles.npy")  # one vector per document, in documents.jsonl order
    assert titles.shape == (5, 16) and np.allclose(np.linalg.norm(titles, axis=1), 1.0, atol=1e-5)
    title_counts = np.load(index.path / "title_token_counts.npy")  # the fake reads a token per word
    assert title_counts.tolist() == [len(d.title.split()) for d in index.documents.values()]
    assert np.load(index.path / "title_tokens.npy").shape == (int(title_counts.sum()), 4)
    # the section headings read as questions, document after document
    heading_counts = np.load(index.path / "heading_counts.npy")
    assert heading_counts.tolist() == [
        len({c.heading for c in index.chunks() if c.doc_id == d and c.heading}) for d in index.documents
    ]
    assert np.load(index.path / "headings.npy").shape == (int(heading_counts.sum()), 16)
    # five articles give too few titles and headings for the question adapter: none (the identity)
    assert np.array_equal(np.load(index.path / "adapter.npy")[:-1], np.eye(16)) and not index.adapter.fitted
    codes = np.load(index.path / "tokens.npy")  # product-quantization codes: a byte per 4 dimensions
    assert codes.dtype == np.uint8 and codes.shape[1] == index.token_code.code_size == 4
    assert np.array_equal(np.load(index.path / "token_code.npy"), index.token_code.centroids)
    tokens, _, counts = index.token_vectors(np.arange(len(index)))
    assert tokens.dtype == np.float32 and len(tokens) == counts.sum() == m.counts.tokens > 0
    assert np.allclose(np.linalg.norm(tokens, axis=1), 1.0, atol=1e-5)  # read back as unit vectors
    reconstructed = np.linalg.norm(index.token_code.reconstruct(codes), axis=1)  # before that: near 1
    assert m.token_norms == pytest.approx((reconstructed.min(), reconstructed.max()), abs=1e-5)
    assert 0.6 <= m.token_norms[0] <= m.token_norms[1] <= 1.2
    assert m.built_at
    for line in (index.path / "chunks.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        body = index.document(rec["doc_id"]).body
        assert body[rec["start"] : rec["end"]] == rec["text"]
    assert "ó" in (index.path / "documents.jsonl").read_text(encoding="utf-8")  # ensure_ascii=False


def test_missing_index(tmp_path: Path) -> None:
    with pytest.raises(IndexUnusable, match="no index.*kb rebuild"):
        open_kb(Settings(index_dir=tmp_path / "nothing"))


@pytest.mark.parametrize(
    "name", ["chunks.faiss", "chunks.jsonl", "documents.jsonl", "sentences.faiss", "contexts.faiss", MANIFEST]
)
def test_tampered_file(built: Settings, name: str) -> None:
    path = Index.load(FileStore(built.index_dir)).path / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(IndexUnusable, match="corrupted.*kb rebuild"):
        open_kb(built)


def test_corrupted_pointer(built: Settings) -> None:
    (built.index_dir / CURRENT).write_text("garbage")
    with pytest.raises(IndexUnusable, match="corrupted"):
        open_kb(built)


def test_missing_file(built: Settings) -> None:
    (Index.load(FileStore(built.index_dir)).path / "chunks.faiss").unlink()
    with pytest.raises(IndexUnusable, match="kb rebuild"):
        open_kb(built)


def test_stale_index(built: Settings) -> None:
    path = built.corpus_dir / "003_68022a63496d1942.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\nNuova frase.", encoding="utf-8")
    with pytest.raises(IndexUnusable, match="stale: 003_68022a63496d1942.txt changed.*kb rebuild"):
        open_kb(built)
    assert open_kb(built, allow_stale=True).stale_reason
    (built.corpus_dir / "new.txt").write_text("Un article nouveau sur le client.", encoding="utf-8")
    with pytest.raises(IndexUnusable, match="new.txt was added"):
        open_kb(built)


def test_other_model(built: Settings) -> None:
    with pytest.raises(IndexUnusable, match="built with model 'fake'.*kb rebuild"):
        open_kb(built, FakeEmbedder(name="other"))


def test_no_change_rebuild_reuses_everything(built: Settings) -> None:
    embedder = FakeEmbedder()
    version = Index.load(FileStore(built.index_dir)).path.name
    report = rebuild(built, embedder=embedder)
    assert not report.changed and embedder.passages_embedded == 0
    assert Index.load(FileStore(built.index_dir)).path.name == version


def test_incremental_rebuild_embeds_only_changed_documents(built: Settings, tmp_path: Path) -> None:
    before = Index.load(FileStore(built.index_dir))
    path = built.corpus_dir / "001_a515b0edf6fefc07.txt"
    path.write_text(path.read_text(encoding="utf-8") + "\n\nUna frase nueva sobre clientes.", encoding="utf-8")
    embedder = FakeEmbedder()
    report = rebuild(built, embedder=embedder)
    assert report.changed and report.embedded_documents == 1 and report.reused_documents == 4
    after = Index.load(FileStore(built.index_dir))
    n_new = [c for c in after.chunks() if c.doc_id == "001"]
    # one pass per passage of the changed article (its sentences and contexts are pooled from it)
    assert embedder.passages_embedded == len(n_new)
    for doc_id in ("000", "002", "003", "004"):  # unchanged documents keep their vectors and token vectors
        old, new = before.record(doc_id), after.record(doc_id)
        assert old.chunks == new.chunks
        for part in ("chunk_vectors", "sentence_vectors", "context_vectors"):
            assert np.array_equal(getattr(old, part), getattr(new, part))
        for a, b in zip(old.token_vectors.per_chunk(), new.token_vectors.per_chunk(), strict=True):
            assert np.array_equal(a, b) and np.allclose(np.linalg.norm(b, axis=1), 1.0, atol=1e-5)
    # and what a user sees is what a full rebuild gives: the same passages, the same scores
    full = Settings(corpus_dir=built.corpus_dir, index_dir=tmp_path / "full")
    assert rebuild(full, embedder=FakeEmbedder(), full=True).embedded_documents == 5
    for question in ("Una frase nueva sobre clientes.", "customer experience emotions", "Be My Eyes"):
        incremental_hits = open_kb(built).search(question, k=10)
        full_hits = open_kb(full).search(question, k=10)
        assert [h.chunk_id for h in incremental_hits] == [h.chunk_id for h in full_hits]
        assert [h.score for h in incremental_hits] == pytest.approx([h.score for h in full_hits], abs=1e-6)


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
    kinds = {name: meta.kind for name, meta in kb.index.manifest.files.items() if name.endswith(".faiss")}
    assert kinds == {"chunks.faiss": "hnsw", "sentences.faiss": "hnsw", "contexts.faiss": "hnsw"}
    flat = VectorIndex.build(kb.index.chunk_vectors(), 16)
    assert np.array_equal(flat.vectors(), kb.index.chunk_vectors())
    for chunk in kb.index.chunks()[::10]:  # a query equal to a passage's own text finds that passage
        title = kb.document(chunk.doc_id).title
        hits = kb.search(embedding_text(chunk, title), k=3)
        assert hits[0].chunk_id == chunk.chunk_id


def test_changed_derived_settings_rewrite_without_embedding(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kb.build

    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    assert not rebuild(settings, embedder=FakeEmbedder()).changed
    monkeypatch.setattr(kb.build, "DISCOVERY", {**kb.build.DISCOVERY, "aligned": 0.55})
    embedder = FakeEmbedder()
    report = rebuild(settings, embedder=embedder)
    assert report.changed and embedder.passages_embedded == 0
    assert Index.load(FileStore(settings.index_dir)).manifest.translation_discovery["aligned"] == 0.55
    bigger = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index", exact_search_max=10)
    report = rebuild(bigger, embedder=embedder)
    assert report.changed and embedder.passages_embedded == 0
    assert Index.load(FileStore(settings.index_dir)).manifest.files["chunks.faiss"].kind == "hnsw"


def test_index_of_an_older_format_is_rebuilt_by_a_plain_rebuild(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    version = Index.load(FileStore(settings.index_dir)).path
    manifest = json.loads((version / MANIFEST).read_text())
    manifest["format_version"] = FORMAT_VERSION - 1
    raw = json.dumps(manifest).encode()
    (version / MANIFEST).write_bytes(raw)
    pointer = json.loads((settings.index_dir / CURRENT).read_text())
    pointer["manifest_sha256"] = __import__("hashlib").sha256(raw).hexdigest()
    (settings.index_dir / CURRENT).write_text(json.dumps(pointer))
    older = "format 10, not the supported 11 .*without the question adapter fitted to the corpus.*run `kb rebuild`"
    with pytest.raises(KBError, match=older):
        KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    report = rebuild(settings, embedder=FakeEmbedder())
    assert report.changed and report.reused_documents == 0
    assert (
        KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).index.manifest.format_version == FORMAT_VERSION
    )


def unit_rows(x: np.ndarray) -> np.ndarray:
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def token_like(rng: np.random.Generator, n: int) -> np.ndarray:
    """Unit vectors shaped like an encoder's token vectors: a shared direction, words, a little noise."""
    words = rng.standard_normal((300, 384))
    return unit_rows(2.0 + words[rng.integers(0, 300, n)] + 0.3 * rng.standard_normal((n, 384)))


def test_token_codes_keep_the_direction_of_vectors_they_were_not_learned_from() -> None:
    from kb.storage.tokens import TokenCode

    rng = np.random.default_rng(3)
    vectors = token_like(rng, 6000)
    code = TokenCode.train(vectors[:5000])
    assert TokenCode.train(vectors[:5000]).digest == code.digest  # learned the same way every time
    per_chunk = [vectors[5000:5200], vectors[5200:5200], vectors[5200:]]  # a chunk without tokens too
    stored = TokenVectors.encode(per_chunk, [np.arange(len(c)) % 3 for c in per_chunk], code)
    decoded = stored.per_chunk()
    assert [len(d) for d in decoded] == [200, 0, 800]
    assert [s.tolist() for s in stored.sentences_per_chunk()] == [(np.arange(len(c)) % 3).tolist() for c in per_chunk]
    assert stored.arrays[0].shape == (1000, 96)  # 96 bytes a vector instead of 1,536 as float32
    both = np.concatenate(decoded)
    assert np.allclose(np.linalg.norm(both, axis=1), 1.0, atol=1e-5)
    cosines = (both * vectors[5000:]).sum(axis=1)
    assert cosines.mean() >= 0.95 and cosines.min() >= 0.85
    with pytest.raises(KBError, match="unit vectors expected"):  # what no encoder produces is refused
        TokenVectors.encode([vectors[:10] * 127], [np.zeros(10)], code)


def test_writer_refuses_token_vectors_no_encoder_produces(built: Settings) -> None:
    """The format-4 bug wrote reused token vectors without their scales (hundreds of times too long):
    records in another code than the rest, or codes whose vectors come back far from unit, are refused."""
    from dataclasses import replace

    from kb.storage.files import write_version
    from kb.storage.tokens import TokenCode

    index = Index.load(FileStore(built.index_dir))
    records = [index.record(doc_id) for doc_id in index.documents]

    def in_code(record, code):  # type: ignore[no-untyped-def]  # its passages' and its title's token vectors
        moved = [TokenVectors(*vectors.arrays[:3], code) for vectors in (record.token_vectors, record.title_tokens)]
        return replace(record, token_vectors=moved[0], title_tokens=moved[1])

    other = TokenCode(index.token_code.centroids[:, ::-1])  # the same centroids, numbered otherwise
    with pytest.raises(KBError, match="different codes"):
        write_version(
            built.index_dir, [in_code(records[0], other), *records[1:]], index.manifest, index.adapter.to_array()
        )
    scaled = TokenCode(index.token_code.centroids * 127)
    with pytest.raises(KBError, match="refusing to write token vectors with norms"):
        write_version(built.index_dir, [in_code(r, scaled) for r in records], index.manifest, index.adapter.to_array())
    assert Index.load(FileStore(built.index_dir)).path == index.path  # the served version is untouched
    assert not list(built.index_dir.glob(".tmp-*"))
    written = write_version(
        built.index_dir, records, index.manifest, index.adapter.to_array()
    )  # records read back write the same index
    again = Index.load(FileStore(built.index_dir))
    assert again.path.name == written.version != index.path.name
    assert again.chunks() == index.chunks() and np.allclose(again.chunk_vectors(), index.chunk_vectors())


def test_progress_counts_files_then_articles(
    corpus_copy: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import kb.build

    monkeypatch.setattr(kb.build, "GROUP_PASSAGES", 1)  # five articles: a group, and a step, for each
    calls: list[tuple[int, int, str]] = []
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder(), progress=lambda done, total, stage: calls.append((done, total, stage)))
    reading = [(d, t) for d, t, s in calls if s == "reading"]
    embedding = [(d, t) for d, t, s in calls if s == "embedding"]
    assert reading[-1] == (5, 5) and embedding[0] == (0, 5) and embedding[-1] == (5, 5)
    assert [d for d, _ in embedding] == sorted(d for d, _ in embedding) and len(embedding) == 6  # one step an article
    # A rebuild with nothing changed reads no file: it is decided from the files' hashes and the manifest.
    import kb.readers

    def no_reading(*args: object) -> None:
        raise AssertionError("a file was read")

    monkeypatch.setattr(kb.readers, "read", no_reading)
    assert not rebuild(settings, embedder=FakeEmbedder()).changed


def test_chunk_records_read_by_row_equal_what_was_chunked(built: Settings, fake_embedder: FakeEmbedder) -> None:
    """Chunk records are kept as the file's bytes and columns, made into `Chunk`s when asked for:
    every row, in any order, gives back the chunk the rebuild wrote, and its columns agree."""
    from kb.chunking import chunk_document
    from kb.corpus import load_corpus

    index = Index.load(FileStore(built.index_dir))
    limit = min(built.max_chunk_tokens, fake_embedder.identity.max_tokens // 2)
    documents = load_corpus(built.corpus_dir, built.limits).documents
    expected = [c for d in documents for c in chunk_document(d, fake_embedder.count_tokens, limit)]
    assert sorted(index.chunks(), key=lambda c: c.chunk_id) == sorted(expected, key=lambda c: c.chunk_id)
    for row in reversed(range(len(index))):
        chunk = index.chunk(row)
        assert index.row_of(chunk.chunk_id) == row
        assert (index.doc_id_of(row), index.lang_of(row)) == (chunk.doc_id, chunk.lang)
        assert list(index.rows_of_document(chunk.doc_id)).count(row) == 1
    for unknown in ("nope#0", f"{index.chunk(0).doc_id}#999", "#", ""):
        with pytest.raises(KeyError):
            index.row_of(unknown)
    with pytest.raises(IndexError):
        index.chunk(len(index))


def test_a_passage_keeps_only_distinct_token_vectors() -> None:
    """Kept in order; no two kept ones as similar as the threshold; each dropped one is that similar
    to one kept before it (so the word match's best cosine loses at most the difference)."""
    from kb.storage.tokens import DISTINCT_TOKENS, distinct_tokens

    rng = np.random.default_rng(3)
    base = rng.standard_normal((12, 32))
    tokens = np.concatenate([base, base[[0, 4, 4]] + 0.05 * rng.standard_normal((3, 32))])
    tokens = (tokens / np.linalg.norm(tokens, axis=1, keepdims=True)).astype(np.float32)
    kept = tokens[distinct_tokens(tokens)]
    assert len(kept) == 12 and np.array_equal(kept, tokens[:12])  # the three near-copies go
    sims = kept @ kept.T
    assert (sims[~np.eye(len(kept), dtype=bool)] < DISTINCT_TOKENS).all()
    assert all((kept @ t).max() >= DISTINCT_TOKENS for t in tokens[12:])
    assert distinct_tokens(tokens[:1]).tolist() == [True] and distinct_tokens(tokens[:0]).shape == (0,)
    # within sentences: a near-copy in another sentence than the vector it is near stays
    sentences = np.array([0] * 12 + [0, 1, 0])  # the copy of row 0 and the first copy of row 4 (sentence 0)
    assert np.flatnonzero(~distinct_tokens(tokens, sentences)).tolist() == [12, 14]


def test_a_title_that_is_the_question_matches_its_words_better_than_a_longer_title(tmp_path: Path) -> None:
    """The title word match reads both ways: a title holding the question's words among many others
    ("Printing envelopes labels photos") covers the question as well as the title that is the question
    ("Printing"), but the question covers only a quarter of it. Before, both matched fully (1.0)."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for doc_id, title in (("short", "Printing"), ("long", "Printing envelopes labels photos")):
        (corpus / f"{doc_id}.txt").write_text(
            f"---\nid: {doc_id}\ntitle: {title}\nlang: en\n---\nHow to print: {title}.\n"
        )
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    embedder = FakeEmbedder()
    rebuild(settings, embedder=embedder)
    index = open_kb(settings, embedder).index
    rows = np.array([index.rows_of_document("short")[0], index.rows_of_document("long")[0]])
    short, long = index.title_word_matches(embedder.encode_query("Printing").tokens, rows)
    # token vectors are stored product-quantized: a word's cosine to itself is ~0.95 in 16 dimensions
    assert short > 0.9 and long < short - 0.15  # (1 + (1 + three unrelated words) / 4) / 2
    # a question that is the long title is covered by it both ways
    (match,) = index.title_word_matches(embedder.encode_query("Printing envelopes labels photos").tokens, rows[1:])
    assert match > 0.9


def test_the_best_of_each_segment_counts_every_row_even_before_empty_segments() -> None:
    """Per chunk (or title), the best cosine of its token vectors to each question token. A chunk
    followed by chunks without token vectors lost its last vector before (`np.maximum.reduceat`
    reads a start past the end as the last row)."""
    values = np.array([[0.1, 0.2], [0.3, 0.1], [0.9, 0.0], [0.4, 0.5]], dtype=np.float32)
    best = segment_max(values, np.array([3, 0, 1, 0]))
    np.testing.assert_allclose(best, [[0.9, 0.2], [0.0, 0.0], [0.4, 0.5], [0.0, 0.0]])
    np.testing.assert_allclose(segment_max(values, np.array([4, 0])), [[0.9, 0.5], [0.0, 0.0]])
    np.testing.assert_allclose(segment_max(values[:0], np.array([0, 0])), np.zeros((2, 2)))


def test_the_foreign_direction_is_the_question_languages_less_the_corpus_languages_mean(
    tmp_path: Path, fake_embedder: FakeEmbedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Index.foreign_direction`: for a language no article is written in, its direction (as measured for
    the model) less the mean of the corpus languages', made a unit vector; None for a corpus language, a
    language the model's directions do not name, or a model without directions (the fake one)."""
    import kb.index

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, lang in (("a", "es"), ("b", "fr")):
        (corpus / f"{name}.md").write_text(f"---\nlang: {lang}\n---\nTexto {name}.\n", encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings, embedder=fake_embedder)  # type: ignore[arg-type]
    index = KnowledgeBase.open(settings=settings, embedder=fake_embedder).index  # type: ignore[arg-type]
    assert index.languages == ["es", "fr"]
    assert index.foreign_direction("de") is None  # the fake model has no measured directions

    dim = index.manifest.model.dimension
    known = {lang: np.zeros(dim, np.float32) for lang in ("en", "de", "es", "fr")}
    known["de"][0], known["es"][1], known["fr"][1], known["fr"][2] = 3.0, 2.0, 2.0, 2.0
    monkeypatch.setattr(kb.index, "question_directions", lambda sha, dimension: known)
    index = KnowledgeBase.open(settings=settings, embedder=fake_embedder).index  # type: ignore[arg-type]
    expected = np.zeros(dim, np.float32)
    expected[:3] = [3.0, -2.0, -1.0]  # de - mean(es, fr)
    assert np.allclose(index.foreign_direction("de"), expected / np.linalg.norm(expected))
    english = np.zeros(dim, np.float32)
    english[:3] = [0.0, -2.0, -1.0]  # 0 (English is the reference) - mean(es, fr)
    assert np.allclose(index.foreign_direction("en"), english / np.sqrt(5.0))
    assert index.foreign_direction("es") is None and index.foreign_direction("it") is None
