"""Retrieval and answer evaluation on questions with gold evidence (a document, or a verbatim quote in one)."""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import KBError
from .knowledge_base import KnowledgeBase
from .types import Hit

K = 10


@dataclass
class Question:
    qid: str
    lang: str
    question: str
    gold: list[tuple[str, int, int]]  # (doc_id, start, end) of each gold quote (0, len(body): the whole document)


@dataclass
class EvalReport:
    """Metrics over a question set; `by_pair` breaks hit@5 and MRR down by question × document language,
    `by_language` what the answers claim by the question's language: answerable questions in scope
    (confident or contested: the best passage clears the threshold), confident, and out-of-scope ones
    not confident."""

    questions: int
    in_scope: int
    metrics: dict[str, float]
    by_pair: dict[str, dict[str, float]] = field(default_factory=dict)
    by_language: dict[str, dict[str, float]] = field(default_factory=dict)
    parallel: dict[str, float] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def table(self) -> str:
        lines = ["| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value:.3f} |" for name, value in self.metrics.items()]
        lines += [f"| parallel P@1 {name} | {value:.3f} |" for name, value in self.parallel.items()]
        lines += ["", "| question lang → document lang | n | hit@5 | MRR@10 |", "|---|---|---|---|"]
        lines += [
            f"| {pair} | {int(v['n'])} | {v['hit@5']:.2f} | {v['mrr@10']:.2f} |"
            for pair, v in sorted(self.by_pair.items())
        ]
        if self.by_language:
            lines += ["", "| question lang | answerable | in scope | confident | out of scope | not confident |"]
            lines += ["|---|---|---|---|---|---|"]
            for lang, v in sorted(self.by_language.items()):
                answerable = f"{int(v['n'])} | {v['in scope']:.3f} | {v['confident']:.3f}" if v["n"] else "0 | | "
                off = f"{int(v['out of scope'])} | {v['not confident']:.3f}" if v["out of scope"] else "0 | "
                lines.append(f"| {lang} | {answerable} | {off} |")
        return "\n".join(lines)


def load_questions(path: Path, kb: KnowledgeBase) -> list[Question]:
    """Read a JSONL question set: {"id", "lang", "question", "gold": [{"doc_id", "quote"}]}.

    A gold entry with a quote is that passage (located verbatim in the document); one without a quote is the
    whole document (any passage of it counts). An empty gold list marks an out-of-scope question.
    """
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise KBError(f"cannot read question set {path}: {exc}") from exc
    questions = []
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            qid, text, gold_rows = row["id"], row["question"], row.get("gold", [])
            doc_ids = [g["doc_id"] for g in gold_rows]
        except (ValueError, TypeError, KeyError, AttributeError) as exc:
            raise KBError(
                f"{path} line {number}: not a question row ({type(exc).__name__}: {exc}); expected "
                '{"id", "lang", "question", "gold": [{"doc_id", "quote"}]}'
            ) from exc
        gold = []
        for g, doc_id in zip(gold_rows, doc_ids, strict=True):
            try:
                body = kb.document(doc_id).body
            except KBError:
                raise KBError(
                    f"{qid}: gold document {doc_id!r} is not in the index; was it built from the corpus this "
                    f"question set ({path.name}) was made for?"
                ) from None
            if "quote" not in g:
                gold.append((doc_id, 0, len(body)))
                continue
            start = body.find(g["quote"])
            if start < 0:
                raise KBError(f"{qid}: quote not found verbatim in document {doc_id}: {g['quote'][:60]!r}")
            gold.append((doc_id, start, start + len(g["quote"])))
        questions.append(Question(qid, row.get("lang", ""), text, gold))
    return questions


def _relevant(hit: Hit, gold: list[tuple[str, int, int]]) -> int | None:
    """Index of the gold quote a hit overlaps, or None."""
    for i, (doc_id, start, end) in enumerate(gold):
        if hit.doc_id == doc_id and hit.start < end and start < hit.end:
            return i
    return None


def evaluate(kb: KnowledgeBase, questions: list[Question], parallel: bool = True) -> EvalReport:
    """hit@1/5/10, MRR@10, nDCG@10, language coverage, confidence on out-of-scope questions, parallel P@1."""
    sums: dict[str, float] = defaultdict(float)
    pairs: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    languages: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))  # by the question's language
    failures = []
    in_scope = [q for q in questions if q.gold]
    multi = cross = own = 0
    for q in in_scope:
        hits = kb.search(q.question, k=K)
        ranks = [r for r, h in enumerate(hits, 1) if _relevant(h, q.gold) is not None]
        first = ranks[0] if ranks else None
        for k in (1, 5, 10):
            sums[f"hit@{k}"] += bool(first and first <= k)
        sums["mrr@10"] += 1 / first if first else 0.0
        credited: set[int] = set()
        dcg = 0.0
        for r, h in enumerate(hits, 1):
            g = _relevant(h, q.gold)
            if g is not None and g not in credited:
                credited.add(g)
                dcg += 1 / math.log2(r + 1)
        ideal = sum(1 / math.log2(r + 1) for r in range(1, min(len(q.gold), K) + 1))
        sums["ndcg@10"] += dcg / ideal
        gold_langs = {kb.document(d).lang for d, _, _ in q.gold}
        if q.lang and q.lang not in gold_langs:  # asked in a language none of its evidence is written in
            cross += 1
            sums["cross-lingual hit@5"] += bool(first and first <= 5)
            sums["cross-lingual mrr@10"] += 1 / first if first else 0.0
        if len(gold_langs) > 1:
            multi += 1
            found = {hits[r - 1].lang for r in ranks}
            sums["language coverage@10"] += len(found & gold_langs) / len(gold_langs)
        answer = kb.ask(q.question)
        sums["ask cites gold"] += any(
            c.doc_id == d and c.start < e and s < c.end
            for main in answer.citations
            for c in (main, *main.parallels)
            for d, s, e in q.gold
        )
        sums["in-scope confident"] += answer.confident
        sums["in-scope contested"] += answer.contested
        claims = languages[q.lang or "unknown"]
        claims["n"] += 1
        claims["in scope"] += answer.confident or answer.contested
        claims["confident"] += answer.confident
        # where the answer puts the evidence: the first point citing gold (a citation or its parallels)
        golden = [
            any(
                c.doc_id == d and c.start < e and s < c.end
                for m in p.citations
                for c in (m, *m.parallels)
                for d, s, e in q.gold
            )
            for p in answer.points
        ]
        point = golden.index(True) + 1 if True in golden else None
        # what `confident` claims: that point 1 answers
        sums["confident, point 1 gold"] += answer.confident and point == 1
        sums["not confident, point 1 not gold"] += not answer.confident and point != 1
        sums["point 1 not gold"] += point != 1
        sums["ask gold in point 1"] += point == 1
        sums["ask gold in points 1-2"] += bool(point and point <= 2)
        sums["hit@2"] += bool(first and first <= 2)
        sums["ask mrr (points)"] += 1 / point if point else 0.0
        if answer.points and answer.hits:  # point 1 cites the passage search ranks first
            sums["point 1 cites search's first"] += any(
                c.chunk_id == answer.hits[0].chunk_id for c in answer.points[0].citations
            )
        # the asker's language: among questions whose answer the corpus has in that language
        answer_langs = gold_langs | {kb.document(t).lang for d, _, _ in q.gold for t in kb.index.translations(d)}
        if q.lang in answer_langs and answer.points:
            own += 1
            leads = [p.citations[0].lang for p in answer.points]
            sums["points in the question's language"] += leads.count(q.lang) / len(leads)
            sums["point 1 in the question's language"] += leads[0] == q.lang
        pair = pairs[f"{q.lang} → {'/'.join(sorted(gold_langs))}"]
        pair["n"] += 1
        pair["hit@5"] += bool(first and first <= 5)
        pair["mrr@10"] += 1 / first if first else 0.0
        if not first or first > 5:
            failures.append(f"{q.qid} ({q.lang}) first relevant rank {first}: {q.question}")
    out_of_scope = [q for q in questions if not q.gold]
    not_confident = 0
    for q in out_of_scope:
        said = not kb.ask(q.question).confident
        not_confident += said
        languages[q.lang or "unknown"]["out of scope"] += 1
        languages[q.lang or "unknown"]["not confident"] += said
    n = max(len(in_scope), 1)
    metrics = {name: sums[name] / n for name in ("hit@1", "hit@5", "hit@10", "mrr@10", "ndcg@10")}
    if cross:
        metrics["cross-lingual hit@5"] = sums["cross-lingual hit@5"] / cross
        metrics["cross-lingual mrr@10"] = sums["cross-lingual mrr@10"] / cross
    if multi:
        metrics["language coverage@10"] = sums["language coverage@10"] / multi
    metrics["ask cites gold"] = sums["ask cites gold"] / n
    for name in ("hit@2", "ask gold in point 1", "ask gold in points 1-2", "ask mrr (points)"):
        metrics[name] = sums[name] / n
    metrics["point 1 cites search's first"] = sums["point 1 cites search's first"] / n
    if own:
        metrics["points in the question's language"] = sums["points in the question's language"] / own
        metrics["point 1 in the question's language"] = sums["point 1 in the question's language"] / own
    metrics["in-scope confident"] = sums["in-scope confident"] / n
    metrics["in-scope contested"] = sums["in-scope contested"] / n  # several articles come as close
    if sums["in-scope confident"]:  # of the confident answers, those whose point 1 cites gold
        metrics["confident answers right at point 1"] = sums["confident, point 1 gold"] / sums["in-scope confident"]
    if sums["point 1 not gold"]:  # of the answers whose point 1 is wrong, those that say they are not sure
        metrics["wrong point 1 not confident"] = sums["not confident, point 1 not gold"] / sums["point 1 not gold"]
    if out_of_scope:
        metrics["out-of-scope not confident"] = not_confident / len(out_of_scope)
    by_pair = {p: {"n": v["n"], "hit@5": v["hit@5"] / v["n"], "mrr@10": v["mrr@10"] / v["n"]} for p, v in pairs.items()}
    by_language = {
        lang: {
            "n": v["n"],
            "in scope": v["in scope"] / max(v["n"], 1),
            "confident": v["confident"] / max(v["n"], 1),
            "out of scope": v["out of scope"],
            "not confident": v["not confident"] / max(v["out of scope"], 1),
        }
        for lang, v in languages.items()
    }
    report = EvalReport(len(questions), len(in_scope), metrics, by_pair, by_language, failures=failures)
    if parallel:
        report.parallel = parallel_alignment(kb)
    return report


def parallel_alignment(kb: KnowledgeBase) -> dict[str, float]:
    """For documents with `translation_of`: does each paragraph find its counterpart at rank 1 in the other language?

    Paragraphs are aligned by order (the translations are paragraph-for-paragraph parallel); a
    paragraph counts as found when the top hit, searching only the other language, overlaps its
    counterpart.
    """
    out: dict[str, float] = {}
    documents = kb.documents()
    known = {d.doc_id for d in documents}
    for doc in documents:
        if not doc.translation_of or doc.translation_of not in known:
            continue
        original = kb.document(doc.translation_of)
        a, b = paragraphs(original.body), paragraphs(doc.body)
        if len(a) != len(b):
            continue
        for src, dst, src_doc, dst_doc in ((a, b, original, doc), (b, a, doc, original)):
            found = 0
            for (s, e), (ds, de) in zip(src, dst, strict=True):
                hits = kb.search(src_doc.body[s:e], k=1, languages=[dst_doc.lang])
                found += bool(hits and hits[0].doc_id == dst_doc.doc_id and hits[0].start < de and ds < hits[0].end)
            out[f"{src_doc.lang}→{dst_doc.lang}"] = found / max(len(src), 1)
    return out


def paragraphs(body: str) -> list[tuple[int, int]]:
    """Spans of content paragraphs (lines with words, no metadata-only date lines, no bare title)."""
    from .chunking import classify_lines

    return [(line.start, line.end) for line in classify_lines(body) if line.kind != "heading"]


def as_dict(report: EvalReport) -> dict[str, Any]:
    return {
        "questions": report.questions,
        "in_scope": report.in_scope,
        "metrics": report.metrics,
        "by_pair": report.by_pair,
        "by_language": report.by_language,
        "parallel": report.parallel,
        "failures": report.failures,
    }
