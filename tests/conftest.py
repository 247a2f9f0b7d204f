"""Shared fixtures: a per-session build directory and helpers to build and run firmware."""
from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SIMS = ("spike", "rtl")


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("firmware")
