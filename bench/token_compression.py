"""How small can the word match's token vectors be? float32, int8, 4 bits, rotated 3 and 2 bits, codes.

Usage: python bench/token_compression.py [question sets...] [--only LABEL-PREFIX ...]
       (index: KB_INDEX_DIR or ./index; default sets: bench/data/dev.jsonl, bench/data/check.jsonl)

The word match (kb/search.py) compares a question's token vectors with every candidate passage's.
They are most of the index: ~56-62 word pieces per passage, 388 bytes each as int8, 22-24 KB per
passage; issue 15 asks for 4 KB with MRR within 0.005. This reads every passage of the current
index again for its float32 token vectors and scores each question set with them stored each way
(passage, sentence and context vectors are the index's own throughout):

- int8 with one scale per vector (index format 5);
- 4 bits with one scale per vector (index formats 6 and 7);
- product-quantization codes (what the index stores since format 8: `kb.storage.tokens.TokenCode`): sub-vectors
  of 4 dimensions, each the number of one of 2**8 centroids learned from public sentences
  (kb/build.py `token_code`), 96 bytes a vector; and sub-vectors of 6 dimensions with 2**8 and 2**10
  centroids (64 and 80 bytes);
- 3 and 2 bits after a fixed random rotation (which makes every coordinate near Gaussian, so the
  Lloyd-Max levels of a Gaussian fit), one scale per vector keeping its norm; three rotations each
  (seeds 0-2), since on a 45-question set the quantization noise alone moves MRR by ~0.01;
- 4 KB and below: projected on the top 96 / 128 / 160 principal directions of the token vectors of
  4,000 Tatoeba sentences (public text in none of the sets, es/pl/it/fr/en), then 4 bits; or a
  passage's token vectors within cosine 0.8 / 0.7 / 0.6 of one already kept dropped, then 4 bits.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.machine import describe  # noqa: E402
from kb import KnowledgeBase  # noqa: E402
from kb.build import learn_token_code  # noqa: E402
from kb.chunking import embedding_text  # noqa: E402
from kb.evaluate import evaluate, load_questions  # noqa: E402
from kb.storage.tokens import TokenCode, distinct_tokens  # noqa: E402

METRICS = ("hit@5", "mrr@10", "ask cites gold", "in-scope confident", "out-of-scope not confident")


def float_tokens(kb: KnowledgeBase) -> tuple[np.ndarray, np.ndarray]:
    """Every chunk's float32 token vectors, read again (chunk after chunk), and the start of each chunk's."""
    chunks = kb.index.chunks()
    texts = [embedding_text(c, kb.document(c.doc_id).title) for c in chunks]
    begins = [len(t) - len(c.text) for t, c in zip(texts, chunks, strict=True)]
    spans = [[(b + s - c.start, b + e - c.start) for s, e in c.sentences] for b, c in zip(begins, chunks, strict=True)]
    read = kb.embedder.read_passages(texts, begins, spans)
    assert read.tokens is not None and read.token_spans is not None
    tokens = [t[distinct_tokens(t, s)] for t, s in zip(read.tokens, read.token_spans, strict=True)]  # as a rebuild
    counts = [len(t) for t in tokens]
    stored = kb.index.token_vectors(np.arange(len(chunks)))[2]
    if counts != stored.tolist():
        raise SystemExit("the index's token counts differ from a new reading: rebuild it with this code first")
    return np.concatenate(tokens), np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def int8(vectors: np.ndarray) -> np.ndarray:
    return scalar(vectors, 127)


def scalar(vectors: np.ndarray, top: int) -> np.ndarray:
    """Each row rounded to integers in -top..top times one scale (its largest magnitude maps to top)."""
    scales = np.abs(vectors).max(axis=1, keepdims=True) / top
    scales[scales == 0] = 1.0
    return np.round(vectors / scales) * scales


# Lloyd-Max quantizers of a standard Gaussian: decision boundaries and levels.
LLOYD_MAX = {
    2: ([-0.9816, 0.0, 0.9816], [-1.510, -0.4528, 0.4528, 1.510]),
    3: (
        [-1.748, -1.050, -0.5006, 0.0, 0.5006, 1.050, 1.748],
        [-2.152, -1.344, -0.7560, -0.2451, 0.2451, 0.7560, 1.344, 2.152],
    ),
}


def rotated(vectors: np.ndarray, bits: int, seed: int) -> np.ndarray:
    """Rotate, quantize each coordinate to 2**bits Lloyd-Max levels (in units of the row's spread),
    rotate back, keep each row's norm."""
    dim = vectors.shape[1]
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, dim)))
    rotation = (q * np.sign(np.diag(r))).astype(np.float32)
    turned = vectors @ rotation
    spread = np.linalg.norm(turned, axis=1, keepdims=True) / np.sqrt(dim)
    spread[spread == 0] = 1.0
    bounds, levels = LLOYD_MAX[bits]
    quantized = np.array(levels, np.float32)[np.searchsorted(np.array(bounds, np.float32), turned / spread)]
    back = quantized @ rotation.T
    norms = np.linalg.norm(back, axis=1, keepdims=True)
    return back / np.maximum(norms, 1e-12) * np.linalg.norm(vectors, axis=1, keepdims=True)


def principal_directions(kb: KnowledgeBase) -> np.ndarray:
    """(384, 384): the right singular vectors of Tatoeba sentences' token vectors, strongest first."""
    from bench.tatoeba import DEFAULT_DATA

    texts = []
    for lang in ("spa", "pol", "ita", "fra"):
        texts += (DEFAULT_DATA / f"tatoeba.{lang}-eng.{lang}").read_text(encoding="utf-8").splitlines()[:400]
        texts += (DEFAULT_DATA / f"tatoeba.{lang}-eng.eng").read_text(encoding="utf-8").splitlines()[:100]
    read = kb.embedder.read_passages(texts, [0] * len(texts), [[] for _ in texts])
    assert read.tokens is not None
    return np.linalg.svd(np.concatenate(read.tokens), full_matrices=False)[2].T.astype(np.float32)


def four_bits(vectors: np.ndarray) -> np.ndarray:
    return scalar(vectors, 7)


def coded(vectors: np.ndarray, code: TokenCode) -> np.ndarray:
    return code.decode(code.encode(vectors))


def code_of(kb: KnowledgeBase, width: int, bits: int) -> TokenCode:
    """A codebook learned as kb/build.py `token_code` learns it, for sub-vectors of `width` dimensions."""
    return learn_token_code(kb.embedder, kb.settings, bits=bits, width=width)


def pruned(vectors: np.ndarray, start: np.ndarray, similar: float) -> tuple[np.ndarray, np.ndarray]:
    """Each passage's token vectors without those within cosine `similar` of one kept before them."""
    kept, counts = [], []
    for a, b in zip(start[:-1].tolist(), start[1:].tolist(), strict=True):
        keep: list[int] = []
        for i in range(a, b):
            if not keep or float((vectors[keep] @ vectors[i]).max()) < similar:
                keep.append(i)
        kept.append(vectors[keep])
        counts.append(len(keep))
    return np.concatenate(kept), np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)


def serve(kb: KnowledgeBase, vectors: np.ndarray, start: np.ndarray) -> None:
    """Make the index answer token-vector requests from `vectors` (unrotated)."""

    def token_vectors(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        rows = np.asarray(rows, dtype=np.int64)
        counts = start[rows + 1] - start[rows]
        picked = [vectors[start[r] : start[r + 1]] for r in rows.tolist()]
        out = np.concatenate(picked) if picked else np.zeros((0, vectors.shape[1]), np.float32)
        return out.astype(np.float32), np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64), counts

    def token_cosines(query_tokens: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        tokens, starts, counts = token_vectors(rows)
        return tokens @ query_tokens.T, starts, counts

    kb.index.token_vectors = token_vectors  # type: ignore[method-assign]
    kb.index.token_cosines = token_cosines  # type: ignore[method-assign]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--only", nargs="*", default=[], help="variants whose label starts so (e.g. float32 int8 4)")
    args = parser.parse_args()
    sets = args.sets or [ROOT / "bench" / "data" / n for n in ("dev.jsonl", "check.jsonl")]
    print(f"machine: {describe()}")
    kb = KnowledgeBase.open(allow_stale=True)
    started = time.perf_counter()
    vectors, start = float_tokens(kb)
    passages, dim = len(start) - 1, vectors.shape[1]
    print(f"{passages} passages, {len(vectors)} token vectors read again in {time.perf_counter() - started:.1f} s")
    basis = principal_directions(kb)
    variants = {  # label: (bytes per token vector, stored versions to average over)
        "float32": (4 * dim, [vectors]),
        "int8 (index format 5)": (dim + 4, [int8(vectors)]),
        "4 bits (index formats 6, 7)": (dim // 2 + 4, [four_bits(vectors)]),
        "4 dimensions x 8 bits (index format 8: stored now)": (
            kb.index.token_code.code_size,
            [coded(vectors, kb.index.token_code)],
        ),
        "6 dimensions x 10 bits": (dim // 6 * 10 // 8, [coded(vectors, code_of(kb, 6, 10))]),
        "6 dimensions x 8 bits": (dim // 6, [coded(vectors, code_of(kb, 6, 8))]),
        "3 bits, rotated": (3 * dim // 8 + 4, [rotated(vectors, 3, seed) for seed in range(3)]),
        "2 bits, rotated": (dim // 4 + 4, [rotated(vectors, 2, seed) for seed in range(3)]),
        **{
            f"{k} principal directions, 4 bits": (k // 2 + 4, [four_bits(vectors @ basis[:, :k]) @ basis[:, :k].T])
            for k in (96, 128, 160)
        },
    }
    print("\n| set | token vectors | bytes per passage | " + " | ".join(METRICS) + " |")
    print("|---|---|---|" + "---|" * len(METRICS))
    runs_of: dict[str, tuple[int, list[np.ndarray], np.ndarray]] = {
        label: (size * len(vectors), versions, start) for label, (size, versions) in variants.items()
    }
    for similar in (0.8, 0.7, 0.6):
        kept, kept_start = pruned(vectors, start, similar)
        label = f"within cosine {similar} dropped, 4 bits"
        runs_of[label] = ((dim // 2 + 4) * len(kept), [four_bits(kept)], kept_start)
    for label, (total, versions, starts) in runs_of.items():
        if args.only and not any(label.startswith(prefix) for prefix in args.only):
            continue
        for path in sets:
            runs = []
            for stored in versions:
                serve(kb, stored, starts)
                runs.append(evaluate(kb, load_questions(path, kb), parallel=False).metrics)
            mean = {k: float(np.mean([m.get(k, np.nan) for m in runs])) for k in METRICS}
            print(
                f"| {path.name} | {label}{f' (mean of {len(runs)})' if len(runs) > 1 else ''} | "
                f"{total / passages:,.0f} | " + " | ".join(f"{mean[k]:.3f}" for k in METRICS) + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
