"""The Streamlit app's logic through streamlit.testing (AppTest), on a real index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from kb import KnowledgeBase, Service, Settings
from kb.build import rebuild
from kb.messages import Messages
from kb.presentation import load_presentation

from .conftest import ROOT

APP = str(ROOT / "app.py")
QUESTIONS = {
    "en": "Is customer experience about emotion or technology?",
    "es": "¿Cómo medir el éxito de la experiencia de cliente?",
    "pl": "Czy technologia jest punktem wyjścia dla doświadczenia klienta?",
    "it": "Perché l'essere umano è al centro della customer experience?",
    "fr": "Pourquoi les émotions comptent-elles pour les marques ?",
}


@pytest.fixture(autouse=True)
def served_on_this_machine() -> Iterator[None]:
    """What .streamlit/config.toml sets for `streamlit run` (AppTest does not read it): 127.0.0.1."""
    from streamlit import config

    before = config.get_option("server.address")
    config.set_option("server.address", "127.0.0.1")
    yield
    config.set_option("server.address", before)


def app_for(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("KB_INDEX_DIR", str(settings.index_dir))
    monkeypatch.setenv("KB_CORPUS_DIR", str(settings.corpus_dir))
    at = AppTest.from_file(APP, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def citation_headers(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**[")]


def finish_job(at: AppTest) -> None:
    """Wait for the app's background rebuild (the process-wide Service the app runs it on), then rerun."""
    job = Service.shared(Settings.from_env()).wait(timeout=600)
    assert job is not None and not job.running and not job.error, job
    at.run()
    assert not at.exception, at.exception


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
    """The bundled corpus's app.toml: five examples, the interface language's first; each asks."""
    at = app_for(real_settings, monkeypatch)
    examples = [b.label for b in at.button if str(b.key).startswith("example-")]
    assert sorted(examples) == sorted(QUESTIONS.values()) and examples[0] == QUESTIONS["en"]
    at.button(key="example-1").click().run()
    assert citation_headers(at)


def test_the_deployment_names_itself(real_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """app.toml gives the title, intro, placeholder and examples per interface language (else from its top
    level); an example asked is not a content gap, the same question typed is; a broken file is named on
    the page and the app's own wording shown; without a file, the examples are article titles and each
    one's answer cites its article first."""
    import shutil

    shutil.copytree(real_settings.index_dir, tmp_path / "index")
    (tmp_path / "index" / "gaps.jsonl").unlink(missing_ok=True)  # what other tests' sessions logged
    settings = Settings.from_env(corpus_dir=real_settings.corpus_dir, index_dir=tmp_path / "index")
    config = tmp_path / "app.toml"
    config.write_text(
        'title = "Acme help"\nexamples = ["What is the boiling point of tungsten in kelvin?"]\n'
        '[es]\ntitle = "Ayuda de Acme"\nplaceholder = "¿Qué necesitas?"\nintro = "Pregunta lo que quieras."\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("KB_APP_CONFIG", str(config))
    gaps = settings.index_dir / "gaps.jsonl"

    def gap_lines() -> int:
        return len(gaps.read_text().splitlines()) if gaps.exists() else 0

    at = app_for(settings, monkeypatch)
    en, es = Messages("en"), Messages("es")
    assert at.title[0].value == "Acme help" and at.chat_input[0].placeholder == en("chat_placeholder")
    assert at.caption[0].value.startswith(en("intro"))
    at.button(key="example-0").click().run()
    assert any(en("not_confident") in w.value for w in at.warning) and gap_lines() == 0  # an example: no gap
    at.chat_input[0].set_value("What is the boiling point of tungsten in kelvin?").run()
    assert gap_lines() == 1  # typed by someone: a gap
    at.sidebar.selectbox(key="ui_lang").set_value("es").run()
    assert at.title[0].value == "Ayuda de Acme" and at.chat_input[0].placeholder == "¿Qué necesitas?"
    assert at.caption[0].value.startswith("Pregunta lo que quieras.")

    config.write_text('title = "Acme\n', encoding="utf-8")  # not TOML
    at.run()
    assert any("app.toml" in w.value and es("app_config_broken", error="")[:20] in w.value for w in at.warning)
    assert at.title[0].value == es("title") and at.chat_input[0].placeholder == es("chat_placeholder")

    config.unlink()  # no file: article titles, each finding its own article (or a translation of it)
    at.sidebar.selectbox(key="ui_lang").set_value("pl").run()
    kb = KnowledgeBase.open(settings=settings)
    versions = {a.title: {a.title} | {kb.document(d).title for d in a.translations} for a in kb.library()}
    examples = [b for b in at.button if str(b.key).startswith("example-")]
    assert len(examples) >= 3 and examples[0].label == "Doświadczenie klienta dotyczy emocji, a nie technologii"
    for i in range(len(examples)):
        title = at.button(key=f"example-{i}").label
        at.button(key=f"example-{i}").click().run()
        first = citation_headers(at)[0]  # the latest answer's point 1
        assert any(f"**[1] {v}**" in first.replace("\\", "") for v in versions[title]), (title, first)


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
    # said in the asker's language (the question's), whatever the interface's
    at.chat_input[0].set_value("Jaka jest temperatura wrzenia wolframu w kelwinach?").run()
    assert any("Baza wiedzy nie ma fragmentu, który jasno na to odpowiada" in w.value for w in at.warning)


def test_sidebar_stats(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    assert any("multilingual-e5-small" in c.value for c in at.sidebar.caption)
    built = KnowledgeBase.open(settings=real_settings).stats().built_at  # "2026-12-06T02:33:39+0000"
    shown = next(c.value for c in at.sidebar.caption if "multilingual-e5-small" in c.value)
    assert built not in shown and Messages("en").when(built) in shown  # "Dec 6, 2026 2:33 AM UTC"
    assert re.search(r"\b20\d\d\b", Messages("en").when(built)) and " UTC" in shown
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
    at.button(key="rebuild").click().run()
    assert not at.exception, at.exception
    finish_job(at)
    assert sorted(at.sidebar.table[0].value["articles"]) == [1, 1]
    assert not any("corpus changed" in w.value for w in at.sidebar.warning)


def test_sync_now_brings_in_a_help_centre(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A recorded help centre in the sidebar, never synced; "Sync now" brings its pages in the background,
    and the sidebar then tells how the sync ended."""
    from bench.helpsite import HelpSite, serve
    from kb.sources import SourceConfig, add_source

    monkeypatch.setenv("KB_SYNC_RATE", "1000")
    with serve(HelpSite.from_fixture()) as site:
        settings = one_article_index(tmp_path)
        add_source(settings, SourceConfig("help", "site", site.base + "/hc/", ("es",)))
        at = app_for(settings, monkeypatch)
        (centres,) = [e for e in at.sidebar.expander if e.label == "Help centres (1)"]
        assert [c.value for c in centres.caption] == ["Never synced"]
        at.button(key="sync-now").click().run()
        assert not at.exception, at.exception
        finish_job(at)
        assert list(at.sidebar.table[0].value["articles"]) == [7]  # its own article and the site's six
        assert "help: 6 added, 0 updated, 0 removed" in [i.value for i in at.sidebar.info]
        (centres,) = [e for e in at.sidebar.expander if e.label == "Help centres (1)"]
        assert any(c.value.startswith("Last sync") and "6 articles (+6, ~0, −0)" in c.value for c in centres.caption)


def test_served_beyond_this_machine_without_sign_in_it_refuses_or_lets_everyone_only_read(
    real_settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from streamlit import config

    config.set_option("server.address", "0.0.0.0")
    at = app_for(real_settings, monkeypatch)
    assert [e.value for e in at.error] == [Messages("en")("refused_network")]
    assert not at.chat_input and not at.sidebar.button  # nothing served
    monkeypatch.setenv("KB_APP_ANONYMOUS", "on")  # anonymous readers, explicitly
    settings = one_article_index(tmp_path)
    at = app_for(settings, monkeypatch)
    assert any("as readers" in c.value for c in at.caption)
    assert at.chat_input  # readers ask
    keys = {b.key for b in at.sidebar.button}
    assert not keys & {"rebuild", "add-uploads", "sync-now"} and not at.sidebar.get("file_uploader")
    assert at.sidebar.radio[0].options == ["Ask", "Library", "Principles"]  # no gap report: what people asked
    at.chat_input[0].set_value("¿Qué es la experiencia de cliente?").run()
    assert not at.exception and not at.warning  # a reader's question is answered


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
    at.sidebar.radio(key="view").set_value("principles").run()
    assert not at.exception, at.exception
    assert at.header[0].value == "Principles of the corpus"
    principles = KnowledgeBase.open(settings=real_settings).principles(limit=10)
    titles = [h.value for h in at.subheader]
    assert len(titles) == len(principles) >= 2
    assert all(title.startswith(f"{i}. ") for i, title in enumerate(titles, start=1))
    assert not citation_headers(at)  # the passages are rendered when asked for
    at.toggle(key="principle-1").set_value(True).run()
    assert len(citation_headers(at)) == len(principles[0].citations)
    assert not at.chat_input and not at.sidebar.multiselect  # the question box and filters belong to Ask


def test_the_sidebar_never_says_up_to_date_beside_a_changed_corpus(
    small_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copytree(small_index.corpus_dir, tmp_path / "corpus")
    shutil.copytree(small_index.index_dir, tmp_path / "index")
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    at = app_for(settings, monkeypatch)
    t = Messages("en")
    at.sidebar.button(key="rebuild").click().run()
    finish_job(at)
    assert t("job_unchanged") in [s.value for s in at.sidebar.success]
    (tmp_path / "corpus" / "b.txt").write_text("---\nlang: es\n---\nLos envíos tardan tres días.\n", "utf-8")
    at.run()
    assert any("b.txt was added" in w.value for w in at.sidebar.warning)  # what changed, and to rebuild
    assert not at.sidebar.success  # not "up to date" beside it


def test_a_corpus_without_recurring_points_says_so(small_index: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(small_index, monkeypatch)
    at.sidebar.radio(key="view").set_value("principles").run()
    assert [i.value for i in at.info] == [Messages("en")("no_principles")] and not at.subheader


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
    finish_job(at)
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


def asked_questions(at: AppTest) -> list[str]:
    return [t.value for m in at.chat_message if m.name == "user" for t in m.text]


def test_the_conversation_reads_down_and_survives_a_reload(
    real_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_for(real_settings, monkeypatch)
    for lang in ("es", "pl"):
        at.chat_input[0].set_value(QUESTIONS[lang]).run()
    assert not at.exception, at.exception
    assert asked_questions(at) == [QUESTIONS["es"], QUESTIONS["pl"]]  # oldest on top
    kb = KnowledgeBase.open(settings=real_settings)
    first, latest = (kb.ask(QUESTIONS[lang], k=6) for lang in ("es", "pl"))
    assert len(citation_headers(at)) == sum(1 + len(c.parallels) for c in latest.citations)
    shown = at.toggle(key="sources-a0")  # the earlier answer keeps its sources, a click away
    assert shown.label == f"Sources ({len(first.citations)})"
    shown.set_value(True).run()
    versions = sum(1 + len(c.parallels) for a in (first, latest) for c in a.citations)
    assert len(citation_headers(at)) == versions
    assert [c.value.strip() for c in at.code] == [first.markdown().strip(), latest.markdown().strip()]  # to copy
    conversation = at.query_params["c"]

    reloaded = AppTest.from_file(APP, default_timeout=300)  # a reload: a new session, the same address
    reloaded.query_params["c"] = conversation
    reloaded.run()
    assert not reloaded.exception, reloaded.exception
    assert asked_questions(reloaded) == [QUESTIONS["es"], QUESTIONS["pl"]]
    reloaded.toggle(key="sources-a0").set_value(True).run()
    assert citation_headers(reloaded) == citation_headers(at)
    reloaded.button(key="new-conversation").click().run()
    assert asked_questions(reloaded) == [] and "c" not in reloaded.query_params


def test_the_interface_speaks_five_languages(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from kb.messages import Messages

    at = app_for(real_settings, monkeypatch)
    at.chat_input[0].set_value(QUESTIONS["en"]).run()
    answer = KnowledgeBase.open(settings=real_settings).ask(QUESTIONS["en"], k=6)
    translated = next(c for c in answer.citations if c.parallels)
    for lang in ("es", "pl", "it", "fr", "en"):
        at.sidebar.selectbox(key="ui_lang").set_value(lang).run()
        assert not at.exception, at.exception
        t = Messages(lang)
        shown = load_presentation(real_settings.corpus_dir / "app.toml", lang)  # the bundled corpus's wording
        assert shown.title and shown.placeholder
        assert at.title[0].value == shown.title and at.query_params["lang"] == lang
        views = [t(f"view_{v}") for v in ("ask", "library", "principles", "gaps")]
        assert at.sidebar.radio(key="view").options == views
        assert at.chat_input[0].placeholder == shown.placeholder
        assert t("question_language", lang=t.language_label(answer.query_lang)) in [c.value for c in at.caption]
        assert any(t.language_label("pl") in h for h in citation_headers(at))  # language names in that language
        # a cited passage with translations shows its versions in tabs, the reader's language first
        labels = [tab.label for tab in at.tabs]
        versions = [translated, *translated.parallels]
        names = [t.language(v.lang) for v in versions]
        i = next(i for i in range(len(labels)) if sorted(labels[i : i + len(names)]) == sorted(names))
        if lang in {v.lang for v in versions}:
            assert labels[i] == t.language(lang)


def test_filters_mean_what_they_say(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    at.sidebar.multiselect(key="filter-languages").set_value(["pl"]).run()
    at.chat_input[0].set_value(QUESTIONS["en"]).run()
    headers = citation_headers(at)
    assert headers and all("Polish (pl)" in h for h in headers)  # not one French version beside them
    at.sidebar.multiselect(key="filter-languages").set_value([]).run()
    at.chat_input[0].set_value(QUESTIONS["es"]).run()
    assert any("Choose at least one language" in w.value for w in at.warning)
    assert asked_questions(at) == [QUESTIONS["en"]]  # nothing was asked of every language instead


def test_a_question_without_words(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    for junk in ["🙂🙂", "\u200b", "?!"]:
        at.chat_input[0].set_value(junk).run()
        assert any("Type a question" in w.value for w in at.warning)
    assert asked_questions(at) == [] and not citation_headers(at)


def test_a_cited_article_opens_at_the_passage(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    at.chat_input[0].set_value(QUESTIONS["it"]).run()
    first = KnowledgeBase.open(settings=real_settings).ask(QUESTIONS["it"], k=6).citations[0]
    at.button(key=f"open-a0-{first.n}-{first.doc_id}").click().run()
    assert not at.exception, at.exception
    article = next(h.proto.body for h in at.get("html") if "<p " in h.proto.body)
    assert '<mark id="kb-cited"' in article
    marked = article.split('<mark id="kb-cited"', 1)[1].split(">", 1)[1].split("</mark>", 1)[0]
    import html

    assert html.unescape(marked) in first.quote or first.quote.startswith(html.unescape(marked))


def test_the_article_view_never_interprets_the_article(
    hostile_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = app_for(hostile_settings, monkeypatch)
    at.sidebar.radio(key="view").set_value("library").run()
    open_row(at, 0)
    assert not at.exception, at.exception
    article = next(h.proto.body for h in at.get("html") if "<p " in h.proto.body or "<h" in h.proto.body)
    assert "&lt;b&gt;emoción&lt;/b&gt;" in article and "<a " not in article and "<script>" not in article
    title = str(at.get("dialog")[0].proto.dialog.title)  # the title, in the dialog's (Markdown) title
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in title and dialog_title(at) == HOSTILE.split("\n")[0]


def test_the_library(real_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    at = app_for(real_settings, monkeypatch)
    at.sidebar.radio(key="view").set_value("library").run()
    assert not at.exception, at.exception
    library = KnowledgeBase.open(settings=real_settings).library()
    table = at.dataframe[0].value
    assert list(table["title"]) == [a.title for a in library]
    assert list(table["passages"]) == [a.passages for a in library]
    at.multiselect(key="library-langs").set_value(["pl"]).run()
    assert set(at.dataframe[0].value["language"]) == {"Polish"}
    polish = [a for a in library if a.lang == "pl"]
    assert len(at.dataframe[0].value) == len(polish)
    word = polish[0].title.split()[0]
    at.text_input(key="library-title").input(word.upper()).run()  # any case
    assert all(word.casefold() in t.casefold() for t in at.dataframe[0].value["title"])
    open_row(at, 0)  # a row opens its article, titled once: in the dialog's title, not again in its text
    assert dialog_title(at) == polish[0].title
    body = " ".join(h.proto.body for h in at.get("html"))
    assert polish[0].title not in body and KnowledgeBase.open(settings=real_settings).document(
        polish[0].doc_id
    ).body.split("\n")[1][:30] in body.replace("&#x27;", "'")
    at.run()  # the selection stays, the dialog does not open again on the next step
    assert not at.get("dialog")
    open_row(at, None)  # the row unticked, then clicked again: it opens again
    open_row(at, 0)
    assert dialog_title(at) == polish[0].title


def open_row(at: AppTest, row: int | None) -> None:
    """A click on a row of the Library's grid (what the browser sends); None: a click that unticks it."""
    rows = [] if row is None else [row]
    at.session_state["library-grid"] = {"selection": {"rows": rows, "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception


def dialog_title(at: AppTest) -> str:
    dialogs = at.get("dialog")
    assert dialogs, "no dialog open"
    return str(dialogs[0].proto.dialog.title).replace("\\", "")


def test_the_gap_report_page(real_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(real_settings.index_dir, tmp_path / "index")
    (tmp_path / "index" / "gaps.jsonl").unlink(missing_ok=True)  # its own gap log, empty
    monkeypatch.setenv("KB_GAP_QUESTIONS", "on")  # the deployment keeps wordings
    settings = Settings.from_env(corpus_dir=real_settings.corpus_dir, index_dir=tmp_path / "index")
    at = app_for(settings, monkeypatch)
    tungsten = ["What is the boiling point of tungsten?", "¿Cuál es el punto de ebullición del tungsteno?"]
    for question in [*tungsten, "How many moons does Jupiter have?"]:
        at.chat_input[0].set_value(question).run()
    at.chat_input[0].set_value(QUESTIONS["pl"]).run()  # answered: not a gap
    at.sidebar.radio(key="view").set_value("gaps").run()
    assert not at.exception, at.exception
    questions = at.dataframe[0].value
    # one question asked in two languages is one group (issue 35); another question is another
    rows = sorted(
        zip(questions["question"], questions["other wordings"], questions["asked in"], strict=True),
        key=lambda r: r[2].count(","),
    )
    assert rows[0] == ("How many moons does Jupiter have?", "", "English")
    assert sorted([rows[1][0], rows[1][1]]) == sorted(tungsten) and len(rows) == 2
    assert sorted(rows[1][2].split(", ")) == ["English", "Spanish"]
    translations = next(d.value for d in at.dataframe if "missing" in d.value)
    expected = Service.shared(settings).report().translations  # those the questions reached first
    assert list(translations["title"]) == [m.title for m in expected] and expected
    assert list(translations["questions"]) == [m.questions for m in expected]
    # the articles the four questions reached, then the rest: each table downloads as CSV
    assert any("cited" in d.value for d in at.dataframe)
    assert [b.label for b in at.get("download_button")] == ["Download the charts' data (CSV)"] + ["Download CSV"] * 3


def test_feedback_on_an_answer_reaches_the_editors_view(
    real_settings: Settings, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Thumbs down on an answer, a citation flagged as the wrong source with a comment: both kept (never
    the ranking's), and both in the editors' view with the article and the passage."""
    import shutil

    shutil.copytree(real_settings.index_dir, tmp_path / "index")
    for log in ("gaps.jsonl", "feedback.jsonl"):
        (tmp_path / "index" / log).unlink(missing_ok=True)
    settings = Settings.from_env(corpus_dir=real_settings.corpus_dir, index_dir=tmp_path / "index")
    at = app_for(settings, monkeypatch)
    at.chat_input[0].set_value(QUESTIONS["es"]).run()
    order = [h.chunk_id for h in KnowledgeBase.open(settings=settings).search(QUESTIONS["es"], k=5)]
    at.feedback(key="fb-a0").set_value(0).run()  # thumbs down
    assert not at.exception, at.exception
    kept = Service.shared(settings).feedback.read()
    assert [f.helpful for f in kept] == [False]
    first = kept[0].citations[0]
    flagged = at.multiselect(key="fb-wrong-a0")
    flagged.set_value([flagged.options[1]])
    at.text_input(key="fb-comment-a0").set_value("No habla de medir").run()
    at.button(key="fb-send-a0").click().run()
    assert "Thank you: the editors will see it." in [s.value for s in at.success]
    kept = Service.shared(settings).feedback.read()
    assert [f.wrong for f in kept] == [(), (2,)] and kept[1].comment == "No habla de medir"
    # an earlier answer, its sources folded away, still takes a thumbs up
    at.chat_input[0].set_value(QUESTIONS["pl"]).run()
    at.feedback(key="fb-a0").set_value(1).run()
    assert not at.exception, at.exception
    assert [f.helpful for f in Service.shared(settings).feedback.read()] == [False, None, True]
    # feedback never reorders search
    assert [h.chunk_id for h in KnowledgeBase.open(settings=settings).search(QUESTIONS["es"], k=5)] == order
    at.sidebar.radio(key="view").set_value("gaps").run()
    assert not at.exception, at.exception
    disliked = next(d.value for d in at.dataframe if "times" in d.value and "asked in" in d.value)
    assert list(disliked["title"]) == [KnowledgeBase.open(settings=settings).document(first.doc_id).title]
    wrong = next(d.value for d in at.dataframe if "passage" in d.value)
    second = kept[1].citations[1]
    body = KnowledgeBase.open(settings=settings).document(second.doc_id).body
    assert list(wrong["passage"]) == [body[second.start : second.end]]
    assert list(wrong["comments"]) == ["No habla de medir"]


def test_first_start_builds_the_index_in_the_background(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "corpus").mkdir()
    (tmp_path / "corpus" / "a.txt").write_text("---\nlang: es\n---\nLa experiencia de cliente es emoción.\n")
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    at = app_for(settings, monkeypatch)
    assert any("First start" in i.value for i in at.info) and not at.chat_input
    finish_job(at)
    assert at.chat_input and list(at.sidebar.table[0].value["articles"]) == [1]


def test_notices_and_errors_speak_the_interface_language(
    real_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shortened question, a question the index cannot answer and a second rebuild, told in Polish."""
    import time

    from kb import KBError
    from kb.messages import Messages
    from kb.service import Job

    t = Messages("pl")
    at = app_for(real_settings, monkeypatch)
    at.sidebar.selectbox(key="ui_lang").set_value("pl").run()
    at.chat_input[0].set_value("Jak mierzyć sukces doświadczenia klienta? " * 60).run()  # over 2,000 characters
    assert not at.exception, at.exception
    assert [i.value for i in at.info] == [t("cut_characters", n=real_settings.max_query_chars)]

    def fails(*args: object, **kwargs: object) -> None:
        raise KBError("chunks.faiss was cut short")

    monkeypatch.setattr(Service, "ask", fails)
    at.chat_input[0].set_value("Czy technologia jest punktem wyjścia?").run()
    assert t("question_failed", error="chunks.faiss was cut short") in [w.value for w in at.warning]

    # another tab started a rebuild after this page showed the button enabled
    running = Job(number=1, kind="rebuild", started=time.time(), stage="embedding", done=1, total=4)
    monkeypatch.setattr(Service, "job", property(lambda self: running))
    monkeypatch.setattr(Service, "job_running", lambda self: False)
    at.button(key="rebuild").click().run()
    assert not at.exception, at.exception
    assert t("rebuild_running") in [w.value for w in at.sidebar.warning]


VIEWS_READ = ["Ask", "Library", "Principles"]
CHANGES = {"rebuild", "sync-now", "uploads"}  # the sidebar's controls that change the knowledge base
MATRIX = {  # who -> (the views offered, the controls offered)
    "anonymous": (VIEWS_READ, set()),
    "reader": (VIEWS_READ, set()),
    "editor": ([*VIEWS_READ, "Content gaps"], CHANGES),
    "admin": ([*VIEWS_READ, "Content gaps", "Admin"], CHANGES),
    "wrong password": ([], set()),
    "expired session": ([], set()),
}


@pytest.fixture(scope="module")
def small_index(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return one_article_index(tmp_path_factory.mktemp("small"))


@pytest.mark.parametrize("who", sorted(MATRIX))
def test_the_access_matrix_in_the_app(
    who: str, small_index: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every view and every control that changes the knowledge base, for each kind of person: offered or
    not as the roles say; and each one refused is refused again when the page sends it anyway. Also what
    each does with their own: a reader asks, an editor's rebuild is audited under their name (and their
    removed account is out at the next step), an admin reads the audit log and the accounts."""
    import shutil
    import time

    from streamlit import config

    from kb.access import read_audit
    from kb.access.users import add_user, remove_user
    from kb.sources import SourceConfig, add_source

    shutil.copytree(small_index.corpus_dir, tmp_path / "corpus")
    shutil.copytree(small_index.index_dir, tmp_path / "index")
    settings = Settings.from_env(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    add_source(settings, SourceConfig("help", "site", "https://help.invalid/hc/", ("es",)))  # never fetched
    if who == "anonymous":
        config.set_option("server.address", "0.0.0.0")
        monkeypatch.setenv("KB_APP_ANONYMOUS", "on")
    else:
        for role in ("reader", "editor", "admin"):
            add_user(settings, role, role, f"{role} password 123")
    at = app_for(settings, monkeypatch)
    if who in ("reader", "editor", "admin", "wrong password"):
        name, password = ("reader", "not it at all") if who == "wrong password" else (who, f"{who} password 123")
        at.text_input(key="sign-in-name").set_value(name)
        at.text_input(key="sign-in-password").set_value(password)
        at.button[0].click().run()
    elif who == "expired session":
        at.session_state["signed_in"] = ("admin", time.time() - 13 * 3600)
        at.run()
    views, controls = MATRIX[who]

    def offered() -> tuple[list[str], set[str]]:
        shown = at.sidebar.radio(key="view").options if at.sidebar.radio else []
        keys = {b.key for b in at.sidebar.button} | {b.key for b in at.button}
        uploader = (
            {"uploads"} if any(str(e.key).startswith("uploads") for e in at.sidebar.get("file_uploader")) else set()
        )
        return list(shown), (keys | uploader) & CHANGES

    assert not at.exception, at.exception
    assert offered() == (views, controls)
    if not views:  # not signed in: the page ends at the sign-in form, whatever it is sent
        assert [b.label for b in at.button] == ["Sign in"] and not at.chat_input
        return
    if who in ("reader", "anonymous"):  # readers ask and read
        at.chat_input[0].set_value("¿Qué es la experiencia de cliente?").run()
        assert not at.exception and at.chat_message
    if who == "admin":  # the admin page: the audit log, the accounts (never a hash), the keys
        at.sidebar.radio(key="view").set_value("admin").run()
        assert [h.value for h in at.subheader][:2] == ["Who changed what", "Accounts"]
        assert sorted(at.dataframe[0].value["who"]) == ["admin", "editor", "reader"]
        assert not any("argon2" in str(d.value) for d in at.dataframe)
    if who == "editor":  # an editor's change is audited under their name; a removed account is out at once
        at.sidebar.button(key="rebuild").click().run()
        finish_job(at)
        assert [(e.who, e.via, e.action) for e in read_audit(settings)] == [("editor", "password", "rebuild")]
        remove_user(settings, "editor")
        at.run()
        assert [w.value for w in at.warning] == ["Your account was removed or changed; sign in again."]
        assert not at.chat_input
    if not CHANGES - controls:
        return
    monkeypatch.setattr("kb.access.allowed", lambda principal, action: True)  # the controls shown by force
    at.run()
    for key in ("rebuild", "sync-now"):
        (at.sidebar.button(key=key) if key == "rebuild" else at.button(key=key)).click().run()
        assert "Your role may not do this." in [w.value for w in at.warning], key
    for view in ("gaps", "admin"):
        at.sidebar.radio(key="view").set_value(view).run()
        assert "Your role may not do this." in [w.value for w in at.warning] and not at.dataframe, view
    assert Service.shared(settings).job is None and read_audit(settings) == []  # nothing started or changed
