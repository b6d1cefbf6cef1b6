"""Small dataclasses that flow through the pipeline: Document, Chunk, Hit, Citation, Point, Answer."""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Document:
    """One article: metadata plus the exact body text that citations point into."""

    doc_id: str
    title: str
    lang: str
    body: str
    source: str = ""
    published: str = ""
    translation_of: str = ""
    path: str = ""  # corpus file name, relative to the corpus directory
    content_hash: str = ""  # sha256 of the file's bytes
    format: str = "text"  # the reader that extracted the body: text, markdown, html, pdf, docx
    sections: tuple[tuple[int, int, str], ...] = ()  # headings: (body offset, level 1-6, text), in order
    pages: tuple[int, ...] = ()  # paged formats: body offset where page 1, 2, ... begins
    meta: dict[str, str] = field(default_factory=dict)  # other metadata of the file (author, tags, ...)

    def page_at(self, offset: int) -> int:
        """The page (from 1) that holds body[offset], or 0 for a document without pages."""
        return bisect.bisect_right(self.pages, offset) if self.pages else 0

    def section_at(self, offset: int) -> tuple[str, ...]:
        """The headings above body[offset], outermost first ("Returns", "Refund timelines")."""
        path: list[tuple[int, str]] = []
        for start, level, text in self.sections:
            if start > offset:
                break
            while path and path[-1][0] >= level:
                path.pop()
            path.append((level, text))
        return tuple(text for _, text in path)

    def paragraph_span(self, start: int, end: int) -> tuple[int, int]:
        """The span of the line(s) (paragraph) that contain body[start:end]."""
        left = self.body.rfind("\n", 0, start) + 1
        right = self.body.find("\n", end)
        return left, len(self.body) if right < 0 else right


@dataclass(frozen=True)
class Chunk:
    """A span of a document body: `document.body[start:end] == text`."""

    chunk_id: str
    doc_id: str
    lang: str
    paragraph: int  # index of the first paragraph the chunk covers
    start: int
    end: int
    text: str
    heading: str = ""  # the section heading above the chunk (context, not part of `text`)
    sentences: tuple[tuple[int, int], ...] = ()  # absolute offsets of each sentence in the body

    def text_at(self, span: tuple[int, int]) -> str:
        """The text of an absolute body span that lies inside this chunk."""
        return self.text[span[0] - self.start : span[1] - self.start]


@dataclass(frozen=True)
class Query:
    """A question as the model reads it: one vector for its meaning, one per word piece for its words."""

    vector: np.ndarray  # (dim,), L2-normalized
    tokens: np.ndarray  # (n, dim), L2-normalized token vectors (see Embedder.encode_query)


def location(page: int, section: tuple[str, ...]) -> str:
    """ "p. 3 · Returns › Refund timelines" (either part left out when unknown)."""
    return " · ".join(([f"p. {page}"] if page else []) + ([" › ".join(section)] if section else []))


@dataclass(frozen=True)
class Hit:
    """A chunk returned by search, its score (cosine of it or its best sentence, raised toward its context) and rank."""

    chunk_id: str
    doc_id: str
    title: str
    lang: str
    text: str
    start: int
    end: int
    score: float
    rank: int
    heading: str = ""
    page: int = 0  # the page of the source where the passage starts (PDF), else 0
    section: tuple[str, ...] = ()  # the headings above the passage, outermost first

    @property
    def location(self) -> str:
        """Where the passage starts, for people: "p. 3 · Returns › Refund timelines"."""
        return location(self.page, self.section)


@dataclass(frozen=True)
class Citation:
    """A quote backing a point of an answer; `start`/`end` locate it in the document body."""

    n: int
    doc_id: str
    title: str
    lang: str
    quote: str
    start: int
    end: int
    score: float
    chunk_id: str = ""
    # The same sentence in the article's translations (same n), aligned by embedding similarity.
    parallels: tuple[Citation, ...] = ()
    page: int = 0  # the page of the source that holds the quote (PDF), 0 when the source has no pages
    section: tuple[str, ...] = ()  # the headings above the quote, outermost first
    source: str = ""  # where the document comes from: its URL when known, else its corpus file

    @property
    def location(self) -> str:
        """Where the quote sits, for people: "p. 3 · Returns › Refund timelines"."""
        return location(self.page, self.section)


@dataclass(frozen=True)
class Point:
    """One point of an answer: a quoted sentence and the citations that back it (one per article; a
    translation's version of the same sentence is among each citation's `parallels`)."""

    text: str  # the quote of its first citation
    citations: tuple[Citation, ...]

    @property
    def markers(self) -> str:
        return "".join(f"[{c.n}]" for c in self.citations)


@dataclass(frozen=True)
class Cut:
    """How a question too long to read whole was shortened: to its first `limit` characters, or to the
    model's limit of `limit` tokens (`unit`)."""

    unit: str  # "characters" or "tokens"
    limit: int

    @property
    def text(self) -> str:
        """In English; the app says it in the reader's language from the same catalog entry."""
        from .messages import Messages

        return Messages("en")(f"cut_{self.unit}", n=self.limit)


@dataclass(frozen=True)
class Answer:
    """An extractive answer: `points` (structured) and `text` (the same as plain text, with [n] markers)."""

    question: str
    query_lang: str
    text: str
    citations: list[Citation]
    confident: bool
    points: list[Point] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    cut: Cut | None = None  # how the question was shortened, if it was
    # not confident because passages of other articles come as close as point 1's: several answer, or
    # search cannot tell which does (the reader should compare the first points)
    contested: bool = False

    @property
    def notice(self) -> str:
        """What the reader should know about how the question was read ("" when nothing), in English."""
        return self.cut.text if self.cut else ""

    def markdown(self, sources: str = "Sources") -> str:
        """The answer as Markdown to paste elsewhere: the question, the points with their [n] markers,
        then each source with its quote, where it sits and where it comes from (`sources`: that heading)."""
        lines = [f"**{_md(self.question)}**", ""]
        lines += [f"- {_md(p.text)} {p.markers}" for p in self.points] or [_md(self.text)]
        lines += ["", f"**{_md(sources)}**", ""]
        for c in self.citations:
            for version in (c, *c.parallels):
                where = " · ".join(_md(x) for x in (version.location, version.source) if x)
                lines.append(f"[{c.n}] *{_md(version.title)}* ({version.lang}){' · ' + where if where else ''}")
                lines.append(f"> {_md(' '.join(version.quote.split()))}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def by_language(self) -> dict[str, list[Citation]]:
        """The evidence per language: every cited sentence and parallel version, grouped by language."""
        out: dict[str, list[Citation]] = {}
        for c in self.citations:
            for version in (c, *c.parallels):
                out.setdefault(version.lang, []).append(version)
        return out


@dataclass(frozen=True)
class Article:
    """One article of the library: what it is, where it comes from and what the index holds of it."""

    doc_id: str
    title: str
    lang: str
    source: str  # its URL when known, else its corpus file
    published: str
    format: str
    passages: int
    translations: dict[str, str]  # the ids of its other-language versions -> their languages


@dataclass(frozen=True)
class ModelIdentity:
    """What an index needs to know about the model that produced its vectors."""

    name: str
    source_sha256: str
    dimension: int
    prompts: dict[str, str]
    normalize: bool
    max_tokens: int

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source_sha256": self.source_sha256,
            "dimension": self.dimension,
            "prompts": dict(self.prompts),
            "normalize": self.normalize,
            "max_tokens": self.max_tokens,
        }


@dataclass(frozen=True)
class Skipped:
    """A corpus file that was not indexed, and why."""

    path: str
    reason: str
    sha256: str = ""  # of the file's bytes ("" when unreadable), so fixing the file makes the index stale


@dataclass(frozen=True)
class Refusal:
    """A file offered to the corpus (`kb add`, the app's uploader) that would not be indexed, refused
    before it is written. `kind`: "name", "format", "size", "empty", "unreadable" or "duplicate" (the
    same article as one the corpus keeps), for a message in the reader's language; `detail`: the reason
    in English, with what to do."""

    name: str
    kind: str
    detail: str
    size: int = 0  # the file's bytes, and the most its format may have (kind "size")
    limit: int = 0
    article: str = ""  # kind "duplicate": the article it is a copy of (title · file)


@dataclass(frozen=True)
class IndexSpec:
    """How vector sets are searched: exact up to `exact_max` rows, an HNSW graph above (kb/storage/faiss.py)."""

    exact_max: int = 20_000
    hnsw_m: int = 32  # neighbours per node
    ef_construction: int = 64  # candidates kept while inserting
    ef_search: int = 256  # candidates kept while searching (recall@10 0.96 at 1M: bench/scale.py)


@dataclass(frozen=True)
class Principle:
    """A point the corpus makes in several passages: a representative sentence and every passage saying it."""

    statement: Citation  # the sentence that best states it (also citations[0])
    citations: tuple[Citation, ...]  # one sentence per passage that makes the point
    languages: tuple[str, ...]  # the languages it is made in
    works: int  # distinct works (an article and its translations count once)


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>#|])")


def _md(text: str) -> str:
    """`text` with the characters Markdown would act on escaped."""
    return _MD_SPECIAL.sub(r"\\\1", text)
