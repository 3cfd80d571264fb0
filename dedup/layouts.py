"""Which segmenter reads a document: plain text, Markdown or HTML."""

from __future__ import annotations

from .html_units import segment_html
from .model import Document
from .segment import segment

LAYOUTS = ("auto", "text", "markdown", "html")
_BY_SUFFIX = {".md": "markdown", ".markdown": "markdown", ".html": "html", ".htm": "html"}


def segment_any(text: str, name: str = "-", layout: str = "auto") -> Document:
    """Segment by ``layout``; ``auto`` goes by the name's suffix (plain text otherwise)."""
    if layout == "auto":
        dot = name.rfind(".")
        layout = _BY_SUFFIX.get(name[dot:].lower(), "text") if dot >= 0 else "text"
    if layout == "html":
        return segment_html(text, name)
    if layout == "markdown":
        from .markdown_units import segment_markdown  # markdown-it loads only when needed

        return segment_markdown(text, name)
    return segment(text, name)
