"""Deterministic language detection (langdetect with a fixed seed) that never raises."""

from __future__ import annotations

import threading
from collections.abc import Iterable

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
    if allowed is not None:
        allowed = set(allowed)
        for guess in ranked:
            if guess.lang in allowed and guess.prob >= 0.2:
                return str(guess.lang)
    return str(ranked[0].lang)


def language_name(code: str) -> str:
    """A human name for a language code ("pl" -> "Polish"; a code without one: the code)."""
    return LANGUAGE_NAMES.get(code, code)


def language_label(code: str) -> str:
    """How a language is shown: "Polish (pl)"; the code alone when it has no name ("xx", never "xx (xx)");
    "unknown" for UNKNOWN."""
    name = language_name(code)
    return name if name == code or code == UNKNOWN else f"{name} ({code})"
