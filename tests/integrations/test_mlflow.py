"""MLflow, used as docs/integrations.md shows it, against a real tracking server (SQLite backend) that the session
starts; what is logged is read back with MlflowClient and compared with the measurement's and the store's
numbers. Measurements: the real meter (CPU and RAM estimates on a CPU-only machine)."""

from __future__ import annotations

import json
import logging
import socket
import sys
import time
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from integration_helpers import README, run_inference, snippets, tiny_bert  # noqa: E402

from wattprint.integrations.base import read_unsent  # noqa: E402
from wattprint.integrations.figures import measurement_figures  # noqa: E402
from wattprint.store.record import RunRecord  # noqa: E402
from wattprint.store.sqlite import Store  # noqa: E402

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def tracking(mlflow_server, monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.chdir(tmp_path)
    return mlflow.MlflowClient(mlflow_server)


def _artifact(client, run_id: str, path: str, tmp: Path) -> dict:
    local = client.download_artifacts(run_id, path, str(tmp))
    return json.loads(Path(local).read_text())


def test_every_window_and_one_measurement_as_the_page_shows(tracking, windows, tmp_path):
    per_window, per_run = snippets("MLflow")[:2]
    ns: dict = {"run_inference": run_inference}
    exec(per_window, ns)
    run_id = ns["run"].info.run_id
    measured = [m for m in windows if m.name == "inference"]
    assert len(measured) == 1 and measured[0].total_energy_j > 0
    m = measured[0]
    data = tracking.get_run(run_id).data
    expected = measurement_figures(m)
    assert {k: data.metrics[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert data.metrics["energy/inference/total_j"] == pytest.approx(m.total_energy_j, rel=1e-12)
    assert data.metrics["energy/inference/uncertainty_j"] == pytest.approx(m.total_uncertainty_j, rel=1e-12)
    for c in m.components:  # each component's method and source, as a tag
        assert data.tags[f"energy/inference/method/{c.key.replace(':', '_')}"] == f"{c.method.value} ({c.source})"
    assert _artifact(tracking, run_id, "wattprint/inference-0.json", tmp_path) == json.loads(m.to_json())

    exec(per_run, ns)  # the same run: a second measurement, logged by hand
    second = ns["m"].result
    history = tracking.get_metric_history(run_id, "energy/inference/total_j")
    assert [h.value for h in history] == pytest.approx([m.total_energy_j, second.total_energy_j], rel=1e-12)


def test_the_readme_snippet(tracking, windows):
    (code,) = snippets("Experiment trackers and training", README)
    ns: dict = {"run_inference": run_inference}
    exec(code, ns)
    (m,) = [w for w in windows if w.name == "inference"]
    metrics = tracking.get_run(ns["run"].info.run_id).data.metrics
    assert metrics["energy/inference/total_j"] == pytest.approx(m.total_energy_j, rel=1e-12)
    assert metrics["energy/inference/uncertainty_j"] == pytest.approx(m.total_uncertainty_j, rel=1e-12)


def _records() -> list[RunRecord]:
    comps = [{"kind": "gpu", "name": "H100", "energy_j": 300.0, "method": "counter", "uncertainty_j": 0.5,
              "source": "nvml", "uuid": "GPU-1a2b", "index": 0},
             {"kind": "cpu", "name": "EPYC", "energy_j": 60.0, "method": "estimated", "uncertainty_j": 12.0,
              "source": "cpu-estimate"}]
    out = []
    for i, energy in enumerate([360.0, 396.5]):
        out.append(RunRecord(task="text-classification", model="distilbert-sst2", preset="quick", repeat=i,
                             status="finished", inferences=1000, samples=1000, energy_j=energy,
                             energy_uncertainty_j=12.5, gpu_energy_j=300.0, cpu_energy_j=energy - 300.0,
                             wh_per_1000=energy / 3.6, gco2e=energy / 3.6e6 * 400, weights="random",
                             workload="synthetic", dataset="sst2", components=comps, phases={"inference": energy},
                             started_at=1_780_000_000.0 + i, finished_at=1_780_000_010.0 + i))
    return out


def test_a_store_as_the_page_shows(tracking, tmp_path):
    records = _records()
    with Store("wattprint.db") as s:
        for r in records:
            s.add(r)
    (code,) = snippets("MLflow")[2:]
    ns: dict = {"MlflowLogger": sys.modules["wattprint.integrations.mlflow"].MlflowLogger} \
        if "wattprint.integrations.mlflow" in sys.modules else {}
    exec("from wattprint.integrations.mlflow import MlflowLogger\n" + code, ns)
    ids = ns["mlflow_run_ids"]
    assert len(ids) == 2
    for run_id, record in zip(ids, records):
        run = tracking.get_run(run_id)
        assert run.data.metrics["energy/energy_j"] == record.energy_j
        assert run.data.metrics["energy/energy_uncertainty_j"] == record.energy_uncertainty_j
        assert run.data.metrics["energy/wh_per_1000"] == pytest.approx(record.wh_per_1000, rel=1e-12)
        assert run.data.metrics["energy/gco2e"] == pytest.approx(record.gco2e, rel=1e-12)
        assert run.data.metrics["energy/gpu_GPU-1a2b_j"] == 300.0
        assert run.data.metrics["energy/cpu_uncertainty_j"] == 12.0
        assert run.data.metrics["energy/phase_inference_j"] == record.energy_j
        assert run.data.params["model"] == "distilbert-sst2" and run.data.params["repeat"] == str(record.repeat)
        assert run.data.params["method/gpu_GPU-1a2b"] == "counter (nvml)"
        assert run.data.params["workload"] == "synthetic" and run.data.params["weights"] == "random"
        assert run.info.status == "FINISHED"
        assert _artifact(tracking, run_id, "wattprint/record.json", tmp_path)["energy_j"] == record.energy_j
    exec("from wattprint.integrations.mlflow import MlflowLogger\n" + code, ns)  # again: nothing sent twice
    assert ns["mlflow_run_ids"] == ids
    exp = tracking.get_experiment_by_name("benchmark")
    assert len(tracking.search_runs([exp.experiment_id])) == 2


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed when the socket is: nothing listens there


def test_server_unreachable_keeps_every_measurement(monkeypatch, tmp_path, caplog):
    import wattprint
    from wattprint.integrations.mlflow import MlflowLogger

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"http://127.0.0.1:{_closed_port()}")  # MLflow's own retries left on
    fallback = tmp_path / "unsent.jsonl"
    results = []
    t0 = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="wattprint.integrations"):
        with MlflowLogger(fallback=fallback) as logger:
            for _ in range(2):
                with wattprint.measure("inference") as m:
                    run_inference()
                results.append(m.result)
    assert time.monotonic() - t0 < 30  # a refused connection falls back at once, not after minutes of retries
    assert all(r is not None and r.total_energy_j > 0 for r in results)  # the caller still has its results
    assert logger.sent == 0 and logger.kept == 2 and len(logger.failures) == 1
    kept = read_unsent(fallback)
    assert [k.to_dict() for k in kept] == [r.to_dict() for r in results]
    lines = [r.getMessage() for r in caplog.records if r.name == "wattprint.integrations"]
    assert len(lines) == 1 and str(fallback) in lines[0] and "mlflow logging failed" in lines[0]
    assert "\n" not in lines[0]


def test_store_to_an_unreachable_server_keeps_the_records(monkeypatch, tmp_path):
    from wattprint.integrations.mlflow import MlflowLogger

    with Store(tmp_path / "w.db") as s:
        for r in _records():
            s.add(r)
    logger = MlflowLogger(tracking_uri=f"http://127.0.0.1:{_closed_port()}", fallback=tmp_path / "unsent.jsonl")
    assert logger.log_store(tmp_path / "w.db") == []
    kept = [json.loads(line) for line in (tmp_path / "unsent.jsonl").read_text().splitlines()]
    assert [k["record"]["energy_j"] for k in kept] == [360.0, 396.5]
    assert logger.failures and all(k["error"] == logger.failures[0] for k in kept)


def test_a_store_that_is_not_there(tmp_path):
    from wattprint.core.errors import ConfigError
    from wattprint.integrations.mlflow import MlflowLogger

    logger = MlflowLogger(tracking_uri=f"http://127.0.0.1:{_closed_port()}", fallback=tmp_path / "unsent.jsonl")
    with pytest.raises(ConfigError, match="no store at"):
        logger.log_store(tmp_path / "missing.db")
    assert not (tmp_path / "missing.db").exists() and not (tmp_path / "unsent.jsonl").exists()


def test_what_was_kept_is_sent_when_the_server_is_back(mlflow_server, monkeypatch, tmp_path):
    import wattprint
    from wattprint.integrations.mlflow import MlflowLogger

    fallback = tmp_path / "unsent.jsonl"
    down = MlflowLogger(tracking_uri=f"http://127.0.0.1:{_closed_port()}", experiment="resent", fallback=fallback)
    results = []
    with down:
        for _ in range(2):
            with wattprint.measure("inference") as m:
                run_inference()
            results.append(m.result)
    with Store(tmp_path / "w.db") as s:
        for r in _records():
            s.add(r)
    down.log_store(tmp_path / "w.db")
    assert down.kept == 4 and len(fallback.read_text().splitlines()) == 4

    up = MlflowLogger(tracking_uri=mlflow_server, experiment="resent")
    assert up.resend(fallback) == 4 and not fallback.exists() and up.failures == []
    up.close()
    client = mlflow.MlflowClient(mlflow_server)
    history = client.get_metric_history(up.run_id or _own_run(client), "energy/inference/total_j")
    assert [h.value for h in history] == pytest.approx([r.total_energy_j for r in results], rel=1e-12)
    assert [h.step for h in history] == [0, 1]  # the steps they were given when kept
    exp = client.get_experiment_by_name("resent")
    stored = client.search_runs([exp.experiment_id], filter_string="tags.`wattprint.source` = 'store'")
    assert sorted(r.data.metrics["energy/energy_j"] for r in stored) == [360.0, 396.5]


def _own_run(client) -> str:
    exp = client.get_experiment_by_name("resent")
    (run,) = client.search_runs([exp.experiment_id], filter_string="tags.`wattprint.source` = 'MlflowLogger'")
    assert run.info.status == "FINISHED"  # ended by close()
    return str(run.info.run_id)


def test_the_page_resend_snippet(tracking, monkeypatch, windows):
    import wattprint
    from wattprint.integrations.mlflow import MlflowLogger

    with MlflowLogger(tracking_uri=f"http://127.0.0.1:{_closed_port()}"):  # default fallback file, in the cwd
        with wattprint.measure("inference"):
            run_inference()
    assert Path("wattprint-unsent-mlflow.jsonl").exists()
    (code,) = snippets("When the tracker cannot be reached")
    ns: dict = {}
    with mlflow.start_run() as run:  # the snippet's logger sends to the active run
        exec("from wattprint.integrations.mlflow import MlflowLogger\n" + code, ns)
    assert ns["sent"] == 1 and not Path("wattprint-unsent-mlflow.jsonl").exists()
    (m,) = [w for w in windows if w.name == "inference"]
    value = tracking.get_run(run.info.run_id).data.metrics["energy/inference/total_j"]
    assert value == pytest.approx(m.total_energy_j, rel=1e-12)


def test_trainer_with_a_logger_in_the_run_it_reports_to(tmp_path, monkeypatch, windows, mlflow_server):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from transformers import TrainingArguments

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    monkeypatch.chdir(tmp_path)
    model, rows = tiny_bert()
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=4, logging_steps=2, save_strategy="no",
                             per_device_train_batch_size=4, report_to=["mlflow"], use_cpu=True, disable_tqdm=True)
    ns = {"model": model, "args": args, "train_dataset": rows}
    first, second = snippets("`transformers` Trainer")
    exec(first.split("trainer = ")[0] + second, ns)  # the first snippet's imports, then the second
    client = mlflow.MlflowClient(mlflow_server)
    run_id = ns["run"].info.run_id
    train = [w.total_energy_j for w in windows if w.name == "train"]
    history = client.get_metric_history(run_id, "energy/train/total_j")
    assert len(train) == 2 and [h.value for h in history] == pytest.approx(train, rel=1e-12)
    assert [h.step for h in history] == [0, 1]
    assert len(client.get_metric_history(run_id, "loss")) == 2  # the Trainer's own report, in the same run
