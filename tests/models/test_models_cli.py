"""`wattprint models`: grouped by task, smallest first, study models marked, `--study` filters, and every line
fits a terminal of 160 columns with 120+ models."""

import json

from wattprint.cli.main import main


def test_table_is_grouped_marked_and_narrow(capsys):
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert "text-classification: 11 models (8 from the study), smallest first" in lines
    assert "127 models, 90 from the Power Hungry Processing study" in out
    assert max(len(line) for line in lines) <= 160
    gen = lines.index(next(line for line in lines if line.startswith("image-generation:")))
    rows = lines[gen + 1: gen + 12]  # 11 pipelines, 10 of them the study's
    assert rows[0].split()[:2] == ["*", "bk-sdm-tiny"] and rows[-1].split()[:2] == ["*", "sdxl-base-1.0"]


def test_study_filter(capsys):
    assert main(["models", "--study", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 90 and all(r["study"] for r in rows)
    assert main(["models", "--study", "--task", "summarization"]) == 0
    out = capsys.readouterr().out
    assert "summarization: 16 models (16 from the study)" in out and "+3 tasks" in out  # Flan-T5, BLOOMZ too
