"""Near-duplicates and candidate contradictions (kb/duplicates.py), with the real model on planted help articles."""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from kb import KnowledgeBase, Service, Settings
from kb.build import rebuild
from kb.duplicates import Contradiction, NearDuplicate, Place, contradictions, near_duplicates
from kb.index import Index

from .conftest import CORPUS

HOW_TO_RETURN = (
    "Para devolver un producto, inicie sesión en su cuenta, abra Mis pedidos, elija el pedido y pulse Devolver "
    "artículo; recibirá por correo electrónico una etiqueta de envío gratuita que debe pegar en el paquete."
)
# the same paragraph lightly edited (two words reordered, one changed), copied into another article
HOW_TO_RETURN_COPY = (
    "Para devolver un producto, inicie sesión en su cuenta, abra Mis pedidos, elija el pedido y pulse Devolver "
    "artículo; recibirá por correo una etiqueta de envío gratis que tiene que pegar en el paquete."
)
RETURNS_30 = "Las devoluciones se aceptan en un plazo de 30 días desde la entrega del pedido."
RETURNS_14 = "Las devoluciones se aceptan en un plazo de 14 días desde la entrega del pedido."
DELETION_90 = "Su cuenta se elimina definitivamente 90 días después de solicitar la baja del servicio."

ARTICLES = {
    "es-returns": (
        "es",
        "Devoluciones",
        "",
        [
            "Si un producto no le convence, puede devolverlo y le reembolsaremos el importe del pedido. " + RETURNS_30,
            HOW_TO_RETURN,
            "El reembolso se hace con el medio de pago que usó al comprar, en cuanto el almacén recibe el paquete.",
        ],
    ),
    "es-returns-mx": (  # a regional version of es-returns (declared: one work with it), nearly word for word
        "es",
        "Devoluciones (México)",
        "es-returns",
        [
            "Si un producto no le convence, puede devolverlo y le reembolsaremos el importe de su pedido. "
            + RETURNS_30,
            HOW_TO_RETURN.replace("pulse", "haga clic en"),
            "El reembolso se hace con el medio de pago que usó al comprar, en cuanto el almacén recibe su paquete.",
        ],
    ),
    "es-faq": (
        "es",
        "Preguntas frecuentes sobre pedidos",
        "",
        [
            "Aquí respondemos a las preguntas que más nos hacen los clientes sobre sus pedidos y sus cuentas.",
            "¿Puedo devolver un pedido? Sí. " + RETURNS_14,
            HOW_TO_RETURN_COPY,
            "¿Puedo cerrar mi cuenta? Sí, desde la página de perfil. " + DELETION_90,
        ],
    ),
    "es-shipping": (
        "es",
        "Envíos",
        "",
        [
            "Enviamos a toda la península y a las islas con una empresa de mensajería que entrega de lunes a sábado.",
            "Cada pedido se prepara en el almacén el mismo día si se hace antes de las cuatro de la tarde.",
            "Puede seguir el paquete en todo momento con el número de seguimiento que le enviamos por correo.",
        ],
    ),
}


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled corpus plus the articles above, indexed with the real model."""
    root = tmp_path_factory.mktemp("duplicates")
    corpus = root / "corpus"
    shutil.copytree(CORPUS, corpus)
    for doc_id, (lang, title, original, paragraphs) in ARTICLES.items():
        header = f"---\nid: {doc_id}\ntitle: {title}\nlang: {lang}\n" + (
            f"translation_of: {original}\n" if original else ""
        )
        body = "\n\n".join([title, *paragraphs])
        (corpus / f"{doc_id}.txt").write_text(f"{header}---\n{body}\n", encoding="utf-8")
    settings = Settings.from_env(corpus_dir=corpus, index_dir=root / "index")
    rebuild(settings)
    return settings


@pytest.fixture(scope="module")
def index(settings: Settings) -> Index:
    return KnowledgeBase.open(settings=settings).index


def _span(index: Index, doc_id: str, text: str) -> tuple[int, int]:
    start = index.document(doc_id).body.index(text)
    return start, start + len(text)


def _covers(place: Place, index: Index, doc_id: str, text: str) -> bool:
    """The place is in `doc_id`, quotes its body exactly, and holds all of `text`."""
    start, end = _span(index, doc_id, text)
    body = index.document(doc_id).body
    return (
        place.doc_id == doc_id
        and body[place.start : place.end] == place.quote
        and place.start <= start < end <= place.end
    )


def _between(found: list[NearDuplicate] | list[Contradiction], one: str, two: str) -> list:
    return [f for f in found if {f.a.doc_id, f.b.doc_id} == {one, two}]


def test_a_copied_paragraph_is_a_near_duplicate_with_both_places(index: Index) -> None:
    found = near_duplicates(index)
    pairs = _between(found, "es-returns", "es-faq")
    assert len(pairs) == 1, [(f.a.doc_id, f.b.doc_id, f.similarity) for f in found]
    pair = pairs[0]
    place = {pair.a.doc_id: pair.a, pair.b.doc_id: pair.b}
    assert pair.lang == "es" and place["es-returns"].title == "Devoluciones"
    assert _covers(place["es-returns"], index, "es-returns", HOW_TO_RETURN)
    assert _covers(place["es-faq"], index, "es-faq", HOW_TO_RETURN_COPY)
    # only that passage: the returns passages around it say other things
    assert RETURNS_30 not in place["es-returns"].quote and RETURNS_14 not in place["es-faq"].quote
    assert [f.similarity for f in found] == sorted((f.similarity for f in found), reverse=True)


def test_an_article_and_its_version_in_one_work_are_not_duplicates(index: Index) -> None:
    """es-returns-mx is es-returns nearly word for word, but declared one work with it: not reported;
    its copied paragraph in es-faq is (another work)."""
    assert index.work("es-returns-mx") == index.work("es-returns")
    found = near_duplicates(index)
    assert not _between(found, "es-returns", "es-returns-mx")
    assert _between(found, "es-returns-mx", "es-faq")
    assert not _between(contradictions(index), "es-returns", "es-returns-mx")


def test_sentences_on_one_topic_with_different_numbers_are_a_contradiction(index: Index) -> None:
    found = contradictions(index)
    pairs = _between(found, "es-returns", "es-faq")
    assert len(pairs) == 1, [(f.a.doc_id, f.b.doc_id, f.a_says, f.b_says, f.similarity) for f in found]
    pair = pairs[0]
    by_doc = {pair.a.doc_id: (pair.a, pair.a_says), pair.b.doc_id: (pair.b, pair.b_says)}
    place, says = by_doc["es-returns"]
    assert (place.start, place.end) == _span(index, "es-returns", RETURNS_30) and says == ("30 días",)
    place, says = by_doc["es-faq"]
    assert (place.start, place.end) == _span(index, "es-faq", RETURNS_14) and says == ("14 días",)


def test_different_numbers_on_different_topics_are_not_a_contradiction(index: Index) -> None:
    """ "30 días" to return an order and "90 días" to delete an account: both in days, other topics."""
    found = contradictions(index)
    for f in found:
        assert DELETION_90 not in (f.a.quote, f.b.quote), (f.a.quote, f.b.quote, f.similarity)
    # without a threshold on the topic, the numbers alone would have made it one
    everything = contradictions(index, threshold=-1.0)
    assert any(DELETION_90 in (f.a.quote, f.b.quote) and RETURNS_30 in (f.a.quote, f.b.quote) for f in everything)


def test_the_editors_report_lists_them_most_asked_about_first(settings: Settings) -> None:
    service = Service(settings)
    for question in ("¿En cuántos días puedo devolver un pedido?", "¿Cómo devuelvo un producto?"):
        service.ask(question)
    report = service.report()
    touched = Counter(d for a in service.usage.read() for d in dict.fromkeys(a.cited))
    for kind in ("duplicate", "contradiction"):
        mine = [r for r in report.repeats if r.kind == kind and {r.a.doc_id, r.b.doc_id} == {"es-returns", "es-faq"}]
        assert len(mine) == 1, kind
        assert mine[0].questions == touched["es-returns"] + touched["es-faq"] > 0
        asked = [r.questions for r in report.repeats if r.kind == kind]
        assert asked == sorted(asked, reverse=True)  # the most asked about first
    assert RETURNS_14 in report.repeats_csv() and "30 días" in report.repeats_csv()


def test_the_editors_view_shows_both_places(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from .test_app import app_for

    at = app_for(settings, monkeypatch)
    at.sidebar.radio(key="view").set_value("gaps").run()
    assert not at.exception, at.exception
    tables = [d.value for d in at.dataframe if "other article" in d.value]
    assert len(tables) == 2  # passages that repeat each other; numbers that differ
    duplicates, numbers = tables
    assert "Devoluciones (Spanish)" in set(duplicates["title"]) | set(duplicates["other article"])
    quotes = " ".join([*numbers["passage"], *numbers["its passage"]])
    assert RETURNS_30 in quotes and RETURNS_14 in quotes and "[30 días]" in quotes and "[14 días]" in quotes
