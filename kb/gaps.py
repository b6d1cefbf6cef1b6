"""The content-gap report: the questions the knowledge base found no confident answer to, grouped by
language and by meaning, and the corpus languages each article has no translation in."""

from __future__ import annotations

import contextlib
import csv
import io
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

import numpy as np

from .config import Settings
from .duplicates import Place
from .errors import KBError
from .logs import JsonLog
from .types import Answer

if TYPE_CHECKING:
    from .feedback import Feedback
    from .knowledge_base import KnowledgeBase
    from .usage import Asked

Worded = TypeVar("Worded", "Unanswered", "Feedback")  # what `_by_meaning` groups by its wording (`question`)
REPEATS_SHOWN = 100  # near-duplicates, and candidate contradictions, listed at most (the most asked about)
LOG_NAME = "gaps.jsonl"  # in the index directory; one JSON object per unanswered question
# What could identify a person or an account is blanked before a question is written down.
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_NUMBER = re.compile(r"\+?\d(?:[ \-./]?\d){3,}")  # four digits or more: phone, order, card, account numbers


def redact(question: str) -> str:
    """The question with e-mail addresses, links and numbers of four digits or more blanked."""
    question = _EMAIL.sub("[email]", question)
    question = _LINK.sub("[link]", question)
    return _NUMBER.sub("[number]", question).strip()


@dataclass(frozen=True)
class Unanswered:
    """One question the knowledge base found no confident answer to, as the log keeps it."""

    asked: str  # the day (YYYY-MM-DD), nothing finer
    lang: str
    question: str  # redacted; "" unless the deployment keeps the wording (Settings.gap_questions)
    score: float  # the best passage's relevance (below the confident threshold)
    nearest: str = ""  # the id of the article the best passage is in ("" when nothing was found)


class GapLog:
    """The local log of unanswered questions (`Settings.gap_log` turns it off; `gap_questions` keeps wordings;
    bounded and safe to kill: kb/logs.py)."""

    def __init__(self, settings: Settings) -> None:
        self.log = JsonLog(settings.index_dir / LOG_NAME, settings.gap_log)
        self.path = self.log.path
        self.enabled = settings.gap_log
        self.wordings = settings.gap_questions

    def record(self, answer: Answer) -> None:
        """Append `answer`'s question if the log is on and the answer is not confident."""
        if not self.enabled or answer.confident:
            return
        entry = Unanswered(
            asked=time.strftime("%Y-%m-%d"),
            lang=answer.query_lang,
            question=redact(answer.question) if self.wordings else "",
            score=round(answer.hits[0].score, 4) if answer.hits else 0.0,
            nearest=answer.hits[0].doc_id if answer.hits else "",
        )
        self.log.append(entry.__dict__)

    def read(self) -> list[Unanswered]:
        """Every logged question; a damaged line (a crash mid-write) is passed over."""
        out = []
        for entry in self.log.read():
            with contextlib.suppress(TypeError, ValueError):
                out.append(Unanswered(**entry))
        return out


@dataclass(frozen=True)
class QuestionGroup:
    """Questions that ask the same thing, in any language (without wordings: that came nearest one article)."""

    lang: str  # the language most of them were asked in
    questions: tuple[str, ...]  # distinct wordings, the most asked first (none when wordings are not kept)
    asked: int  # how many times any of them was asked
    last_asked: str  # the latest day
    best_score: float  # the best passage any of them found
    nearest: str = ""  # the article most of them came nearest to (its id)
    nearest_title: str = ""
    languages: tuple[str, ...] = ()  # every language they were asked in, the most asked first


@dataclass(frozen=True)
class MissingTranslation:
    """An article (the original of its translations) and the corpus languages it has no version in."""

    doc_id: str
    title: str
    lang: str
    versions: tuple[str, ...]  # the languages it has
    missing: tuple[str, ...]
    questions: int = 0  # questions of the period, in a language it misses, that it answered (a version cited)


@dataclass(frozen=True)
class StaleTranslation:
    """A translation behind its original: marked so by its help centre, or older than the original's last change."""

    doc_id: str
    title: str
    lang: str
    original: str  # the original's id
    original_lang: str
    reason: str  # "marked out of date by its help centre" or "its original changed after it"
    updated: str  # this translation's last change at the source ("" when unknown)
    original_updated: str
    questions: int = 0  # questions of the period that cited this translation


@dataclass(frozen=True)
class Disliked:
    """Answers people said were not helpful, grouped by the article their point 1 cited (what to fix)."""

    doc_id: str  # "" for answers that cited nothing
    title: str
    lang: str  # the article's
    times: int
    last: str  # the latest day
    languages: tuple[str, ...]  # the questions' languages
    questions: tuple[str, ...]  # distinct wordings, when the deployment keeps them
    comments: tuple[str, ...]


@dataclass(frozen=True)
class FlaggedSource:
    """A passage people flagged as the wrong source for their question."""

    doc_id: str
    title: str
    lang: str
    start: int  # body offsets of the flagged citation (a link opens the article there)
    end: int
    quote: str
    times: int
    last: str
    questions: tuple[str, ...]  # when the deployment keeps wordings
    comments: tuple[str, ...]


@dataclass(frozen=True)
class ArticleUse:
    """An article and how many questions of the period cited it (or a version of it: a translation)."""

    doc_id: str
    title: str
    lang: str
    cited: int


@dataclass(frozen=True)
class DayCount:
    """Questions asked on one day in one language, and how many got a confident answer."""

    day: str
    lang: str
    asked: int
    confident: int


@dataclass(frozen=True)
class Coverage:
    """One corpus language: its articles, the share of the corpus's works it has a version of, and the
    share of its articles that are translations behind their original."""

    lang: str
    articles: int
    works_covered: float
    stale: float


@dataclass(frozen=True)
class FeedbackDay:
    day: str
    helpful: int
    not_helpful: int


@dataclass(frozen=True)
class Repeat:
    """Two places that repeat each other ("duplicate": passages of two articles in one language) or say
    different numbers on one topic ("contradiction": sentences, any languages), and how many questions of
    the period cited either article."""

    kind: str
    a: Place
    b: Place
    similarity: float
    questions: int = 0
    a_says: tuple[str, ...] = ()  # a contradiction: what `a` says ("30 días") ...
    b_says: tuple[str, ...] = ()  # ... and `b` instead ("14 dni")


@dataclass(frozen=True)
class GapReport:
    languages: list[str]  # of the corpus
    questions: list[QuestionGroup]  # the most asked first
    translations: list[MissingTranslation]
    stale: list[StaleTranslation] = field(default_factory=list)  # by language, then title
    disliked: list[Disliked] = field(default_factory=list)  # the most often first
    flagged: list[FlaggedSource] = field(default_factory=list)  # the most often first
    helpful: int = 0  # answers people said were helpful (in the feedback kept)
    days: int = 30  # the period the use of articles is counted over (the last days)
    asked: int = 0  # questions asked in the period (the usage log)
    unreached: list[ArticleUse] = field(default_factory=list)  # no question of the period cited them
    most_cited: list[ArticleUse] = field(default_factory=list)  # the 10 most cited in the period
    per_day: list[DayCount] = field(default_factory=list)  # for the charts: by day, then language
    coverage: list[Coverage] = field(default_factory=list)
    feedback_per_day: list[FeedbackDay] = field(default_factory=list)
    repeats: list[Repeat] = field(default_factory=list)  # the most asked about first, then the closest

    def questions_csv(self) -> str:
        return _csv(
            [
                *("language", "asked", "last_asked", "best_score", "question"),
                *("other_wordings", "nearest_article", "languages"),
            ],
            [
                [
                    g.lang,
                    g.asked,
                    g.last_asked,
                    f"{g.best_score:.3f}",
                    g.questions[0] if g.questions else "",
                    " | ".join(g.questions[1:]),
                    g.nearest_title,
                    " ".join(g.languages),
                ]
                for g in self.questions
            ],
        )

    def stale_csv(self) -> str:
        return _csv(
            [
                *("doc_id", "title", "language", "original", "original_language", "reason"),
                *("updated", "original_updated", "questions"),
            ],
            [
                [t.doc_id, t.title, t.lang, t.original, t.original_lang, t.reason, t.updated, t.original_updated]
                + [t.questions]
                for t in self.stale
            ],
        )

    def disliked_csv(self) -> str:
        return _csv(
            ["doc_id", "title", "language", "times", "last", "question_languages", "questions", "comments"],
            [
                [
                    d.doc_id,
                    d.title,
                    d.lang,
                    d.times,
                    d.last,
                    " ".join(d.languages),
                    " | ".join(d.questions),
                    " | ".join(d.comments),
                ]
                for d in self.disliked
            ],
        )

    def flagged_csv(self) -> str:
        return _csv(
            ["doc_id", "title", "language", "start", "end", "quote", "times", "last", "questions", "comments"],
            [
                [
                    f.doc_id,
                    f.title,
                    f.lang,
                    f.start,
                    f.end,
                    f.quote,
                    f.times,
                    f.last,
                    " | ".join(f.questions),
                    " | ".join(f.comments),
                ]
                for f in self.flagged
            ],
        )

    def charts_csv(self) -> str:
        """What the editors' charts draw, one row per day and language (questions, confident answers), per
        language (articles, share of the works it has, share of its translations behind) and per day
        (feedback)."""
        rows: list[list[object]] = [["questions", d.day, d.lang, d.asked, d.confident] for d in self.per_day]
        rows += [
            ["coverage", "", c.lang, "", "", c.articles, f"{c.works_covered:.3f}", f"{c.stale:.3f}"]
            for c in self.coverage
        ]
        rows += [["feedback", f.day, "", "", "", "", "", "", f.helpful, f.not_helpful] for f in self.feedback_per_day]
        header = ["chart", "day", "language", "questions", "confident", "articles", "works_covered"]
        return _csv([*header, "translations_behind", "helpful", "not_helpful"], rows)

    def use_csv(self) -> str:
        """The most cited articles of the period, then those no question reached (cited 0)."""
        rows = [*self.most_cited, *self.unreached]
        return _csv(["doc_id", "title", "language", "cited"], [[u.doc_id, u.title, u.lang, u.cited] for u in rows])

    def repeats_csv(self, kind: str = "") -> str:
        """Near-duplicates and candidate contradictions (`kind`: one of them only), both places of each."""
        header = ["kind", "questions", "similarity", "a_doc_id", "a_title", "a_language", "a_start", "a_end", "a_quote"]
        header += ["b_doc_id", "b_title", "b_language", "b_start", "b_end", "b_quote", "a_says", "b_says"]
        return _csv(
            header,
            [
                [r.kind, r.questions, f"{r.similarity:.3f}"]
                + [r.a.doc_id, r.a.title, r.a.lang, r.a.start, r.a.end, r.a.quote]
                + [r.b.doc_id, r.b.title, r.b.lang, r.b.start, r.b.end, r.b.quote]
                + [" ".join(r.a_says), " ".join(r.b_says)]
                for r in self.repeats
                if r.kind == kind or not kind
            ],
        )

    def translations_csv(self) -> str:
        return _csv(
            ["doc_id", "title", "language", "versions", "missing", "questions"],
            [
                [t.doc_id, t.title, t.lang, " ".join(t.versions), " ".join(t.missing), t.questions]
                for t in self.translations
            ],
        )


def gap_report(
    kb: KnowledgeBase,
    unanswered: list[Unanswered],
    feedback: Sequence[Feedback] = (),
    asked: Sequence[Asked] = (),
    days: int = 30,
) -> GapReport:
    """Group the unanswered questions and the feedback, list the translations each article lacks or has
    fallen behind in, and count what was asked (`asked`, the usage log) and which articles it reached in
    the last `days` days."""
    since = time.strftime("%Y-%m-%d", time.localtime(time.time() - days * 86400))
    recent = [a for a in asked if a.day > since]
    stale = _stale_translations(kb, recent)
    unreached, most_cited = _use(kb, recent)
    return GapReport(
        languages=kb.languages(),
        questions=_group_questions(kb, unanswered),
        translations=_missing_translations(kb, recent),
        stale=stale,
        disliked=_disliked(kb, [f for f in feedback if f.helpful is False]),
        flagged=_flagged(kb, [f for f in feedback if f.wrong]),
        helpful=sum(f.helpful is True for f in feedback),
        days=days,
        asked=len(recent),
        unreached=unreached,
        most_cited=most_cited,
        per_day=_per_day(asked),
        coverage=_coverage(kb, stale),
        feedback_per_day=_feedback_per_day(feedback),
        repeats=_repeats(kb, recent),
    )


def _repeats(kb: KnowledgeBase, asked: list[Asked], most: int = REPEATS_SHOWN) -> list[Repeat]:
    """Near-duplicates and candidate contradictions (`KnowledgeBase.repeats`), ranked by the questions of the
    period that cited either article, then by how close they are; at most `most` of each kind."""
    touched = Counter(d for a in asked for d in dict.fromkeys(a.cited))
    duplicates, contradictions = kb.repeats()
    out = [Repeat("duplicate", d.a, d.b, d.similarity, touched[d.a.doc_id] + touched[d.b.doc_id]) for d in duplicates]
    out = sorted(out, key=lambda r: (-r.questions, -r.similarity))[:most]
    found = [
        Repeat("contradiction", c.a, c.b, c.similarity, touched[c.a.doc_id] + touched[c.b.doc_id], c.a_says, c.b_says)
        for c in contradictions
    ]
    return out + sorted(found, key=lambda r: (-r.questions, -r.similarity))[:most]


def _use(kb: KnowledgeBase, asked: list[Asked]) -> tuple[list[ArticleUse], list[ArticleUse]]:
    """Articles no question cited (nor a version of them), and the 10 most cited; none when nothing was asked."""
    if not asked:
        return [], []
    index = kb.index
    by_work = Counter(index.work(d) for a in asked for d in dict.fromkeys(a.cited) if d in index.documents)
    by_article = Counter(d for a in asked for d in dict.fromkeys(a.cited) if d in index.documents)
    use = [
        ArticleUse(d.doc_id, d.title, d.lang, by_article[d.doc_id])
        for d in sorted(kb.documents(), key=lambda d: (d.lang, d.title.casefold(), d.doc_id))
    ]
    unreached = [u for u in use if not by_work[index.work(u.doc_id)]]
    most = sorted((u for u in use if u.cited), key=lambda u: (-u.cited, u.title.casefold()))[:10]
    return unreached, most


def _per_day(asked: Sequence[Asked]) -> list[DayCount]:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for a in asked:
        counts[(a.day, a.lang)][0] += 1
        counts[(a.day, a.lang)][1] += a.confident
    return [DayCount(day, lang, n, sure) for (day, lang), (n, sure) in sorted(counts.items())]


def _coverage(kb: KnowledgeBase, stale: list[StaleTranslation]) -> list[Coverage]:
    index = kb.index
    works = {index.work(d) for d in index.documents}
    behind = Counter(s.lang for s in stale)
    out = []
    for lang in kb.languages():
        mine = [d for d, lg in index.document_langs.items() if lg == lang]
        covered = {index.work(d) for d in mine}
        out.append(Coverage(lang, len(mine), len(covered) / max(len(works), 1), behind[lang] / max(len(mine), 1)))
    return out


def _feedback_per_day(feedback: Sequence[Feedback]) -> list[FeedbackDay]:
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for f in feedback:
        if f.helpful is not None:
            counts[f.day][0 if f.helpful else 1] += 1
    return [FeedbackDay(day, good, bad) for day, (good, bad) in sorted(counts.items())]


def _disliked(kb: KnowledgeBase, feedback: list[Feedback]) -> list[Disliked]:
    """Grouped by meaning across languages when the wordings are kept (as unanswered questions are), else
    by the article point 1 cited; each group named by the article most of its answers cited first."""
    groups: dict[str, list[Feedback]] = defaultdict(list)
    for f in [f for f in feedback if not f.question]:
        groups[f.citations[0].doc_id if f.citations else ""].append(f)
    by_meaning = _by_meaning(kb, [f for f in feedback if f.question])
    out = []
    for items in [*by_meaning, *groups.values()]:
        cited = Counter(f.citations[0].doc_id for f in items if f.citations).most_common(1)
        doc_id = cited[0][0] if cited else ""
        out.append(
            Disliked(
                doc_id=doc_id,
                title=_title(kb, doc_id),
                lang=kb.index.document_langs.get(doc_id, ""),
                times=len(items),
                last=max(f.day for f in items),
                languages=tuple(sorted({f.lang for f in items})),
                questions=tuple(dict.fromkeys(f.question for f in items if f.question)),
                comments=tuple(dict.fromkeys(f.comment for f in items if f.comment)),
            )
        )
    return sorted(out, key=lambda d: (-d.times, d.title.casefold()))


def _flagged(kb: KnowledgeBase, feedback: list[Feedback]) -> list[FlaggedSource]:
    groups: dict[tuple[str, int, int], list[Feedback]] = defaultdict(list)
    for f in feedback:
        for n in f.wrong:
            c = f.citations[n - 1]
            groups[(c.doc_id, c.start, c.end)].append(f)
    out = []
    for (doc_id, start, end), items in groups.items():
        try:
            doc = kb.document(doc_id)
        except KBError:  # removed since: nothing left to fix
            continue
        out.append(
            FlaggedSource(
                doc_id=doc_id,
                title=doc.title,
                lang=doc.lang,
                start=start,
                end=end,
                quote=doc.body[start:end],
                times=len(items),
                last=max(f.day for f in items),
                questions=tuple(dict.fromkeys(f.question for f in items if f.question)),
                comments=tuple(dict.fromkeys(f.comment for f in items if f.comment)),
            )
        )
    return sorted(out, key=lambda f: (-f.times, f.title.casefold(), f.start))


def _group_questions(kb: KnowledgeBase, unanswered: list[Unanswered]) -> list[QuestionGroup]:
    """Kept wordings grouped by meaning across languages (a question asked in Polish and in French about
    the same thing is one group); entries without one (the default) by the article they came nearest to."""
    worded = [u for u in unanswered if u.question.strip()]
    groups: list[QuestionGroup] = []
    for members in _by_meaning(kb, worded) + _by_nearest([u for u in unanswered if not u.question.strip()]):
        wordings = Counter(" ".join(u.question.split()) for u in members if u.question.strip())
        nearest = Counter(u.nearest for u in members if u.nearest).most_common(1)
        doc_id = nearest[0][0] if nearest else ""
        langs = [lang for lang, _ in Counter(u.lang for u in members).most_common()]
        groups.append(
            QuestionGroup(
                lang=langs[0],
                questions=tuple(q for q, _ in wordings.most_common()),
                asked=len(members),
                last_asked=max(u.asked for u in members),
                best_score=max(u.score for u in members),
                nearest=doc_id,
                nearest_title=_title(kb, doc_id),
                languages=tuple(langs),
            )
        )
    return sorted(groups, key=lambda g: (-g.asked, g.lang, g.questions[:1], g.nearest_title))


def _by_meaning(kb: KnowledgeBase, items: list[Worded]) -> list[list[Worded]]:
    """Greedy: each wording (the most asked first) joins the first group whose head it is close to, on
    vectors without the corpus's language directions (`Index.neutral`), so languages do not keep apart
    what asks the same thing."""
    if not items:
        return []
    wordings = Counter(" ".join(u.question.split()) for u in items)
    ordered = [q for q, _ in wordings.most_common()]
    vectors = kb.index.neutral(np.stack([kb.embedder.encode_query(q).vector for q in ordered]))
    heads: list[list[int]] = []  # indexes into `ordered`, the head first
    for i in range(len(ordered)):
        for group in heads:
            if float(vectors[group[0]] @ vectors[i]) >= kb.settings.gap_similarity:
                group.append(i)
                break
        else:
            heads.append([i])
    out = []
    for group in heads:
        texts = {ordered[i] for i in group}
        out.append([u for u in items if " ".join(u.question.split()) in texts])
    return out


def _by_nearest(items: list[Unanswered]) -> list[list[Unanswered]]:
    groups: dict[str, list[Unanswered]] = defaultdict(list)
    for u in items:
        groups[u.nearest].append(u)
    return list(groups.values())


def _title(kb: KnowledgeBase, doc_id: str) -> str:
    if not doc_id:
        return ""
    try:
        return kb.document(doc_id).title
    except KBError:  # removed since
        return doc_id


def _missing_translations(kb: KnowledgeBase, asked: Sequence[Asked] = ()) -> list[MissingTranslation]:
    """Each work (by its original) with the corpus languages it has no version in; those that questions in a
    missing language reached (a version of it cited) first, the most such questions first."""
    index = kb.index
    wanted = Counter((w, a.lang) for a in asked for w in {index.work(d) for d in a.cited if d in index.documents})
    languages = kb.languages()
    langs = kb.index.document_langs
    seen: set[str] = set()
    out = []
    for doc_id in sorted(langs):
        if doc_id in seen:
            continue
        work = [doc_id, *kb.index.translations(doc_id)]
        seen.update(work)
        # the original speaks for the work: the one that declares no `translation_of`, else the first id
        head = next((d for d in sorted(work) if not kb.document(d).translation_of), sorted(work)[0])
        versions = sorted({langs[d] for d in work})
        missing = tuple(lang for lang in languages if lang not in versions)
        if missing:
            doc = kb.document(head)
            asked_for = sum(wanted[(kb.index.work(head), lang)] for lang in missing)
            out.append(MissingTranslation(head, doc.title, doc.lang, tuple(versions), missing, asked_for))
    return sorted(out, key=lambda t: (-t.questions, t.lang, t.title.casefold()))


def _stale_translations(kb: KnowledgeBase, asked: Sequence[Asked] = ()) -> list[StaleTranslation]:
    """Translations their help centre marks out of date (`kb:outdated`), or whose original changed at the
    source after they did (`kb:updated`, as a sync writes them: one source's times compare as text); the
    most cited by the questions of the period first."""
    cited = Counter(d for a in asked for d in set(a.cited))
    since = kb.index.manifest.stale_since
    documents = {d.doc_id: d for d in kb.documents()}
    out = []
    for doc in documents.values():
        original = documents.get(doc.translation_of)
        if original is None:
            continue
        mine, theirs = str(doc.meta.get("updated", "")), str(original.meta.get("updated", ""))
        if str(doc.meta.get("outdated", "")).lower() == "true":
            reason = "marked out of date by its help centre"
        elif mine and theirs and theirs > mine:
            reason = "its original changed after it"
        elif doc.doc_id in since:  # a rebuild saw its original's file change while its own did not
            reason, theirs = "its original changed after it", since[doc.doc_id]
        else:
            continue
        out.append(
            StaleTranslation(
                doc.doc_id, doc.title, doc.lang, original.doc_id, original.lang, reason, mine, theirs, cited[doc.doc_id]
            )
        )
    return sorted(out, key=lambda t: (-t.questions, t.lang, t.title.casefold(), t.doc_id))


def _csv(header: list[str], rows: list[list[object]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
