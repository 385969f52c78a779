"""Joining Ray: an address nothing answers on fails in seconds with one line; SIGTERM stops a sweep like Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from wattprint.cli.main import main
from wattprint.cluster.driver import InterruptFlag, SweepResult
from wattprint.cluster.progress import SweepCounts
from wattprint.cluster.session import check_reachable, ray_endpoint
from wattprint.core.errors import ConfigError

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweep-quick.toml"


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("address, endpoint", [
    ("auto", None), ("local", None), ("10.0.0.1:6379", ("10.0.0.1", 6379)), ("head", ("head", 6379)),
    ("ray://head:10001", ("head", 10001)), ("ray://head", ("head", 10001)), ("[::1]:6380", ("::1", 6380)),
    ("http://head:8265", None),
])
def test_ray_endpoint_of_each_address_form(address, endpoint):
    assert ray_endpoint(address) == endpoint


@pytest.mark.parametrize("address, message", [("127.0.0.1:99999", "no valid port"), (":6379", "names no host")])
def test_a_malformed_address_is_refused(address, message):
    with pytest.raises(ConfigError, match=message):
        ray_endpoint(address)


def test_check_reachable_accepts_a_listening_port_and_refuses_a_closed_one():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        check_reachable(f"127.0.0.1:{server.getsockname()[1]}")  # no error
    port = closed_port()
    t0 = time.monotonic()
    with pytest.raises(ConfigError) as e:
        check_reachable(f"127.0.0.1:{port}")
    assert time.monotonic() - t0 < 5
    assert e.value.message.startswith(f"no Ray cluster at 127.0.0.1:{port}: ") and "ray start --head" in e.value.fix


def test_sweep_to_an_unreachable_address_fails_in_seconds_with_one_line(tmp_path):
    """Before the check, Ray retried for minutes and printed its own log lines meanwhile."""
    port = closed_port()
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, "-m", "wattprint", "sweep", str(EXAMPLE), "--ray-address",
                        f"127.0.0.1:{port}", "--store", str(tmp_path / "s.db")],
                       capture_output=True, text=True, timeout=60)
    assert time.monotonic() - t0 < 20  # interpreter start-up included, on a loaded 2-core machine
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert lines[0].startswith(f"wattprint: error: no Ray cluster at 127.0.0.1:{port}: ")
    assert len(lines) == 2 and lines[1].startswith("  fix: ")
    assert not (tmp_path / "s.db").exists()  # nothing written before the input is known good


def test_interrupt_flag_takes_sigterm_like_ctrl_c():
    fallback = signal.signal(signal.SIGTERM, lambda *a: None)  # without the flag's handler: ignored, not fatal
    try:
        with InterruptFlag() as flag:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)
            assert flag.raised and flag.signum == signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) is not flag._handler  # restored
    finally:
        signal.signal(signal.SIGTERM, fallback)


def test_sweep_interrupted_by_sigterm_exits_143(monkeypatch, tmp_path, capsys):
    import wattprint.cluster.sweep as sweep

    def fake_run_sweep(plan, store, **kw):
        return SweepResult(SweepCounts(), interrupted=True, duration_s=1.0, driver_cpu_s=0.1,
                           signum=signal.SIGTERM)

    monkeypatch.setattr(sweep, "run_sweep", fake_run_sweep)
    assert main(["sweep", str(EXAMPLE), "--store", str(tmp_path / "s.db")]) == 143
    assert "finished repeats are kept" in capsys.readouterr().err


@pytest.mark.slow
def test_a_sweep_on_a_local_ray_is_quiet_and_sigterm_exits_143_keeping_what_finished(tmp_path):
    """The real command: Ray's own INFO/WARNING lines stay hidden without --verbose, and SIGTERM cancels the
    running job, keeps the finished repeats and exits 143."""
    import sqlite3
    import sys as _sys

    _sys.path.insert(0, str(Path(__file__).parents[1] / "bench"))
    from tiny import TINY_BERT, tiny_model

    bert = tiny_model(tmp_path, "bert", TINY_BERT)
    plan = tmp_path / "plan.toml"
    plan.write_text(f'name = "long"\ntasks = ["text-classification"]\nmodels = ["{bert}"]\nrepeats = 300\n'
                    '[settings]\nsamples = 4\nweights = "random"\nworkload = "synthetic"\nidle_seconds = 0.0\n'
                    'device = "cpu"\n[resources]\nnum_cpus = 1\n[ray]\nnum_cpus = 2\nobject_store_mb = 100\n')
    db = tmp_path / "s.db"
    proc = subprocess.Popen([sys.executable, "-m", "wattprint", "sweep", str(plan), "--store", str(db),
                             "--progress", "lines"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finished() -> int:
        if not db.exists():
            return 0
        try:
            return sqlite3.connect(db).execute("SELECT COUNT(*) FROM runs WHERE status='finished'").fetchone()[0]
        except sqlite3.OperationalError:
            return 0

    deadline = time.monotonic() + 240
    try:
        while finished() < 1:
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "no repeat finished"
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        t0 = time.monotonic()
        _, err = proc.communicate(timeout=90)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert time.monotonic() - t0 < 60
    assert "\tINFO " not in err and "\tWARNING " not in err, err  # Ray's Python log format
    assert "sweep interrupted: finished repeats are kept" in err
    from wattprint.store.sqlite import Store

    with Store(db) as store:
        counts = store.counts()
        assert counts["finished"] >= 1 and "running" not in counts
        assert all("terminated (SIGTERM)" in r.error for r in store.runs(status="aborted"))
