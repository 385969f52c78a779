"""measure() carries its emissions when a place is set; @track keeps one meter and accumulates its calls."""

from __future__ import annotations

import threading

import pytest

from wattprint.carbon.tables import CarbonTables
from wattprint.core.clock import ManualClock
from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.meter.api import measure, track
from wattprint.meter.backends.nvml import NvmlBackend
from wattprint.meter.meter import Meter
from wattprint.meter.sim.drive import drive
from wattprint.meter.sim.nvml import SimGpu, SimNvml
from wattprint.meter.sim.traces import Constant

J_PER_KWH = 3.6e6


@pytest.fixture(autouse=True)
def _no_stray_config(no_stray_config):
    """No place or meter setting from the machine (tests/conftest.py)."""


def _sim(watts: float = 100.0):
    clock = ManualClock(start=1000.0)
    sim = SimNvml([SimGpu(Constant(watts))], clock)
    kwargs = {"backends": [NvmlBackend(sim, env={}, clock=clock)], "clock": clock, "sampler_thread": False}
    return clock, kwargs


def _measured(**kw):
    clock, meter_kwargs = _sim()
    meter = Meter(**meter_kwargs)
    drive(meter, clock, 1.0)
    with measure(meter=meter, settle=False, **kw) as m:
        drive(meter, clock, 10.0)
    return m


def test_measure_carries_emissions_for_the_place_given():
    m = _measured(country="FR")
    fr = CarbonTables.load().grid["FR"]
    e = m.emissions
    assert m.result.total_energy_j == pytest.approx(1000.0, rel=0.02)
    assert (e.zone, e.intensity_g_per_kwh, e.year, e.source) == ("FR", fr.g_per_kwh, fr.year, fr.source)
    assert e.pue == 1.0 and e.set_by == "argument country" and e.method == "table"
    assert e.gco2e == pytest.approx(m.result.total_energy_j / J_PER_KWH * fr.g_per_kwh)
    assert m.kg_co2e == pytest.approx(e.gco2e / 1000.0)
    assert m.emissions_note is None
    assert m.result.to_dict()["emissions"]["intensity"]["zone"] == "FR"


def test_measure_takes_the_place_from_the_environment_or_config_file(tmp_path, monkeypatch):
    monkeypatch.setenv("WATTPRINT_COUNTRY", "DE")
    m = _measured()
    assert m.emissions.zone == "DE" and m.emissions.set_by == "env WATTPRINT_COUNTRY"
    monkeypatch.delenv("WATTPRINT_COUNTRY")
    (tmp_path / "wattprint.toml").write_text('[carbon]\nregion = "US-CA"\n')
    m = _measured()
    assert m.emissions.zone == "US-CA" and m.emissions.set_by.startswith("file")


def test_measure_without_a_place_says_there_are_no_emissions():
    m = _measured()
    assert m.emissions is None and m.kg_co2e is None and m.result.emissions is None
    assert "no place set" in m.emissions_note and "WATTPRINT_COUNTRY" in m.emissions_note


def test_a_bad_place_fails_before_the_block_runs():
    ran = []
    with pytest.raises(UnknownNameError, match="unknown country 'FRA1'; did you mean 'FRA', 'FR'"):
        with measure(gpus=None, ram=False, country="FRA1"):
            ran.append(1)
    assert ran == []


def test_measure_reads_idle_seconds_from_the_environment(monkeypatch):
    monkeypatch.setenv("WATTPRINT_IDLE_SECONDS", "2.5")
    assert measure(gpus=None).idle_seconds == 2.5
    assert measure(gpus=None, idle_seconds=0).idle_seconds == 0.0  # the argument wins
    monkeypatch.setenv("WATTPRINT_IDLE_SECONDS", "-2")
    with pytest.raises(ConfigError, match="WATTPRINT_IDLE_SECONDS: expected a finite number >= 0"):
        measure(gpus=None)


def test_track_reuses_one_meter_and_accumulates_its_calls():
    clock, meter_kwargs = _sim(100.0)

    @track(country="FR", **meter_kwargs)
    def step(seconds):
        drive(step.wattprint.meter(), clock, seconds)
        return seconds * 2

    assert step.wattprint.calls == 0 and step.wattprint.mean_energy_j is None
    assert [step(1.0), step(2.0), step(3.0)] == [2.0, 4.0, 6.0]
    t = step.wattprint
    meter = t.meter()
    assert step(0.5) == 1.0 and t.meter() is meter  # the same meter for every call
    assert t.calls == 4 and t.failed_calls == 0 and t.overlapping_calls == 0
    assert t.total_duration_s == pytest.approx(6.5, rel=0.03)  # the simulated counter reads take clock time too
    assert t.total_energy_j == pytest.approx(100.0 * t.total_duration_s, rel=0.02)  # 100 W throughout
    assert t.mean_energy_j == pytest.approx(t.total_energy_j / 4)
    assert t.last is step.last_result and t.last.duration_s == pytest.approx(0.5, rel=0.05)
    assert t.last.name == "test_track_reuses_one_meter_and_accumulates_its_calls.<locals>.step"
    fr = CarbonTables.load().grid["FR"].g_per_kwh
    assert t.total_gco2e == pytest.approx(t.total_energy_j / J_PER_KWH * fr)
    assert t.total_kg_co2e == pytest.approx(t.total_gco2e / 1000)
    assert t.to_dict()["calls"] == 4 and "4 calls" in repr(t)
    page = t._repr_html_()  # the qualified name's <locals> is escaped
    assert "&lt;locals&gt;.step" in page and "<locals>" not in page and f"{t.total_energy_j:.4g}" in page
    assert meter.open_windows() == []
    t.close()


def test_track_counts_a_call_that_raises_and_keeps_the_exception():
    clock, meter_kwargs = _sim(50.0)

    @track(**meter_kwargs)
    def fails():
        drive(fails.wattprint.meter(), clock, 2.0)
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fails()
    t = fails.wattprint
    assert (t.calls, t.failed_calls) == (1, 1)
    assert t.total_energy_j == pytest.approx(50.0 * t.total_duration_s, rel=0.02) and t.total_duration_s >= 2.0
    assert t.total_gco2e is None and "no place set" in t.emissions_note
    t.close()


def test_track_is_thread_safe():
    clock, meter_kwargs = _sim()

    @track(**meter_kwargs)
    def work(i):
        return i

    results = []

    def run(k):
        results.extend(work(i) for i in range(k, k + 25))

    threads = [threading.Thread(target=run, args=(k * 100,)) for k in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sorted(results) == sorted(i for k in range(8) for i in range(k * 100, k * 100 + 25))
    assert work.wattprint.calls == 200 and work.wattprint.meter().open_windows() == []
    work.wattprint.close()


def test_track_close_stops_the_meter_and_a_later_call_makes_a_new_one():
    clock, meter_kwargs = _sim()

    @track(**meter_kwargs)
    def f():
        drive(f.wattprint.meter(), clock, 1.0)

    f()
    first = f.wattprint.meter()
    f.wattprint.close()
    with pytest.raises(ConfigError, match="closed Meter"):
        first.begin("x")
    f()
    assert f.wattprint.meter() is not first and f.wattprint.calls == 2
    assert f.wattprint.total_energy_j == pytest.approx(100.0 * f.wattprint.total_duration_s, rel=0.05)
    f.wattprint.close()


def test_track_measures_the_idle_baseline_once():
    clock, meter_kwargs = _sim(80.0)

    @track(idle_seconds=0.5, **meter_kwargs)
    def f():
        drive(f.wattprint.meter(), clock, 1.0)

    f()
    f()
    assert f.wattprint.idle is not None and f.wattprint.idle.idle_power_w == pytest.approx(80.0, rel=0.05)
    assert f.wattprint.last.idle_power_w == pytest.approx(80.0, rel=0.05)
    f.wattprint.close()


def test_a_fallback_is_logged_on_the_wattprint_logger(monkeypatch, caplog):
    import wattprint.meter.api as api

    class FellBack(Meter):
        def __init__(self, **kw):
            super().__init__(**kw)
            self.warnings.append("CPU estimated, RAPL unreadable: permission denied")

    monkeypatch.setattr(api, "Meter", FellBack)
    _, meter_kwargs = _sim()
    with caplog.at_level("INFO", logger="wattprint"):
        with measure(settle=False, **meter_kwargs) as m:
            pass
    assert "CPU estimated, RAPL unreadable: permission denied" in m.result.warnings
    assert [(r.name, r.levelname, r.getMessage()) for r in caplog.records] == [
        ("wattprint.meter", "INFO", "CPU estimated, RAPL unreadable: permission denied")]


def test_live_intensity_falling_back_to_the_tables_is_logged(monkeypatch, caplog):
    from wattprint.carbon.live import API_KEY_ENV, BASE_URL_ENV

    monkeypatch.setenv("WATTPRINT_COUNTRY", "FR")
    monkeypatch.setenv("WATTPRINT_LIVE", "true")
    monkeypatch.setenv(API_KEY_ENV, "test-key")
    monkeypatch.setenv(BASE_URL_ENV, "http://127.0.0.1:1")  # nothing listens there: refused at once
    with caplog.at_level("INFO", logger="wattprint"):
        m = _measured()
    assert m.emissions.method == "table" and m.emissions.zone == "FR"
    assert any("live intensity unavailable" in w and "table value used" in w for w in m.emissions.warnings)
    assert any(r.name == "wattprint.meter" and "live intensity unavailable" in r.getMessage() for r in caplog.records)


def test_track_measures_a_coroutine_until_it_finishes_and_refuses_a_generator():
    import asyncio

    clock, meter_kwargs = _sim(100.0)

    @track(**meter_kwargs)
    async def fetch():
        await asyncio.sleep(0)
        drive(fetch.wattprint.meter(), clock, 2.0)  # the work happens after the first await
        return "done"

    assert asyncio.run(fetch()) == "done"
    t = fetch.wattprint
    assert t.calls == 1 and t.total_duration_s >= 2.0
    assert t.total_energy_j == pytest.approx(100.0 * t.total_duration_s, rel=0.02)
    t.close()

    def numbers():
        yield 1

    with pytest.raises(ConfigError, match="cannot measure the generator .*numbers: a call only creates it"):
        track(numbers)


def test_track_uses_a_given_meter_and_leaves_it_open():
    clock, meter_kwargs = _sim(60.0)
    mine = Meter(**meter_kwargs)

    @track(meter=mine)
    def f():
        drive(mine, clock, 1.0)

    f()
    f()
    assert f.wattprint.meter() is mine and f.wattprint.calls == 2
    assert f.wattprint.total_energy_j == pytest.approx(60.0 * f.wattprint.total_duration_s, rel=0.02)
    f.wattprint.close()
    mine.begin("still-open")  # the caller's meter was not closed
    mine.close()


def test_window_hooks_see_the_functions_name_for_calls_one_after_another():
    clock, meter_kwargs = _sim()
    seen = []

    @track(name="step", **meter_kwargs)
    def step(inner=False):
        drive(step.wattprint.meter(), clock, 0.5)
        if inner:
            step()  # a call inside a call overlaps it: its window gets its own name

    original = step.wattprint.meter().end
    step.wattprint.meter().end = lambda name, settle=False, **kw: seen.append(name) or original(name, settle, **kw)
    step()
    step()
    step(inner=True)
    assert seen == ["step", "step", "step#4", "step"]
    assert step.wattprint.calls == 4 and step.wattprint.overlapping_calls == 1
    assert step.wattprint.last.name == "step"
    step.wattprint.close()
