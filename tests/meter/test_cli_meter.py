"""``wattprint measure`` and ``wattprint doctor`` as a user runs them (real subprocesses)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

WP = [sys.executable, "-m", "wattprint"]
ENV = dict(os.environ, PYTHONUNBUFFERED="1")


def test_measure_passes_output_and_exit_code_and_writes_json(tmp_path):
    out = tmp_path / "m.json"
    p = subprocess.run([*WP, "measure", "--json", str(out), "--", sys.executable, "-c",
                        "import sys; print('hello'); sys.exit(3)"], capture_output=True, text=True, env=ENV)
    assert p.returncode == 3
    assert p.stdout == "hello\n"
    assert "energy" in p.stderr and "estimated" in p.stderr
    d = json.loads(out.read_text())
    assert d["exit_code"] == 3 and d["duration_s"] > 0
    assert {c["kind"] for c in d["components"]} >= {"cpu"}
    assert all({"kind", "energy_j", "method"} <= set(c) for c in d["components"])
    assert d["total_energy_j"] == sum(c["energy_j"] for c in d["components"])


def test_measure_of_a_missing_command_is_one_line_and_127():
    p = subprocess.run([*WP, "measure", "--", "no-such-command-xyz"], capture_output=True, text=True, env=ENV)
    assert p.returncode == 127
    assert p.stderr.strip().count("\n") == 0 and "Traceback" not in p.stderr
    assert "no-such-command-xyz" in p.stderr


def test_ctrl_c_reaches_the_child_and_the_partial_result_is_kept(tmp_path):
    out = tmp_path / "m.json"
    child = ("import signal, sys, time\n"
             "def h(s, f):\n    print('child got SIGINT', flush=True); sys.exit(5)\n"
             "signal.signal(signal.SIGINT, h)\nprint('ready', flush=True)\ntime.sleep(30)\n")
    p = subprocess.Popen([*WP, "measure", "--json", str(out), "--", sys.executable, "-c", child],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    assert p.stdout.readline().strip() == "ready"
    time.sleep(0.2)
    p.send_signal(signal.SIGINT)  # to wattprint only: it must forward it
    stdout, stderr = p.communicate(timeout=20)
    assert "child got SIGINT" in stdout
    assert p.returncode == 5
    assert "interrupted" in stderr
    d = json.loads(out.read_text())
    assert d["interrupted"] is True and d["duration_s"] > 0.2


def test_doctor_lists_every_source_with_reasons():
    p = subprocess.run([*WP, "doctor", "--json"], capture_output=True, text=True, env=ENV, check=True)
    probes = {x["source"]: x for x in json.loads(p.stdout)}
    assert set(probes) == {"nvml", "amdsmi", "rapl", "cpu-estimate", "ram-estimate"}
    for x in probes.values():
        assert x["available"] or (x["reason"] and x["fix"])
    t = subprocess.run([*WP, "doctor"], capture_output=True, text=True, env=ENV, check=True)
    assert "cpu-estimate" in t.stdout and "fix:" in t.stdout
