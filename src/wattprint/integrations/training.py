"""Energy of a training run, shared by the Trainer and Lightning callbacks: one meter, one window open at a
time (training steps or evaluation), the windows of each logging interval added up when the trainer logs, and
the run written to a store at the end when one is given."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from wattprint.integrations.figures import combine, measurement_figures
from wattprint.meter.result import Measurement

PHASES = ("train", "eval")


def check_store(store: Any) -> None:
    """Refuse, before training starts, a store path that could not be written at its end (writes nothing)."""
    if not isinstance(store, (str, os.PathLike)):
        return
    from wattprint.core.errors import ConfigError
    from wattprint.store.sqlite import Store

    path = Path(store)
    if path.exists():
        Store(path, readonly=True).close()  # a file that is not a wattprint store is refused, with the fix
    elif not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise ConfigError(f"cannot create the store {path}: {path.parent} is not a folder this user can write to",
                          fix="pass store= a path in an existing, writable folder")


class TrainingEnergy:
    """``meter``: a Meter to share (left open), else one built from ``meter_kwargs`` on first use and closed by
    :meth:`finish`. ``store``: a Store or a path; :meth:`finish` writes the run there."""

    def __init__(self, meter: Any = None, store: Any = None, prefix: str = "energy", framework: str = "",
                 meter_kwargs: dict[str, Any] | None = None) -> None:
        check_store(store)
        self.meter = meter
        self._own_meter = meter is None
        self._meter_kwargs = dict(meter_kwargs or {})
        self.store = store
        self.prefix = prefix
        self.framework = framework
        self.measurements: dict[str, list[Measurement]] = {p: [] for p in PHASES}
        self._pending: dict[str, list[Measurement]] = {p: [] for p in PHASES}
        self._open: str | None = None
        self.started_at: float | None = None
        self.record: Any = None

    def prepare(self) -> Any:
        """The meter, built now if none was given (its start-up and first readings then fall outside any
        window: call this before training starts)."""
        if self.meter is None:
            from wattprint.meter.meter import Meter

            self.meter = Meter(**self._meter_kwargs)
            self._own_meter = True
            self.meter.wait_ready(1.0)
        return self.meter

    def start(self, phase: str) -> None:
        """Open ``phase``'s window (closing the other one first); nothing if it is already open."""
        if self._open == phase:
            return
        self.stop()
        meter = self.prepare()
        if self.started_at is None:
            self.started_at = time.time()
        meter.begin(phase)  # named as the figures are: a logger attached to the hooks sees train and eval
        self._open = phase

    def stop(self) -> Measurement | None:
        """Close the open window, if any, and keep its measurement for the next :meth:`take`."""
        phase, self._open = self._open, None
        if phase is None or self.meter is None:
            return None
        m = self.meter.end(phase)
        self.measurements[phase].append(m)
        self._pending[phase].append(m)
        return m

    @property
    def open_phase(self) -> str | None:
        return self._open

    def take(self, phase: str) -> dict[str, float]:
        """The figures of ``phase``'s windows since the last take, as one window named ``phase`` ({} if none)."""
        pending, self._pending[phase] = self._pending[phase], []
        return measurement_figures(combine(pending, phase), self.prefix) if pending else {}

    def total(self, phase: str) -> Measurement | None:
        """All of ``phase``'s windows so far as one measurement named ``<phase>_total``."""
        ms = self.measurements[phase]
        return combine(ms, f"{phase}_total") if ms else None

    def totals(self) -> dict[str, float]:
        out: dict[str, float] = {}
        for phase in PHASES:
            m = self.total(phase)
            if m is not None:
                out.update(measurement_figures(m, self.prefix))
        return out

    def finish(self, model: str = "", steps: int = 0, *, write: bool = True) -> Any:
        """Close the open window, write the run to the store (if given and ``write``) and close the meter built
        here. Returns the stored RunRecord (None without a store)."""
        self.stop()
        if write and self.store is not None and any(self.measurements.values()):
            self.record = self._write(model, steps)
        if self._own_meter and self.meter is not None:
            self.meter.close()
            self.meter = None
        return self.record

    def _write(self, model: str, steps: int) -> Any:
        from wattprint.bench.derive import fill_energy
        from wattprint.store.record import RunRecord
        from wattprint.store.sqlite import Store

        both = combine([m for p in PHASES for m in self.measurements[p]], "training")
        record = RunRecord(
            task="training", model=model or "unknown", preset=self.framework or "training", repeat=0,
            status="finished", started_at=self.started_at or both.started_at, finished_at=time.time(),
            workload="user", workload_description=f"the user's own training run, measured by the {self.framework} "
                                                  "callback (training steps and evaluation windows)",
            phases={p: sum(m.total_energy_j for m in self.measurements[p]) for p in PHASES},
            phase_durations={p: sum(m.duration_s for m in self.measurements[p]) for p in PHASES},
            settings={"framework": self.framework, "optimizer_steps": steps, "windows": {
                p: len(self.measurements[p]) for p in PHASES}})
        fill_energy(record, both)
        if isinstance(self.store, (str, os.PathLike)):
            with Store(self.store) as s:
                s.add(record)
        else:
            self.store.add(record)
        return record
