"""--weights pretrained without the hub: one short line per model within seconds, the hub probed once per command."""

from __future__ import annotations

import os
import time

import pytest

from wattprint.cli.main import main
from wattprint.core.errors import ConfigError
from wattprint.models import hub
from wattprint.models.catalog import get_entry
from wattprint.models.loaders import plan_weights
from wattprint.store.sqlite import Store


def test_pretrained_offline_is_a_short_error_at_once(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as e:
        plan_weights(get_entry("bert-base-ner"), "pretrained", cache_dir=str(tmp_path))
    assert time.monotonic() - t0 < 2
    assert e.value.message == "no pretrained weights: not cached and HF_HUB_OFFLINE is set"
    assert "hf download dslim/bert-base-NER" in e.value.fix and "--weights auto" in e.value.fix


def test_pretrained_with_the_hub_unreachable_is_a_short_error_at_once(monkeypatch, tmp_path):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://wattprint-no-such-host.invalid")
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as e:
        plan_weights(get_entry("gpt2"), "pretrained", cache_dir=str(tmp_path))
    assert time.monotonic() - t0 < 6
    assert e.value.message.startswith("no pretrained weights: not cached and hub not reachable")
    assert len(e.value.message) < 160


def test_offline_unless_reachable_probes_once_and_restores_the_environment(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls = []
    monkeypatch.setattr(hub, "hub_reachable", lambda: calls.append(1) or (False, "huggingface.co: no route"))
    with hub.offline_unless_reachable() as why:
        assert why == "huggingface.co: no route" and os.environ["HF_HUB_OFFLINE"] == "1"
        assert hub.pretrained_availability("gpt2").reason == "not cached and HF_HUB_OFFLINE is set"
    assert "HF_HUB_OFFLINE" not in os.environ and len(calls) == 1
    with hub.offline_unless_reachable(needed=False) as why:  # nothing uses the hub: no probe at all
        assert why is None
    assert len(calls) == 1


def test_bench_probes_the_hub_once_and_each_model_fails_in_one_short_line(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    calls = []

    def unreachable(timeout_s: float = 3.0):
        calls.append(1)
        return False, "huggingface.co: cannot resolve huggingface.co"

    monkeypatch.setattr(hub, "hub_reachable", unreachable)
    db = tmp_path / "w.db"
    t0 = time.monotonic()
    code = main(["bench", "--task", "text-classification", "--task", "token-classification", "--weights",
                 "pretrained", "--idle-seconds", "0", "--store", str(db), "--no-progress"])
    assert time.monotonic() - t0 < 30
    assert code == 1 and len(calls) == 1
    captured = capsys.readouterr()
    assert "the hub is not reachable (huggingface.co: cannot resolve huggingface.co); working offline" in captured.err
    with Store(db) as store:
        errors = [r.error for r in store.runs(status="failed")]
    reason = "no pretrained weights: not cached and HF_HUB_OFFLINE is set"
    assert errors == [f"cannot run the model: ConfigError: {reason}"] * 2
    rows = [line for line in captured.out.splitlines() if "failed:" in line]
    assert len(rows) == 2
    assert all("failed: cannot run the model: no pretrained weights: not cached and HF_HUB_OFFLINE is set" in line
               for line in rows)
    assert "HF_HUB_OFFLINE" not in os.environ
