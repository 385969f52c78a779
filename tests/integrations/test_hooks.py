"""wattprint.meter.hooks: every resolved window reaches the registered callbacks; a failing callback is logged
and never breaks the measurement. The real meter on this machine (CPU and RAM estimates without a GPU)."""

from __future__ import annotations

import logging

import pytest
from integration_helpers import snippets

from wattprint.core.errors import ConfigError
from wattprint.meter import hooks
from wattprint.meter.meter import Meter


def test_every_closed_window_reaches_the_callback_once():
    got = []
    with hooks.hooked(got.append), Meter(gpus=None) as meter:
        meter.begin("a")
        meter.begin("b")
        b = meter.end("b")
        a = meter.end("a", settle=True)
    assert got == [b, a]
    assert got[0] is b and got[1] is a
    assert hooks.registered() == []


def test_deferred_resolution_reaches_the_callback():
    got = []
    with hooks.hooked(got.append), Meter(gpus=None) as meter:
        meter.begin("slice")
        closed = meter.close_window("slice")
        assert got == []  # stamping the end resolves nothing yet
        m = meter.measurement(closed)
    assert got == [m]


def test_a_failing_callback_is_logged_and_the_measurement_kept(caplog):
    after = []

    def broken(m):
        raise RuntimeError("tracker down")

    with hooks.hooked(broken), hooks.hooked(after.append), Meter(gpus=None) as meter:
        with caplog.at_level(logging.WARNING, logger="wattprint.meter.hooks"):
            meter.begin("w")
            m = meter.end("w")
    assert m.name == "w" and m.total_energy_j >= 0
    assert after == [m]  # the callbacks after the broken one still ran
    lines = [r.getMessage() for r in caplog.records if r.name == "wattprint.meter.hooks"]
    assert len(lines) == 1 and "broken" in lines[0] and "RuntimeError: tracker down" in lines[0]
    assert "\n" not in lines[0]


def test_register_twice_calls_once_and_unregister_says_whether_it_was_there():
    got = []
    hooks.register(got.append)
    hooks.register(got.append)
    try:
        with Meter(gpus=None) as meter:
            meter.begin("w")
            meter.end("w")
        assert len(got) == 1
    finally:
        assert hooks.unregister(got.append) is True
    assert hooks.unregister(got.append) is False


def test_a_callback_must_be_callable():
    with pytest.raises(ConfigError, match="must be callable"):
        hooks.register("print")  # type: ignore[arg-type]


def test_the_page_hook_snippet(capsys):
    code = snippets("Every window, or one measurement")[0]
    before = hooks.registered()
    exec(code, {})
    (added,) = [h for h in hooks.registered() if h not in before]
    try:
        with Meter(gpus=None) as meter:
            meter.begin("request")
            m = meter.end("request")
    finally:
        hooks.unregister(added)
    assert capsys.readouterr().out == f"request {m.total_energy_j} J\n"


def test_hooks_see_measure_and_track_results_with_their_emissions():
    import wattprint

    got = []

    @wattprint.track(name="step", gpus=None, country="FR")
    def step():
        return sum(range(1000))

    try:
        with hooks.hooked(got.append):
            with wattprint.measure("block", gpus=None, country="FR") as m:
                step()
            step()
    finally:
        step.wattprint.close()  # its meter's sampler thread: later tests count threads
    assert [g.name for g in got] == ["step", "block", "step"]  # each once, under the function's name
    assert got[1] is m.result and got[2] is step.last_result
    assert all(g.emissions is not None and g.emissions.zone == "FR" for g in got)
    assert got[1].emissions.gco2e == m.result.emissions.gco2e
