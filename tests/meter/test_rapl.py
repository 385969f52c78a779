"""RAPL through simulated powercap trees: zones chosen without double counting, wraps, permissions."""

from __future__ import annotations

import pytest

from wattprint.core.clock import ManualClock
from wattprint.core.errors import PermissionDeniedError
from wattprint.meter.backends.rapl import RaplBackend
from wattprint.meter.meter import Meter
from wattprint.meter.result import Kind
from wattprint.meter.sim.drive import drive
from wattprint.meter.sim.powercap import PowercapTree
from wattprint.meter.sim.traces import Constant


def _tree(tmp_path, clock):
    t = PowercapTree(tmp_path / "pc", origin=clock.monotonic())
    t.add_zone("intel-rapl:0", "package-0", Constant(80.0))
    t.add_zone("intel-rapl:0:0", "core", Constant(50.0))
    t.add_zone("intel-rapl:0:1", "dram", Constant(6.0))
    t.add_zone("intel-rapl:1", "package-1", Constant(70.0))
    t.add_zone("intel-rapl:2", "psys", Constant(200.0))
    t.add_zone("intel-rapl-mmio:0", "package-0", mirror_of="intel-rapl:0")
    return t


def test_zones_have_no_double_counting(tmp_path):
    clock = ManualClock()
    tree = _tree(tmp_path, clock)
    b = RaplBackend(tree.root, read=tree.reader)
    assert sorted(z.name for z in b.zones) == ["dram (intel-rapl:0:1)", "package-0", "package-1"]
    notes = " ".join(b.notes)
    assert "psys" in notes and "intel-rapl-mmio:0" in notes and "core" in notes
    m = Meter(backends=[b], clock=clock, sampler_thread=False)
    m.begin("w")
    drive(m, clock, 5.0, step=0.5, hw=tree)
    r = m.end("w")
    assert r.energy_j(Kind.CPU) == pytest.approx(150.0 * 5.0, rel=1e-6)  # packages only, no psys/mmio/core
    assert r.energy_j(Kind.DRAM) == pytest.approx(6.0 * 5.0, rel=1e-6)


def test_wraparound_is_neither_lost_nor_doubled(tmp_path):
    clock = ManualClock()
    tree = PowercapTree(tmp_path / "pc", origin=clock.monotonic())
    # 100 J range, 45 W: wraps every 2.2 s; a 20 s window wraps 9 times (sampler reads every 1 s)
    tree.add_zone("intel-rapl:0", "package-0", Constant(45.0), max_range_uj=100_000_000, initial_uj=99_000_000)
    b = RaplBackend(tree.root, read=tree.reader, wrap_poll_s=1.0)
    m = Meter(backends=[b], clock=clock, sampler_thread=False)
    m.begin("w")
    drive(m, clock, 20.0, step=1.0, hw=tree)
    (c,) = m.end("w").components
    assert c.energy_j == pytest.approx(900.0, abs=1e-3)


def test_mirrored_dies_count_once_and_distinct_dies_add(tmp_path):
    clock = ManualClock()
    tree = PowercapTree(tmp_path / "pc", origin=clock.monotonic())
    tree.add_zone("intel-rapl:0", "package-0-die-0", Constant(60.0))
    tree.add_zone("intel-rapl:1", "package-0-die-1", mirror_of="intel-rapl:0")
    tree.add_zone("intel-rapl:2", "package-1-die-0", Constant(30.0), initial_uj=5)
    tree.add_zone("intel-rapl:3", "package-1-die-1", Constant(20.0), initial_uj=9)
    b = RaplBackend(tree.root, read=tree.reader)
    assert sorted(z.name for z in b.zones) == ["package-0-die-0", "package-1-die-0", "package-1-die-1"]
    assert any("mirror" in n for n in b.notes)
    m = Meter(backends=[b], clock=clock, sampler_thread=False)
    m.begin("w")
    drive(m, clock, 2.0, step=0.5, hw=tree)
    assert m.end("w").energy_j(Kind.CPU) == pytest.approx(110.0 * 2.0, rel=1e-6)


def test_unreadable_counter_names_the_fix_and_the_meter_falls_back(tmp_path, monkeypatch):
    clock = ManualClock()
    tree = _tree(tmp_path, clock)
    tree.make_unreadable("intel-rapl:0")
    with pytest.raises(PermissionDeniedError) as e:
        RaplBackend(tree.root, read=tree.reader)
    assert "chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj" in e.value.fix
    assert "udev" in e.value.fix
    from wattprint.meter import discover
    from wattprint.meter.backends import rapl

    monkeypatch.setattr(rapl, "read_text", tree.reader)
    found = discover.build(None, True, True, "process", clock, env={}, powercap_root=str(tree.root))
    assert [b.source for b in found.backends] == ["cpu-estimate", "ram-estimate"]
    assert any("RAPL unreadable" in w and "chmod" in w for w in found.warnings)
    with pytest.raises(PermissionDeniedError):
        discover.build(None, "rapl", True, "process", clock, env={}, powercap_root=str(tree.root))
