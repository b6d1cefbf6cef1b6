"""The question adapter: what it learns carries to questions it never saw; too little data gets none; it is
stored with the version and an incremental rebuild fits the same one (tests/test_incremental.py)."""

from __future__ import annotations

from pathlib import Path
from unittest import mock

import numpy as np

from kb import KnowledgeBase, Settings
from kb.adapter import MIN_QUERIES, Adapter, fit_adapter
from kb.build import rebuild
from kb.index import Index
from kb.storage import FileStore

from .conftest import FakeEmbedder


def unit(m: np.ndarray) -> np.ndarray:
    return (m / np.linalg.norm(m, axis=-1, keepdims=True)).astype(np.float32)


def corpus_and_questions(seed: int, articles: int = 400, dim: int = 32):  # type: ignore[no-untyped-def]
    """Articles of 3 passages around a topic vector; questions that ask about a topic in a distorted
    space (as a question's vector differs from its passages' in a systematic way), two per article:
    one to fit on, one held out."""
    rng = np.random.default_rng(seed)
    topics = unit(rng.standard_normal((articles, dim)))
    passages = unit(np.repeat(topics, 3, axis=0) + 0.2 * rng.standard_normal((3 * articles, dim)))
    distortion = np.eye(dim) + 0.5 * rng.standard_normal((dim, dim)) / np.sqrt(dim)
    common = unit(rng.standard_normal(dim))  # a direction every question shares, whatever it asks

    def questions() -> np.ndarray:
        asked = unit(topics + 0.1 * rng.standard_normal(topics.shape)) @ distortion.T
        return unit(unit(asked) + common)

    positives = [np.arange(3 * i, 3 * i + 3) for i in range(articles)]
    return passages, questions(), questions(), positives


def found_at_1(adapter: Adapter, queries: np.ndarray, passages: np.ndarray, positives: list[np.ndarray]) -> float:
    best = np.array([np.argmax(passages @ adapter.adapt(q)) for q in queries])
    return float(np.mean([b in rows for b, rows in zip(best, positives, strict=True)]))


def test_the_map_helps_questions_it_was_not_fitted_on() -> None:
    passages, fit_on, held_out, positives = corpus_and_questions(seed=1)
    adapter = fit_adapter(fit_on, positives, passages)
    assert adapter.fitted
    none = Adapter.none(passages.shape[1])
    before, after = found_at_1(none, held_out, passages, positives), found_at_1(adapter, held_out, passages, positives)
    assert before < 0.4 and after > 0.8, (before, after)  # measured: 0.28 -> 0.89
    # its cosines come back on the model's scale: each question's best passage of its own article
    plain = np.array([(passages[rows] @ q).max() for q, rows in zip(fit_on, positives, strict=True)])
    mapped = np.array(
        [adapter.calibrated(passages[rows] @ adapter.adapt(q)).max() for q, rows in zip(fit_on, positives, strict=True)]
    )
    assert abs(mapped.mean() - plain.mean()) < 0.01 and abs(mapped.std() - plain.std()) < 0.01
    # stored and read back as it was
    again = Adapter.from_array(adapter.to_array())
    assert np.array_equal(again.matrix, adapter.matrix) and (again.scale, again.shift) == (adapter.scale, adapter.shift)


def test_too_few_titles_and_headings_get_no_map() -> None:
    passages, fit_on, _, positives = corpus_and_questions(seed=2, articles=MIN_QUERIES - 1)
    adapter = fit_adapter(fit_on, positives, passages)
    assert not adapter.fitted
    question = fit_on[0]
    assert np.array_equal(adapter.adapt(question), question)
    assert np.array_equal(adapter.calibrated(passages @ question), passages @ question)


def test_a_rebuild_fits_it_from_titles_and_headings_and_search_uses_it(tmp_path: Path, corpus_copy: Path) -> None:
    """Plumbing (fake embedder): with the bar lowered to the bundled corpus's 25 titles and headings,
    the rebuild stores a fitted map, and search ranks with it."""
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    stages: list[str] = []
    rebuild(settings, embedder=FakeEmbedder(), progress=lambda done, total, stage: stages.append(stage))
    assert "adapting" not in stages  # 25 titles and headings: no map, and no wait shown for one
    assert not Index.load(FileStore(settings.index_dir)).adapter.fitted
    with mock.patch("kb.adapter.MIN_QUERIES", 5):
        rebuild(settings, embedder=FakeEmbedder(), full=True, progress=lambda done, total, stage: stages.append(stage))
    assert stages.count("adapting") == 1  # the CLI and the app say what the wait is for
    index = Index.load(FileStore(settings.index_dir))
    assert index.adapter.fitted
    headings = sum(len(index.record(d).heading_vectors) for d in index.documents)
    assert headings > 0  # the corpus's section headings were read as questions
    kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    question = "¿Cómo medir el éxito?"
    with_map = [(h.chunk_id, round(h.score, 6)) for h in kb.search(question, k=5)]
    kb.index.adapter = Adapter.none(16)  # the same index without its map
    without = [(h.chunk_id, round(h.score, 6)) for h in kb.search(question, k=5)]
    assert with_map != without
