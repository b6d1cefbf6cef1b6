"""The direction each language adds to a question's vector, measured once for the default model.

kb/data/question_languages.npz (made by bench/question_languages.py from paragraphs the GNOME help
says in English and in each language; only vectors are kept): per language, the mean vector of its
paragraphs read as questions less the mean of the same paragraphs in English. Search removes the
question's own direction when no article of the corpus is written in its language
(`Index.foreign_direction`, kb/search.py FOREIGN_QUESTIONS). The file is only used with the model that
made it (the same source weights); any other model gets no direction, and search is as before.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

DATA = Path(__file__).resolve().parent.parent / "data" / "question_languages.npz"


@functools.lru_cache(maxsize=4)
def question_directions(source_sha256: str, dimension: int, path: Path = DATA) -> dict[str, np.ndarray]:
    """Language -> the direction it adds to a question of the model whose source weights hash to
    `source_sha256` (English: zeros); {} for another model, or when the file is missing or unreadable."""
    try:
        with np.load(path, allow_pickle=False) as data:
            if str(data["source_sha256"]) != source_sha256 or data["directions"].shape[1] != dimension:
                return {}
            rows = zip(data["langs"], data["directions"], strict=True)
            return {str(lang): row.astype(np.float32) for lang, row in rows}
    except (OSError, KeyError, ValueError):
        return {}
