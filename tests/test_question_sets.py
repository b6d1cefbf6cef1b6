"""Question sets: gold documents without a quote, clear errors, and the shape of the committed help-centre set."""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from bench.fakes import FakeEmbedder
from bench.helpcentre_questions import split_of
from kb import KBError, KnowledgeBase, Settings
from kb.build import rebuild
from kb.corpus import slug
from kb.evaluate import load_questions

from .conftest import ROOT

HELPCENTRE = ROOT / "bench" / "data" / "helpcentre"
LANGS = {"en", "de", "es", "fr", "it", "pl"}


@pytest.fixture(scope="module")
def tiny_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """Two hand-made articles indexed with the fake embedder (plumbing only: no retrieval is judged here)."""
    root = tmp_path_factory.mktemp("tiny")
    corpus = root / "corpus"
    (corpus / "es").mkdir(parents=True)
    (corpus / "es" / "contraste.txt").write_text(
        "Ajustar el contraste\n\nPuede hacer que las ventanas y los botones sean más fáciles de ver.\n",
        encoding="utf-8",
    )
    (corpus / "pl").mkdir()
    (corpus / "pl" / "kontrast.txt").write_text(
        "Dostosowanie kontrastu\n\nMożna sprawić, że okna i przyciski będą lepiej widoczne.\n", encoding="utf-8"
    )
    settings = Settings(corpus_dir=corpus, index_dir=root / "index")
    embedder: Any = FakeEmbedder()  # duck-typed: kb.model.Embedder is a class, not a protocol
    rebuild(settings, embedder=embedder)
    return KnowledgeBase.open(settings=settings, embedder=embedder)


def write_rows(path: Path, rows: list[object]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_gold_without_quote_is_the_whole_document(tiny_kb: KnowledgeBase, tmp_path: Path) -> None:
    body = tiny_kb.document("es-contraste").body
    quote = "los botones sean más fáciles de ver"
    path = write_rows(
        tmp_path / "q.jsonl",
        [
            {"id": "whole", "lang": "de", "question": "Kontrast anpassen", "gold": [{"doc_id": "es-contraste"}]},
            {"id": "quoted", "lang": "es", "question": "q", "gold": [{"doc_id": "es-contraste", "quote": quote}]},
            {
                "id": "both",
                "lang": "en",
                "question": "q",
                "gold": [{"doc_id": "es-contraste"}, {"doc_id": "pl-kontrast"}],
            },
            {"id": "none", "lang": "en", "question": "Who won the Tour de France in 1998?", "gold": []},
        ],
    )
    whole, quoted, both, none = load_questions(path, tiny_kb)
    assert whole.gold == [("es-contraste", 0, len(body))]
    start = body.index(quote)
    assert quoted.gold == [("es-contraste", start, start + len(quote))]
    assert both.gold[1] == ("pl-kontrast", 0, len(tiny_kb.document("pl-kontrast").body))
    assert none.gold == [] and none.lang == "en"


def test_unknown_gold_document_names_the_question(tiny_kb: KnowledgeBase, tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "q.jsonl",
        [
            {"id": "fine", "question": "q", "gold": [{"doc_id": "pl-kontrast"}]},
            {"id": "hc-lost-title-de", "question": "q", "gold": [{"doc_id": "fr-lost"}]},
        ],
    )
    with pytest.raises(KBError, match=r"hc-lost-title-de: gold document 'fr-lost' is not in the index"):
        load_questions(path, tiny_kb)


@pytest.mark.parametrize(
    "line", ['{"id": "a", "gold": []}', '{"id": "a", "question": "q", "gold": [{"quote": "x"}]}', "[1, 2]", "{oops"]
)
def test_malformed_row_names_the_line(tiny_kb: KnowledgeBase, tmp_path: Path, line: str) -> None:
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "ok", "question": "q", "gold": []}\n\n' + line + "\n", encoding="utf-8")
    with pytest.raises(KBError, match=r"q\.jsonl line 3: not a question row"):
        load_questions(path, tiny_kb)


def read(name: str) -> list[dict]:
    return [json.loads(line) for line in (HELPCENTRE / name).read_text(encoding="utf-8").splitlines()]


def test_helpcentre_set_shape() -> None:
    """The committed set is what bench/helpcentre_questions.py promises (its figures come from `kb eval`)."""
    splits = {name: read(f"{name}.jsonl") for name in ("dev", "test")}
    rows = splits["dev"] + splits["test"]
    assert len(rows) >= 500
    assert len({r["id"] for r in rows}) == len(rows)
    pages: dict[str, set[str]] = {name: {r["page"] for r in split} for name, split in splits.items()}
    assert not pages["dev"] & pages["test"]  # a page's questions are all in one split
    assert all(split_of(page) == name for name, names in pages.items() for page in names)
    doc_of: dict[str, set[str]] = defaultdict(set)
    pages_of: dict[str, set[str]] = defaultdict(set)
    for r in rows:
        assert r["lang"] in LANGS and r["kind"] in ("title", "desc", "keywords") and len(r["question"]) >= 2
        assert r["gold"] == [{"doc_id": slug(f"{r['doc_lang']}/{r['page']}")}]  # whole article, kb's id for its file
        doc_of[r["page"]].add(r["gold"][0]["doc_id"])
        pages_of[r["question"]].add(r["page"])
    assert all(len(docs) == 1 for docs in doc_of.values())  # one article per page in the mixed corpus
    assert all(len(p) == 1 for p in pages_of.values())  # no question with two answers
    assert sum(len(p) for p in pages_of.values()) == len(rows)  # nor asked twice about one page
    assert sum(r["lang"] != r["doc_lang"] for r in rows) > len(rows) / 2
    for split in splits.values():
        assert {r["lang"] for r in split} == LANGS and {r["kind"] for r in split} >= {"title", "desc"}


def test_helpcentre_offtopic_questions() -> None:
    rows = read("offtopic.jsonl")
    assert all(r["gold"] == [] for r in rows)  # out of scope, as in bench/data/dev.jsonl
    assert Counter(r["lang"] for r in rows) == {lang: 10 for lang in LANGS}
    assert len({r["question"] for r in rows}) == len({r["id"] for r in rows}) == len(rows)
