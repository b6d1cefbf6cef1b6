"""The `confident` threshold of an index version, calibrated on its corpus's own titles (issue 34, item 4).

A question nothing in the corpus answers still finds something: its best passage scores higher as the
corpus grows (more passages to be near by chance), and the question adapter fitted to each corpus moves
every score (kb/adapter.py). One constant does not hold across corpora: at 0.73, on nested slices of
the public help centre, 0.84-0.99 of the answerable questions cleared it and 0.91-1.00 of the off-topic
ones stayed under it, depending on the size (docs/measurements.md).

Each title, read as a question, is a question its corpus answers with that article; what the best
article of *another* work scores for it is what a question scores that the corpus nearly answers, but
not with this article. Those scores grow with the corpus and move with the adapter as off-topic
questions' do. The threshold is a low quantile of them (QUANTILE) less OFFSET: tuned on the help-centre
dev questions and the dev half of the off-topic ones at 100-1,340 articles (docs/measurements.md).

A question in a language none of the searched articles is written in (German asked of a Spanish,
French, Italian and Polish help centre) can only be answered across languages, and it scores lower
than one that finds passages in its own language, relevant or not. Its threshold is the same quantile,
less the same offset, of what each title finds when only the *other* languages' passages are searched
(`cross_lingual_threshold`): help-centre dev / test at 441 articles, German questions in scope 0.933 /
0.928 -> 0.967 / 0.954, off-topic ones still none (docs/measurements.md).
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import numpy as np

from .atomic import write_atomic
from .index import Index
from .search import FETCH_AT_LEAST, Ranking

FIXED = 0.73  # a corpus of fewer than MIN_TITLES articles: the threshold set on the help centre's dev set
MIN_TITLES = 50
SAMPLE = 300  # titles asked at most (evenly over the documents sorted by id): ~2 s at 441 articles
QUANTILE = 0.07
OFFSET = 0.006
CACHE = "calibration.json"  # in the index directory: {version: [threshold, cross-lingual threshold]}
KEPT = 8  # versions remembered there


def confident_threshold(index: Index) -> float | None:
    """The calibrated threshold of this index version; None for a corpus of fewer than MIN_TITLES articles."""
    return _threshold(index, cross_lingual=False)


def cross_lingual_threshold(index: Index) -> float | None:
    """The threshold for a question in a language none of the searched articles is written in: as
    `confident_threshold`, each title searching the other languages' passages only. None for a small
    corpus or one in a single language."""
    return _threshold(index, cross_lingual=True) if len(index.languages) > 1 else None


def _threshold(index: Index, cross_lingual: bool) -> float | None:
    ids = sorted(index.documents)
    if len(ids) < MIN_TITLES:
        return None
    if len(ids) > SAMPLE:
        ids = [ids[i] for i in np.linspace(0, len(ids) - 1, SAMPLE).astype(np.int64)]
    others = []
    for doc_id in ids:
        own, lang = index.work(doc_id), index.document_langs[doc_id]
        searched = [other for other in index.languages if other != lang] if cross_lingual else None
        # the title as the model read it, without its numbers (search.NUMBERS): they would lift only the
        # pages on one template that share a number (a 13-page booklet and a 13-16-page one), at the top
        hits = Ranking(index, index.title_query(doc_id), searched, lang).top(FETCH_AT_LEAST)
        other = next((h.score for h in hits if index.work(h.doc_id) != own), None)
        if other is not None:
            others.append(other)
    return float(np.quantile(others, QUANTILE)) - OFFSET if others else None


def calibrated(index: Index, index_dir: Path) -> tuple[float, float]:
    """This version's thresholds (any question, and one in a language no searched article is written
    in), remembered in the index directory (computed once per version: by the rebuild that made it,
    else by the first process that needs them); FIXED for a small corpus."""
    path = index_dir / CACHE
    known: dict[str, list[float] | None] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):  # an entry of another shape (an older release's) is computed again
            known = {str(k): v for k, v in loaded.items() if v is None or _pair(v)}
    version = index.manifest.version
    if version not in known:
        threshold = confident_threshold(index)
        if threshold is None:
            known[version] = None
        else:
            cross = cross_lingual_threshold(index)
            known[version] = [threshold, threshold if cross is None else cross]
        kept = dict(list(known.items())[-KEPT:])
        with contextlib.suppress(OSError):  # a read-only index directory: computed again next time
            write_atomic(path, json.dumps(kept, indent=1).encode("utf-8"))
    value = known[version]
    return (FIXED, FIXED) if value is None else (value[0], value[1])


def _pair(value: object) -> bool:
    return isinstance(value, list) and len(value) == 2 and all(isinstance(v, float) for v in value)
