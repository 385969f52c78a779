"""Long-running commands stopped by a signal exit with the shell's convention, 128 + the signal (130 for
Ctrl-C, 143 for SIGTERM), and keep what finished. Real subprocesses, real signals."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
from tiny import TINY_BERT, tiny_model  # noqa: E402

from wattprint.store.sqlite import Store  # noqa: E402

pytestmark = pytest.mark.slow
WP = [sys.executable, "-m", "wattprint"]


def _finished(db: Path) -> int:
    if not db.exists():  # connecting would create an empty file, which the bench then refuses as not its own
        return 0
    try:
        return sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs WHERE status='finished'").fetchone()[0]
    except sqlite3.OperationalError:  # no file or no schema yet
        return 0


def _wait(predicate, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_bench_on_sigterm_exits_143_keeping_finished_runs(tmp_path):
    bert = tiny_model(tmp_path, "bert", TINY_BERT)
    db = tmp_path / "w.db"
    proc = subprocess.Popen([*WP, "bench", "--task", "text-classification", "--model", bert, "--weights", "random",
                             "--samples", "4", "--repeats", "500", "--idle-seconds", "0", "--store", str(db),
                             "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait(lambda: _finished(db) >= 2, proc)
    proc.send_signal(signal.SIGTERM)
    t0 = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert time.monotonic() - t0 < 15
    assert "terminated (SIGTERM)" in err and "Traceback" not in err
    with Store(db) as store:
        counts = store.counts()
        assert counts["finished"] >= 2 and "running" not in counts and counts.get("aborted", 0) <= 1
        assert all(r.error == "aborted: terminated (SIGTERM)" for r in store.runs(status="aborted"))


def test_measure_on_sigterm_before_its_command_starts_exits_143():
    proc = subprocess.Popen([*WP, "measure", "--gpus", "none", "--idle-seconds", "60", "--", sys.executable, "-c",
                             "pass"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(3)  # inside the idle baseline
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143 and "terminated (SIGTERM)" in err and "Traceback" not in err


def test_measure_forwards_sigterm_and_passes_the_commands_code_on():
    child = "import time; print('ready', flush=True); time.sleep(60)"
    proc = subprocess.Popen([*WP, "measure", "--gpus", "none", "--", sys.executable, "-c", child],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 143  # the command died of SIGTERM: 128 + 15, as a shell reports it
    assert "interrupted" in err


@pytest.mark.parametrize("signum, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_proxy_shuts_down_cleanly_and_exits_with_the_signals_code(signum, code):
    import httpx

    from wattprint.serve.testing import free_port, proxy_command

    port = free_port()
    proc = subprocess.Popen(proxy_command("http://127.0.0.1:9", port, "--gpu", "none", "--idle-seconds", "0"),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def up() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/wattprint/totals", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        _wait(up, proc, timeout=60)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
