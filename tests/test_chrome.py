"""Site chrome (kb/chrome.py): a line a site repeats on most of its pages is not article text."""

from __future__ import annotations

from pathlib import Path

from kb import KnowledgeBase, Settings
from kb.build import rebuild
from kb.chrome import MIN_PAGES
from kb.corpus import load_corpus, parse_file

from .conftest import CORPUS, FakeEmbedder
from .test_incremental import assert_same_index

BANNER = "Centro de ayuda de Acme"
ARTICLES = {
    "contrasena": ("Cambiar la contraseña", "Abra Configuración y pulse Seguridad para cambiar la contraseña."),
    "devoluciones": ("Devolver un pedido", "Tiene treinta días desde la entrega para devolver un pedido sin coste."),
    "factura": ("Descargar una factura", "Las facturas están en Mis pedidos, junto a cada pedido entregado."),
    "envio": ("Plazos de envío", "Los pedidos salen del almacén en veinticuatro horas laborables."),
    "cuenta": ("Cerrar la cuenta", "Para cerrar la cuenta, escriba al equipo de atención desde el formulario."),
    "pago": ("Métodos de pago", "Aceptamos tarjeta, transferencia bancaria y pago contra reembolso."),
    "cupones": ("Usar un cupón", "Escriba el código del cupón en la cesta antes de pagar el pedido."),
    "direccion": ("Cambiar la dirección", "La dirección de entrega se cambia en Mi cuenta, apartado Direcciones."),
}
COMMON = "Si necesita más ayuda, escriba al equipo de atención al cliente desde el formulario de contacto."


def page(title: str, text: str, extra: str = "") -> str:
    """A help page as some site generators lay it out: the help's name as the first paragraph of the main
    content, above the article's own heading (the reader cannot tell it from the article)."""
    paragraphs = "".join(
        f"<p>{text} Este párrafo {n} explica el paso con el detalle que un cliente necesita para hacerlo solo.</p>"
        for n in range(1, 5)
    )
    return (
        f'<!DOCTYPE html><html lang="es"><head><meta charset="utf-8"><title>{title} | Acme</title></head><body>'
        f'<main><div class="hgroup"><p>{BANNER}</p></div><h1>{title}</h1>{paragraphs}{extra}</main></body></html>'
    )


def write_site(folder: Path, slugs: list[str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, slug in enumerate(slugs):
        title, text = ARTICLES[slug]
        (folder / f"{slug}.html").write_text(page(title, text, f"<p>{COMMON}</p>" if i < 2 else ""), encoding="utf-8")


def test_a_sites_banner_is_not_article_text(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_site(corpus / "acme", list(ARTICLES))
    for bundled in CORPUS.iterdir():  # other articles, at the top level: nothing of theirs is chrome
        if bundled.suffix == ".txt":
            (corpus / bundled.name).write_bytes(bundled.read_bytes())
    read_alone = parse_file(corpus / "acme" / "factura.html")
    assert read_alone.body.startswith(BANNER)  # what the reader keeps: why the corpus must drop it

    documents = {d.doc_id: d for d in load_corpus(corpus).documents}
    for slug, (title, text) in ARTICLES.items():
        doc = documents[f"acme-{slug}"]
        assert BANNER not in doc.body and doc.body.startswith(title), doc.body[:80]
        assert doc.title == title
        assert all(doc.body[offset:].startswith(heading) for offset, _, heading in doc.sections), doc.sections
        assert text in doc.body
    assert sum(COMMON in d.body for d in documents.values()) == 2  # repeated on 2 pages of 8: the article's own
    for bundled in CORPUS.glob("*.txt"):
        doc = parse_file(bundled)
        assert documents[doc.doc_id].body == doc.body

    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    kb = KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())
    answer = kb.ask(BANNER)
    assert answer.citations and not any(BANNER in c.quote for c in answer.citations)
    assert all(BANNER not in hit.text for hit in kb.search(BANNER, k=20))


def test_chrome_found_or_lost_as_pages_come_and_go_incremental_equals_full(tmp_path: Path) -> None:
    """Pages added until the banner is on enough of them, then removed: each incremental rebuild equals a
    full one (a page whose text changed because a line became chrome is embedded again)."""
    corpus = tmp_path / "corpus"
    slugs = list(ARTICLES)
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")
    for count in (MIN_PAGES - 1, len(slugs), MIN_PAGES - 2):
        for old in (corpus / "acme").glob("*.html") if (corpus / "acme").exists() else ():
            if old.stem not in slugs[:count]:
                old.unlink()
        write_site(corpus / "acme", slugs[:count])
        rebuild(settings, embedder=FakeEmbedder())
        bodies = [d.body for d in KnowledgeBase.open(settings=settings, embedder=FakeEmbedder()).documents()]
        assert all(b.startswith(BANNER) == (count < MIN_PAGES) for b in bodies), (count, [b[:30] for b in bodies])
        full = Settings(corpus_dir=corpus, index_dir=tmp_path / f"full-{count}")
        rebuild(full, embedder=FakeEmbedder(), full=True)
        assert_same_index(settings, full)


def test_a_text_articles_title_read_from_the_banner_is_read_again(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus" / "notes"
    corpus.mkdir(parents=True)
    for slug, (title, text) in ARTICLES.items():
        (corpus / f"{slug}.txt").write_text(f"---\nlang: es\n---\n{BANNER}\n{title}\n\n{text}\n", encoding="utf-8")
    assert parse_file(corpus / "pago.txt").title == BANNER
    documents = load_corpus(corpus.parent).documents
    assert sorted(d.title for d in documents) == sorted(title for title, _ in ARTICLES.values())
