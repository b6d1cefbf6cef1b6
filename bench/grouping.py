"""Grouping questions by meaning: precision and recall of "same" on labelled question pairs over cosine thresholds.

Usage: python bench/grouping.py DEV.jsonl [--test TEST.jsonl] [--index DIR] [--low 0.60] [--high 0.99] [--step 0.01]
  e.g. python bench/grouping.py bench/data/question_pairs/dev.jsonl --test bench/data/question_pairs/test.jsonl

Every question of the pair files is embedded as a query (`Embedder.encode_query`, the configured model: KB_MODEL,
KB_MODEL_CACHE, KB_RUNTIME as for `kb`), and a pair is called "same" when the cosine of its two vectors is at
least the threshold. Vector variants, side by side:
  - plain: the normalized query vector (what the gap report compares today);
  - neutral (questions): the language directions removed (kb.index.language_basis / neutral), the languages'
    mean vectors taken from the dev file's questions (their labels are not used);
  - neutral (index): the same with the language directions of a built index (`--index DIR`, the one
    `kb rebuild` wrote there: its chunks' languages only), skipped without --index.
The threshold is chosen on dev (best F1; a tie goes to the higher threshold), and test is reported only at
that threshold: overall, cross-language and same-language pairs, all positives against the hard negatives only,
and the share of hard, easy and out-of-scope negatives called "same". Pair files: bench/question_pairs.py.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import Embedder, KnowledgeBase, Settings  # noqa: E402
from kb.index import language_basis, neutral  # noqa: E402


@dataclass(frozen=True)
class Pairs:
    """One pair file, as arrays."""

    name: str
    a: list[str]
    b: list[str]
    a_lang: list[str]
    b_lang: list[str]
    same: np.ndarray  # bool
    kind: np.ndarray  # "cross-language" / "same-language"
    negative: np.ndarray  # "hard" / "easy" / "" (a positive)
    offtopic: np.ndarray  # bool: a pair with an out-of-scope question

    @classmethod
    def read(cls, path: Path) -> Pairs:
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        return cls(
            path.name,
            [r["a"] for r in rows],
            [r["b"] for r in rows],
            [r["a_lang"] for r in rows],
            [r["b_lang"] for r in rows],
            np.array([bool(r["same"]) for r in rows]),
            np.array([r["kind"] for r in rows]),
            np.array([r["negative"] or "" for r in rows]),
            np.array([r["a_page"].startswith("offtopic/") or r["b_page"].startswith("offtopic/") for r in rows]),
        )

    def questions(self) -> dict[str, str]:
        """Each distinct question and its language."""
        return dict(zip(self.a + self.b, self.a_lang + self.b_lang, strict=True))

    def describe(self) -> str:
        counts = {
            "positive": int(self.same.sum()),
            "hard": int((self.negative == "hard").sum()),
            "easy": int((self.negative == "easy").sum()),
        }
        cross = int((self.kind == "cross-language").sum())
        return (
            f"{self.name}: {len(self.same)} pairs ({counts['positive']} same, {counts['hard']} hard and "
            f"{counts['easy']} easy negatives; {cross} cross-language, {len(self.same) - cross} same-language), "
            f"{len(self.questions())} questions"
        )


@dataclass(frozen=True)
class Figures:
    pairs: int
    precision: float  # nan when nothing is called "same"
    recall: float  # nan without positives
    f1: float
    called_same: float  # share of the pairs called "same" (of negatives only: the false-positive rate)

    @classmethod
    def of(cls, cosines: np.ndarray, same: np.ndarray, threshold: float) -> Figures:
        called = cosines >= threshold
        tp = int((called & same).sum())
        fp = int((called & ~same).sum())
        fn = int((~called & same).sum())
        precision = tp / (tp + fp) if tp + fp else float("nan")
        recall = tp / (tp + fn) if tp + fn else float("nan")
        f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")
        return cls(len(same), precision, recall, f1, float(called.mean()) if len(called) else float("nan"))

    def prf(self) -> str:
        return f"{fmt(self.precision)} {fmt(self.recall)} {fmt(self.f1)}"


def fmt(x: float) -> str:
    return "  -  " if np.isnan(x) else f"{x:.3f}"


def embed(embedder: Embedder, texts: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for i, text in enumerate(texts, 1):
        v = embedder.encode_query(text).vector
        out[text] = (v / np.linalg.norm(v)).astype(np.float32)
        if i % 500 == 0:
            print(f"  embedded {i}/{len(texts)}", file=sys.stderr, flush=True)
    return out


def cosines(pairs: Pairs, vectors: dict[str, np.ndarray], transform: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    a = transform(np.stack([vectors[t] for t in pairs.a]))
    b = transform(np.stack([vectors[t] for t in pairs.b]))
    return np.einsum("ij,ij->i", a, b)


def subsets(pairs: Pairs) -> dict[str, np.ndarray]:
    """Row masks: the figures of each are P/R/F1 of "same" on those rows, or the share of negatives called same."""
    everything = np.ones(len(pairs.same), dtype=bool)
    return {
        "all pairs": everything,
        "cross-language": pairs.kind == "cross-language",
        "same-language": pairs.kind == "same-language",
        "positives vs hard negatives": pairs.same | (pairs.negative == "hard"),
        "hard negatives (FPR)": pairs.negative == "hard",
        "easy negatives (FPR)": pairs.negative == "easy",
        "out-of-scope negatives (FPR)": pairs.offtopic & ~pairs.same,
    }


def best_threshold(scores: np.ndarray, same: np.ndarray, thresholds: np.ndarray) -> float:
    f1 = [Figures.of(scores, same, t).f1 for t in thresholds]
    best = max(range(len(thresholds)), key=lambda i: (np.nan_to_num(f1[i], nan=-1.0), thresholds[i]))
    return float(thresholds[best])


def report(label: str, pairs: Pairs, scores: np.ndarray, threshold: float) -> None:
    print(f"\n{label} at {threshold:.2f}: precision recall F1 (pairs)   [FPR rows: share called same]")
    for name, mask in subsets(pairs).items():
        if not mask.any():
            continue
        fig = Figures.of(scores[mask], pairs.same[mask], threshold)
        figures = f"{fig.called_same:.3f}" if name.endswith("(FPR)") else fig.prf()
        print(f"  {name:<30} {figures:<19} ({fig.pairs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("dev", type=Path, help="pair file to choose the threshold on")
    parser.add_argument("--test", type=Path, help="pair file reported at the dev-chosen threshold only")
    parser.add_argument("--index", type=Path, help="a built index: also measure its language-neutral vectors")
    parser.add_argument("--low", type=float, default=0.60)
    parser.add_argument("--high", type=float, default=0.99)
    parser.add_argument("--step", type=float, default=0.01)
    args = parser.parse_args()
    thresholds = np.round(np.arange(args.low, args.high + args.step / 2, args.step), 4)

    settings = Settings.from_env()
    embedder = Embedder(settings=settings)
    dev = Pairs.read(args.dev)
    test = Pairs.read(args.test) if args.test else None
    print(f"machine: {describe()}")
    print(f"model: {embedder.identity.name} ({embedder.identity.source_sha256[:12]}), runtime {embedder.runtime}")
    for pairs in (dev, test):
        if pairs is not None:
            print(pairs.describe())

    texts = sorted(set(dev.questions()) | (set(test.questions()) if test else set()))
    started = time.perf_counter()
    vectors = embed(embedder, texts)
    print(f"embedded {len(texts)} questions in {time.perf_counter() - started:.0f} s")

    dev_langs = dev.questions()
    means = {
        lang: np.mean([vectors[t] for t, lg in dev_langs.items() if lg == lang], axis=0)
        for lang in sorted(set(dev_langs.values()))
    }
    question_basis = language_basis(means, len(next(iter(vectors.values()))))
    variants: dict[str, Callable[[np.ndarray], np.ndarray]] = {
        "plain": lambda v: v,
        "neutral (questions)": lambda v: neutral(v, question_basis),
    }
    print(f"neutral (questions): {question_basis.shape[0]} language directions, from {sorted(means)} dev questions")
    if args.index:
        kb = KnowledgeBase.open(args.index, allow_stale=True, embedder=embedder)
        variants["neutral (index)"] = kb.index.neutral
        print(
            f"neutral (index): {kb.index.language_basis.shape[0]} language directions, "
            f"from the index's chunks in {kb.index.languages}"
        )
    else:
        print("neutral (index): skipped (no --index)")

    dev_scores = {name: cosines(dev, vectors, f) for name, f in variants.items()}
    print('\ndev sweep: precision recall F1 of "same" (cosine >= threshold), all pairs')
    widths = [max(17, len(name)) for name in variants]
    print("thr    " + "".join(f"| {name:<{w}} " for name, w in zip(variants, widths, strict=True)))
    for t in thresholds:
        cells = (Figures.of(s, dev.same, t).prf() for s in dev_scores.values())
        print(f"{t:.2f}   " + "".join(f"| {c:<{w}} " for c, w in zip(cells, widths, strict=True)))

    chosen = {name: best_threshold(s, dev.same, thresholds) for name, s in dev_scores.items()}
    print("\nbest F1 on dev:")
    for name, t in chosen.items():
        fig = Figures.of(dev_scores[name], dev.same, t)
        edge = " (at the edge of the sweep: widen --low/--high)" if t in (thresholds[0], thresholds[-1]) else ""
        print(f"  {name:<20} threshold {t:.2f}: P {fmt(fig.precision)} R {fmt(fig.recall)} F1 {fmt(fig.f1)}{edge}")
    current = settings.gap_similarity
    fig = Figures.of(dev_scores["plain"], dev.same, current)
    print(f"  plain at the current gap_similarity {current:.2f}: {fig.prf()} (dev)")

    for name in variants:
        print(f"\n=== {name} ===")
        report(f"DEV ({dev.name}), threshold chosen here", dev, dev_scores[name], chosen[name])
        if test is not None:
            scores = cosines(test, vectors, variants[name])
            report(f"TEST ({test.name}), at the dev-chosen threshold", test, scores, chosen[name])


if __name__ == "__main__":
    main()
