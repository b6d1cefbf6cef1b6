"""Build the multilingual document fixtures in tests/data/documents/ from the GNOME user help.

The file readers (HTML, PDF, DOCX, Markdown) are tested on real help pages, not on strings typed into a test:
real pages carry the clutter a reader has to cope with (breadcrumb trails, "See also" link lists, an "About"
footer with credits and the licence, inline CSS and JavaScript, inline SVG icons, key sequences, nested lists,
tables), in four languages.

Source: the Debian package `gnome-user-docs` (Mallard pages under /usr/share/help/<lang>/gnome-help/, licensed
CC-BY-SA 3.0 by the GNOME Documentation Project), turned into HTML by `yelp-build html` from `yelp-tools`,
the same tool that builds help.gnome.org. Pages are built against a cache of the whole language's help, so the
trails and the "More information" / "See also" lists are the real ones.

What it writes (each page a different topic, chosen among the best-translated pages):
  - four standalone HTML pages (es, fr, pl, it): yelp-build output with its CSS and yelp.js inlined, the
    highlight.js reference dropped and `lang` put on <html>; the French one also gets a cookie banner and a
    canonical link, which a reader must drop or use;
  - one Spanish PDF of at least 3 pages, printed by headless Chromium through Playwright;
  - one Polish DOCX written with python-docx from the Mallard source (headings, paragraphs, lists, a table);
  - one Spanish Markdown file converted from the Mallard source, with YAML front matter;
  - two files a reader must refuse: presentation.pptx (an unsupported format) and broken.pdf (truncated);
  - README.md (provenance and licence) and expected.json (what a good reader extracts from each file).

Every phrase put in expected.json is checked here against the file written, and the PDF page of each phrase
is found with pypdf, so the expectations cannot drift from the fixtures. Output is byte-for-byte reproducible
for the same Debian package versions (zip and PDF timestamps are pinned).

Needs: apt-get install -y gnome-user-docs yelp-tools chromium; pip install playwright python-docx pypdf.
Run:   python bench/documents.py
"""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "tests" / "data" / "documents"
HELP = Path("/usr/share/help")
DEB_PACKAGES = ("gnome-user-docs", "yelp-tools", "chromium")
PY_MODULES = {"playwright": "playwright", "docx": "python-docx", "pypdf": "pypdf", "lxml": "lxml"}
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAX_TOTAL_BYTES = 1_500_000
ONLINE_DOC = "https://help.gnome.org/users/{doc}/stable/{page}.html.{lang}"  # a page of any help document
ONLINE = ONLINE_DOC.replace("{doc}", "gnome-help")  # a page of the GNOME user help
LICENCE = "CC-BY-SA 3.0 (Creative Commons Attribution-ShareAlike 3.0 Unported), GNOME Documentation Project"
FIXED_DATE = (2024, 1, 1, 0, 0, 0)  # for zip members and the PDF's /CreationDate and /ModDate
MAL = "{http://projectmallard.org/1.0/}"

COOKIE_BANNER = (
    '<div class="cookie-banner">Nous utilisons des cookies pour mesurer l’audience de ce site et améliorer '
    "votre expérience. En poursuivant votre navigation, vous acceptez leur utilisation. "
    "<button>Accepter</button></div>"
)


@dataclass
class Fixture:
    """One document to build, with what a good reader should get out of it."""

    kind: str  # html, pdf, docx, md
    lang: str
    page: str  # Mallard page id (file name without .page)
    file: str
    question_en: str
    must_contain: list[str]
    must_not_contain: list[str] = field(default_factory=list)  # HTML only: chrome a reader must drop
    page_phrases: list[str] = field(default_factory=list)  # PDF only: phrases whose page is recorded
    tags: list[str] = field(default_factory=list)  # Markdown front matter
    extra: str = ""  # what was added to the yelp-build output, for README.md


FIXTURES = [
    Fixture(
        "html",
        "es",
        "disk-capacity",
        "disk-capacity.html",
        question_en="How can I check how much free disk space I have left?",
        must_contain=[
            "Puede comprobar cuánto espacio de disco libre queda",
            "Eliminar archivos que no son importantes o que no va a usar más.",
            "Monitor del sistema",
        ],
        must_not_contain=[
            "Este trabajo está licenciado bajo una",
            "Compruebe el espacio en disco y controle cómo se asigna y usa el espacio en disco.",
            "Traducido por",
        ],
    ),
    Fixture(
        "html",
        "fr",
        "power-batterylife",
        "power-batterylife.html",
        question_en="How can I make my laptop battery last longer?",
        must_contain=[
            "Les ordinateurs peuvent être très énergivores.",
            "Éteignez tous les périphériques externes (comme les imprimantes et les scanners)",
            "Réduisez le nombre de tâches qui tournent en arrière-plan.",
        ],
        must_not_contain=[
            "Nous utilisons des cookies",
            "Cette œuvre est distribuée sous licence Creative Commons",
            "Afficher l’état de votre batterie et modifier les paramètres d’économie d’énergie.",
        ],
        extra="a cookie banner (div.cookie-banner) injected right after <body>, and "
        '<link rel="canonical" href="' + ONLINE.format(page="power-batterylife", lang="fr") + '"> in <head>',
    ),
    Fixture(
        "html",
        "pl",
        "sound-nosound",
        "sound-nosound.html",
        question_en="Why can't I hear any sound from my computer?",
        must_contain=[
            "Jeśli nie słychać żadnych dźwięków na komputerze, na przykład podczas odtwarzania muzyki",
            "Część laptopów ma przełączniki lub klawisze do wyciszania",
            "sudo lspci",
        ],
        must_not_contain=[
            "Na warunkach licencji Creative Commons Attribution-ShareAlike 3.0 Unported.",
            "Rozwiązywanie problemów, takich jak brak dźwięku lub jego słaba jakość.",
            "Przetłumaczone przez",
        ],
    ),
    Fixture(
        "html",
        "it",
        "mouse-problem-notmoving",
        "mouse-problem-notmoving.html",
        question_en="My mouse pointer does not move, what should I check?",
        must_contain=[
            "Collegare il mouse in un altro computer per verificarne il funzionamento.",
            "Verificare che la batteria del mouse sia carica.",
            "Assicurarsi che il ricevitore (adattatore) sia saldamente collegato al computer.",
        ],
        must_not_contain=[
            "Questo lavoro è rilasciato sotto Creative Commons",
            "Problemi comuni del mouse",
            "Tradotto da",
        ],
    ),
    Fixture(
        "pdf",
        "es",
        "keyboard-nav",
        "keyboard-nav.pdf",
        question_en="How can I use the desktop and move between windows with only the keyboard, without a mouse?",
        must_contain=[
            "Mover el foco del teclado entre diferentes controles.",
            "Cambia entre la vista general de Actividades y el escritorio.",
            "Redimensionar la ventana actual.",
        ],
        page_phrases=[
            "En esta página se detalla la navegación con el teclado",
            "Salir de un menú, menú emergente, selector o ventana de diálogo.",
            "Mover la ventana una pantalla a la izquierda.",
        ],
    ),
    Fixture(
        "docx",
        "pl",
        "tips-specialchars",
        "tips-specialchars.docx",
        question_en="How do I type special characters such as accented letters or emoji?",
        must_contain=[
            "Można wpisywać i przeglądać tysiące znaków z większości pism świata",
            "Ctrl+Shift+U",
            "Klawiatury nie mają konkretnego klawisza Compose.",
        ],
    ),
    Fixture(
        "md",
        "es",
        "nautilus-connect",
        "nautilus-connect.md",
        question_en="How do I open files on a network server or a Windows share?",
        must_contain=[
            "Puede conectarse a un servidor o a un recurso compartido",
            "smb://servidor/Share",
            "Los servidores SSH siempre requieren que inicie sesión.",
        ],
        tags=["archivos", "red", "servidores"],
    ),
]

# Column headers of the Markdown summary table and of the DOCX table, in the page's language.
TABLE_HEADERS = {
    "es": ("Tipo de servidor", "URL típico"),
    "pl": ("Metoda", "Skrót klawiszowy"),
}


def run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs)


def deb_version(package: str) -> str | None:
    """The installed version of a Debian package, or None."""
    proc = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", package], text=True, capture_output=True)
    if proc.returncode != 0 or not proc.stdout.startswith("install ok installed"):
        return None
    return proc.stdout.split("\t", 1)[1]


def check_requirements() -> dict[str, str]:
    """Exit 1 with the install command when a Debian package or Python module is missing."""
    versions = {p: deb_version(p) for p in DEB_PACKAGES}
    missing = [p for p, v in versions.items() if v is None]
    if missing:
        print(f"missing Debian packages: {' '.join(missing)}\n  apt-get install -y {' '.join(missing)}")
        sys.exit(1)
    lost = []
    for module, dist in PY_MODULES.items():
        try:
            __import__(module)
        except ImportError:
            lost.append(dist)
    if lost:
        print(f"missing Python packages: {' '.join(lost)}\n  {sys.executable} -m pip install {' '.join(lost)}")
        sys.exit(1)
    return {p: v for p, v in versions.items() if v is not None}


# ---------------------------------------------------------------------------------------------------------
# Mallard source


@dataclass(frozen=True)
class HelpDoc:
    """One Mallard help document: its pages are <root>/<lang>/<name>/<page>.page (lang "C" is the English one).

    The GNOME user help installed by gnome-user-docs is GNOME_HELP; an application's help ("evince", "gedit", ...)
    is another document, under /usr/share/help or wherever its Debian package was extracted.
    """

    root: Path
    name: str

    def folder(self, lang: str) -> Path:
        return self.root / lang / self.name


GNOME_HELP = HelpDoc(HELP, "gnome-help")


def page_path(lang: str, page: str, doc: HelpDoc = GNOME_HELP) -> Path:
    return doc.folder(lang) / f"{page}.page"


def mallard(lang: str, page: str, doc: HelpDoc = GNOME_HELP) -> ET.Element:
    return ET.parse(page_path(lang, page, doc)).getroot()


def squash(text: str) -> str:
    """Whitespace collapsed and NFC form: some Spanish pages spell accents with combining marks (o + U+0301)."""
    return unicodedata.normalize("NFC", " ".join(text.split()))


def own_title(el: ET.Element) -> str:
    title = el.find(f"{MAL}title")
    return squash("".join(title.itertext())) if title is not None else ""


def xref_title(lang: str, page: str, xref: str, doc: HelpDoc = GNOME_HELP) -> str:
    """The text yelp shows for an empty <link xref=.../>: the title of the page or section it points to."""
    target, _, section = xref.partition("#")
    root = mallard(lang, target or page, doc)
    if section:
        for sec in root.iter(f"{MAL}section"):
            if sec.get("id") == section:
                return own_title(sec)
    return own_title(root)


def xref_url(lang: str, page: str, xref: str, doc: HelpDoc = GNOME_HELP) -> str:
    target, _, section = xref.partition("#")
    url = ONLINE_DOC.format(doc=doc.name, page=target or page, lang=lang)
    return f"{url}#{section}" if section else url


def local(el: ET.Element) -> str:
    return el.tag.removeprefix(MAL) if isinstance(el.tag, str) else ""


def authors(root: ET.Element) -> list[str]:
    names: list[str] = []
    for credit in root.iter(f"{MAL}credit"):
        name = credit.find(f"{MAL}name")
        if "author" in (credit.get("type") or "").split() and name is not None and name.text not in names:
            names.append(squash(name.text or ""))
    return names


# How yelp shows inline elements, reduced to a style: "" (plain), "bold", "italic" or "code".
INLINE_STYLE = {
    "gui": "bold",
    "em": "italic",
    "app": "",
    "key": "",
    "sys": "code",
    "cmd": "code",
    "code": "code",
    "file": "code",
    "input": "code",
    "output": "code",
}


def inline_runs(
    el: ET.Element, lang: str, page: str, style: str = "", doc: HelpDoc = GNOME_HELP
) -> Iterator[tuple[str, str, str | None]]:
    """Yield (text, style, url) for the inline content of a Mallard block element of `doc`, in document order."""
    if el.text:
        yield el.text, style, None
    for child in el:
        name = local(child)
        if name == "keyseq":
            keys = [squash("".join(k.itertext())) for k in child if local(k) == "key"]
            loose = squash(" ".join(t for t in [child.text or ""] + [k.tail or "" for k in child]))
            yield "+".join(keys + ([loose] if loose else [])), style, None
        elif name == "guiseq":
            yield " ▸ ".join(squash("".join(g.itertext())) for g in child if local(g) == "gui"), "bold", None
        elif name == "link" or child.get("xref") or child.get("href"):
            xref, href = child.get("xref"), child.get("href")
            url = href or (xref_url(lang, page, xref, doc) if xref else None)
            text = squash("".join(child.itertext())) or (xref_title(lang, page, xref, doc) if xref else href or "")
            yield text, INLINE_STYLE.get(name, style) if name != "link" else style, url
        elif name == "media":
            pass  # icons: nothing to read
        else:
            yield from inline_runs(child, lang, page, INLINE_STYLE.get(name, style), doc)
        if child.tail:
            yield child.tail, style, None


def plain(el: ET.Element, lang: str, page: str, doc: HelpDoc = GNOME_HELP) -> str:
    return squash("".join(text for text, _, _ in inline_runs(el, lang, page, doc=doc)))


# ---------------------------------------------------------------------------------------------------------
# HTML (yelp-build)


def yelp_build(lang: str, pages: list[str], work: Path, doc: HelpDoc = GNOME_HELP) -> Path:
    """Run yelp-build on some pages of one language of `doc`, against a cache of all its pages (for real trails).

    Another document than the GNOME help is built in its own folder of `work` (work/<name>/), with its own cache.
    """
    src = doc.folder(lang)
    base = work if doc == GNOME_HELP else work / doc.name
    cache = base / f"{lang}.cache"
    out = base / lang
    out.mkdir(parents=True, exist_ok=True)
    if not cache.exists():
        run(["yelp-build", "cache", "-o", str(cache), str(src)])
    run(["yelp-build", "html", "-c", str(cache), "-o", str(out)] + [str(src / f"{p}.page") for p in pages])
    return out


def replace_once(text: str, old: str, new: str) -> str:
    if text.count(old) != 1:
        raise SystemExit(f"yelp-build output changed: expected {old!r} exactly once")
    return text.replace(old, new)


def standalone_html(built: Path, lang: str, page: str) -> str:
    """The yelp-build page with its stylesheet and yelp.js inlined, highlight.js dropped, lang on <html>."""
    text = (built / f"{page}.html").read_text(encoding="utf-8")
    css = (built / f"{lang}.css").read_text(encoding="utf-8")
    js = (built / "yelp.js").read_text(encoding="utf-8")
    text = replace_once(text, f'<link rel="stylesheet" type="text/css" href="{lang}.css">', f"<style>\n{css}</style>")
    text = replace_once(text, '<script type="text/javascript" src="highlight.pack.js"></script>', "")
    text = replace_once(
        text,
        '<script type="text/javascript" src="yelp.js"></script>',
        f'<script type="text/javascript">\n{js}</script>',
    )
    return replace_once(text, "<html>", f'<html lang="{lang}">')


def add_cookie_banner(text: str, lang: str, page: str) -> str:
    canonical = f'<link rel="canonical" href="{ONLINE.format(page=page, lang=lang)}">\n'
    text = replace_once(text, "<title>", canonical + "<title>")
    body = re.search(r"<body[^>]*>", text)
    assert body is not None
    return text[: body.end()] + COOKIE_BANNER + text[body.end() :]


def html_parts(path: Path) -> tuple[str, str, list[str], str]:
    """(title, main text, headings, all visible text) of a yelp page.

    The main text is <article> minus its navigation (role="navigation": the in-page section list and the
    "More information" / "See also" lists); the trail is in <header> and the credits in <footer>, outside it.
    """
    import lxml.html

    tree = lxml.html.fromstring(path.read_bytes())
    for junk in tree.xpath("//script | //style | //svg"):
        junk.drop_tree()
    visible = squash(tree.text_content())
    title = squash(tree.findtext(".//title") or "")
    article = tree.xpath("//article")[0]
    for nav in article.xpath(".//*[@role='navigation']"):
        nav.drop_tree()
    headings = [squash(h.text_content()) for h in article.xpath(".//h2 | .//h3")]
    return title, squash(article.text_content()), headings, visible


# ---------------------------------------------------------------------------------------------------------
# PDF


def pin_pdf_dates(data: bytes) -> bytes:
    """Replace Skia's creation and modification dates by a fixed one of the same length (xref stays valid)."""
    stamp = b"%04d%02d%02d%02d%02d%02d" % FIXED_DATE
    out = re.sub(rb"(/(?:CreationDate|ModDate) \(D:)[0-9]{14}", lambda m: m.group(1) + stamp, data)
    assert len(out) == len(data)
    return out


def absolute_links(text: str, lang: str) -> str:
    """Point yelp's relative page links at the online help, so the PDF's link annotations hold no local path."""

    def online(m: re.Match[str]) -> str:
        return f'href="{ONLINE.format(page=m.group(1), lang=lang)}{m.group(2) or ""}"'

    return re.sub(r'href="([A-Za-z0-9_.-]+)\.html(#[^"]*)?"', online, text)


def print_pdf(html_file: Path, pdf: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(html_file.as_uri())
            # outline=True: headings become PDF bookmarks, as a word processor's export makes them
            page.pdf(
                path=str(pdf),
                format="A4",
                margin={"top": "15mm", "bottom": "15mm", "left": "12mm", "right": "12mm"},
                outline=True,
                tagged=True,
            )
        finally:
            browser.close()
    pdf.write_bytes(pin_pdf_dates(pdf.read_bytes()))


def pdf_pages(path: Path) -> list[str]:
    from pypdf import PdfReader

    return [squash(page.extract_text() or "") for page in PdfReader(path).pages]


# ---------------------------------------------------------------------------------------------------------
# DOCX


def write_docx(fx: Fixture, path: Path) -> tuple[str, list[str]]:
    """Write the page as a Word document from its Mallard source; returns (title, headings)."""
    import datetime

    import docx

    root = mallard(fx.lang, fx.page)
    doc = docx.Document()
    title = own_title(root)
    doc.add_heading(title, level=1)
    headings: list[str] = []

    def paragraph(el: ET.Element, style: str | None = None) -> None:
        par = doc.add_paragraph(style=style)
        for text, kind, _url in inline_runs(el, fx.lang, fx.page):
            text = re.sub(r"\s+", " ", text)
            if not text:
                continue
            run_ = par.add_run(text)
            run_.bold = kind == "bold" or None
            run_.italic = kind == "italic" or None
            if kind == "code":
                run_.font.name = "Courier New"
        first = par.runs[0] if par.runs else None
        if first is not None:
            first.text = first.text.lstrip()
            par.runs[-1].text = par.runs[-1].text.rstrip()

    def blocks(parent: ET.Element) -> None:
        for el in parent:
            name = local(el)
            if name == "p":
                paragraph(el)
            elif name == "section":
                headings.append(own_title(el))
                doc.add_heading(own_title(el), level=2)
                blocks(el)
            elif name in ("steps", "list"):
                if own_title(el):
                    doc.add_paragraph().add_run(own_title(el)).bold = True
                for item in el.iter(f"{MAL}item"):
                    for p in item.findall(f"{MAL}p"):
                        paragraph(p, "List Number" if name == "steps" else "List Bullet")
            elif name in ("note", "example"):
                blocks(el)

    blocks(root)

    # One small table, made from the page: each section that gives a key sequence, and that sequence.
    rows = []
    for sec in root.iter(f"{MAL}section"):
        seq = sec.find(f".//{MAL}keyseq")
        if seq is not None:
            rows.append((own_title(sec), "+".join(squash("".join(k.itertext())) for k in seq)))
    assert 2 <= len(rows) <= 3, rows
    table = doc.add_table(rows=1, cols=2)
    table.style = "Table Grid"
    for cell, text in zip(table.rows[0].cells, TABLE_HEADERS[fx.lang], strict=True):
        cell.text = text
    for key, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = key, value

    props = doc.core_properties
    props.title = title
    props.author = ", ".join(authors(root))
    props.language = fx.lang
    props.subject = "GNOME Help"
    props.keywords = "GNOME; help; " + fx.page
    props.comments = f"From {page_path(fx.lang, fx.page)} (gnome-user-docs), {LICENCE}"
    props.last_modified_by = "bench/documents.py"
    props.revision = 1
    props.created = props.modified = datetime.datetime(*FIXED_DATE, tzinfo=datetime.timezone.utc)
    buf = io.BytesIO()
    doc.save(buf)
    path.write_bytes(pin_zip(buf.getvalue()))
    return title, headings


def pin_zip(data: bytes) -> bytes:
    """The same zip with fixed member timestamps, so the file is reproducible byte for byte."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, FIXED_DATE), src.read(info), zipfile.ZIP_DEFLATED)
    return out.getvalue()


def docx_text(path: Path) -> str:
    import docx

    doc = docx.Document(str(path))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return squash(" ".join([p.text for p in doc.paragraphs] + cells))


# ---------------------------------------------------------------------------------------------------------
# Markdown


def md_inline(el: ET.Element, lang: str, page: str) -> str:
    out = []
    for text, kind, url in inline_runs(el, lang, page):
        text = re.sub(r"\s+", " ", text)
        if url:
            text = f"[{text.strip()}]({url})"
        elif kind == "bold" and text.strip():
            text = f"**{text.strip()}**"
        elif kind == "italic" and text.strip():
            text = f"*{text.strip()}*"
        elif kind == "code" and text.strip():
            text = f"`{text.strip()}`"
        out.append(text)
    return squash("".join(out))


def md_blocks(parent: ET.Element, fx: Fixture, depth: int, headings: list[str]) -> list[str]:
    """Markdown lines for the block children of a Mallard element; section titles are added to headings."""
    lang, page = fx.lang, fx.page
    lines: list[str] = []
    for el in parent:
        name = local(el)
        if name == "p":
            lines += [md_inline(el, lang, page), ""]
        elif name == "section":
            headings.append(own_title(el))
            lines += ["#" * depth + " " + own_title(el), ""] + md_blocks(el, fx, depth + 1, headings)
        elif name in ("steps", "list"):
            if own_title(el):
                lines += [f"**{own_title(el)}**", ""]
            for n, item in enumerate(el.findall(f"{MAL}item"), 1):
                mark = f"{n}. " if name == "steps" else "- "
                body = [line for line in md_blocks(item, fx, depth, headings) if line]
                lines += [mark + body[0]] + [" " * len(mark) + line for line in body[1:]]
            lines.append("")
        elif name == "note":
            lines += ["> " + line for line in md_blocks(el, fx, depth, headings) if line] + [""]
        elif name == "example":
            lines += ["```", *(plain(p, lang, page) for p in el.iter(f"{MAL}p")), "```", ""]
        elif name == "terms":
            rows = []
            for item in el.findall(f"{MAL}item"):
                headings.append(own_title(item))
                lines += ["#" * depth + " " + own_title(item), ""] + md_blocks(item, fx, depth + 1, headings)
                example = item.find(f".//{MAL}example")
                rows.append((own_title(item), plain(example, lang, page) if example is not None else ""))
            head = TABLE_HEADERS[lang]
            lines += [f"| {head[0]} | {head[1]} |", "| --- | --- |"]
            lines += [f"| {term.replace('|', '/')} | `{url}` |" for term, url in rows] + [""]
    return lines


def write_markdown(fx: Fixture, path: Path) -> tuple[str, list[str]]:
    """Convert the Mallard page to Markdown with YAML front matter; returns (title, headings)."""
    root = mallard(fx.lang, fx.page)
    title = own_title(root)
    desc = root.find(f"{MAL}info/{MAL}desc")
    front = {
        "title": json.dumps(title, ensure_ascii=False),
        "lang": fx.lang,
        "author": json.dumps(", ".join(authors(root)), ensure_ascii=False),
        "tags": f"[{', '.join(fx.tags)}]",
        "source": ONLINE.format(page=fx.page, lang=fx.lang),
        "description": json.dumps(plain(desc, fx.lang, fx.page) if desc is not None else "", ensure_ascii=False),
        "license": "CC-BY-SA-3.0",
    }
    headings: list[str] = []
    lines = ["---", *(f"{key}: {value}" for key, value in front.items()), "---", "", f"# {title}", ""]
    lines += md_blocks(root, fx, 2, headings)
    path.write_text("\n".join(lines).rstrip() + "\n", encoding="utf-8")
    return title, headings


# ---------------------------------------------------------------------------------------------------------
# Files to refuse


def write_pptx(path: Path) -> None:
    """A zip that looks like a PowerPoint file: only its content-types entry. Readers must refuse the format."""
    types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Override PartName="/ppt/presentation.xml" ContentType="application/'
        'vnd.openxmlformats-officedocument.presentationml.presentation.main+xml"/></Types>'
    )
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("[Content_Types].xml", FIXED_DATE), types, zipfile.ZIP_DEFLATED)
    path.write_bytes(buf.getvalue())


# ---------------------------------------------------------------------------------------------------------


def check_phrases(fx: Fixture, main: str, everything: str) -> None:
    for phrase in fx.must_contain:
        if squash(phrase) not in main:
            raise SystemExit(f"{fx.file}: must_contain phrase not in the main content: {phrase!r}")
    for phrase in fx.must_not_contain:
        if squash(phrase) not in everything:
            raise SystemExit(f"{fx.file}: must_not_contain phrase is not in the file at all: {phrase!r}")
        if squash(phrase) in main:
            raise SystemExit(f"{fx.file}: must_not_contain phrase is in the main content: {phrase!r}")


def build(versions: dict[str, str]) -> list[dict[str, Any]]:
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    expected: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="documents-") as tmp:
        work = Path(tmp)
        for fx in FIXTURES:
            entry: dict[str, Any] = {"file": fx.file, "lang": fx.lang}
            target = OUT / fx.file
            if fx.kind in ("html", "pdf"):
                text = standalone_html(yelp_build(fx.lang, [fx.page], work), fx.lang, fx.page)
                if fx.extra:
                    text = add_cookie_banner(text, fx.lang, fx.page)
                if fx.kind == "pdf":
                    text = absolute_links(text, fx.lang)
                page_html = target if fx.kind == "html" else work / f"{fx.page}.{fx.lang}.html"
                page_html.write_text(text, encoding="utf-8")
                title, main, headings, visible = html_parts(page_html)
                check_phrases(fx, main, visible)
                if title != own_title(mallard(fx.lang, fx.page)):
                    raise SystemExit(f"{fx.file}: <title> {title!r} is not the page title")
                entry.update(title=title, headings=headings, must_contain=fx.must_contain)
                if fx.kind == "html":
                    entry["must_not_contain"] = fx.must_not_contain
                else:
                    print_pdf(page_html, target)
                    pages = pdf_pages(target)
                    if len(pages) < 3:
                        raise SystemExit(f"{fx.file}: only {len(pages)} PDF pages, need 3")
                    check_phrases(fx, " ".join(pages), " ".join(pages))
                    page_of = {}
                    for phrase in fx.page_phrases:
                        where = [n for n, page_text in enumerate(pages, 1) if squash(phrase) in page_text]
                        if len(where) != 1:
                            raise SystemExit(f"{fx.file}: {phrase!r} found on pages {where}, want exactly one")
                        page_of[phrase] = where[0]
                    if len(set(page_of.values())) < 2:
                        raise SystemExit(f"{fx.file}: page_of phrases all on one page: {page_of}")
                    entry.update(pages=len(pages), page_of=page_of)
            elif fx.kind == "docx":
                title, headings = write_docx(fx, target)
                check_phrases(fx, docx_text(target), "")
                entry.update(title=title, headings=headings, must_contain=fx.must_contain)
            elif fx.kind == "md":
                title, headings = write_markdown(fx, target)
                body = target.read_text(encoding="utf-8").split("---\n", 2)[2]
                check_phrases(fx, squash(re.sub(r"[*`]", "", body)), "")
                entry.update(title=title, headings=headings, must_contain=fx.must_contain)
            entry["question_en"] = fx.question_en
            expected.append(entry)

    pdf = next(f for f in FIXTURES if f.kind == "pdf")
    write_pptx(OUT / "presentation.pptx")
    (OUT / "broken.pdf").write_bytes((OUT / pdf.file).read_bytes()[:2048])
    expected.append({"file": "presentation.pptx", "refuse": True, "reason": "unsupported format (PowerPoint)"})
    expected.append({"file": "broken.pdf", "refuse": True, "reason": f"truncated: the first 2048 bytes of {pdf.file}"})
    (OUT / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    write_sources(versions)
    return expected


HOW = {
    "html": "`yelp-build html -c <cache of all {lang} pages>` on the page; its {lang}.css and yelp.js inlined, "
    'the highlight.pack.js reference dropped, `lang="{lang}"` added to <html>; trail, link lists and '
    "footer kept as built",
    "pdf": "built as the HTML files are (page links made absolute, to help.gnome.org), then printed to A4 by "
    "headless Chromium (Playwright `page.pdf`); /CreationDate and /ModDate pinned",
    "docx": "python-docx from the Mallard source: the title as Heading 1, sections as Heading 2, paragraphs, "
    "steps as List Number, lists as List Bullet, and one 2-column table (sections that give a key sequence); "
    "zip timestamps pinned",
    "md": "converted from the Mallard source by this script: YAML front matter, `#` headings, `**gui**`, "
    "`- ` and `1. ` lists, `[text](url)` links, > notes, code blocks, and a pipe table summing up the "
    "server types",
}


def write_sources(versions: dict[str, str]) -> None:
    lines = [
        "# Sources of the document fixtures",
        "",
        "Regenerate everything in this folder with:",
        "",
        "```",
        "python bench/documents.py",
        "```",
        "",
        "(needs `apt-get install -y gnome-user-docs yelp-tools chromium` and "
        "`pip install playwright python-docx pypdf`).",
        "",
        f"Text: the GNOME user help, Debian package `gnome-user-docs` {versions['gnome-user-docs']}, "
        f"built with `yelp-build` from `yelp-tools` {versions['yelp-tools']}; PDF printed by `chromium` "
        f"{versions['chromium']}.",
        "",
        f"Licence of all the help text: {LICENCE}. "
        "See https://creativecommons.org/licenses/by-sa/3.0/ ; the authors, editors and translators of "
        "each page are listed in its footer (HTML) or in /usr/share/help/<lang>/gnome-help/<page>.page.",
        "",
        "| file | lang | source page | made by |",
        "| --- | --- | --- | --- |",
    ]
    for fx in FIXTURES:
        how = HOW[fx.kind].format(lang=fx.lang)
        if fx.extra:
            how += "; plus " + fx.extra
        lines.append(f"| `{fx.file}` | {fx.lang} | `{page_path(fx.lang, fx.page)}` | {how} |")
    pdf = next(f for f in FIXTURES if f.kind == "pdf")
    lines += [
        "| `presentation.pptx` | - | - | a zip with one `[Content_Types].xml` entry naming a PowerPoint "
        "presentation: a format the readers must refuse |",
        f"| `broken.pdf` | - | - | the first 2048 bytes of `{pdf.file}`: a truncated PDF the readers must refuse |",
        "",
        "`expected.json` lists, per file, what a good reader extracts: title, section headings in order, "
        "phrases of the main content (`must_contain`), phrases of the navigation, footer or cookie banner "
        "that it must drop (`must_not_contain`, HTML only), the PDF's page count and the page of some "
        "phrases (`pages`, `page_of`, found with pypdf), and an English question the document answers. "
        'Files to refuse have `"refuse": true` instead.',
        "",
        "Quirks of the real text, kept on purpose:",
        "",
        "- the Spanish pages write some accents with combining marks (`o` + U+0301 for `ó`), while "
        'expected.json is in NFC: compare after `unicodedata.normalize("NFC", ...)`;',
        '- the Italian translation is old: its title has a typo ("punatore") and one list item of '
        '`mouse-problem-notmoving` is still in English; likewise a table cell of the Spanish PDF ("or the") '
        'and a link description in its "Más información" list;',
        "- yelp-build puts `lang` on <body> only; this script adds it to <html> as well;",
        '- `keyboard-nav.pdf` is a printed web page: its trail, link lists and the (collapsed) "Acerca de" '
        "footer heading are in the PDF text too.",
        "",
    ]
    (OUT / "README.md").write_text("\n".join(lines), encoding="utf-8")


def main() -> None:
    versions = check_requirements()
    build(versions)
    total = 0
    for path in sorted(OUT.iterdir()):
        size = path.stat().st_size
        total += size
        print(f"{size:>9,}  {path.relative_to(ROOT)}")
    print(f"{total:>9,}  total")
    if total > MAX_TOTAL_BYTES:
        raise SystemExit(f"fixtures take {total:,} bytes, more than {MAX_TOTAL_BYTES:,}")


if __name__ == "__main__":
    main()
