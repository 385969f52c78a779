"""TensorBoard: a measurement's figures as scalars, its methods and full record as text, through tensorboardX
(the lighter writer: no TensorFlow, no torch) or any SummaryWriter the caller already has."""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

from wattprint.integrations._extras import require
from wattprint.integrations.base import WindowLogger
from wattprint.integrations.figures import measurement_figures, measurement_tags, safe
from wattprint.meter.result import Measurement


class TensorBoardLogger(WindowLogger):
    """Writes to ``writer`` (a ``SummaryWriter`` of tensorboardX or ``torch.utils.tensorboard``, e.g. a
    Lightning logger's ``.experiment``), else to a tensorboardX writer it opens on ``logdir`` (closed by
    :meth:`close`). Scalars are ``<prefix>/<window>/<figure>`` at step = the window's count; the methods and the
    full record are text under ``<prefix>/<window>/record``."""

    tracker = "tensorboard"

    def __init__(self, logdir: str | os.PathLike[str] | None = None, *, writer: Any = None,
                 prefix: str = "energy", windows: Iterable[str] | None = None,
                 fallback: str | os.PathLike[str] | None = None) -> None:
        super().__init__(prefix=prefix, windows=windows, fallback=fallback)
        if writer is None:
            tbx = require("tensorboardX", "tensorboard", "TensorBoard logging")
            writer = tbx.SummaryWriter(logdir=None if logdir is None else os.fspath(logdir))
            self._own_writer = True
        else:
            self._own_writer = False
        self.writer = writer

    def _send(self, measurement: Measurement, step: int) -> None:
        wall = measurement.started_at + measurement.duration_s
        for tag, value in measurement_figures(measurement, self.prefix).items():
            self.writer.add_scalar(tag, value, step, walltime=wall)
        methods = "\n".join(f"- {k}: {v}" for k, v in measurement_tags(measurement, self.prefix).items())
        text = f"{methods}\n\n```json\n{measurement.to_json(indent=2)}\n```"
        self.writer.add_text(f"{self.prefix}/{safe(measurement.name)}/record", text, step, walltime=wall)
        self.writer.flush()

    @property
    def logdir(self) -> str:
        """The folder the event files are written to."""
        return str(self.writer.logdir if hasattr(self.writer, "logdir") else self.writer.log_dir)

    def close(self) -> None:
        super().close()
        if self._own_writer:
            self.writer.close()
        else:
            self.writer.flush()
