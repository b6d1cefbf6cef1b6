"""The token-vector codec: which token vectors a passage keeps, and how they are stored (product quantization).

Every backend stores what `TokenVectors.arrays` and `TokenVectors.chunk` give and reads it back with
`TokenVectors` (all chunks) or `TokenVectors.of_chunks` (some); none derives offsets or code sizes itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import REBUILD_HINT, KBError

# A passage keeps a token vector only if no vector it already keeps is this similar (cosine): a
# repeated or near-same word piece adds nothing to "the best cosine to one of the passage's tokens".
# bench/token_compression.py: 12.2 -> 8.3 KB a passage on the help centre, its MRR 0.645 -> 0.654;
# development / check sets 0.871 / 0.852 -> 0.866 / 0.852 (0.8: 10.0 KB; 0.6 lost 0.04).
DISTINCT_TOKENS = 0.7


def distinct_tokens(
    tokens: np.ndarray, sentences: np.ndarray | None = None, similar: float = DISTINCT_TOKENS
) -> np.ndarray:
    """Which rows of `tokens` (unit vectors) are kept (a boolean mask): each, in order, unless a row
    kept before it in the same sentence (`sentences`: each row's sentence; None: one sentence) is at
    cosine `similar` or more. Within a sentence, so that every sentence keeps its own words for
    choosing the sentence an answer cites (6 % more vectors on the bundled corpus)."""
    kept = np.ones(len(tokens), dtype=bool)
    if len(tokens) < 2:
        return kept
    near = np.tril((tokens @ tokens.T) >= similar, -1)  # row i: the rows before it that are that close
    if sentences is not None:
        near &= sentences[:, None] == sentences[None, :]
    for i in np.flatnonzero(near.any(axis=1)):  # in order; a row with no close row before it is kept
        kept[i] = not (near[i] & kept).any()
    return kept


# Token vectors are stored as product-quantization codes (Jégou et al. 2011): a vector is cut into
# sub-vectors of CODE_DIMS dimensions and each is replaced by the number (CODE_BITS) of the nearest
# of 2**CODE_BITS centroids, learned once per model (kb/build.py `token_code`). 384 dimensions: 96
# bytes a vector instead of 196 in 4 bits a dimension (index format 7) or 1,536 as float32; vectors
# come back at cosine 0.96 to the originals (bench/token_compression.py). 6 dimensions in 10 bits
# (80 bytes, cosine 0.945) decode in numpy at 4.6 ms for a question's 6,000 candidate tokens, these
# in faiss at 1.7 ms; 6 dimensions in 8 bits (64 bytes, cosine 0.917) lost ~0.007 MRR.
CODE_DIMS = 4
CODE_BITS = 8


class TokenCode:
    """The codebook token vectors are stored in: (sub-vectors, 2**bits, dimensions) float32 centroids."""

    def __init__(self, centroids: np.ndarray) -> None:
        import faiss

        self.centroids = np.ascontiguousarray(centroids, dtype=np.float32)
        parts, k, width = self.centroids.shape
        bits = int(k).bit_length() - 1
        if k != 1 << bits or not np.isfinite(self.centroids).all():
            raise KBError(f"a token codebook of shape {self.centroids.shape} is not one this code writes")
        self._pq: Any = faiss.ProductQuantizer(parts * width, parts, bits)
        faiss.copy_array_to_vector(self.centroids.ravel(), self._pq.centroids)
        self.digest = hashlib.sha256(self.centroids.tobytes()).hexdigest()[:16]

    @classmethod
    def train(cls, vectors: np.ndarray, bits: int = CODE_BITS, width: int = CODE_DIMS) -> TokenCode:
        """A codebook for unit vectors like `vectors` (k-means per sub-vector; deterministic: fixed seed)."""
        import faiss

        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        dim = vectors.shape[1]
        width = next(w for w in (width, 4, 3, 2, 1) if dim % w == 0)
        pq = faiss.ProductQuantizer(dim, dim // width, bits)
        pq.cp.niter = 15
        pq.cp.min_points_per_centroid = 1  # a few thousand sentences are enough (the warning is for 39 a centroid)
        _one_thread()
        pq.train(vectors)
        return cls(faiss.vector_to_array(pq.centroids).reshape(dim // width, 1 << bits, width))

    @classmethod
    def from_bytes(cls, data: bytes, shape: Sequence[int]) -> TokenCode:
        """A codebook from `to_bytes` and its `shape`."""
        return cls(np.frombuffer(data, dtype="<f4").reshape(tuple(shape)))

    def to_bytes(self) -> bytes:
        """The centroids as little-endian float32 (with `centroids.shape`, all `from_bytes` needs)."""
        return self.centroids.astype("<f4").tobytes()

    @staticmethod
    def code_size_of(shape: Sequence[int]) -> int:
        """Bytes a vector takes in a codebook of centroids of `shape` (sub-vectors, 2**bits, dimensions)."""
        parts, k, _ = shape
        return -(-parts * (int(k).bit_length() - 1) // 8)

    @property
    def dim(self) -> int:
        return int(self._pq.d)

    @property
    def code_size(self) -> int:
        return int(self._pq.code_size)

    def encode(self, vectors: np.ndarray) -> np.ndarray:
        """(n, code_size) uint8 codes of unit vectors (anything else is a bug upstream: refused)."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32).reshape(-1, self.dim)
        norms = np.linalg.norm(vectors, axis=1)
        if len(norms) and not (np.abs(norms - 1.0) <= 0.01).all():
            raise KBError(
                f"refusing to encode token vectors of norms {norms.min():.3f}–{norms.max():.3f} (unit vectors expected)"
            )
        if not len(vectors):
            return np.zeros((0, self.code_size), np.uint8)
        _one_thread()
        return self._pq.compute_codes(vectors)

    def reconstruct(self, codes: np.ndarray) -> np.ndarray:
        """The centroids codes name, put together (not yet unit length)."""
        if not len(codes):
            return np.zeros((0, self.dim), np.float32)
        _one_thread()
        return self._pq.decode(np.ascontiguousarray(codes, dtype=np.uint8))

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Unit float32 vectors from codes (scores then keep the encoder's scale)."""
        out = self.reconstruct(codes)
        out *= _inverse_norms(out)[:, None]
        return out


def _inverse_norms(rows: np.ndarray) -> np.ndarray:
    """1 / the length of each row (einsum: np.linalg.norm took twice as long on a question's candidates)."""
    return 1.0 / np.sqrt(np.maximum(np.einsum("ij,ij->i", rows, rows), 1e-24))


def _one_thread() -> None:
    # Encoding and decoding are small, and OpenMP threads in a process that forks (a rebuild in a
    # child process) can leave the child waiting for threads it does not have.
    import faiss

    faiss.omp_set_num_threads(1)


class TokenVectors:
    """Every chunk's token vectors: codes in one `TokenCode` on disk; out, unit float32 vectors only.
    With each vector, the number of the sentence of its chunk it was read in.

    All chunks of an index share one code (the writer refuses a mix: a reused article keeps its
    codes only when the code is the same)."""

    def __init__(self, codes: np.ndarray, counts: np.ndarray, sentences: np.ndarray, code: TokenCode) -> None:
        self._codes, self.counts, self.sentences, self.code = codes, counts, sentences, code
        self._start = np.concatenate([[0], np.cumsum(counts, dtype=np.int64)])

    @classmethod
    def encode(cls, per_chunk: Sequence[np.ndarray], sentences: Sequence[np.ndarray], code: TokenCode) -> TokenVectors:
        """Unit float32 token vectors, one (tokens, dim) matrix per chunk, encoded; `sentences[i]`: the
        sentence of chunk i each of its vectors was read in."""
        numbers = [np.asarray(s, dtype=np.uint16) for s in sentences]
        if [len(s) for s in numbers] != [len(t) for t in per_chunk]:
            raise ValueError("one sentence number per token vector")
        return cls(
            code.encode(stack_rows(per_chunk, code.dim)),
            np.array([len(t) for t in per_chunk], np.int32),
            np.concatenate(numbers or [np.zeros(0, np.uint16)]).astype(np.uint16),
            code,
        )

    @classmethod
    def concat(cls, parts: Sequence[TokenVectors], code: TokenCode) -> TokenVectors:
        """Several sets of chunks' token vectors, one after another (all in `code`)."""
        if any(p.code.digest != code.digest for p in parts):
            raise KBError(f"token vectors in different codes cannot share an index (a bug); {REBUILD_HINT} --full")
        return cls(
            np.concatenate([p._codes for p in parts] or [np.zeros((0, code.code_size), np.uint8)]),
            np.concatenate([p.counts for p in parts] or [np.zeros(0, np.int32)]).astype(np.int32),
            np.concatenate([p.sentences for p in parts] or [np.zeros(0, np.uint16)]).astype(np.uint16),
            code,
        )

    @classmethod
    def of_chunks(cls, codes: Sequence[bytes], sentences: Sequence[bytes], code: TokenCode) -> TokenVectors:
        """Chunks' token vectors from what `chunk` gave for each, in order."""
        size = code.code_size
        rows = [np.frombuffer(c, dtype=np.uint8).reshape(-1, size) for c in codes]
        return cls(
            np.concatenate(rows) if rows else np.zeros((0, size), np.uint8),
            np.array([len(r) for r in rows], dtype=np.int32),
            np.concatenate([np.frombuffer(s, dtype="<u2") for s in sentences]).astype(np.uint16)
            if sentences
            else np.zeros(0, np.uint16),
            code,
        )

    def chunk(self, i: int) -> tuple[bytes, bytes]:
        """Chunk i's codes and the sentence of each (uint16, little-endian), as bytes (`of_chunks` reads them)."""
        span = slice(int(self._start[i]), int(self._start[i + 1]))
        return (
            np.ascontiguousarray(self._codes[span], dtype=np.uint8).tobytes(),
            np.asarray(self.sentences[span], dtype="<u2").tobytes(),
        )

    def chunks(self, first: int, stop: int) -> TokenVectors:
        """Chunks first..stop-1, copied out of this set (of a memory-mapped file: into memory)."""
        a, b = int(self._start[first]), int(self._start[stop])
        return TokenVectors(
            np.array(self._codes[a:b]),
            np.array(self.counts[first:stop], np.int32),
            np.array(self.sentences[a:b], np.uint16),
            self.code,
        )

    def per_chunk(self) -> tuple[np.ndarray, ...]:
        """Decoded float32 token vectors, one (tokens, dim) matrix per chunk."""
        decoded = self.code.decode(self._codes)
        return tuple(np.split(decoded, self._start[1:-1])) if len(self.counts) else ()

    def sentences_of(self, row: int) -> np.ndarray:
        """The sentence numbers of chunk `row`'s vectors, in order."""
        return np.asarray(self.sentences[int(self._start[row]) : int(self._start[row + 1])], dtype=np.int64)

    def sentences_per_chunk(self) -> tuple[np.ndarray, ...]:
        """The sentence numbers of each chunk's vectors, as `per_chunk` splits them."""
        return tuple(np.split(np.asarray(self.sentences), self._start[1:-1])) if len(self.counts) else ()

    @property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(codes, counts, sentences, centroids): what the token files hold."""
        return self._codes, self.counts, self.sentences, self.code.centroids

    def __len__(self) -> int:
        return len(self.counts)

    def of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The token vectors of chunks `rows`, one chunk after another, and where each chunk's begin."""
        picked, starts = self._picked(rows)
        return self.code.decode(self._codes[picked]), starts

    def cosines(self, rows: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(stored tokens of `rows`, query rows) cosines of the token vectors of chunks `rows` (one chunk
        after another) to the unit vectors `query`, and where each chunk's begin. The same as `of`'s
        vectors times `query`, without making every vector unit length first (1.5 ms a question)."""
        picked, starts = self._picked(rows)
        raw = self.code.reconstruct(self._codes[picked])
        cosines = raw @ np.asarray(query, dtype=np.float32).T
        cosines *= _inverse_norms(raw)[:, None]
        return cosines, starts

    def _picked(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Stored vector numbers of chunks `rows` in order, and where each chunk's begin among them."""
        rows = np.asarray(rows, dtype=np.int64)
        counts = self.counts[rows].astype(np.int64)
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64) if len(rows) else counts
        picked = np.repeat(self._start[rows] - starts, counts) + np.arange(int(counts.sum()), dtype=np.int64)
        return picked, starts

    def norm_range(self, sample: int = 65536) -> tuple[float, float]:
        """Smallest and largest norm of (an even sample of at most `sample` of) the stored vectors as
        reconstructed, before they are made unit again: how far the code is from the vectors it
        stores ((0, 0) when there are none). A sample finds codes read with the wrong codebook, and
        keeps this check from decoding a large index whole at every rebuild."""
        if not len(self._codes):
            return 0.0, 0.0
        rows = np.unique(np.linspace(0, len(self._codes) - 1, min(sample, len(self._codes))).astype(np.int64))
        norms = 1.0 / _inverse_norms(self.code.reconstruct(self._codes[rows]))
        return float(norms.min()), float(norms.max())


def stack_rows(parts: Sequence[np.ndarray], dim: int) -> np.ndarray:
    """Row blocks of `dim` columns, one under another, as float32 (0 rows when there are none)."""
    parts = [p for p in parts if len(p)]
    return np.vstack(parts).astype(np.float32) if parts else np.zeros((0, dim), dtype=np.float32)
