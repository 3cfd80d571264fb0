"""A self-contained HTML report built for review: the summary first, then per file only
the removed units (collapsible), each with a few lines of context, its kept twin's text
beside it (wherever the twin is, and linked to the list of kept copies), and the words
a near copy changed highlighted; filters by file, method and score.  No network, no
external CSS or JavaScript; every piece of article text is HTML-escaped."""

from __future__ import annotations

import difflib
import re
from html import escape

from .model import Options
from .reports import FileRecord, RemovalRecord, settings_of, totals

CONTEXT_LINES = 2  # lines shown before and after a removed unit

_STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; margin: 2rem auto; max-width: 80rem; padding: 0 1.5rem; color: #222; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.15rem; margin-top: 2rem; }
table.summary { border-collapse: collapse; } th, td { border: 1px solid #ccc; padding: .3rem .6rem; }
th { background: #f3f3f3; } td.n { text-align: right; }
form.filters { position: sticky; top: 0; background: #fff; padding: .6rem 0; border-bottom: 1px solid #ddd;
  z-index: 1; }
form.filters label { margin-right: 1rem; }
details.file { margin: 1rem 0; border: 1px solid #ddd; border-radius: 6px; padding: .4rem .8rem; }
details.file > summary { cursor: pointer; font-weight: 600; word-break: break-all; }
div.removal { border-top: 1px solid #eee; padding: .6rem 0; }
div.removal .meta { font-size: 13px; color: #555; }
div.pair { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
pre { white-space: pre-wrap; word-wrap: break-word; background: #fafafa; border: 1px solid #ddd;
  padding: .6rem; font: 13px/1.5 ui-monospace, monospace; margin: .3rem 0; }
span.context { color: #888; }
span.removed { background: #ffe3e3; }
span.kept { background: #e3f7e3; }
mark.diff { background: #ffd24d; }
a.twin { font-size: 13px; }
p.settings, p.legend { color: #555; }
li.kept-copy pre { margin-top: .2rem; }
"""

_SCRIPT = """
(function () {
  var form = document.getElementById('filters');
  function apply() {
    var file = form.file.value, least = parseFloat(form.score.value) || 0, methods = {};
    form.querySelectorAll('input[name=method]').forEach(function (box) { methods[box.value] = box.checked; });
    var shown = 0;
    document.querySelectorAll('div.removal').forEach(function (row) {
      var ok = (!file || row.dataset.file === file) && methods[row.dataset.method]
        && parseFloat(row.dataset.score) >= least;
      row.hidden = !ok; if (ok) { shown += 1; }
    });
    document.querySelectorAll('details.file').forEach(function (box) {
      box.hidden = !box.querySelector('div.removal:not([hidden])');
    });
    document.getElementById('shown').textContent = shown;
  }
  var wanted = new URLSearchParams(location.hash.slice(1));
  if (wanted.has('method')) {
    form.querySelectorAll('input[name=method]').forEach(function (box) {
      box.checked = box.value === wanted.get('method');
    });
  }
  if (wanted.has('score')) { form.score.value = wanted.get('score'); }
  form.addEventListener('input', apply);
  apply();
})();
"""


def to_html(files: list[FileRecord], options: Options, errors: list[str]) -> str:
    t = totals(files, errors)
    settings = settings_of(options)
    shown = [f for f in files if f.removals]
    twins = _kept_copies(shown)
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
        f"{escape(settings['scope'])}, keep {escape(settings['keep'])}.</p>",
        '<p class="legend"><span class="removed">red</span>: a removed unit, with '
        '<span class="context">context</span>; <span class="kept">green</span>: the kept copy it repeats; '
        '<mark class="diff">yellow</mark>: words that differ between the two.</p>',
        _filters(shown),
    ]
    for i, f in enumerate(shown):
        parts.append(
            f'<details class="file" id="file-{i}" open><summary>{escape(f.uri)} ({len(f.removals)} removed)</summary>'
        )
        for k, r in enumerate(f.removals):
            parts.append(_removal(f, i, k, r, twins))
        parts.append("</details>")
    if twins:
        parts.append(f'<h2 id="kept">Kept copies ({len(twins)})</h2><ul>')
        for (uri, lines, _), (anchor, text) in twins.items():
            parts.append(
                f'<li class="kept-copy" id="{anchor}"><b>{escape(uri)}</b>, lines {lines[0]}-{lines[1]}'
                f'<pre><span class="kept">{escape(text)}</span></pre></li>'
            )
        parts.append("</ul>")
    if errors:
        parts.append("<h2>Errors</h2><ul>")
        parts.extend(f"<li>{escape(e)}</li>" for e in errors)
        parts.append("</ul>")
    parts.append(f"<script>{_SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _filters(shown: list[FileRecord]) -> str:
    options = "".join(f'<option value="{escape(f.uri, quote=True)}">{escape(f.uri)}</option>' for f in shown)
    total = sum(len(f.removals) for f in shown)
    return (
        '<form class="filters" id="filters" onsubmit="return false">'
        f'<label>file <select name="file"><option value="">all files</option>{options}</select></label>'
        + "".join(
            f'<label><input type="checkbox" name="method" value="{m}" checked> {m}</label>'
            for m in ("exact", "near", "headline")
        )
        + '<label>score at least <input type="number" name="score" min="0" max="100" step="0.5" value="0"></label>'
        f'<span><b id="shown">{total}</b> of {total} removals shown</span></form>'
    )


_TwinKey = tuple[str, tuple[int, int], tuple[int, int]]


def _kept_copies(shown: list[FileRecord]) -> dict[_TwinKey, tuple[str, str]]:
    """Each kept twin once, with an anchor and its text, in order of first mention."""
    twins: dict[_TwinKey, tuple[str, str]] = {}
    for f in shown:
        for r in f.removals:
            key = (r.twin_file, r.twin_lines, r.twin_chars)
            if key not in twins:
                twins[key] = (f"kept-{len(twins)}", r.twin_text or r.twin_excerpt)
    return twins


def _removal(f: FileRecord, i: int, k: int, r: RemovalRecord, twins: dict[_TwinKey, tuple[str, str]]) -> str:
    anchor, _ = twins[(r.twin_file, r.twin_lines, r.twin_chars)]
    same_file = r.twin_file == f.uri
    where = f"line {r.twin_lines[0]}" if same_file else f"{r.twin_file}:{r.twin_lines[0]}"
    removed_html, kept_html = _highlighted(r.text or r.excerpt, r.twin_text or r.twin_excerpt)
    before, after = _context(f.original or "", r.chars)
    return (
        f'<div class="removal" id="r{i}-{k}" data-file="{escape(f.uri, quote=True)}" data-method="{r.method}" '
        f'data-score="{r.score:g}">'
        f'<div class="meta">lines {r.lines[0]}-{r.lines[1]} · {escape(r.kind)} · {r.method} · score {r.score:g} · '
        f'<a class="twin" href="#{anchor}">kept copy: {escape(where)}</a></div>'
        '<div class="pair">'
        f'<pre><span class="context">{escape(before)}</span><span class="removed">{removed_html}</span>'
        f'<span class="context">{escape(after)}</span></pre>'
        f'<pre><span class="kept">{kept_html}</span></pre>'
        "</div></div>"
    )


def _context(text: str, chars: tuple[int, int]) -> tuple[str, str]:
    """A few lines of the file before and after a unit (nothing when the text is not kept)."""
    if not text:
        return "", ""
    start, end = chars
    head = text[:start].splitlines(True)[-CONTEXT_LINES:]
    tail = text[end:].splitlines(True)[: CONTEXT_LINES + 1]
    return "".join(head), "".join(tail)


_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")


def _highlighted(text: str, twin: str) -> tuple[str, str]:
    """Both texts escaped, with the words that differ marked (case and spacing aside)."""
    a, b = _TOKEN.findall(text), _TOKEN.findall(twin)
    matcher = difflib.SequenceMatcher(None, [t.casefold() for t in a], [t.casefold() for t in b], autojunk=False)
    out_a, out_b = [], []
    for tag, a0, a1, b0, b1 in matcher.get_opcodes():
        left, right = escape("".join(a[a0:a1])), escape("".join(b[b0:b1]))
        if tag == "equal" or (not "".join(a[a0:a1]).strip() and not "".join(b[b0:b1]).strip()):
            out_a.append(left)
            out_b.append(right)
        else:
            out_a.append(f'<mark class="diff">{left}</mark>' if left.strip() else left)
            out_b.append(f'<mark class="diff">{right}</mark>' if right.strip() else right)
    return "".join(out_a), "".join(out_b)
