"""Chunking: exact offsets, the seed quirks, token limits."""

from __future__ import annotations

import pytest

from kb.chunking import chunk_document, classify_lines
from kb.corpus import load_corpus
from kb.model import Embedder
from kb.types import Document

from .conftest import CORPUS


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder()


@pytest.fixture(scope="module")
def chunks(embedder: Embedder) -> dict[str, list]:
    docs = load_corpus(CORPUS).documents
    return {d.doc_id: (d, chunk_document(d, embedder.count_tokens, 200)) for d in docs}


def test_offsets_round_trip_for_every_chunk_and_sentence(chunks) -> None:
    total = 0
    for doc, cs in chunks.values():
        for c in cs:
            assert doc.body[c.start : c.end] == c.text
            assert c.text == c.text.strip() and c.text
            for s, e in c.sentences:
                assert c.start <= s < e <= c.end
                assert doc.body[s:e].strip() == doc.body[s:e]
            total += 1
    assert total > 50


def test_every_chunk_fits_the_model(chunks, embedder: Embedder) -> None:
    for _doc, cs in chunks.values():
        for c in cs:
            assert embedder.count_tokens(c.text) <= 200


def test_date_glued_to_first_sentence(chunks) -> None:
    doc, cs = chunks["002"]
    first = cs[0]
    assert first.text.startswith("Najbardziej niesamowite wydarzenie")
    assert doc.body[first.start - len("2019-05-20") : first.start] == "2019-05-20"
    assert not any("Publié" in c.text for c in chunks["004"][1])


def test_stray_lines_are_not_chunks(chunks) -> None:
    for doc_id in ("001", "003"):
        for c in chunks[doc_id][1]:
            assert c.text not in ("1969", "|")
            assert "\n1969" not in c.text and not c.text.endswith("|")


def test_bullets_stay_whole(chunks) -> None:
    for doc_id, marker in (("000", "•"), ("003", "- ")):
        doc, cs = chunks[doc_id]
        bullet_lines = [line.strip() for line in doc.body.splitlines() if line.strip().startswith(marker)]
        assert len(bullet_lines) >= 5
        for line in bullet_lines:
            holders = [c for c in cs if line in c.text]
            assert holders, line  # each bullet lies whole inside some chunk


def test_headings_are_context_not_chunks(chunks) -> None:
    doc, cs = chunks["002"]
    texts = [c.text for c in cs]
    assert "Mierzenie sukcesu" not in texts and "Wyspy danych" not in texts
    measured = [c for c in cs if c.heading == "Mierzenie sukcesu"]
    assert measured and measured[0].text.startswith("Znaczenie dobrego doświadczenia")


def test_parallel_articles_chunk_alike(chunks) -> None:
    assert len(chunks["002"][1]) == len(chunks["004"][1])


def test_long_paragraph_and_huge_line_are_split_to_fit() -> None:
    sentence = "La experiencia del cliente importa mucho en cada interacción con la marca. "
    body = "Título\n\n" + sentence * 80 + "\n\n" + "x" * 5000 + " " + "palabra " * 3000
    doc = Document("d", "T", "es", body)

    def count(text: str) -> int:
        return len(text) // 4 + 1

    cs = chunk_document(doc, count, 100)
    assert len(cs) > 10
    for c in cs:
        assert body[c.start : c.end] == c.text
        assert count(c.text) <= 100


def test_line_classification_kinds() -> None:
    body = "Title line\n\nA paragraph with a sentence.\n- bullet one\n• bullet two\n1969\n|\nLast line."
    kinds = [(body[x.start : x.end], x.kind) for x in classify_lines(body)]
    assert kinds == [
        ("Title line", "heading"),
        ("A paragraph with a sentence.", "text"),
        ("- bullet one", "bullet"),
        ("• bullet two", "bullet"),
        ("Last line.", "text"),
    ]
