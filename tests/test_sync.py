"""Sync from help centres, against real HTTP servers the tests start on loopback (bench/helpsite.py, a
help site with sitemaps and hreflang; tests/zendesk_server.py, Zendesk's Help Center API as documented).

What a CX team relies on: every article in its language, translation groups exactly as the source
declares them, edits, additions and deletions at the source reflected, a no-change resync that
fetches no article, and nothing lost to an outage, a broken page, a mass deletion or a hostile sitemap.
The fake embedder serves the plumbing; one test asks the real model and gets the page's URL cited.
"""

from __future__ import annotations

import gzip
import hashlib
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from bench.fakes import FakeEmbedder
from bench.helpsite import LANGS, HelpSite, serve, trap
from kb import KnowledgeBase, Settings
from kb.cli import main as cli
from kb.gaps import gap_report
from kb.sources import SourceConfig, add_source, load_sources, remove_source

from . import intercom_server, zendesk_server
from .conftest import ROOT

PAGES = ("backup-frequency", "backup-restore", "backup-what", "backup-why", "color-missingvcgt", "files-select")


@pytest.fixture
def site() -> Iterator[HelpSite]:
    with serve(HelpSite.from_fixture()) as running:
        yield running


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = dict(
        corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index", sync_rate=1000.0, sync_timeout=2.0
    )
    values.update(overrides)
    settings = Settings.from_env(**values)
    settings.corpus_dir.mkdir(parents=True, exist_ok=True)
    return settings


def sync(settings: Settings, **options: object):  # noqa: ANN201 (a SyncResult)
    return KnowledgeBase.sync(settings, embedder=FakeEmbedder(), **options)  # type: ignore[arg-type]


def opened(settings: Settings) -> KnowledgeBase:
    return KnowledgeBase.open(settings=settings, embedder=FakeEmbedder())


def corpus_files(settings: Settings) -> dict[str, str]:
    """The articles of the corpus by path, as sha256 (what the sync wrote; its bookkeeping left out)."""
    return {
        p.relative_to(settings.corpus_dir).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(settings.corpus_dir.rglob("*.html"))
    }


def page_of(kb: KnowledgeBase, doc_id: str) -> tuple[str, str]:
    """(language folder of its URL, page) of a synced document, from its source URL."""
    parts = kb.document(doc_id).source.rstrip("/").split("/")
    return parts[-3], parts[-1]


def with_site(tmp_path: Path, site: HelpSite, **overrides: object) -> Settings:
    settings = make_settings(tmp_path, **overrides)
    add_source(settings, SourceConfig("help", "site", site.base + "/hc/"))
    return settings


def test_first_sync_mirrors_every_page_in_its_language_with_the_groups_the_site_declares(
    tmp_path: Path, site: HelpSite
) -> None:
    settings = with_site(tmp_path, site)
    result = sync(settings)
    assert result.ok and result.build is not None and result.build.documents == 24
    (report,) = result.sources
    assert (report.listed, report.fetched, len(report.added), report.failed) == (24, 24, 24, [])
    kb = opened(settings)
    by_page: dict[str, set[str]] = {}
    for doc in kb.documents():
        lang, page = page_of(kb, doc.doc_id)
        assert doc.lang == lang, doc.doc_id  # the language the site gives it (hreflang), not a guess
        assert doc.source == site.url(lang, page)
        by_page.setdefault(page, set()).add(doc.doc_id)
    assert sorted(by_page) == list(PAGES) and all(len(ids) == 4 for ids in by_page.values())
    for ids in by_page.values():  # each page's four languages are one work, and nothing else is in it
        for doc_id in ids:
            assert set(kb.index.translations(doc_id)) == ids - {doc_id}
    original = next(d for d in kb.documents() if page_of(kb, d.doc_id) == ("es", "backup-why"))
    assert not original.translation_of  # x-default's page is the original the others translate
    assert {kb.document(t).translation_of for t in kb.index.translations(original.doc_id)} == {original.doc_id}


def test_two_addresses_of_one_page_are_one_article(tmp_path: Path, site: HelpSite) -> None:
    """A sitemap that lists a page twice (a tracking parameter): the page's canonical address is the article."""
    site.extra_urls = [site.url("es", "backup-why") + "?utm_source=sitemap"]
    settings = with_site(tmp_path, site)
    (report,) = sync(settings).sources
    assert report.listed == 24 and len(report.added) == 24
    (skipped,) = report.skipped  # whichever address came second in the sitemaps
    assert "backup-why" in skipped[0] and skipped[1].startswith("the same page as") and "canonical" in skipped[1]
    docs = opened(settings).documents()
    sources = sorted(d.source for d in docs)
    assert sources.count(site.url("es", "backup-why")) == 1 and not any("utm_source" in u for u in sources)
    assert "help-es-articles-backup-why" in {d.doc_id for d in docs}  # named by its canonical address


def test_a_page_listed_under_a_new_address_keeps_its_article(tmp_path: Path, site: HelpSite) -> None:
    """The sitemap lists a page under another address (a tracking parameter) whose canonical address is
    the old one: the old address leaves the listing, the article (its file and id) stays."""
    settings = with_site(tmp_path, site)
    sync(settings)
    before = corpus_files(settings)
    site.aliases[("es", "backup-why")] = "?ref=nav"
    report = sync(settings).sources[0]
    assert (len(report.added), len(report.removed)) == (1, 1)  # a new address, an old one gone
    assert corpus_files(settings) == before  # the same article, the same file
    docs = opened(settings).documents()
    assert len(docs) == 24 and "help-es-articles-backup-why" in {d.doc_id for d in docs}


def test_a_site_whose_robots_txt_names_no_sitemap(tmp_path: Path, site: HelpSite) -> None:
    """No Sitemap: line, and no /sitemap.xml: the sitemap index at /sitemap_index.xml is found."""
    site.robots_names_sitemap, site.index_path = False, "/sitemap_index.xml"
    settings = with_site(tmp_path, site)
    result = sync(settings)
    assert result.ok and result.sources[0].listed == 24
    assert site.log[:3] == ["/robots.txt", "/sitemap.xml", "/sitemap_index.xml"]


def test_a_resync_of_an_unchanged_site_fetches_no_article(tmp_path: Path, site: HelpSite) -> None:
    settings = with_site(tmp_path, site)
    sync(settings)
    before = corpus_files(settings)
    site.log.clear()
    result = sync(settings)
    assert result.ok and not result.build.changed  # type: ignore[union-attr]
    assert site.page_requests() == []  # the sitemaps' lastmod said it all
    assert result.sources[0].unchanged == 24 and corpus_files(settings) == before
    site.lastmod = False  # without lastmod: conditional requests, every one answered 304
    site.log.clear()
    result = sync(settings)
    assert len(site.page_requests()) == 24 and result.sources[0].fetched == 0 and corpus_files(settings) == before


def test_edits_additions_and_deletions_at_the_source_reach_the_index(tmp_path: Path, site: HelpSite) -> None:
    settings = with_site(tmp_path, site)
    sync(settings)
    site.edit("fr", "backup-why", "sauvegarde", "SAUVEGARDE-MODIFIÉE")
    new_page = site.pages[("es", "backup-why")].html.replace("Hacer copias", "Nueva página sobre copias")
    site.add("es", "backup-new", new_page)
    site.add("pl", "backup-new", site.pages[("pl", "backup-why")].html.replace("kopii", "nowej kopii"))
    for lang in LANGS:
        site.delete(lang, "files-select")
    site.log.clear()
    report = sync(settings).sources[0]
    assert len(report.updated) == 1 and len(report.added) == 2 and len(report.removed) == 4, report
    assert sorted(site.page_requests()) == [
        "/hc/es/articles/backup-new",
        "/hc/fr/articles/backup-why",
        "/hc/pl/articles/backup-new",
    ]
    kb = opened(settings)
    pages = {page_of(kb, d.doc_id) for d in kb.documents()}
    assert not any(page == "files-select" for _, page in pages) and ("pl", "backup-new") in pages
    edited = next(d for d in kb.documents() if page_of(kb, d.doc_id) == ("fr", "backup-why"))
    assert "SAUVEGARDE-MODIFIÉE" in edited.body
    added = next(d for d in kb.documents() if page_of(kb, d.doc_id) == ("pl", "backup-new"))
    assert [page_of(kb, t) for t in kb.index.translations(added.doc_id)] == [("es", "backup-new")]


def test_an_incremental_sync_equals_a_fresh_one(tmp_path: Path, site: HelpSite) -> None:
    """After a sequence of changes at the source, the synced corpus and index are what a first sync of
    the site as it is now gives: the same files byte for byte, the same works, the same answers."""
    incremental = with_site(tmp_path / "a", site)
    sync(incremental)
    site.edit("it", "backup-what", "backup", "backup-rivisto")
    site.delete("pl", "color-missingvcgt")
    sync(incremental)
    site.add("fr", "color-missingvcgt-2", site.pages[("fr", "color-missingvcgt")].html)
    site.delete("es", "backup-restore")  # the original goes: its translations now name another
    sync(incremental)
    fresh = with_site(tmp_path / "b", site)
    sync(fresh)
    assert corpus_files(incremental) == corpus_files(fresh)
    a, b = opened(incremental), opened(fresh)
    assert {d.doc_id: (d.lang, d.translation_of) for d in a.documents()} == {
        d.doc_id: (d.lang, d.translation_of) for d in b.documents()
    }
    assert {d: a.index.work(d) for d in a.index.documents} == {d: b.index.work(d) for d in b.index.documents}
    for question in ("¿Cómo restauro una copia de respaldo?", "Jak często robić kopie zapasowe?"):
        assert [(h.doc_id, round(h.score, 6)) for h in a.search(question)] == [
            (h.doc_id, round(h.score, 6)) for h in b.search(question)
        ]


def test_an_outage_loses_nothing_and_the_next_sync_completes(tmp_path: Path, site: HelpSite) -> None:
    settings = with_site(tmp_path, site)
    sync(settings)
    before, version = corpus_files(settings), opened(settings).version
    site.edit("es", "backup-why", "Respaldar", "RESPALDAR")
    site.outage = True
    result = sync(settings)
    assert not result.ok and "503" in result.sources[0].error
    assert corpus_files(settings) == before and opened(settings).version == version  # still answering, unchanged
    site.outage = False
    result = sync(settings)
    assert result.ok and len(result.sources[0].updated) == 1


def test_a_page_that_fails_keeps_its_previous_version(tmp_path: Path, site: HelpSite) -> None:
    settings = with_site(tmp_path, site)
    sync(settings)
    site.edit("pl", "backup-what", "kopii", "KOPII")
    site.broken.add("/hc/pl/articles/backup-what")
    result = sync(settings)
    (report,) = result.sources
    assert not result.ok and [key for key, _ in report.failed] == [site.url("pl", "backup-what")]
    assert "500" in report.failed[0][1] and not report.removed
    kb = opened(settings)
    kept = next(d for d in kb.documents() if page_of(kb, d.doc_id) == ("pl", "backup-what"))
    assert "KOPII" not in kept.body  # the previous version, still answering
    site.broken.clear()
    assert sync(settings).ok
    kb = opened(settings)
    assert "KOPII" in next(d for d in kb.documents() if page_of(kb, d.doc_id) == ("pl", "backup-what")).body


def test_a_mass_deletion_is_held_back_until_allowed(tmp_path: Path, site: HelpSite) -> None:
    settings = with_site(tmp_path, site)
    sync(settings)
    before = corpus_files(settings)
    for page in PAGES[1:]:  # the site suddenly lists one page of six (a broken sitemap, a bad deploy)
        for lang in LANGS:
            site.delete(lang, page)
    result = sync(settings)
    assert not result.ok and len(result.sources[0].held_back) == 20 and not result.sources[0].removed
    assert corpus_files(settings) == before and opened(settings).stats().documents == 24
    result = sync(settings, allow_deletions=True)
    assert result.ok and len(result.sources[0].removed) == 20 and opened(settings).stats().documents == 4


def test_hostile_sitemap_entries_are_never_requested_and_bad_pages_fail_alone(tmp_path: Path, site: HelpSite) -> None:
    with trap() as hits:
        other = hits.pop(0)

        def redirect(to: str) -> object:
            def answer(handler: BaseHTTPRequestHandler) -> None:
                handler.send_response(302)
                handler.send_header("Location", to)
                handler.send_header("Content-Length", "0")
                handler.end_headers()

            return answer

        def pdf(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "application/pdf")
            handler.send_header("Content-Length", "8")
            handler.end_headers()
            handler.wfile.write(b"%PDF-1.4")

        def huge(handler: BaseHTTPRequestHandler) -> None:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/html")
            handler.send_header("Transfer-Encoding", "chunked")
            handler.end_headers()
            block = b"<p>" + b"x" * 65536 + b"</p>"
            for _ in range(40):  # 2.6 MB, no length announced
                handler.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
            handler.wfile.write(b"0\r\n\r\n")

        def silent(handler: BaseHTTPRequestHandler) -> None:
            time.sleep(6)  # longer than the sync's timeout of 2 s

        base = site.base + "/hc/es/articles/"
        site.special = {
            "/hc/es/articles/out": redirect(other + "/internal"),  # type: ignore[dict-item]
            "/hc/es/articles/loop": redirect(base + "loop"),  # type: ignore[dict-item]
            "/hc/es/articles/pdf": pdf,
            "/hc/es/articles/huge": huge,
            "/hc/es/articles/silent": silent,
        }
        site.extra_urls = [
            other + "/hc/es/articles/elsewhere",  # another host (port): never requested
            "file:///etc/passwd",
            site.base + "/hc/private/secret",  # robots.txt disallows it
            site.base + "/admin/articles/x",  # outside the source's address
            *(base + name for name in ("out", "loop", "pdf", "huge", "silent")),
        ]
        settings = with_site(tmp_path, site, sync_max_wait=0.5)
        result = sync(settings)
        (report,) = result.sources
        assert hits == []  # nothing reached the other host, through the sitemap or a redirect
        assert not any(p.startswith(("/hc/private", "/admin")) for p in site.log)
        skipped = dict(report.skipped)
        assert "robots.txt" in skipped[site.base + "/hc/private/secret"]
        assert "outside" in skipped[other + "/hc/es/articles/elsewhere"] and "outside" in skipped["file:///etc/passwd"]
        failed = dict(report.failed)
        assert "outside the source" in failed[base + "out"] and "loop" in failed[base + "loop"]
        assert "not an HTML page" in failed[base + "pdf"] and "over the limit" in failed[base + "huge"]
        assert "did not answer" in failed[base + "silent"]
        assert len(report.added) == 24 and not result.ok  # the good pages are in; the sync says what failed


@pytest.mark.parametrize("hostile", ["gzip bomb", "100k URLs", "not XML"])
def test_a_hostile_sitemap_fails_the_listing_and_changes_nothing(tmp_path: Path, site: HelpSite, hostile: str) -> None:
    settings = with_site(tmp_path, site)
    sync(settings)
    before = corpus_files(settings)
    if hostile == "gzip bomb":
        body = gzip.compress(b"<" + b" " * (200 * 2**20), compresslevel=9)  # 200 MB of XML from ~200 KB
    elif hostile == "100k URLs":
        rows = "".join(f"<url><loc>{site.base}/hc/es/articles/p{n}</loc></url>" for n in range(100_000))
        body = gzip.compress(f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'.encode())
    else:
        body = gzip.compress(b"<html><body>Maintenance</body></html>")

    def answer(handler: BaseHTTPRequestHandler) -> None:
        handler.send_response(200)
        handler.send_header("Content-Type", "application/x-gzip")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    site.special = {"/hc/sitemap-2.xml.gz": answer}
    result = sync(settings)
    assert not result.ok and result.sources[0].error and corpus_files(settings) == before


def test_zendesk_articles_in_every_locale_one_work_per_article_id(tmp_path: Path) -> None:
    with zendesk_server.serve(zendesk_server.HelpCenter.from_fixture()) as center:
        settings = make_settings(tmp_path)
        add_source(settings, SourceConfig("zd", "zendesk", center.base, ("es", "fr", "pl")))
        first = next(iter(center.articles))
        center.articles[first].outdated_locales = ["pl"]
        result = sync(settings)
        assert result.ok and result.sources[0].listed == 18  # six articles in the three locales asked for
        kb = opened(settings)
        works: dict[str, set[str]] = {}
        for doc in kb.documents():
            assert doc.lang == doc.source.split("/hc/")[1][:2]
            works.setdefault(doc.meta["group"], set()).add(doc.lang)
            assert (doc.meta.get("outdated") == "true") == (doc.source.endswith(f"/pl/articles/{first}"))
        assert len(works) == 6 and all(langs == {"es", "fr", "pl"} for langs in works.values())
        for doc in kb.documents():
            assert len(kb.index.translations(doc.doc_id)) == 2
            assert (doc.translation_of == "") == (doc.lang == "es")  # source_locale is the original
        stale = gap_report(kb, []).stale  # the translation Zendesk marks out of date, in the gap report
        assert [(t.lang, t.reason) for t in stale] == [("pl", "marked out of date by its help centre")]
        # an edit in one locale: that article alone is rewritten; nothing else changes
        center.edit(first, "fr", "sauvegarde", "SAUVEGARDE")
        report = sync(settings).sources[0]
        assert len(report.updated) == 1 and report.unchanged == 17 and not report.added and not report.removed
        # the original edited after its translations: both are now behind it
        second = sorted(center.articles)[1]
        center.edit(second, "es", "copia", "COPIA")
        sync(settings)
        stale = gap_report(opened(settings), []).stale
        behind = {(t.lang, t.original_lang) for t in stale if t.reason == "its original changed after it"}
        assert behind == {("fr", "es"), ("pl", "es")} and len(stale) == 3


def test_zendesk_pages_drafts_tokens_and_rate_limits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Offset pagination past one page, a draft left out, a restricted help centre that needs the
    token, and a 429 answered after its Retry-After."""
    with zendesk_server.serve(zendesk_server.HelpCenter.from_fixture()) as center:
        monkeypatch.setattr("kb.sources.zendesk.PAGE_SIZE", 2)  # three cursor pages a locale
        center.restricted, center.throttle, center.next_links = True, 2, False  # the cursor alone says what follows
        second = sorted(center.articles)[1]
        center.articles[second].translations["it"].draft = True
        settings = make_settings(tmp_path)
        add_source(settings, SourceConfig("zd", "zendesk", center.base, ("it",), "ZD_TOKEN"))
        result = sync(settings)
        assert not result.ok and "ZD_TOKEN" in result.sources[0].error  # the variable is not set
        monkeypatch.setenv("ZD_TOKEN", "wrong/token:nope")
        result = sync(settings)
        assert not result.ok and "401" in result.sources[0].error and "authenticate" in result.sources[0].error
        monkeypatch.setenv("ZD_TOKEN", zendesk_server.TOKEN)
        center.log.clear()
        result = sync(settings)
        (report,) = result.sources
        assert result.ok and report.listed == 5 and [reason for _, reason in report.skipped] == ["a draft"]
        assert sum("page%5Bafter%5D" in p or "page[after]" in p for p in center.log) == 2  # pages 2 and 3


def test_zendesk_offset_pages_relative_links_and_the_json_ending(tmp_path: Path) -> None:
    """A server that pages by offset whatever is asked (2 a page, `next_page` as a path) and routes only
    paths ending in .json: every article still arrives, and no locale is missed."""
    with zendesk_server.serve(zendesk_server.HelpCenter.from_fixture()) as center:
        center.cursor, center.per_page, center.json_only, center.relative = False, 2, True, True
        settings = make_settings(tmp_path)
        add_source(settings, SourceConfig("zd", "zendesk", center.base + "/hc/es", ("es", "pl")))
        result = sync(settings)
        assert result.ok and result.sources[0].listed == 12, result
        assert center.log[:2] == ["/api/v2/help_center/locales", "/api/v2/help_center/locales.json"]
        assert sum("page=" in p for p in center.log) == 4  # pages 2 and 3 of each locale


def test_the_command_line_adds_syncs_and_removes_a_source_and_cites_the_page(
    tmp_path: Path, site: HelpSite, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The real model: the synced pages answer a question, citing the page's address."""
    monkeypatch.setenv("KB_SYNC_RATE", "1000")
    where = ["--corpus", str(tmp_path / "corpus"), "--index", str(tmp_path / "index")]
    (tmp_path / "corpus").mkdir()
    own = ROOT / "corpus" / "002_886dd5cea255bde0.txt"  # the team's own article, beside the help centre's
    (tmp_path / "corpus" / own.name).write_bytes(own.read_bytes())
    assert cli(["source", "add", "help", site.base + "/hc/", "--locales", "es,pl", *where]) == 0
    assert cli(["source", "list", *where]) == 0 and "last sync: never" in capsys.readouterr().out
    assert cli(["sync", "--dry-run", *where]) == 0
    assert not (tmp_path / "corpus" / "help").exists()  # a dry run writes nothing
    assert cli(["sync", *where]) == 0
    out = capsys.readouterr().out
    assert "12 articles listed, 12 fetched" in out and "12 added" in out
    assert cli(["ask", "¿Con qué frecuencia debo hacer copias de respaldo?", *where]) == 0
    assert site.url("es", "backup-frequency") in capsys.readouterr().out
    site.outage = True
    assert cli(["sync", *where]) == 3 and "FAILED" in capsys.readouterr().err
    site.outage = False
    assert cli(["source", "remove", "help", *where]) == 0 and load_sources(make_settings(tmp_path)) == []
    assert cli(["sync", *where]) == 0
    assert not (tmp_path / "corpus" / "help").exists()
    kb = KnowledgeBase.open(tmp_path / "index", corpus_dir=tmp_path / "corpus")
    assert [d.path for d in kb.documents()] == [own.name]  # the help centre's articles left the index


def test_source_records_refuse_what_they_cannot_hold(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    add_source(settings, SourceConfig("help", "site", "https://help.example.com/hc/"))
    with pytest.raises(Exception, match="exists"):
        add_source(settings, SourceConfig("help", "site", "https://other.example.com/"))
    for bad in (("Help!", "site", "https://x.example.com/"), ("x", "ftp", "https://x"), ("x", "site", "ftp://x")):
        with pytest.raises(Exception, match="source"):
            SourceConfig(*bad)
    with pytest.raises(Exception, match="no source named"):
        remove_source(settings, "nope")


def test_a_sync_killed_at_any_moment_leaves_whole_files_and_the_next_one_completes(
    tmp_path: Path, site: HelpSite
) -> None:
    """kill -9 at random moments of syncs (in a child process, 40 requests a second so that a sync takes
    about a second): every article file left is whole, and a sync after the last kill gives the corpus,
    works and answers a fresh sync gives."""
    import os
    import random
    import signal
    import subprocess
    import sys

    settings = with_site(tmp_path / "killed", site)
    script = (
        "from bench.fakes import FakeEmbedder\n"
        "from kb import KnowledgeBase, Settings\n"
        "KnowledgeBase.sync(Settings.from_env(), embedder=FakeEmbedder())\n"
    )
    env = {
        **os.environ,
        "KB_CORPUS_DIR": str(settings.corpus_dir),
        "KB_INDEX_DIR": str(settings.index_dir),
        "KB_SYNC_RATE": "40",
    }
    rng = random.Random(7)
    for round_ in range(6):
        if round_ == 3:  # the site changes between kills
            site.edit("fr", "backup-why", "sauvegarde", "SAUVEGARDE")
            site.delete("it", "files-select")
        child = subprocess.Popen([sys.executable, "-c", script], env=env, cwd=ROOT)
        time.sleep(rng.uniform(0.05, 1.2))
        child.send_signal(signal.SIGKILL)
        child.wait()
        for path in settings.corpus_dir.rglob("*.html"):
            assert path.read_text(encoding="utf-8").rstrip().endswith("</html>"), path  # whole, never cut
    result = sync(settings)
    assert result.ok, result
    assert not list(settings.corpus_dir.rglob(".*.tmp"))  # what the kills left was swept
    fresh = with_site(tmp_path / "fresh", site)
    sync(fresh)
    assert corpus_files(settings) == corpus_files(fresh)
    a, b = opened(settings), opened(fresh)
    assert {d: a.index.work(d) for d in a.index.documents} == {d: b.index.work(d) for d in b.index.documents}


def test_intercom_translated_content_is_one_work_per_article(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Intercom's list, paged by number, each locale of `translated_content` one article; drafts left out;
    a wrong token fails the source, a 429 waits for X-RateLimit-Reset; an edit rewrites one file."""
    with intercom_server.serve(intercom_server.Workspace.from_fixture()) as space:
        monkeypatch.setattr("kb.sources.intercom.PER_PAGE", 4)  # two pages
        settings = make_settings(tmp_path, sync_max_wait=5.0)
        add_source(settings, SourceConfig("ic", "intercom", space.base, ("es", "it"), "IC_TOKEN"))
        monkeypatch.setenv("IC_TOKEN", "not-the-token")
        result = sync(settings)
        assert not result.ok and "401" in result.sources[0].error and "Access Token Invalid" in result.sources[0].error
        monkeypatch.setenv("IC_TOKEN", intercom_server.TOKEN)
        draft = sorted(space.articles)[2]
        space.articles[draft]["it"].state = "draft"
        space.limited = 1
        space.log.clear()
        result = sync(settings)
        (report,) = result.sources
        assert result.ok and report.listed == 11 and [why for _, why in report.skipped] == ["a draft"]
        assert sum(p.startswith("/articles?page=") for p in space.log) == 3  # a 429, then pages 1 and 2
        kb = opened(settings)
        assert {d.lang for d in kb.documents()} == {"es", "it"}
        for doc in kb.documents():
            assert doc.source.startswith(f"{space.base}/help/{doc.lang}/articles/")
            assert (doc.translation_of == "") == (doc.lang == "es")  # default_locale is the original
            assert len(kb.index.translations(doc.doc_id)) == (0 if doc.meta["group"].endswith(draft) else 1)
        space.edit(sorted(space.articles)[0], "it", "backup", "BACKUP")
        report = sync(settings).sources[0]
        assert len(report.updated) == 1 and report.unchanged == 10


@pytest.mark.parametrize("seed", [1, 2])
def test_incremental_sync_equals_fresh_sync_over_random_changes(tmp_path: Path, site: HelpSite, seed: int) -> None:
    """A property, on seeded random sequences of edits, additions, deletions and re-translations at the
    source (each followed by a sync): the corpus and the works equal a fresh sync's."""
    import random

    rng = random.Random(seed)
    settings = with_site(tmp_path / "incremental", site)
    sync(settings)
    for step in range(4):
        for _ in range(rng.randint(1, 3)):
            lang, page = rng.choice(sorted(site.pages))
            action = rng.choice(["edit", "add", "delete", "retranslate"])
            if action == "edit":
                site.add(lang, page, site.pages[(lang, page)].html.replace("</p>", f" (v{step})</p>", 1))
            elif action == "add":
                other = rng.choice([code for code in LANGS if (code, page) not in site.pages] or [lang])
                site.add(other, f"{page}-{step}", site.pages[(lang, page)].html)
            elif action == "delete" and len(site.pages) > 8:
                site.delete(lang, page)
            else:  # the page's translation in another language is replaced by a new version
                other = rng.choice(LANGS)
                if (other, page) in site.pages:
                    site.add(other, page, site.pages[(other, page)].html.replace("<p", "<p data-v", 1))
        assert sync(settings, allow_deletions=True).ok
    fresh = with_site(tmp_path / "fresh", site)
    sync(fresh)
    assert corpus_files(settings) == corpus_files(fresh)
    a, b = opened(settings), opened(fresh)
    assert {d: a.index.work(d) for d in a.index.documents} == {d: b.index.work(d) for d in b.index.documents}
