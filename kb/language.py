"""Deterministic language detection (langdetect with a fixed seed) that never raises."""

from __future__ import annotations

import threading
from collections.abc import Iterable

UNKNOWN = "unknown"
LANGUAGE_NAMES = {
    "en": "English",
    "es": "Spanish",
    "pl": "Polish",
    "it": "Italian",
    "fr": "French",
    "de": "German",
    "pt": "Portuguese",
    "nl": "Dutch",
    UNKNOWN: "unknown",
}
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
    """A human name for a language code ("pl" -> "Polish")."""
    return LANGUAGE_NAMES.get(code, code)
