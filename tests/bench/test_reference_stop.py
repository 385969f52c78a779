"""benchmarks/reference_repeat.py and reference_table.py: the stopping rule, repeats through run_job, row flags."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))

import reference_repeat as rr  # noqa: E402
import reference_table as rt  # noqa: E402
from wattprint.bench.plan import Job, plan_key  # noqa: E402


def test_relative_half_width_is_student_t():
    # mean 2, s = 1, t(0.975, 2) = 4.3027: half-width 4.3027 / sqrt(3) = 2.4842, over the mean 1.2421
    assert rr.relative_half_width([1.0, 2.0, 3.0]) == pytest.approx(4.302653 / math.sqrt(3) / 2, rel=1e-5)
    assert rr.relative_half_width([5.0]) is None
    assert rr.relative_half_width([0.0, 0.0]) is None


def test_decide_tight_limit_cap_and_at_least_three():
    tight = [1.0, 1.01, 0.99]  # s = 0.01, half-width 0.0248: 2.5% of the mean
    assert rr.decide(tight, 10, 2.5, 100, 12) == rr.Decision(True, "tight")
    assert rr.decide([1.0, 1.01], 10, 2.5, 100, 12).stop is False  # two repeats never stop, however tight
    wide = [1.0, 1.5, 0.7]
    assert rr.decide(wide, 10, 2.5, 100, 12) == rr.Decision(False, "")
    assert rr.decide(wide, 98, 2.5, 100, 12) == rr.Decision(True, "time cap")  # the next would end past 100 s
    assert rr.decide([1.0, 1.5], 500, 2.5, 100, 12).stop is False  # the cap never cuts below 3 repeats
    assert rr.decide([1.0, 2.0] * 6, 10, 2.5, 100, 12).reason == "max repeats"
    four = [1.0, 1.05, 0.97, 1.02]  # mean 1.01, s 0.0337, t(0.975, 3) 3.182: half-width 5.3% of the mean
    assert rr.relative_half_width(four) == pytest.approx(0.05305, rel=1e-3)
    assert rr.decide(four, 10, 2.5, 100, 12).reason == "tight"


class FakeStore:
    def __init__(self, earlier=()):
        self.earlier = list(earlier)

    def runs(self, task=None, model=None):
        return self.earlier

    def done_keys(self):
        return set()


def _rec(v, status="finished", key=""):
    return SimpleNamespace(gpu_wh_per_1000=v, wh_per_1000=v * 1.1, status=status, preset="paper", plan_key=key)


def test_run_adaptive_stops_through_on_record_once_tight(monkeypatch):
    import wattprint.bench.runner as runner

    seen = {}

    def fake_run_job(job, *, store, on_record, skip_keys, progress, meter_factory):
        seen["repeats"] = job.repeats
        progress.job_started("job", job.repeats)
        progress.stage("loading the model")
        for i, v in enumerate([1.0, 1.4, 0.8, 1.0, 1.02, 0.99, 1.01, 1.0, 1.0, 1.0, 1.0, 1.0]):
            seen["ran"] = i + 1
            progress.repeat_started(i, job.repeats, 10)
            on_record(_rec(v))
        return []

    monkeypatch.setattr(runner, "run_job", fake_run_job)
    monkeypatch.setattr(rr, "gpu_processes", lambda index=0: [])
    job = Job("fill-mask", "roberta-base", "paper", "ds", {}, 3)
    log = rr.run_adaptive(job, FakeStore(), cap_s=1e9, max_repeats=12, commit="abc")
    assert seen["repeats"] == 12  # asked for the limit, stopped early
    # after 3 the CI is ±~47%; the rule stops at the first n whose CI is within 10%
    assert log.stop == "tight" and seen["ran"] == log.repeats
    vals = [1.0, 1.4, 0.8, 1.0, 1.02, 0.99, 1.01, 1.0, 1.0, 1.0, 1.0, 1.0][: log.repeats]
    last, before = rr.relative_half_width(vals), rr.relative_half_width(vals[:-1])
    assert last is not None and before is not None and last <= 0.10 < before
    assert log.commit == "abc" and log.others_before == [] and log.basis == "gpu"
    assert set(log.stages) == {"start", "loading", "repeats"}  # stopped from inside a repeat: the clock closed


def test_run_adaptive_counts_earlier_repeats_of_the_store(monkeypatch):
    import wattprint.bench.runner as runner

    calls = []
    monkeypatch.setattr(runner, "run_job", lambda job, **k: calls.append(k["on_record"](_rec(1.0))))
    monkeypatch.setattr(rr, "gpu_processes", lambda index=0: None)
    job = Job("t", "m", "paper", "ds", {}, 3)
    other = Job("t", "m", "paper", "ds", {"samples": 5}, 3)  # other settings: other plan keys, not counted
    stored = [_rec(1.0, key=plan_key(job, 0)), _rec(1.01, key=plan_key(job, 1)), _rec(9.0, key=plan_key(other, 2))]
    log = rr.run_adaptive(job, FakeStore(stored), cap_s=100, max_repeats=12)
    assert log.repeats == 3 and log.stop == "tight"  # two stored + one new


def test_sidecar_logs_round_trip(tmp_path):
    path = tmp_path / "s.db.jobs.json"
    rr.save_log(path, rr.JobLog("paper", "t", "m", repeats=3, stop="tight", others_before=[{"pid": 7}]))
    rr.save_log(path, rr.JobLog("paper", "t", "m", repeats=5, stop="time cap"))
    logs = rr.load_logs(path, tmp_path / "absent.json")
    assert [e["repeats"] for e in logs[("paper", "t", "m")]] == [3, 5]
    assert json.loads(path.read_text())[0]["others_before"] == [{"pid": 7}]


def _row(**kw):
    row = {"gpu_wh_per_1000": 1.0, "gpu_counter_share": 1.0, "gpu_ci95_rel": 0.05, "repeats": 4, "stop": "tight"}
    row.update(kw)
    return row


def test_flags_counter_share_and_shared_gpu():
    assert rt.flags(_row(), []) == []
    assert rt.flags(_row(gpu_counter_share=2 / 3), []) == ["not counter-resolved (67% of repeats on the counter)"]
    assert rt.flags(_row(gpu_wh_per_1000=None, gpu_counter_share=0.0), [])[0].startswith("not counter-resolved")
    logs = [{"others_before": [{"pid": 41}], "others_after": [{"pid": 41}, {"pid": 9}]}]
    assert rt.flags(_row(), logs) == ["shared GPU (other processes 9, 41 on the card)"]


def test_rows_of_a_known_defect_are_flagged_with_its_reason(tmp_path, monkeypatch):
    path = tmp_path / "defects.csv"
    path.write_text('preset,task,commit,why\naienergyscore,image-classification,226a0d8,"reads slowed by X"\n')
    read = rt.defects.__wrapped__  # uncached
    assert read(tmp_path / "none.csv") == {}
    # the shipped file reads; a row names a commit, or the one model it hit where the records name no commit
    assert all((k[2] or k[3]) and why for k, why in read().items())
    monkeypatch.setattr(rt, "defects", lambda: read(path))
    bad = _row(preset="aienergyscore", task="image-classification", commit="226a0d8e0c")
    assert rt.flags(bad, []) == ["reads slowed by X"]  # the commit may be given at full length
    assert rt.flags(dict(bad, commit="f82de98"), []) == [] and rt.flags(dict(bad, task="summarization"), []) == []


def test_a_defect_may_name_the_one_model_it_hit(tmp_path, monkeypatch):
    path = tmp_path / "defects.csv"
    path.write_text('preset,task,commit,model,why\naienergyscore,object-detection,df99a21,yolos-tiny,"too large"\n'
                    'paper,object-detection,,yolos-tiny,"too large too"\n')
    read = rt.defects.__wrapped__  # uncached
    monkeypatch.setattr(rt, "defects", lambda: read(path))
    hit = _row(preset="aienergyscore", task="object-detection", commit="df99a21", model="yolos-tiny")
    assert rt.flags(hit, []) == ["too large"]
    assert rt.flags(dict(hit, model="detr-resnet-50"), []) == []  # the task's other models stand
    old = dict(hit, preset="paper", commit="")  # a record naming no commit
    assert rt.flags(old, []) == ["too large too"] and rt.flags(dict(old, commit="e14af7e"), []) == []


def test_ci_note_says_why_an_interval_is_wide():
    assert rt.ci_note(_row(), []) == ""
    assert rt.ci_note(_row(gpu_ci95_rel=0.23, repeats=3), []) == \
        "95% CI ±23% of the mean: an earlier run of 3 fixed repeats (before the adaptive rule)"
    logs = [{"stop": "time cap", "cap_s": 120.0}]
    assert rt.ci_note(_row(gpu_ci95_rel=0.14, repeats=5, stop="time cap"), logs) == \
        "95% CI ±14% of the mean after 5 repeats: the job's time cap (120 s) ended it"
    assert rt.ci_note(_row(gpu_wh_per_1000=None, gpu_ci95_rel=None), logs) == "no GPU figure"


def test_split_rows_and_markdown_leave_flagged_rows_out():
    base = {"task": "fill-mask", "model": "roberta-base", "model_kind": "task-specific", "preset": "paper",
            "dataset": "bookcorpus", "parameters": 124_697_433, "dtype": "float32", "samples": 200,
            "samples_range": "200", "repeats": 4,
            "gpu_wh_per_1000": 0.5, "gpu_wh_per_1000_ci95": 0.02, "gpu_ci95_rel": 0.04, "total_wh_per_1000": 0.6,
            "gpu_counter_share": 1.0, "gpu": "NVIDIA H200", "driver": "580.159.04", "commit": "abc1234",
            "ci_note": "", "flags": ""}
    bad = dict(base, model="bert-base-cased", flags="shared GPU (other processes 9 on the card)")
    kept, left = rt.split_rows([base, bad])
    assert kept == [base] and left == [bad]
    md = rt.markdown(kept, left)
    assert "| fill-mask | roberta-base | task-specific | 125 M | float32 | bookcorpus | 200 x 4 | 0.5 ± 0.02 (±4%) " \
           "| 0.6 | 100% " \
           "| NVIDIA H200, 580.159.04, abc1234 | within 10% |" in md
    assert "| paper | fill-mask | bert-base-cased | shared GPU (other processes 9 on the card) |" in md
    assert md.count("bert-base-cased") == 1


def test_run_adaptive_records_a_failed_job(monkeypatch):
    import wattprint.bench.runner as runner

    def fake(job, *, store, on_record, skip_keys, progress, meter_factory):
        on_record(SimpleNamespace(gpu_wh_per_1000=None, wh_per_1000=None, status="failed",
                                  error="cannot run the model: OutOfMemoryError"))

    monkeypatch.setattr(runner, "run_job", fake)
    monkeypatch.setattr(rr, "gpu_processes", lambda index=0: None)
    log = rr.run_adaptive(Job("t", "m", "paper", "ds", {}, 3), FakeStore(), cap_s=100, max_repeats=12)
    assert log.stop == "failed: cannot run the model: OutOfMemoryError" and log.repeats == 0


def test_run_adaptive_leaves_a_job_already_tight_in_the_store_unloaded(monkeypatch):
    import wattprint.bench.runner as runner

    monkeypatch.setattr(runner, "run_job", lambda job, **k: pytest.fail("a tight job was loaded again"))
    monkeypatch.setattr(rr, "gpu_processes", lambda index=None: [])
    job = Job("t", "m", "paper", "ds", {}, 3)
    stored = [_rec(v, key=plan_key(job, i)) for i, v in enumerate([1.0, 1.01, 0.99])]
    log = rr.run_adaptive(job, FakeStore(stored), cap_s=100, max_repeats=12)
    assert (log.stop, log.repeats, log.notes) == ("tight", 3, ["already done: no repeat ran in this call"])
    # stored repeats that are not yet tight get more
    ran = []
    monkeypatch.setattr(runner, "run_job", lambda job, **k: ran.append(k["on_record"](_rec(1.0))))
    wide = [_rec(v, key=plan_key(job, i)) for i, v in enumerate([1.0, 1.5, 0.7])]
    assert rr.run_adaptive(job, FakeStore(wide), cap_s=100, max_repeats=12).repeats == 4 and len(ran) == 1


class _Nvml:
    """Two cards, each with its own process list, for gpu_processes."""

    class NVMLError(Exception):
        pass

    def __init__(self):
        self.procs = {0: [SimpleNamespace(pid=11, usedGpuMemory=1)], 1: [SimpleNamespace(pid=22, usedGpuMemory=2)]}

    def nvmlInit(self):
        pass

    def nvmlDeviceGetCount(self):
        return 2

    def nvmlDeviceGetHandleByIndex(self, i):
        return i

    def nvmlDeviceGetUUID(self, h):
        return f"GPU-{h}aaa"

    def nvmlDeviceGetName(self, h):
        return "NVIDIA H200"

    def nvmlDeviceGetComputeRunningProcesses(self, h):
        return self.procs[h]


def test_gpu_processes_looks_at_the_card_this_process_uses(monkeypatch):
    monkeypatch.setitem(sys.modules, "pynvml", _Nvml())
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-1aaa")  # the second card, by UUID, as device_run.sh sets it
    assert rr.gpu_processes() == [{"pid": 22, "used_memory": 2}]
    assert rr.gpu_processes(0) == [{"pid": 11, "used_memory": 1}]
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "GPU-9")  # no such card: cannot tell
    assert rr.gpu_processes() is None


def test_card_comparison_pairs_the_jobs_of_both_cards():
    mine = [_row(preset="paper", task="fill-mask", model="roberta-base", samples=200, commit="abc1234",
                 gpu_wh_per_1000=0.5, gpu_wh_per_1000_ci95=0.02),
            _row(preset="paper", task="fill-mask", model="only-here", samples=10, commit="abc1234",
                 gpu_wh_per_1000=9.0, gpu_wh_per_1000_ci95=0.1)]
    theirs = [{"preset": "paper", "task": "fill-mask", "model": "roberta-base", "samples": "100", "repeats": "3",
               "commit": "", "gpu_wh_per_1000": "0.4", "gpu_wh_per_1000_ci95": "0.05"}]
    md = rt.card_comparison(mine, theirs, "h200", "h100")
    assert "| paper | fill-mask | roberta-base | 0.4 ± 0.05 (100 x 3, n/a) | 0.5 ± 0.02 (200 x 4, abc1234) " \
           "| 1.25 | no |" in md
    assert "only-here" not in md and "over these 1 jobs: **1.25**" in md
    assert rt.card_comparison(mine, [], "h200", "h100") == ""


def _store_with(path, jobs, log):
    """A store at ``path`` holding one finished run per (model, value) and its sidecar job log."""
    from wattprint.store.record import RunRecord
    from wattprint.store.sqlite import Store

    with Store(str(path)) as s:
        for model, value in jobs:
            s.add(RunRecord(task="text-classification", model=model, preset="aienergyscore", repeat=0,
                            status="finished", energy_j=value, gpu_wh_per_1000=value))
    Path(str(path) + ".jobs.json").write_text(json.dumps(
        [{"preset": "aienergyscore", "task": "text-classification", "model": m, "stop": log} for m, _ in jobs]))


def test_merge_newest_first_keeps_the_newest_runs_and_job_log_of_each_job(tmp_path):
    import reference as ref
    from wattprint.store.sqlite import Store

    _store_with(tmp_path / "old.db", [("a", 1.0), ("b", 2.0)], "old")
    archive = tmp_path / "results"
    archive.mkdir()
    with Store(str(tmp_path / "old.db")) as s:
        ref._archive_runs(s.runs(status=None), archive / "h200-runs.csv.gz")
    (tmp_path / "old.db.jobs.json").rename(archive / "h200-jobs.json")  # archived beside the export
    _store_with(tmp_path / "new.db", [("b", 3.0)], "new")
    out = tmp_path / "merged.db"
    ref.merge(SimpleNamespace(store=str(out), merge=[str(tmp_path / "new.db"), str(archive / "h200-runs.csv.gz")],
                              newest_first=True))
    with Store(str(out)) as s:
        got = {r.model: r.gpu_wh_per_1000 for r in s.runs(status=None)}
    assert got == {"a": 1.0, "b": 3.0}  # b's older run is replaced, a's is kept from the archive
    logs = {(e["model"], e["stop"]) for e in json.loads(Path(str(out) + ".jobs.json").read_text())}
    assert logs == {("a", "old"), ("b", "new")}  # the archived log comes along; b's older entry does not


def test_merge_into_a_new_store_leaves_out_a_sidecar_left_from_an_earlier_store_at_that_path(tmp_path):
    import reference as ref

    _store_with(tmp_path / "new.db", [("b", 3.0)], "new")
    out = tmp_path / "merged.db"
    Path(str(out) + ".jobs.json").write_text(json.dumps(  # the store itself was deleted, its sidecar was not
        [{"preset": "aienergyscore", "task": "text-classification", "model": "b", "stop": "stale"}]))
    ref.merge(SimpleNamespace(store=str(out), merge=[str(tmp_path / "new.db")], newest_first=True))
    logs = [(e["model"], e["stop"]) for e in json.loads(Path(str(out) + ".jobs.json").read_text())]
    assert logs == [("b", "new")]
    ref.merge(SimpleNamespace(store=str(out), merge=[str(tmp_path / "new.db")], newest_first=False))
    logs = [(e["model"], e["stop"]) for e in json.loads(Path(str(out) + ".jobs.json").read_text())]
    assert logs == [("b", "new")]  # merged again into the now non-empty store: nothing new to add, the log kept


def test_merge_newest_first_refuses_a_store_that_already_holds_runs_before_writing_anything(tmp_path, capsys):
    import reference as ref

    _store_with(tmp_path / "new.db", [("b", 3.0)], "new")
    _store_with(tmp_path / "merged.db", [("b", 1.0)], "older")  # an earlier merge left at that path
    before = (tmp_path / "merged.db").read_bytes(), (tmp_path / "merged.db.jobs.json").read_text()
    assert ref.main(["--merge", str(tmp_path / "new.db"), "--newest-first", "--store", str(tmp_path / "merged.db"),
                     "--out", ""]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "already holds 1 run, which" in err
    assert "fix: give a path that does not exist" in err
    assert ((tmp_path / "merged.db").read_bytes(), (tmp_path / "merged.db.jobs.json").read_text()) == before


def test_job_row_gives_the_cards_mean_power_and_time_per_1000_whose_product_is_the_gpu_figure():
    from wattprint.report.accounting import IdleLookup
    from wattprint.store.record import RunRecord

    def rec(i, joules, seconds):
        return RunRecord(task="image-classification", model="resnet-18", preset="aienergyscore", repeat=i,
                         status="finished", duration_s=seconds, inferences=100, gpu_wh_per_1000=joules / 360.0,
                         wh_per_1000=joules / 360.0, components=[{"kind": "gpu", "energy_j": joules,
                                                                  "method": "counter", "uuid": "GPU-1"}])

    rs = [rec(0, 480.0, 4.0), rec(1, 500.0, 4.0)]  # 120 W and 125 W, 40 s per 1,000
    for r in rs:
        r.dataset, r.input_tokens = "imagenet-1k", 15000
    row = rt.job_row(rs, IdleLookup(rs))
    assert row["dataset"] == "imagenet-1k" and row["input_tokens_per_input"] == 150.0
    assert row["gpu_mean_w"] == pytest.approx(122.5) and row["s_per_1000"] == pytest.approx(40.0)
    assert row["gpu_mean_w"] * row["s_per_1000"] / 3600 == pytest.approx(row["gpu_wh_per_1000"])  # W x s -> Wh


def test_stage_clock_times_each_stage_until_the_next_and_the_repeats_until_the_job_ends():
    ticks = iter([0.0, 0.5, 2.5, 3.0, 7.0, 8.0, 20.0])
    clock = rr.StageClock(clock=lambda: next(ticks))  # 0.0: made
    clock.job_started("job", 3)  # 0.5
    clock.stage("loading the model")  # 2.5
    clock.stage("building 40 inputs (synthetic)")  # 3.0
    clock.stage("warm-up (3 batch(es), not counted)")  # 7.0
    clock.repeat_started(0, 3, 40)  # 8.0
    clock.repeat_started(1, 3, 40)  # no tick: still the repeats
    clock.job_finished("job", "done")  # 20.0
    assert clock.rounded() == {"start": 2.0, "loading": 0.5, "building": 4.0, "warm-up": 1.0, "repeats": 12.0}


def test_an_idle_baseline_is_measured_by_the_jobs_meter_before_anything_loads(monkeypatch):
    import wattprint.bench.runner as runner

    seen = {}

    def fake(job, *, store, on_record, skip_keys, progress, meter_factory=None):
        seen["factory"] = meter_factory
        if meter_factory is not None:
            meter = meter_factory(gpus=None)  # as run_job makes it: the baseline is taken here
            seen["idle_w"] = meter._idle_w
            meter.close()
        on_record(_rec(1.0))
        on_record(_rec(1.0))
        on_record(_rec(1.0))

    monkeypatch.setattr(runner, "run_job", fake)
    monkeypatch.setattr(rr, "gpu_processes", lambda index=0: None)
    job = Job("t", "m", "paper", "ds", {}, 3)
    log = rr.run_adaptive(job, FakeStore(), cap_s=100, max_repeats=12, idle_s=0.05)
    assert 0.05 <= log.idle_s < 1.0 and set(seen["idle_w"]) >= {"cpu"}  # per component, as records carry it
    log = rr.run_adaptive(job, FakeStore(), cap_s=100, max_repeats=12)
    assert seen["factory"] is None and log.idle_s == 0.0  # by default the runner's own meter, no baseline


def test_a_call_measures_its_idle_baseline_once_at_the_first_job_that_runs(monkeypatch, tmp_path):
    import reference as ref

    asked = []

    def fake_one(job, store, args, commit, idle_s=0.0):
        asked.append(idle_s)
        ran = job.model != "done-already"  # a job already tight in the store loads nothing: no baseline
        return rr.JobLog(job.preset, job.task, job.model, idle_s=idle_s if ran else 0.0)

    plan = [SimpleNamespace(preset="aienergyscore", task="t", model=m, label=m) for m in ("done-already", "a", "b")]
    monkeypatch.setattr(ref, "_one", fake_one)
    monkeypatch.setattr(ref, "selected", lambda args: plan)
    monkeypatch.setattr("wattprint.bench.plan.expand", lambda preset, tasks, models, o: [
        Job(tasks[0], models[0], preset, "ds", {}, 3)])
    args = ref._args(["--store", str(tmp_path / "r.db"), "--idle-baseline", "7", "--budget", "100"])
    assert ref.run(args) == 0
    assert asked == [7.0, 7.0, 0.0]


def test_a_table_file_without_rows_keeps_the_columns_its_rows_would_have(tmp_path):
    import csv

    import reference as ref

    _store_with(tmp_path / "s.db", [("a", 1.0)], "tight")  # no counter share recorded: the row is flagged
    ref.table(SimpleNamespace(store=str(tmp_path / "s.db"), out=str(tmp_path / "out"), archive=str(tmp_path / "arc"),
                              name="h200", from_export=None))
    published = (tmp_path / "out" / "h200.csv").read_text().splitlines()
    flagged = (tmp_path / "arc" / "h200-flagged.csv").read_text().splitlines()
    assert len(flagged) == 2 and published == flagged[:1]  # no published row, but every column of one
    assert next(csv.reader(published))[:3] == ["task", "model", "model_kind"]
