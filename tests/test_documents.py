"""Real help-centre documents (GNOME help pages from a Debian package: HTML, PDF, DOCX, Markdown in es/fr/pl/it).

The fixtures and `expected.json` are made by `python bench/documents.py` (see tests/data/documents/README.md).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest

from kb import KnowledgeBase, Settings
from kb.build import rebuild
from kb.corpus import load_corpus, parse_file, replaced_by

from .conftest import DATA, ROOT

DOCUMENTS = DATA / "documents"
EXPECTED = json.loads((DOCUMENTS / "expected.json").read_text(encoding="utf-8"))
READABLE = [e for e in EXPECTED if not e.get("refuse")]
REFUSED = [e for e in EXPECTED if e.get("refuse")]


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


@pytest.mark.parametrize("expected", READABLE, ids=[e["file"] for e in READABLE])
def test_a_reader_sees_what_a_person_sees(expected: dict) -> None:
    doc = parse_file(DOCUMENTS / expected["file"])
    body = nfc(doc.body)
    assert doc.lang == expected["lang"] and nfc(doc.title) == expected["title"]
    headings = [nfc(text) for _, _, text in doc.sections]
    found = iter(headings)
    assert all(h in found for h in expected["headings"]), headings  # every section heading, in order
    for start, _, text in doc.sections:  # headings sit at their offsets
        assert doc.body[start : start + len(text)] == text
    for phrase in expected["must_contain"]:
        assert phrase in body, phrase
    for chrome in expected.get("must_not_contain", []):  # navigation, footer, licence, cookie banner
        assert chrome not in body, chrome
    for syntax in ("**", "](", "<div", "<p>", "&nbsp;", "| ---"):
        assert syntax not in doc.body and syntax not in doc.title
    if "pages" in expected:
        assert len(doc.pages) == expected["pages"]
        for phrase, page in expected["page_of"].items():
            assert doc.page_at(body.index(phrase)) == page, phrase


@pytest.fixture(scope="module")
def documents_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("documents")
    corpus = root / "corpus"
    corpus.mkdir()
    for entry in EXPECTED:
        shutil.copy(DOCUMENTS / entry["file"], corpus / entry["file"])
    settings = Settings.from_env(corpus_dir=corpus, index_dir=root / "index")
    report = rebuild(settings)
    assert sorted(s.path for s in report.skipped) == sorted(e["file"] for e in REFUSED)
    return KnowledgeBase.open(settings=settings)


def test_refused_files_say_what_to_do(documents_kb: KnowledgeBase) -> None:
    reasons = {s.path: s.reason for s in documents_kb.stats().skipped}
    assert reasons["presentation.pptx"] == "unsupported format .pptx — export it as PDF"
    assert reasons["broken.pdf"].startswith("broken PDF")


@pytest.mark.parametrize("expected", READABLE, ids=[e["file"] for e in READABLE])
def test_questions_in_english_find_each_format(documents_kb: KnowledgeBase, expected: dict) -> None:
    doc_id = Path(expected["file"]).stem
    hits = documents_kb.search(expected["question_en"], k=5)
    assert doc_id in [h.doc_id for h in hits], [(h.doc_id, h.text[:60]) for h in hits]


def test_pdf_citations_carry_their_page(documents_kb: KnowledgeBase) -> None:
    pdf = next(e for e in READABLE if "pages" in e)
    doc_id = Path(pdf["file"]).stem
    for phrase, page in pdf["page_of"].items():
        hit = next(
            h for h in documents_kb.search(phrase, k=10) if h.doc_id == doc_id and nfc(phrase[:30]) in nfc(h.text)
        )
        assert hit.page == page, phrase
    answer = documents_kb.ask("How do I move a window to another screen with the keyboard?")
    from_pdf = [c for c in answer.citations if c.doc_id == doc_id]
    assert from_pdf
    for c in from_pdf:
        assert documents_kb.document(c.doc_id).body[c.start : c.end] == c.quote
        assert c.page >= 1 and c.location.startswith(f"p. {c.page}")
        assert c.section and c.section[0] == "Navegación con el teclado"  # from the PDF's outline


def test_citations_carry_heading_path_and_url(documents_kb: KnowledgeBase) -> None:
    answer = documents_kb.ask("Comment économiser la batterie de mon ordinateur portable ?", languages=["fr"])
    c = answer.citations[0]
    assert c.doc_id == "power-batterylife"
    assert c.source == "https://help.gnome.org/users/gnome-help/stable/power-batterylife.html.fr"
    assert c.section[0] == nfc("Économie d’énergie et accroissement de la longévité de la batterie")
    assert " › ".join(c.section) in c.location


def test_kb_add_and_strict(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(DOCUMENTS / "nautilus-connect.md", corpus)
    base = [sys.executable, "-m", "kb", "--corpus", str(corpus), "--index", str(tmp_path / "index")]
    run = lambda *args: subprocess.run([*base, *args], capture_output=True, text=True, cwd=ROOT, timeout=600)  # noqa: E731
    assert run("rebuild").returncode == 0
    refused = run("add", str(DOCUMENTS / "presentation.pptx"))
    assert refused.returncode == 1 and "unsupported format .pptx — export it as PDF" in refused.stderr
    assert not (corpus / "presentation.pptx").exists()  # nothing copied
    broken = run("add", str(DOCUMENTS / "tips-specialchars.docx"), str(DOCUMENTS / "broken.pdf"))
    assert broken.returncode == 1 and "cannot add 'broken.pdf': broken PDF" in broken.stderr  # read first
    assert "nothing was added" in broken.stderr and sorted(p.name for p in corpus.iterdir()) == ["nautilus-connect.md"]
    added = run("add", str(DOCUMENTS / "tips-specialchars.docx"))
    assert added.returncode == 0, added.stderr
    assert "embedded 1 documents" in added.stdout
    shutil.copy(DOCUMENTS / "broken.pdf", corpus)  # put there by hand, not through `kb add`
    assert run("rebuild", "--strict").returncode == 2  # a skipped file fails --strict
    hits = json.loads(run("search", "Jak wpisać emoji?", "--json").stdout)
    assert hits[0]["doc_id"] == "tips-specialchars" and hits[0]["section"]
    other = tmp_path / "elsewhere" / "nautilus-connect.md"  # another file of an article's name
    other.parent.mkdir()
    other.write_text("---\nlang: es\ntitle: Llámenos\n---\nLlame al 0900 123 456.\n", encoding="utf-8")
    kept = (corpus / "nautilus-connect.md").read_bytes()
    replacing = run("add", str(other))
    assert replacing.returncode == 1 and "adding would replace" in replacing.stderr and "--replace" in replacing.stderr
    title = (
        KnowledgeBase.open(settings=Settings.from_env(index_dir=tmp_path / "index", corpus_dir=corpus))
        .document("nautilus-connect")
        .title
    )
    assert f'("{title}")' in replacing.stderr and (corpus / "nautilus-connect.md").read_bytes() == kept
    assert run("add", str(other), "--replace").returncode == 0
    assert (corpus / "nautilus-connect.md").read_bytes() == other.read_bytes()
    assert run("rebuild").returncode == 0
    # another name, the article's id in its header: it would take the article's place, so it is named too
    impostor = tmp_path / "elsewhere" / "n.md"
    impostor.write_text("---\nid: nautilus-connect\nlang: es\n---\nLlame al 0900 999 999.\n", encoding="utf-8")
    taking = run("add", str(impostor))
    assert taking.returncode == 1 and "adding would replace" in taking.stderr and "nautilus-connect.md" in taking.stderr
    assert not (corpus / "n.md").exists()
    # the same text under a longer name would be skipped as a copy: refused, saying of what
    copy = tmp_path / "elsewhere" / "nautilus-connect (1).md"
    copy.write_bytes(other.read_bytes())
    copied = run("add", str(copy), "--replace")
    assert copied.returncode == 1 and "same text as nautilus-connect.md" in copied.stderr
    assert not (corpus / copy.name).exists()


def test_what_an_upload_replaces(tmp_path: Path) -> None:
    """An offered file replaces an article by its file name (other bytes), by the id its header names, or by
    the same text, when it is the file the corpus would keep; else it is refused as a copy of that article."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "002_returns.txt").write_text("---\nid: 002\ntitle: Returns\n---\nReturns take 30 days.\n", "utf-8")
    (corpus / "faq.txt").write_text("Shipping takes 3 days to any address.\n", encoding="utf-8")
    documents = load_corpus(corpus).documents
    limits = Settings.from_env().limits

    def replaced(name: str, text: str) -> tuple[list[str], str]:
        out, refusal = replaced_by(documents, name, text.encode(), limits)
        return [d.path for d in out], refusal.kind if refusal else ""

    assert replaced("new.txt", "Something else entirely, said here.\n") == ([], "")
    assert replaced("faq.txt", "Shipping takes 5 days.\n") == (["faq.txt"], "")
    assert replaced("faq.txt", "Shipping takes 3 days to any address.\n") == ([], "")  # the same bytes
    assert replaced("a.txt", "---\nid: 002\n---\nCall 0900 for returns.\n") == (["002_returns.txt"], "")
    assert replaced("a_much_longer_name.txt", "---\nid: 002\n---\nCall 0900.\n") == ([], "duplicate")
    assert replaced("faq (1).txt", "Shipping takes 3 days to any address.\n") == ([], "duplicate")
    assert replaced("f.txt", "Shipping takes 3 days to any address.\n") == (["faq.txt"], "")
    # what replaced_by says is what a rebuild does: the file named takes the article's place
    (corpus / "a.txt").write_text("---\nid: 002\n---\nCall 0900 for returns.\n", encoding="utf-8")
    assert {d.doc_id: d.path for d in load_corpus(corpus).documents}["002"] == "a.txt"


def test_how_to_pages_make_no_fragment_a_principle(documents_kb: KnowledgeBase) -> None:
    """Help-centre pages (how-to guides): a heading, a table row or a fragment is never stated as a principle
    ("Określanie klawisza Compose", a heading, once was), and what is left is a point several works make."""
    for p in documents_kb.principles():
        quote = p.statement.quote
        assert len(quote.split()) >= 6 and "|" not in quote and not quote.rstrip().endswith(":"), quote
        assert p.works >= 2 and all(len(c.quote.split()) >= 6 for c in p.citations)
