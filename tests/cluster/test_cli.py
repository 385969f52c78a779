"""`wattprint sweep`: a dry run lists the jobs and what each reserves; a bad plan is one clear error."""

from __future__ import annotations

from pathlib import Path

from wattprint.cli.main import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "sweep-quick.toml"


def test_dry_run_lists_every_job(capsys):
    assert main(["sweep", str(EXAMPLE), "--dry-run", "--store", "x.db"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-1] == "4 jobs; store x.db"
    assert sum("2 repeats, reserves {'num_cpus': 1" in line for line in out) == 4


def test_a_bad_plan_is_an_error_with_a_fix(tmp_path, capsys):
    plan = tmp_path / "p.toml"
    plan.write_text('tasks = ["text-classification"]\n[resources]\nnum_gpus = 0.5\n')
    assert main(["sweep", str(plan)]) == 2
    err = capsys.readouterr().err
    assert "a sweep job reserves whole GPUs" in err and "fix:" in err
