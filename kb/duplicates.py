"""Passages that repeat each other within a language, and sentences on one topic whose numbers differ."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .boilerplate import is_boilerplate
from .index import Index
from .principles import MIN_STATEMENT_WORDS, _debiased

# Thresholds are cosines of debiased vectors (kb/principles.py `_debiased`: the language's mean taken off,
# which spreads cosines out), chosen on `python bench/duplicates.py --seed 1` (the 441-article mixed GNOME
# help centre with 20 copied paragraphs, 20 sentences copied with a changed number, 9 topics written in two
# articles with different values, 144 control pairs of different topics) and confirmed with --seed 2.
# Near-duplicates: all 20 copies at 0.80-0.92, 18 at 0.94; 0.90 keeps a margin (others found: 77-79, each
# a passage repeated word for word or nearly, eog's plug-in pages, evince's duplex pages). Same topic: 0.75
# is the lowest cosine with no control pair found on either seed (0.70: one on seed 1); written topics 8/9
# on both (the miss: a pair in two languages). Words: the copies with a changed number sit at cosine
# 0.57-0.92 but overlap 1.0; 0.5 keeps 19/20 on seed 2 (0.4: 20/20) and adds no other finding.
NEAR_DUPLICATE = 0.90  # two passages of one language this close say nearly the same thing
SAME_TOPIC = 0.75  # two sentences (any languages) this close speak of the same thing ...
SAME_WORDS = 0.5  # ... and so do two of one language sharing this share of their words (Jaccard) ...
WORDS_FLOOR = 0.5  # ... at this cosine at least
MIN_PASSAGE_WORDS = 8  # a shorter passage (a heading, a one-line step) repeating is not an article repeating
BLOCK = 2048  # rows of a tile of the blocked cosine product: a tile is BLOCK² float32 (16 MB)


@dataclass(frozen=True)
class Place:
    """A span of an article's body (`document.body[start:end] == quote`): where a link opens it."""

    doc_id: str
    title: str
    lang: str
    start: int
    end: int
    quote: str


@dataclass(frozen=True)
class NearDuplicate:
    """Two passages of two different works, in one language, that say nearly the same thing."""

    lang: str
    a: Place
    b: Place
    similarity: float


@dataclass(frozen=True)
class Contradiction:
    """Two sentences of two different works on the same topic whose numbers (or weekdays, months) differ."""

    a: Place
    b: Place
    similarity: float
    a_says: tuple[str, ...]  # what `a` says that `b` does not, of a kind both speak of ("30 días")
    b_says: tuple[str, ...]  # ... and what `b` says instead ("14 dni")


def near_duplicates(index: Index, threshold: float = NEAR_DUPLICATE) -> list[NearDuplicate]:
    """Pairs of passages in the same language, from different works (an article and its translations
    are one work), at cosine ≥ `threshold` (debiased passage vectors), most similar first.

    Passages of fewer than MIN_PASSAGE_WORDS words and boilerplate passages (kb/boilerplate.py) take
    no part. Cost: per language, a blocked product of its n passage vectors with themselves (n²/2
    dot products of 384 dimensions in BLOCK × BLOCK tiles; memory O(BLOCK²), never n × n). On 2 cores:
    0.1 s for the 441-article help centre (1,936 passages), 1.9-2.9 s for 16,600 passages of one language
    (about 10,000 articles' worth; bench/duplicates.py).
    """
    rows = np.array([r for r in range(len(index)) if _passage(index, r)], dtype=np.int64)
    if len(rows) < 2:
        return []
    langs = np.array([index.lang_of(r) for r in rows.tolist()])
    works = _work_ids(index, [index.doc_id_of(r) for r in rows.tolist()])
    found: list[NearDuplicate] = []
    for lang in sorted(set(langs.tolist())):
        mine = rows[langs == lang]
        vectors = _debiased(index, index.chunk_vectors(mine), [lang] * len(mine))
        for i, j, sim in _close_pairs(vectors, works[langs == lang], threshold):
            a, b = index.chunk(int(mine[i])), index.chunk(int(mine[j]))
            found.append(
                NearDuplicate(
                    lang, _place(index, a.doc_id, a.start, a.end), _place(index, b.doc_id, b.start, b.end), sim
                )
            )
    found.sort(key=lambda d: (-d.similarity, d.a.doc_id, d.a.start, d.b.doc_id, d.b.start))
    return found


def contradictions(index: Index, threshold: float = SAME_TOPIC, words: float = SAME_WORDS) -> list[Contradiction]:
    """Pairs of sentences from different works on the same topic that state different values of one
    kind of quantity: numbers with the same unit ("30 días" / "14 dni": units are compared across
    languages by a small lexicon, other unit words within one language) or weekday and month names.

    Same topic: cosine ≥ `threshold` (debiased sentence vectors, any languages), or, in one language,
    a word overlap ≥ `words` (Jaccard of the sentences' words, numbers left out) at cosine ≥
    WORDS_FLOOR: a sentence's vector is read with its passage (late chunking), so one sentence copied
    into another article can sit at cosine 0.57 to its original. Within a pair of passages each
    sentence is paired once (the closest in words first). `similarity` is the larger of the cosine
    and the overlap; most similar first.

    Only sentences of at least MIN_STATEMENT_WORDS words that state such a value and are not
    boilerplate take part (on a help centre about one in eight). Cost: one pass over the chunks'
    text, then a blocked product of those sentences' vectors (as `near_duplicates`).
    """
    sentence_rows, spans, facts, langs, texts = [], [], [], [], []
    owned = index.sentences_of(np.arange(len(index), dtype=np.int64))
    at = 0
    for row in range(len(index)):
        chunk = index.chunk(row)
        mine = owned.rows[at : at + len(chunk.sentences)]
        at += len(chunk.sentences)
        for sentence_row, span in zip(mine.tolist(), chunk.sentences, strict=True):
            text = chunk.text_at(span)
            if len(text.split()) < MIN_STATEMENT_WORDS or is_boilerplate(text):
                continue
            said = _facts(text, chunk.lang)
            if said:
                sentence_rows.append(sentence_row)
                spans.append((chunk.doc_id, span))
                facts.append(said)
                langs.append(chunk.lang)
                texts.append(text)
    if len(sentence_rows) < 2:
        return []
    vectors = _debiased(index, index.sentence_vectors(np.array(sentence_rows)), langs)
    works = _work_ids(index, [doc_id for doc_id, _ in spans])
    chunk_of = index.sentence_chunk(np.array(sentence_rows)).tolist()
    candidates = []
    for i, j, cosine in _close_pairs(vectors, works, min(threshold, WORDS_FLOOR)):
        overlap = _overlap(texts[i], texts[j]) if langs[i] == langs[j] else 0.0
        if cosine < threshold and overlap < words:
            continue
        a_says, b_says = _differences(facts[i], facts[j])
        if a_says and b_says:
            candidates.append((overlap, cosine, i, j, a_says, b_says))
    candidates.sort(key=lambda c: (-c[0], -c[1], c[2], c[3]))
    paired: set[tuple[int, int]] = set()  # (sentence, chunk of the other): each sentence paired once per passage pair
    found = []
    for overlap, cosine, i, j, a_says, b_says in candidates:
        if (i, chunk_of[j]) in paired or (j, chunk_of[i]) in paired:
            continue
        paired |= {(i, chunk_of[j]), (j, chunk_of[i])}
        (doc_a, (sa, ea)), (doc_b, (sb, eb)) = spans[i], spans[j]
        a, b = _place(index, doc_a, sa, ea), _place(index, doc_b, sb, eb)
        found.append(Contradiction(a, b, round(max(cosine, overlap), 4), a_says, b_says))
    found.sort(key=lambda c: (-c.similarity, c.a.doc_id, c.a.start, c.b.doc_id, c.b.start))
    return found


def _overlap(a: str, b: str) -> float:
    """Jaccard overlap of two sentences' words (lower case, numbers left out)."""
    wa, wb = set(_WORD.findall(a.lower())), set(_WORD.findall(b.lower()))
    return len(wa & wb) / max(len(wa | wb), 1)


# -- similar pairs -----------------------------------------------------------------------------------


def _close_pairs(vectors: np.ndarray, groups: np.ndarray, threshold: float) -> Iterator[tuple[int, int, float]]:
    """(i, j, cosine) for i < j with cosine ≥ threshold and groups[i] != groups[j] (unit-length rows),
    computed a BLOCK × BLOCK tile at a time over the upper triangle."""
    n = len(vectors)
    for s in range(0, n, BLOCK):
        left = vectors[s : s + BLOCK]
        for t in range(s, n, BLOCK):
            sims = left @ vectors[t : t + BLOCK].T
            ii, jj = np.nonzero(sims >= threshold)
            i, j = ii + s, jj + t
            keep = (i < j) & (groups[i] != groups[j])
            for a, b, v in zip(i[keep].tolist(), j[keep].tolist(), sims[ii[keep], jj[keep]].tolist(), strict=True):
                yield a, b, round(float(v), 4)


def _work_ids(index: Index, doc_ids: list[str]) -> np.ndarray:
    """The work of each document as a number (equal numbers: one work)."""
    names: dict[str, int] = {}
    return np.array([names.setdefault(index.work(d), len(names)) for d in doc_ids], dtype=np.int64)


def _passage(index: Index, row: int) -> bool:
    chunk = index.chunk(row)
    return len(chunk.text.split()) >= MIN_PASSAGE_WORDS and not is_boilerplate(chunk.text)


def _place(index: Index, doc_id: str, start: int, end: int) -> Place:
    doc = index.document(doc_id)
    return Place(doc_id, doc.title, doc.lang, start, end, doc.body[start:end])


# -- what a sentence states --------------------------------------------------------------------------

# Unit words (lower case) of the corpus languages and English and German, by the quantity they measure;
# a number followed by one of these compares with a number of the same quantity in any language.
_UNITS = {
    "day": "día días dia dias jour jours giorno giorni gg dzień dzien dni dnia day days tag tage tagen",
    "week": "semana semanas semaine semaines settimana settimane tydzień tygodnie tygodni tygodnia week weeks "
    "woche wochen",
    "month": "mes meses mois mese mesi miesiąc miesiące miesięcy miesiąca month months monat monate monaten",
    "year": "año años an ans année années anno anni rok lata lat roku year years jahr jahre jahren",
    "hour": "h hora horas heure heures ora ore godzina godziny godzin godz hour hours hr hrs stunde stunden std",
    "minute": "min minuto minutos minute minutes minuti minuta minuty minut minuten mins",
    "second": "s seg segundo segundos seconde secondes sec secondo secondi sekunda sekundy sekund sek second "
    "seconds sekunde sekunden",
    "percent": "% procent procentów procenty percent prozent",
    "euro": "€ euro euros eur",
    "dollar": "$ dólar dólares dolar dolares dollar dollars dollari usd",
    "zloty": "zł zl złoty złotych złote pln",
    "pound": "£ gbp",
    "times": "vez veces fois volta volte raz razy times mal",
    "pixel": "px píxel píxeles pixel pixels pixeles piksel pikseli piksele",
}
_UNIT = {word: kind for kind, words in _UNITS.items() for word in words.split()}
# Weekday and month names (lower case; Polish with its common cases), by their number; English "may"
# and "march" are left out (a verb more often than a month).
_WEEKDAYS = (
    "lunes lundi lunedì lunedi poniedziałek poniedziałku monday montag",
    "martes mardi martedì martedi wtorek wtorku tuesday dienstag",
    "miércoles miercoles mercredi mercoledì mercoledi środa środy środę środzie wednesday mittwoch",
    "jueves jeudi giovedì giovedi czwartek czwartku thursday donnerstag",
    "viernes vendredi venerdì venerdi piątek piątku friday freitag",
    "sábado sabado samedi sabato sobota soboty sobotę sobocie saturday samstag sonnabend",
    "domingo dimanche domenica niedziela niedzieli niedzielę sunday sonntag",
)
_MONTHS = (
    "enero janvier gennaio styczeń stycznia january januar",
    "febrero février febbraio luty lutego february februar",
    "marzo mars marzec marca märz",
    "abril avril aprile kwiecień kwietnia april",
    "mayo mai maggio maj maja",
    "junio juin giugno czerwiec czerwca june juni",
    "julio juillet luglio lipiec lipca july juli",
    "agosto août sierpień sierpnia august",
    "septiembre setiembre septembre settembre wrzesień września september",
    "octubre octobre ottobre październik października october oktober",
    "noviembre novembre listopad listopada november",
    "diciembre décembre dicembre grudzień grudnia december dezember",
)
_NAMES = {
    word: (kind, str(n))
    for kind, table in (("weekday", _WEEKDAYS), ("month", _MONTHS))
    for n, words in enumerate(table)
    for word in words.split()
}
_NUMBER = r"(?<![\w.,:+\-/])(\d+(?:[.,:]\d+)*)"  # not part of a word, a shortcut (Ctrl+1) or a path
_QUANTITY = re.compile(rf"([€$£])\s?{_NUMBER}(?![\w.,:]?\d)|{_NUMBER}[\s\u00a0\u202f]?(%|€|\$|£|[^\W\d_]+)", re.UNICODE)
_WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
MIN_UNIT_LETTERS = 4  # a word after a number not in the lexicon is its unit only this long ("3 columnas", not "3 de")


@dataclass(frozen=True)
class _Fact:
    kind: str  # the quantity ("day"), "weekday", "month", or "<lang>:<word>" for a unit word outside the lexicon
    value: str  # the number, normalized ("2.5"), or the name's number
    said: str  # as written ("2,50 €", "viernes")


def _facts(sentence: str, lang: str) -> tuple[_Fact, ...]:
    """The numbers with a unit, and the weekday and month names, that a sentence states."""
    out = []
    for m in _QUANTITY.finditer(sentence):
        symbol, number = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
        unit = symbol.lower()
        kind = _UNIT.get(unit)
        if kind is None:
            if len(unit) < MIN_UNIT_LETTERS:
                continue
            kind = f"{lang}:{unit[:5]}"  # "archivo"/"archivos" alike; compared within one language only
        out.append(_Fact(kind, _value(number), m.group(0).strip()))
    for m in _WORD.finditer(sentence):
        named = _NAMES.get(m.group(0).lower())
        if named:
            out.append(_Fact(named[0], named[1], m.group(0)))
    return tuple(out)


def _value(number: str) -> str:
    """'2,50' and '2.5' alike; '18:00' and '1.000' as written."""
    if number.count(",") + number.count(".") == 1 and ":" not in number:
        whole, _, part = number.replace(",", ".").partition(".")
        if len(part) != 3:  # "1.000" is a thousand in es/fr/it/pl
            return f"{int(whole)}.{part}".rstrip("0").rstrip(".")
    return number


def _differences(a: tuple[_Fact, ...], b: tuple[_Fact, ...]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """What `a` states that `b` does not and what `b` states instead, of the kinds both state."""
    a_says: list[str] = []
    b_says: list[str] = []
    for kind in sorted({f.kind for f in a} & {f.kind for f in b}):
        va = {f.value for f in a if f.kind == kind}
        vb = {f.value for f in b if f.kind == kind}
        if va != vb:
            a_says += [f.said for f in a if f.kind == kind and f.value not in vb]
            b_says += [f.said for f in b if f.kind == kind and f.value not in va]
    return tuple(dict.fromkeys(a_says)), tuple(dict.fromkeys(b_says))
