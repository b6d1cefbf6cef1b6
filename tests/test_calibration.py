"""The `confident` threshold calibrated on each corpus's titles (kb/calibration.py). Plumbing with the fake
embedder; what it does to answers on real help centres is measured by bench/sizes.py (docs/measurements.md)."""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

from kb import KnowledgeBase, Settings
from kb.build import rebuild
from kb.calibration import CACHE, FIXED, OFFSET, QUANTILE, confident_threshold, cross_lingual_threshold
from kb.search import Ranking

from .conftest import CORPUS, FakeEmbedder


def expected_threshold(kb: KnowledgeBase, cross_lingual: bool = False) -> float:
    """What the calibration should find, through the public search: each title asked as a question (read
    by the model now, not from the index), the score of the best passage of another work (cross-lingual:
    searching the other languages' passages only)."""
    others = []
    for doc in kb.documents():
        query = kb.embedder.encode_query(doc.title)
        searched = [lang for lang in kb.languages() if lang != doc.lang] if cross_lingual else None
        hits = Ranking(kb.index, query, searched, doc.lang).top(10)
        own = kb.index.work(doc.doc_id)
        others.append(next(h.score for h in hits if kb.index.work(h.doc_id) != own))
    return float(np.quantile(others, QUANTILE)) - OFFSET


def _calibrated_bundled_corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """A copy of the bundled corpus indexed with the fake embedder, calibrated (5 articles are enough here)."""
    monkeypatch.setattr("kb.calibration.MIN_TITLES", 3)
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    return settings


def test_a_small_corpus_keeps_the_fixed_threshold(corpus_copy: Path, tmp_path: Path) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    assert kb.confident_score == FIXED and kb.stats().confidence == "fixed"
    chosen = KnowledgeBase.open(settings=replace(settings, confident_score=0.9), embedder=FakeEmbedder())
    assert chosen.confident_score == 0.9 and chosen.stats().confidence == "set"


def test_each_version_gets_its_threshold_from_its_titles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = _calibrated_bundled_corpus(tmp_path, monkeypatch)
    corpus = settings.corpus_dir
    kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    assert kb.stats().confidence == "calibrated" and kb.confident_score != FIXED
    # the rebuild left it beside the index: a process that opens the version does not compute it again
    cached = json.loads((settings.index_dir / CACHE).read_text(encoding="utf-8"))
    assert cached == {kb.index.manifest.version: [kb.confident_score, kb.cross_lingual_score]}
    with mock.patch("kb.calibration.confident_threshold", side_effect=AssertionError("computed again")):
        assert KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).confident_score == kb.confident_score

    # an article more: a new version, its own threshold; an incremental rebuild finds what a full one does
    first = sorted(corpus.glob("000_*.txt"))[0].read_text(encoding="utf-8")
    (corpus / "900_extra.txt").write_text(
        first.replace("id: 000", "id: 900").replace("title: ", "title: Otra mirada: ") + "\nUna frase más.\n",
        encoding="utf-8",
    )
    rebuild(settings, embedder=FakeEmbedder())
    incremental = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    full_settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "full")
    rebuild(full_settings, embedder=FakeEmbedder(), full=True)
    full = KnowledgeBase.open(settings=full_settings, embedder=FakeEmbedder())
    assert incremental.index.manifest.version != kb.index.manifest.version
    assert incremental.confident_score == full.confident_score != kb.confident_score
    assert incremental.cross_lingual_score == full.cross_lingual_score
    assert len(json.loads((settings.index_dir / CACHE).read_text(encoding="utf-8"))) == 2

    # a damaged or unwritable cache is only a cache: the threshold is computed again
    (settings.index_dir / CACHE).write_text("{not json", encoding="utf-8")
    assert KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).confident_score == incremental.confident_score


def test_the_threshold_is_what_the_titles_asked_as_questions_find(
    faiss_kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the real model: the titles and word pieces stored with the index (product-quantized) stand in
    for the model reading each title now, as a question is read."""
    monkeypatch.setattr("kb.calibration.MIN_TITLES", 3)
    found = confident_threshold(faiss_kb.index)
    assert found is not None and found == pytest.approx(expected_threshold(faiss_kb), abs=0.003)
    across = cross_lingual_threshold(faiss_kb.index)
    assert across is not None and across == pytest.approx(expected_threshold(faiss_kb, cross_lingual=True), abs=0.003)


def test_answers_follow_the_calibrated_threshold(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`confident` is decided against the version's threshold: the same question, the same best passage,
    confident under a threshold below its score and not above it."""
    settings = _calibrated_bundled_corpus(tmp_path, monkeypatch)
    question = next(iter(KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).documents())).title
    for shift, confident in ((-0.001, True), (0.001, False)):
        kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
        best = kb.search(question, k=1)[0].score
        kb.__dict__["confident_score"] = best + shift  # as if calibrated there
        answer = kb.ask(question)
        assert answer.confident or answer.contested if confident else not (answer.confident or answer.contested)


def test_a_question_no_searched_article_shares_the_language_of_meets_the_cross_lingual_threshold(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bundled articles are in es/fr/it/pl: a German question can only be answered across languages,
    and is judged against the cross-lingual threshold; a Spanish one against the other, unless the
    search is limited to languages other than Spanish."""
    settings = _calibrated_bundled_corpus(tmp_path, monkeypatch)
    kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    assert kb.stats().cross_lingual_score == kb.cross_lingual_score == cross_lingual_threshold(kb.index)

    def in_scope(question: str, languages: list[str] | None = None) -> bool:
        fresh = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
        best = fresh.search(question, k=1, languages=languages)[0].score
        fresh.__dict__["confident_score"] = best + 0.001  # as if calibrated just above and below it
        fresh.__dict__["cross_lingual_score"] = best - 0.001
        answer = fresh.ask(question, languages=languages)
        return answer.confident or answer.contested

    assert in_scope("Wie messen Unternehmen den Erfolg ihrer Kundenerfahrung?")
    spanish = "¿Cómo deberían las empresas medir el éxito de la experiencia de cliente?"
    assert not in_scope(spanish)
    assert in_scope(spanish, languages=["pl"])
