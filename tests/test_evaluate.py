"""The evaluation harness and the development set it runs on."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kb import KBError, KnowledgeBase, Settings
from kb.evaluate import evaluate, load_questions

from .conftest import ROOT

DEV = ROOT / "bench" / "data" / "dev.jsonl"
CHECK = ROOT / "bench" / "data" / "check.jsonl"


def test_dev_set_shape(kb: KnowledgeBase) -> None:
    rows = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines()]
    assert len(rows) >= 50 and len({r["lang"] for r in rows}) >= 6
    assert sum(not r["gold"] for r in rows) >= 5  # out-of-scope questions
    doc_langs = {d.doc_id: d.lang for d in kb.documents()}
    cross = [r for r in rows if r["gold"] and r["lang"] not in {doc_langs[g["doc_id"]] for g in r["gold"]}]
    assert len(cross) > len(rows) / 2  # most questions are asked in another language than the article's
    assert len(load_questions(DEV, kb)) == len(rows)  # every quote is verbatim in its document


def test_metrics_on_a_tiny_set(kb: KnowledgeBase, tmp_path: Path) -> None:
    body = kb.document("003").body
    quote = "Il 79% desidera che un essere umano faccia parte dei canali di connessione"
    assert quote in body
    path = tmp_path / "q.jsonl"
    rows = [
        {"id": "a", "lang": "it", "question": quote, "gold": [{"doc_id": "003", "quote": quote}]},
        {"id": "b", "lang": "en", "question": "What is the boiling point of tungsten?", "gold": []},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = evaluate(kb, load_questions(path, kb), parallel=False)
    assert report.metrics["hit@1"] == 1.0 and report.metrics["mrr@10"] == 1.0
    assert report.metrics["out-of-scope not confident"] == 1.0
    assert report.in_scope == 1 and not report.failures
    assert "cross-lingual hit@5" not in report.metrics  # asked in the article's own language
    english = "79% want a human being in the channels of connection"
    rows.append({"id": "c", "lang": "en", "question": english, "gold": rows[0]["gold"]})
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    report = evaluate(kb, load_questions(path, kb), parallel=False)
    assert report.metrics["cross-lingual hit@5"] == 1.0 and report.metrics["cross-lingual mrr@10"] > 0
    # what the answers claim, by the question's language (issue 34 asks it of every language)
    claims = {lang: kb.ask(r["question"]) for lang, r in (("it", rows[0]), ("en", rows[2]))}
    assert report.by_language["it"]["n"] == 1 and report.by_language["it"]["out of scope"] == 0
    assert report.by_language["en"]["n"] == 1 and report.by_language["en"]["out of scope"] == 1
    assert report.by_language["en"]["not confident"] == 1.0
    for lang, answer in claims.items():
        assert report.by_language[lang]["confident"] == float(answer.confident)
        assert report.by_language[lang]["in scope"] == float(answer.confident or answer.contested)
    assert "| en | 1 |" in report.table() and "| question lang | answerable |" in report.table()


def test_quote_must_be_verbatim(kb: KnowledgeBase, tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(json.dumps({"id": "x", "question": "q", "gold": [{"doc_id": "003", "quote": "not there"}]}))
    with pytest.raises(KBError, match="not found verbatim"):
        load_questions(path, kb)


def test_dev_set_quality_floor(kb: KnowledgeBase) -> None:
    """Guards against regressions; the figures themselves come from bench/eval.py.

    Measured with one model pass per passage (sentence and context vectors pooled from it): hit@5
    0.927, MRR 0.862, in-scope confident 0.945. Embedding sentences and contexts separately gave
    0.964 / 0.868 / 0.982 here (2 of 55 questions) but did worse on the 1,387-question help-centre
    dev set (hit@5 0.703 against 0.733; bench/late_chunking.py, docs/measurements.md). The `confident`
    threshold is set on the help-centre dev set (0.73): here in-scope confident 0.945 -> 0.909
    with out-of-scope still all not confident (and on the check set 0.956 -> 0.911, off-topic
    0.833 -> 1.000). Confident now also means no other article comes as close (`contested`, margin
    set on the help-centre dev set): 0.636 confident, 0.273 contested; point 1 cites gold for 0.914 of
    the confident answers (0.818 of all), and 0.70 of the answers whose point 1 does not say so.
    The title word match (issue 34: the help centre wins above the floors these assert, hit@5 0.90,
    MRR 0.82, off-topic not confident 0.83) moved MRR 0.857 -> 0.827 (check set 0.861 -> 0.845);
    the question's leaning to languages (kb/search.py LEANING) took it to 0.860 (0.851), confident /
    contested 0.582 / 0.309. With the question adapter, word-match weight 0.3 and leaning 0.35 (chosen
    on the help-centre dev set within these floors): hit@5 0.945, MRR 0.826 (check 0.933 / 0.824, off-
    topic not confident 0.833), `ask` cites gold 0.909, confident / contested 0.582 / 0.382.
    """
    report = evaluate(kb, load_questions(DEV, kb))
    assert report.metrics["hit@5"] >= 0.9
    assert report.metrics["mrr@10"] >= 0.82
    assert report.metrics["out-of-scope not confident"] == 1.0
    # evidence found: 0.909 before the title word match, 0.891 with it (one question of 55; on the
    # help-centre dev set 0.991 -> 0.990)
    assert report.metrics["in-scope confident"] + report.metrics["in-scope contested"] >= 0.88
    assert report.metrics["confident answers right at point 1"] >= 0.88  # what `confident` claims
    assert report.metrics["confident answers right at point 1"] > report.metrics["ask gold in point 1"]
    assert min(report.parallel.values()) == 1.0  # every paragraph of 002 finds its counterpart in 004 and back
    check = evaluate(kb, load_questions(CHECK, kb), parallel=False)  # written before the settings were chosen
    assert check.metrics["hit@5"] >= 0.9  # 0.933
    assert check.metrics["mrr@10"] >= 0.82  # 0.845
    assert check.metrics["out-of-scope not confident"] >= 0.83  # 1.0


def test_cli_eval(real_settings: Settings) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "kb", "--index", str(real_settings.index_dir), "eval", str(DEV), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["metrics"]["hit@10"] > 0.8
