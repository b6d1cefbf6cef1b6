"""The Streamlit app's logic through streamlit.testing (AppTest), on a real index."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb import KnowledgeBase, Settings
from kb.build import rebuild

from .conftest import ROOT

APP = str(ROOT / "app.py")
QUESTIONS = {
    "en": "Is customer experience about emotion or technology?",
    "es": "¿Cómo medir el éxito de la experiencia de cliente?",
    "pl": "Czy technologia jest punktem wyjścia dla doświadczenia klienta?",
    "it": "Perché l'essere umano è al centro della customer experience?",
    "fr": "Pourquoi les émotions comptent-elles pour les marques ?",
}


def app_for(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("KB_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(settings.corpus_dir))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def citation_headers(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**[")]


@pytest.mark.parametrize("lang", sorted(QUESTIONS))
def test_question_in_each_language_gets_cited_answer(
    real_settings: Settings, monkeypatch: pytest.MonkeyPatch, lang: str
) -> None:
    at = app_for(real_settings, monkeypatch)
    at.chat_input[0].set_value(QUESTIONS[lang]).run()
    assert not at.exception, at.exception
    assert any(f"({lang})" in c.value for c in at.caption), [c.value for c in at.caption]
    headers = citation_headers(at)
    assert len(headers) >= 2
    points = [m.value for m in at.markdown if m.value.startswith("- ")]
    assert points and all("\\[" in p for p in points)  # every point carries [n] markers
    answer = KnowledgeBase.open(settings=real_settings).ask(QUESTIONS[lang], k=6)
    versions = sum(1 + len(c.parallels) for c in answer.citations)
    assert len(headers) == versions  # each point's citations (and their translations) under the answer


def test_example_button_asks(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    at.button(key="example-es").click().run()
    assert citation_headers(at)


def test_language_filter_restricts_citations(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    at.sidebar.multiselect[0].set_value(["it"]).run()
    at.chat_input[0].set_value(QUESTIONS["en"]).run()
    headers = citation_headers(at)
    assert headers and all("Italian (it)" in h for h in headers)


def test_no_answer_path(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    at.chat_input[0].set_value("What is the boiling point of tungsten in kelvin?").run()
    assert any("no passage that clearly answers" in w.value for w in at.warning)
    assert citation_headers(at)  # the closest passages are still shown


def test_sidebar_stats(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    assert any("multilingual-e5-small" in c.value for c in at.sidebar.caption)
    table = at.sidebar.table[0].value
    assert (
        set(table["articles"]) >= {1, 2}
        and table["passages"].sum() == KnowledgeBase.open(settings=real_settings).stats().chunks
    )


HOSTILE = (
    "Experiencia <script>alert(1)</script> del cliente\n\n"
    "La experiencia de cliente es <b>emoción</b> y [un enlace](javascript:alert(1)) para todos los clientes.\n"
)


@pytest.fixture(scope="module")
def hostile_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    root = tmp_path_factory.mktemp("hostile")
    (root / "corpus").mkdir()
    (root / "corpus" / "x.txt").write_text(HOSTILE, encoding="utf-8")
    settings = Settings.from_env(corpus_dir=root / "corpus", index_dir=root / "index")
    rebuild(settings)
    return settings


def test_html_in_article_is_shown_as_text(hostile_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(hostile_settings, monkeypatch)
    at.chat_input[0].set_value("¿La experiencia de cliente es emoción?").run()
    shown = "\n".join(m.value for m in at.markdown)
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in shown  # escaped: rendered literally
    assert "\\[un enlace\\]\\(javascript\\:alert\\(1\\)\\)" in shown
    assert "<script>" not in shown.replace("\\<script\\>", "")
    source = Path(APP).read_text(encoding="utf-8")
    assert "unsafe_allow_html" not in source


def one_article_index(tmp_path: Path) -> Settings:
    """A built index of a corpus with one short Spanish article."""
    (tmp_path / "corpus").mkdir(exist_ok=True)
    (tmp_path / "corpus" / "a.txt").write_text(
        "---\nlang: es\n---\nLa experiencia de cliente es emoción.\n", encoding="utf-8"
    )
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    rebuild(settings)
    return settings


def test_rebuild_button_picks_up_a_new_article(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = one_article_index(tmp_path)
    at = app_for(settings, monkeypatch)
    assert list(at.sidebar.table[0].value["articles"]) == [1]
    (tmp_path / "corpus" / "b.txt").write_text(
        "---\nlang: it\n---\nL'esperienza del cliente è emozione.\n", encoding="utf-8"
    )
    at.run()
    assert any("corpus changed" in w.value for w in at.sidebar.warning)  # stale, but still answering
    at.sidebar.button[0].click().run()
    assert not at.exception, at.exception
    assert sorted(at.sidebar.table[0].value["articles"]) == [1, 1]
    assert not any("corpus changed" in w.value for w in at.sidebar.warning)


def test_skipped_files_stay_listed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "broken.txt").write_bytes(b"\xff\xfe\xfa garbage \x00")
    settings = one_article_index(tmp_path)
    for _ in range(2):  # on every run, not only after the rebuild that found them
        at = app_for(settings, monkeypatch)
        expander = at.sidebar.expander[0]
        assert expander.label == "1 corpus files not indexed"
        assert any("broken" in m.value and "UTF" in m.value for m in expander.markdown)


def test_principles_page(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    at.sidebar.radio[0].set_value("Principles").run()
    assert not at.exception, at.exception
    assert at.header[0].value == "Principles of the corpus"
    principles = KnowledgeBase.open(settings=real_settings).principles(limit=10)
    titles = [h.value for h in at.subheader]
    assert len(titles) == len(principles) >= 2
    assert all(title.startswith(f"{i}. ") for i, title in enumerate(titles, start=1))
    assert len(citation_headers(at)) == sum(len(p.citations) for p in principles)
    assert not at.chat_input and not at.sidebar.multiselect  # the question box and filters belong to Ask


def test_a_broken_index_can_be_rebuilt_from_the_app(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = one_article_index(tmp_path)
    faiss_file = next((tmp_path / "index").glob("v-*/chunks.faiss"))
    data = bytearray(faiss_file.read_bytes())
    data[len(data) // 2] ^= 0xFF
    faiss_file.write_bytes(bytes(data))
    at = app_for(settings, monkeypatch)
    assert any("corrupted" in e.value for e in at.error)
    at.button(key="repair").click().run()
    assert not at.exception, at.exception
    assert not at.error and list(at.sidebar.table[0].value["articles"]) == [1]


def test_sources_show_where_the_quote_sits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil

    from .conftest import DATA

    (tmp_path / "corpus").mkdir()
    shutil.copy(DATA / "documents" / "power-batterylife.html", tmp_path / "corpus")
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    rebuild(settings)
    at = app_for(settings, monkeypatch)
    at.chat_input[0].set_value("Comment économiser la batterie ?").run()
    assert not at.exception, at.exception
    places = [c.value for c in at.caption if "help.gnome.org" in c.value]
    assert places, [c.value for c in at.caption]
    # the heading path as text, the canonical URL as a link
    link = "](https://help.gnome.org/users/gnome-help/stable/power-batterylife.html.fr)"
    assert all(link in p and p.startswith("Économie d’énergie") for p in places), places
    assert any("› " in p for p in places)
