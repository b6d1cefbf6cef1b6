"""`kb tune`: what it learns from (titles, headings, translations), that a corpus too small is refused with
nothing changed, and that a tuned model follows its index (opened, searched, rebuilt incrementally) until
`kb tune --off` goes back. The real model, a few steps: what the tuning is worth is measured in
bench/tune.py (docs/measurements.md), not here."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kb import KnowledgeBase, Settings
from kb import tune as tuning
from kb.build import rebuild
from kb.cli import main
from kb.model.loading import TUNED_FILE, base_of, following
from kb.service import Service
from kb.storage import FileStore
from kb.types import ModelIdentity

from .conftest import CORPUS, FakeEmbedder

ARTICLE = """---
title: {title}
lang: {lang}
{link}---
## {heading}

{body}
"""


def write_corpus(root: Path) -> Path:
    corpus = root / "corpus"
    corpus.mkdir()
    (corpus / "a-es.md").write_text(
        ARTICLE.format(
            title="Cómo imprimir", lang="es", link="id: print\n", heading="La impresora", body="Pulse imprimir."
        ),
        encoding="utf-8",
    )
    (corpus / "a-fr.md").write_text(
        ARTICLE.format(
            title="Comment imprimer",
            lang="fr",
            link="translation_of: print\n",
            heading="L'imprimante",
            body="Appuyez sur imprimer.",
        ),
        encoding="utf-8",
    )
    (corpus / "b-pl.md").write_text(
        ARTICLE.format(title="Jak zapisać", lang="pl", link="", heading="Zapis", body="Naciśnij zapisz."),
        encoding="utf-8",
    )
    return corpus


def test_what_tuning_learns_from(tmp_path: Path) -> None:
    corpus = write_corpus(tmp_path)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())  # type: ignore[arg-type]
    kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())  # type: ignore[arg-type]
    data = tuning.training_set(kb.index)
    pairs = {
        (q, data.passages[r], lang)
        for q, rows, lang in zip(data.queries, data.positives, data.langs, strict=True)
        for r in rows
    }
    # each title and heading for the passages below it, in its own language
    assert ("Cómo imprimir", "La impresora\nPulse imprimir.", "es") in pairs
    assert ("La impresora", "La impresora\nPulse imprimir.", "es") in pairs
    assert ("Jak zapisać", "Zapis\nNaciśnij zapisz.", "pl") in pairs
    # a translation's title for the passages of the other version: the only pairs across languages
    assert ("Cómo imprimir", "L'imprimante\nAppuyez sur imprimer.", "fr") in pairs
    assert ("Comment imprimer", "La impresora\nPulse imprimir.", "es") in pairs
    assert not any(q == "Jak zapisać" and "imprim" in p for q, p, _ in pairs)
    assert len(data.queries) == 3 + 3 + 2  # titles, headings, the two titles for their translation


def test_which_model_an_index_is_read_with(tmp_path: Path) -> None:
    tuned = tmp_path / "index" / "models" / "tuned-x"
    tuned.mkdir(parents=True)
    recorded = ModelIdentity(str(tuned), "0" * 64, 384, {}, True, 512)
    default = Settings(index_dir=tmp_path / "index")
    assert following(default, recorded) == default.model  # not a tuned model: no kb_tuned.json in it
    (tuned / TUNED_FILE).write_text('{"base": "multilingual-e5-small"}', encoding="utf-8")
    assert following(default, recorded) == str(tuned)  # the index's tuned model
    assert base_of(str(tuned)) == "multilingual-e5-small"  # tuning again starts from there, not from it
    assert base_of("multilingual-e5-small") == "multilingual-e5-small"
    assert following(replace(default, model="/elsewhere/model"), recorded) == "/elsewhere/model"  # chosen
    assert following(default, None) == default.model  # no index yet
    shutil.rmtree(tuned)
    assert following(default, recorded) == default.model  # deleted: the default, and open says why


def test_a_corpus_too_small_to_tune_on_is_refused_and_nothing_changes(
    real_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    index = tmp_path / "index"
    shutil.copytree(real_settings.index_dir, index)
    before = FileStore(index).manifest()
    assert main(["--index", str(index), "--corpus", str(CORPUS), "tune", "--steps", "1"]) == 1
    err = capsys.readouterr().err
    assert "tuning needs at least 300" in err and "nothing was changed" in err
    after = FileStore(index).manifest()
    assert after is not None and before is not None and after.version == before.version
    assert not (index / "models").exists()


def test_a_tuned_model_follows_its_index_until_tuning_is_turned_off(
    real_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    corpus, index = tmp_path / "corpus", tmp_path / "index"
    shutil.copytree(CORPUS, corpus)
    shutil.copytree(real_settings.index_dir, index)
    monkeypatch.setattr(tuning, "MIN_QUESTIONS", 10)  # the five articles have 25 titles and headings
    monkeypatch.setattr(tuning, "BATCH", 6)
    monkeypatch.setenv("KB_RUNTIME", "torch")  # no ONNX export of each tuned model in a test
    for name in ("KB_MODEL", "KB_INDEX_DIR", "KB_CORPUS_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = replace(real_settings, corpus_dir=corpus, index_dir=index, runtime="torch")
    question = "¿Cómo se mide la experiencia del cliente?"
    plain = KnowledgeBase.open(settings=settings).search(question, k=3)
    service = Service(settings)  # a running app or HTTP server, serving the index before it is tuned
    assert service.knowledge_base().embedder.name == settings.model

    assert main(["--index", str(index), "--corpus", str(corpus), "tune", "--steps", "4"]) == 0
    out = capsys.readouterr().out
    assert "index rebuilt with it" in out
    tuned_dirs = list((index / "models").iterdir())
    assert len(tuned_dirs) == 1 and (tuned_dirs[0] / TUNED_FILE).is_file()

    # opened without naming a model, the index is read with its tuned one; the answers come from it
    kb = KnowledgeBase.open(settings=settings)
    assert Path(kb.embedder.name) == tuned_dirs[0].resolve()
    assert kb.index.manifest.model.name == kb.embedder.name
    hits = kb.search(question, k=3)
    assert hits and [h.score for h in hits] != [h.score for h in plain]
    assert {h.doc_id for h in hits} & {h.doc_id for h in plain}  # still about the same articles

    # the running service moves to the tuned version (read with the tuned model), and its rebuilds keep it
    served = service.knowledge_base()
    assert served.version == kb.version and served.embedder.name == kb.embedder.name
    service.start()
    job = service.wait(timeout=600)
    assert job is not None and not job.error and job.report is not None and not job.report.changed
    assert service.knowledge_base().index.manifest.model.name == kb.embedder.name

    # an edit and an incremental rebuild keep the tuned model (that an incremental rebuild equals a full
    # one, whatever the model: tests/test_incremental.py)
    article = sorted(corpus.glob("*.txt"))[0]
    article.write_text(article.read_text(encoding="utf-8") + "\n\nUn párrafo nuevo.\n", encoding="utf-8")
    report = rebuild(settings)
    assert report.embedded_documents == 1 and report.reused_documents == 4
    incremental = KnowledgeBase.open(settings=settings)
    assert incremental.index.manifest.model.name == kb.embedder.name

    # off: the base model again (read with onnxruntime, as by default), the tuned ones deleted
    monkeypatch.delenv("KB_RUNTIME")
    settings = replace(settings, runtime="onnx")
    assert main(["--index", str(index), "--corpus", str(corpus), "tune", "--off"]) == 0
    assert "tuned models are deleted" in capsys.readouterr().out
    assert not (index / "models").exists() or not list((index / "models").iterdir())
    back = KnowledgeBase.open(settings=settings)
    assert back.embedder.name == settings.model
    assert back.index.manifest.model == KnowledgeBase.open(settings=real_settings).index.manifest.model
    assert back.search(question, k=3)
    assert main(["--index", str(index), "--corpus", str(corpus), "tune", "--off"]) == 1  # nothing to undo
    assert "not built with a model `kb tune` made" in capsys.readouterr().err
