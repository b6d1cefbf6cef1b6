"""An incremental rebuild equals a full one: random corpus edits (hypothesis, fake embedder), then the real model."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kb import Document, KnowledgeBase, Settings
from kb.build import rebuild
from kb.index import Index
from kb.storage import FileStore

from .conftest import CORPUS, FakeEmbedder

SENTENCES = {
    "es": [
        "La experiencia de cliente empieza por escuchar.",
        "Medimos el éxito con la satisfacción de los clientes.",
        "Un buen servicio crea confianza y fidelidad.",
        "La tecnología ayuda, pero las personas deciden.",
    ],
    "pl": [
        "Doświadczenie klienta zaczyna się od słuchania.",
        "Sukces mierzymy zadowoleniem klientów.",
        "Dobra obsługa buduje zaufanie i lojalność.",
        "Technologia pomaga, ale decydują ludzie.",
    ],
    "fr": [
        "L'expérience client commence par l'écoute.",
        "Nous mesurons le succès par la satisfaction des clients.",
        "Un bon service crée la confiance et la fidélité.",
        "La technologie aide, mais ce sont les personnes qui décident.",
    ],
    "it": [
        "L'esperienza del cliente inizia dall'ascolto.",
        "Misuriamo il successo con la soddisfazione dei clienti.",
        "Un buon servizio crea fiducia e fedeltà.",
        "La tecnologia aiuta, ma decidono le persone.",
    ],
}
LANGS = sorted(SENTENCES)
QUESTIONS = ["¿Cómo medir el éxito?", "customer trust", "Technologia pomaga", "ascolto del cliente"]


def article(doc_id: str, lang: str, picks: list[int], title: str = "", translation_of: str = "") -> str:
    header = [f"id: {doc_id}", f"lang: {lang}", f"title: {title or 'Article ' + doc_id}"]
    if translation_of:
        header.append(f"translation_of: {translation_of}")
    paragraphs = [" ".join(SENTENCES[lang][p % 4] for p in picks[i : i + 2]) for i in range(0, len(picks), 2)]
    return "---\n" + "\n".join(header) + "\n---\n" + "\n\n".join(paragraphs) + "\n"


# One corpus operation: (kind, a number choosing the file it applies to, numbers shaping the new text)
OPERATIONS = st.tuples(
    st.sampled_from(["add", "edit", "delete", "rename", "retitle", "resource", "copy", "reexport", "translate"]),
    st.integers(0, 50),
    st.lists(st.integers(0, 3), min_size=1, max_size=5),
)


class Corpus:
    """A corpus directory that operations change; every write gets a later modification time."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.clock = 1_700_000_000 * 10**9
        self.serial = 0
        for lang, doc_id in zip(LANGS, ("a", "b", "c"), strict=False):
            self.write(f"{doc_id}.txt", article(doc_id, lang, [0, 1, 2]))

    def files(self) -> list[Path]:
        return sorted(self.root.iterdir())

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.write_text(text, encoding="utf-8")
        self.clock += 10**9
        os.utime(path, ns=(self.clock, self.clock))

    def apply(self, kind: str, pick: int, numbers: list[int]) -> None:
        files = self.files()
        path = files[pick % len(files)]
        text = path.read_text(encoding="utf-8")
        self.serial += 1
        new_id = f"n{self.serial}"
        lang = LANGS[numbers[0] % len(LANGS)]
        if kind == "add":
            self.write(f"{new_id}.txt", article(new_id, lang, numbers))
        elif kind == "edit":
            self.write(path.name, text + "\n" + " ".join(SENTENCES[_lang(text)][n] for n in numbers) + "\n")
        elif kind == "delete" and len(files) > 1:
            path.unlink()
        elif kind == "rename":
            path.rename(self.root / f"renamed{self.serial}.txt")  # keeps its modification time
        elif kind == "retitle":  # the title is part of what is embedded
            self.write(path.name, text.replace("title: ", f"title: {new_id} ", 1))
        elif kind == "resource":  # a header field that is not embedded
            self.write(path.name, text.replace("---\n", f"---\nsource: https://example.com/{new_id}\n", 1))
        elif kind == "copy":  # a byte copy, as a file manager makes it
            self.write(f"{path.stem} ({self.serial}).txt", text)
        elif kind == "reexport":  # the same article exported again without its header
            self.write(f"export{self.serial}.txt", text.split("---\n", 2)[-1] if text.startswith("---") else text)
        elif kind == "translate":  # a translation: declared in its header, sentence by sentence the same points
            doc_id = _header(text).get("id", path.stem)
            other = next(x for x in LANGS if x != _lang(text))
            picks = [SENTENCES[_lang(text)].index(s) for s in _sentences(text)] or [0]
            self.write(f"{new_id}.txt", article(new_id, other, picks, translation_of=doc_id))


def _header(text: str) -> dict[str, str]:
    if not text.startswith("---\n"):
        return {}
    head = text.split("---\n", 2)[1]
    return dict(line.split(": ", 1) for line in head.splitlines() if ": " in line)


def _lang(text: str) -> str:
    lang = _header(text).get("lang")
    return lang if lang in SENTENCES else next(x for x in LANGS if any(s in text for s in SENTENCES[x]))


def _sentences(text: str) -> list[str]:
    lang = _lang(text)
    return [s for s in SENTENCES[lang] if s in text]


def _embedded_as(doc: Document) -> tuple[str, str, str, str]:
    return doc.doc_id, doc.title, doc.lang, doc.body


def assert_same_index(incremental: Settings, full: Settings) -> None:
    """The two indexes hold the same documents, chunks, vectors and token vectors, and answer alike."""
    a, b = Index.load(FileStore(incremental.index_dir)), Index.load(FileStore(full.index_dir))
    assert a.documents == b.documents
    assert a.chunks() == b.chunks()
    for field in ("documents", "skipped", "translations", "counts", "corpus_fingerprint"):
        assert getattr(a.manifest, field) == getattr(b.manifest, field), field
    for doc_id in a.documents:
        ra, rb = a.record(doc_id), b.record(doc_id)
        for part in ("chunk_vectors", "sentence_vectors", "context_vectors"):
            assert np.allclose(getattr(ra, part), getattr(rb, part), atol=1e-6), (doc_id, part)
        assert len(ra.token_vectors) == len(rb.token_vectors)
        for ta, tb in zip(ra.token_vectors.per_chunk(), rb.token_vectors.per_chunk(), strict=True):
            assert ta.shape == tb.shape and np.allclose(ta, tb, atol=1e-6), doc_id
        (ta,), (tb,) = ra.title_tokens.per_chunk(), rb.title_tokens.per_chunk()
        assert ta.shape == tb.shape and len(ta) and np.allclose(ta, tb, atol=1e-6), doc_id
        assert np.allclose(ra.heading_vectors, rb.heading_vectors, atol=1e-6), doc_id
    assert np.allclose(a.language_basis, b.language_basis, atol=1e-5)
    assert a.adapter.fitted == b.adapter.fitted
    assert np.allclose(a.adapter.to_array(), b.adapter.to_array(), atol=1e-4)
    kb_a = KnowledgeBase.open(settings=incremental, embedder=FakeEmbedder())
    kb_b = KnowledgeBase.open(settings=full, embedder=FakeEmbedder())
    for question in QUESTIONS:
        hits_a, hits_b = kb_a.search(question, k=10), kb_b.search(question, k=10)
        assert [h.chunk_id for h in hits_a] == [h.chunk_id for h in hits_b], question
        assert [h.score for h in hits_a] == pytest.approx([h.score for h in hits_b], abs=1e-5)
        assert kb_a.ask(question).text == kb_b.ask(question).text


# 60 random edit sequences per run (new ones each run: hypothesis's database keeps any failing one);
# `python bench/incremental.py` compares an incremental rebuild with a full one as a user runs them.
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations=st.lists(OPERATIONS, min_size=1, max_size=6))
def test_incremental_rebuild_equals_full_rebuild(operations: list[tuple[str, int, list[int]]]) -> None:
    # the question adapter fitted from these few titles too (its bar lowered): from reused and new records alike
    with tempfile.TemporaryDirectory() as tmp, mock.patch("kb.adapter.MIN_QUERIES", 2):
        root = Path(tmp)
        (root / "corpus").mkdir()
        corpus = Corpus(root / "corpus")
        incremental = Settings(corpus_dir=corpus.root, index_dir=root / "index")
        rebuild(incremental, embedder=FakeEmbedder())
        for step, (kind, pick, numbers) in enumerate(operations):
            before = {_embedded_as(d) for d in Index.load(FileStore(incremental.index_dir)).documents.values()}
            corpus.apply(kind, pick, numbers)
            embedder = FakeEmbedder()
            report = rebuild(incremental, embedder=embedder)
            full = Settings(corpus_dir=corpus.root, index_dir=root / f"full{step}")
            rebuild(full, embedder=FakeEmbedder(), full=True)
            assert_same_index(incremental, full)
            # exactly the articles whose text, title, language or id is new are embedded (a rename,
            # a copy or a header field that is not embedded costs nothing)
            after = Index.load(FileStore(incremental.index_dir)).documents.values()
            assert report.embedded_documents == len({_embedded_as(d) for d in after} - before), kind
            shutil.rmtree(full.index_dir)


def test_duplicates_keep_the_indexed_file(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(corpus_dir=corpus_copy, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    original = next(corpus_copy.glob("002_*.txt"))
    copy = corpus_copy / f"{original.stem} (1).txt"  # sorts before the original
    shutil.copy2(original, copy)  # the copy keeps the original's modification time, as some file managers do
    text = original.read_text(encoding="utf-8")
    (corpus_copy / "exported.txt").write_text(text.split("---\n", 2)[2], encoding="utf-8")  # no header
    report = rebuild(settings, embedder=FakeEmbedder())
    assert {d.path for d in KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).documents()} == {
        p.name for p in corpus_copy.glob("00*.txt") if p != copy
    }
    reasons = {s.path: s.reason for s in report.skipped}
    assert reasons == {
        copy.name: f"same text as {original.name} (article '002'); delete one of the two files",
        "exported.txt": f"same text as {original.name} (article '002'); delete one of the two files",
    }
    stats = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).stats()
    assert {s.path: s.reason for s in stats.skipped} == reasons  # kept in the manifest, not only in the report
    assert report.changed and report.embedded_documents == 0


def test_real_model_incremental_equals_full(real_settings: Settings, tmp_path: Path) -> None:
    """Edit, add and delete articles of the bundled corpus; the incremental index answers as a full rebuild does."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    incremental = Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "index")
    shutil.copytree(real_settings.index_dir, incremental.index_dir)  # the session's full build of the same corpus
    edited = next(corpus.glob("001_*.txt"))
    edited.write_text(
        edited.read_text(encoding="utf-8")
        + "\n\nLa paciencia del equipo de atención al cliente convierte una queja en una recomendación.\n",
        encoding="utf-8",
    )
    (corpus / "005_nps.txt").write_text(
        "---\nid: 005\ntitle: Net Promoter Score\nlang: it\n---\n"
        "Il Net Promoter Score chiede ai clienti se raccomanderebbero l'azienda a un amico.\n\n"
        "Un punteggio alto non basta: bisogna leggere i commenti e agire sui motivi dei detrattori.\n",
        encoding="utf-8",
    )
    next(corpus.glob("000_*.txt")).unlink()
    report = rebuild(incremental)
    assert report.embedded_documents == 2 and report.reused_documents == 3
    full = Settings.from_env(corpus_dir=corpus, index_dir=tmp_path / "full")
    rebuild(full, full=True)
    kb_inc, kb_full = KnowledgeBase.open(settings=incremental), KnowledgeBase.open(settings=full)
    questions = [
        "Is customer experience about emotion or technology?",
        "¿Cómo medir el éxito de la experiencia de cliente?",
        "Czy technologia jest punktem wyjścia dla doświadczenia klienta?",
        "Perché l'essere umano è al centro della customer experience?",
        "Pourquoi les émotions comptent-elles pour les marques ?",
        "Was fragt der Net Promoter Score die Kunden?",
        "How does patience turn a complaint into a recommendation?",
        "What does Be My Eyes do?",
    ]
    for question in questions:
        a, b = kb_inc.search(question, k=10), kb_full.search(question, k=10)
        assert [h.chunk_id for h in a] == [h.chunk_id for h in b], question
        assert [h.score for h in a] == pytest.approx([h.score for h in b], abs=1e-4), question
        assert all(h.score <= 1.0 for h in a)  # relevance is a mean of cosines (the format-4 bug gave 60-120)
    assert kb_inc.search(questions[6], k=1)[0].doc_id == "001"  # the edited passage is found, not buried
    assert kb_inc.search(questions[5], k=1)[0].doc_id == "005"  # so is the new article
    for off_topic in ("What is the capital of Australia?", "How do I bake sourdough bread?"):
        assert not kb_inc.ask(off_topic).confident and not kb_full.ask(off_topic).confident
    low, high = kb_inc.stats().token_norms
    assert 0.6 <= low <= high <= 1.2  # unit vectors, as their codes give them back (then made unit again)


def test_edge_documents_round_trip_and_stay_incremental(tmp_path: Path) -> None:
    """A line separator inside a body, a file without a word to index, a paragraph that becomes a heading."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "sep.txt").write_text("La atención al cliente\u2028empieza por escuchar con paciencia.", encoding="utf-8")
    (corpus / "numbers.txt").write_text("12345\n\n67890\n", encoding="utf-8")
    (corpus / "faq.md").write_text("# Devoluciones\n\nPlazos de reembolso\n\nEl reembolso tarda cinco días.\n")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    index = Index.load(FileStore(settings.index_dir))
    assert "\u2028" in index.document("sep").body and not len(index.rows_of_document("numbers"))
    (corpus / "faq.md").write_text("# Devoluciones\n\n## Plazos de reembolso\n\nEl reembolso tarda cinco días.\n")
    (corpus / "sep.txt").write_text("La atención al cliente\u2028empieza por escuchar.", encoding="utf-8")
    rebuild(settings, embedder=FakeEmbedder())  # reuses "numbers" (no chunks) and sees the new heading
    full = Settings(corpus_dir=corpus, index_dir=tmp_path / "full")
    rebuild(full, embedder=FakeEmbedder(), full=True)
    assert_same_index(settings, full)
    assert Index.load(FileStore(settings.index_dir)).document("faq").section_at(40) == (
        "Devoluciones",
        "Plazos de reembolso",
    )
