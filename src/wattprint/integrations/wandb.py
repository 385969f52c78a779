"""Weights & Biases: a measurement's figures logged to a run, its methods and emissions' provenance in the run's
summary, and the full record as a run file. Offline mode (``WANDB_MODE=offline``) needs no account."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from wattprint.integrations._extras import require
from wattprint.integrations.base import WindowLogger
from wattprint.integrations.figures import measurement_figures, measurement_tags, safe
from wattprint.meter.result import Measurement


class WandbLogger(WindowLogger):
    """Logs to ``run``, else to the active run (``wandb.init()``), else to a run it starts in ``project``
    (finished by :meth:`close`). Each window's figures go into the run's history with a
    ``<prefix>/<window>/window`` counter; the full record is written as ``wattprint/<window>-<n>.json`` in
    the run's files."""

    tracker = "wandb"

    def __init__(self, run: Any = None, *, project: str = "wattprint", artifacts: bool = True,
                 prefix: str = "energy", windows: Iterable[str] | None = None,
                 fallback: str | os.PathLike[str] | None = None, **init_kwargs: Any) -> None:
        super().__init__(prefix=prefix, windows=windows, fallback=fallback)
        self._wandb = require("wandb", "wandb", "Weights & Biases logging")
        self.run = run
        self.project = project
        self.artifacts = artifacts
        self._init_kwargs = init_kwargs
        self._own_run: Any = None

    def _target_run(self) -> Any:
        if self.run is not None:
            return self.run
        if self._wandb.run is not None:
            return self._wandb.run
        if self._own_run is None:
            self._own_run = self._wandb.init(project=self.project, **self._init_kwargs)
        return self._own_run

    def _send(self, measurement: Measurement, step: int) -> None:
        run = self._target_run()
        figures: dict[str, Any] = dict(measurement_figures(measurement, self.prefix))
        figures[f"{self.prefix}/{safe(measurement.name)}/window"] = step
        run.log(figures)
        run.summary.update(measurement_tags(measurement, self.prefix))
        if self.artifacts:
            path = Path(run.dir) / "wattprint" / f"{safe(measurement.name)}-{step}.json"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(measurement.to_json(indent=2), encoding="utf-8")

    def close(self) -> None:
        super().close()
        if self._own_run is not None:
            self._own_run.finish()
        self._own_run = None
