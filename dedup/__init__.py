"""dedup: find and remove repeated headlines and paragraphs in articles."""

from .api import Cleaner, FileOutcome, clean_text, clean_texts
from .model import (
    CleanResult,
    Document,
    Keep,
    Method,
    NearMiss,
    Options,
    Removal,
    Unit,
    UnitKind,
    UnitRef,
)
from .read import discover
from .segment import segment

__version__ = "0.1.0"

__all__ = [
    "CleanResult",
    "Cleaner",
    "Document",
    "FileOutcome",
    "Keep",
    "Method",
    "NearMiss",
    "Options",
    "Removal",
    "Unit",
    "UnitKind",
    "UnitRef",
    "__version__",
    "clean_text",
    "clean_texts",
    "discover",
    "segment",
]
