"""CPU packages and DRAM through Linux powercap RAPL (``/sys/class/powercap``; Intel and AMD zones).

No double counting: ``psys`` (the whole platform) overlaps the packages and is left out; ``core`` and
``uncore`` are parts of their package; an ``intel-rapl-mmio`` zone that repeats an MSR zone's name is the
same counter through another interface; dies that mirror one socket's counter (identical readings) count
once. Wrap-around uses ``max_energy_range_uj``; the sampler reads every ``wrap_poll_s`` so that even a
long window never loses a wrap. An unreadable ``energy_uj`` raises PermissionDeniedError naming the fix.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from wattprint.core.errors import BackendUnavailable, PermissionDeniedError
from wattprint.meter.backends.base import Backend, BackendResult, Mark
from wattprint.meter.result import ComponentEnergy, Kind, Method

DEFAULT_ROOT = "/sys/class/powercap"
PERMISSION_FIX = ("sudo chmod a+r /sys/class/powercap/intel-rapl:*/energy_uj "
                  "/sys/class/powercap/intel-rapl:*:*/energy_uj (until reboot), or a udev rule: "
                  'SUBSYSTEM=="powercap", ACTION=="add", RUN+="/bin/chmod a+r %S%p/energy_uj"')
# Each edge reads a counter that the hardware refreshes about every millisecond (Intel SDM vol. 3B, 15.10.1)
EDGE_S = 0.001


def read_text(path: Path) -> str:
    return path.read_text()


@dataclass
class Zone:
    key: str
    kind: Kind
    name: str
    index: int | None
    path: Path  # the zone folder
    max_uj: int
    note: str = ""


_PKG = re.compile(r"^package-(\d+)(?:-die-(\d+))?$")


def discover(root: Path, read: Callable[[Path], str]) -> tuple[list[Zone], list[str]]:
    """The zones to count, and notes on those left out (and why)."""
    if not root.is_dir():
        raise BackendUnavailable(f"{root} does not exist (no RAPL: a VM, a container, or not Linux)",
                                 fix="on bare-metal Linux, load the intel_rapl_msr module; otherwise the CPU "
                                     "is estimated")
    dirs = sorted(p for p in root.iterdir() if p.name.startswith(("intel-rapl:", "intel-rapl-mmio:")))
    names = {p: read(p / "name").strip() for p in dirs if (p / "name").exists()}
    msr_names = {n for p, n in names.items() if p.name.startswith("intel-rapl:")}
    zones: list[Zone] = []
    notes: list[str] = []
    dies: dict[int, list[Zone]] = {}
    for p, n in names.items():
        is_sub = p.name.count(":") > 1
        if (why := _left_out(p, n, msr_names)) is not None:
            notes.append(f"{p.name} ({n}) left out: {why}")
        elif n == "dram":
            zones.append(_zone(p, read, Kind.DRAM, f"dram ({p.name})", _pkg_of(p)))
        elif (m := _PKG.match(n)) and not is_sub or (m and m.group(2)):
            z = _zone(p, read, Kind.CPU, n, int(m.group(1)))
            if m.group(2) is not None:
                dies.setdefault(int(m.group(1)), []).append(z)
            else:
                zones.append(z)
        else:
            notes.append(f"{p.name} ({n}) left out: not a package or dram zone")
    for pkg, group in dies.items():
        zones.extend(_dedupe_dies(pkg, group, read, notes))
    if not zones:
        raise BackendUnavailable(f"no RAPL package or dram zone under {root}", fix="the CPU is estimated")
    return zones, notes


def _left_out(p: Path, name: str, msr_names: set[str]) -> str | None:
    """Why zone ``p`` named ``name`` is not counted (it overlaps a counted one), or None."""
    if name == "psys":
        return "it covers the whole platform and overlaps the packages"
    if name in ("core", "uncore"):
        return "part of its package"
    if p.name.startswith("intel-rapl-mmio:") and name in msr_names:
        return "the same counter as the MSR zone of that name"
    return None


def _pkg_of(p: Path) -> int | None:
    parts = p.name.split(":")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def _zone(p: Path, read: Callable[[Path], str], kind: Kind, name: str, index: int | None) -> Zone:
    mx = int(read(p / "max_energy_range_uj").strip()) if (p / "max_energy_range_uj").exists() else 2**32
    return Zone(f"{kind.value}:{p.name}", kind, name, index, p, mx)


def _dedupe_dies(pkg: int, group: list[Zone], read: Callable[[Path], str], notes: list[str]) -> list[Zone]:
    values = {_read_uj(z, read) for z in group}
    if len(group) > 1 and len(values) == 1:
        notes.append(f"package {pkg}: {len(group)} die zones mirror one socket counter: counted once")
        return [group[0]]
    return group


def _read_uj(z: Zone, read: Callable[[Path], str]) -> int:
    path = z.path / "energy_uj"
    try:
        return int(read(path).strip())
    except PermissionError as e:
        raise PermissionDeniedError(f"cannot read {path}: permission denied (RAPL is root-only since "
                                    "Linux 5.10, CVE-2020-8694)", fix=PERMISSION_FIX) from e


class RaplBackend(Backend):
    """RAPL packages and DRAM under ``root`` (a parameter, so a simulated tree can stand in)."""

    source = "rapl"

    def __init__(self, root: str | Path = DEFAULT_ROOT, read: Callable[[Path], str] | None = None,
                 wrap_poll_s: float = 10.0) -> None:
        self.root = Path(root)
        self._read = read or read_text
        self.zones, self.notes = discover(self.root, self._read)
        self._lock = threading.Lock()
        self._last = {z.key: _read_uj(z, self._read) for z in self.zones}  # raises PermissionDeniedError
        self._acc = {z.key: 0 for z in self.zones}  # µJ accumulated since start, wraps resolved
        self.poll_period_s = wrap_poll_s

    def describe(self) -> list[str]:
        return [f"{z.kind.value}:{z.index} {z.name} ({self.root / z.path.name}, counter)" for z in self.zones]

    def _cumulative(self) -> dict[str, float]:
        with self._lock:
            for z in self.zones:
                raw = _read_uj(z, self._read)
                delta = raw - self._last[z.key]
                if delta < 0:  # the counter wrapped at max_energy_range_uj
                    delta += z.max_uj + 1
                self._acc[z.key] += delta
                self._last[z.key] = raw
            return {k: v / 1e6 for k, v in self._acc.items()}

    def poll(self, now: float) -> None:
        self._cumulative()

    def mark(self, now: float, begin: Mark | None = None) -> Mark:
        return Mark(now, self._cumulative())

    def energy(self, begin: Mark, end: Mark) -> BackendResult:
        dur = max(end.t - begin.t, 0.0)
        comps = []
        for z in self.zones:
            e = end.state[z.key] - begin.state[z.key]
            p = e / dur if dur > 0 else 0.0
            comps.append(ComponentEnergy(
                kind=z.kind, name=z.name, energy_j=e, method=Method.COUNTER,
                uncertainty_j=2 * EDGE_S * p + 2e-6, source="rapl", index=z.index, scope="device",
                detail=f"{z.path.name}/energy_uj, wrap at {z.max_uj} µJ"))
        return BackendResult(tuple(comps))

    def keep_since(self, t: float) -> None:
        return None  # edge readings only; nothing to forget

    def close(self) -> None:
        return None
