"""Streamlit face of cx-kb: ask a principle question, read a cited answer, open the cited passages."""

from __future__ import annotations

import re
import time
from urllib.parse import quote

import streamlit as st

from kb import Answer, Citation, KBError, KnowledgeBase, Settings, language_label

EXAMPLES = {
    "en": "Is customer experience about emotion or technology?",
    "es": "¿Cómo medir el éxito de la experiencia de cliente?",
    "pl": "Czy technologia jest punktem wyjścia dla doświadczenia klienta?",
    "it": "Perché l'essere umano è al centro della customer experience?",
    "fr": "Pourquoi les émotions comptent-elles pour les marques ?",
}
UPLOAD_TYPES = ["html", "htm", "pdf", "docx", "md", "markdown", "txt"]
HISTORY_SHOWN = 4  # exchanges rendered: the latest in full, the others compact
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")

st.set_page_config(page_title="cx-kb · customer-experience knowledge base", page_icon="💬", layout="wide")


def literal(text: str) -> str:
    """Markdown that shows `text` exactly: every markdown character is escaped, HTML is never rendered."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def highlighted(body: str, start: int, end: int, span: tuple[int, int]) -> str:
    """Markdown for body[span] with body[start:end] on a highlighted background, all as literal text."""
    left, right = span
    return literal(body[left:start]) + f":orange-background[{literal(body[start:end])}]" + literal(body[end:right])


@st.cache_resource(show_spinner="Loading the knowledge base and the model…")
def get_kb(version: str) -> KnowledgeBase:
    kb = KnowledgeBase.open(allow_stale=True)
    kb.embedder.warm_up()  # load the model now, not on the first question
    return kb


def index_version() -> str:
    """The current index version (cache key): a rebuild changes it and the app reloads."""
    return KnowledgeBase.current_version()


def build_with_progress(
    kb: KnowledgeBase | None = None, full: bool = False, uploads: list[tuple[str, bytes]] | None = None
) -> None:
    """Rebuild (or add `uploads` to the corpus, then rebuild) with a progress bar."""
    bar = st.progress(0.0, text="Preparing…")
    units = {"reading": "files", "embedding": "articles"}
    stage_started: dict[str, float] = {}

    def progress(done: int, total: int, stage: str) -> None:
        if stage not in units:
            return
        began = stage_started.setdefault(stage, time.perf_counter())
        text = f"{stage.capitalize()}: {done}/{total} {units[stage]}"
        if 0 < done < total:  # time left, from the rate so far
            left = (time.perf_counter() - began) / done * (total - done)
            text += f" · about {left / 60:.0f} min left" if left >= 90 else f" · about {left:.0f} s left"
        bar.progress(min(1.0, done / max(total, 1)), text=text)

    started = time.perf_counter()
    embedder = kb.embedder if kb is not None else None  # reuse the loaded model
    if uploads:
        report = KnowledgeBase.add(uploads, Settings.from_env(), progress=progress, embedder=embedder)
    else:
        report = KnowledgeBase.rebuild(Settings.from_env(), full=full, progress=progress, embedder=embedder)
    bar.progress(
        1.0,
        text=f"Index ready in {time.perf_counter() - started:.0f} s "
        f"({report.documents} articles, {report.chunks} passages)",
    )
    for skipped in report.skipped:
        st.warning(f"Skipped {skipped.path}: {skipped.reason}")


def sidebar(kb: KnowledgeBase, filters: bool = True) -> tuple[list[str] | None, int]:
    stats = kb.stats()
    with st.sidebar:
        st.header("Knowledge base")
        rows = [
            {
                "language": language_label(lang),
                "articles": stats.documents_per_language.get(lang, 0),
                "passages": stats.chunks_per_language.get(lang, 0),
            }
            for lang in sorted(stats.chunks_per_language)
        ]
        st.table(rows)  # a plain table: the interactive data grid costs ~100 ms of rendering per rerun
        st.caption(f"Model: {stats.model}  \nBuilt: {stats.built_at}")
        if stats.skipped:
            with st.expander(f"{len(stats.skipped)} corpus files not indexed"):
                for skipped in stats.skipped:
                    st.markdown(f"**{literal(skipped.path)}**: {literal(skipped.reason)}")
        if kb.check_stale():
            st.warning(f"The corpus changed since the index was built ({kb.stale_reason}). Rebuild to include it.")
        if st.button(
            "Rebuild index",
            help="Re-index the corpus; answers keep coming from the current index until the new one is complete",
        ):
            try:
                build_with_progress(kb)
                get_kb.clear()
                st.rerun()
            except KBError as exc:
                st.error(str(exc))
        if "added" in st.session_state:  # what the last upload did, shown after the app reloaded the index
            st.success(st.session_state.pop("added"))
        uploads = st.file_uploader(
            "Add documents",
            type=UPLOAD_TYPES,
            accept_multiple_files=True,
            help="HTML, PDF, DOCX, Markdown or text; a file with the name of one in the corpus replaces it",
            key=f"uploads-{st.session_state.setdefault('upload_round', 0)}",
        )
        if uploads and st.button("Add to the knowledge base", key="add-uploads"):
            try:
                build_with_progress(kb, uploads=[(f.name, f.getvalue()) for f in uploads])
                st.session_state["added"] = "Added " + ", ".join(f.name for f in uploads)
                st.session_state["upload_round"] += 1  # a fresh, empty uploader
                get_kb.clear()
                st.rerun()
            except KBError as exc:
                st.error(str(exc))
        if not filters:  # the Principles view covers the whole corpus
            return None, 0
        st.header("Filters")
        options = kb.languages()
        chosen = st.multiselect("Languages of the passages", options, default=options, format_func=language_label)
        k = st.slider("Passages to draw from", 1, 20, 6)
    return (chosen if chosen and len(chosen) < len(options) else None), k


@st.dialog("Article", width="large")
def article_dialog(kb: KnowledgeBase, c: Citation) -> None:
    """The whole article with the cited passage highlighted (rendered only when opened)."""
    doc = kb.document(c.doc_id)
    st.subheader(doc.title)
    details = [language_label(doc.lang), doc.source, doc.published]
    if doc.translation_of:
        details.append(f"translation of {doc.translation_of}")
    st.caption(" · ".join(d for d in details if d))
    st.markdown(highlighted(doc.body, c.start, c.end, (0, len(doc.body))))


def where(c: Citation) -> str:
    """Markdown for where a quote sits ("p. 3 · Returns › Refunds · <source>"); a URL source is a link."""
    parts = [literal(c.location)] if c.location else []
    if c.source.startswith(("https://", "http://")):
        parts.append(f"[{literal(c.source)}]({quote(c.source, safe=':/?#&=%+,;@~')})")
    elif c.source:
        parts.append(literal(c.source))
    return " · ".join(parts)


def show_citation(kb: KnowledgeBase, c: Citation, key: str) -> None:
    doc = kb.document(c.doc_id)
    st.markdown(f"**[{c.n}] {literal(c.title)}** · {language_label(c.lang)}")
    st.caption(where(c))
    st.markdown(highlighted(doc.body, c.start, c.end, doc.paragraph_span(c.start, c.end)))
    if st.button("Open the article", key=f"open-{key}"):
        article_dialog(kb, c)


def show_earlier_answer(answer: Answer) -> None:
    """A compact earlier answer: its points and where they come from (the latest answer is shown in full)."""
    st.caption(f"Question language: {language_label(answer.query_lang)}")
    for point in answer.points:
        st.markdown(f"- {literal(point.text)} {literal(point.markers)}")
    st.caption(" · ".join(f"[{c.n}] {c.title} ({c.lang})" for c in answer.citations))


def show_answer(kb: KnowledgeBase, answer: Answer, key: str) -> None:
    st.caption(f"Question language: {language_label(answer.query_lang)}")
    if answer.notice:
        st.info(answer.notice)
    if not answer.confident:
        st.warning("The knowledge base has no passage that clearly answers this. These are the closest passages.")
    answer_tab, evidence_tab = st.tabs(["Answer", "Evidence"])
    with answer_tab:
        for point in answer.points:
            st.markdown(f"- {literal(point.text)} {literal(point.markers)}")
        st.subheader("Sources")
        for i, point in enumerate(answer.points):
            versions = [v for c in point.citations for v in (c, *c.parallels)]  # a translation's version sits beside it
            columns = st.columns(len(versions))
            for column, citation in zip(columns, versions, strict=True):
                with column:
                    show_citation(kb, citation, f"{key}-{i}-{citation.n}-{citation.doc_id}")
    with evidence_tab:
        for hit in answer.hits:
            st.markdown(f"**{hit.rank}.** score {hit.score:.3f} · {literal(hit.title)} · {language_label(hit.lang)}")
            st.text(hit.text)


def show_principles(kb: KnowledgeBase) -> None:
    """The main points the articles make across works and languages, each with its citations."""
    st.header("Principles of the corpus")
    st.caption(
        "Points made by passages of more than one work (an article and its translations are one work), "
        "most widely made first. Each is stated by its most central sentence."
    )
    principles = kb.principles(limit=10)
    if not principles:
        st.info("No point is made by more than one article yet.")
    for i, principle in enumerate(principles, start=1):
        langs = ", ".join(language_label(lang) for lang in principle.languages)
        st.subheader(f"{i}. {literal(principle.statement.quote)}")
        st.caption(f"{len(principle.citations)} passages · {principle.works} works · {langs}")
        with st.expander(f"The {len(principle.citations)} passages"):
            for c in principle.citations:
                show_citation(kb, c, f"p{i}-{c.n}")


def main() -> None:
    st.title("Customer-experience knowledge base")
    st.caption(
        "Ask a principle question in English, Spanish, Polish, Italian, French or another language. "
        "Answers quote the articles and cite every passage, in the language it was written."
    )
    version = index_version()
    if not version:
        st.info("First start: building the index of the bundled articles…")
        try:
            build_with_progress()
        except KBError as exc:
            st.error(str(exc))
            st.stop()
        version = index_version()
    try:
        kb = get_kb(version)
    except KBError as exc:  # e.g. a corrupted index or one of an older format: offer to rebuild it here
        st.error(str(exc))
        if st.button("Rebuild the index now", key="repair"):
            try:
                build_with_progress(full=True)  # everything: the broken index cannot be trusted
                get_kb.clear()
                st.rerun()
            except KBError as again:
                st.error(str(again))
        st.stop()
    view = st.sidebar.radio("View", ["Ask", "Principles"], horizontal=True)
    languages, k = sidebar(kb, filters=view == "Ask")
    if view == "Principles":
        show_principles(kb)
        return

    history: list[tuple[str, Answer]] = st.session_state.setdefault("history", [])
    st.write("Try:")
    columns = st.columns(len(EXAMPLES))
    asked = None
    for column, (lang, question) in zip(columns, EXAMPLES.items(), strict=True):
        if column.button(question, key=f"example-{lang}", width="stretch"):
            asked = question
    typed = st.chat_input("Ask a question about customer experience")
    asked = typed or asked
    if asked:
        try:
            history.append((asked, kb.ask(asked, k=k, languages=languages)))
        except KBError as exc:
            st.error(str(exc))
    shown = history[-HISTORY_SHOWN:]  # older exchanges stay in the session but are not re-rendered
    for i, (question, answer) in enumerate(reversed(shown)):
        with st.chat_message("user"):
            st.text(question)
        with st.chat_message("assistant"):
            if i == 0:
                show_answer(kb, answer, f"a{len(history) - i}")
            else:
                show_earlier_answer(answer)
    if len(history) > HISTORY_SHOWN:
        st.caption(f"{len(history) - HISTORY_SHOWN} earlier questions are not shown.")


main()
