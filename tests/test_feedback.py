"""Feedback on answers lands in the editors' report (Python API and `kb gaps`; the HTTP API and the app in
test_server.py and test_app.py), and the logs the app keeps are bounded and survive kill -9 (kb/logs.py)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest

from kb import KBError, Service, Settings
from kb.build import rebuild
from kb.errors import NotFound
from kb.feedback import Cited
from kb.gaps import gap_report
from kb.logs import JsonLog

from .conftest import CORPUS, ROOT, FakeEmbedder


@pytest.fixture
def service(tmp_path: Path) -> Service:
    shutil.copytree(CORPUS, tmp_path / "corpus")
    settings = Settings(corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    rebuild(settings, embedder=FakeEmbedder())
    return Service(settings, embedder=FakeEmbedder())


def test_feedback_through_the_python_api_lands_in_the_report(service: Service) -> None:
    kb = service.knowledge_base()
    answer = service.ask("¿Cómo medir el éxito de la experiencia de cliente?")
    assert len(answer.citations) >= 2
    service.feedback_on(answer, helpful=False)
    service.feedback_on(answer, helpful=False, comment="Mail me at ana@example.com or call 600 123 456")
    service.feedback_on(answer, wrong=(2,))
    service.feedback_on(service.ask("Is customer experience about emotion or technology?"), helpful=True)
    report = gap_report(kb, service.gaps.read(), service.feedback.read())
    assert report.helpful == 1
    [disliked] = report.disliked  # grouped by the article point 1 cited
    first = answer.citations[0]
    assert (disliked.doc_id, disliked.title, disliked.times) == (first.doc_id, first.title, 2)
    assert disliked.comments == ("Mail me at [email] or call [number]",)  # what identifies is blanked
    assert disliked.questions == ()  # the wording is not kept unless the deployment keeps wordings
    [flagged] = report.flagged
    second = answer.citations[1]
    assert (flagged.doc_id, flagged.start, flagged.end, flagged.times) == (second.doc_id, second.start, second.end, 1)
    assert flagged.quote == second.quote  # the place an editor opens
    assert "ana@example.com" not in service.feedback.log.path.read_text(encoding="utf-8")
    entry = service.feedback.read()[0]
    assert entry.version == kb.version and entry.lang == answer.query_lang and not entry.question
    # the CSV parts of the editors' view carry it too
    assert first.title in report.disliked_csv() and second.quote.replace('"', '""') in report.flagged_csv()


def test_feedback_that_says_nothing_or_points_nowhere_is_refused(service: Service) -> None:
    answer = service.ask("¿Cómo medir el éxito?")
    doc = answer.citations[0]
    with pytest.raises(KBError, match="needs a verdict"):
        service.feedback_on(answer)
    with pytest.raises(KBError, match="must be one of the answer's"):
        service.feedback_on(answer, wrong=(len(answer.citations) + 1,))
    with pytest.raises(NotFound):
        service.give_feedback("?", [Cited("no-such-article", 0, 10)], helpful=False)
    with pytest.raises(KBError, match="outside article"):
        service.give_feedback("?", [Cited(doc.doc_id, 0, 10**7)], helpful=False)
    assert service.feedback.read() == []


def test_wordings_only_when_kept_and_nothing_when_off(service: Service) -> None:
    keeping = Service(replace(service.settings, gap_questions=True), embedder=FakeEmbedder())
    keeping.feedback_on(keeping.ask("¿Cómo medir el éxito? Mi pedido es 12345678"), helpful=False)
    assert keeping.feedback.read()[0].question == "¿Cómo medir el éxito? Mi pedido es [number]"
    # with wordings, dislikes group by meaning (here: the same wording twice is one group, another is another)
    keeping.feedback_on(keeping.ask("¿Cómo medir el éxito? Mi pedido es 12345678"), helpful=False)
    keeping.feedback_on(keeping.ask("¿Quién ganó el Tour de Francia?"), helpful=False)
    groups = sorted((d.times, d.questions) for d in keeping.report().disliked)
    assert groups == [(1, ("¿Quién ganó el Tour de Francia?",)), (2, ("¿Cómo medir el éxito? Mi pedido es [number]",))]
    off = Service(replace(service.settings, feedback_log=False), embedder=FakeEmbedder())
    before = off.feedback.log.path.read_text(encoding="utf-8")
    kept = off.feedback_on(off.ask("¿Cómo medir el éxito?"), helpful=False)
    assert kept.helpful is False and off.feedback.log.path.read_text(encoding="utf-8") == before  # nothing written


def test_kb_gaps_prints_the_feedback(real_settings: Settings, tmp_path: Path) -> None:
    shutil.copytree(real_settings.corpus_dir, tmp_path / "corpus")
    shutil.copytree(real_settings.index_dir, tmp_path / "index")
    for log in ("gaps.jsonl", "feedback.jsonl", "questions.jsonl"):  # its own logs, empty
        (tmp_path / "index" / log).unlink(missing_ok=True)
    settings = replace(real_settings, corpus_dir=tmp_path / "corpus", index_dir=tmp_path / "index")
    service = Service(settings)
    answer = service.ask("¿Cómo medir el éxito de la experiencia de cliente?")
    service.feedback_on(answer, helpful=False, wrong=(1,), comment="Esto no responde")
    env = {**os.environ, "KB_CORPUS_DIR": str(settings.corpus_dir), "KB_INDEX_DIR": str(settings.index_dir)}
    run = lambda *args: subprocess.run(  # noqa: E731
        [sys.executable, "-m", "kb", "gaps", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=600
    )
    report = json.loads(run("--json").stdout)
    assert report["disliked"][0]["doc_id"] == answer.citations[0].doc_id
    assert report["flagged"][0]["comments"] == ["Esto no responde"]
    text = run().stdout
    assert "Feedback: 0 helpful, 1 not helpful" in text and "Sources flagged as wrong: 1" in text
    assert answer.citations[0].title in run("--csv", "disliked").stdout


def test_the_editors_view_counts_what_was_asked(service: Service) -> None:
    kb = service.knowledge_base()
    answers = [service.ask(q) for q in ("¿Cómo medir el éxito?", "¿Qué es la experiencia de cliente?", "What is CX?")]
    service.ask("Czy technologia jest punktem wyjścia?", example=True)  # the page's example: nobody's question
    report = service.report()
    today = time.strftime("%Y-%m-%d")
    by_lang = {(d.day, d.lang): (d.asked, d.confident) for d in report.per_day}
    assert report.asked == 3 and sum(n for n, _ in by_lang.values()) == 3
    for lang in {a.query_lang for a in answers}:
        mine = [a for a in answers if a.query_lang == lang]
        assert by_lang[(today, lang)] == (len(mine), sum(a.confident for a in mine))
    cited = {c.doc_id for a in answers for c in a.citations}
    assert {u.doc_id for u in report.most_cited} == cited
    first = Counter(d for a in answers for d in dict.fromkeys(c.doc_id for c in a.citations))
    assert [(u.doc_id, u.cited) for u in report.most_cited] == sorted(
        first.items(), key=lambda x: (-x[1], kb.document(x[0]).title.casefold())
    )
    reached = {kb.index.work(d) for d in cited}
    assert {u.doc_id for u in report.unreached} == {
        d.doc_id for d in kb.documents() if kb.index.work(d.doc_id) not in reached
    }
    assert {c.lang: c.articles for c in report.coverage} == dict(Counter(d.lang for d in kb.documents()))
    # a missing translation that questions in the missing language reached ranks first
    reached = [m for m in report.translations if m.questions]
    assert report.translations[: len(reached)] == reached and [m.questions for m in reached] == sorted(
        (m.questions for m in reached), reverse=True
    )
    for m in report.translations:
        work = kb.index.work(m.doc_id)
        expected = sum(
            1 for a in service.usage.read() if a.lang in m.missing and any(kb.index.work(d) == work for d in a.cited)
        )
        assert m.questions == expected
    charts = report.charts_csv().splitlines()  # what the charts draw, as the editor downloads it
    for (day, lang), (n, sure) in by_lang.items():
        assert f"questions,{day},{lang},{n},{sure}" in charts
    # nothing was asked in a period that ends before today
    assert gap_report(kb, [], [], [replace(a, day="2000-01-01") for a in service.usage.read()]).asked == 0
    off = Service(replace(service.settings, usage_log=False), embedder=FakeEmbedder())
    off.ask("¿Cómo medir el éxito?")
    assert len(off.usage.read()) == 3  # what was kept before stays readable; nothing more is added


def test_a_translation_is_behind_once_its_original_changes(tmp_path: Path) -> None:
    """Editing an original's file (not its translation's) makes the translation stale in the report, and it
    stays so across rebuilds until the translation is edited too."""
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    original = "---\nid: returns-es\nlang: es\ntitle: Devoluciones\n---\nLas devoluciones se aceptan en 30 días.\n"
    (corpus / "returns-es.md").write_text(original, encoding="utf-8")
    translation = (
        "---\nid: returns-pl\nlang: pl\ntitle: Zwroty\ntranslation_of: returns-es\n---\nZwroty w ciągu 30 dni.\n"
    )
    (corpus / "returns-pl.md").write_text(translation, encoding="utf-8")
    settings = Settings(corpus_dir=corpus, index_dir=tmp_path / "index")

    def stale() -> list[tuple[str, str, str]]:
        rebuild(settings, embedder=FakeEmbedder())
        return [(t.doc_id, t.reason, t.original_updated) for t in Service(settings, FakeEmbedder()).report().stale]

    assert stale() == []
    (corpus / "returns-es.md").write_text(original.replace("30 días", "14 días"), encoding="utf-8")
    today = time.strftime("%Y-%m-%d")
    assert stale() == [("returns-pl", "its original changed after it", today)]
    (corpus / "other.md").write_text("---\nid: other\nlang: es\n---\nOtra cosa distinta.\n", encoding="utf-8")
    assert stale() == [("returns-pl", "its original changed after it", today)]  # still behind
    (corpus / "returns-pl.md").write_text(translation.replace("30 dni", "14 dni"), encoding="utf-8")
    assert stale() == []  # brought up to date


def test_a_log_is_bounded_and_rotated(tmp_path: Path) -> None:
    log = JsonLog(tmp_path / "x.jsonl", max_bytes=2_000, keep=2)
    for i in range(300):
        assert log.append({"i": i, "pad": "x" * 40})
    files = sorted(p.name for p in tmp_path.glob("x.jsonl*") if not p.name.endswith(".lock"))
    assert files == ["x.jsonl", "x.jsonl.1", "x.jsonl.2"]
    assert sum((tmp_path / f).stat().st_size for f in files) <= 3 * 2_000 + 100
    kept = [e["i"] for e in log.read()]
    assert kept == list(range(kept[0], 300))  # the newest, in order, none lost between the files kept
    assert not JsonLog(tmp_path / "off.jsonl", enabled=False).append({"i": 1})
    assert not (tmp_path / "off.jsonl").exists()


WRITER = """
import sys
from pathlib import Path
from kb.logs import JsonLog
log = JsonLog(Path(sys.argv[1]), max_bytes=50_000, keep=3)
i = 0
print("ready", flush=True)
while True:
    log.append({"i": i, "text": "zażółć gęślą jaźń " * 20})
    i += 1
"""


def test_a_log_survives_kill_9(tmp_path: Path) -> None:
    """A writer killed at any moment leaves a log that reads (a torn last line passed over) and takes more."""
    path = tmp_path / "log.jsonl"
    for delay in (0.05, 0.2, 0.35):
        writer = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, cwd=ROOT, text=True
        )
        assert writer.stdout is not None and writer.stdout.readline().strip() == "ready"
        time.sleep(delay)
        writer.send_signal(signal.SIGKILL)
        writer.wait(10)
    with open(path, "ab") as fh:  # as if a write had been cut short
        fh.write(b'{"i": 99999, "text": "za')
    log = JsonLog(path, max_bytes=50_000, keep=3)
    entries = log.read()
    assert entries and all(set(e) == {"i", "text"} for e in entries)
    assert all(e["i"] != 99999 for e in entries)
    assert log.append({"i": -1, "text": "after"}) and log.read()[-1] == {"i": -1, "text": "after"}
