"""Weights & Biases (offline, no account) and TensorBoard, used as docs/integrations.md shows them; what they
wrote is read back (the offline run's folder; the event file through TensorBoard's reader) and compared with the
measurement. Measurements: the real meter (CPU and RAM estimates on a CPU-only machine)."""

from __future__ import annotations

import json

import pytest
from integration_helpers import run_inference, snippets, wandb_logged

from wattprint.integrations.figures import measurement_figures

pytestmark = pytest.mark.timeout(300)


@pytest.fixture
def wandb_service():
    """wandb's service process, shut down after the test (it would live as long as this process)."""
    wandb = pytest.importorskip("wandb")
    yield
    wandb.teardown()


def test_wandb_offline_run_as_the_page_shows(monkeypatch, tmp_path, windows, wandb_service):
    monkeypatch.chdir(tmp_path)
    for k, v in {"WANDB_MODE": "offline", "WANDB_DIR": str(tmp_path), "WANDB_SILENT": "true",
                 "WANDB_CONSOLE": "off", "WANDB_DISABLE_GIT": "true", "WANDB_DISABLE_CODE": "true"}.items():
        monkeypatch.setenv(k, v)
    (code,) = snippets("Weights & Biases")
    exec(code, {"run_inference": run_inference})
    (m,) = [w for w in windows if w.name == "inference"]
    (run_dir,) = (tmp_path / "wandb").glob("offline-run-*")
    (history,), summary = wandb_logged(next(run_dir.glob("run-*.wandb")))
    expected = measurement_figures(m)
    assert {k: history[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert {k: summary[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert history["energy/inference/window"] == 0
    for c in m.components:
        assert summary[f"energy/inference/method/{c.key.replace(':', '_')}"] == f"{c.method.value} ({c.source})"
    record = json.loads((run_dir / "files" / "wattprint" / "inference-0.json").read_text())
    assert record == json.loads(m.to_json())


def _event_reader(logdir):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(str(logdir), size_guidance={"scalars": 0, "tensors": 0})
    acc.Reload()
    return acc


def test_tensorboard_event_file_as_the_page_shows(monkeypatch, tmp_path, windows):
    pytest.importorskip("tensorboardX")
    pytest.importorskip("tensorboard")
    monkeypatch.chdir(tmp_path)
    (code,) = snippets("TensorBoard")
    exec(code + "\nwith wattprint.measure('inference'):\n    run_inference()\n", {"run_inference": run_inference})
    ms = [w for w in windows if w.name == "inference"]
    assert len(ms) == 2  # the snippet's window, and one measured after the block: not logged
    acc = _event_reader(tmp_path / "runs" / "energy")
    for tag, value in measurement_figures(ms[0]).items():
        events = acc.Scalars(tag)
        assert [e.step for e in events] == [0]
        assert events[0].value == pytest.approx(value, rel=1e-6)  # event files keep float32
    text = acc.Tensors("energy/inference/record/text_summary")[0].tensor_proto.string_val[0].decode()
    assert json.loads(text.split("```json\n", 1)[1].rsplit("```", 1)[0]) == json.loads(ms[0].to_json())
    assert "estimated" in text or "counter" in text or "sampled" in text


def test_tensorboard_through_a_writer_the_caller_has(tmp_path):
    pytest.importorskip("tensorboard")
    from torch.utils.tensorboard import SummaryWriter

    import wattprint
    from wattprint.integrations.tensorboard import TensorBoardLogger

    writer = SummaryWriter(str(tmp_path / "tb"))
    with TensorBoardLogger(writer=writer) as logger:
        for _ in range(3):
            with wattprint.measure("step") as m:
                run_inference()
    writer.close()
    assert logger.sent == 3 and logger.logdir == str(tmp_path / "tb")
    events = _event_reader(tmp_path / "tb").Scalars("energy/step/total_j")
    assert [e.step for e in events] == [0, 1, 2]
    assert events[-1].value == pytest.approx(m.result.total_energy_j, rel=1e-6)


def test_only_the_windows_asked_for(tmp_path):
    pytest.importorskip("tensorboardX")
    pytest.importorskip("tensorboard")
    from wattprint.integrations.tensorboard import TensorBoardLogger
    from wattprint.meter.meter import Meter

    with TensorBoardLogger(tmp_path / "tb", windows=["decode"]) as logger, Meter(gpus=None) as meter:
        for _ in range(2):
            meter.begin("prefill")
            meter.end("prefill")
            meter.begin("decode")
            run_inference()
            decode = meter.end("decode")
    assert logger.sent == 2
    acc = _event_reader(tmp_path / "tb")
    assert not [t for t in acc.Tags()["scalars"] if "prefill" in t]
    events = acc.Scalars("energy/decode/total_j")
    assert [e.step for e in events] == [0, 1]
    assert events[1].value == pytest.approx(decode.total_energy_j, rel=1e-6)
