"""dedup: find and remove repeated headlines and paragraphs in articles.

The names below load on first use, so that the command starts (``--help``, ``--version``,
and a Ctrl-C at any moment) without importing the engine."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "Cleaner": "api",
    "FileOutcome": "api",
    "clean_text": "api",
    "clean_texts": "api",
    "CleanResult": "model",
    "Document": "model",
    "Keep": "model",
    "Method": "model",
    "NearMiss": "model",
    "Options": "model",
    "Removal": "model",
    "Unit": "model",
    "UnitKind": "model",
    "UnitRef": "model",
    "discover": "read",
    "segment": "segment",
}

__all__ = sorted([*_WHERE, "__version__"])


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'dedup' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from .api import Cleaner, FileOutcome, clean_text, clean_texts
    from .model import CleanResult, Document, Keep, Method, NearMiss, Options, Removal, Unit, UnitKind, UnitRef
    from .read import discover
    from .segment import segment
