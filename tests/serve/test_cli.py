"""`wattprint proxy` as users run it: a real subprocess in front of the tiny model server."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest

from wattprint.serve.testing import free_port, proxy_command


def test_proxy_command_end_to_end(upstream):
    port = free_port()
    cmd = proxy_command(upstream, port, "--gpu", "none", "--idle-seconds", "0.3", "--country", "FR",
                        "--idle-policy", "proportional")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(base + "/wattprint/totals", timeout=1)
                break
            except httpx.HTTPError:
                assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
                time.sleep(0.1)
        r = httpx.post(base + "/v1/chat/completions", timeout=30,
                       json={"messages": [{"role": "user", "content": "hello"}], "max_tokens": 5})
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
    rec = r.json()["wattprint"]
    assert r.status_code == 200 and rec["energy_j"] > 0
    assert rec["attribution"].startswith("token-share;idle=proportional")
    assert rec["carbon"]["zone"] == "FR" and rec["gco2e"] > 0 and float(r.headers["x-wattprint-gco2e"]) > 0
    assert proc.returncode == 130  # stopped by Ctrl-C, after a clean shutdown: the shell's 128 + SIGINT
    assert "idle baseline over" in err and "France (FR)" in err and "cpu" in err  # what it measures, said


@pytest.mark.parametrize("args, message", [
    (["--upstream", "ftp://x"], "upstream must be an http(s) URL"),
    (["--upstream", "http://127.0.0.1:1", "--listen", "nonsense"], "is not HOST:PORT"),
    (["--upstream", "http://127.0.0.1:1", "--country", "Atlantis"], "Atlantis"),
])
def test_bad_arguments_are_one_clear_line(args, message):
    r = subprocess.run([sys.executable, "-m", "wattprint", "proxy", "--gpu", "none", *args],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and message in r.stderr and "Traceback" not in r.stderr
