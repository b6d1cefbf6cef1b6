"""`kb tune`: a copy of the model whose layers are fine-tuned on this corpus's own structure (issue 34, item 5).

No labelled question is used. As for the question adapter (kb/adapter.py), each article title and each
section heading, read as a question, should find the passages it stands above, among the other passages
of the batch; an article's translations add cross-lingual pairs (its title for the passages of each
translation). The word-piece embedding matrix stays frozen (it is most of the model's weights and what
ties the languages' vocabularies together), and so do the lower layers; the top LAYERS learn.

The loss is InfoNCE over the batch's passages with several positives per question (an article's other
passages are not negatives for its title; sentence-transformers' MultipleNegativesRankingLoss assumes
one positive each). The loop is a plain PyTorch one: sentence-transformers' trainer needs the `datasets`
and `accelerate` packages for what is here forty lines.

The result is a sentence-transformers directory (`save`); `kb rebuild --model DIR` builds an index
with it, and the index records its identity, so it is never read with another model.
"""

from __future__ import annotations

import json
import math
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .build import BuildReport, Progress
from .chunking import embedding_text
from .config import Settings
from .errors import KBError
from .index import Index
from .model.loading import TUNED_FILE, base_of, following
from .storage.base import headings_of

# Chosen on the help-centre dev split among three settings (bench/tune.py; docs/measurements.md): all 12
# layers for 150 steps at 2e-5 and batches of one language each for 60 steps both lost to the question
# adapter alone (dev hit@5 0.818 and 0.804 with it, against 0.831); the top 4 layers for 60 steps at 1e-5
# tied with it (0.831 / 0.720 against 0.831 / 0.721). None gains enough to be the default.
STEPS = 60
BATCH = 32  # questions per step (one positive passage drawn for each)
LEARNING_RATE = 1e-5
WARMUP = 0.1  # share of the steps the learning rate climbs to LEARNING_RATE
TEMPERATURE = 0.05
QUERY_TOKENS = 64
PASSAGE_TOKENS = 256
LAYERS = 4  # the top layers that learn (of e5-small's 12); those below stay as they are
SAME_LANGUAGE = 0  # 1: each batch holds questions of one article language (its negatives in that language)
SEED = 34


@dataclass(frozen=True)
class TrainingSet:
    """Questions (titles and headings), passages (as the index reads them) and which passages answer each."""

    queries: list[str]
    passages: list[str]
    positives: list[np.ndarray]  # per query: rows of `passages`
    langs: list[str]  # per query: the language of its passages


def training_set(index: Index) -> TrainingSet:
    """Each title and heading for the passages below it, and each title for its translations' passages;
    passages are the index's rows, read as the rebuild reads them (with their heading)."""
    titles = {doc_id: doc.title for doc_id, doc in index.documents.items()}
    passages = [embedding_text(c, titles[c.doc_id]) for c in index.chunks()]
    queries: list[str] = []
    positives: list[np.ndarray] = []
    langs: list[str] = []
    asked: list[tuple[str, np.ndarray]] = []
    for doc_id in sorted(index.documents):
        rows = index.rows_of_document(doc_id)
        chunks = [index.chunk(int(r)) for r in rows]
        asked += [(titles[doc_id], rows)] if titles[doc_id] else []
        asked += [(h, rows[[c.heading == h for c in chunks]]) for h in headings_of(chunks) if h]
    for doc_id in sorted(index.documents):  # then each title for its translations' passages
        if titles[doc_id] and len(index.rows_of_document(doc_id)):
            asked += [(titles[doc_id], index.rows_of_document(other)) for other in index.translations(doc_id)]
    for question, under in asked:
        if len(under):
            queries.append(question)
            positives.append(under)
            langs.append(index.lang_of(int(under[0])))
    return TrainingSet(queries, passages, positives, langs)


def tune(
    model: Any,
    data: TrainingSet,
    *,
    steps: int = STEPS,
    batch: int = BATCH,
    learning_rate: float = LEARNING_RATE,
    progress: Callable[[int, float], None] = lambda step, loss: None,
) -> dict[str, float]:
    """Fine-tune `model` (a SentenceTransformer, in place) on `data`; returns what the training did."""
    import torch

    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    transformer = model[0].auto_model
    frozen = [
        transformer.embeddings.word_embeddings,
        *transformer.encoder.layer[: len(transformer.encoder.layer) - LAYERS],
    ]
    for part in frozen:
        for parameter in part.parameters():
            parameter.requires_grad = False
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(trainable, lr=learning_rate, weight_decay=0.01)
    warmup = max(1, int(WARMUP * steps))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min((s + 1) / warmup, max(0.0, (steps - s) / max(1, steps - warmup)))
    )
    prompts = model.prompts or {}
    model.train()
    started = time.perf_counter()
    losses = []
    for step, chosen in zip(range(steps), _batches(data, batch, rng), strict=False):
        picked = sorted({int(rng.choice(data.positives[q])) for q in chosen})
        where = {row: i for i, row in enumerate(picked)}
        mask = torch.zeros(len(chosen), len(picked), dtype=torch.bool)
        for i, q in enumerate(chosen):
            for row in data.positives[q]:
                if int(row) in where:
                    mask[i, where[int(row)]] = True
        q_vec = _embed(model, [prompts.get("query", "") + data.queries[q] for q in chosen], QUERY_TOKENS)
        p_vec = _embed(model, [prompts.get("passage", "") + data.passages[r] for r in picked], PASSAGE_TOKENS)
        logits = q_vec @ p_vec.T / TEMPERATURE
        loss = (torch.logsumexp(logits, 1) - torch.logsumexp(logits.masked_fill(~mask, -math.inf), 1)).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        schedule.step()
        losses.append(float(loss.detach()))
        progress(step + 1, losses[-1])
    model.eval()
    return {
        "steps": steps,
        "seconds": time.perf_counter() - started,
        "first_loss": float(np.mean(losses[:10])),
        "last_loss": float(np.mean(losses[-10:])),
    }


def _batches(data: TrainingSet, batch: int, rng: np.random.Generator) -> Iterator[np.ndarray]:
    """Batches of question numbers, each question once per round; with SAME_LANGUAGE, of one article language
    each, so that no negative differs from the positive by its language alone (measured: no better)."""
    langs = np.array(data.langs)
    groups = (
        [np.flatnonzero(langs == lang) for lang in sorted(set(data.langs))]
        if SAME_LANGUAGE
        else [np.arange(len(langs))]
    )
    while True:
        rounds: list[np.ndarray] = []
        for group in groups:  # a group's last, smaller batch too (a batch of one has no negatives)
            order = rng.permutation(group)
            rounds.extend(order[i : i + batch] for i in range(0, len(order), batch) if len(order[i : i + batch]) > 1)
        if not rounds:
            raise KBError("too few titles and headings to tune on")
        for i in rng.permutation(len(rounds)):
            yield rounds[i]


def _embed(model: Any, texts: list[str], max_tokens: int) -> Any:
    """Unit vectors of `texts` through the model's own modules (its pooling), with gradients."""
    import torch

    features = model.tokenizer(texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt")
    return torch.nn.functional.normalize(model(dict(features))["sentence_embedding"], dim=1)


def save(model: Any, out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    model.save(str(out))
    return out


# -- the command: tune, keep the model with the index, rebuild with it ------------------------------

MODELS_DIR = "models"  # under the index directory
MIN_QUESTIONS = 300  # titles and headings; as the question adapter's MIN_QUERIES


@dataclass(frozen=True)
class TuneReport:
    """What `kb tune` did."""

    model: Path
    base: str
    questions: int
    passages: int
    steps: int
    seconds: float
    first_loss: float
    last_loss: float
    build: BuildReport


def tune_index(
    settings: Settings,
    *,
    steps: int = STEPS,
    progress: Callable[[int, float], None] = lambda step, loss: None,
    rebuild_progress: Progress | None = None,
) -> TuneReport:
    """Tune the model the index was built with (from its base, when it is itself tuned) on the index's
    corpus, keep it in the index directory, and rebuild the index with it (it then follows the index)."""
    from .build import rebuild
    from .knowledge_base import KnowledgeBase
    from .model import Embedder, load_model

    kb = KnowledgeBase.open(settings=settings)  # a missing, stale or other-model index is an error here
    data = training_set(kb.index)
    if len(data.queries) < MIN_QUESTIONS:
        raise KBError(
            f"the corpus has {len(data.queries)} titles and section headings to learn from; tuning needs at "
            f"least {MIN_QUESTIONS} (on fewer it learns the titles by heart); nothing was changed"
        )
    base = base_of(kb.embedder.name)
    version, articles = kb.index.version, len(kb.index.documents)
    del kb  # its model and vectors: the rebuild below loads the tuned model
    model = load_model(base, settings)
    done = tune(model, data, steps=steps, progress=progress)
    models = settings.index_dir / MODELS_DIR
    models.mkdir(parents=True, exist_ok=True)
    target = models / f"tuned-{version}"
    tmp = Path(tempfile.mkdtemp(prefix=".tmp-tuned-", dir=models))
    try:
        model.save(str(tmp / "model"))
        del model  # saved: the training copy is not kept beside the one the rebuild reads with
        info = {
            "base": base,
            "tuned_on": version,
            "articles": articles,
            "questions": len(data.queries),
            "passages": len(data.passages),
            "settings": {"steps": steps, "batch": BATCH, "learning_rate": LEARNING_RATE, "layers": LAYERS},
            "seconds": round(done["seconds"], 1),
        }
        (tmp / "model" / TUNED_FILE).write_text(json.dumps(info, indent=2), encoding="utf-8")
        shutil.rmtree(target, ignore_errors=True)
        (tmp / "model").rename(target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    build = rebuild(settings, full=True, embedder=Embedder(str(target.resolve()), settings), progress=rebuild_progress)
    _remove_models(settings, keep=target)
    return TuneReport(
        target.resolve(),
        base,
        len(data.queries),
        len(data.passages),
        steps,
        done["seconds"],
        done["first_loss"],
        done["last_loss"],
        build,
    )


def untune(settings: Settings, progress: Progress | None = None) -> BuildReport:
    """Rebuild the index with the model the tuned one came from, and delete the tuned models."""
    from .build import rebuild
    from .model import Embedder
    from .storage import open_store

    recorded = open_store(settings).manifest()
    tuned = following(settings, recorded.model if recorded else None)
    model = base_of(tuned)
    if model == tuned:
        raise KBError("the index is not built with a model `kb tune` made; nothing was changed")
    report = rebuild(settings, full=True, embedder=Embedder(model, settings), progress=progress)
    _remove_models(settings, keep=None)
    return report


def _remove_models(settings: Settings, keep: Path | None) -> None:
    models = settings.index_dir / MODELS_DIR
    for old in models.glob("*") if models.is_dir() else ():
        if keep is None or old.resolve() != keep.resolve():
            shutil.rmtree(old, ignore_errors=True)
