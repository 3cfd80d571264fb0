"""``python -m dedup``."""

from .entry import main

main()
