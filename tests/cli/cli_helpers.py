"""Helpers of the CLI input tests: run a command in-process, check that an error is one line and a fix."""

from __future__ import annotations

from wattprint.cli.main import main
from wattprint.store.record import RunRecord


def make_record(task: str, model: str, energy_j: float, inferences: int = 100, repeat: int = 0, **kw) -> RunRecord:
    """A finished record as the runner writes it: energy over the inference windows."""
    base = dict(task=task, model=model, preset="quick", repeat=repeat, status="finished", inferences=inferences,
                samples=inferences, energy_j=energy_j, weights="random", workload="synthetic", dataset="d",
                started_at=1_780_000_000.0 + repeat, finished_at=1_780_000_010.0 + repeat)
    base.update(kw)
    return RunRecord(**base)


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    """``wattprint ARGV`` in this process: argparse's exit becomes the exit code."""
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_error(code: int, err: str, *needles: str) -> None:
    """Exit code 2, one error line and one fix line, no traceback or usage dump, and each needle said."""
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert "Traceback" not in err and "usage:" not in err, err
    assert len(lines) == 2 and ": error: " in lines[0] and lines[1].startswith("  fix: "), err
    for n in needles:
        assert n in err, (n, err)
