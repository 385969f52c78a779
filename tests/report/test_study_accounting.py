"""The study-accounting view: a known run's figure by hand, the idle-power fallbacks, and where it is shown."""

import csv
import gzip
import io
import json

import pytest

from wattprint.report.accounting import STUDY_GPU, STUDY_NODE_GPUS, STUDY_RAM_W
from wattprint.report.exported import load_export
from wattprint.report.formats import ReportOptions, render
from wattprint.store.export import export

KWH = 3.6e6


def _gpu(uuid, energy_j, idle_w=None, name="NVIDIA H200"):
    return {"kind": "gpu", "name": name, "energy_j": energy_j, "method": "counter", "uncertainty_j": 1.0,
            "source": "nvml", "index": 0, "uuid": uuid, "scope": "device", "idle_power_w": idle_w}


def _run(record, model, gpus, *, energy_cpu=50.0, ram=20.0, duration=10.0, n=100, **kw):
    comps = list(gpus) + [{"kind": "cpu", "name": "cpu", "energy_j": energy_cpu, "method": "estimated"},
                          {"kind": "ram", "name": "ram", "energy_j": ram, "method": "estimated"}]
    gpu_j = sum(g["energy_j"] for g in gpus)
    return record("text-classification", model, gpu_j + energy_cpu + ram, inferences=n, components=comps,
                  duration_s=duration, gpu_energy_j=gpu_j, cpu_energy_j=energy_cpu, ram_energy_j=ram,
                  model_kind="task-specific", preset="paper", **kw)


def test_study_accounting_of_a_known_run_by_hand(record):
    # 1 H200 that idled at 100 W before the run; 10 s of inference, 100 inferences, 1,000 J GPU, 50 J CPU, 20 J RAM
    run = _run(record, "m", [_gpu("GPU-a", 1000.0, idle_w=100.0)])
    data = json.loads(render("json", [run], ReportOptions()))
    (row,) = data["rows"]
    single = 1070.0 / 100 * 1000 / KWH
    by_hand = (1070.0 - 20.0 + 7 * 100.0 * 10.0 + 430.77675 * 10.0) / 100 * 1000 / KWH
    assert row["kwh_per_1000_mean"] == pytest.approx(single)  # the measurement itself is unchanged
    st = row["study_accounting"]
    assert st["kwh_per_1000_mean"] == pytest.approx(by_hand) == pytest.approx(0.034327132)
    assert st["other_gpus"] == 7 and st["idle_w_per_gpu"] == 100.0 and st["idle_source"] == "this run's idle baseline"
    assert st["other_gpus_kwh_per_1000"] == pytest.approx(7000.0 / 100 * 1000 / KWH)
    assert st["study_ram_kwh_per_1000"] == pytest.approx(4307.7675 / 100 * 1000 / KWH)
    assert st["measured_ram_kwh_per_1000"] == pytest.approx(20.0 / 100 * 1000 / KWH)
    (line,) = data["study_accounting"]["tasks"]
    assert line["ratio"] == pytest.approx(by_hand / single)
    assert STUDY_NODE_GPUS == 8 and STUDY_RAM_W == pytest.approx(430.8, abs=0.05)


def test_idle_power_falls_back_to_what_the_store_holds_and_says_so(record):
    runs = [
        _run(record, "own", [_gpu("GPU-a", 1000.0, idle_w=100.0)]),
        _run(record, "same-card", [_gpu("GPU-a", 2000.0)]),  # no baseline: GPU-a's from the other run
        _run(record, "same-model", [_gpu("GPU-b", 2000.0)]),  # another H200: the H200 baseline
        _run(record, "h100-busy", [_gpu("GPU-c", 3000.0, name="NVIDIA H100")]),  # 300 W mean
        _run(record, "h100-light", [_gpu("GPU-d", 1500.0, name="NVIDIA H100")], duration=10.0),  # 150 W mean
        _run(record, "two-gpus", [_gpu("GPU-e", 1000.0, idle_w=90.0), _gpu("GPU-f", 1000.0, idle_w=110.0)]),
        _run(record, "cpu-only", []),
        _run(record, "imported", [_gpu("GPU-g", 5000.0, idle_w=60.0)], origin="codecarbon"),
    ]
    rows = {r["model"]: r["study_accounting"] for r in json.loads(render("json", runs, ReportOptions()))["rows"]}
    assert rows["same-card"]["idle_w_per_gpu"] == 100.0 and "same card" in rows["same-card"]["idle_source"]
    assert rows["same-model"]["idle_w_per_gpu"] == 100.0 and "another NVIDIA H200" in rows["same-model"]["idle_source"]
    for m in ("h100-busy", "h100-light"):  # no baseline on any H100: the lowest mean power seen, said so
        assert rows[m]["idle_w_per_gpu"] == pytest.approx(150.0)
        assert "no idle baseline recorded" in rows[m]["idle_source"] and "upper bound" in rows[m]["idle_source"]
    two = rows["two-gpus"]
    assert two["other_gpus"] == 6 and two["idle_w_per_gpu"] == pytest.approx(100.0)
    assert two["kwh_per_1000_mean"] == pytest.approx((2070.0 - 20.0 + 6 * 100.0 * 10 + 4307.7675) / 100 * 1000 / KWH)
    assert rows["cpu-only"] is None
    assert rows["imported"] is None  # CodeCarbon's machine mode already counted the whole node


def test_study_view_is_its_own_section_and_columns(record):
    runs = [_run(record, "m", [_gpu("GPU-a", 1000.0, idle_w=100.0)])]
    html = render("html", runs, ReportOptions())
    section = html[html.index("<h2>In the study's accounting</h2>"):]
    assert "430.8 W" in section and "8 NVIDIA A100-SXM4-80GB" in section and "sashavor/co2_inference" in section
    assert "×11.5" in section  # 0.0343 / 0.00297 kWh per 1,000
    assert "0.0343" not in html[:html.index("<h2>In the study's accounting</h2>")]  # never beside the measurement
    md = render("md", runs, ReportOptions())
    assert "## In the study's accounting" in md
    assert "| Text classification | 1 task-specific | 0.00297 | 0.0194 | 0.012 |" in md
    (row,) = csv.DictReader(io.StringIO(render("csv", runs, ReportOptions())))
    assert float(row["kwh_per_1000_mean"]) == pytest.approx(1070.0 / 100 * 1000 / KWH)
    assert float(row["study_accounting_kwh_per_1000_mean"]) == pytest.approx(0.034327132)


def test_a_compressed_export_reloads_into_the_same_report(record, tmp_path):
    runs = [_run(record, "m", [_gpu("GPU-a", 1000.0, idle_w=100.0)], settings={"shrunk": "", "samples": 100},
                 phases={"prefill": 10.0}, scores={"accuracy": 0.5}),
            _run(record, "n", [_gpu("GPU-a", 3000.0)], repeat=1)]
    plain = tmp_path / "runs.csv"
    export(runs, plain)
    packed = tmp_path / "runs.csv.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    back = load_export(packed)
    # identical but for the empty setting, which an export cannot tell from an absent one
    assert back[0].to_dict() == {**runs[0].to_dict(), "settings": {"samples": 100}}
    assert back[1].to_dict() == runs[1].to_dict()
    assert json.loads(render("json", back, ReportOptions()))["rows"] == json.loads(
        render("json", runs, ReportOptions()))["rows"]


def test_the_study_constants_are_those_of_its_released_logs(fixtures_dir):
    # the study's own per-run CodeCarbon logs (tests/report/fixtures/codecarbon/study, copied from its repository)
    rows = [r for f in sorted((fixtures_dir / "study").glob("emissions_base_*.csv"))
            for r in csv.DictReader(f.open(encoding="utf-8"))]
    assert rows and {r["tracking_mode"] for r in rows} == {"machine"}  # the whole node, not one process
    assert {int(r["gpu_count"]) for r in rows} == {STUDY_NODE_GPUS}
    assert {r["gpu_model"] for r in rows} == {f"{STUDY_NODE_GPUS} x {STUDY_GPU}"}
    assert {float(r["ram_power"]) for r in rows} == {STUDY_RAM_W}
    assert STUDY_RAM_W == pytest.approx(3.0 / 8.0 * float(rows[0]["ram_total_size"]))  # CodeCarbon's 3 W / 8 GB


def test_idle_watts_that_print_alike_are_one_value():
    from wattprint.report.study_view import _span

    assert _span([117.6, 118.3]) == "118"  # not "118-118"
    assert _span([112.0, 126.0]) == "112-126"
    assert _span([126.0]) == "126"
