"""The Trainer and Lightning callbacks, used as docs/integrations.md shows them: a real ``transformers`` Trainer
on a tiny random BERT and a real Lightning Trainer on a tiny module, a few steps on CPU. The energy they log
is checked against the windows the meter resolved (seen through the window hook) and the stored run.
Measurements: the real meter (CPU and RAM estimates on a CPU-only machine)."""

from __future__ import annotations

import math

import pytest
from integration_helpers import snippets, tiny_bert

from wattprint.store.sqlite import Store

pytestmark = [pytest.mark.timeout(300), pytest.mark.slow]


def _sum(rows, key):
    return sum(r[key] for r in rows if key in r)


def test_trainer_callback_as_the_page_shows(tmp_path, monkeypatch, windows):
    pytest.importorskip("transformers")
    pytest.importorskip("accelerate")
    from transformers import TrainingArguments

    monkeypatch.chdir(tmp_path)
    model, rows = tiny_bert()
    args = TrainingArguments(output_dir=str(tmp_path / "out"), max_steps=6, logging_steps=2, eval_strategy="steps",
                             eval_steps=3, per_device_train_batch_size=4, per_device_eval_batch_size=4,
                             save_strategy="no", report_to=[], use_cpu=True, disable_tqdm=True)
    ns = {"model": model, "args": args, "train_dataset": rows, "eval_dataset": rows[:8]}
    code = snippets("`transformers` Trainer")[0]
    exec(code, ns)
    trainer = ns["trainer"]
    history = trainer.state.log_history
    train_logs = [h for h in history if "loss" in h]
    eval_logs = [h for h in history if "eval_loss" in h]
    final = history[-1]
    assert len(train_logs) == 3 and len(eval_logs) == 2 and "train_runtime" in final
    assert all(h["energy/train/total_j"] > 0 and h["energy/train/uncertainty_j"] > 0 for h in train_logs)
    assert all(h["energy/eval/total_j"] > 0 for h in eval_logs)

    measured = {p: [w for w in windows if w.name == p] for p in ("train", "eval")}
    assert len(measured["eval"]) == 2  # one window per evaluation
    for phase, logs in (("train", train_logs + [final]), ("eval", eval_logs)):
        total = sum(w.total_energy_j for w in measured[phase])
        assert _sum(logs, f"energy/{phase}/total_j") == pytest.approx(total, rel=1e-9)  # each window logged once
        assert final[f"energy/{phase}_total/total_j"] == pytest.approx(total, rel=1e-9)
        assert final[f"energy/{phase}_total/duration_s"] == pytest.approx(
            sum(w.duration_s for w in measured[phase]), rel=1e-9)

    (record,) = Store("training.db", readonly=True).runs()
    assert record.task == "training" and record.preset == "transformers.Trainer"
    assert record.energy_j == pytest.approx(final["energy/train_total/total_j"] + final["energy/eval_total/total_j"])
    assert record.phases["eval"] == pytest.approx(final["energy/eval_total/total_j"])
    assert record.settings["optimizer_steps"] == 6
    assert {c["method"] for c in record.components} <= {"counter", "sampled", "estimated"}

    metrics = trainer.evaluate()  # outside train(): measured from the end of its first batch
    assert metrics["energy/eval/total_j"] > 0 and "eval_loss" in metrics
    (callback,) = [c for c in trainer.callback_handler.callbacks if type(c).__name__ == "WattprintCallback"]
    assert callback.energy.meter is None  # the callback's own meter is closed after each use


class _Tiny:
    """A LightningModule built lazily, so that collecting this file needs no lightning."""

    @staticmethod
    def build():
        import lightning as L
        import torch

        class Tiny(L.LightningModule):
            def __init__(self):
                super().__init__()
                self.layer = torch.nn.Linear(8, 1)

            def training_step(self, batch, batch_idx):
                x, y = batch
                return torch.nn.functional.mse_loss(self.layer(x), y)

            def validation_step(self, batch, batch_idx):
                x, y = batch
                self.log("val_loss", torch.nn.functional.mse_loss(self.layer(x), y))

            def configure_optimizers(self):
                return torch.optim.SGD(self.parameters(), lr=0.1)

        torch.manual_seed(0)
        data = torch.utils.data.TensorDataset(torch.randn(16, 8), torch.randn(16, 1))
        loader = torch.utils.data.DataLoader(data, batch_size=2)
        val = torch.utils.data.DataLoader(torch.utils.data.Subset(data, range(4)), batch_size=2)
        return Tiny(), loader, val


def test_lightning_callback_as_the_page_shows(tmp_path, monkeypatch, windows):
    pytest.importorskip("lightning")
    pytest.importorskip("tensorboard")
    monkeypatch.chdir(tmp_path)
    model, train_loader, val_loader = _Tiny.build()
    (code,) = snippets("Lightning")
    ns = {"model": model, "train_loader": train_loader, "val_loader": val_loader}
    exec(code, ns)
    trainer = ns["trainer"]
    (callback,) = [c for c in trainer.callbacks if type(c).__name__ == "WattprintCallback"]
    steps = [step for step, figures in callback.logged if "energy/train/total_j" in figures]
    assert steps[:4] == [2, 4, 6, 8]  # every log_every_n_steps batches, at the global step
    measured = {p: [w for w in windows if w.name == p] for p in ("train", "eval")}
    assert len(measured["eval"]) == 2  # the sanity check and the validation after the epoch
    for phase in ("train", "eval"):
        total = sum(w.total_energy_j for w in measured[phase])
        sent = sum(f.get(f"energy/{phase}/total_j", 0.0) for _, f in callback.logged)
        assert sent == pytest.approx(total, rel=1e-9)
        assert float(trainer.callback_metrics[f"energy/{phase}_total/total_j"]) == pytest.approx(total, rel=1e-6)

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    acc = EventAccumulator(trainer.logger.log_dir, size_guidance={"scalars": 0})  # the Trainer's own logger
    acc.Reload()
    logged = [(e.step, e.value) for e in acc.Scalars("energy/train/total_j")]
    expected = [(s, f["energy/train/total_j"]) for s, f in callback.logged if "energy/train/total_j" in f]
    assert [s for s, _ in logged] == [s for s, _ in expected]
    assert all(math.isclose(a, b, rel_tol=1e-6) for (_, a), (_, b) in zip(logged, expected))

    before = len(callback.logged)
    trainer.validate(model, val_loader)  # outside fit: measured, sent, and the callback's meter closed after
    (step, figures), = callback.logged[before:]
    assert figures["energy/eval/total_j"] > 0 and step == trainer.global_step
    assert callback.energy.meter is None


def test_a_store_that_cannot_be_written_is_refused_before_training(tmp_path):
    pytest.importorskip("lightning")
    from wattprint.core.errors import ConfigError
    from wattprint.integrations.lightning import WattprintCallback

    other = tmp_path / "notes.db"
    other.write_text("not a database")
    with pytest.raises(ConfigError) as err:
        WattprintCallback(store=other)
    assert other.read_text() == "not a database"  # refused untouched
    assert "fix:" in str(err.value)
    with pytest.raises(ConfigError, match="not a folder this user can write to"):
        WattprintCallback(store=tmp_path / "missing" / "train.db")
    assert not (tmp_path / "missing").exists()
    WattprintCallback(store=tmp_path / "new.db")  # a new file in a writable folder: fine, nothing written yet
    assert not (tmp_path / "new.db").exists()
