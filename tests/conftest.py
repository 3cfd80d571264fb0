"""Shared fixtures: paths to the golden files."""

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"
REPO = Path(__file__).parent.parent


@pytest.fixture
def data() -> Path:
    return DATA


@pytest.fixture
def seed_text() -> str:
    return (DATA / "seed" / "article.txt").read_bytes().decode("utf-8")


@pytest.fixture
def seed_expected() -> str:
    return (DATA / "seed" / "expected.txt").read_bytes().decode("utf-8")
