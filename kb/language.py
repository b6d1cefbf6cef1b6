"""Language detection that never raises: langdetect (fixed seed), lingua as a second opinion on short texts;
and what reads the same in every language: the numbers a text names."""

from __future__ import annotations

import re
import threading
import unicodedata
from collections.abc import Iterable
from typing import Any

UNKNOWN = "unknown"
LANGUAGE_NAMES = {  # every language langdetect can answer, and the corpus's usual ones first
    "en": "English", "es": "Spanish", "pl": "Polish", "it": "Italian", "fr": "French", "de": "German",
    "pt": "Portuguese", "nl": "Dutch", "af": "Afrikaans", "ar": "Arabic", "bg": "Bulgarian",
    "bn": "Bengali", "ca": "Catalan", "cs": "Czech", "cy": "Welsh", "da": "Danish", "el": "Greek",
    "et": "Estonian", "fa": "Persian", "fi": "Finnish", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi",
    "hr": "Croatian", "hu": "Hungarian", "id": "Indonesian", "ja": "Japanese", "kn": "Kannada",
    "ko": "Korean", "lt": "Lithuanian", "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam",
    "mr": "Marathi", "ne": "Nepali", "no": "Norwegian", "pa": "Punjabi", "ro": "Romanian",
    "ru": "Russian", "sk": "Slovak", "sl": "Slovenian", "so": "Somali", "sq": "Albanian",
    "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog",
    "tr": "Turkish", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "zh": "Chinese",
    UNKNOWN: "unknown",
}  # fmt: skip
_lock = threading.Lock()  # langdetect's factory and seed are process-wide
# A text of at most SHORT_WORDS words gets a language only when lingua-language-detector (low-
# accuracy mode, 30 common languages, +32 MiB) agrees with langdetect, else "unknown": on the 137
# help-centre dev questions of 1-3 words, langdetect alone was right for 0.832 and wrong for 0.168
# ("NPS" Vietnamese, "Omnichannel" German); together right for 0.766, unknown for 0.219, wrong for
# 0.015 (bench/language_detection.py). Longer texts: langdetect alone (right for 0.93+).
SHORT_WORDS = 3
RANKING_CONFIDENCE = 0.7  # see ranking_language
LINGUA_LANGUAGES = (
    "EN", "DE", "ES", "FR", "IT", "PL", "PT", "NL", "SV", "DA", "NB", "FI", "CS", "SK", "HU",
    "RO", "EL", "TR", "RU", "UK", "AR", "HE", "ZH", "JA", "KO", "HI", "VI", "ID", "CA", "HR",
)  # fmt: skip
_lingua: list[Any] = []  # the detector, built on first use


def detect_language(text: str, allowed: Iterable[str] | None = None) -> str:
    """ISO 639-1 code of `text`, or "unknown" for empty, numeric or undecidable text.

    With `allowed`, the most probable of those languages wins when any has a fair probability.
    """
    letters = sum(ch.isalpha() for ch in text)
    if letters < 3:
        return UNKNOWN
    from langdetect import DetectorFactory, detect_langs
    from langdetect.lang_detect_exception import LangDetectException

    with _lock:
        DetectorFactory.seed = 0
        try:
            ranked = detect_langs(text[:5000])
        except LangDetectException:
            return UNKNOWN
    if not ranked:
        return UNKNOWN
    found = str(ranked[0].lang)
    if allowed is not None:
        allowed = set(allowed)
        found = next((str(g.lang) for g in ranked if g.lang in allowed and g.prob >= 0.2), found)
    if len(text.split()) <= SHORT_WORDS and _second_opinion(text) != found:
        return UNKNOWN
    return found


def ranking_language(text: str) -> str:
    """The question's language for ranking (search.OWN_LANGUAGE), or "unknown": lingua's low-accuracy
    guess when its confidence is at least RANKING_CONFIDENCE. 0.13 ms a question against 2.7 for
    `detect_language` (langdetect), which took search at 10k articles from 13.8 to 17.2 ms; on the
    help-centre dev questions it names a language for 0.873 of them and is wrong for 0.039 (`detect_language`:
    0.930 and 0.030)."""
    if sum(ch.isalpha() for ch in text) < 3:
        return UNKNOWN
    best = max(_detector().compute_language_confidence_values(text), key=lambda v: v.value, default=None)
    return best.language.iso_code_639_1.name.lower() if best and best.value >= RANKING_CONFIDENCE else UNKNOWN


def _second_opinion(text: str) -> str:
    """lingua's language for `text` ("unknown" when it cannot tell)."""
    found = _detector().detect_language_of(text)
    return found.iso_code_639_1.name.lower() if found is not None else UNKNOWN


def _detector() -> Any:
    """lingua's detector over LINGUA_LANGUAGES in low-accuracy mode (built on first use)."""
    with _lock:
        if not _lingua:
            from lingua import IsoCode639_1, LanguageDetectorBuilder

            codes = [getattr(IsoCode639_1, c) for c in LINGUA_LANGUAGES]
            _lingua.append(LanguageDetectorBuilder.from_iso_codes_639_1(*codes).with_low_accuracy_mode().build())
    return _lingua[0]


def has_words(text: str) -> bool:
    """Whether `text` holds a letter or a digit (not only emoji, punctuation or invisible characters)."""
    return any(unicodedata.category(ch)[0] in "LN" for ch in text)


def language_name(code: str) -> str:
    """A human name for a language code ("pl" -> "Polish"; a code without one: the code)."""
    return LANGUAGE_NAMES.get(code, code)


def language_label(code: str) -> str:
    """How a language is shown: "Polish (pl)"; the code alone when it has no name ("xx", never "xx (xx)");
    "unknown" for UNKNOWN."""
    name = language_name(code)
    return name if name == code or code == UNKNOWN else f"{name} ({code})"


NUMBER = re.compile(r"\d+")


def numbers_in(text: str) -> frozenset[str]:
    """The numbers a text names, as digit runs in ASCII digits without leading zeros ("Error 0x80"
    names 0 and 80; "13-16" names 13 and 16; Arabic-Indic "١٣" and full-width "１３" name 13)."""
    runs = ("".join(str(unicodedata.digit(c)) for c in run) for run in NUMBER.findall(text))
    return frozenset(run.lstrip("0") or "0" for run in runs)
