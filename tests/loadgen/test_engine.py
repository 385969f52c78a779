"""An engine wattprint launches: readiness, a clear error when it dies or never serves, and a clean stop of
its whole process group."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from wattprint.cli.main import main
from wattprint.core.errors import ConfigError
from wattprint.loadgen.engine import Engine, answers
from wattprint.serve.testing import free_port, serve_in_thread

SRC = str(Path(__file__).resolve().parents[2] / "src")


def _fake_cmd(port: int) -> list[str]:
    return [sys.executable, "-m", "wattprint.loadgen.fake", "--port", str(port), "--token-s", "0.002"]


def test_engine_that_exits_before_serving_shows_its_last_lines(tmp_path) -> None:
    cmd = [sys.executable, "-c", "import sys; print('model folder not found'); sys.exit(3)"]
    with pytest.raises(ConfigError, match="exited with code 3 before serving") as e:
        Engine(cmd, f"http://127.0.0.1:{free_port()}", log_path=str(tmp_path / "e.log")).start()
    assert "model folder not found" in e.value.message and "run the --launch command by hand" in (e.value.fix or "")


def test_missing_program_and_busy_port_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="no-such-engine-xyz not found"):
        Engine("no-such-engine-xyz --port 1", f"http://127.0.0.1:{free_port()}").start()
    from wattprint.loadgen.fake import FakeEngine

    with serve_in_thread(FakeEngine()) as url, pytest.raises(ConfigError, match="something already serves"):
        Engine(_fake_cmd(1), url).start()


def test_launch_sweep_and_stop_through_the_cli(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("PYTHONPATH", SRC + os.pathsep + os.environ.get("PYTHONPATH", ""))
    port = free_port()
    out = tmp_path / "r.json"
    launch = " ".join(_fake_cmd(port))
    code = main(["serve-bench", "--launch", launch, "--url", f"http://127.0.0.1:{port}", "--model", "fake-model",
                 "--concurrency", "2", "--duration", "1", "--slice", "0.2", "--workload", "fixed:4:8", "--idle", "0.3",
                 "--gpus", "none", "--store", str(tmp_path / "r.db"), "--json", str(out), "--force-length", "vllm"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "engine ready after" in err
    s = json.loads(out.read_text())["levels"][0]
    # the launched engine's own process tree was metered (its CPU time, estimated)
    assert s["energy"]["by_kind_j"]["cpu"] > 0 and s["failures"]["failed"] == 0
    assert not answers(f"http://127.0.0.1:{port}", 1.0)  # stopped with the sweep
