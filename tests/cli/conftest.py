"""Fixtures of the CLI input tests (helpers in cli_helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from cli_helpers import make_record, run_cli  # noqa: E402

from wattprint.store.sqlite import Store  # noqa: E402


@pytest.fixture
def cli(capsys):
    return lambda *argv: run_cli(capsys, *argv)


@pytest.fixture
def store_path(tmp_path):
    """A store with three finished text-classification runs and one failed run."""
    path = tmp_path / "w.db"
    with Store(path) as s:
        for i, e in enumerate([360.0, 396.0]):
            s.add(make_record("text-classification", "distilbert-sst2", e, inferences=1000, repeat=i,
                              model_kind="task-specific"))
        s.add(make_record("text-classification", "flan-t5-small", 3600.0, inferences=1000,
                          model_kind="general-purpose"))
        s.add(make_record("fill-mask", "bert-base-uncased", 50.0, inferences=100, status="failed", error="boom"))
    return path
