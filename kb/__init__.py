"""cx-kb: a multilingual customer-experience knowledge base with cited answers."""

from .config import Settings
from .corpus import check_file, replaced_by
from .errors import IndexUnusable, KBError
from .gaps import GapReport, gap_report
from .knowledge_base import KnowledgeBase, Stats
from .language import language_label, language_name
from .model import Embedder, load_model
from .service import Job, Service
from .types import (
    Answer,
    Article,
    Chunk,
    Citation,
    Cut,
    Document,
    Hit,
    ModelIdentity,
    Point,
    Principle,
    Refusal,
    Skipped,
)

__all__ = [
    "Answer",
    "Article",
    "Chunk",
    "Citation",
    "Cut",
    "Document",
    "Embedder",
    "GapReport",
    "Hit",
    "IndexUnusable",
    "Job",
    "KBError",
    "KnowledgeBase",
    "ModelIdentity",
    "Point",
    "Principle",
    "Refusal",
    "Service",
    "Settings",
    "Skipped",
    "Stats",
    "check_file",
    "replaced_by",
    "gap_report",
    "language_label",
    "language_name",
    "load_model",
]
