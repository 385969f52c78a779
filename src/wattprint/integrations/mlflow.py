"""MLflow: a measurement's figures as metrics, its methods and emissions' provenance as tags, and the whole
record as a JSON artifact, per window or per run; a store's runs as MLflow runs."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from wattprint.integrations._extras import require
from wattprint.integrations.base import WindowLogger
from wattprint.integrations.figures import (
    measurement_figures,
    measurement_tags,
    record_figures,
    record_params,
    safe,
)
from wattprint.meter.result import Measurement

DEFAULT_EXPERIMENT = "wattprint"
CONNECT_TIMEOUT_S = 5.0


class MlflowLogger(WindowLogger):
    """Logs to ``run_id``, else to the active MLflow run (``mlflow.start_run()``), else to a run it creates in
    ``experiment`` (ended by :meth:`close`). ``tracking_uri`` defaults to MLflow's own setting. ``artifacts``:
    also log each measurement's full record (``wattprint/<window>-<step>.json``)."""

    tracker = "mlflow"

    def __init__(self, run_id: str | None = None, *, tracking_uri: str | None = None,
                 experiment: str = DEFAULT_EXPERIMENT, artifacts: bool = True, prefix: str = "energy",
                 windows: Iterable[str] | None = None, fallback: str | os.PathLike[str] | None = None) -> None:
        super().__init__(prefix=prefix, windows=windows, fallback=fallback)
        self._mlflow = require("mlflow", "mlflow", "MLflow logging")
        self.client = self._mlflow.MlflowClient(tracking_uri)
        self.tracking_uri = str(tracking_uri or self._mlflow.get_tracking_uri())
        self._reached = False
        self.run_id = run_id
        self.experiment = experiment
        self.artifacts = artifacts
        self._own_run: str | None = None

    def _experiment_id(self) -> str:
        found = self.client.get_experiment_by_name(self.experiment)
        return found.experiment_id if found is not None else self.client.create_experiment(self.experiment)

    def _target_run(self) -> str:
        if self.run_id:
            return self.run_id
        active = self._mlflow.active_run()
        if active is not None:
            return str(active.info.run_id)
        if self._own_run is None:
            run = self.client.create_run(self._experiment_id(), run_name="wattprint",
                                         tags={"wattprint.source": "MlflowLogger"})
            self._own_run = run.info.run_id
        return self._own_run

    def _check_reachable(self) -> None:
        """A server that refuses the connection fails at once, not after MLflow's retries (minutes)."""
        if self._reached:
            return
        url = urlsplit(self.tracking_uri)
        if url.scheme in ("http", "https") and url.hostname:
            port = url.port or (443 if url.scheme == "https" else 80)
            try:
                socket.create_connection((url.hostname, port), timeout=CONNECT_TIMEOUT_S).close()
            except OSError as e:
                raise ConnectionError(f"MLflow server {self.tracking_uri} unreachable ({e})") from e
        self._reached = True

    def _send(self, measurement: Measurement, step: int) -> None:
        from mlflow.entities import Metric, RunTag

        self._check_reachable()
        run_id = self._target_run()
        ts = int((measurement.started_at + measurement.duration_s) * 1000)
        metrics = [Metric(k, v, ts, step) for k, v in measurement_figures(measurement, self.prefix).items()]
        tags = [RunTag(k, v) for k, v in measurement_tags(measurement, self.prefix).items()]
        self.client.log_batch(run_id, metrics=metrics, tags=tags)
        if self.artifacts:
            self.client.log_text(run_id, measurement.to_json(indent=2),
                                 f"wattprint/{safe(measurement.name)}-{step}.json")

    def log_store(self, store: Any) -> list[str]:
        """Each finished run of ``store`` (a Store or its path) as one MLflow run in ``experiment``: figures as
        metrics, what ran as params, the record as ``wattprint/record.json``. A run already logged (tag
        ``wattprint.run_id``) is skipped. Returns the MLflow run ids, in the store's order."""
        records = _finished_runs(store)
        out: list[str] = []
        for record in records:
            try:
                out.append(self._log_record(record))
            except Exception as e:  # keep the record, report the failure, go on with the fallback
                if not self.failures:
                    self._failed(e, {"record": record.to_dict()})
                else:
                    self._keep({"record": record.to_dict()})
        return out

    def _log_record(self, record: Any) -> str:
        from mlflow.entities import Metric, Param, RunTag

        if self.failures:
            raise RuntimeError(self.failures[-1])
        self._check_reachable()
        exp = self._experiment_id()
        done = self.client.search_runs([exp], filter_string=f"tags.`wattprint.run_id` = '{record.run_id}'")
        if done:
            return str(done[0].info.run_id)
        run = self.client.create_run(exp, run_name=f"{record.task}/{record.model}/r{record.repeat}",
                                     tags={"wattprint.run_id": record.run_id, "wattprint.source": "store"})
        ts = int((record.finished_at or record.started_at) * 1000)
        metrics = [Metric(k, v, ts, 0) for k, v in record_figures(record, self.prefix).items()]
        params = [Param(k, v[:6000]) for k, v in record_params(record).items()]
        warnings = [RunTag("wattprint.warnings", "; ".join(record.warnings)[:8000])] if record.warnings else []
        self.client.log_batch(run.info.run_id, metrics=metrics, params=params, tags=warnings)
        self.client.log_text(run.info.run_id, record.to_json(), "wattprint/record.json")
        self.client.set_terminated(run.info.run_id)
        self.sent += 1
        return str(run.info.run_id)

    def _resend(self, entry: dict[str, Any]) -> None:
        if "record" in entry:
            from wattprint.store.record import RunRecord

            self._log_record(RunRecord.from_dict(entry["record"]))
        else:
            super()._resend(entry)

    def close(self) -> None:
        super().close()
        if self._own_run is not None and not self.failures:
            self.client.set_terminated(self._own_run)
        self._own_run = None


def _finished_runs(store: Any) -> list[Any]:
    from wattprint.store.sqlite import Store

    if isinstance(store, Store):
        return store.runs()
    with Store(store, readonly=True) as opened:
        return opened.runs()
