"""``wattprint measure [--json FILE] [--idle-seconds N] [--gpus ...] -- CMD ARGS...``

Runs the command with its output and exit code passed through, and prints a summary of its energy on
stderr (so the command's stdout stays clean). Ctrl-C reaches the child; the partial measurement is still
printed and written. A command that cannot be started: one line, exit code 127.

Carbon: ``add_extra_arguments`` and ``attach_emissions`` are where ``wattprint.carbon.cli_args`` plugs in
(location flags, emissions on the Measurement); ``render_summary`` shows emissions when present.
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
from typing import Any

from wattprint.cli.args import MAX_IDLE_S, OutputError, number, output_file, write_output
from wattprint.core.errors import ConfigError
from wattprint.core.table import aligned
from wattprint.core.units import format_energy

HELP = "run a command and report the energy it used (GPU, CPU, RAM)"


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", metavar="FILE", type=output_file(".json"),
                   help="write the measurement as JSON to FILE (checked before the command runs)")
    idle = number(minimum=0, maximum=MAX_IDLE_S, example="--idle-seconds 5")
    # defaults None: not given, so WATTPRINT_* or the config file's [meter] table may set them (core/config.py)
    p.add_argument("--idle-seconds", type=idle, default=None, metavar="N",
                   help="measure idle power for N seconds first; report energy above idle beside the total "
                        "(default 0, or WATTPRINT_IDLE_SECONDS)")
    p.add_argument("--gpus", default=None, type=_gpus_flag,
                   help="'visible' (default: GPUs this process can use), 'none', or NVML indices/UUIDs, "
                        "comma-separated (or WATTPRINT_GPUS)")
    p.add_argument("--cpu-scope", choices=("process", "machine"), default=None,
                   help="attribute CPU (and RAM) to the command's process tree (default) or the machine "
                        "(or WATTPRINT_CPU_SCOPE)")
    p.add_argument("--no-cpu", action="store_true", help="do not measure the CPU")
    p.add_argument("--no-ram", action="store_true", help="do not measure RAM")
    add_extra_arguments(p)
    p.add_argument("cmd", nargs=argparse.REMAINDER, help="the command, after --")


def add_extra_arguments(p: argparse.ArgumentParser) -> None:
    """Location flags for emissions (wattprint.carbon.cli_args)."""
    from wattprint.carbon import cli_args

    cli_args.add_location_arguments(p)


def attach_emissions(args: argparse.Namespace, m: Any) -> Any:
    """The Measurement with emissions for the place resolved before the run (unchanged without carbon).

    With --live, each clock hour of the window gets that hour's Electricity Maps intensity.
    """
    carbon = getattr(args, "carbon", None)
    if carbon is None:
        return m
    from wattprint.carbon.accounting import attach_emissions as attach

    location, live = carbon
    return attach(m, location, live=live)


def resolve_carbon(args: argparse.Namespace) -> Any:
    """(Location, live client) from flags, environment or config file."""
    from wattprint.carbon import cli_args

    return cli_args.measurement_carbon(args)


def _emissions_lines(e: Any) -> list[str]:
    if isinstance(e, dict):
        return [f"emissions: {e.get('gco2e', float('nan')):.4g} gCO2e"]
    from wattprint.carbon.cli_args import render_text
    from wattprint.carbon.equivalence import equivalents

    return render_text(e, equivalents(energy_j=e.facility_energy_j, gco2e=e.gco2e)).splitlines()


def parse_gpus(value: str) -> Any:
    """"visible", None for "none", or a list of NVML indices and GPU-/MIG- UUIDs; ConfigError for anything else."""
    if value in ("visible", ""):
        return "visible"
    if value.lower() in ("none", "no", "0-none"):
        return None
    items = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in items if not (v.isdigit() or v.startswith(("GPU-", "MIG-")))]
    if bad or not items:
        what = f"{', '.join(map(repr, bad))} is not a GPU index or UUID" if bad else f"no GPU named in {value!r}"
        raise ConfigError(what, "use 'visible', 'none', or indices / GPU-UUIDs, comma-separated, e.g. --gpus 0,1")
    return [int(v) if v.isdigit() else v for v in items]


def _gpus_flag(text: str) -> str:
    try:
        parse_gpus(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def render_summary(m: Any, exit_code: int | None = None, interrupted: bool = False) -> str:
    """A table of one Measurement: per component energy, method and uncertainty; totals; emissions."""
    rows = [("component", "energy", "± (95%)", "method", "source")]
    for c in m.components:
        label = f"{c.kind.value}:{c.index}" if c.index is not None else c.kind.value
        rows.append((f"{label} {c.name}"[:40], format_energy(c.energy_j), format_energy(c.uncertainty_j),
                     c.method.value, c.source))
    rows.append(("total", format_energy(m.total_energy_j), format_energy(m.total_uncertainty_j), "", ""))
    head = f"wattprint: {m.name!r} ran {m.duration_s:.3f} s"
    if exit_code is not None:
        head += f", exit code {exit_code}"
    if interrupted:
        head += " (interrupted: partial measurement)"
    lines = [head] + aligned(rows, indent="  ")
    if m.energy_above_idle_j is not None:
        lines.append(f"  above idle: {format_energy(m.energy_above_idle_j)} (idle {m.idle_power_w:.1f} W, "
                     f"measured {m.idle_seconds:.1f} s)")
    if m.emissions is not None:
        lines.extend("  " + line for line in _emissions_lines(m.emissions))
    lines.extend(f"  warning: {x}" for x in m.warnings)
    return "\n".join(lines)


def _start(cmd: list[str]) -> subprocess.Popen[bytes] | str:
    try:
        return subprocess.Popen(cmd)
    except (FileNotFoundError, PermissionError, NotADirectoryError, OSError) as e:
        return f"wattprint: cannot start {cmd[0]!r}: {e.strerror or e}"


def run(args: argparse.Namespace) -> int:
    cmd = list(args.cmd)
    if cmd and cmd[0] == "--":
        cmd = cmd[1:]
    if not cmd:
        print("wattprint: measure needs a command after --, e.g. wattprint measure -- python run.py",
              file=sys.stderr)
        return 2
    args.carbon = resolve_carbon(args)  # before the run: a typo in --country fails fast
    from wattprint.core.config import resolve
    from wattprint.meter.meter import Meter

    s = resolve("meter", {"idle_seconds": args.idle_seconds, "gpus": args.gpus, "cpu_scope": args.cpu_scope,
                          "cpu": False if args.no_cpu else None, "ram": False if args.no_ram else None},
                path=getattr(args, "carbon_config", None))  # --carbon-config names the one config file
    args.idle_seconds = s["idle_seconds"]
    meter = Meter(gpus=s["gpus"], cpu=s["cpu"], ram=s["ram"], cpu_scope=s["cpu_scope"],
                  counter_reads_per_s=s["counter_reads_per_s"])
    try:
        return _measure(args, meter, cmd)
    finally:
        meter.close()


def _measure(args: argparse.Namespace, meter: Any, cmd: list[str]) -> int:
    if args.idle_seconds > 0:
        meter.idle(args.idle_seconds)
    name = " ".join(cmd)[:80]
    meter.begin(name)
    child = _start(cmd)
    if isinstance(child, str):
        meter.end(name)
        print(child, file=sys.stderr)
        return 127
    interrupted = []

    def forward(signum: int, frame: Any) -> None:
        interrupted.append(signum)
        if child.poll() is None:
            child.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for s, h in old.items():
            signal.signal(s, h)
    m = attach_emissions(args, meter.end(name))
    exit_code = 128 - code if code < 0 else code
    print(render_summary(m, exit_code, bool(interrupted)), file=sys.stderr)
    if args.json:
        doc = m.to_dict() | {"command": cmd, "exit_code": exit_code, "interrupted": bool(interrupted),
                             "meter": meter.settings, "measured_components": meter.components()}
        if m.emissions is not None and not isinstance(m.emissions, dict):
            from wattprint.carbon.equivalence import equivalents

            doc["equivalents"] = [q.to_dict() for q in equivalents(m.emissions.facility_energy_j, m.emissions.gco2e)]
        try:
            write_output(args.json, json.dumps(doc, indent=2, default=str), what="measurement", suffix=".json")
        except OutputError as e:  # the command has run: its measurement is kept, and the failure said
            print(f"wattprint: error: {e.message}\n  fix: {e.fix}", file=sys.stderr)
            return exit_code or 1
    return exit_code
