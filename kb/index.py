"""The loaded index: one class that knows how rows relate (chunks, sentences, contexts, tokens, documents).

Search, answers, principles and the rebuild address chunks by *row* (0 .. len(index) - 1) and
sentences by *sentence row*; they ask this class for vectors, spans and neighbours and never do
row arithmetic of their own. Every vector it returns is float32.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .adapter import Adapter
from .errors import REBUILD_HINT, IndexUnusable, NotFound
from .language import numbers_in
from .model.languages import question_directions
from .storage.base import DocumentRecord, Manifest, Store, StoredVersion, VectorSearch
from .storage.tokens import TokenCode
from .translations import ALIGNMENT_WINDOW, align_sentences, works
from .types import Chunk, Document, Query, Skipped

CENTROID_SAMPLE = 5000  # vectors per language and vector set averaged for its mean (all in small corpora)


def language_means(
    languages: Iterable[str], sets: Iterable[tuple[Callable[[np.ndarray], np.ndarray], np.ndarray]]
) -> dict[str, np.ndarray]:
    """Each language's mean vector over vector sets together ((vectors of rows, language of each row)
    pairs: passages, sentences, contexts), from an even sample of each on a large index."""
    sets = list(sets)
    means = {}
    for lang in languages:
        parts = []
        for vectors, langs in sets:
            rows = np.flatnonzero(langs == lang)
            rows = rows[np.unique(np.linspace(0, len(rows) - 1, min(len(rows), CENTROID_SAMPLE)).astype(np.int64))]
            parts.append(vectors(rows))
        means[lang] = np.concatenate(parts).mean(axis=0)
    return means


def language_basis(means: Mapping[str, np.ndarray], dim: int) -> np.ndarray:
    """Orthonormal directions spanned by the differences between the languages' mean vectors.

    Removing them (`neutral`) is the low-rank language subspace removal of Xie et al. 2022
    ("Discovering low-rank subspaces for language-agnostic multilingual representations"),
    with the subspace estimated from the corpus itself.
    """
    if len(means) < 2:
        return np.zeros((0, dim), dtype=np.float32)
    stacked = np.stack(list(means.values()))
    _, singular, directions = np.linalg.svd(stacked - stacked.mean(axis=0), full_matrices=False)
    return directions[singular > 1e-6 * singular[0]].astype(np.float32)


def neutral(vectors: np.ndarray, basis: np.ndarray) -> np.ndarray:
    """`vectors` (one or a matrix of rows) without the directions of `basis`, L2-normalized again."""
    out = vectors - (vectors @ basis.T) @ basis
    norms = np.linalg.norm(out, axis=-1, keepdims=True)
    return (out / np.maximum(norms, 1e-12)).astype(np.float32)


def segment_max(values: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Per segment of `values` (runs of `counts[i]` consecutive rows), the maximum of each column; 0 for
    a segment without rows."""
    out = np.zeros((len(counts), values.shape[1]), dtype=np.float32)
    has = np.asarray(counts) > 0
    if has.any():
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        out[has] = np.maximum.reduceat(values, starts[has], axis=0)
    return out


@dataclass(frozen=True)
class SentenceRows:
    """The sentences of some chunks: their sentence rows, and which of the given chunks holds each."""

    rows: np.ndarray  # sentence rows
    owner: np.ndarray  # position, in the chunk rows asked about, of the chunk that holds each sentence


@dataclass(frozen=True)
class IndexHealth:
    """What `kb info` and `Stats` report about an index version beyond its counts."""

    format_version: int
    version: str
    documents: int
    chunks: int
    sentences: int
    token_vectors: int
    token_norms: tuple[float, float]  # smallest and largest stored token-vector norm (the encoder's are 1)
    skipped: tuple[Skipped, ...]
    question_adapter: bool  # fitted to the corpus (kb/adapter.py), or none (too few titles and headings)


class Index:
    """A verified index version, loaded (vectors memory-mapped, or in a database). Open with `Index.load(store)`."""

    def __init__(self, stored: StoredVersion) -> None:
        self.path: Path = stored.path
        self._stored = stored
        self.manifest: Manifest = stored.manifest
        self._documents = stored.documents  # by id; a database's are fetched when asked for
        self._heads = stored.heads
        self.document_languages: list[str] = sorted(set(stored.heads.langs))
        self._chunks = stored.chunks
        self._passages: VectorSearch = stored.chunk_vectors
        self._sentences: VectorSearch = stored.sentence_vectors
        self._contexts: VectorSearch = stored.context_vectors  # row r: chunk r + chunk r+1 of its document
        self._tokens = stored.tokens
        self._titles = stored.titles  # row i: the title vector of document heads.ids[i]
        self._title_tokens = stored.title_tokens  # row i: the token vectors of that title
        self._title_row = {doc_id: i for i, doc_id in enumerate(stored.heads.ids)}
        n = len(self._chunks)
        counts = self._chunks.sentence_counts
        self._first_sentence = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)  # (n + 1,)
        self._sentence_chunk = np.repeat(np.arange(n, dtype=np.int64), counts)
        doc_of = self._chunks.doc_of
        # a document's chunks are contiguous rows: [first, last)
        bounds = np.concatenate([[0], np.flatnonzero(doc_of[1:] != doc_of[:-1]) + 1, [n]]).tolist()
        self._doc_rows: dict[str, tuple[int, int]] = {
            self._chunks.doc_ids[int(doc_of[a])]: (a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if a < b
        }
        followed = np.flatnonzero(doc_of[1:] == doc_of[:-1])
        self._next = np.full(n, -1, dtype=np.int64)  # the next chunk of the same document, or -1
        self._previous = np.full(n, -1, dtype=np.int64)  # the previous chunk of the same document, or -1
        self._next[followed] = followed + 1
        self._previous[followed + 1] = followed
        chunk_langs = self._chunks.langs if n else np.array([""])
        self.languages: list[str] = sorted(set(chunk_langs.tolist())) if n else []
        self._lang_rows = {lang: np.flatnonzero(chunk_langs == lang) for lang in self.languages}
        sentence_langs = chunk_langs[self._sentence_chunk] if n else chunk_langs[:0]
        self._lang_sentences = {lang: np.flatnonzero(sentence_langs == lang) for lang in self.languages}
        self._filters: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}  # (kind, languages) -> rows
        sentence_of = self._sentence_chunk
        self._language_means = language_means(
            self.languages,
            (
                (self._passages.vectors, chunk_langs),
                (self._sentences.vectors, chunk_langs[sentence_of] if n else chunk_langs[:0]),
                (self._contexts.vectors, chunk_langs),
            ),
        )
        self._language_basis = language_basis(self._language_means, self.manifest.model.dimension)
        self.adapter = Adapter.from_array(stored.adapter)  # the question adapter fitted to this corpus
        # the title row of each document as the chunk columns number them (doc_of)
        self._title_of = np.array([self._title_row[d] for d in self._chunks.doc_ids], dtype=np.int64)
        self._title_numbers: dict[str, frozenset[str]] = {}  # by document, when a question names numbers
        self._foreign: dict[str, np.ndarray | None] = {}  # by question language (`foreign_direction`)
        self._works = self._group_translations()
        self._members: dict[str, list[str]] = {}  # work -> its documents (a lookup per hit, not a scan)
        for doc_id in sorted(self._works):
            self._members.setdefault(self._works[doc_id], []).append(doc_id)

    @classmethod
    def load(cls, store: Store) -> Index:
        """The current version in `store` (`kb.storage.open_store`; IndexUnusable when missing, corrupted
        or of another format)."""
        return cls(store.read())

    @property
    def version(self) -> str:
        """The name of the loaded version."""
        return self.manifest.version

    # -- documents and chunks ------------------------------------------------------------------

    def __len__(self) -> int:
        """Number of chunks (rows)."""
        return len(self._chunks)

    @property
    def documents(self) -> Mapping[str, Document]:
        """Every document by id (of a database: each read when asked for; `values()` reads them all at once)."""
        return self._documents

    @property
    def document_langs(self) -> dict[str, str]:
        """The language of every document, by id (without reading a document)."""
        return dict(zip(self._heads.ids, self._heads.langs, strict=True))

    def document(self, doc_id: str) -> Document:
        try:
            return self._documents[doc_id]
        except KeyError:
            known = ", ".join(sorted(self._heads.ids)[:20])
            raise NotFound(f"no document {doc_id!r}; known ids: {known}") from None

    def chunk(self, row: int) -> Chunk:
        return self._chunks[row]

    def doc_id_of(self, row: int) -> str:
        """The document of chunk `row`, from the columns (no record is read)."""
        return self._chunks.doc_ids[int(self._chunks.doc_of[row])]

    def lang_of(self, row: int) -> str:
        """The language of chunk `row`, from the columns (no record is read)."""
        return str(self._chunks.langs[row])

    def chunks(self) -> list[Chunk]:
        return list(self._chunks)

    def row_of(self, chunk_id: str) -> int:
        """The row of a chunk id ("<doc_id>#<n>", n counting the document's chunks from 0)."""
        doc_id, _, n = chunk_id.rpartition("#")
        first, last = self._doc_rows.get(doc_id, (0, 0))
        if n.isdigit() and first + int(n) < last and self._chunks[first + int(n)].chunk_id == chunk_id:
            return first + int(n)
        raise KeyError(chunk_id)

    def rows_of_document(self, doc_id: str) -> np.ndarray:
        first, last = self._doc_rows.get(doc_id, (0, 0))
        return np.arange(first, last, dtype=np.int64)

    def rows_in(self, languages: Iterable[str] | None) -> np.ndarray | None:
        """Chunk rows in `languages` (None: no filter)."""
        return self._filter("chunks", self._lang_rows, languages)

    def sentence_rows_in(self, languages: Iterable[str] | None) -> np.ndarray | None:
        """Sentence rows in `languages` (None: no filter)."""
        return self._filter("sentences", self._lang_sentences, languages)

    def _filter(self, kind: str, by_lang: dict[str, np.ndarray], languages: Iterable[str] | None) -> np.ndarray | None:
        # A question asks for the same languages several times (its hits, each language's evidence):
        # the union of large row sets is computed once per language set and kept.
        if languages is None:
            return None
        key = (kind, tuple(sorted(set(languages))))
        if key not in self._filters:
            if len(self._filters) > 64:
                self._filters.clear()
            self._filters[key] = _union(by_lang, key[1])
        return self._filters[key]

    # -- sentences -----------------------------------------------------------------------------

    def sentences_of(self, rows: np.ndarray) -> SentenceRows:
        """The sentence rows of chunks `rows`."""
        rows = np.asarray(rows, dtype=np.int64)
        first, last = self._first_sentence[rows], self._first_sentence[rows + 1]
        counts = last - first
        if not counts.sum():
            return SentenceRows(np.zeros(0, np.int64), np.zeros(0, np.int64))
        before = np.concatenate([[0], np.cumsum(counts)[:-1]])  # where each chunk's sentences begin in the answer
        sentence_rows = np.repeat(first - before, counts) + np.arange(int(counts.sum()), dtype=np.int64)
        return SentenceRows(sentence_rows.astype(np.int64), np.repeat(np.arange(len(rows)), counts))

    def sentences_of_document(self, doc_id: str) -> np.ndarray:
        first, last = self._doc_rows.get(doc_id, (0, 0))
        return np.arange(self._first_sentence[first], self._first_sentence[last], dtype=np.int64)

    def version_of(self, sentence_row: int, doc_id: str) -> tuple[int, float] | None:
        """The sentence row of document `doc_id` (a translation of the sentence's document) that says
        what sentence row `sentence_row` says, and their cosine; None if it has none
        (`translations.align_sentences`)."""
        own = self.sentences_of_document(self.doc_id_of(int(self._sentence_chunk[sentence_row])))
        other = self.sentences_of_document(doc_id)
        if not len(own) or not len(other):
            return None
        # aligned around the sentence, where a translation in proportion has its version: a manual of
        # 4,000 sentences took 0.3 s and 128 MB aligned whole
        n, m, i = len(own), len(other), sentence_row - int(own[0])
        first, last = max(0, i - ALIGNMENT_WINDOW), min(n, i + ALIGNMENT_WINDOW + 1)
        start, end = max(0, first * m // n - ALIGNMENT_WINDOW), min(m, -(-last * m // n) + ALIGNMENT_WINDOW)
        vectors = self.sentence_vectors(np.concatenate([own[first:last], other[start:end]]))  # one read
        similarity = vectors[: last - first] @ vectors[last - first :].T
        j = align_sentences(similarity).get(i - first)
        return None if j is None else (int(other[start + j]), float(similarity[i - first, j]))

    def sentence_chunk(self, sentence_rows: np.ndarray) -> np.ndarray:
        """The chunk row that holds each sentence row."""
        return self._sentence_chunk[np.asarray(sentence_rows, dtype=np.int64)]

    def section_of(self, row: int, offset: int) -> tuple[str, ...]:
        """The headings above body offset `offset` of chunk `row`'s document: those the reader found,
        else (a plain-text article) the heading the chunker found above the chunk."""
        chunk = self._chunks[row]
        found = self._documents[chunk.doc_id].section_at(offset)
        return found or ((chunk.heading,) if chunk.heading else ())

    def sentence_span(self, sentence_row: int, min_words: int = 0, intro_words: int = 0) -> tuple[int, int]:
        """Body offsets (start, end) of a sentence row in its document. With `min_words`, a sentence
        of fewer words runs on to the end of the next sentence of its passage, if it has one. With
        `intro_words`, a sentence of fewer words just before it on the same line introduces it."""
        row = int(self._sentence_chunk[sentence_row])
        chunk = self._chunks[row]
        k = sentence_row - int(self._first_sentence[row])
        start, end = chunk.sentences[k]
        words = len(chunk.text[start - chunk.start : end - chunk.start].split())
        if words < min_words and k + 1 < len(chunk.sentences):
            end = chunk.sentences[k + 1][1]
        if k > 0:
            before = chunk.sentences[k - 1][0]
            intro = chunk.text[before - chunk.start : start - chunk.start]
            if len(intro.split()) < intro_words and "\n" not in intro:
                start = before
        return start, end

    # -- vectors -------------------------------------------------------------------------------

    def chunk_vectors(self, rows: np.ndarray | None = None) -> np.ndarray:
        return self._passages.vectors(None if rows is None else np.asarray(rows, dtype=np.int64))

    def sentence_vectors(self, sentence_rows: np.ndarray) -> np.ndarray:
        return self._sentences.vectors(np.asarray(sentence_rows, dtype=np.int64))

    def contexts_around(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per chunk row, the vector of it read with the next chunk (`after`) and of the previous chunk
        read with it (`before`; its own context when it is the first of its document)."""
        rows = np.asarray(rows, dtype=np.int64)
        previous = self._previous[rows]
        before = np.where(previous >= 0, previous, rows)
        return self._contexts.vectors(rows), self._contexts.vectors(before)

    def title_query(self, doc_id: str) -> Query:
        """Document `doc_id`'s title as a question, as the model read it when the index was built (its
        vector and its word pieces' vectors), without the model."""
        row = np.array([self._title_row[doc_id]])
        tokens, _ = self._title_tokens.of(row)
        tokens /= np.maximum(np.linalg.norm(tokens, axis=1, keepdims=True), 1e-12)
        return Query(self._titles.vectors(row)[0], tokens.astype(np.float32))

    def title_vectors(self, rows: np.ndarray) -> np.ndarray:
        """Per chunk row, its document's title vector, language directions removed (`neutral`)."""
        documents = self._title_of[self._chunks.doc_of[np.asarray(rows, dtype=np.int64)]]
        wanted, at = np.unique(documents, return_inverse=True)
        return self.neutral(self._titles.vectors(wanted))[at]

    @property
    def token_code(self) -> TokenCode:
        """The codebook this version's token vectors are stored in."""
        return self._tokens.code

    def token_vectors(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The token vectors of chunks `rows` one chunk after another, where each chunk's begin, and how many."""
        rows = np.asarray(rows, dtype=np.int64)
        tokens, starts = self._tokens.of(rows)
        return tokens, starts, self._tokens.counts[rows].astype(np.int64)

    def token_cosines(self, query_tokens: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Cosines of the token vectors of chunks `rows` (one chunk after another, a row each) to
        `query_tokens` (a column each), where each chunk's begin, and how many it has."""
        rows = np.asarray(rows, dtype=np.int64)
        cosines, starts = self._tokens.cosines(rows, query_tokens)
        return cosines, starts, self._tokens.counts[rows].astype(np.int64)

    def title_word_matches(self, query_tokens: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """Per chunk row, the word match of its article's title, both ways (NaN for a title without any):
        the mean of how well the title covers the question (the mean over `query_tokens` of the best cosine
        to one of the title's token vectors) and how well the question covers the title (the mean over
        the title's token vectors of the best cosine to one of `query_tokens`). The second keeps a long
        title that holds the question's words among many others from matching as well as a title that
        is the question (help-centre dev hit@5 0.857 -> 0.861; docs/measurements.md)."""
        titles = self._title_of[self._chunks.doc_of[np.asarray(rows, dtype=np.int64)]]
        wanted, at = np.unique(titles, return_inverse=True)
        matches = np.full(len(wanted), np.nan, dtype=np.float32)
        counts = self._title_tokens.counts[wanted].astype(np.int64)
        if len(query_tokens) and counts.sum():
            cosines, _ = self._title_tokens.cosines(wanted, query_tokens)  # (title tokens, question tokens)
            covers_question = segment_max(cosines, counts).mean(axis=1)
            owner = np.repeat(np.arange(len(wanted)), counts)
            covers_title = np.bincount(owner, cosines.max(axis=1), len(wanted)) / np.maximum(counts, 1)
            has = counts > 0
            matches[has] = (covers_question[has] + covers_title[has]) / 2
        return matches[at]

    def title_numbers(self, doc_id: str) -> frozenset[str]:
        """The numbers document `doc_id`'s title names (`numbers_in`)."""
        if doc_id not in self._title_numbers:
            self._title_numbers[doc_id] = numbers_in(self.document(doc_id).title)
        return self._title_numbers[doc_id]

    def sentence_word_matches(self, row: int, cosines: np.ndarray) -> np.ndarray:
        """Per sentence of chunk `row`: the mean over the question's tokens of the best cosine to one of
        the token vectors read in that sentence (0 for a sentence none of the chunk's kept vectors is
        of). `cosines`: the chunk's token vectors against the question's (`token_cosines`)."""
        n = len(self._chunks[row].sentences)
        matches = np.zeros(n, dtype=np.float32)
        if not cosines.size:
            return matches
        numbers = self._tokens.sentences_of(row)
        for k in np.unique(numbers[numbers < n]):
            matches[k] = cosines[numbers == k].max(axis=0).mean()
        return matches

    def nearest(self, query_vector: np.ndarray, n: int, languages: Iterable[str] | None = None) -> np.ndarray:
        """Chunk rows worth scoring for a query: the nearest `n` chunks, the chunks of the nearest
        3n sentences, and both chunks of the nearest `n` contexts (optionally only in `languages`)."""
        langs = None if languages is None else tuple(sorted(set(languages)))
        rows = self.rows_in(langs)
        _, chunk_rows = self._passages.search(query_vector, n, rows, langs)
        _, sentence_rows = self._sentences.search(query_vector, 3 * n, self.sentence_rows_in(langs), langs)
        _, context_rows = self._contexts.search(query_vector, n, rows, langs)
        following = self._next[context_rows]
        following = following[following >= 0]
        found = np.concatenate([chunk_rows, self._sentence_chunk[sentence_rows], context_rows, following])
        found = np.unique(found.astype(np.int64))
        return found if rows is None else found[np.isin(found, rows)]

    # -- languages -----------------------------------------------------------------------------

    def language_mean(self, lang: str) -> np.ndarray:
        """The mean vector of a language's passages, sentences and contexts."""
        return self._language_means[lang]

    @property
    def language_basis(self) -> np.ndarray:
        """(r, dim) orthonormal directions that tell the corpus languages apart."""
        return self._language_basis

    def foreign_languages(self) -> list[str]:
        """The question languages `foreign_direction` corrects here."""
        return sorted(lang for lang in self._question_directions() if self.foreign_direction(lang) is not None)

    def foreign_direction(self, lang: str) -> np.ndarray | None:
        """The unit direction a question in `lang` carries and the corpus's passages do not: `lang`'s
        direction (kb/model/languages.py) less the mean of the corpus languages'. None when the corpus
        has articles in `lang`, or when the model's directions do not name it or any corpus language."""
        if lang not in self._foreign:
            known = self._question_directions()
            ours = [known[c] for c in self.languages if c in known]
            direction = None
            if lang in known and lang not in self.languages and ours:
                difference = known[lang] - np.mean(ours, axis=0)
                norm = float(np.linalg.norm(difference))
                direction = (difference / norm).astype(np.float32) if norm > 1e-6 else None
            self._foreign[lang] = direction
        return self._foreign[lang]

    def _question_directions(self) -> dict[str, np.ndarray]:
        model = self.manifest.model
        return question_directions(model.source_sha256, model.dimension)

    def neutral(self, vectors: np.ndarray) -> np.ndarray:
        """`vectors` (one or a matrix of rows) without the language directions, L2-normalized again.

        Cosines of neutral vectors compare what texts say rather than which language they say it
        in: the model otherwise scores anything in the question's own language higher.
        """
        return neutral(vectors, self._language_basis)

    # -- works (an article and its translations) ----------------------------------------------

    def work(self, doc_id: str) -> str:
        """The work a document belongs to, named by the smallest id among it and its translations."""
        return self._works[doc_id]

    def translations(self, doc_id: str) -> list[str]:
        """Documents that translate `doc_id` or that it translates (declared or discovered)."""
        return [d for d in self._members[self._works[doc_id]] if d != doc_id]

    def _group_translations(self) -> dict[str, str]:
        """Works from the `translation_of` headers and the translations discovered at build time (manifest)."""
        heads = self._heads
        links = list(zip(heads.ids, heads.translation_of, strict=True))
        return works(heads.ids, links + [(a, b) for a, b, _ in self.manifest.translations])

    # -- whole documents and health ----------------------------------------------------------------

    def record(self, doc_id: str) -> DocumentRecord:
        """Everything stored for one document (what a rebuild reuses for an unchanged article)."""
        rows = self.rows_of_document(doc_id)  # none for a document without a word to index ("12345")
        # a document's chunks are consecutive rows: its token vectors are copied as stored
        tokens = self._tokens.chunks(int(rows[0]), int(rows[-1]) + 1) if len(rows) else self._tokens.chunks(0, 0)
        return DocumentRecord(
            document=self.document(doc_id),
            chunks=tuple(self._chunks[r] for r in rows.tolist()),
            chunk_vectors=self.chunk_vectors(rows),
            sentence_vectors=self.sentence_vectors(self.sentences_of_document(doc_id)),
            context_vectors=self._contexts.vectors(rows),
            token_vectors=tokens,
            title_vector=self._titles.vectors(np.array([self._title_row[doc_id]]))[0],
            title_tokens=self._title_tokens.chunks(self._title_row[doc_id], self._title_row[doc_id] + 1),
            heading_vectors=self._stored.headings(self._title_row[doc_id]),
        )

    def check_intact(self) -> None:
        """Raise KBError when a memory-mapped file of this version was damaged while it was loaded."""
        if damage := self._stored.damage():
            raise IndexUnusable(f"{damage}; {REBUILD_HINT} --full")

    def health(self) -> IndexHealth:
        m = self.manifest
        return IndexHealth(
            format_version=m.format_version,
            version=m.version,
            documents=len(self._heads.ids),
            chunks=len(self._chunks),
            sentences=len(self._sentence_chunk),
            token_vectors=m.counts.tokens,
            token_norms=m.token_norms,
            skipped=m.skipped,
            question_adapter=self.adapter.fitted,
        )


def _union(by_language: dict[str, np.ndarray], languages: Iterable[str]) -> np.ndarray:
    parts = [by_language[lang] for lang in sorted(set(languages)) if lang in by_language]
    return np.sort(np.concatenate(parts)).astype(np.int64) if parts else np.zeros(0, np.int64)
