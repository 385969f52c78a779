"""Repeats to table rows: mean, std and CI over finished repeats; failed jobs shown with their reason."""

import pytest

from wattprint.bench.summary import plain_table, rows
from wattprint.store.record import RunRecord


def _rec(repeat, wh, status="finished", **kw):
    return RunRecord(task="text-classification", model="m", preset="quick", repeat=repeat, status=status,
                     dataset="imdb", wh_per_1000=wh, gco2e_per_1000=wh * 0.5 if wh else None, weights="random",
                     workload="synthetic", samples=10, latency_p50_s=0.002,
                     equivalents_per_1000=[{"key": "smartphone_charges", "name": "Smartphone charges",
                                            "value": wh / 11.6 if wh else 0}], **kw)


def test_mean_std_ci_over_finished_repeats_only():
    (row,) = rows([_rec(0, 1.0), _rec(1, 2.0), _rec(2, 3.0), _rec(3, None, status="aborted")])
    assert row.repeats == 3 and row.status == "finished"
    assert row.wh_per_1000.mean == pytest.approx(2.0) and row.wh_per_1000.std == pytest.approx(1.0)
    assert row.wh_per_1000.ci_high == pytest.approx(2.0 + 4.3027 * 1.0 / 3 ** 0.5, rel=1e-4)
    assert row.gco2e_per_1000 == pytest.approx(1.0)
    assert row.phone_charges_per_1000 == pytest.approx(2.0 / 11.6)
    text = plain_table([row])
    assert "2 ± 1" in text and "2 ms" in text and "synthetic x 10" in text


def test_failed_job_shows_its_reason():
    (row,) = rows([_rec(0, None, status="failed", error="cannot run the model: OutOfMemoryError: CUDA")])
    assert row.status == "failed" and row.repeats == 0
    assert "failed: cannot run the model: OutOfMemoryError: CUDA" in plain_table([row])


def test_gpu_score_is_the_headline_when_the_protocol_says_so():
    recs = [_rec(i, 5.0, gpu_wh_per_1000=4.0, settings={"score": "gpu"}) for i in range(2)]
    assert "4 ± 0 (GPU)" in plain_table(rows(recs))


def test_a_shrunk_run_is_flagged_from_its_warning_when_its_settings_lack_the_reason():
    reason = "quick preset: transcripts capped at 24 new tokens"
    (row,) = rows([_rec(0, 5.33, warnings=[f"settings shrunk: {reason}"])])
    assert row.shrunk == reason
    text = plain_table([row])
    assert "5.33 [shrunk]" in text and text.rstrip().endswith("not comparable with a full-size run's.")
    (full,) = rows([_rec(0, 5.33)])
    assert full.shrunk == "" and "[shrunk]" not in plain_table([full])
