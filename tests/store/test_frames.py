"""The store, a sweep and a measurement as DataFrames; HTML views with everything escaped; pandas only when asked."""

from __future__ import annotations

import builtins
import subprocess
import sys

import pytest

from wattprint.core.errors import ConfigError
from wattprint.meter.result import ComponentEnergy, Kind, Measurement, Method
from wattprint.store.frames import runs_frame, store_summary, sweep_frame
from wattprint.store.record import RunRecord
from wattprint.store.sqlite import Store

pd = pytest.importorskip("pandas")
EVIL = "<script>alert('x')</script>"


def _record(model="tiny", repeat=0, wh=1.5, origin="wattprint", key="k", **kw):
    return RunRecord(task="text-classification", model=model, preset="quick", repeat=repeat, plan_key=f"{key}{repeat}",
                     status="finished", started_at=1000.0 + repeat, finished_at=1001.0 + repeat, energy_j=wh * 3.6,
                     wh_per_1000=wh, gco2e_per_1000=wh * 0.05, inferences=1000, weights="random",
                     workload="synthetic", device="cpu", phases={"predict": wh * 3.6}, settings={"batch_size": 1},
                     scores={"accuracy": 0.5}, origin=origin, **kw)


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "runs.db"
    with Store(path) as s:
        s.add(_record(repeat=0, wh=1.0))
        s.add(_record(repeat=1, wh=2.0))
        s.add(_record(model=EVIL, repeat=0, wh=4.0))
        s.add(_record(model="swept", repeat=0, wh=8.0, origin="sweep", key="a", node="node-1", gpu_uuids=["GPU-1"]))
        s.add(_record(model="swept", repeat=1, wh=9.0, origin="sweep", key="b", node="node-2"))
        failed = _record(model="broken", repeat=0)
        failed.status, failed.error = "failed", "cannot load"
        s.add(failed)
    return path


def test_runs_frame_has_one_row_per_finished_run_with_the_stored_numbers(store):
    df = runs_frame(store)
    assert len(df) == 5 and set(df["status"]) == {"finished"}
    tiny = df[df["model"] == "tiny"].sort_values("repeat")
    assert list(tiny["wh_per_1000"]) == [1.0, 2.0]
    assert list(tiny["phases.predict"]) == [3.6, 7.2] and list(tiny["scores.accuracy"]) == [0.5, 0.5]
    assert list(tiny["settings.batch_size"]) == [1, 1]
    assert set(df["weights"]) == {"random"} and set(df["workload"]) == {"synthetic"}  # stand-ins stay visible
    assert len(runs_frame(store, status=None)) == 6
    assert list(runs_frame(store, model="tiny")["repeat"]) == [0, 1]
    with Store(store, readonly=True) as s:  # a Store object works as well as a path
        assert len(runs_frame(s, origin="sweep")) == 2


def test_sweep_frame_keeps_the_sweeps_runs_and_their_nodes(store):
    df = sweep_frame(store)
    assert list(df["node"]) == ["node-1", "node-2"] and list(df["wh_per_1000"]) == [8.0, 9.0]
    assert df["gpu_uuids"].iloc[0] == ["GPU-1"]
    one = sweep_frame(store, plan_keys=["b1"])
    assert list(one["wh_per_1000"]) == [9.0]
    assert list(sweep_frame(store, plan_keys=[]).columns)[:4] == ["task", "model", "preset", "repeat"]


def test_the_summary_averages_like_with_like_and_its_html_is_escaped(store):
    s = store_summary(store)
    assert s.counts == {"finished": 5, "failed": 1}
    df = s.to_dataframe()
    tiny = df[df["model"] == "tiny"].iloc[0]
    assert (tiny["runs"], tiny["wh_per_1000"], tiny["gco2e_per_1000"]) == (2, 1.5, pytest.approx(0.075))
    assert len(df) == 3
    page = s._repr_html_()
    assert EVIL not in page and "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in page
    assert "random weights or synthetic inputs" in page and "5 finished" in page
    assert repr(s).endswith("1 failed, 5 finished; 3 task/model groups>")


def _measurement(emissions=None):
    comps = (ComponentEnergy(Kind.GPU, EVIL, 120.0, Method.COUNTER, 1.5, "nvml", index=0, uuid="GPU-1"),
             ComponentEnergy(Kind.CPU, "cpu", 30.0, Method.ESTIMATED, 15.0, "cpu-estimate", detail="a & b"))
    return Measurement("step <1>", 1000.0, 2.0, comps, warnings=("fell back to <estimate>",), emissions=emissions)


def test_a_measurement_as_a_dataframe_and_as_html():
    m = _measurement()
    df = m.to_dataframe()
    assert list(df["component"]) == ["gpu:GPU-1", "cpu"] and list(df["energy_j"]) == [120.0, 30.0]
    assert list(df["method"]) == ["counter", "estimated"] and list(df["uncertainty_j"]) == [1.5, 15.0]
    assert df.attrs["total_energy_j"] == 150.0 and df.attrs["emissions"] is None
    page = m._repr_html_()
    for raw in (EVIL, "step <1>", "<estimate>", "a & b"):
        assert raw not in page
    assert "step &lt;1&gt;" in page and "a &amp; b" in page and "fell back to &lt;estimate&gt;" in page
    assert "emissions: none (no place set" in page
    assert repr(m) == ("<Measurement 'step <1>': 150 J ± 16.5 J over 2.000 s "
                       "[gpu:GPU-1 120 J counter, cpu 30 J estimated]>")


def test_a_measurement_with_emissions_shows_them_with_their_source():
    from wattprint.carbon.accounting import attach_emissions
    from wattprint.carbon.location import resolve_location

    m = attach_emissions(_measurement(), resolve_location(country="FR", env={}))
    e = m.emissions
    page = m._repr_html_()
    assert f"{e.gco2e:.4g}" in page and "FR" in page and str(e.year) in page and "emissions" in page
    assert f"{e.gco2e:.4g} gCO2e" in repr(m)
    assert m.to_dataframe().attrs["emissions"]["intensity"]["zone"] == "FR"


def test_without_pandas_one_line_names_the_extra(store, monkeypatch):
    real = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    for call in (lambda: runs_frame(store), lambda: _measurement().to_dataframe(), lambda: sweep_frame(store)):
        with pytest.raises(ConfigError) as e:
            call()
        assert "needs pandas" in e.value.message and e.value.fix == "pip install 'wattprint[pandas]'"


def test_the_frames_module_does_not_import_pandas_until_asked():
    code = ("import sys, wattprint.store.frames, wattprint.meter.views, wattprint.meter.result; "
            "print('pandas' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_measurement_read_back_from_json_keeps_its_emissions_in_the_views():
    from wattprint.carbon.accounting import attach_emissions
    from wattprint.carbon.location import resolve_location

    m = attach_emissions(_measurement(), resolve_location(country="DE", env={}))
    back = Measurement.from_dict(m.to_dict())
    assert isinstance(back.emissions, dict)
    assert f"{m.emissions.gco2e:.4g} gCO2e" in repr(back)
    assert ">DE<" in back._repr_html_() and f"{m.emissions.gco2e:.4g}" in back._repr_html_()
