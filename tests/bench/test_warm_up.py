"""Warm-up goes on while the time per input is still falling (a GPU's first batches after load are slow)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from wattprint.bench import workflow


def _ctx() -> SimpleNamespace:
    return SimpleNamespace(notes=[])


def _scripted(monkeypatch: pytest.MonkeyPatch, times: list[float]) -> list[int]:
    ran: list[int] = []

    def fake(ctx: object, i: int) -> float:
        ran.append(i)
        return times[len(ran) - 1]

    monkeypatch.setattr(workflow, "_warm_batch", fake)
    return ran


def test_batches_are_added_until_one_is_no_longer_clearly_faster(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _scripted(monkeypatch, [0.3, 0.1, 0.05, 0.049, 1.0])
    ctx = _ctx()
    times = workflow._settle(ctx, [0.64, 0.4], 3)
    assert times == [0.64, 0.4, 0.3, 0.1, 0.05, 0.049]  # 0.049 is not 10% under 0.05: settled
    assert ran == [3, 4, 5, 6]
    assert "4 more batch(es)" in ctx.notes[0] and "0.64 -> 0.049" in ctx.notes[0]


def test_settled_timings_add_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _scripted(monkeypatch, [])
    ctx = _ctx()
    assert workflow._settle(ctx, [0.05, 0.051], 3) == [0.05, 0.051]
    assert ran == [] and ctx.notes == []


def test_one_timing_alone_cannot_tell_a_trend(monkeypatch: pytest.MonkeyPatch) -> None:
    ran = _scripted(monkeypatch, [])
    assert workflow._settle(_ctx(), [0.5], 2) == [0.5] and ran == []


def test_the_added_warm_up_is_bounded_in_time(monkeypatch: pytest.MonkeyPatch) -> None:
    _scripted(monkeypatch, [0.5 * 0.8**k for k in range(1, 200)])  # keeps getting faster
    clock = iter(range(0, 1000, 10))
    monkeypatch.setattr(workflow.time, "perf_counter", lambda: float(next(clock)))
    times = workflow._settle(_ctx(), [1.0, 0.5], 3)
    assert 2 < len(times) <= 2 + workflow.SETTLE_MAX_S / 10 + 1


class _Timed:
    """A task whose inputs cost 0.4 s the first time each is seen and 0.04 s after (in a fake clock)."""

    def __init__(self) -> None:
        self.now, self.seen = 0.0, set()

    def clock(self) -> float:
        return self.now

    def run_batch(self, loaded: object, batch: list[int], phases: object, params: object) -> None:
        for x in batch:
            self.now += 0.04 if x in self.seen else 0.4
            self.seen.add(x)


def _budget_ctx(task: _Timed, n_inputs: int) -> SimpleNamespace:
    settings = SimpleNamespace(time_budget_s=2.5, min_samples=10, max_samples=1000, batch_size=1,
                               task_params=lambda: {})
    items = list(range(n_inputs))
    return SimpleNamespace(settings=settings, task=task, loaded=None, sync=lambda: None, notes=[],
                           inputs=SimpleNamespace(items=items), batches=[[x] for x in items[:3]])


def test_a_budget_sized_job_is_resized_from_a_warm_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    task = _Timed()
    monkeypatch.setattr(workflow.time, "perf_counter", task.clock)
    ctx = _budget_ctx(task, 200)
    workflow._fit_budget(ctx, 0.4)  # warm-up saw cold inputs: 2.5 s / 0.4 s -> the minimum, 10
    assert len(ctx.batches) == 10
    workflow._warm_pass(ctx, 0.4)
    assert len(ctx.batches) == 62  # 2.5 s / 0.04 s once warm
    assert task.seen == set(range(62))  # every input the repeats will run has been seen
    assert "0.04 s per input in a warm pass over the inputs -> 62 inputs" in ctx.notes[-1]


def test_a_warm_pass_that_is_not_faster_keeps_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    task = _Timed()
    task.seen = set(range(200))  # nothing is cold: warm-up already timed the warm state
    monkeypatch.setattr(workflow.time, "perf_counter", task.clock)
    ctx = _budget_ctx(task, 200)
    workflow._fit_budget(ctx, 0.04)
    workflow._warm_pass(ctx, 0.04)
    assert len(ctx.batches) == 62 and len(ctx.notes) == 1


def test_a_timed_pass_cut_at_the_budget_says_nothing_is_cold(monkeypatch: pytest.MonkeyPatch) -> None:
    task = _Timed()
    monkeypatch.setattr(workflow.time, "perf_counter", task.clock)
    ctx = _budget_ctx(task, 200)
    workflow._fit_budget(ctx, 1.0)  # 10 inputs of 0.4 s each: the timed pass stops at its 2.5 s budget
    task.run_batch = lambda loaded, batch, phases, params: setattr(task, "now", task.now + 0.4)  # type: ignore[method-assign]
    workflow._warm_pass(ctx, 1.0)
    assert not any("cut short" in n for n in ctx.notes)


class _ReadBack(_Timed):
    """A separable task whose model call on a batch read back from Arrow costs ``read_s`` per input (fake clock)."""

    separable_preprocess = True

    def __init__(self, read_s: float) -> None:
        super().__init__()
        self.read_s, self.prepared_calls = read_s, 0

    def prepare(self, loaded: object, batch: list[int], params: object) -> dict[str, object]:
        import torch

        self.prepared_calls += 1
        return {"x": torch.tensor(batch)}

    def run_prepared(self, loaded: object, prepared: dict[str, object], phases: object, params: object) -> None:
        self.now += self.read_s * len(prepared["x"])  # type: ignore[arg-type]


def _arrow_ctx(monkeypatch: pytest.MonkeyPatch, read_s: float) -> tuple[_ReadBack, SimpleNamespace]:
    pytest.importorskip("datasets")
    task = _ReadBack(read_s)
    monkeypatch.setattr(workflow.time, "perf_counter", task.clock)
    monkeypatch.setattr(workflow, "ARROW_TRIAL_MIN_ELEMENTS", 0)  # the fake's rows are one number each
    ctx = _budget_ctx(task, 200)
    workflow._fit_budget(ctx, 0.04)  # warm-up timed the in-memory call: 2.5 s / 0.04 s -> 62 inputs
    return task, ctx


def test_inputs_read_back_from_arrow_resize_the_job_to_the_budget(monkeypatch: pytest.MonkeyPatch) -> None:
    task, ctx = _arrow_ctx(monkeypatch, read_s=0.125)
    workflow._arrow_trial(ctx, 0.04)
    assert len(ctx.batches) in (19, 20)  # 2.5 s / 0.125 s per input as the repeats run them (float rounding)
    assert "0.125 s per input in inputs read back from an Arrow file" in ctx.notes[-1]
    assert 1 <= task.prepared_calls <= workflow.ARROW_TRIAL_BATCHES + 1  # a few batches, not the whole job


def test_reads_about_as_fast_as_warm_up_keep_the_size(monkeypatch: pytest.MonkeyPatch) -> None:
    _, ctx = _arrow_ctx(monkeypatch, read_s=0.045)  # within ARROW_RESIZE_RATIO of warm-up's 0.04 s
    workflow._arrow_trial(ctx, 0.04)
    assert len(ctx.batches) == 62 and len(ctx.notes) == 1


def test_a_task_that_cannot_separate_its_preprocessing_has_no_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    task, ctx = _arrow_ctx(monkeypatch, read_s=0.1)
    task.separable_preprocess = False
    workflow._arrow_trial(ctx, 0.04)
    assert task.prepared_calls == 0 and len(ctx.batches) == 62


def test_small_rows_such_as_a_texts_tokens_have_no_trial(monkeypatch: pytest.MonkeyPatch) -> None:
    task, ctx = _arrow_ctx(monkeypatch, read_s=0.125)
    monkeypatch.setattr(workflow, "ARROW_TRIAL_MIN_ELEMENTS", 65_536)  # a row of one token id is far below
    workflow._arrow_trial(ctx, 0.04)
    assert task.prepared_calls == 1 and len(ctx.batches) == 62  # the first batch looked at, nothing timed
