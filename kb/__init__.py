"""cx-kb: a multilingual customer-experience knowledge base with cited answers."""

from .config import Settings
from .embedding import Embedder, load_model
from .errors import KBError
from .knowledge_base import KnowledgeBase
from .types import Answer, Chunk, Citation, Document, Hit, ModelIdentity, Principle

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
    "Principle",
    "Settings",
    "load_model",
]
