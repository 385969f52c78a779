"""Export run records to CSV, JSON or Parquet.

JSON keeps each record whole. CSV and Parquet have one flat row per record: scalar fields as columns,
flat mappings (phases, phase durations, scores, settings) spread into ``<field>.<key>`` columns, and the
nested rest (components, environment, emissions, equivalents, warnings) as JSON text. Units are in the
column names (``_j`` joules, ``_s`` seconds, ``wh_`` watt-hours).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.store.record import RunRecord

_SPREAD = ("phases", "phase_durations", "scores", "settings")


def flatten(record: RunRecord) -> dict[str, Any]:
    """One flat row: scalars as they are, flat mappings spread, nested values as JSON text."""
    row: dict[str, Any] = {}
    for key, value in record.to_dict().items():
        if key in _SPREAD and isinstance(value, dict):
            for k, v in value.items():
                row[f"{key}.{k}"] = v if isinstance(v, (str, int, float, bool, type(None))) else json.dumps(v)
        elif isinstance(value, (dict, list, tuple)):
            row[key] = json.dumps(value, default=str)
        else:
            row[key] = value
    return row


def _rows(records: Sequence[RunRecord]) -> tuple[list[str], list[dict[str, Any]]]:
    rows = [flatten(r) for r in records]
    columns: list[str] = []
    seen: set[str] = set()
    for row in rows:
        for c in row:
            if c not in seen:
                seen.add(c)
                columns.append(c)
    return columns, rows


# OWASP's rule against CSV (formula) injection: a text cell starting with one of these is run as a formula by
# spreadsheets, so it gets a leading quote (https://owasp.org/www-community/attacks/CSV_Injection)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet will not run: text starting like a formula gets a leading ``'``;
    numbers, and text that reads as a plain number ("-1.5"), are left as they are."""
    if not isinstance(value, str) or not value.startswith(FORMULA_START):
        return value
    try:
        float(value)
    except ValueError:
        return "'" + value
    return value


def escape_csv_text(text: str) -> str:
    """CSV text (rows ending in "\\n") rewritten with every formula-like cell escaped by :func:`safe_cell`, and
    any field holding a carriage return quoted (a writer whose rows end in "\\n" leaves it bare, and readers
    then split the row there). Other fields come out as they went in."""
    hold = next(c for c in ("\ue000", "\ue001", "\ufdd0", "\ufdd1") if c not in text)
    rows = list(csv.reader(io.StringIO(text.replace("\r", hold), newline="")))
    out = []
    for row in rows:  # "\r\n" as the writer's terminator quotes any field holding \r or \n; rows end in "\n"
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerow([safe_cell(c.replace(hold, "\r")) for c in row])
        out.append(buf.getvalue()[:-2] + "\n")
    return "".join(out)


def _csv(records: Sequence[RunRecord], path: Path) -> None:
    columns, rows = _rows(records)
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow([safe_cell(c) for c in columns])
        writer.writerows([safe_cell(row.get(c, "")) for c in columns] for row in rows)


def _json(records: Sequence[RunRecord], path: Path) -> None:
    with path.open("w", encoding="utf-8") as f:
        json.dump([r.to_dict() for r in records], f, indent=1, default=str)
        f.write("\n")


def _parquet(records: Sequence[RunRecord], path: Path) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as e:
        raise ConfigError(
            "Parquet export needs pyarrow, which is not installed",
            fix="pip install 'wattprint[parquet]' (or export to csv or json)",
        ) from e
    columns, rows = _rows(records)
    arrays = {}
    for c in columns:
        values = [row.get(c) for row in rows]
        try:
            arrays[c] = pa.array(values)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            # One name holding different types across records (a number here, text there): keep it as text.
            arrays[c] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
    pq.write_table(pa.table(arrays), path)


EXPORTERS: dict[str, Callable[[Sequence[RunRecord], Path], None]] = {"csv": _csv, "json": _json, "parquet": _parquet}
SUFFIXES = {".csv": "csv", ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


def format_for(path: str | Path, fmt: str | None = None) -> str:
    """The format named, or the one the file suffix implies. A named format that the suffix contradicts
    (``-o runs.csv --format parquet``) is a ConfigError, as in ``wattprint report``: the file would lie."""
    suffix = Path(path).suffix.lower()
    if fmt:
        if fmt not in EXPORTERS:
            raise UnknownNameError("export format", fmt, EXPORTERS)
        implied = SUFFIXES.get(suffix)
        if implied is not None and implied != fmt:
            raise ConfigError(f"--format {fmt} contradicts -o {path} (a .{implied} file name)",
                              f"drop --format to write {implied}, or name the file *.{fmt}")
        return fmt
    if suffix not in SUFFIXES:
        raise ConfigError(f"cannot tell the format of {path} from its suffix", fix="add --format csv|json|parquet")
    return SUFFIXES[suffix]


def export(records: Iterable[RunRecord], path: str | Path, fmt: str | None = None) -> int:
    """Write ``records`` to ``path`` as ``fmt`` (csv, json, parquet; default from the suffix). Returns the count."""
    records = list(records)
    kind = format_for(path, fmt)
    target = Path(path)
    if target.parent != Path(""):
        target.parent.mkdir(parents=True, exist_ok=True)
    EXPORTERS[kind](records, target)
    return len(records)
