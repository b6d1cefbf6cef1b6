"""Question language on short queries: langdetect, lingua-language-detector, and kb's rule (both must agree).

Usage: python bench/language_detection.py [QUESTIONS.jsonl]   (default: the help-centre dev set)

For questions of 1-3 words and of 4 or more, the share detected right, "unknown" and wrong (the
question's "lang" is the truth), and the time per question: kb's rule, langdetect alone, and
lingua-language-detector (a dependency of kb since its low-accuracy mode is kb's second opinion on
short questions) in high accuracy over 30 common languages, with a minimum relative distance of
0 / 0.1 / 0.25 (below it lingua answers "unknown" rather than guess), and its low-accuracy mode;
plus the memory its models take.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
import kb.language  # noqa: E402
from bench.machine import describe  # noqa: E402
from kb.language import UNKNOWN, detect_language  # noqa: E402

CORPUS_LANGUAGES = ["es", "fr", "it", "pl"]  # the help centre's: what `ask` passes as preferred
LINGUA_LANGUAGES = [  # 30 common languages
    "EN",
    "DE",
    "ES",
    "FR",
    "IT",
    "PL",
    "PT",
    "NL",
    "SV",
    "DA",
    "NB",
    "FI",
    "CS",
    "SK",
    "HU",
    "RO",
    "EL",
    "TR",
    "RU",
    "UK",
    "AR",
    "HE",
    "ZH",
    "JA",
    "KO",
    "HI",
    "VI",
    "ID",
    "CA",
    "HR",
]


def score(name: str, detect: Callable[[str], str], rows: list[dict]) -> None:
    for bucket, short in (("1-3 words", True), ("4+ words", False)):
        part = [r for r in rows if (len(r["question"].split()) <= 3) == short]
        started = time.perf_counter()
        got = [detect(r["question"]) for r in part]
        ms = (time.perf_counter() - started) / max(len(part), 1) * 1000
        right = sum(g == r["lang"] for g, r in zip(got, part, strict=True))
        unknown = sum(g == UNKNOWN for g in got)
        n = max(len(part), 1)
        print(
            f"| {name} | {bucket} | {len(part)} | {right / n:.3f} | {unknown / n:.3f} | "
            f"{(len(part) - right - unknown) / n:.3f} | {ms:.2f} ms |",
            flush=True,
        )


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "bench" / "data" / "helpcentre" / "dev.jsonl"
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if r.get("lang")]
    print(f"machine: {describe()}\n{len(rows)} questions from {path.name}\n")
    print("| detector | questions | n | right | unknown | wrong | per question |")
    print("|---|---|---|---|---|---|---|")
    score(
        "kb: langdetect, corpus languages preferred; on 1-3 words lingua (low accuracy) must agree",
        lambda t: detect_language(t, CORPUS_LANGUAGES),
        rows,
    )
    short_words, kb.language.SHORT_WORDS = kb.language.SHORT_WORDS, 0
    score("langdetect alone, corpus languages preferred", lambda t: detect_language(t, CORPUS_LANGUAGES), rows)
    kb.language.SHORT_WORDS = short_words
    try:
        from lingua import IsoCode639_1, LanguageDetectorBuilder
    except ImportError:
        print("\nlingua-language-detector is not installed: not measured")
        return
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    codes = [getattr(IsoCode639_1, c) for c in LINGUA_LANGUAGES]
    for distance in (0.0, 0.1, 0.25):
        detector = (
            LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
            .with_minimum_relative_distance(distance)
            .with_preloaded_language_models()
            .build()
        )

        def lingua(text: str, detector=detector) -> str:  # type: ignore[no-untyped-def]
            found = detector.detect_language_of(text)
            return found.iso_code_639_1.name.lower() if found else UNKNOWN

        score(f"lingua, {len(codes)} languages, minimum distance {distance}", lingua, rows)
    grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    low = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build()
    score(
        "lingua, low accuracy mode",
        lambda t: f.iso_code_639_1.name.lower() if (f := low.detect_language_of(t)) else UNKNOWN,
        rows,
    )
    print(f"\nlingua's high-accuracy models for {len(codes)} languages: +{grown:.0f} MiB peak RSS")


if __name__ == "__main__":
    main()
