"""``ignore`` patterns, matched with RE2: linear time in the text whatever the pattern, so
that a pattern from a cloned repository's config cannot hang a run or a hook.

RE2 takes Python's syntax except backreferences and lookaround; a pattern it cannot
take is a usage error that names it.
"""

from __future__ import annotations

from typing import Any, Protocol

import re2


class IgnorePattern(Protocol):
    def search(self, text: str) -> Any: ...


class PatternError(ValueError):
    """A pattern RE2 cannot compile; the message names it and says why."""


def compile_ignore(pattern: str) -> IgnorePattern:
    options = re2.Options()
    options.log_errors = False  # the error comes back as one line of ours, not a log line
    try:
        compiled: IgnorePattern = re2.compile(pattern, options)
        return compiled
    except re2.error as exc:
        reason = exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PatternError(
            f"bad ignore pattern {pattern!r} ({reason}; patterns use RE2 syntax: no backreferences or lookaround)"
        ) from None
