"""Report files people read and machines parse: JSON, Markdown, SARIF, GitHub annotations.

A run keeps one small ``FileRecord`` per file (removals with line, character and byte
spans; the original text only when the HTML report needs it) and writes the report at
the end; the JSON report (``json_report``) goes out a file at a time.  Article text never
acts as markup: Markdown is escaped, GitHub workflow command text is escaped, JSON and
SARIF are plain data.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from . import __version__
from .model import CleanResult, Options, Removal

FORMATS = ("json", "md", "html", "sarif")
# A file name that is not UTF-8 holds surrogate escapes: in JSON they read back as \udcNN
# escapes (the name's bytes), in the other formats as that text.
REPORT_ENCODING = ("utf-8", "backslashreplace")
NORMALIZATION = "nfkc+casefold+typography+markup+whitespace; compare words only, no read-more tail"
RULES = {
    "exact": ("DD001", "exact-repeat", "A unit repeats a kept unit exactly (after normalisation)."),
    "near": ("DD002", "near-repeat", "A unit repeats a kept unit with light noise (typos, punctuation)."),
    "headline": ("DD003", "repeated-headline", "A headline is repeated (markup, case or site suffix aside)."),
}
_RULE_HELP = {
    "exact": "The paragraph or headline says word for word what a kept unit earlier in the file (or, with "
    "--across-files, in an earlier file) says; case, spacing, quotes and Markdown emphasis aside. "
    "`dedup clean` removes it; the kept copy stays where it is.",
    "near": "The unit repeats a kept unit with noise a reader would not call a change: typos and OCR slips "
    "into non-words, a word split or joined, a filler word, a read-more tail. Units that differ in a "
    "number, name, direction word, negation or a real word are never near repeats.",
    "headline": "The article's headline (or a heading) appears again, in another markup, case or with a site "
    "suffix. `dedup clean` removes the repeat.",
}


@dataclass
class RemovalRecord:
    """One removed unit, located in its file and tied to its kept twin."""

    lines: tuple[int, int]
    chars: tuple[int, int]
    bytes: tuple[int, int]
    kind: str
    method: str
    score: float
    excerpt: str
    twin_file: str
    twin_lines: tuple[int, int]
    twin_chars: tuple[int, int]
    twin_excerpt: str
    text: str = ""  # whole texts, kept for the HTML report only
    twin_text: str = ""


@dataclass
class FileRecord:
    """What happened to one file."""

    uri: str  # relative to the working folder when inside it (absolute outside it)
    encoding: str
    changed: bool
    chars_removed: int
    bytes_removed: int
    removals: list[RemovalRecord] = field(default_factory=list)
    near_misses: list[dict[str, Any]] = field(default_factory=list)
    deleted_bytes: list[tuple[int, int]] = field(default_factory=list)
    original: str | None = None  # kept only for the HTML report


def uri_for(name: str) -> str:
    """A path relative to the working folder (POSIX), or the absolute path outside it."""
    if name == "-":
        return "-"
    absolute = os.path.abspath(name)
    relative = os.path.relpath(absolute)
    return Path(absolute).as_posix() if relative.startswith("..") else Path(relative).as_posix()


def record(result: CleanResult, encoding: str, bom: bytes, keep_text: bool) -> FileRecord:
    """A FileRecord for a cleaned document, with byte offsets in its own encoding."""
    text = result.original
    spans = result.deleted
    wanted = [x for r in result.removals for x in (r.unit.start, r.unit.end)]
    wanted += [x for span in spans for x in span]
    byte_at = byte_offsets(text, encoding, len(bom), wanted)
    return FileRecord(
        uri=uri_for(result.name),
        encoding=encoding,
        changed=result.changed,
        chars_removed=result.chars_removed,
        bytes_removed=sum(byte_at[end] - byte_at[start] for start, end in spans),
        removals=[_removal_record(r, byte_at, text if keep_text else None) for r in result.removals],
        near_misses=[
            {
                "lines": [m.unit.first_line, m.unit.last_line],
                "resembles": {"file": uri_for(m.twin.document), "lines": [m.twin.first_line, m.twin.last_line]},
                "score": round(m.score, 2),
                "reason": m.reason,
            }
            for m in result.near_misses
        ],
        deleted_bytes=[(byte_at[start], byte_at[end]) for start, end in spans],
        original=text if keep_text and result.changed else None,
    )


def byte_offsets(text: str, encoding: str, bom: int, offsets: list[int]) -> dict[int, int]:
    """Byte offset in the encoded file (BOM included) of each character offset, in one
    pass over the text however many offsets are asked for."""
    result: dict[int, int] = {}
    if text.isascii() and not encoding.startswith(("utf-16", "utf-32")):
        return {offset: bom + offset for offset in offsets}
    position, size = 0, bom
    for offset in sorted(set(offsets)):
        size += len(text[position:offset].encode(encoding))
        position = offset
        result[offset] = size
    return result


def _removal_record(removal: Removal, byte_at: dict[int, int], text: str | None = None) -> RemovalRecord:
    unit, twin = removal.unit, removal.twin
    texts = {} if text is None else {"text": text[unit.start : unit.end], "twin_text": removal.twin_text}
    return RemovalRecord(
        lines=(unit.first_line, unit.last_line),
        chars=(unit.start, unit.end),
        bytes=(byte_at[unit.start], byte_at[unit.end]),
        kind=unit.kind.value,
        method=removal.method.value,
        score=round(removal.score, 2),
        excerpt=removal.excerpt,
        twin_file=uri_for(twin.document),
        twin_lines=(twin.first_line, twin.last_line),
        twin_chars=(twin.start, twin.end),
        twin_excerpt=removal.twin_excerpt,
        **texts,
    )


def settings_of(options: Options) -> dict[str, Any]:
    return {
        "version": __version__,
        "threshold": options.threshold,
        "scope": "across-files" if options.across_files else "within-file",
        "keep": options.keep.value,
        "ignore": list(options.ignore),
        "normalization": NORMALIZATION,
    }


def totals(files: Iterable[FileRecord], errors: list[str]) -> dict[str, Any]:
    summed = Totals()
    for f in files:
        summed.add(f)
    return summed.as_dict(errors)


@dataclass
class Totals:
    """The report's summary, summed a file at a time."""

    files_scanned: int = 0
    files_changed: int = 0
    units_removed: int = 0
    chars_removed: int = 0
    bytes_removed: int = 0

    def add(self, f: FileRecord) -> None:
        self.files_scanned += 1
        self.files_changed += f.changed
        self.units_removed += len(f.removals) if f.changed else 0
        self.chars_removed += f.chars_removed
        self.bytes_removed += f.bytes_removed

    def as_dict(self, errors: list[str]) -> dict[str, Any]:
        return {**asdict(self), "errors": len(errors)}


_MD_SPECIAL = set("\\`*_{}[]<>|~")  # enough inside a table cell, never at a line start
# What GitHub turns into a link or a notification even in escaped text: @mentions, #1 and
# GH-1 references, bare URLs and www. addresses.  A zero-width space after the @, # or
# scheme keeps the text as it reads and stops the link.
_MD_LIVE = re.compile(r"(?<![\w@])([@#])(?=[\w-])|\b(GH)-(?=\d)|\b(https?|ftp|mailto|www)(?=[:.])", re.IGNORECASE)
_ZWSP = "&#8203;"


def md_escape(text: str) -> str:
    """Article text as literal Markdown: specials and entities escaped, mentions, issue
    references and autolinks neutralised, on one line."""
    flat = " ".join(text.split()).replace("&", "&amp;")
    flat = "".join("\\" + ch if ch in _MD_SPECIAL else ch for ch in flat)
    return _MD_LIVE.sub(lambda m: m.group() + _ZWSP, flat)


def to_markdown(files: list[FileRecord], options: Options, errors: list[str]) -> str:
    """A pull-request comment: a summary table, then each removal beside its kept twin."""
    t = totals(files, errors)
    out = [
        "## dedup report",
        "",
        "| files scanned | files changed | units removed | characters removed | errors |",
        "|---:|---:|---:|---:|---:|",
        f"| {t['files_scanned']} | {t['files_changed']} | {t['units_removed']} | "
        f"{t['chars_removed']} | {t['errors']} |",
        "",
        f"Settings: threshold {options.threshold:g}, {settings_of(options)['scope']}, keep {options.keep.value}.",
    ]
    for f in files:
        if not f.removals:
            continue
        out += [
            "",
            f"### {md_escape(f.uri)}",
            "",
            "| lines | kind | method | score | removed | kept twin |",
            "|---|---|---|---:|---|---|",
        ]
        for r in f.removals:
            twin_at = f"line {r.twin_lines[0]}" if r.twin_file == f.uri else f"{r.twin_file}:{r.twin_lines[0]}"
            out.append(
                f"| {r.lines[0]}–{r.lines[1]} | {r.kind} | {r.method} | {r.score:g} | "
                f"{md_escape(r.excerpt)} | {md_escape(twin_at)}: {md_escape(r.twin_excerpt)} |"
            )
    if errors:
        out += ["", "### Errors", ""] + [f"- {md_escape(e)}" for e in errors]
    return "\n".join(out) + "\n"


def to_sarif(files: list[FileRecord], options: Options, errors: list[str]) -> str:
    """SARIF 2.1.0 for code scanning: one result per removal, the kept twin related."""
    rules = [
        {
            "id": rule_id,
            "name": name,
            "shortDescription": {"text": text},
            "fullDescription": {"text": _RULE_HELP[method]},
            "help": {"text": _RULE_HELP[method], "markdown": _RULE_HELP[method]},
            "defaultConfiguration": {"level": "warning"},
        }
        for method, (rule_id, name, text) in RULES.items()
    ]
    results = []
    for f in files:
        for r in f.removals:
            rule_id = RULES[r.method][0]
            results.append(
                {
                    "ruleId": rule_id,
                    "ruleIndex": list(RULES).index(r.method),
                    "level": "warning",
                    "message": {
                        "text": f"Repeated {r.kind} ({r.method}, score {r.score:g}); "
                        f"the kept copy is at {r.twin_file}:{r.twin_lines[0]}: {r.excerpt}"
                    },
                    "locations": [_location(f.uri, r.lines)],
                    "relatedLocations": [
                        {**_location(r.twin_file, r.twin_lines), "id": 1, "message": {"text": "kept copy"}}
                    ],
                    # Content-keyed, so an alert survives edits elsewhere in the file.
                    "partialFingerprints": {"dedupUnit/v1": _fingerprint(rule_id, r.excerpt, r.twin_excerpt)},
                }
            )
    log = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {"driver": {"name": "dedup", "version": __version__, "rules": rules}},
                "results": results,
                "invocations": [
                    {
                        "executionSuccessful": not errors,
                        "toolExecutionNotifications": [{"level": "error", "message": {"text": e}} for e in errors],
                    }
                ],
            }
        ],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _fingerprint(rule_id: str, text: str, twin_text: str) -> str:
    digest = hashlib.sha256("\0".join((rule_id, " ".join(text.split()), " ".join(twin_text.split()))).encode())
    return digest.hexdigest()[:32]


def sarif_uri(path: str) -> dict[str, Any]:
    """An artifactLocation for a path: percent-encoded as RFC 3986 says (so that no file
    name can read as a scheme, a query or a line break), relative ones under %SRCROOT%."""
    raw = path.encode("utf-8", "surrogateescape")  # the name's own bytes
    if path == "-":  # standard input has no file: SARIF's placeholder for an unnamed artifact
        return {"uri": "stdin", "uriBaseId": "STDIN"}
    if path.startswith("/"):
        return {"uri": "file://" + quote(raw, safe="/")}
    return {"uri": quote(raw, safe="/"), "uriBaseId": "%SRCROOT%"}


def _location(path: str, lines: tuple[int, int]) -> dict[str, Any]:
    return {
        "physicalLocation": {
            "artifactLocation": sarif_uri(path),
            "region": {"startLine": lines[0], "endLine": lines[1]},
        }
    }


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def github_annotations(files: list[FileRecord]) -> str:
    """GitHub Actions ``::warning`` commands, one per removal, escaped so that article
    text can never start or end a workflow command."""
    out = []
    for f in files:
        for r in f.removals:
            message = (
                f"Repeated {r.kind} ({r.method}, score {r.score:g}) of {r.twin_file}:{r.twin_lines[0]}: {r.excerpt}"
            )
            out.append(
                f"::warning file={_escape_property(f.uri)},line={r.lines[0]},"
                f"endLine={r.lines[1]},title={_escape_property('dedup: repeated ' + r.kind)}"
                f"::{_escape_data(message)}"
            )
    return "\n".join(out) + ("\n" if out else "")


def format_for(path: Path, explicit: str | None) -> str | None:
    """The report format: explicit, else from the file name; None when unknown."""
    if explicit:
        return explicit
    name = path.name.lower()
    if name.endswith((".sarif", ".sarif.json")):
        return "sarif"
    suffix = path.suffix.lower().lstrip(".")
    return {"json": "json", "md": "md", "markdown": "md", "html": "html", "htm": "html"}.get(suffix)
