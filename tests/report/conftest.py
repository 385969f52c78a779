"""Shared pieces of the report tests: records of known energy, the CodeCarbon fixtures, chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from wattprint.store.record import RunRecord

FIXTURES = Path(__file__).parent / "fixtures" / "codecarbon"
CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


def make_record(task: str, model: str, energy_j: float, inferences: int = 100, repeat: int = 0, **kw) -> RunRecord:
    """A finished record as the runner writes it: energy over the inference windows, nothing derived filled in."""
    base = dict(task=task, model=model, preset="quick", repeat=repeat, status="finished", inferences=inferences,
                samples=inferences, energy_j=energy_j, weights="random", workload="synthetic", dataset="d",
                started_at=1_780_000_000.0 + repeat, finished_at=1_780_000_010.0 + repeat)
    base.update(kw)
    return RunRecord(**base)


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
