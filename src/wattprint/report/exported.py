"""Run records back from a wattprint export (``wattprint export``: CSV or JSON, optionally gzip-compressed),
so that a report can be rebuilt from published runs without the store they came from.

CSV is the inverse of :func:`wattprint.store.export.flatten`: scalar columns are typed by the record's fields,
``<field>.<key>`` columns are gathered back into their mapping, and the nested rest is JSON text. An empty CSV
cell is read as "not recorded" (None, or the field's default).
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import json
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError
from wattprint.store.record import RunRecord

_SPREAD = ("phases", "phase_durations", "scores", "settings")
_NUMERIC_SPREAD = ("phases", "phase_durations", "scores")


def _open_text(path: Path) -> io.TextIOBase:
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", newline="")
    return open(path, encoding="utf-8", newline="")  # noqa: SIM115 (closed by the caller's with)


def _setting(value: str) -> Any:
    """A setting as written by the csv module (True, 3, 2.5, ["gpu", "cpu"], float32) back to its type."""
    if value in ("True", "False"):
        return value == "True"
    try:
        return json.loads(value)
    except ValueError:
        return value


def _scalar(annotation: str, value: str) -> Any:
    if "list" in annotation or "dict" in annotation:
        return json.loads(value)
    if annotation.startswith("int"):
        return int(float(value))
    if annotation.startswith("float"):
        return float(value)
    return value


def record_from_row(row: dict[str, str]) -> RunRecord:
    """One flat CSV row of an export back to its record."""
    fields = {f.name: str(f.type) for f in dataclasses.fields(RunRecord)}
    values: dict[str, Any] = {name: {} for name in _SPREAD}
    for column, value in row.items():
        head, _, key = column.partition(".")
        if key and head in _SPREAD:
            if value != "":
                values[head][key] = float(value) if head in _NUMERIC_SPREAD else _setting(value)
        elif column in fields and value != "":
            values[column] = _scalar(fields[column], value)
    return RunRecord(**values)


def load_export(path: str | Path) -> list[RunRecord]:
    """Every record of an export file (``.csv``, ``.json``, either with ``.gz``)."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"no such export: {p}", "pass a file written by `wattprint export` (csv or json)")
    kind = p.name.removesuffix(".gz").rsplit(".", 1)[-1].lower()
    with _open_text(p) as f:
        if kind == "json":
            return [RunRecord.from_dict(d) for d in json.load(f)]
        if kind == "csv":
            return [record_from_row(row) for row in csv.DictReader(f)]
    raise ConfigError(f"cannot tell the format of {p} from its name", "name it .csv, .json, .csv.gz or .json.gz")
