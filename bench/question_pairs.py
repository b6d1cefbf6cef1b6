"""Build labelled question pairs (dev/test) to measure grouping questions by meaning across languages (issue 35).

Why: the content-gap report groups the questions that found no answer "by meaning across languages"; whether two
questions are one group is a yes/no call on a pair, so it is measured on pairs whose answer is known, with a dev
split to set the threshold on and a test split to report.

Input: the help-centre question set (bench/data/helpcentre/{dev,test}.jsonl: GNOME help page titles and
one-line descriptions in en/de/es/fr/it/pl written by the GNOME translation teams, each with its page id) and
its 60 hand-written out-of-scope questions (offtopic.jsonl). Output: bench/data/question_pairs/{dev,test}.jsonl
and README.md (rules and counts). A pair from dev questions goes to dev, from test questions to test; the
help-centre split is by page, so no page is in both. The out-of-scope questions have no split of their own: each
goes to dev or test by a stable hash of its id, and is only paired within its split.

Labels (`same`): true when both questions are about the same page (the same need), either in two languages or
one the title and the other the description; false for two different pages. Never labelled, in either
direction: pages with the same name in two sources (the boilerplate pages applications share: "develop",
"bug-filing", "translate", "introduction", ... ask the same thing of different applications) and the page pairs
in AMBIGUOUS, found by reading the pairs (their questions ask the same thing in other words).

Pairs picked per page, each by the smallest stable hash (sha256) among its candidates, so the output is the same
byte for byte on every run:
  - positives: POSITIVES_CROSS pairs of two languages, and POSITIVES_SAME pairs of one language (the title and the
    description), no question used more than twice;
  - hard negatives, "section": a different page of the same application (page id prefix "evince/...") or, in the
    GNOME user help, of the same section (first dash-separated word: "printing-...", "net-...");
  - hard negatives, "words": a page of another section whose question shares a word with this one (letters only,
    three or more, case-folded, a word in more than COMMON_WORD_SHARE of the split's pages left out as a stop
    word); across languages that is a name or a borrowed word ("PDF", "Bluetooth", "VPN");
  - easy negatives: a page of another section sharing no such word;
  each negative category gives NEGATIVES_CROSS[category] two-language pairs and NEGATIVES_SAME[category]
  one-language pairs per page, each with a different other page.
Out-of-scope questions: read one by one, they are 60 different questions, not translations of each other (no
two ask the same thing: "a visa for Canada", "for Japan", "for the United States"), so none is a positive. They are
given one of 8 topics by hand (OFFTOPIC_TOPICS) and paired within their split: every two of the same topic as a
hard negative (related, not the same need), OFFTOPIC_OTHER_TOPIC others as easy negatives, and each with
OFFTOPIC_HELP help-centre questions (one in its language, one in another) as easy negatives.

Rows: {"a", "a_lang", "b", "b_lang", "same", "a_page", "b_page", "kind": "cross-language"|"same-language",
"negative": "hard"|"easy"|null}; the out-of-scope questions' page is "offtopic/<topic>/<number>".
Run: python bench/question_pairs.py
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "bench" / "data" / "helpcentre"
TARGET = ROOT / "bench" / "data" / "question_pairs"
SPLITS = ("dev", "test")

POSITIVES_CROSS = 4  # per page
POSITIVES_SAME = 1
NEGATIVES_CROSS = {"section": 3, "words": 2, "easy": 2}  # per page
NEGATIVES_SAME = {"section": 1, "words": 1, "easy": 1}
MAX_USES_IN_POSITIVES = 2  # of one question, within its page's positives
COMMON_WORD_SHARE = 0.05  # a word in more of a split's pages than this is a stop word for "shares a word"
OFFTOPIC_OTHER_TOPIC = 2  # easy negatives per out-of-scope question, with another topic
OFFTOPIC_HELP = 2  # easy negatives per out-of-scope question, with a help-centre question
WORD = re.compile(r"[^\W\d_]{3,}")

# Page pairs whose questions ask the same thing in other words, found by reading the 50 page pairs of each split
# whose English questions share the most words and the 70 negatives of each split that the default model scored
# highest (bench/grouping.py): never labelled.
AMBIGUOUS: frozenset[frozenset[str]] = frozenset(
    frozenset(pair)
    for pair in (
        ("evince/print-2sided", "printing-2sided"),  # two-sided printing, in the viewer and on the desktop
        ("gedit/gedit-printing-order", "printing-order"),  # print pages in another order
        ("gedit/gedit-printing-select", "printing-select"),  # print only certain pages
        ("evince/convertSVG", "printing-to-file"),  # "convert to SVG by printing to a file" / "print to a file"
        ("evince/convertPostScript", "printing-to-file"),  # convert to PostScript / print to a PostScript file
        ("baobab/question-trash", "files-delete"),  # "How do I delete a folder?" / "Delete files and folders"
        ("mouse-touchpad-click", "touchscreen-gestures"),  # gestures on the touchpad
        ("gedit/gedit-open-files-from-sidepane", "gedit/gedit-plugins-file-browser"),  # open files from the side panel
        ("bluetooth-connect-device", "bluetooth-device-specific-pairing"),  # pair a Bluetooth device
        ("nautilus-display", "nautilus-views"),  # "display preferences" / "views preferences" of the file manager
    )
)
# Families of pages asking one question with a different number or printer: no pair within one is labelled.
FAMILIES = {
    "booklet": re.compile(r"booklet|^evince/(duplex|singlesided)-"),  # "Print a 13 page booklet" / "a 14 page ..."
}

# Topic of each out-of-scope question (by id), read one by one. No two are the same question.
OFFTOPIC_TOPICS = {
    "hc-oos-en01": "cooking",  # boil an egg
    "hc-oos-en02": "tax",  # capital gains tax, second home
    "hc-oos-en03": "sports",  # Tour de France 1998
    "hc-oos-en04": "medicine",  # type 2 diabetes symptoms
    "hc-oos-en05": "gardening",  # watering tomatoes
    "hc-oos-en06": "tax",  # home office deduction
    "hc-oos-en07": "sports",  # rugby union team size
    "hc-oos-en08": "medicine",  # ibuprofen dose
    "hc-oos-en09": "travel",  # work visa for Canada
    "hc-oos-en10": "pets",  # puppy biting
    "hc-oos-de01": "cooking",  # sourdough bread baking time
    "hc-oos-de02": "tax",  # income tax return deadline
    "hc-oos-de03": "sports",  # 2014 football world cup
    "hc-oos-de04": "medicine",  # migraine without drugs
    "hc-oos-de05": "gardening",  # pruning roses
    "hc-oos-de06": "tax",  # inheritance tax for siblings
    "hc-oos-de07": "sports",  # ice hockey offside
    "hc-oos-de08": "travel",  # vaccinations for Thailand
    "hc-oos-de09": "law",  # giving notice on a rental
    "hc-oos-de10": "pets",  # exercise for a border collie
    "hc-oos-es01": "cooking",  # paella rice
    "hc-oos-es02": "tax",  # self-employed deductions
    "hc-oos-es03": "sports",  # Real Madrid European Cups
    "hc-oos-es04": "medicine",  # food poisoning symptoms
    "hc-oos-es05": "gardening",  # planting tulip bulbs
    "hc-oos-es06": "travel",  # renewing a passport
    "hc-oos-es07": "medicine",  # cold or flu
    "hc-oos-es08": "law",  # unfair dismissal compensation
    "hc-oos-es09": "travel",  # Camino de Santiago length
    "hc-oos-es10": "pets",  # tortoise food
    "hc-oos-fr01": "cooking",  # boeuf bourguignon
    "hc-oos-fr02": "tax",  # rental income
    "hc-oos-fr03": "sports",  # Roland-Garros 2005
    "hc-oos-fr04": "medicine",  # tonsillitis signs
    "hc-oos-fr05": "gardening",  # pruning fruit trees
    "hc-oos-fr06": "law",  # maternity leave length
    "hc-oos-fr07": "sports",  # handball team size
    "hc-oos-fr08": "travel",  # visa for Japan
    "hc-oos-fr09": "cooking",  # brioche dough
    "hc-oos-fr10": "pets",  # vaccinating a kitten
    "hc-oos-it01": "cooking",  # ragù
    "hc-oos-it02": "tax",  # IMU instalment
    "hc-oos-it03": "sports",  # Italy's world cups
    "hc-oos-it04": "medicine",  # stomach flu symptoms
    "hc-oos-it05": "gardening",  # pruning an olive tree
    "hc-oos-it06": "law",  # severance pay (TFR)
    "hc-oos-it07": "sports",  # volleyball match length
    "hc-oos-it08": "law",  # documents for a civil wedding
    "hc-oos-it09": "cooking",  # wine with pizza
    "hc-oos-it10": "pets",  # dog vet visits
    "hc-oos-pl01": "cooking",  # bigos
    "hc-oos-pl02": "tax",  # PIT-37 deadline
    "hc-oos-pl03": "sports",  # ski jumping world cup 2019
    "hc-oos-pl04": "medicine",  # Lyme disease symptoms
    "hc-oos-pl05": "gardening",  # planting potatoes
    "hc-oos-pl06": "law",  # maternity benefit
    "hc-oos-pl07": "sports",  # beach volleyball rules
    "hc-oos-pl08": "cooking",  # pierogi dough
    "hc-oos-pl09": "travel",  # visa for the United States
    "hc-oos-pl10": "pets",  # litter-training a cat
}


def stable_hash(*parts: str) -> int:
    """A hash that is the same on every machine and Python run (unlike hash())."""
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()[:8], "big")


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    lang: str
    page: str
    section: str  # "evince", "printing", "offtopic/cooking", ...


@dataclass(frozen=True)
class Pair:
    a: Question
    b: Question
    same: bool
    category: str  # positive, section, words, easy, offtopic-topic, offtopic-other, offtopic-help

    @property
    def kind(self) -> str:
        return "cross-language" if self.a.lang != self.b.lang else "same-language"

    @property
    def negative(self) -> str | None:
        if self.same:
            return None
        return "hard" if self.category in ("section", "words", "offtopic-topic") else "easy"

    def row(self) -> dict[str, object]:
        return {
            "a": self.a.text,
            "a_lang": self.a.lang,
            "b": self.b.text,
            "b_lang": self.b.lang,
            "same": self.same,
            "a_page": self.a.page,
            "b_page": self.b.page,
            "kind": self.kind,
            "negative": self.negative,
        }


def section_of(page: str) -> str:
    """An application's pages are one section; the GNOME user help's by the first word of the page id."""
    return page.split("/", 1)[0] if "/" in page else page.split("-", 1)[0]


def unlabelled(a: str, b: str) -> bool:
    """Whether two different pages may ask the same thing: the same page name in two sources (the boilerplate
    pages applications share), a pair in AMBIGUOUS, or two pages of one of the FAMILIES."""
    if a.rsplit("/", 1)[-1] == b.rsplit("/", 1)[-1] or frozenset((a, b)) in AMBIGUOUS:
        return True
    return any(family.search(a) and family.search(b) for family in FAMILIES.values())


def read_questions(split: str) -> list[Question]:
    rows = [json.loads(line) for line in (SOURCE / f"{split}.jsonl").read_text(encoding="utf-8").splitlines() if line]
    return [Question(r["id"], r["question"], r["lang"], r["page"], section_of(r["page"])) for r in rows]


def read_offtopic() -> dict[str, list[Question]]:
    """The out-of-scope questions by split (a stable hash of the id)."""
    rows = [json.loads(line) for line in (SOURCE / "offtopic.jsonl").read_text(encoding="utf-8").splitlines() if line]
    if sorted(r["id"] for r in rows) != sorted(OFFTOPIC_TOPICS):
        raise SystemExit("offtopic.jsonl changed: give every question a topic in OFFTOPIC_TOPICS")
    out: dict[str, list[Question]] = {split: [] for split in SPLITS}
    for r in rows:
        topic = OFFTOPIC_TOPICS[r["id"]]
        page = f"offtopic/{topic}/{r['id'].removeprefix('hc-oos-')}"
        out[SPLITS[stable_hash("offtopic-split", r["id"]) % 2]].append(
            Question(r["id"], r["question"], r["lang"], page, f"offtopic/{topic}")
        )
    return out


def ordered(a: Question, b: Question, same: bool, category: str) -> Pair:
    """The pair with a stable but mixed order of its two questions (not always the lower language first)."""
    first, second = sorted((a, b), key=lambda q: q.id)
    if stable_hash("order", first.id, second.id) % 2:
        first, second = second, first
    return Pair(first, second, same, category)


def key(a: Question, b: Question) -> tuple[str, str]:
    return (a.id, b.id) if a.id < b.id else (b.id, a.id)


class Picker:
    """Pairs of one split; every unordered question pair at most once."""

    def __init__(self, questions: list[Question]) -> None:
        self.questions = questions
        self.by_page: dict[str, list[Question]] = defaultdict(list)
        for q in questions:
            self.by_page[q.page].append(q)
        self.pages = sorted(self.by_page)
        self.words = self._content_words(questions)
        self.used: set[tuple[str, str]] = set()
        self.pairs: list[Pair] = []

    def _content_words(self, questions: list[Question]) -> dict[str, frozenset[str]]:
        words = {q.id: frozenset(WORD.findall(q.text.casefold())) for q in questions}
        pages_with: dict[str, set[str]] = defaultdict(set)
        for q in questions:
            for w in words[q.id]:
                pages_with[w].add(q.page)
        common = {w for w, pages in pages_with.items() if len(pages) > COMMON_WORD_SHARE * len(self.by_page)}
        return {qid: ws - common for qid, ws in words.items()}

    def add(self, a: Question, b: Question, same: bool, category: str) -> None:
        self.used.add(key(a, b))
        self.pairs.append(ordered(a, b, same, category))

    def positives(self) -> None:
        for page in self.pages:
            qs = self.by_page[page]
            for cross, wanted in ((True, POSITIVES_CROSS), (False, POSITIVES_SAME)):
                candidates = sorted(
                    (stable_hash("positive", *key(a, b)), a, b)
                    for a, b in combinations(qs, 2)
                    if (a.lang != b.lang) == cross
                )
                uses: Counter[str] = Counter(p.a.id for p in self.pairs if p.a.page == page)
                uses.update(p.b.id for p in self.pairs if p.b.page == page)
                taken = 0
                for _, a, b in candidates:
                    if taken == wanted:
                        break
                    if max(uses[a.id], uses[b.id]) >= MAX_USES_IN_POSITIVES:
                        continue
                    uses.update((a.id, b.id))
                    self.add(a, b, True, "positive")
                    taken += 1

    def negatives(self, category: str) -> None:
        for page in self.pages:
            mine = self.by_page[page]
            partners = sorted(
                (stable_hash(category, page, other), other)
                for other in self.pages
                if other != page and self._partner(category, mine[0], self.by_page[other][0])
            )
            for cross, wanted in ((True, NEGATIVES_CROSS[category]), (False, NEGATIVES_SAME[category])):
                taken = 0
                for _, other in partners:
                    if taken == wanted:
                        break
                    pair = self._question_pair(category, mine, self.by_page[other], cross)
                    if pair is not None:
                        self.add(*pair, False, category)
                        taken += 1

    def _partner(self, category: str, a: Question, b: Question) -> bool:
        """Whether two pages (one question of each) may give a negative of this category."""
        if unlabelled(a.page, b.page):
            return False
        return (a.section == b.section) == (category == "section")

    def _question_pair(
        self, category: str, mine: list[Question], theirs: list[Question], cross: bool
    ) -> tuple[Question, Question] | None:
        best: tuple[int, Question, Question] | None = None
        for a in mine:
            for b in theirs:
                if (a.lang != b.lang) != cross or key(a, b) in self.used:
                    continue
                shared = bool(self.words[a.id] & self.words[b.id])
                if (category == "words" and not shared) or (category == "easy" and shared):
                    continue
                h = stable_hash(category, *key(a, b))
                if best is None or h < best[0]:
                    best = (h, a, b)
        return None if best is None else (best[1], best[2])

    def offtopic(self, offtopic: list[Question]) -> None:
        for a, b in combinations(offtopic, 2):
            if a.section == b.section:
                self.add(a, b, False, "offtopic-topic")
        for a in offtopic:
            others = sorted(
                (stable_hash("offtopic-other", *key(a, b)), b)
                for b in offtopic
                if b.section != a.section and key(a, b) not in self.used
            )
            for _, b in others[:OFFTOPIC_OTHER_TOPIC]:
                self.add(a, b, False, "offtopic-other")
            for same_lang in (True, False)[:OFFTOPIC_HELP]:
                help_q = min(
                    (q for q in self.questions if (q.lang == a.lang) == same_lang),
                    key=lambda q: stable_hash("offtopic-help", a.id, q.id),
                )
                self.add(a, help_q, False, "offtopic-help")


def build(split: str, offtopic: list[Question]) -> list[Pair]:
    picker = Picker(read_questions(split))
    picker.positives()
    for category in NEGATIVES_CROSS:
        picker.negatives(category)
    picker.offtopic(offtopic)
    return sorted(picker.pairs, key=lambda p: stable_hash("row", *key(p.a, p.b)))


def write_jsonl(path: Path, pairs: list[Pair]) -> None:
    path.write_text(
        "".join(json.dumps(p.row(), ensure_ascii=False) + "\n" for p in pairs),
        encoding="utf-8",
    )


def table(header: list[str], rows: Iterable[list[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def label(p: Pair) -> str:
    return "positive" if p.same else f"{p.negative} negative"


CATEGORY_NAMES = {
    "positive": "same page (positive)",
    "section": "hard: another page of the same application / section",
    "words": "hard: a page of another section sharing a word",
    "easy": "easy: a page of another section, no shared word",
    "offtopic-topic": "hard: two out-of-scope questions of one topic",
    "offtopic-other": "easy: two out-of-scope questions of different topics",
    "offtopic-help": "easy: an out-of-scope question and a help-centre question",
}


def readme(by_split: dict[str, list[Pair]], offtopic: dict[str, list[Question]]) -> str:
    labels = ["positive", "hard negative", "easy negative"]
    kinds = ["cross-language", "same-language"]
    counts = table(
        ["split", "kind", *labels, "total"],
        (
            [split, kind, *(sum(1 for p in pairs if p.kind == kind and label(p) == lab) for lab in labels), total]
            for split, pairs in by_split.items()
            for kind in kinds
            if (total := sum(1 for p in pairs if p.kind == kind))
        ),
    )
    totals = table(
        ["split", *labels, "total", "questions", "pages"],
        (
            [
                split,
                *(sum(1 for p in pairs if label(p) == lab) for lab in labels),
                len(pairs),
                len({q.id for p in pairs for q in (p.a, p.b)}),
                len({q.page for p in pairs for q in (p.a, p.b) if not q.page.startswith("offtopic/")}),
            ]
            for split, pairs in by_split.items()
        ),
    )
    categories = table(
        ["category", *SPLITS],
        (
            [name, *(sum(1 for p in by_split[s] if p.category == cat) for s in SPLITS)]
            for cat, name in CATEGORY_NAMES.items()
        ),
    )
    lang_pairs = Counter(tuple(sorted((p.a.lang, p.b.lang))) for pairs in by_split.values() for p in pairs)
    languages = ", ".join(f"{a}-{b} {n}" for (a, b), n in sorted(lang_pairs.items()))
    topics = Counter(q.section.split("/")[1] for qs in offtopic.values() for q in qs)
    return f"""# Question pairs: grouping questions by meaning across languages

Labelled pairs of questions, `same` or not, to measure whether the content-gap report groups the questions
people asked "by meaning across languages" (issue 35): precision and recall of "same" at a cosine threshold,
set on dev and reported on test (`bench/grouping.py`). Generated by `bench/question_pairs.py` (its docstring has
every rule); do not edit `dev.jsonl` or `test.jsonl` by hand.

## Provenance and licence

The questions are those of `bench/data/helpcentre/` (see its README): the titles and one-line descriptions
(Mallard `<title>` and `<info><desc>`) of the GNOME desktop user help and the help of 7 GNOME applications
(baobab, eog, evince, file-roller, gedit, gnome-calculator, gnome-terminal) in English, German, Spanish,
French, Italian and Polish, as the GNOME translation teams wrote them, from the Debian packages listed there.
Licence of the text as there: CC-BY-SA 3.0 (GNOME Documentation Project; gnome-terminal's CC-BY-SA 3.0 Unported
or GPL-3 at the user's choice; gedit's pages state none, its package's Debian copyright file says GPL-2).
The 60 out-of-scope questions (`offtopic.jsonl`) were written by the team. The pairing and the labels are the
team's, made by the rules below.

## Files

`dev.jsonl`, `test.jsonl`: one pair a line,
`{{"a", "a_lang", "b", "b_lang", "same", "a_page", "b_page", "kind", "negative"}}`: the two questions and
their languages; `same` the label; the page id of each (`<page>` for the GNOME user help, `<app>/<page>` for
an application's, `offtopic/<topic>/<number>` for an out-of-scope question); `kind` `cross-language` or
`same-language`; `negative` `hard`, `easy`, or null for a positive. Tune on dev, report test.

## Labelling rules

- **Split kept.** The help-centre questions are split by page; a pair is made only of two questions of one
  split and lands in that split. The out-of-scope questions go to dev or test by a stable hash of their id.
- **Same (positive):** two questions about the same page, the same need: the page's title or description in
  two languages, or its title and its description in one language.
- **Not same (negative):** two questions about two different pages.
  - *hard*: another page of the same application (page id prefix, `evince/...`) or of the same section of the
    GNOME user help (first dash-separated word of the page id: `printing-...`, `net-...`); or a page of another
    section whose question shares a word with this one (three or more letters, case-folded; a word in more than
    {COMMON_WORD_SHARE:.0%} of the split's pages does not count); across languages the shared word is a name or a
    borrowed word (PDF, Bluetooth, VPN);
  - *easy*: a page of another section, sharing no such word.
- **Never labelled** (neither same nor not), because "different page" would not mean "different need":
  - two pages with the same name in two sources (`eog/develop` and `evince/develop`, `evince/translate` and
    `translate`, `baobab/introduction` and `file-roller/introduction`): the boilerplate pages applications share
    ask the same thing of different applications ("Bei der Entwicklung helfen", "Unterstützen Sie uns bei der
    Entwicklung");
  - {len(AMBIGUOUS)} page pairs that ask the same thing in other words (the generator's `AMBIGUOUS`, each with
    its reason: `evince/print-2sided` and `printing-2sided`, `gedit/gedit-printing-select` and
    `printing-select`, `nautilus-display` and `nautilus-views`, ...), found by reading the 50 page pairs of each
    split whose English questions share the most words and the 70 negatives of each split that the default model
    scored highest;
  - two booklet pages (`FAMILIES`: `printing-booklet*`, `evince/duplex-*`, `evince/singlesided-*`): "Print a 13
    page booklet" and "Print a 14 page booklet" differ by a number only.
- **Out-of-scope questions:** read one by one, the 60 questions of `offtopic.jsonl` (10 per language) are 60
  different questions, not translations of each other: the languages share topics, never a question (a work
  visa for Canada, a visa for Japan, a visa for the United States). So none is a positive. Each was given one of
  8 topics by hand (the generator's `OFFTOPIC_TOPICS`); two of one topic are a hard negative (related, not the
  same need), two of different topics, or one and a help-centre question, an easy negative. Questions by topic:
  {", ".join(f"{t} {n}" for t, n in sorted(topics.items()))}; by split: {
        ", ".join(f"{split} {len(qs)}" for split, qs in offtopic.items())
    }.
- Per page: {POSITIVES_CROSS} two-language and {POSITIVES_SAME} one-language positive; per negative category (same
  section / shared word / easy) {"/".join(str(NEGATIVES_CROSS[c]) for c in NEGATIVES_CROSS)} two-language and \
{"/".join(str(NEGATIVES_SAME[c]) for c in NEGATIVES_SAME)} one-language pairs, each with a different page;
  each picked by the smallest stable hash (sha256) among its candidates, no question pair twice. The output is the
  same byte for byte on every run.

## Counts

{totals}

By kind:

{counts}

By how the pair was picked:

{categories}

Language pairs (both splits): {languages}.

## How to run

```
python bench/question_pairs.py
python bench/grouping.py bench/data/question_pairs/dev.jsonl --test bench/data/question_pairs/test.jsonl
```

`results-multilingual-e5-small.txt`: its output with the default model, saved from one run (not written by the
generator).
"""


def main() -> None:
    TARGET.mkdir(parents=True, exist_ok=True)
    offtopic = read_offtopic()
    by_split = {split: build(split, offtopic[split]) for split in SPLITS}
    dev_pages = {q.page for p in by_split["dev"] for q in (p.a, p.b)}
    test_pages = {q.page for p in by_split["test"] for q in (p.a, p.b)}
    assert not dev_pages & test_pages, "a page in both splits"
    for split, pairs in by_split.items():
        write_jsonl(TARGET / f"{split}.jsonl", pairs)
        print(f"{split}: {len(pairs)} pairs, {Counter(label(p) for p in pairs)}, {Counter(p.kind for p in pairs)}")
    (TARGET / "README.md").write_text(readme(by_split, offtopic), encoding="utf-8")


if __name__ == "__main__":
    main()
