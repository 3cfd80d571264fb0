"""The ``dedup`` console script: Ctrl-C at any moment ends it with one line and exit 130,
even while the engine is still being imported."""

from __future__ import annotations

import os
import signal
import sys


def _interrupted_early(signum: int, frame: object) -> None:
    sys.stderr.write("dedup: interrupted\n")
    os._exit(130)  # nothing has been written yet: no cleanup is owed


def main() -> None:
    signal.signal(signal.SIGINT, _interrupted_early)
    from .cli import main as command

    command(prog_name="dedup")
