"""Shared pieces of the report tests: records of known energy, the CodeCarbon fixtures, chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.cli.cli_helpers import make_record

FIXTURES = Path(__file__).parent / "fixtures" / "codecarbon"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture
def record():
    return make_record


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def chromium_path() -> str:
    if not CHROMIUM:
        pytest.skip("Debian's chromium is not installed (make browser / apt-get install chromium)")
    return CHROMIUM
