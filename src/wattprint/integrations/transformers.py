"""A ``transformers`` TrainerCallback: training steps (per logging interval) and evaluation measured with one
meter, their energy put into the Trainer's own logs (``state.log_history``, what ``evaluate()`` returns) and,
optionally, a store."""

from __future__ import annotations

from typing import Any

from wattprint.integrations._extras import require
from wattprint.integrations.training import TrainingEnergy

_transformers = require("transformers", "hf", "The Trainer callback")
_Base: Any = _transformers.TrainerCallback  # the library's callback class, known only once it is imported


def _model_name(model: Any) -> str:
    config = getattr(model, "config", None)
    return str(getattr(config, "name_or_path", "") or type(model).__name__) if model is not None else ""


class WattprintCallback(_Base):
    """Measures training between log points as window ``train`` and each evaluation as ``eval``, and adds
    ``<prefix>/train/...`` (or ``.../eval/...``) figures to the log the Trainer writes at that point; the final
    log of ``train()`` also gets ``<prefix>/train_total/...`` and ``<prefix>/eval_total/...``.

    ``meter``: a Meter to share (else one is built from ``meter_kwargs`` and closed at the end). ``store``: a
    Store or path the run is written to when training ends (task ``training``). Evaluation outside training
    (``trainer.evaluate()``) is measured from the end of its first batch: the Trainer calls no hook before it.
    """

    def __init__(self, meter: Any = None, store: Any = None, prefix: str = "energy", **meter_kwargs: Any) -> None:
        self.energy = TrainingEnergy(meter, store, prefix, "transformers.Trainer", meter_kwargs)
        self._training = False
        self._last_eval: dict[str, float] = {}

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._training = True
        self.energy.prepare()

    def on_step_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.energy.start("train")

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        if control.should_log or control.should_evaluate or control.should_save or control.should_training_stop:
            self.energy.stop()
        if control.should_evaluate:
            self.energy.start("eval")

    def on_prediction_step(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.energy.start("eval")

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None,
               **kwargs: Any) -> None:
        if logs is None:
            return
        if "train_runtime" in logs:  # the summary log train() writes at its end
            self.energy.stop()
            figures = {**self.energy.take("train"), **self.energy.totals()}
        elif any(k.endswith("_runtime") for k in logs):  # an evaluation's metrics
            if self.energy.open_phase == "eval":
                self.energy.stop()
            figures = self._last_eval = self.energy.take("eval")
        else:
            figures = self.energy.take("train")
        logs.update(figures)
        if state.log_history:  # the Trainer keeps a copy of the logs: add the figures to it too
            state.log_history[-1].update(figures)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None,
                    **kwargs: Any) -> None:
        if metrics is not None:
            metrics.update(self._last_eval)  # what trainer.evaluate() returns
        self._last_eval = {}
        if not self._training:
            self.energy.finish(write=False)

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._training = False
        self.energy.finish(_model_name(kwargs.get("model")), state.global_step)
