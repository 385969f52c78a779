"""GPU benchmark repeats rest on the energy counter: the runner buys counter reads and settles each repeat
(that such a meter resolves 0.3-1 s windows from the counter is tested in tests/meter/test_counter_budget.py)."""

from __future__ import annotations

import sys
import types

from wattprint.bench import runner
from wattprint.bench.settings import BenchSettings
from wattprint.bench.windows import OpenWindow


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, bool]] = []

    def begin(self, name: str) -> None:
        pass

    def end(self, name: str, settle: bool = False) -> str:
        self.calls.append((name, settle))
        return "m"


def test_open_window_settles_only_when_asked():
    rec = _Recorder()
    with OpenWindow(rec, "repeat0", lambda: None, settle=True) as w:
        pass
    with OpenWindow(rec, "repeat1", lambda: None) as w2:
        pass
    assert rec.calls == [("repeat0", True), ("repeat1", False)]
    assert w.result == "m" and w2.result == "m"


def test_cpu_jobs_measure_no_gpu_and_buy_no_counter_reads():
    s = BenchSettings.from_dict({"device": "cpu"})
    opts = runner.meter_options(s)
    assert opts["gpus"] is None and "counter_reads_per_s" not in opts


def test_cuda_jobs_read_the_counter_every_refresh(monkeypatch):
    props = types.SimpleNamespace(uuid="1234-abcd")
    fake_torch = types.SimpleNamespace(
        device=lambda d: types.SimpleNamespace(index=0),
        cuda=types.SimpleNamespace(get_device_properties=lambda i: props))
    monkeypatch.setitem(sys.modules, "torch", fake_torch)
    opts = runner.meter_options(BenchSettings.from_dict({"device": "cuda:0"}))
    assert opts["gpus"] == ["GPU-1234-abcd"]
    assert opts["counter_reads_per_s"] == runner.BENCH_COUNTER_READS_PER_S == 10.0
