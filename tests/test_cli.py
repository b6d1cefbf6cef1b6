"""The `kb` command line: output, JSON, and one-line errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kb import Settings

from .conftest import CORPUS, ROOT


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "kb", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        timeout=600,
    )


def assert_clean_error(proc: subprocess.CompletedProcess[str], pattern: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.startswith("kb: error:")]
    assert len(lines) == 1 and pattern in lines[0], proc.stderr


def test_missing_index_is_one_clear_line(tmp_path: Path) -> None:
    proc = run("--index", str(tmp_path / "none"), "search", "hola")
    assert_clean_error(proc, "run `kb rebuild`")


def test_empty_query_is_one_clear_line(real_settings: Settings) -> None:
    proc = run("--index", str(real_settings.index_dir), "ask", "  ")
    assert_clean_error(proc, "empty")


def test_search_json_and_ask(real_settings: Settings) -> None:
    proc = run("search", "¿Cómo medir el éxito?", "-k", "3", "--json", "--index", str(real_settings.index_dir))
    assert proc.returncode == 0, proc.stderr
    hits = json.loads(proc.stdout)
    assert len(hits) == 3 and {"chunk_id", "doc_id", "title", "lang", "text", "start", "end", "score", "rank"} <= set(
        hits[0]
    )
    proc = run("--index", str(real_settings.index_dir), "ask", "Is customer experience about emotion?")
    assert proc.returncode == 0 and "[1]" in proc.stdout and "Question language: English" in proc.stdout
    proc = run("--index", str(real_settings.index_dir), "info", "--json")
    info = json.loads(proc.stdout)
    assert info["documents"] == 5
    # the bundled articles are es/fr/it/pl: German and English questions lose their language's direction
    foreign = set(info["foreign_languages"])
    assert {"de", "en"} <= foreign and not {"es", "fr", "it", "pl"} & foreign


def test_rebuild_reports_and_strict(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for src in sorted(CORPUS.glob("00[03]*.txt")):
        (corpus / src.name).write_bytes(src.read_bytes())
    (corpus / "broken.txt").write_bytes(b"\xff\xfe\xfa garbage \x00")
    args = ("--corpus", str(corpus), "--index", str(tmp_path / "index"), "rebuild")
    proc = run(*args)
    assert proc.returncode == 0, proc.stderr
    assert "skipped broken.txt:" in proc.stderr
    assert "fitting the question adapter" not in proc.stderr  # two articles: no adapter to fit
    assert "2 documents" in proc.stdout and "skipped 1" in proc.stdout
    proc = run(*args, "--strict")
    assert proc.returncode == 2 and "already up to date" in proc.stdout
    info = run("--corpus", str(corpus), "--index", str(tmp_path / "index"), "info")  # skipped files are remembered
    assert info.returncode == 0 and "format 11" in info.stdout and "skipped:   1 files" in info.stdout
    assert "broken.txt: invalid UTF-16 text" in info.stdout and "as reconstructed from their codes" in info.stdout
    assert "adapter:   none (the corpus has fewer than 300 titles and section headings" in info.stdout
    data = json.loads(run("--corpus", str(corpus), "--index", str(tmp_path / "index"), "info", "--json").stdout)
    assert [s["path"] for s in data["skipped"]] == ["broken.txt"] and data["format_version"] == 11
    assert data["question_adapter"] is False


def test_principles_command(real_settings: Settings) -> None:
    index = str(real_settings.index_dir)
    proc = run("--index", index, "principles", "--limit", "2", "--json")
    assert proc.returncode == 0, proc.stderr
    principles = json.loads(proc.stdout)
    assert 1 <= len(principles) <= 2
    assert principles[0]["works"] >= 2 and principles[0]["statement"]["quote"]
    proc = run("--index", index, "principles")
    assert proc.returncode == 0 and proc.stdout.startswith("1. ") and "languages:" in proc.stdout
    assert_clean_error(run("--index", index, "principles", "--limit", "0"), "limit")


def test_an_unknown_language_is_refused_with_the_corpus_languages(real_settings: Settings) -> None:
    index = str(real_settings.index_dir)
    for command in ("search", "ask"):
        proc = run("--index", index, command, "¿Cómo medir el éxito?", "--lang", "xx")
        assert_clean_error(proc, "no articles in 'xx'; its languages are: es, fr, it, pl")
    proc = run("--index", index, "search", "¿Cómo medir el éxito?", "--lang", "pl", "--json")
    assert proc.returncode == 0 and {h["lang"] for h in json.loads(proc.stdout)} == {"pl"}


def test_gaps_command(real_settings: Settings, tmp_path: Path) -> None:
    import csv
    import shutil

    index = tmp_path / "index"
    shutil.copytree(real_settings.index_dir, index)
    (index / "gaps.jsonl").write_text(
        '{"asked": "2026-11-20", "lang": "en", "question": "How do I reset my router?", "score": 0.61}\n'
        "{broken line\n"
        '{"asked": "2026-11-21", "lang": "en", "question": "How can I reset my router?", "score": 0.63}\n',
        encoding="utf-8",
    )
    proc = run("--index", str(index), "gaps")
    assert proc.returncode == 0, proc.stderr
    assert "Unanswered questions: 2 in 1 groups" in proc.stdout and "also: How can I reset my router?" in proc.stdout
    rows = list(csv.DictReader(run("--index", str(index), "gaps", "--csv", "questions").stdout.splitlines()))
    assert rows == [
        {
            "language": "en",
            "asked": "2",
            "last_asked": "2026-11-21",
            "best_score": "0.630",
            "question": "How do I reset my router?",
            "other_wordings": "How can I reset my router?",
            "nearest_article": "",
            "languages": "en",
        }
    ]
    report = json.loads(run("--index", str(index), "gaps", "--json").stdout)
    assert report["languages"] == ["es", "fr", "it", "pl"]
    for missing in report["translations"]:
        assert set(missing["missing"]) == set(report["languages"]) - set(missing["versions"])
