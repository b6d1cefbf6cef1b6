"""cx-kb: a multilingual customer-experience knowledge base with cited answers."""

from .config import Settings
from .embedding import Embedder, load_model
from .errors import KBError
from .knowledge_base import KnowledgeBase, Stats
from .language import language_label, language_name
from .types import Answer, Chunk, Citation, Document, Hit, ModelIdentity, Point, Principle, Skipped

__all__ = [
    "Answer",
    "Chunk",
    "Citation",
    "Document",
    "Embedder",
    "Hit",
    "KBError",
    "KnowledgeBase",
    "ModelIdentity",
    "Point",
    "Principle",
    "Settings",
    "Skipped",
    "Stats",
    "language_label",
    "language_name",
    "load_model",
]
