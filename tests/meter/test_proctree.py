"""The CPU and RAM estimates' process tree: children counted, edges cheap, memory sampled (real processes)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import psutil
import pytest

from wattprint.meter import proctree
from wattprint.meter.backends import ram as ram_mod
from wattprint.meter.backends.cpu_estimate import CpuEstimateBackend, machine_busy_seconds
from wattprint.meter.backends.ram import GB, W_PER_GB, RamBackend
from wattprint.meter.proctree import ProcessTree, read_stat

BURN = ("import sys, time\n"
        "end = time.process_time() + float(sys.argv[1])\n"
        "while time.process_time() < end:\n    pass\n")
BURN_ON_GO = ("import sys, time\n"
              "print('ready', flush=True)\n"
              "sys.stdin.readline()\n"
              "end = time.process_time() + float(sys.argv[1])\n"
              "while time.process_time() < end:\n    pass\n")
SPIN = "while True:\n    pass\n"
HOLD = "import sys, time\nb = bytearray(int(sys.argv[1]) * 2**20)\nb[::4096] = b'x' * len(b[::4096])\n" \
       "print('ready', flush=True)\ntime.sleep(60)\n"


def _cpu_seconds(detail: str) -> float:
    return float(re.search(r"cpu_seconds=([0-9.]+)", detail).group(1))


def _child_cpu(p: psutil.Process) -> float:
    t = p.cpu_times()
    return t.user + t.system


def test_measure_counts_the_cpu_time_of_the_command_it_runs(tmp_path):
    out = tmp_path / "m.json"
    p = subprocess.run([sys.executable, "-m", "wattprint", "measure", "--json", str(out), "--", sys.executable,
                        "-c", BURN, "0.5"], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    cpu = next(c for c in json.loads(out.read_text())["components"] if c["kind"] == "cpu")
    assert cpu["method"] == "estimated"
    s = _cpu_seconds(cpu["detail"])
    # the child's 0.5 s of CPU plus its interpreter start-up (~0.02-0.1 s); the meter's own process sleeps
    assert 0.48 <= s <= 0.8
    w = CpuEstimateBackend().model.max_w_per_cpu
    assert cpu["energy_j"] == pytest.approx(s * w, rel=0.01)
    assert cpu["uncertainty_j"] == pytest.approx(0.5 * cpu["energy_j"], rel=0.01)


def test_a_waited_child_inside_a_window_is_counted_without_any_scan():
    b = CpuEstimateBackend(tree=ProcessTree())
    m0 = b.mark(time.monotonic())
    subprocess.run([sys.executable, "-c", BURN, "0.5"], check=True)
    m1 = b.mark(time.monotonic())
    s = _cpu_seconds(b.energy(m0, m1).components[0].detail)
    assert 0.48 <= s <= 0.8


def test_a_live_child_found_by_a_scan_is_read_fresh_at_each_edge():
    tree = ProcessTree()
    b = CpuEstimateBackend(tree=tree)
    child = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        ps = psutil.Process(child.pid)
        time.sleep(0.2)
        tree.scan()
        assert tree.live_descendants() == [child.pid]
        # each edge bracketed by readings just before and just after it, so that a loaded machine (the child
        # and this process descheduled between a reading and the edge) cannot move the bounds
        own_a, c0a = time.process_time(), _child_cpu(ps)
        m0 = b.mark(time.monotonic())
        own_b, c0b = time.process_time(), _child_cpu(ps)
        deadline = time.monotonic() + 20.0
        while _child_cpu(ps) - c0b < 0.25 and time.monotonic() < deadline:  # no scan meanwhile
            time.sleep(0.05)
        own_c, c1a = time.process_time(), _child_cpu(ps)
        m1 = b.mark(time.monotonic())
        own_d, c1b = time.process_time(), _child_cpu(ps)
    finally:
        child.kill()
        child.wait()
    r = b.energy(m0, m1).components[0]
    s = _cpu_seconds(r.detail)
    assert c1a - c0b > 0.2  # the child did burn CPU between the edges
    # the edges read /proc/<pid>/stat in clock ticks (10 ms): within a few ticks of psutil's own readings
    assert (c1a - c0b) + (own_c - own_b) - 0.03 <= s <= (c1b - c0a) + (own_d - own_a) + 0.03
    assert "carried" not in r.detail


def test_descendants_beyond_the_edge_read_limit_carry_the_last_scan(monkeypatch):
    tree = ProcessTree()
    b = CpuEstimateBackend(tree=tree)
    child = subprocess.Popen([sys.executable, "-c", SPIN])
    try:
        time.sleep(0.2)
        monkeypatch.setattr(proctree, "MAX_EDGE_READS", 0)
        tree.scan()
        m0 = b.mark(time.monotonic())
        time.sleep(0.4)
        m1 = b.mark(time.monotonic())  # same scan: the child's carried time does not move
    finally:
        child.kill()
        child.wait()
    r = b.energy(m0, m1).components[0]
    assert m0.state[1] == m1.state[1] == 1
    assert _cpu_seconds(r.detail) < 0.05
    assert "1 descendant(s) carried" in r.detail


def test_a_reaped_child_is_not_counted_twice():
    tree = ProcessTree()
    # the child burns only after the first reading: all of its 0.3 s fall between the two readings, whatever
    # the machine's load (a child burning from the start had used an unknown share of it by the first one)
    child = subprocess.Popen([sys.executable, "-c", BURN_ON_GO, "0.3"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "ready"
    tree.scan()  # the child is live in this scan ...
    assert child.pid in tree.live_descendants()
    before = tree.cpu_seconds()[0]
    child.stdin.write("go\n")
    child.stdin.flush()
    child.wait()  # ... and reaped now: its time moves to our waited-for children, /proc/<pid> is gone
    child.stdin.close()
    child.stdout.close()
    after = tree.cpu_seconds()[0]
    t = os.times()
    assert after == pytest.approx(t.user + t.system + t.children_user + t.children_system, abs=1e-6)
    assert 0.25 <= after - before <= 0.6


def test_read_stat_agrees_with_psutil():
    child = subprocess.Popen([sys.executable, "-c", BURN, "0.3"])
    time.sleep(0.5)
    p = psutil.Process(child.pid)
    cpu, rss = read_stat(child.pid)
    t = p.cpu_times()
    assert cpu == pytest.approx(t.user + t.system + t.children_user + t.children_system, abs=0.02)
    assert rss == pytest.approx(p.memory_info().rss, rel=0.05)
    child.wait()
    assert read_stat(child.pid) is None


def test_machine_busy_seconds_agrees_with_psutil():
    t = psutil.cpu_times()
    ref = sum(t) - t.idle - getattr(t, "iowait", 0.0) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
    assert machine_busy_seconds() == pytest.approx(ref, abs=0.05 * psutil.cpu_count())


def test_ram_counts_a_child_s_memory_and_edges_carry_the_sampled_value():
    tree = ProcessTree()
    b = RamBackend(tree=tree)
    child = subprocess.Popen([sys.executable, "-c", HOLD, "200"], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        t0 = time.monotonic()
        b.poll(t0)
        own = psutil.Process().memory_info().rss
        kid = psutil.Process(child.pid).memory_info().rss
        assert kid > 200 * 2**20
        scanned = tree.scanned_at
        m0 = b.mark(t0 + 0.1)
        m1 = b.mark(t0 + 1.1)
        assert tree.scanned_at == scanned  # the edges read nothing: they carry the sampler's reading
        assert m0.state == m1.state == pytest.approx(own + kid, rel=0.05)
        r = b.energy(m0, m1).components[0]
        assert r.energy_j == pytest.approx(m0.state / GB * W_PER_GB * 1.0, rel=1e-6)
        assert r.uncertainty_j == pytest.approx(0.5 * r.energy_j)
        assert "sampled every 1 s" in r.detail
    finally:
        child.kill()
        child.wait()


def test_ram_window_mean_uses_the_sampler_readings_inside_it():
    b = RamBackend(tree=ProcessTree())
    b._record(10.0, 1 * GB)
    m0 = b.mark(10.5)  # carries 1 GB
    b._record(11.0, 3 * GB)
    b._record(12.0, 3 * GB)
    m1 = b.mark(12.5)  # carries 3 GB
    r = b.energy(m0, m1).components[0]
    assert r.samples == 4
    assert r.energy_j == pytest.approx((1 + 3 + 3 + 3) / 4 * W_PER_GB * 2.0)


def test_ram_edge_reads_once_when_no_sampler_has_run(monkeypatch):
    tree = ProcessTree()
    b = RamBackend(tree=tree)
    assert tree.scanned_at is None
    m0 = b.mark(100.0)
    assert tree.scanned_at is not None and m0.state == pytest.approx(psutil.Process().memory_info().rss, rel=0.1)
    monkeypatch.setattr(tree, "_min_rescan_s", 0.0)
    first = tree.scanned_at
    b.mark(100.0 + ram_mod.MAX_AGE_S / 2)  # recent enough: no read
    assert tree.scanned_at == first
    b.mark(100.0 + ram_mod.MAX_AGE_S * 2)  # stale: read again
    assert tree.scanned_at > first


def test_machine_scope_ram_is_installed_memory():
    b = RamBackend(scope="machine")
    r = b.energy(b.mark(0.0), b.mark(2.0)).components[0]
    assert r.energy_j == pytest.approx(psutil.virtual_memory().total / GB * W_PER_GB * 2.0)


def test_scan_uses_the_callers_clock():
    """The CPU and RAM backends share one tree: the second scan of a round (same ``now``) is skipped, one
    ``min_rescan_s`` later on the caller's clock it is not (whatever the system clock does)."""
    tree = ProcessTree(min_rescan_s=0.25)
    tree.scan(500.0)
    assert tree.scanned_at == 500.0
    tree.scan(500.1)
    assert tree.scanned_at == 500.0
    tree.scan(500.3)
    assert tree.scanned_at == 500.3
