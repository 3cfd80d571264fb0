"""A self-contained HTML report: each changed file with its removed units struck through
in place, each linked to its kept twin, and the run's summary.  No network, no external
CSS or JavaScript; every piece of article text is HTML-escaped."""

from __future__ import annotations

from html import escape

from .reports import FileRecord, settings_of, totals
from .model import Options

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1.5rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.15rem; margin-top: 2.5rem; word-break: break-all; }
table { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .3rem .6rem; }
th { background: #f3f3f3; } td.n { text-align: right; }
pre.article { white-space: pre-wrap; word-wrap: break-word; background: #fafafa;
  border: 1px solid #ddd; padding: 1rem; font: 14px/1.5 ui-monospace, monospace; }
del.removed { background: #ffd7d7; text-decoration: line-through; color: #7a0000; }
mark.kept { background: #d7f5d7; }
a.twin { font: 12px system-ui, sans-serif; margin-left: .3rem; color: #0645ad; }
p.settings, p.legend { color: #555; }
"""


def to_html(files: list[FileRecord], options: Options, errors: list[str]) -> str:
    t = totals(files, errors)
    settings = settings_of(options)
    shown = [f for f in files if f.removals and f.original is not None]
    index = {f.uri: i for i, f in enumerate(shown)}
    kept_in: dict[str, set[tuple[int, int]]] = {f.uri: set() for f in shown}
    for f in shown:
        for r in f.removals:
            if r.twin_file in kept_in:
                kept_in[r.twin_file].add(r.twin_chars)
    parts = [
        "<!doctype html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>dedup report</title><style>{_STYLE}</style></head><body>",
        "<h1>dedup report</h1>",
        '<table class="summary"><tr><th>files scanned</th><th>files changed</th>'
        "<th>units removed</th><th>characters removed</th><th>errors</th></tr>",
        f'<tr><td class="n">{t["files_scanned"]}</td><td class="n">{t["files_changed"]}</td>'
        f'<td class="n">{t["units_removed"]}</td><td class="n">{t["chars_removed"]}</td>'
        f'<td class="n">{t["errors"]}</td></tr></table>',
        f'<p class="settings">dedup {escape(settings["version"])}, threshold {options.threshold:g}, '
        f'{escape(settings["scope"])}, keep {escape(settings["keep"])}.</p>',
        '<p class="legend"><del class="removed">struck through</del>: removed; '
        '<mark class="kept">highlighted</mark>: the kept copy it repeats.</p>',
    ]
    if shown:
        parts.append("<ul>")
        for i, f in enumerate(shown):
            parts.append(f'<li><a href="#f{i}">{escape(f.uri)}</a> ({len(f.removals)} removed)</li>')
        parts.append("</ul>")
    for i, f in enumerate(shown):
        parts.append(f'<section id="f{i}"><h2>{escape(f.uri)}</h2>')
        parts.append(f'<pre class="article">{_article(i, f, kept_in[f.uri], index)}</pre></section>')
    if errors:
        parts.append("<h2>Errors</h2><ul>")
        parts.extend(f"<li>{escape(e)}</li>" for e in errors)
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def _article(i: int, f: FileRecord, kept: set[tuple[int, int]], index: dict[str, int]) -> str:
    """The original text with removed and kept spans marked, everything escaped."""
    text = f.original or ""
    marks = [(start, end, "kept", None) for start, end in kept]
    marks += [(r.chars[0], r.chars[1], "removed", r) for r in f.removals]
    out, cursor = [], 0
    for start, end, kind, r in sorted(marks, key=lambda m: m[0]):
        if start < cursor:
            continue
        out.append(escape(text[cursor:start]))
        body = escape(text[start:end])
        if kind == "kept":
            out.append(f'<mark class="kept" id="f{i}-c{start}">{body}</mark>')
        else:
            title = escape(f"{r.method}, score {r.score:g}; kept copy at {r.twin_file}:{r.twin_lines[0]}")
            target = index.get(r.twin_file)
            link = (f'<a class="twin" href="#f{target}-c{r.twin_chars[0]}">kept copy: '
                    f"{escape(r.twin_file)}:{r.twin_lines[0]}</a>" if target is not None
                    else f'<span class="twin">kept copy: {escape(r.twin_file)}:{r.twin_lines[0]}</span>')
            out.append(f'<del class="removed" title="{title}">{body}</del>{link}')
        cursor = end
    out.append(escape(text[cursor:]))
    return "".join(out)
