"""Report formats by name (a registry, not a chain of ifs): each turns records into the text of one file.

The CSV formats escape cells a spreadsheet would run as formulas (a model or dataset name such as
``=HYPERLINK(...)`` comes out inert, prefixed with ``'``)."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from wattprint.store.record import RunRecord


@dataclass(frozen=True)
class ReportOptions:
    location: Any = None  # wattprint.carbon Location for runs stored without carbon; None: as stored
    star_scale: str = "log"
    tasks: tuple[str, ...] | None = None
    title: str = "wattprint report"


def _report(records: Sequence[RunRecord], opts: ReportOptions):
    from wattprint.report.build import build_report

    return build_report(records, location=opts.location, star_scale=opts.star_scale, tasks=opts.tasks)


def _html(records: Sequence[RunRecord], opts: ReportOptions) -> str:
    from wattprint.report.html import render

    return render(_report(records, opts), opts.title)


def _md(records: Sequence[RunRecord], opts: ReportOptions) -> str:
    from wattprint.report.text import to_markdown

    return to_markdown(_report(records, opts))


def _csv(records: Sequence[RunRecord], opts: ReportOptions) -> str:
    from wattprint.report.text import to_csv
    from wattprint.store.export import escape_csv_text

    return escape_csv_text(to_csv(_report(records, opts)))


def _json(records: Sequence[RunRecord], opts: ReportOptions) -> str:
    from wattprint.report.text import to_json

    return to_json(_report(records, opts))


def _codecarbon(records: Sequence[RunRecord], opts: ReportOptions) -> str:
    """Every finished run (not aggregated) in CodeCarbon's emissions.csv columns."""
    from wattprint.store.codecarbon import write_emissions_csv
    from wattprint.store.export import escape_csv_text

    chosen = [r for r in records if opts.tasks is None or r.task in opts.tasks]
    buf = io.StringIO()
    write_emissions_csv(chosen, buf)
    return escape_csv_text(buf.getvalue())


def _aienergyscore(records: Sequence[RunRecord], opts: ReportOptions) -> str:
    """The aienergyscore runs as AI Energy Score's master_results.csv (``-o DIR`` writes every file)."""
    from wattprint.report.aienergyscore import to_csv

    return to_csv([r for r in records if opts.tasks is None or r.task in opts.tasks])


def _boamps(records: Sequence[RunRecord], opts: ReportOptions) -> str:
    """The one run of ``records`` as a BoAmps report (``-o DIR`` writes one file per run)."""
    from wattprint.report.boamps import to_json

    return to_json([r for r in records if opts.tasks is None or r.task in opts.tasks])


FORMATS: dict[str, Callable[[Sequence[RunRecord], ReportOptions], str]] = {
    "html": _html, "md": _md, "csv": _csv, "json": _json, "codecarbon": _codecarbon, "aienergyscore": _aienergyscore,
    "boamps": _boamps,
}
# formats that write a folder of files when given -o DIR: name -> "module:function(records, directory)"
DIRECTORY_FORMATS = {"aienergyscore": "wattprint.report.aienergyscore:write_submission",
                     "boamps": "wattprint.report.boamps:write_reports"}
# folder formats that also write one file (-o FILE.json or standard output) when the records make one
ONE_FILE_TOO = {"boamps"}
DEFAULT_FILES = {"html": "wattprint-report.html"}
# file suffix -> the format it implies; codecarbon writes a .csv too, boamps a .json
SUFFIXES = {".html": "html", ".htm": "html", ".md": "md", ".markdown": "md", ".csv": "csv", ".json": "json"}
EXTENSIONS = {"html": ".html", "md": ".md", "csv": ".csv", "json": ".json", "codecarbon": ".csv", "boamps": ".json"}


def writes_folder(fmt: str | None, path: str | None) -> bool:
    """Whether ``-o path`` with ``--format fmt`` names a folder of files rather than one file."""
    from pathlib import Path

    if fmt not in DIRECTORY_FORMATS:
        return False
    if fmt in ONE_FILE_TOO:
        return not (path in (None, "-") or Path(str(path)).suffix.lower() == EXTENSIONS[fmt])
    return True


def format_for_output(path: str | None, fmt: str | None) -> str:
    """The format to write: ``fmt`` when given, else the one ``path``'s suffix implies (html for standard
    output or the default file). A named format that contradicts the suffix is a ConfigError."""
    from pathlib import Path

    from wattprint.core.errors import ConfigError, UnknownNameError

    if fmt is not None and fmt not in FORMATS:
        raise UnknownNameError("report format", fmt, FORMATS)
    if path is None or path == "-":
        return fmt or "html"
    suffix = Path(path).suffix.lower()
    implied = SUFFIXES.get(suffix)
    if fmt is None:
        if implied is None:
            raise ConfigError(f"cannot tell the report format of {path} from its suffix",
                              f"name it .html, .md, .csv or .json, or add --format {'|'.join(FORMATS)}")
        return implied
    if implied is not None and implied != fmt and EXTENSIONS.get(fmt) != suffix:
        raise ConfigError(f"--format {fmt} contradicts -o {path} (a .{implied} file name)",
                          f"drop --format to write {implied}, or name the file *{EXTENSIONS.get(fmt, '')}")
    return fmt


def render(fmt: str, records: Sequence[RunRecord], opts: ReportOptions | None = None) -> str:
    from wattprint.core.errors import UnknownNameError

    if fmt not in FORMATS:
        raise UnknownNameError("report format", fmt, FORMATS)
    return FORMATS[fmt](records, opts or ReportOptions())
