"""wattprint serve-bench end to end against a fake engine: stored records, JSON, the report, --from-store."""

from __future__ import annotations

import json
import os

from wattprint.cli.main import main
from wattprint.loadgen.fake import FakeConfig, FakeEngine
from wattprint.serve.testing import serve_in_thread
from wattprint.store.export import export
from wattprint.store.sqlite import Store


def test_serve_bench_stores_reports_and_picks(tmp_path, capsys) -> None:
    db, out_json, html = tmp_path / "r.db", tmp_path / "r.json", tmp_path / "r.html"
    with serve_in_thread(FakeEngine(FakeConfig(token_s=0.003))) as url:
        code = main(["serve-bench", "--url", url, "--model", "fake-model", "--concurrency", "1,2",
                     "--duration", "1", "--slice", "0.2", "--workload", "fixed:6:10", "--force-length", "vllm",
                     "--energy", "meter", "--engine-pid", str(os.getpid()), "--gpus", "none", "--idle", "0.3",
                     "--store", str(db), "--json", str(out_json), "--report", str(html),
                     "--latency-target", "e2e_p95=5", "--weights", "random", "--country", "FR"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert "energy-latency Pareto frontier (e2e_p95)" in err
    with Store(db) as store:
        recs = store.runs()
    assert [(r.task, r.preset, r.batch_size) for r in recs] == [("serving", "serve-bench", 1),
                                                                 ("serving", "serve-bench", 2)]
    r = recs[1]
    assert r.energy_j > 0 and r.cpu_energy_j > 0 and r.idle_power_w is not None
    assert {c["kind"] for c in r.components} == {"cpu", "ram"} and all(c["method"] == "estimated" for c in r.components)
    assert r.wh_per_token == r.serving["per"]["j_per_output_token"] / 3600
    assert r.generated_tokens and r.weights == "random" and r.emissions and r.gco2e is not None
    assert r.environment["python"] and r.settings["target"]["force_length"] == "vllm"
    assert r.serving["window"]["found"]
    levels = json.loads(out_json.read_text())["levels"]
    assert [s["level"]["label"] for s in levels] == ["c=1", "c=2"]
    if not any(s["client"]["saturated"] for s in levels):  # a saturated client's level is never picked
        assert "for e2e_p95 <= 5 s: run at c=" in err
    page = html.read_text()
    assert page.count("<svg") == 2 and "Pareto frontier" in page and "c=2" in page
    n = export(recs, tmp_path / "r.csv")
    assert n == 2 and "serving" in (tmp_path / "r.csv").read_text().splitlines()[0]

    from wattprint.report.aggregate import aggregate

    assert aggregate(recs).rows == []  # levels are not per-inference runs: the task report leaves them out

    md = tmp_path / "again.md"
    assert main(["serve-bench", "--from-store", "--store", str(db), "--report", str(md)]) == 0
    text = md.read_text()
    assert "| c=1 " in text and "| c=2 " in text and "Pareto frontier" in text


def test_from_store_without_levels_is_a_clear_error(tmp_path, capsys) -> None:
    assert main(["serve-bench", "--from-store", "--store", str(tmp_path / "none.db")]) == 2
    assert "does not exist" in capsys.readouterr().err
