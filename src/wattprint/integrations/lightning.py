"""A Lightning Callback: training batches (per ``log_every_n_steps``) and validation measured with one meter,
their energy sent to the Trainer's own loggers and ``callback_metrics`` and, optionally, a store."""

from __future__ import annotations

from typing import Any

from wattprint.integrations._extras import require
from wattprint.integrations.training import TrainingEnergy

_pl = require("lightning.pytorch", "lightning", "The Lightning callback")
_Base: Any = _pl.Callback  # the library's callback class, known only once it is imported


class WattprintCallback(_Base):
    """Measures training batches as window ``train`` and each validation loop as ``eval``. Every
    ``log_every_n_steps`` batches (and after each validation, and at the end) the windows since the last time
    are logged as ``<prefix>/train/...`` or ``<prefix>/eval/...`` to every logger of the Trainer at its global
    step, and put in ``trainer.callback_metrics``; the end of ``fit`` adds ``<prefix>/train_total/...`` and
    ``<prefix>/eval_total/...``. ``meter``, ``store`` and ``meter_kwargs`` as for the Trainer callback.
    """

    def __init__(self, meter: Any = None, store: Any = None, prefix: str = "energy", **meter_kwargs: Any) -> None:
        self._args = (meter, store, prefix, meter_kwargs)
        self.energy = TrainingEnergy(meter, store, prefix, "lightning", meter_kwargs)
        self.logged: list[tuple[int, dict[str, float]]] = []  # (global step, figures) as sent to the loggers
        self._batches = 0

    def _send(self, trainer: Any, figures: dict[str, float]) -> None:
        if not figures:
            return
        step = int(trainer.global_step)
        for logger in trainer.loggers:
            logger.log_metrics(figures, step=step)
        import torch

        trainer.callback_metrics.update({k: torch.tensor(v) for k, v in figures.items()})
        self.logged.append((step, figures))

    def on_fit_start(self, trainer: Any, pl_module: Any) -> None:
        meter, store, prefix, kwargs = self._args
        self.energy = TrainingEnergy(meter, store, prefix, "lightning", kwargs)  # one run per fit()
        self._batches = 0
        self.energy.prepare()

    def on_train_batch_start(self, trainer: Any, pl_module: Any, batch: Any, batch_idx: int) -> None:
        self.energy.start("train")

    def on_train_batch_end(self, trainer: Any, pl_module: Any, outputs: Any, batch: Any, batch_idx: int) -> None:
        self._batches += 1
        if self._batches % max(1, int(trainer.log_every_n_steps)) == 0:
            self.energy.stop()
            self._send(trainer, self.energy.take("train"))

    def on_validation_epoch_start(self, trainer: Any, pl_module: Any) -> None:
        self.energy.start("eval")

    def on_validation_epoch_end(self, trainer: Any, pl_module: Any) -> None:
        self.energy.stop()
        self._send(trainer, self.energy.take("eval"))
        if getattr(trainer.state.fn, "value", trainer.state.fn) != "fit":  # trainer.validate(): no fit to wait for
            self.energy.finish(write=False)

    def on_train_end(self, trainer: Any, pl_module: Any) -> None:
        self.energy.stop()
        self._send(trainer, {**self.energy.take("train"), **self.energy.take("eval"), **self.energy.totals()})
        model = getattr(pl_module, "hparams", {}).get("name", "") or type(pl_module).__name__
        self.energy.finish(str(model), int(trainer.global_step))
