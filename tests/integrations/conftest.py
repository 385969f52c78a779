"""Fixtures of the tracker tests: the snippets of docs/integrations.md, a real MLflow tracking server, work to
measure. Measurements come from the real meter of the machine (on a CPU-only machine: the CPU and RAM
estimates, method "estimated")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from integration_helpers import free_port  # noqa: E402


@pytest.fixture(scope="module")
def mlflow_server(tmp_path_factory):
    """``mlflow server`` with an SQLite backend on a free loopback port, for one test module (stopped after it,
    so that no process of ours outlives the module: other tests count this process's children); its URI."""
    pytest.importorskip("mlflow.server", reason="the MLflow server test needs full mlflow (the test extra)")
    root = tmp_path_factory.mktemp("mlflow")
    port = free_port()
    log = open(root / "server.log", "wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
         "--artifacts-destination", str(root / "artifacts"), "--host", "127.0.0.1", "--port", str(port),
         "--workers", "1"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=root)
    uri = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(uri, proc, root / "server.log")
        yield uri
    finally:
        _stop_group(proc)
        log.close()


def _stop_group(proc: subprocess.Popen) -> None:
    """End the server and its workers (the process group this fixture started): SIGTERM, then SIGKILL after 5 s."""
    import psutil

    if proc.poll() is not None:  # it ended on its own (the health check said why)
        return
    group = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    os.killpg(proc.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(group, timeout=5)
    if alive:
        os.killpg(proc.pid, signal.SIGKILL)
        psutil.wait_procs(alive, timeout=5)
    proc.wait()


def _wait_healthy(uri: str, proc: subprocess.Popen, log: Path, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"mlflow server exited ({proc.returncode}):\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{uri}/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server not healthy after {timeout_s} s:\n{log.read_text()[-2000:]}")


@pytest.fixture
def windows():
    """Every Measurement the meter resolves during the test, through the window hook."""
    from wattprint.meter import hooks

    got: list = []
    with hooks.hooked(got.append):
        yield got


@pytest.fixture(scope="module", autouse=True)
def no_process_left():
    """Every process a module of these tests started (the MLflow server, wandb's service) has ended when the
    module is done: later tests count this process's children."""
    import psutil

    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    yield
    left = [p for p in me.children(recursive=True) if p.pid not in before]
    _, alive = psutil.wait_procs(left, timeout=15)
    assert not alive, "processes left running: " + ", ".join(f"{p.pid} {p.name()}" for p in alive)
