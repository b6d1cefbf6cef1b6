"""Readers: HTML, PDF, DOCX and Markdown in; hostile files skipped with a reason; nothing silently ignored."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from kb.corpus import load_corpus, parse_file, slug
from kb.readers import Limits

HTML = """<!DOCTYPE html><html lang="es"><head><title>Conectarse a una red inalámbrica - Ayuda</title>
<link rel="canonical" href="https://help.example.com/es/wifi.html"></head><body>
<div class="cookie-banner">Usamos cookies para mejorar su experiencia. <button>Aceptar</button></div>
<header><nav><a href="/">Inicio</a> › <a href="/red">Red y conexiones</a></nav></header>
<main><h1>Conectarse a una red inalámbrica</h1>
<p>Si tiene un equipo con soporte inalámbrico, puede conectarse a una red inalámbrica que esté en el rango.</p>
<h2>Pasos</h2>
<ol><li>Abra el menú del sistema en la parte derecha de la barra superior.</li><li>Seleccione <b>Wi-Fi</b>.</li></ol>
<table><tr><th>Red</th><th>Seguridad</th></tr><tr><td>Casa</td><td>WPA2</td></tr></table>
<h2>Problemas</h2><p>Si la red está protegida por una contraseña, introdúzcala y pulse Conectar.</p>
<img src="x" onerror="alert(1)"><iframe src="https://evil.example"></iframe>
<div class="related"><h3>Artículos relacionados</h3><ul><li><a href="/x">Editar una conexión</a></li></ul></div>
</main><footer><p>© 2024 Ayuda. Todos los derechos reservados.</p></footer>
<script>alert("pwned")</script></body></html>
"""

MARKDOWN = """---
title: Devoluciones y reembolsos
lang: es
author: Ana Pérez
tags: [faq, devoluciones]
---
# Devoluciones y reembolsos

Puede **devolver** un producto en [30 días](https://example.com/plazos) sin dar *explicaciones*.

## Plazos de reembolso

- El reembolso llega en 5 días hábiles.
- No tiene coste para el cliente.

| Método de pago | Plazo |
|---|---|
| Tarjeta | 5 días |

<div class="note">HTML que no se muestra</div>
"""


def write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def test_html_keeps_the_main_content_only(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "wifi.html", HTML))
    assert doc.format == "html" and doc.lang == "es" and doc.title == "Conectarse a una red inalámbrica"
    assert doc.source == "https://help.example.com/es/wifi.html"  # the canonical link
    assert "puede conectarse a una red inalámbrica" in doc.body
    assert "1. Abra el menú del sistema" in doc.body and "- Casa · WPA2" in doc.body  # lists and tables as lines
    for chrome in ("cookies", "Inicio", "Red y conexiones", "derechos reservados", "Editar una conexión", "alert"):
        assert chrome not in doc.body, chrome
    assert [text for _, _, text in doc.sections] == ["Conectarse a una red inalámbrica", "Pasos", "Problemas"]
    offset = doc.body.index("introdúzcala")
    assert doc.section_at(offset) == ("Conectarse a una red inalámbrica", "Problemas")
    for start, _, text in doc.sections:
        assert doc.body[start : start + len(text)] == text


def test_a_long_licence_in_the_page_footer_is_not_taken_for_a_short_article(tmp_path: Path) -> None:
    licence = "<p>Esta obra es software libre; puede redistribuirla y/o modificarla bajo los términos de la GPL.</p>"
    page = f"""<html lang="es"><head><title>Selección de texto</title></head><body><main>
<article><h1>Selección de texto</h1><p>Pulse dos veces sobre una palabra para seleccionarla.</p>
<p>Pulse tres veces sobre una línea para seleccionar la línea entera.</p></article>
<footer><div role="contentinfo"><h2>Acerca de</h2>{licence * 12}</div></footer></main></body></html>"""
    doc = parse_file(write(tmp_path, "select.html", page))
    assert "Pulse dos veces sobre una palabra" in doc.body and "tres veces" in doc.body
    assert "GPL" not in doc.body and "Acerca de" not in doc.body


def test_markdown_front_matter_and_plain_body(tmp_path: Path) -> None:
    doc = parse_file(write(tmp_path, "FAQ - Returns and refunds.md", MARKDOWN))
    assert doc.doc_id == "FAQ-Returns-and-refunds"  # any file name gives an id (a slug)
    assert doc.title == "Devoluciones y reembolsos" and doc.lang == "es"
    assert doc.meta == {"author": "Ana Pérez", "tags": "faq, devoluciones"}  # unknown keys kept, not refused
    assert "Puede devolver un producto en 30 días sin dar explicaciones." in doc.body
    for syntax in ("**", "](", "|", "#", "<div", "HTML que no se muestra", "---"):
        assert syntax not in doc.body, syntax
    assert "- El reembolso llega en 5 días hábiles." in doc.body and "- Tarjeta · 5 días" in doc.body
    assert doc.section_at(doc.body.index("Tarjeta")) == ("Devoluciones y reembolsos", "Plazos de reembolso")


def test_docx_headings_lists_and_tables(tmp_path: Path) -> None:
    import docx

    document = docx.Document()
    document.core_properties.title = "Zwroty i reklamacje"
    document.add_heading("Zwroty i reklamacje", level=1)
    document.add_paragraph("Klient może zwrócić produkt w ciągu 30 dni od zakupu.")
    document.add_heading("Terminy zwrotu pieniędzy", level=2)
    document.add_paragraph("Karta płatnicza: do 5 dni roboczych.", style="List Bullet")
    document.add_paragraph("Przelew: do 3 dni roboczych.", style="List Bullet")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Metoda", "Termin"
    table.cell(1, 0).text, table.cell(1, 1).text = "BLIK", "1 dzień"
    buffer = io.BytesIO()
    document.save(buffer)
    doc = parse_file(write(tmp_path, "zwroty.docx", buffer.getvalue()))
    assert doc.format == "docx" and doc.title == "Zwroty i reklamacje" and doc.lang == "pl"
    assert [(level, text) for _, level, text in doc.sections] == [
        (1, "Zwroty i reklamacje"),
        (2, "Terminy zwrotu pieniędzy"),
    ]
    assert "- Karta płatnicza: do 5 dni roboczych." in doc.body and "- BLIK · 1 dzień" in doc.body


def pdf_bytes(pages: list[str], password: str = "") -> bytes:
    """A real PDF with one text line per page (pypdf writes it; the page text is drawn with a standard font)."""
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for text in pages:
        page = writer.add_blank_page(595, 842)
        stream = DecodedStreamObject()
        escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
        stream.set_data(f"BT /F1 12 Tf 72 770 Td ({escaped}) Tj ET".encode("latin-1"))
        page[NameObject("/Contents")] = writer._add_object(stream)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_pages_are_counted(tmp_path: Path) -> None:
    pages = ["Politique de retour des produits.", "Le remboursement prend cinq jours.", "Contactez le service client."]
    doc = parse_file(write(tmp_path, "politique.pdf", pdf_bytes(pages)))
    assert doc.format == "pdf" and len(doc.pages) == 3
    for number, text in enumerate(pages, start=1):
        assert doc.page_at(doc.body.index(text)) == number


def test_every_file_is_indexed_or_skipped_with_advice(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus, "wifi.html", HTML)
    write(corpus, "faq.md", MARKDOWN)
    write(corpus, "slides.pptx", b"PK\x03\x04 not really")
    write(corpus, "notes.odt", b"PK\x03\x04")
    write(corpus, "noext", b"some bytes")
    (corpus / "sub").mkdir()
    write(corpus / "sub", "nested.txt", "Un artículo en una subcarpeta sobre atención al cliente.")
    scan = load_corpus(corpus)
    assert sorted((d.path, d.doc_id) for d in scan.documents) == [
        ("faq.md", "faq"),
        ("sub/nested.txt", "sub-nested"),  # one folder per language may hold the same names: the folder is in the id
        ("wifi.html", "wifi"),
    ]
    reasons = {s.path: s.reason for s in scan.skipped}
    assert reasons == {
        "slides.pptx": "unsupported format .pptx — export it as PDF",
        "notes.odt": "unsupported format .odt — save it as .docx or export it as PDF",
        "noext": "unsupported format (no extension) — export it as PDF, DOCX, HTML, Markdown or plain text",
    }


def test_ids_from_any_file_name_and_collisions(tmp_path: Path) -> None:
    assert slug("FAQ - Returns & refunds (2024)") == "FAQ-Returns-refunds-2024"
    assert slug("Préstamos é ñ") == "Prestamos-e-n"
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus, "Política de devoluciones.txt", "La política de devoluciones dura treinta días naturales.")
    write(corpus, "Politica de devoluciones.md", "# Otra\n\nUn texto distinto sobre el envío gratuito de pedidos.")
    scan = load_corpus(corpus)
    assert len(scan.documents) == 1 and scan.documents[0].doc_id == "Politica-de-devoluciones"
    assert "is already used by" in scan.skipped[0].reason


@pytest.mark.parametrize(
    "name,data,reason",
    [
        ("truncated.pdf", None, "broken PDF"),
        ("locked.pdf", None, "encrypted PDF"),
        ("scan.pdf", None, "no text layer"),
        ("bomb.docx", None, "zip bomb"),
        ("broken.docx", b"PK\x03\x04garbage", "broken DOCX"),
        ("big.html", None, "above the"),
        ("deep.html", None, ""),
        ("huge.pdf", None, "pages, above the limit"),
    ],
)
def test_hostile_files_are_skipped_with_a_reason(tmp_path: Path, name: str, data: bytes | None, reason: str) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus, "good.txt", "Un artículo sano sobre la experiencia de cliente y la paciencia.")
    if name == "truncated.pdf":
        data = pdf_bytes(["Texto de la primera página."] * 3)[:300]
    elif name == "locked.pdf":
        data = pdf_bytes(["Confidencial: política interna."], password="secret")
    elif name == "scan.pdf":
        data = pdf_bytes([""])
    elif name == "bomb.docx":
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("word/document.xml", b"\0" * 120_000_000)
        data = buffer.getvalue()
    elif name == "big.html":
        data = ("<html><body>" + "<p>relleno de texto</p>" * 200_000 + "</body></html>").encode()
    elif name == "deep.html":
        data = ("<html><body>" + "<div>" * 20_000 + "Texto profundo sobre clientes." + "</div>" * 20_000).encode()
    elif name == "huge.pdf":
        data = pdf_bytes(["página"] * 60)
    assert data is not None
    write(corpus, name, data)
    scan = load_corpus(corpus, Limits(max_pages=50))
    assert [d.path for d in scan.documents if d.path != name] == ["good.txt"]  # the others are unharmed
    if name == "deep.html" and not scan.skipped:  # read (lxml caps the depth): text only, nothing else
        assert "Texto profundo" in next(d for d in scan.documents if d.path == name).body
        return
    assert [s.path for s in scan.skipped] == [name]
    assert reason in scan.skipped[0].reason


def test_pdf_restricted_but_not_locked_is_read(tmp_path: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_bytes(["Política de privacidad del cliente."]))))
    writer.encrypt(user_password="", owner_password="owner-only")  # opens without a password, like many exports
    buffer = io.BytesIO()
    writer.write(buffer)
    doc = parse_file(write(tmp_path, "privacidad.pdf", buffer.getvalue()))
    assert "Política de privacidad del cliente." in doc.body and doc.page_at(0) == 1


def test_a_reader_failing_skips_that_file_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import kb.readers.html

    def broken(raw: bytes, limits: Limits) -> None:
        raise RuntimeError("library bug")

    monkeypatch.setattr(kb.readers.html, "read", broken)
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write(corpus, "page.html", HTML)
    write(corpus, "ok.txt", "Un artículo sano sobre clientes y paciencia en la atención.")
    scan = load_corpus(corpus)
    assert [d.path for d in scan.documents] == ["ok.txt"]
    assert scan.skipped[0].reason == "could not be read (RuntimeError: library bug)"


def test_nested_list_keeps_the_text_after_it(tmp_path: Path) -> None:
    page = HTML.replace(
        "<h2>Problemas</h2>",
        "<ul><li>Primero <ul><li>anidado dentro</li></ul> y después el resto del punto.</li></ul><h2>Problemas</h2>",
    )
    doc = parse_file(write(tmp_path, "wifi.html", page))
    assert "y después el resto del punto." in doc.body and "anidado dentro" in doc.body
