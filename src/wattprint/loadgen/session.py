"""Wiring for one serve-bench run: the energy source for where the engine runs, the record context, and
what is printed per level.

* a launched engine: the meter on the GPUs named (by UUID; default the visible ones) and on the engine's
  process tree (CPU time and memory of the command and its children), with an idle baseline first;
* an engine already running: the meter on its GPUs alone (its processes are not ours to name, unless
  ``engine_pid`` is given), or, behind ``wattprint proxy``, the receipts in its responses.
"""

from __future__ import annotations

from typing import Any

from wattprint.core.errors import ConfigError
from wattprint.core.table import aligned
from wattprint.loadgen.energy import EnergySource, MeterEnergy, NoEnergy

ENERGY_MODES = ("auto", "meter", "receipts", "none")


def build_meter(gpus: Any, engine_pid: int | None, counter_reads_per_s: float | None = None) -> Any:
    """A Meter on ``gpus`` and, when ``engine_pid`` is known, that process tree's CPU and RAM (estimated from
    its CPU time and resident memory, as the meter does for a process scope)."""
    from wattprint.core.clock import SystemClock
    from wattprint.meter import discover
    from wattprint.meter.backends.cpu_estimate import CpuEstimateBackend
    from wattprint.meter.backends.ram import RamBackend
    from wattprint.meter.meter import Meter
    from wattprint.meter.proctree import ProcessTree

    found = discover.build(gpus, False, False, "process", SystemClock(), counter_reads_per_s=counter_reads_per_s)
    backends = list(found.backends)
    if engine_pid is not None:
        tree = ProcessTree(engine_pid)
        backends += [CpuEstimateBackend(scope="process", tree=tree), RamBackend(scope="process", tree=tree)]
    if not backends:
        raise ConfigError("nothing to meter: no GPU found and the engine's processes are not known",
                          fix="use --launch (its process tree is metered), --gpus, or --energy none")
    meter = Meter(backends=backends, counter_reads_per_s=counter_reads_per_s)
    meter.warnings.extend(found.warnings)
    return meter


def energy_source(mode: str, meter: Any, edge_probe: Any = None) -> EnergySource:
    if mode not in ENERGY_MODES:
        raise ConfigError(f"--energy {mode!r}", fix=f"use one of {', '.join(ENERGY_MODES)}")
    if mode in ("meter", "auto") and meter is not None:
        return MeterEnergy(meter, edge_probe)
    return NoEnergy()


def _f(x: float | None, fmt: str, scale: float = 1.0) -> str:
    return "-" if x is None else format(x * scale, fmt)


HEADER = ("level", "window s", "req/s", "out tok/s", "J/out tok", "above idle", "GPU W", "batch",
          "TTFT p50 ms", "ITL p50 ms", "E2E p95 s", "failed", "flags")


def row(s: dict[str, Any]) -> tuple[str, ...]:
    """One table row for a level summary."""
    e = s["energy"] or {}
    per = s["per"]
    rec = s.get("receipts") or {}
    j_tok = per["j_per_output_token"] if per["j_per_output_token"] is not None else rec.get("j_per_output_token")
    flags = []
    if not s["window"]["found"]:
        flags.append("no-steady")
    if s["client"]["saturated"]:
        flags.append("CLIENT-SATURATED")
    if s["failures"]["length_mismatch"]:
        flags.append("length-ignored")
    if s["interrupted"]:
        flags.append("interrupted")
    if per["j_per_output_token"] is None and rec:
        flags.append("receipts")
    lat = s["latency"]
    return (s["level"]["label"], _f(s["window"]["duration_s"], ".1f"), _f(s["throughput"]["requests_per_s"], ".2f"),
            _f(s["throughput"]["output_tokens_per_s"], ".1f"), _f(j_tok, ".3g"),
            _f(per["above_idle_j_per_output_token"], ".3g"), _f(e.get("gpu_power_w"), ".0f"),
            _f(s["batch"]["decoding_mean"], ".1f"), _f(lat["ttft_s"]["p50"], ".0f", 1000),
            _f(lat["itl_s"]["p50"], ".1f", 1000), _f(lat["e2e_s"]["p95"], ".2f"),
            str(s["failures"]["failed"]), ",".join(flags))


WIDTHS = (12, 8, 7, 9, 9, 10, 5, 5, 11, 10, 9, 6, 0)


def table(rows: list[tuple[str, ...]]) -> str:
    """Rows aligned on fixed widths (levels print one at a time, as they finish)."""
    return "\n".join(aligned(rows, min_widths=WIDTHS))
