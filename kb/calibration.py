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
CACHE = "calibration.json"  # in the index directory: {version: threshold}
KEPT = 8  # versions remembered there


def confident_threshold(index: Index) -> float | None:
    """The calibrated threshold of this index version; None for a corpus of fewer than MIN_TITLES articles."""
    ids = sorted(index.documents)
    if len(ids) < MIN_TITLES:
        return None
    if len(ids) > SAMPLE:
        ids = [ids[i] for i in np.linspace(0, len(ids) - 1, SAMPLE).astype(np.int64)]
    others = []
    for doc_id in ids:
        own = index.work(doc_id)
        # the title as the model read it, without its numbers (search.NUMBERS): they would lift only the
        # pages on one template that share a number (a 13-page booklet and a 13-16-page one), at the top
        hits = Ranking(index, index.title_query(doc_id), None, index.document_langs[doc_id]).top(FETCH_AT_LEAST)
        other = next((h.score for h in hits if index.work(h.doc_id) != own), None)
        if other is not None:
            others.append(other)
    return float(np.quantile(others, QUANTILE)) - OFFSET if others else None


def calibrated(index: Index, index_dir: Path) -> float:
    """This version's threshold, remembered in the index directory (computed once per version: by the
    rebuild that made it, else by the first process that needs it); FIXED for a small corpus."""
    path = index_dir / CACHE
    known: dict[str, float | None] = {}
    with contextlib.suppress(OSError, ValueError):
        loaded = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(loaded, dict):
            known = {str(k): v for k, v in loaded.items() if v is None or isinstance(v, float)}
    version = index.manifest.version
    if version not in known:
        known[version] = confident_threshold(index)
        kept = dict(list(known.items())[-KEPT:])
        with contextlib.suppress(OSError):  # a read-only index directory: computed again next time
            write_atomic(path, json.dumps(kept, indent=1).encode("utf-8"))
    value = known[version]
    return FIXED if value is None else value
