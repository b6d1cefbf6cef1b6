"""Streamlit face of cx-kb: ask in any language and read cited answers; browse the library; find content gaps."""

from __future__ import annotations

import hashlib
import html
import json
import re
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import streamlit as st

from kb import (
    Answer,
    Citation,
    Document,
    IndexUnusable,
    KBError,
    KnowledgeBase,
    Refusal,
    Service,
    gap_report,
    replaced_by,
)
from kb.access import Principal, allowed, authorize, read_audit
from kb.access.identity import ANONYMOUS, LOCAL_USER, door, from_oidc, from_proxy
from kb.access.keys import list_keys
from kb.access.users import SignInRefused, find_user, list_users, sign_in
from kb.answer import cite
from kb.conversations import Exchange
from kb.gaps import ArticleUse, GapReport
from kb.knowledge_base import MAX_K_ASKED
from kb.language import detect_language, has_words
from kb.messages import UI_LANGUAGES, Messages, language_in, ui_language
from kb.presentation import Presentation, load_presentation, presentation_file

FIRST_START = Principal("app (first start)", "editor", "app")  # builds the index a first start finds missing
VIEWS = ("ask", "library", "principles", "gaps", "admin")
VIEW_ACTION = {"gaps": "gaps", "admin": "audit"}  # the views only some roles see
POLL_SECONDS = 2  # how often every tab looks at the background rebuild
SHOW_OUTCOME_SECONDS = 600  # how long every tab shows how the last rebuild ended
# scroll_to: look every TICK for what to show, for up to WAIT; scroll once the page is CALM (not growing)
# and QUIET (not scrolling); keep it in view until it has stayed there, the page still, for SETTLE
SCROLL_TICK_MS, SCROLL_WAIT_MS, SCROLL_SETTLE_MS = 100, 30_000, 1_500
SCROLL_CALM_MS, SCROLL_QUIET_MS = 300, 200
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:=^&])")
HIGHLIGHT = "background: #ffd8a8; padding: 0 2px; border-radius: 3px;"


def literal(text: str) -> str:
    """Markdown that shows `text` exactly: every markdown character is escaped, HTML is never rendered."""
    return _MD_SPECIAL.sub(r"\\\1", text).replace("\n", "  \n")


def highlighted(body: str, start: int, end: int, span: tuple[int, int]) -> str:
    """Markdown for body[span] with body[start:end] on a highlighted background, all as literal text."""
    left, right = span
    return literal(body[left:start]) + f":orange-background[{literal(body[start:end])}]" + literal(body[end:right])


def article_html(doc: Document, cited: tuple[int, int] | None) -> str:
    """The article as HTML: its headings as headings, every character of its text escaped, the cited
    span in <mark> (the first with id="kb-cited"). Nothing the article holds is ever interpreted."""
    headings = {offset: level for offset, level, _ in doc.sections}
    title = " ".join(doc.title.split()).casefold()
    out: list[str] = []
    offset, marked = 0, False
    for block in doc.body.split("\n\n"):  # the readers separate paragraphs and headings by a blank line
        start, end = offset, offset + len(block)
        offset = end + 2
        if not block.strip():
            continue
        line = block.split("\n", 1)[0]
        if not out and " ".join(line.split()).casefold() == title and not (cited and start + len(line) > cited[0]):
            # the title, which the dialog shows above it: not twice
            block, start = block[len(line) + 1 :], start + len(line) + 1
            if not block.strip():
                continue
        if cited and start < cited[1] and cited[0] < end:  # the cited span overlaps this block
            left, right = max(cited[0], start) - start, min(cited[1], end) - start
            anchor = "" if marked else ' id="kb-cited"'
            marked = True
            inner = (
                _escape(block[:left])
                + f'<mark{anchor} style="{HIGHLIGHT}">{_escape(block[left:right])}</mark>'
                + _escape(block[right:])
            )
        else:
            inner = _escape(block)
        if start in headings:
            out.append(f"<h{min(6, headings[start] + 2)}>{inner}</h{min(6, headings[start] + 2)}>")
        else:
            out.append(f'<p style="margin: 0 0 0.9em">{inner}</p>')
    return "\n".join(out)


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


# -- the interface language ----------------------------------------------------------------------------


def choose_language() -> Messages:
    """The interface language: the one chosen in the sidebar (kept in the address), else the browser's."""
    if "ui_lang" not in st.session_state:
        asked = st.query_params.get("lang", "")
        st.session_state["ui_lang"] = asked if asked in UI_LANGUAGES else ui_language(st.context.locale)
    lang = st.sidebar.selectbox(
        "🌐",
        UI_LANGUAGES,
        key="ui_lang",
        format_func=lambda code: language_in(code, code),
        label_visibility="collapsed",
    )
    lang = str(lang or "en")
    if st.query_params.get("lang") != lang:
        st.query_params["lang"] = lang
    return Messages(lang)


# -- the background rebuild, seen from every tab -------------------------------------------------------


@st.fragment(run_every=POLL_SECONDS)
def job_panel(svc: Service, t: Messages, stale: bool = False) -> None:
    """The running rebuild's progress (or how the last one ended, unless the corpus has changed since: the
    page says that instead of an "up to date" that no longer holds); a new version reloads the page."""
    loaded = svc.loaded()
    if loaded is not None and loaded.version != st.session_state.get("version", ""):
        st.rerun(scope="app")  # the new version is in memory: show what it holds
    job = svc.job
    if job is None:
        return
    if job.running:
        if job.stage in ("reading", "embedding"):
            text = t(f"job_{job.stage}", done=job.done, total=job.total)
            left = job.seconds_left
            if left is not None:
                text += t("left_min", n=round(left / 60)) if left >= 90 else t("left_s", n=round(left))
            st.progress(min(1.0, job.done / max(job.total, 1)), text=text)
        else:
            st.progress(0.99 if job.stage in ("adapting", "loading") else 0.0, text=t(f"job_{job.stage or 'starting'}"))
        st.caption(t("job_background"))
    elif job.error:
        st.error(t("job_failed", error=job.error))
    elif job.report is not None and not stale and time.time() - job.finished < SHOW_OUTCOME_SECONDS:
        report = job.report
        for synced in job.synced:
            counts = dict(added=len(synced.added), updated=len(synced.updated), removed=len(synced.removed))
            st.info(t("job_synced", name=synced.name, **counts))
            if not synced.ok:
                problem = synced.error or "; ".join(f"{key}: {why}" for key, why in synced.failed[:3])
                if synced.held_back:
                    problem = t("held_back", n=len(synced.held_back))
                st.warning(t("sync_trouble", error=problem, failed=len(synced.failed)))
        if job.kind == "add":
            st.success(t("job_added", files=", ".join(job.files)))
        elif not report.changed:
            st.success(t("job_unchanged"))
        else:
            st.success(t("job_done", seconds=round(report.seconds), documents=report.documents, chunks=report.chunks))
        for skipped in report.skipped:
            st.warning(t("skipped_file", path=skipped.path, reason=skipped.reason))


def signed_in(svc: Service, t: Messages) -> Principal:
    """Who uses this session, by the deployment's way of identifying people (kb/access/identity.py); the
    page stops at a sign-in form, or a refusal, until there is someone. Checked again on every run: an
    account removed or a role changed takes effect at the session's next step; a session ends after
    KB_SESSION_HOURS."""
    settings = svc.settings
    served_on = str(st.get_option("server.address") or "")
    how = door(settings, served_on, oidc_configured())
    st.session_state["door"] = how
    if how == "local":
        return LOCAL_USER
    if how == "anonymous":
        return ANONYMOUS
    if how == "refused":  # served beyond this machine with no identity, and anonymous readers not allowed
        st.error(t("refused_network"))
        st.stop()
    try:
        if how == "proxy":
            return from_proxy(settings, served_on, st.context.ip_address, st.context.headers)
        if how == "oidc":
            return oidc_user(svc, t)
        return password_user(svc, t)
    except KBError as exc:
        st.error(t("not_signed_in", error=exc))
        if how == "oidc" and st.user.is_logged_in:
            st.button(t("sign_out"), on_click=st.logout, key="sign-out-refused")
        st.stop()


def oidc_configured() -> bool:
    """Whether .streamlit/secrets.toml has an [auth] section (st.login's OIDC provider)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all  # noqa: BLE001
        return False


def oidc_user(svc: Service, t: Messages) -> Principal:
    """The person the OIDC provider signed in. Streamlit keeps its identity cookie for a fixed time and does
    not check the ID token's expiry: this does, and signs the session out past it or past KB_SESSION_HOURS."""
    if not st.user.is_logged_in:
        st.info(t("sign_in_needed"))
        st.button(t("sign_in_oidc"), on_click=st.login, key="sign-in-oidc", type="primary")
        st.stop()
    claims = st.user.to_dict()
    expires, issued = (float(str(claims.get(name) or 0)) for name in ("exp", "iat"))  # seconds since 1970
    if (expires and expires < time.time()) or (issued and time.time() - issued > svc.settings.session_hours * 3600):
        st.info(t("session_expired"))
        st.button(t("sign_in_oidc"), on_click=st.logout, key="sign-in-again", type="primary")
        st.stop()
    who = from_oidc(svc.settings, claims)
    st.sidebar.button(t("sign_out"), on_click=st.logout, key="sign-out")
    return who


def password_user(svc: Service, t: Messages) -> Principal:
    """A built-in account's person (`kb user add`): a sign-in form until the password matches (throttled)."""
    session = st.session_state.get("signed_in")
    if session is not None:
        name, since = session
        account = find_user(svc.settings, name)
        if time.time() - since > svc.settings.session_hours * 3600:
            st.session_state.pop("signed_in")
            st.info(t("session_expired"))
        elif account is None or account.external:
            st.session_state.pop("signed_in")
            st.warning(t("account_gone"))
        else:
            # the click acts through its callback, before the run it starts, even if that click landed
            # while another run (an answer, the rebuild panel's poll) was still going
            st.sidebar.button(t("sign_out"), key="sign-out", on_click=sign_out)
            return Principal(account.name, account.role, "password")
    with st.form("sign-in"):
        st.subheader(t("sign_in"))
        name = st.text_input(t("user_name"), key="sign-in-name")
        password = st.text_input(t("password"), type="password", key="sign-in-password")
        if st.form_submit_button(t("sign_in"), type="primary"):
            try:
                who = sign_in(svc.settings, name.strip(), password, address=st.context.ip_address or "this machine")
            except SignInRefused as exc:
                st.error(t("sign_in_failed", error=exc))
            else:
                st.session_state["signed_in"] = (who.name, time.time())
                st.rerun()
    st.stop()


def sign_out() -> None:
    """Forget the built-in account's session, and what it asked (the next person starts afresh)."""
    for key in ("signed_in", "history"):
        st.session_state.pop(key, None)
    st.query_params.pop("c", None)


def user() -> Principal:
    return st.session_state["user"]


def permitted(t: Messages, action: str) -> bool:
    """The check before acting (`allowed` only decides what is shown): False, and a notice, when the
    session's role may not do `action`, whatever the page sent."""
    try:
        authorize(user(), action)
    except KBError:
        st.warning(t("not_allowed"))
        return False
    return True


def start_job(svc: Service, t: Messages, **options: object) -> bool:
    """Start a rebuild; False (and a notice) when one is already running, e.g. started from another tab, or
    when the user's role may not."""
    action = "sync" if options.get("sync") else "add" if options.get("uploads") else "rebuild"
    if not permitted(t, action):  # the controls are hidden from readers; this is the check
        return False
    if svc.job is not None and svc.job.running:
        st.warning(t("rebuild_running"))
        return False
    try:
        svc.start(**options, by=user())  # type: ignore[arg-type]
    except KBError:  # started by another tab in between
        st.warning(t("rebuild_running"))
        return False
    return True


def open_knowledge_base(svc: Service, t: Messages) -> KnowledgeBase:
    """The served version; on first start (no index) a background build of it; else the error and a repair."""
    try:
        return svc.knowledge_base()
    except KBError as exc:
        st.session_state["version"] = ""  # none shown: the job panel reruns the page when one is loaded
        job = svc.job
        if job is None and not svc.version():  # first start: build what is missing
            svc.start(by=FIRST_START)
            job = svc.job
        if job is not None and job.running:
            st.info(t("first_build") if job.kind == "rebuild" else t("repairing"))
        else:
            st.error(t("index_unusable", error=exc))  # e.g. corrupted, or of an older format: offer to rebuild it
            if allowed(user(), "rebuild") and st.button(t("repair"), key="repair"):
                start_job(svc, t, full=True)  # everything: the broken index cannot be trusted
                st.rerun()
        with st.sidebar:
            job_panel(svc, t)
        st.stop()


# -- the sidebar ---------------------------------------------------------------------------------------


def sidebar(svc: Service, kb: KnowledgeBase, t: Messages, filters: bool) -> tuple[list[str] | None, int]:
    stats = kb.stats()
    with st.sidebar:
        st.header(t("kb_header"))
        rows = [
            {
                t("col_language"): t.language_label(lang),
                t("col_articles"): stats.documents_per_language.get(lang, 0),
                t("col_passages"): stats.chunks_per_language.get(lang, 0),
            }
            for lang in sorted(stats.chunks_per_language)
        ]
        st.table(rows)  # a plain table: the interactive data grid costs ~100 ms of rendering per rerun
        st.caption(t("model_built", model=stats.model, built=t.when(stats.built_at)))
        if stats.skipped:
            with st.expander(t("skipped_files", n=len(stats.skipped))):
                for skipped in stats.skipped:
                    st.markdown(f"**{literal(skipped.path)}**: {literal(skipped.reason)}")
        stale = kb.check_stale()
        if stale:
            st.warning(t("stale", reason=stale))
        running = svc.job_running()
        job_panel(svc, t, bool(stale))
        if allowed(user(), "rebuild"):
            editing(svc, t, running)
        if not filters:  # the other views cover the whole corpus
            return None, 0
        st.header(t("filters"))
        options = kb.languages()
        chosen = st.multiselect(
            t("languages_filter"),
            options,
            default=options,
            format_func=t.language_label,
            key="filter-languages",
            placeholder=t("choose_language"),  # (Streamlit's own says "Choose options", in English)
        )
        k = st.slider(t("k_slider"), 1, MAX_K_ASKED, 6, key="k")
    if not chosen:
        return [], k  # nothing chosen means nothing to search (not everything): the Ask view says so
    return (chosen if len(chosen) < len(options) else None), k


def editing(svc: Service, t: Messages, running: bool) -> None:
    """The controls that change the knowledge base (an editor's): rebuild, add documents, the help centres."""
    if st.button(t("rebuild"), help=t("rebuild_help"), key="rebuild", disabled=running) and start_job(svc, t):
        st.rerun()
    # Streamlit's own wording on the uploader is English and names its own size limit: ours instead
    st.html(
        "<style>[data-testid=stFileUploaderDropzoneInstructions] {display: none}"
        " [data-testid=stFileUploaderDropzone] [data-testid=stBaseButton-secondary] p {display: none}"
        " [data-testid=stFileUploaderDropzone] [data-testid=stBaseButton-secondary]"
        f" [data-testid=stMarkdownContainer]::after {{content: {json.dumps(t('browse'))}}}</style>"
    )
    uploads = st.file_uploader(  # any file: one we cannot read is refused below, saying why, in this language
        t("add_documents"),
        accept_multiple_files=True,
        help=t("add_help"),
        key=f"uploads-{st.session_state.setdefault('upload_round', 0)}",
    )
    st.caption(t("upload_limits", **upload_limits(svc)))
    offered = [(f.name, f.getvalue()) for f in uploads or ()]
    checked = {name: upload_check(svc, name, data) for name, data in offered}
    refused = {name: refusal for name, (_, refusal) in checked.items() if refusal is not None}
    for refusal in refused.values():
        st.error(refusal_message(t, refusal))
    uploads = [f for f in uploads or () if f.name not in refused]  # only these are added
    confirmed = False
    replacing = [article for f in uploads for article in checked[f.name][0]]
    if replacing:  # an upload named like a corpus file replaces its article: say which, and ask
        st.warning(t("replaces", articles="; ".join(replacing)))
        confirmed = st.checkbox(
            t("replace_confirm_one" if len(replacing) == 1 else "replace_confirm", n=len(replacing)),
            key=f"replace-{st.session_state['upload_round']}",
        )
    add = uploads and st.button(
        t("add_button"), key="add-uploads", disabled=running or bool(replacing and not confirmed)
    )
    if add and start_job(svc, t, uploads=[(f.name, f.getvalue()) for f in uploads]):
        st.session_state["upload_round"] += 1  # a fresh, empty uploader
        st.rerun()
    help_centres(svc, t, running)


def upload_limits(svc: Service) -> dict[str, str]:
    """The largest file of each kind an editor may add, in MB: the knowledge base's limit, or the app's
    upload limit (server.maxUploadSize) when that is lower."""
    served = float(st.get_option("server.maxUploadSize") or 200) * 1024 * 1024
    limits = svc.settings.limits
    return {
        "binary": f"{min(limits.max_binary_bytes, served) / 1e6:g}",
        "text": f"{min(limits.max_bytes, served) / 1e6:g}",
    }


def upload_check(svc: Service, name: str, data: bytes) -> tuple[list[str], Refusal | None]:
    """The articles (title · file) adding this file would replace, or why it would not be indexed; read
    once per file content. Replacing is by file name, or by the id or text of an article in another file."""
    checked: dict[tuple[str, str], tuple[list[str], Refusal | None]]
    checked = st.session_state.setdefault("checked_uploads", {})
    key = (name, hashlib.sha256(data).hexdigest())
    if key not in checked:
        loaded = svc.loaded()
        documents = loaded.documents() if loaded is not None else []
        replaced, refusal = replaced_by(documents, name, data, svc.settings.limits)
        articles = [f"{d.title} · {d.path}" for d in replaced]
        held = svc.settings.corpus_dir / name  # a corpus file the index does not hold (skipped, or no index)
        if refusal is None and not replaced and held.is_file() and held.read_bytes() != data:
            articles.append(name)
        checked[key] = (articles, refusal)
    return checked[key]


def refusal_message(t: Messages, refusal: Refusal) -> str:
    """Why a file was refused and what to do, in the interface's language."""
    name, suffix = refusal.name, Path(refusal.name).suffix.lower() or "?"
    if refusal.kind == "format":
        to_pdf = suffix in {".pptx", ".ppt", ".key", ".xlsx", ".xls", ".odp", ".ods"}
        return t("refused_format_pdf" if to_pdf else "refused_format", name=name, suffix=suffix)
    if refusal.kind == "size":
        return t("refused_size", name=name, size=f"{refusal.size / 1e6:.1f}", limit=f"{refusal.limit / 1e6:g}")
    if refusal.kind == "duplicate":
        return t("refused_duplicate", name=name, article=refusal.article)
    if refusal.kind in ("empty", "name"):
        return t(f"refused_{refusal.kind}", name=name)
    return t("refused_unreadable", name=name, detail=refusal.detail)


def help_centres(svc: Service, t: Messages, running: bool) -> None:
    """The help centres the corpus mirrors (`kb source add`), how each last sync ended, and "Sync now"."""
    sources = svc.sources()
    if not sources:
        return
    with st.expander(t("sources_header", n=len(sources))):
        for source, last in sources:
            st.markdown(f"**{literal(source.name)}** · {literal(source.url)}")
            if last is None:
                st.caption(t("never_synced"))
                continue
            counts = dict(added=last["added"], updated=last["updated"], removed=last["removed"])
            st.caption(t("last_sync", when=t.when(str(last["finished"])), articles=last["articles"], **counts))
            if last.get("error") or last.get("failed") or last.get("held_back"):
                st.warning(t("sync_trouble", error=last.get("error") or "", failed=last.get("failed", 0)))
        if st.button(t("sync_now"), help=t("sync_help"), key="sync-now", disabled=running) and start_job(
            svc, t, sync=True
        ):
            st.rerun()


# -- citations and articles ----------------------------------------------------------------------------


def where(c: Citation) -> str:
    """Markdown for where a quote sits ("p. 3 · Returns › Refunds · <source>"); a URL source is a link."""
    parts = [literal(c.location)] if c.location else []
    if c.source.startswith(("https://", "http://")):
        parts.append(f"[{literal(c.source)}]({quote(c.source, safe=':/?#&=%+,;@~')})")
    elif c.source:
        parts.append(literal(c.source))
    return " · ".join(parts)


def document_or_none(kb: KnowledgeBase, doc_id: str) -> Document | None:
    try:
        return kb.document(doc_id)
    except KBError:  # removed by a rebuild since the answer was given
        return None


def show_article(kb: KnowledgeBase, t: Messages, doc_id: str, cited: Citation | None = None) -> None:
    """The whole article in a dialog; a cited passage highlighted and scrolled into view."""

    def body() -> None:
        doc = document_or_none(kb, doc_id)
        if doc is None:
            st.warning(t("article_gone"))
            return
        details = [t.language_label(doc.lang), doc.published, doc.format.upper()]
        if doc.translation_of:
            details.append(t("translation_of", doc=doc.translation_of))
        st.caption(literal(" · ".join(d for d in details if d)))
        span = None
        if cited is not None:
            if doc.body[cited.start : cited.end] == cited.quote:
                span = (cited.start, cited.end)
                if cited.location:
                    st.caption(literal(cited.location))
            else:
                st.warning(t("article_changed"))
        if doc.source.startswith(("https://", "http://")):
            st.link_button(t("source"), doc.source)
        elif doc.source or doc.path:
            st.caption(f"{literal(t('source'))}: {literal(doc.source or doc.path)}")
        st.html(article_html(doc, span))
        if span is not None:
            scroll_to("#kb-cited", "center", occasion=f"{doc_id} {span}")

    doc = document_or_none(kb, doc_id)
    st.dialog(literal(doc.title) if doc is not None else t("article"), width="large")(body)()  # the title, once


def scroll_to(selector: str, block: str, from_end: int = 0, occasion: str = "", at_least: int = 1) -> None:
    """Scroll the page (or the open dialog) to the last element `selector` finds (or the one `from_end`
    before it), once there are `at_least` of them, and keep it in view while the page settles (elements
    rendered after it would move it away again), unless the person scrolls, clicks or types meanwhile.
    `occasion` names what calls for it: the same frame content is not run again, so each new occasion
    must differ.

    A chat's page pulls itself to the bottom while it grows, and lets go only when a scroll comes, with
    no growth, after a pause in scrolling (Streamlit handles scroll events at most every 100 ms). So the
    script scrolls once the page is CALM (no growth) and QUIET (no scrolling): scrolling while the page
    pulls would fight it, the page jumping up and down for seconds.

    Our own script, never the article's (theirs is only ever shown as text)."""
    script = """
const doc = document, view = window, start = Date.now();
const kinds = ["wheel", "touchstart", "mousedown", "keydown"];
let touched = false, height = -1, grown = start, scrolled = start, since = 0;
const touch = () => { touched = true; };
const moved = () => { scrolled = Date.now(); };
const done = () => {
  for (const kind of kinds) doc.removeEventListener(kind, touch, true);
  doc.removeEventListener("scroll", moved, true);
};
for (const kind of kinds) doc.addEventListener(kind, touch, true);
doc.addEventListener("scroll", moved, true);  // (scroll events do not bubble, but they are captured)
function scroller(e) {  // the element's scrolling ancestor: its height grows as the page renders
  for (let p = e.parentElement; p; p = p.parentElement) {
    if (/(auto|scroll)/.test(view.getComputedStyle(p).overflowY) && p.scrollHeight > p.clientHeight) return p;
  }
  return doc.scrollingElement;
}
function seen(e) {  // (a fraction of a pixel off counts as there)
  const r = e.getBoundingClientRect(), s = scroller(e);
  if (BLOCK !== "start") return r.top >= -2 && r.bottom <= view.innerHeight + 2;
  // at the top of the view, what follows it below (somewhere in the view is not enough: a new answer
  // half a page down sits under the input box), or as high as it can go
  const end = s.scrollTop + s.clientHeight >= s.scrollHeight - 2;
  return r.top >= -2 && (r.top <= view.innerHeight / 4 || end);
}
(function go() {
  const now = Date.now();
  if (touched || now - start > WAIT_MS) return done();
  const all = doc.querySelectorAll(SELECTOR);
  const e = all.length >= AT_LEAST ? all[all.length - 1 - FROM_END] : null;
  if (e) {
    const h = scroller(e).scrollHeight;
    if (h !== height) { height = h; grown = now; }
    if (!seen(e)) {
      since = 0;
      if (now - grown >= CALM_MS && now - scrolled >= QUIET_MS) e.scrollIntoView({block: BLOCK});
    } else if (!since) since = now;
    else if (now - since >= SETTLE_MS && now - grown >= SETTLE_MS) return done();  // in view, the page still
  }
  setTimeout(go, TICK_MS);
})();
"""
    values = {
        "SELECTOR": json.dumps(selector),
        "BLOCK": json.dumps(block),
        "AT_LEAST": str(int(at_least)),
        "FROM_END": str(int(from_end)),
        "TICK_MS": str(SCROLL_TICK_MS),
        "WAIT_MS": str(SCROLL_WAIT_MS),
        "SETTLE_MS": str(SCROLL_SETTLE_MS),
        "CALM_MS": str(SCROLL_CALM_MS),
        "QUIET_MS": str(SCROLL_QUIET_MS),
    }
    for name, value in values.items():
        script = script.replace(name, value)
    # run in the page itself (st.html), not a frame: a same-origin frame that runs scripts is a sandbox
    # browsers warn about on every answer
    # (in a function of its own: scripts in the page share one global scope)
    st.html(f"<script>/* {html.escape(occasion)} */(() => {{{script}}})();</script>", unsafe_allow_javascript=True)


def versions_for(c: Citation, lang: str) -> list[Citation]:
    """A citation and its translations' versions, the one in the reader's language first."""
    versions = [c, *c.parallels]
    return sorted(versions, key=lambda v: v.lang != lang)  # stable: otherwise as the answer gave them


def show_version(kb: KnowledgeBase, t: Messages, c: Citation, key: str) -> None:
    st.markdown(f"**[{c.n}] {literal(c.title)}** · {t.language_label(c.lang)}")
    st.caption(where(c))
    doc = document_or_none(kb, c.doc_id)
    if doc is None:
        st.caption(t("article_gone"))
        st.markdown(literal(c.quote))
        return
    if doc.body[c.start : c.end] != c.quote:
        st.caption(t("article_changed"))
        st.markdown(literal(c.quote))
        return
    st.markdown(highlighted(doc.body, c.start, c.end, doc.paragraph_span(c.start, c.end)))
    if st.button(t("open_article"), key=f"open-{key}"):
        show_article(kb, t, c.doc_id, c)


def show_citation(kb: KnowledgeBase, t: Messages, c: Citation, key: str) -> None:
    """One citation, full width; its translations' versions in tabs, the reader's language first."""
    versions = versions_for(c, t.lang)
    with st.container(border=True):
        if len(versions) == 1:
            show_version(kb, t, c, key)
            return
        tabs = st.tabs([t.language(v.lang) for v in versions])
        for tab, version in zip(tabs, versions, strict=True):
            with tab:
                show_version(kb, t, version, f"{key}-{version.doc_id}")


# -- the views -----------------------------------------------------------------------------------------


def feedback_controls(svc: Service, t: Messages, answer: Answer, key: str, more: bool = True) -> None:
    """Helpful or not (kept at the click), and (`more`: with the sources shown) for the editors: citations
    that are the wrong source and a comment (kept with "Send"). Feedback never changes the ranking; it goes
    to the editors' view."""
    if not svc.feedback.enabled or not allowed(user(), "feedback") or not answer.citations:
        return

    def verdict() -> None:
        value = st.session_state.get(f"fb-{key}")
        if value is not None and permitted(t, "feedback"):
            svc.feedback_on(answer, helpful=value == 1)

    st.feedback("thumbs", key=f"fb-{key}", on_change=verdict)
    if not more:
        return
    with st.expander(t("feedback_more")):
        labels = {f"[{c.n}] {c.title}": c.n for c in answer.citations}
        wrong = st.multiselect(t("feedback_wrong"), list(labels), key=f"fb-wrong-{key}", placeholder=t("feedback_pick"))
        comment = st.text_input(t("feedback_comment"), key=f"fb-comment-{key}", max_chars=2000)
        st.caption(t("feedback_privacy"))
        sent = st.button(t("feedback_send"), key=f"fb-send-{key}", disabled=not (wrong or comment.strip()))
        if sent and permitted(t, "feedback"):
            svc.feedback_on(answer, wrong=tuple(labels[w] for w in wrong), comment=comment)
            st.success(t("feedback_thanks"))


def show_answer(kb: KnowledgeBase, t: Messages, answer: Answer, key: str, latest: bool) -> None:
    """The latest answer whole; an earlier one as its points, the rest a switch away. Rendered only when
    shown, so that a long conversation does not make every question re-render every source of it."""
    st.caption(t("question_language", lang=t.language_label(answer.query_lang)))
    if answer.cut:
        st.info(t(f"cut_{answer.cut.unit}", n=answer.cut.limit))
    says = Messages(answer.query_lang) if answer.query_lang in UI_LANGUAGES else t  # the asker's language
    if answer.contested:  # several articles come as close: which answers is for the reader to judge
        st.info(says("contested"))
    elif not answer.confident:
        st.warning(says("not_confident"))
    points = [f"- {literal(point.text)} {literal(point.markers)}" for point in answer.points]
    if not latest and not st.session_state.get(f"sources-{key}", False):
        for point in points:
            st.markdown(point)
        feedback_controls(Service.shared(), t, answer, key, more=False)  # the rest with its sources
        st.toggle(t("sources_n", n=len(answer.citations)), key=f"sources-{key}")
        return
    answer_tab, evidence_tab = st.tabs([t("tab_answer"), t("tab_evidence")])
    with answer_tab:
        for point in points:
            st.markdown(point)
        if latest:
            st.subheader(t("sources"))
        else:
            st.toggle(t("sources_n", n=len(answer.citations)), key=f"sources-{key}")
        for c in answer.citations:
            show_citation(kb, t, c, f"{key}-{c.n}-{c.doc_id}")
        with st.expander(t("copy_markdown")):
            st.caption(t("copy_help"))
            st.code(answer.markdown(t("sources")), language="markdown")
        feedback_controls(Service.shared(), t, answer, key)
    with evidence_tab:
        for hit in answer.hits:
            st.markdown(
                f"**{hit.rank}.** {t('score')} {hit.score:.3f} · {literal(hit.title)} · {t.language_label(hit.lang)}"
            )
            st.text(hit.text)


def conversation(svc: Service, kb: KnowledgeBase, t: Messages) -> list[tuple[Exchange, Answer]]:
    """This session's questions and answers; after a reload, the conversation the address names, asked again."""
    if "history" not in st.session_state:
        history: list[tuple[Exchange, Answer]] = []
        for exchange in svc.conversations.load(st.query_params.get("c", ""), user().name):
            try:  # asked again, so that the citations point into the articles as they are now
                history.append(
                    (
                        exchange,
                        kb.ask(exchange.question, k=exchange.k, languages=exchange.languages, reader_lang=t.lang),
                    )
                )
            except KBError:
                continue  # e.g. a language filter the corpus no longer has
        st.session_state["history"] = history
    return st.session_state["history"]


def presentation(svc: Service, t: Messages) -> Presentation:
    """The deployment's title, intro, placeholder and examples in the interface language (app.toml);
    a file that cannot be used is named on the page, and the app's own wording shown."""
    settings = svc.settings
    try:
        return load_presentation(presentation_file(settings.corpus_dir, settings.app_config), t.lang)
    except KBError as exc:
        st.warning(t("app_config_broken", error=exc))
        return Presentation()


@st.cache_data(show_spinner=False, max_entries=64)
def language_first(examples: tuple[str, ...], lang: str, langs: tuple[str, ...]) -> list[str]:
    """The examples in language `lang` first (detected once per list, not on every run of the page)."""
    return sorted(examples, key=lambda e: detect_language(e, allowed=langs) != lang)


def show_ask(
    svc: Service, kb: KnowledgeBase, t: Messages, shown: Presentation, languages: list[str] | None, k: int
) -> None:
    history = conversation(svc, kb, t)
    # the deployment's examples (those in the interface language first), else article titles that find their article
    examples = list(shown.examples) if shown.examples is not None else kb.examples(t.lang)
    examples = language_first(tuple(examples), t.lang, tuple(kb.languages()))
    asked, example = None, False
    if examples:
        st.write(t("try"))
        # whole questions on a phone too: a button's label is one line cut with an ellipsis otherwise
        st.html(
            "<style>[class*='st-key-example-'] .stMarkdownEllipsis, [class*='st-key-example-'] .stMarkdownEllipsis p"
            " {white-space: normal; overflow: visible; text-overflow: clip; text-align: left}</style>"
        )
    with st.container(horizontal=True):  # full questions, wrapped as the width allows
        for i, question in enumerate(examples):
            if st.button(question, key=f"example-{i}"):
                asked, example = question, True
    typed = st.chat_input(shown.placeholder or t("chat_placeholder"))
    if typed:
        asked, example = typed, False
    if history and st.button(t("new_conversation"), key="new-conversation"):
        st.session_state["history"] = history = []
        st.query_params.pop("c", None)
        asked = None
    error, repairable = "", False
    if asked:
        if languages == []:
            error = t("choose_language")
        elif not has_words(asked):  # emoji, punctuation or invisible characters only
            error = t("type_question")
        else:
            exchange = Exchange(asked, k, tuple(languages) if languages else None)
            try:
                answer = svc.ask(asked, k=k, languages=languages, reader_lang=t.lang, example=example)
                history.append((exchange, answer))
            except KBError as exc:
                error, repairable = t("question_failed", error=exc), isinstance(exc, IndexUnusable)
            else:
                cid = st.query_params.get("c", "")
                if not svc.conversations.valid(cid) or svc.conversations.owner(cid) not in (None, user().name):
                    st.query_params["c"] = cid = svc.conversations.new_id()  # someone else's: a new one of mine
                svc.conversations.save(cid, user().name, [e for e, _ in history])
    elif languages == []:
        st.warning(t("choose_language"))
    for i, (exchange, answer) in enumerate(history):
        with st.chat_message("user"):
            st.text(exchange.question)
        with st.chat_message("assistant"):
            show_answer(kb, t, answer, f"a{i}", latest=i == len(history) - 1)
    if error:
        st.warning(error)
        if repairable and allowed(user(), "rebuild"):
            # a damaged index: the button is gone in the run its click starts, so the click acts through its callback
            def repair() -> None:
                start_job(svc, t, full=True)

            st.button(t("repair"), key="repair-ask", on_click=repair)
    if asked and not error:  # bring the new question and its answer into view (the input stays at the bottom)
        n = 2 * len(history)  # the new question's message and its answer's, once both are on the page
        scroll_to("[data-testid=stChatMessage]", "start", from_end=1, occasion=f"question {n}", at_least=n)


def show_library(kb: KnowledgeBase, t: Messages) -> None:
    st.header(t("view_library"))
    articles = kb.library()
    left, right = st.columns([2, 1])
    title = left.text_input(t("filter_title"), key="library-title").strip().casefold()
    langs = right.multiselect(
        t("filter_languages"),
        kb.languages(),
        format_func=t.language_label,
        key="library-langs",
        placeholder=t("all_languages"),
    )
    shown = [a for a in articles if title in a.title.casefold() and (not langs or a.lang in langs)]
    st.caption(t("library_caption", n=len(shown)))
    if not shown:
        st.info(t("no_articles"))
        return
    rows = [
        {
            t("col_title"): a.title,
            t("col_language"): t.language(a.lang),
            t("col_source"): a.source,
            t("col_translations"): ", ".join(sorted(set(a.translations.values()))),
            t("col_passages"): a.passages,
            t("col_date"): a.published,
            t("col_format"): a.format,
        }
        for a in shown
    ]
    st.caption(t("library_open_hint"))
    grid = st.dataframe(
        rows,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode=["single-row", "single-cell"],  # a click on its tick box or on any of its cells
        key="library-grid",
    )
    selection = grid.selection
    picked = list(selection.rows) or [cell[0] for cell in selection.get("cells", [])]
    # a row opens its article once: the selection stays after the dialog is closed, other clicks rerun the page
    choice = shown[picked[0]].doc_id if picked and picked[0] < len(shown) else None
    if choice != st.session_state.get("library-opened"):
        st.session_state["library-opened"] = choice
        if choice is not None:
            show_article(kb, t, choice)


def show_principles(kb: KnowledgeBase, t: Messages) -> None:
    """The main points the articles make across works and languages, each with its citations."""
    st.header(t("principles_header"))
    st.caption(t("principles_caption"))
    principles = kb.principles(limit=10)
    if not principles:
        st.info(t("no_principles"))
    for i, principle in enumerate(principles, start=1):
        langs = ", ".join(t.language_label(lang) for lang in principle.languages)
        st.subheader(f"{i}. {literal(principle.statement.quote)}")
        st.caption(t("principle_caption", n=len(principle.citations), works=principle.works, langs=langs))
        # the passages only when asked for: rendered inside a closed expander, every principle's passages
        # made thousands of page elements on a help centre
        if st.toggle(t("the_passages", n=len(principle.citations)), key=f"principle-{i}"):
            for c in principle.citations:
                show_version(kb, t, c, f"p{i}-{c.n}-{c.doc_id}")


def table_with_csv(t: Messages, rows: list[dict[str, object]], csv: str, name: str, empty: str) -> None:
    """A table and its CSV download, or `empty` when there are no rows."""
    if not rows:
        st.info(empty)
        return
    st.dataframe(rows, hide_index=True, width="stretch")
    st.download_button(t("download_csv"), csv, f"{name}.csv", "text/csv", key=f"csv-{name}")


def use_row(t: Messages, u: ArticleUse) -> dict[str, object]:
    return {t("col_title"): u.title, t("col_language"): t.language(u.lang), t("col_cited"): u.cited}


def show_charts(t: Messages, report: GapReport) -> None:
    """What editors would rather look at than read: questions per day and the share answered with
    confidence, per language; coverage per language; feedback over time. Streamlit's own charts, labelled
    in the interface's language; what they draw downloads as CSV (Streamlit's charts have no save menu)."""
    st.subheader(t("charts_header"))
    day = t("col_day")
    langs = sorted({d.lang for d in report.per_day})
    if report.per_day:
        days = sorted({d.day for d in report.per_day})
        counts = {(d.day, d.lang): d for d in report.per_day}
        asked = {day: days} | {
            t.language(lang): [getattr(counts.get((x, lang)), "asked", 0) for x in days] for lang in langs
        }
        shares = {day: days} | {
            t.language(lang): [
                (c.confident / c.asked) if (c := counts.get((x, lang))) is not None and c.asked else None for x in days
            ]
            for lang in langs
        }
        left, right = st.columns(2)
        with left:
            st.caption(t("chart_questions"))
            st.line_chart(asked, x=day, y=[t.language(lang) for lang in langs])
        with right:
            st.caption(t("chart_confident"))
            st.line_chart(shares, x=day, y=[t.language(lang) for lang in langs])
    language = t("col_language")
    left, right = st.columns(2)
    with left:
        st.caption(t("chart_coverage"))
        st.bar_chart(
            {
                language: [t.language(c.lang) for c in report.coverage],
                t("col_articles"): [c.articles for c in report.coverage],
            },
            x=language,
            y=t("col_articles"),
        )
    with right:
        st.caption(t("chart_coverage_share"))
        st.bar_chart(
            {
                language: [t.language(c.lang) for c in report.coverage],
                t("col_covered"): [round(c.works_covered, 3) for c in report.coverage],
                t("col_behind"): [round(c.stale, 3) for c in report.coverage],
            },
            x=language,
            y=[t("col_covered"), t("col_behind")],
            stack=False,
        )
    if report.feedback_per_day:
        st.caption(t("chart_feedback"))
        st.bar_chart(
            {
                day: [f.day for f in report.feedback_per_day],
                t("col_helpful"): [f.helpful for f in report.feedback_per_day],
                t("col_not_helpful"): [f.not_helpful for f in report.feedback_per_day],
            },
            x=day,
            y=[t("col_helpful"), t("col_not_helpful")],
        )
    st.download_button(t("download_charts"), report.charts_csv(), "charts.csv", "text/csv", key="csv-charts")


def show_repeats(kb: KnowledgeBase, t: Messages, report: GapReport) -> None:
    """Passages that repeat each other, and numbers that differ on one topic: both places of each, the most
    asked about first, and a choice that opens the article at either place."""
    for kind in ("duplicate", "contradiction"):
        found = [r for r in report.repeats if r.kind == kind]
        st.subheader(t(f"repeats_{kind}"))
        rows: list[dict[str, object]] = [
            {
                t("col_questions"): r.questions,
                t("col_title"): f"{r.a.title} ({t.language(r.a.lang)})",
                t("col_quote"): r.a.quote if kind == "duplicate" else f"{r.a.quote} [{' '.join(r.a_says)}]",
                t("col_other_title"): f"{r.b.title} ({t.language(r.b.lang)})",
                t("col_other_quote"): r.b.quote if kind == "duplicate" else f"{r.b.quote} [{' '.join(r.b_says)}]",
                t("col_similarity"): round(r.similarity, 3),
            }
            for r in found
        ]
        table_with_csv(t, rows, report.repeats_csv(kind), f"repeats-{kind}", t(f"no_{kind}"))
        places = {f"{i + 1}. {p.title} · {p.quote[:60]}": p for i, r in enumerate(found) for p in (r.a, r.b)}
        if places:
            chosen = st.selectbox(
                t("open_place"), list(places), index=None, key=f"open-{kind}", placeholder=t("choose_place")
            )
            if chosen is not None:
                p = places[chosen]
                show_article(kb, t, p.doc_id, cite(kb.index, 0, p.doc_id, p.start, p.end, 0.0))


def show_gaps(svc: Service, kb: KnowledgeBase, t: Messages) -> None:
    if not permitted(t, "gaps"):  # the view is not offered to readers; this is the check
        return
    st.header(t("view_gaps"))
    st.caption(t("gaps_caption"))
    report = gap_report(kb, svc.gaps.read(), svc.feedback.read(), svc.usage.read())
    show_charts(t, report)
    st.subheader(t("unanswered"))
    st.caption(
        t("gaps_privacy_wordings" if svc.gaps.wordings else "gaps_privacy") if svc.gaps.enabled else t("gaps_off")
    )
    questions: list[dict[str, object]] = [
        {
            t("col_language"): t.language(g.lang),
            t("col_question"): g.questions[0] if g.questions else "",
            t("col_question_languages"): ", ".join(t.language(lang) for lang in g.languages),
            t("col_nearest"): g.nearest_title,
            t("col_asked"): g.asked,
            t("col_last"): g.last_asked,
            t("col_best"): round(g.best_score, 3),
            t("col_wordings"): " | ".join(g.questions[1:]),
        }
        for g in report.questions
    ]
    table_with_csv(t, questions, report.questions_csv(), "unanswered-questions", t("no_unanswered"))
    st.subheader(t("disliked_header"))
    not_helpful = sum(d.times for d in report.disliked)
    st.caption(
        t("disliked_caption", helpful=report.helpful, not_helpful=not_helpful)
        if svc.feedback.enabled
        else t("feedback_off")
    )
    disliked: list[dict[str, object]] = [
        {
            t("col_title"): d.title,
            t("col_language"): t.language(d.lang) if d.lang else "",
            t("col_times"): d.times,
            t("col_last"): d.last,
            t("col_question_languages"): ", ".join(d.languages),
            t("col_comments"): " | ".join(d.comments),
            t("col_question"): " | ".join(d.questions),
        }
        for d in report.disliked
    ]
    table_with_csv(t, disliked, report.disliked_csv(), "answers-not-helpful", t("no_disliked"))
    st.subheader(t("flagged_header"))
    flagged: list[dict[str, object]] = [
        {
            t("col_title"): f.title,
            t("col_language"): t.language(f.lang),
            t("col_quote"): f.quote,
            t("col_times"): f.times,
            t("col_last"): f.last,
            t("col_comments"): " | ".join(f.comments),
        }
        for f in report.flagged
    ]
    table_with_csv(t, flagged, report.flagged_csv(), "sources-flagged-wrong", t("no_flagged"))
    st.subheader(t("use_header", days=report.days, asked=report.asked))
    if report.asked:
        st.markdown(f"**{t('most_cited')}**")
        cited = [use_row(t, u) for u in report.most_cited]
        table_with_csv(t, cited, report.use_csv(), "articles-use", "")
        st.markdown(f"**{t('unreached', n=len(report.unreached), total=len(kb.documents()))}**")
        st.dataframe([use_row(t, u) for u in report.unreached], hide_index=True, width="stretch")
    else:
        st.info(t("no_usage", days=report.days))
    show_repeats(kb, t, report)
    st.subheader(t("missing_translations"))
    translations: list[dict[str, object]] = [
        {
            t("col_title"): m.title,
            t("col_language"): t.language(m.lang),
            t("col_versions"): ", ".join(m.versions),
            t("col_missing"): ", ".join(m.missing),
            t("col_questions"): m.questions,
        }
        for m in report.translations
    ]
    table_with_csv(t, translations, report.translations_csv(), "missing-translations", t("no_missing"))
    st.subheader(t("stale_translations"))
    st.caption(t("stale_caption"))
    stale: list[dict[str, object]] = [
        {
            t("col_title"): s.title,
            t("col_language"): t.language(s.lang),
            t("col_original"): f"{s.original} ({s.original_lang})",
            t("col_reason"): t("stale_marked") if s.reason.startswith("marked") else t("stale_older"),
            t("col_questions"): s.questions,
        }
        for s in report.stale
    ]
    table_with_csv(t, stale, report.stale_csv(), "stale-translations", t("no_stale"))


def role_name(t: Messages, role: str) -> str:
    """A role as the interface's language names it (a role this version does not know, as stored)."""
    return t(f"role_{role}") if role in ("reader", "editor", "admin") else role


def show_admin(svc: Service, t: Messages) -> None:
    """An admin's page: the audit log (newest first), the accounts and the API keys (changed with `kb user`
    and `kb key` on the server)."""
    if not permitted(t, "audit"):  # the view is not offered to others; this is the check
        return
    st.header(t("view_admin"))
    st.subheader(t("audit_header"))
    entries = read_audit(svc.settings)[::-1]
    rows: list[dict[str, object]] = [
        {
            t("col_when"): t.when(e.time),
            t("col_who"): e.who,
            t("col_role"): role_name(t, e.role),
            t("col_via"): e.via,
            t("col_action"): e.action,
            t("col_detail"): e.detail,
        }
        for e in entries
    ]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")
    else:
        st.info(t("audit_empty"))
    st.subheader(t("users_header"))
    st.caption(t("users_caption"))
    users = [
        {
            t("col_who"): u.name,
            t("col_role"): role_name(t, u.role),
            t("col_via"): t("via_external" if u.external else "via_password"),
            t("col_when"): t.when(u.created),
        }
        for u in list_users(svc.settings)
    ]
    if users:
        st.dataframe(users, hide_index=True, width="stretch")
    keys = [
        {
            t("col_who"): k.name,
            t("col_role"): role_name(t, k.role),
            t("col_when"): t.when(k.created),
            t("col_last_used"): t.when(k.last_used),
            t("col_revoked"): t.when(k.revoked),
        }
        for k in list_keys(svc.settings)
    ]
    st.subheader(t("keys_header"))
    if keys:
        st.dataframe(keys, hide_index=True, width="stretch")


def main() -> None:
    svc = Service.shared()
    t = choose_language()
    shown = presentation(svc, t)
    st.set_page_config(page_title=shown.title or t("title"), page_icon="💬", layout="wide")
    st.title(shown.title or t("title"))
    who = signed_in(svc, t)
    st.session_state["user"] = who
    notes = {"local": "local_only", "anonymous": "anonymous_readers"}
    note = (
        t(notes[st.session_state["door"]])
        if st.session_state["door"] in notes
        else t("signed_in_as", name=who.name, role=role_name(t, who.role))
    )
    st.caption((shown.intro or t("intro")) + " " + note)
    kb = open_knowledge_base(svc, t)
    st.session_state["version"] = kb.version
    views = [v for v in VIEWS if v not in VIEW_ACTION or allowed(who, VIEW_ACTION[v])]
    view = st.sidebar.radio(t("view"), views, format_func=lambda v: t(f"view_{v}"), horizontal=True, key="view")
    languages, k = sidebar(svc, kb, t, filters=view == "ask")
    pages: dict[str, Callable[[], None]] = {
        "ask": lambda: show_ask(svc, kb, t, shown, languages, k),
        "library": lambda: show_library(kb, t),
        "principles": lambda: show_principles(kb, t),
        "gaps": lambda: show_gaps(svc, kb, t),
        "admin": lambda: show_admin(svc, t),
    }
    pages[str(view)]()


main()
