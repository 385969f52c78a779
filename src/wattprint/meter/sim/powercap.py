"""Build a simulated ``/sys/class/powercap`` tree under a folder, with energy files that follow traces."""

from __future__ import annotations

import errno
from dataclasses import dataclass
from pathlib import Path

from wattprint.meter.sim.traces import Trace


@dataclass
class _SimZone:
    name: str
    trace: Trace | None
    max_range_uj: int
    initial_uj: int
    mirror_of: str | None


class PowercapTree:
    """Zones as flat folders (``intel-rapl:0``, ``intel-rapl:0:2``, ``intel-rapl-mmio:0``) like the class dir.

    ``update(t)`` writes every ``energy_uj`` as ``(initial + 1e6 * energy(origin, t)) mod (max + 1)``.
    ``make_unreadable(zone)`` removes read permission and makes :meth:`reader` raise PermissionError
    for it (so the test also works as root, who ignores file modes).
    """

    def __init__(self, root: str | Path, origin: float = 0.0) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.origin = origin
        self.zones: dict[str, _SimZone] = {}
        self.unreadable: set[Path] = set()

    def add_zone(self, folder: str, name: str, trace: Trace | None = None, max_range_uj: int = 262143328850,
                 initial_uj: int = 0, mirror_of: str | None = None) -> Path:
        d = self.root / folder
        d.mkdir(parents=True, exist_ok=True)
        (d / "name").write_text(name + "\n")
        (d / "max_energy_range_uj").write_text(f"{max_range_uj}\n")
        self.zones[folder] = _SimZone(name, trace, max_range_uj, initial_uj, mirror_of)
        self._write(folder, self.origin)
        return d

    def _value(self, folder: str, t: float) -> int:
        z = self.zones[folder]
        if z.mirror_of is not None:
            return self._value(z.mirror_of, t)
        e = z.trace.energy(self.origin, t) if z.trace is not None else 0.0
        return int(z.initial_uj + round(e * 1e6)) % (z.max_range_uj + 1)

    def _write(self, folder: str, t: float) -> None:
        path = self.root / folder / "energy_uj"
        if path.exists() and path in self.unreadable:
            path.chmod(0o644)
            path.write_text(f"{self._value(folder, t)}\n")
            path.chmod(0o000)
        else:
            path.write_text(f"{self._value(folder, t)}\n")

    def update(self, t: float) -> None:
        for folder in self.zones:
            self._write(folder, t)

    def make_unreadable(self, folder: str) -> None:
        path = self.root / folder / "energy_uj"
        path.chmod(0o000)
        self.unreadable.add(path)

    def reader(self, path: Path) -> str:
        """A read function for RaplBackend that honours :meth:`make_unreadable` even for root."""
        if Path(path) in self.unreadable:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return Path(path).read_text()

    def true_energy(self, folder: str, a: float, b: float) -> float:
        z = self.zones[folder]
        src = self.zones[z.mirror_of] if z.mirror_of else z
        return src.trace.energy(a, b) if src.trace is not None else 0.0
