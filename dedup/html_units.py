"""Units of an HTML document, cut with the standard library's parser, which gives source
positions (no other parser needed): the text of ``h1``-``h6``, ``p``, ``li`` and
``blockquote`` elements inside the article body (``<article>``, else ``<main>``, else
``<body>``, else the whole document).  A unit's span is its element's source, start tag
to end tag; its text is the element's text content (entities decoded, tags stripped).
A block that holds other blocks (a ``blockquote`` of paragraphs) is not itself a unit,
but a block whose only content is one block (``<li><p>…</p></li>``) is that block's unit,
spanning both, so that removing it leaves no empty element.  An unclosed ``<p>`` or
``<li>`` ends where HTML says it does: at the next block, or at its parent's end tag.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

from .model import Document, Unit, UnitKind
from .segment import mark_protected

Element = dict[str, Any]  # an open or closed element: tag, start, end, text, children, scopes

HEADINGS = {"h1", "h2", "h3", "h4", "h5", "h6"}
BLOCKS = HEADINGS | {"p", "li", "blockquote"}
CLOSES_P = HEADINGS | {
    "address",
    "article",
    "aside",
    "blockquote",
    "details",
    "div",
    "dl",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "header",
    "hgroup",
    "hr",
    "main",
    "menu",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "table",
    "ul",
    "li",
}
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
RAW = {"script", "style", "template", "textarea", "title"}
SCOPES = ("article", "main", "body")
_SPACE = re.compile(r"\s+")


class _Collector(HTMLParser):
    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.text = text
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.stack: list[Element] = []  # open elements
        self.blocks: list[Element] = []  # the open elements that are BLOCKS, innermost last
        self.lists: list[Element] = []  # the open li, ul and ol elements, innermost last
        self.open_tags: dict[str, int] = {}  # how many of each tag are open
        self.found: list[Element] = []  # closed block elements, in the order they close
        self.raw_depth = 0
        # Everything above is kept so that no step walks the whole stack: a page of
        # 100,000 nested elements costs linear time.

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        start = self._offset()
        if tag in CLOSES_P:
            self._close_implied("p", start)
        if tag == "li":
            self._close_implied("li", start)
        if tag in VOID:
            if tag == "br":
                self._data(" ")
            return
        if tag in RAW:
            self.raw_depth += 1
        parent = self.stack[-1] if self.stack else None
        scopes = parent["scopes"] if parent else frozenset()
        if parent and parent["tag"] in SCOPES and parent["tag"] not in scopes:
            scopes = scopes | {parent["tag"]}
        element: Element = {
            "tag": tag,
            "start": start,
            "text": [],
            "has_block": False,
            "children": [],
            "scopes": scopes,
        }
        self.stack.append(element)
        self.open_tags[tag] = self.open_tags.get(tag, 0) + 1
        if tag in BLOCKS:
            self.blocks.append(element)
        if tag in ("li", "ul", "ol"):
            self.lists.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self._data(" ")

    def handle_endtag(self, tag: str) -> None:
        start = self._offset()
        close = self.text.find(">", start)
        end = len(self.text) if close < 0 else close + 1
        if not self.open_tags.get(tag):
            return  # a stray end tag: nothing to close
        while self.stack:
            element = self._pop()
            if element["tag"] == tag:
                self._finish(element, end)
                break
            self._finish(element, _trim(self.text, start), implied=True)

    def _pop(self) -> Element:
        element = self.stack.pop()
        self.open_tags[element["tag"]] -= 1
        if self.blocks and self.blocks[-1] is element:
            self.blocks.pop()
        if self.lists and self.lists[-1] is element:
            self.lists.pop()
        return element

    def handle_data(self, data: str) -> None:
        if not self.raw_depth:
            self._data(data)

    def _data(self, data: str) -> None:
        if self.blocks:
            self.blocks[-1]["text"].append(data)

    def _close_implied(self, tag: str, at: int) -> None:
        """Close an open ``p`` (innermost block) or ``li`` (innermost of li, ul, ol)."""
        candidates = self.blocks if tag == "p" else self.lists
        if not candidates or candidates[-1]["tag"] != tag:
            return
        target = candidates[-1]
        while self.stack:
            element = self._pop()
            self._finish(element, _trim(self.text, at), implied=True)
            if element is target:
                return

    def _finish(self, element: Element, end: int, implied: bool = False) -> None:
        if element["tag"] in RAW:
            self.raw_depth -= 1
        if element["tag"] not in BLOCKS:
            return
        if self.blocks:  # the nearest open block holds this one (and, once it closes, its own)
            self.blocks[-1]["has_block"] = True
            self.blocks[-1]["children"].append(element)
        element["end"] = end
        self.found.append(element)

    def close(self) -> None:
        super().close()
        while self.stack:
            self._finish(self._pop(), _trim(self.text, len(self.text)), implied=True)


def _trim(text: str, end: int) -> int:
    """An implied end sits before the whitespace that precedes the next tag."""
    while end > 0 and text[end - 1].isspace():
        end -= 1
    return end


def segment_html(text: str, name: str = "-") -> Document:
    """Units of an HTML document, in source order."""
    collector = _Collector(text)
    collector.feed(text)
    collector.close()
    present = {scope for e in collector.found for scope in e["scopes"]}
    scope = next((s for s in SCOPES if s in present), None)
    outer = _outer_spans(collector.found)
    units: list[Unit] = []
    for element in sorted(collector.found, key=lambda e: e["start"]):
        content = _SPACE.sub(" ", "".join(element["text"])).strip()
        if element["has_block"] or not content or (scope and scope not in element["scopes"]):
            continue
        start, end = outer.get(id(element), (element["start"], element["end"]))
        units.append(
            Unit(
                index=len(units),
                kind=UnitKind.HEADLINE if element["tag"] in HEADINGS else UnitKind.PARAGRAPH,
                start=start,
                end=end,
                first_line=text.count("\n", 0, start) + 1,
                last_line=text.count("\n", 0, max(start, end - 1)) + 1,
                text=content,
            )
        )
    # <!-- dedup: off --> ... <!-- dedup: on --> protect the units between them, as in text.
    return Document(name=name, text=text, units=tuple(mark_protected(text, units)), layout="markup")


def _outer_spans(found: list[Element]) -> dict[int, tuple[int, int]]:
    """For a block that is the only content of its parents (``<li><p>x</p></li>``), the
    span of the outermost such parent, by the block's id."""
    leaf_of: dict[int, Element] = {}  # a parent's id -> the block it wraps
    spans: dict[int, tuple[int, int]] = {}
    for element in found:  # children close before their parents
        children = element["children"]
        if len(children) != 1 or "".join(element["text"]).strip():
            continue
        leaf = leaf_of.get(id(children[0]), children[0])
        leaf_of[id(element)] = leaf
        spans[id(leaf)] = (element["start"], element["end"])
    return spans


def markup_spans(document: Document, removed: set[int]) -> list[tuple[int, int]]:
    """Spans to delete for removed elements: the element, and the rest of its line(s)
    when it stands alone on them, so no blank line is left behind."""
    text = document.text
    spans = []
    for unit in document.units:
        if unit.index not in removed:
            continue
        start, end = unit.start, unit.end
        line_start = start
        while line_start > 0 and text[line_start - 1] in " \t":
            line_start -= 1
        line_end = end
        while line_end < len(text) and text[line_end] in " \t":
            line_end += 1
        at_line_start = line_start == 0 or text[line_start - 1] in "\r\n"
        ends_line = line_end == len(text) or text[line_end] in "\r\n"
        if at_line_start and ends_line:
            start = line_start
            end = line_end + (2 if text.startswith("\r\n", line_end) else 1 if line_end < len(text) else 0)
        spans.append((start, end))
    return spans
