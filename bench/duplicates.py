"""Near-duplicates and candidate contradictions (kb/duplicates.py) on planted cases in a public help corpus.

Usage: python bench/duplicates.py [--corpus DIR] [--seed 1] [--copies 20] [--sentences 20]

A copy of the corpus (default: the 441-article mixed GNOME help centre that bench/helpcentre.py
writes; bench/data/helpcentre/README.md) gets, with a fixed seed, each in an article of its own:
  - near-duplicates: --copies paragraphs (20-80 words) of one article copied into another article of
    the same language with three light edits (two words swapped, a word left out, a word repeated
    from elsewhere in the paragraph);
  - contradictions, copied: --sentences sentences of the corpus that state a number with its unit,
    copied into another article of the same language with the number changed;
  - contradictions, written: for each of 9 customer-service topics (returns, shipping time, account
    deletion, warranty, phone hours, shipping cost, discount, password link, opening days), one
    sentence in two articles with different values, in one language or in two (hand-written
    templates in es, fr, it, pl); sentences of two different topics are controls (same units, other
    topic: they must not be reported).
Then `kb rebuild --full` (a fresh process, in a temporary folder), both finders at a low threshold,
and per threshold: recall on the planted cases, findings between controls, other findings (the top
10 printed for a person to judge), and the time of each finder. Tune with one seed, confirm with
another.
"""

from __future__ import annotations

import argparse
import html
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import Settings  # noqa: E402
from kb.corpus import load_corpus  # noqa: E402
from kb.duplicates import (  # noqa: E402
    NEAR_DUPLICATE,
    SAME_TOPIC,
    SAME_WORDS,
    Contradiction,
    NearDuplicate,
    Place,
    _close_pairs,
    _facts,
    contradictions,
    near_duplicates,
)
from kb.index import Index  # noqa: E402
from kb.storage import open_store  # noqa: E402

DEFAULT_CORPUS = ROOT / "bench" / "results" / "helpcentre-mixed" / "corpus"
CONTENT = '<div class="contents pagewide">'
NEAR_SWEEP = (0.80, 0.84, 0.86, 0.88, 0.90, 0.92, 0.94, 0.96)
TOPIC_SWEEP = (0.60, 0.65, 0.70, 0.72, 0.75, 0.78, 0.80, 0.85)
WORDS_SWEEP = (0.3, 0.4, 0.6, 0.7, 1.01)  # 1.01: no word rule
LANGS = ("es", "fr", "it", "pl")

# topic -> values (two are drawn) and one template per language; {n} is the value (weekdays: per language)
TOPICS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "returns": (
        ("14", "30", "60"),
        {
            "es": "Las devoluciones se aceptan en un plazo de {n} días desde la entrega del pedido.",
            "fr": "Les retours sont acceptés dans un délai de {n} jours après la livraison de la commande.",
            "it": "I resi sono accettati entro {n} giorni dalla consegna dell'ordine.",
            "pl": "Zwroty przyjmujemy w ciągu {n} dni od dostarczenia zamówienia.",
        },
    ),
    "shipping": (
        ("2", "3", "5"),
        {
            "es": "El envío estándar tarda {n} días laborables en llegar a su domicilio.",
            "fr": "La livraison standard met {n} jours ouvrables pour arriver à votre domicile.",
            "it": "La spedizione standard impiega {n} giorni lavorativi per arrivare al vostro domicilio.",
            "pl": "Standardowa przesyłka dociera pod wskazany adres w ciągu {n} dni roboczych.",
        },
    ),
    "deletion": (
        ("7", "10", "90"),
        {
            "es": "Su cuenta se elimina definitivamente {n} días después de solicitar la baja.",
            "fr": "Votre compte est supprimé définitivement {n} jours après la demande de résiliation.",
            "it": "Il vostro account viene eliminato definitivamente {n} giorni dopo la richiesta di chiusura.",
            "pl": "Konto zostaje trwale usunięte {n} dni po złożeniu wniosku o jego zamknięcie.",
        },
    ),
    "warranty": (
        ("2", "3"),
        {
            "es": "Todos nuestros productos tienen una garantía de {n} años a partir de la fecha de compra.",
            "fr": "Tous nos produits bénéficient d'une garantie de {n} ans à compter de la date d'achat.",
            "it": "Tutti i nostri prodotti hanno una garanzia di {n} anni dalla data di acquisto.",
            "pl": "Wszystkie nasze produkty są objęte gwarancją na {n} lata od daty zakupu.",
        },
    ),
    "phone": (
        ("17", "18", "20"),
        {
            "es": "El servicio de atención al cliente atiende por teléfono de 9 h a {n} h.",
            "fr": "Le service client répond au téléphone de 9 h à {n} h.",
            "it": "Il servizio clienti risponde al telefono dalle 9 h alle {n} h.",
            "pl": "Biuro obsługi klienta odbiera telefony od 9 h do {n} h.",
        },
    ),
    "shipping-cost": (
        ("3", "4", "5"),
        {
            "es": "El envío cuesta {n} € para los pedidos de menos de 50 €.",
            "fr": "La livraison coûte {n} € pour les commandes de moins de 50 €.",
            "it": "La spedizione costa {n} € per gli ordini inferiori a 50 €.",
            "pl": "Wysyłka kosztuje {n} € przy zamówieniach poniżej 50 €.",
        },
    ),
    "discount": (
        ("5", "10", "15"),
        {
            "es": "Los miembros del programa de fidelidad tienen un descuento del {n} % en todas sus compras.",
            "fr": "Les membres du programme de fidélité ont une remise de {n} % sur tous leurs achats.",
            "it": "I membri del programma fedeltà hanno uno sconto del {n} % su tutti i loro acquisti.",
            "pl": "Członkowie programu lojalnościowego mają {n} % rabatu na wszystkie zakupy.",
        },
    ),
    "password-link": (
        ("2", "24", "48"),
        {
            "es": "El enlace para restablecer la contraseña caduca {n} horas después de enviarse.",
            "fr": "Le lien de réinitialisation du mot de passe expire {n} heures après son envoi.",
            "it": "Il link per reimpostare la password scade {n} ore dopo l'invio.",
            "pl": "Link do zresetowania hasła wygasa po upływie {n} godzin od wysłania.",
        },
    ),
    "opening-days": (
        ("fri", "sat"),
        {
            "es": "La tienda física abre de lunes a {n}, excepto los días festivos.",
            "fr": "Le magasin est ouvert du lundi au {n}, sauf les jours fériés.",
            "it": "Il negozio è aperto dal lunedì al {n}, esclusi i giorni festivi.",
            "pl": "Sklep stacjonarny jest czynny od poniedziałku do {n}, z wyjątkiem świąt.",
        },
    ),
}
DAY_NAMES = {
    "fri": {"es": "viernes", "fr": "vendredi", "it": "venerdì", "pl": "piątku"},
    "sat": {"es": "sábado", "fr": "samedi", "it": "sabato", "pl": "soboty"},
}


@dataclass
class Plant:
    """A planted text, where it came from, and where the bench put it (file, then doc id and body offsets)."""

    kind: str  # "copy" (near-duplicate), "number" (a corpus sentence, number changed), "topic:<name>"
    text: str  # as planted
    file: str  # the corpus file it went into
    source_file: str = ""  # for a copy or a changed number: the file the original is in
    source_text: str = ""
    value: str = ""
    doc_id: str = ""
    span: tuple[int, int] = (0, 0)
    source_doc: str = ""
    source_span: tuple[int, int] = (0, 0)


def plant_cases(corpus: Path, rng: random.Random, copies: int, sentences: int) -> list[Plant]:
    """Choose what to plant, and where (each target article gets one plant), from the corpus's bodies."""
    docs = [d for d in load_corpus(corpus).documents if d.lang in LANGS]
    by_lang = {lang: [d for d in docs if d.lang == lang] for lang in LANGS}
    used: set[str] = set()

    def target(lang: str, not_file: str = "") -> str:
        choices = [d.path for d in by_lang[lang] if d.path not in used and d.path != not_file]
        chosen = rng.choice(sorted(choices))
        used.add(chosen)
        return chosen

    plants: list[Plant] = []
    paragraphs = [
        (d, line.strip())
        for d in docs
        for line in d.body.split("\n")
        if 20 <= len(line.split()) <= 80 and not re.search(r"\d", line) and not line.lstrip().startswith(("-", "•"))
    ]
    for d, paragraph in rng.sample(paragraphs, copies):
        edited = _light_edits(paragraph, rng)
        plants.append(Plant("copy", edited, target(d.lang, d.path), d.path, paragraph))
    numbered = []
    for d in docs:
        for line in d.body.split("\n"):
            for sentence in re.split(r"(?<=[.!?])\s+", line.strip()):
                facts = [f for f in _facts(sentence, d.lang) if f.kind not in ("weekday", "month")]
                if len(sentence.split()) >= 6 and sentence.endswith(".") and facts:
                    numbered.append((d, sentence, facts[0].said))
    for d, sentence, said in rng.sample(numbered, sentences):
        number = re.search(r"\d+", said)
        assert number is not None
        old = int(number.group(0))
        new = str(old + rng.randint(1, 9) if old > 1 else old + rng.randint(2, 9))
        while re.search(rf"(?<!\d){new}(?!\d)", sentence):  # a value the sentence states already would not differ
            new = str(int(new) + 1)
        changed = sentence.replace(said, said[: number.start()] + new + said[number.end() :], 1)
        plants.append(Plant("number", changed, target(d.lang, d.path), d.path, sentence, new))
    for topic, (values, templates) in TOPICS.items():
        first, second = rng.sample(values, 2)
        lang_a = rng.choice(LANGS)
        lang_b = lang_a if rng.random() < 0.5 else rng.choice([x for x in LANGS if x != lang_a])
        for lang, value in ((lang_a, first), (lang_b, second)):
            word = DAY_NAMES[value][lang] if value in DAY_NAMES else value
            plants.append(Plant(f"topic:{topic}", templates[lang].format(n=word), target(lang), value=value))
    return plants


def _light_edits(paragraph: str, rng: random.Random) -> str:
    """Two adjacent words swapped, one word left out, one word of the paragraph repeated elsewhere."""
    words = paragraph.split()
    i = rng.randrange(1, len(words) - 2)
    words[i], words[i + 1] = words[i + 1], words[i]
    del words[rng.randrange(1, len(words) - 1)]
    words.insert(rng.randrange(1, len(words) - 1), rng.choice(words).strip(".,;:"))
    return " ".join(words)


def write_corpus(source: Path, target: Path, plants: list[Plant]) -> None:
    """A copy of the corpus with each plant put, as a paragraph of its own, after its article's first paragraph."""
    shutil.copytree(source, target)
    for plant in plants:
        path = target / plant.file
        page = path.read_text(encoding="utf-8")
        at = page.index(CONTENT) + len(CONTENT)
        end = page.find("</p>", at)
        if page[at:].lstrip().startswith("<p") and end > 0:
            at = end + len("</p>")
        page = page[:at] + f'\n<p class="p">{html.escape(plant.text, quote=False)}</p>\n' + page[at:]
        path.write_text(page, encoding="utf-8")


def locate(index: Index, plants: list[Plant]) -> list[Plant]:
    """Each plant's document and body span in the built index (and its original's); unfound ones are dropped."""
    by_file = {d.path: d for d in index.documents.values()}
    found = []
    for p in plants:
        doc = by_file.get(p.file)
        at = doc.body.find(p.text) if doc else -1
        if doc is None or at < 0:
            print(f"  not found in the index: {p.kind} in {p.file}")
            continue
        p.doc_id, p.span = doc.doc_id, (at, at + len(p.text))
        if p.source_file:
            source = by_file[p.source_file]
            s = source.body.find(p.source_text)
            if s < 0:
                print(f"  original not found: {p.kind} in {p.source_file}")
                continue
            p.source_doc, p.source_span = source.doc_id, (s, s + len(p.source_text))
        found.append(p)
    return found


def _at(place: Place, doc_id: str, span: tuple[int, int]) -> bool:
    return place.doc_id == doc_id and place.start < span[1] and span[0] < place.end


def _pair(
    finding: NearDuplicate | Contradiction, one: tuple[str, tuple[int, int]], two: tuple[str, tuple[int, int]]
) -> bool:
    a, b = finding.a, finding.b
    return (_at(a, *one) and _at(b, *two)) or (_at(a, *two) and _at(b, *one))


def expected_pairs(plants: list[Plant], kinds: tuple[str, ...]) -> list[tuple[str, tuple, tuple]]:
    """(kind, place one, place two) of each planted case: a copy or changed number and its original;
    two sentences of one topic with different values."""
    out: list[tuple[str, tuple, tuple]] = [
        (p.kind, (p.source_doc, p.source_span), (p.doc_id, p.span)) for p in plants if p.kind in kinds
    ]
    if "topic" in kinds:
        topical = [p for p in plants if p.kind.startswith("topic:")]
        for i, p in enumerate(topical):
            for q in topical[i + 1 :]:
                if p.kind == q.kind and p.value != q.value:
                    out.append(("topic", (p.doc_id, p.span), (q.doc_id, q.span)))
    return out


def controls(plants: list[Plant]) -> list[tuple[tuple, tuple]]:
    """Pairs of written sentences of two different topics (they must not be reported)."""
    topical = [p for p in plants if p.kind.startswith("topic:")]
    return [
        ((p.doc_id, p.span), (q.doc_id, q.span))
        for i, p in enumerate(topical)
        for q in topical[i + 1 :]
        if p.kind != q.kind
    ]


def touches_plant(finding: NearDuplicate | Contradiction, plants: list[Plant]) -> bool:
    return any(_at(place, p.doc_id, p.span) for place in (finding.a, finding.b) for p in plants)


def report(
    name: str,
    runs: dict[str, list],
    chosen: str,
    expected: list[tuple[str, tuple, tuple]],
    control_pairs: list[tuple[tuple, tuple]],
    plants: list[Plant],
) -> None:
    """One line per setting (`runs`: setting -> what the finder found with it), then the details at `chosen`."""
    print(f"\n{name}: {len(expected)} planted cases, {len(control_pairs)} control pairs")
    kinds = sorted({k for k, _, _ in expected})
    print("setting | " + " | ".join(f"recall {k}" for k in kinds) + " | recall | controls found | other findings")
    for setting, kept in runs.items():
        hits = [any(_pair(f, one, two) for f in kept) for _, one, two in expected]
        per_kind = []
        for k in kinds:
            mine = [h for (kk, _, _), h in zip(expected, hits, strict=True) if kk == k]
            per_kind.append(f"{sum(mine)}/{len(mine)}")
        false = sum(any(_pair(f, one, two) for f in kept) for one, two in control_pairs)
        other = [f for f in kept if not touches_plant(f, plants)]
        mark = " (default)" if setting == chosen else ""
        print(
            f"{setting}{mark} | " + " | ".join(per_kind) + f" | {sum(hits) / max(len(hits), 1):.3f} | "
            f"{false} | {len(other)}"
        )
    findings = runs[chosen]
    missed = [(k, one, two) for k, one, two in expected if not any(_pair(f, one, two) for f in findings)]
    for k, one, two in missed[:10]:
        print(f"  missed: {k} {one[0]} {one[1]} / {two[0]} {two[1]}")
    other = [f for f in findings if not touches_plant(f, plants)]
    print(f"top 10 of the {len(other)} findings at {chosen} that touch no plant:")
    for f in other[:10]:
        says = f" {f.a_says} / {f.b_says}" if isinstance(f, Contradiction) else ""
        print(
            f"  {f.similarity:.3f}{says}\n    {f.a.doc_id}: {_short(f.a.quote)}\n    {f.b.doc_id}: {_short(f.b.quote)}"
        )


def _short(text: str, n: int = 110) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def scale_timing(index: Index, factor: int, rng: np.random.Generator) -> tuple[int, float]:
    """The blocked product of the largest language's passages copied `factor` times with noise (about the
    passages of a corpus `factor` times larger): rows, seconds."""
    sizes = {lang: index.rows_in([lang]) for lang in index.languages}
    rows = max((r for r in sizes.values() if r is not None), key=len)
    base = index.chunk_vectors(rows)
    vectors = np.concatenate([base + rng.normal(0, 0.02, base.shape).astype(np.float32) for _ in range(factor)])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    groups = np.arange(len(vectors)) % len(base)  # a passage and its copies: one work
    t0 = time.perf_counter()
    pairs = sum(1 for _ in _close_pairs(vectors, groups, 0.999))
    del pairs
    return len(vectors), time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--scale", type=int, default=23, help="time the pair search on this many copies (0: no)")
    parser.add_argument("--work", type=Path, help="build here and keep it (an index already there is reused)")
    args = parser.parse_args()
    if not args.corpus.is_dir():
        sys.exit(f"{args.corpus} is missing: run python bench/helpcentre.py && python bench/helpcentre_questions.py")
    print(f"machine: {describe()}")
    rng = random.Random(args.seed)
    plants = plant_cases(args.corpus, rng, args.copies, args.sentences)
    with tempfile.TemporaryDirectory(prefix="kb-duplicates-") as tmp:
        work = args.work or Path(tmp)
        corpus, index_dir = work / "corpus", work / "index"
        if not (index_dir / "CURRENT").exists():
            shutil.rmtree(corpus, ignore_errors=True)
            write_corpus(args.corpus, corpus, plants)
            env = {**os.environ, "KB_CORPUS_DIR": str(corpus), "KB_INDEX_DIR": str(index_dir)}
            t0 = time.perf_counter()
            subprocess.run(
                [sys.executable, "-m", "kb", "rebuild", "--full"], cwd=ROOT, env=env, check=True, capture_output=True
            )
            print(
                f"corpus: {args.corpus.name} with plants (seed {args.seed}); rebuild {time.perf_counter() - t0:.0f} s"
            )
        index = Index.load(open_store(Settings.from_env(index_dir=index_dir, corpus_dir=corpus)))
        print(f"{len(index.documents)} articles, {len(index)} passages")
        plants = locate(index, plants)
        times = {}
        t0 = time.perf_counter()
        near_duplicates(index)
        times["near_duplicates"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        contradictions(index)
        times["contradictions"] = time.perf_counter() - t0
        nd = near_duplicates(index, threshold=min(NEAR_SWEEP))
        near_runs = {f"{t:.2f}": [f for f in nd if f.similarity >= t] for t in NEAR_SWEEP}
        report(
            "near-duplicates (passages, one language), by threshold",
            near_runs,
            f"{NEAR_DUPLICATE:.2f}",
            expected_pairs(plants, ("copy",)),
            [],
            plants,
        )
        runs = {f"topic {t:.2f}, words {SAME_WORDS}": contradictions(index, threshold=t) for t in TOPIC_SWEEP}
        runs |= {f"topic {SAME_TOPIC:.2f}, words {w}": contradictions(index, words=w) for w in WORDS_SWEEP}
        report(
            "contradictions (sentences, any languages), by cosine threshold and word overlap",
            runs,
            f"topic {SAME_TOPIC:.2f}, words {SAME_WORDS}",
            expected_pairs(plants, ("number", "topic")),
            controls(plants),
            plants,
        )
        print("\ntime at the default thresholds: " + ", ".join(f"{k} {v:.2f} s" for k, v in times.items()))
        if args.scale:
            n, seconds = scale_timing(index, args.scale, np.random.default_rng(args.seed))
            print(f"pair search on {n} passages of one language ({args.scale} copies with noise): {seconds:.1f} s")


if __name__ == "__main__":
    main()
