"""``python -m dedup``."""

from .cli import main

main(prog_name="dedup")
