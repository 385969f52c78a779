"""What a measurement is: per-component energy with its method and uncertainty.

Every figure says where it came from (``method``, ``source``, ``detail``) and how uncertain it is
(``uncertainty_j``). Totals are never reported without their parts.
"""

from __future__ import annotations

import enum
import json
from dataclasses import asdict, dataclass, field, replace
from typing import Any

from wattprint.core.units import J_PER_KWH, J_PER_WH


class Method(str, enum.Enum):
    """How an energy figure was obtained."""

    COUNTER = "counter"  # a hardware energy counter read at (or anchored around) the window edges
    SAMPLED = "sampled"  # power readings integrated over time
    ESTIMATED = "estimated"  # a model (named, with its parameters, in ``detail``)

    def __str__(self) -> str:  # so f-strings print "counter", not "Method.COUNTER"
        return self.value


class Kind(str, enum.Enum):
    """What a component is."""

    GPU = "gpu"
    CPU = "cpu"  # a CPU package (socket) or an estimate for the CPU
    DRAM = "dram"  # memory measured by RAPL's dram domain
    RAM = "ram"  # memory estimated from its size

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class ComponentEnergy:
    """Energy of one component over one window.

    ``uncertainty_j`` is a half-width in joules: the counter's step, the sampling error bound, or the
    estimate's stated error. ``detail`` names the model and parameters of an estimate, or how a counter
    was read. ``scope`` is "device" (the whole device), "process" (attributed to this process tree) or
    "machine".
    """

    kind: Kind
    name: str
    energy_j: float
    method: Method
    uncertainty_j: float
    source: str
    index: int | None = None
    uuid: str | None = None
    scope: str = "device"
    detail: str = ""
    samples: int | None = None
    idle_power_w: float | None = None

    @property
    def key(self) -> str:
        """A stable identifier within a machine: ``gpu:GPU-uuid``, ``cpu:0``, ``ram``."""
        if self.uuid:
            return f"{self.kind.value}:{self.uuid}"
        if self.index is not None:
            return f"{self.kind.value}:{self.index}"
        return self.kind.value

    @property
    def energy_above_idle_j(self) -> float | None:
        return None  # needs the window duration; see Measurement.component_above_idle_j

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        d["method"] = self.method.value
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ComponentEnergy:
        d = dict(d)
        d["kind"] = Kind(d["kind"])
        d["method"] = Method(d["method"])
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass(frozen=True)
class Measurement:
    """The energy of one window (a block of code, a command, a phase of a request).

    ``started_at`` is Unix time in seconds; ``duration_s`` is monotonic. ``idle_seconds`` is how long
    the idle baseline was measured before the work (0 when it was not). ``warnings`` hold everything a
    reader should know (a fallback taken, a device lost mid-window, a window shorter than the
    counter's update period). ``emissions`` is filled by :mod:`wattprint.carbon` when a place is known.
    """

    name: str
    started_at: float
    duration_s: float
    components: tuple[ComponentEnergy, ...]
    idle_seconds: float = 0.0
    warnings: tuple[str, ...] = ()
    emissions: Any = None  # wattprint.carbon.accounting.Emissions, kept untyped so the meter needs no carbon

    # ---- totals -------------------------------------------------------------------------------
    @property
    def total_energy_j(self) -> float:
        return sum(c.energy_j for c in self.components)

    @property
    def total_uncertainty_j(self) -> float:
        """Sum of the components' half-widths: conservative, since estimate errors are systematic."""
        return sum(c.uncertainty_j for c in self.components)

    @property
    def total_energy_wh(self) -> float:
        return self.total_energy_j / J_PER_WH

    @property
    def total_energy_kwh(self) -> float:
        return self.total_energy_j / J_PER_KWH

    def energy_j(self, kind: Kind | str | None = None) -> float:
        """Energy of all components of one kind ("gpu", "cpu", "dram", "ram"), or of all."""
        if kind is None:
            return self.total_energy_j
        kind = Kind(kind)
        return sum(c.energy_j for c in self.components if c.kind == kind)

    @property
    def idle_power_w(self) -> float | None:
        """Total idle power of the components that have a baseline, or None without a baseline."""
        powers = [c.idle_power_w for c in self.components if c.idle_power_w is not None]
        return sum(powers) if powers else None

    @property
    def energy_above_idle_j(self) -> float | None:
        """Total energy minus idle power times duration; reported beside the total, never instead."""
        idle = self.idle_power_w
        if idle is None:
            return None
        return self.total_energy_j - idle * self.duration_s

    @property
    def methods(self) -> dict[str, str]:
        return {c.key: c.method.value for c in self.components}

    def with_emissions(self, emissions: Any) -> Measurement:
        return replace(self, emissions=emissions)

    # ---- notebooks (wattprint.meter.views) ------------------------------------------------------------
    def __repr__(self) -> str:
        from wattprint.meter.views import short_repr

        return short_repr(self)

    def _repr_html_(self) -> str:
        from wattprint.meter.views import html_repr

        return html_repr(self)

    def to_dataframe(self) -> Any:
        """A pandas DataFrame, one row per component (needs the ``pandas`` extra); totals in ``df.attrs``."""
        from wattprint.meter.views import to_dataframe

        return to_dataframe(self)

    # ---- serialisation ------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "name": self.name,
            "started_at": self.started_at,
            "duration_s": self.duration_s,
            "total_energy_j": self.total_energy_j,
            "total_energy_wh": self.total_energy_wh,
            "total_uncertainty_j": self.total_uncertainty_j,
            "idle_seconds": self.idle_seconds,
            "idle_power_w": self.idle_power_w,
            "energy_above_idle_j": self.energy_above_idle_j,
            "components": [c.to_dict() for c in self.components],
            "warnings": list(self.warnings),
        }
        if self.emissions is not None:
            d["emissions"] = self.emissions.to_dict() if hasattr(self.emissions, "to_dict") else self.emissions
        return d

    def to_json(self, **kw: Any) -> str:
        return json.dumps(self.to_dict(), **kw)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Measurement:
        return cls(
            name=d["name"],
            started_at=d["started_at"],
            duration_s=d["duration_s"],
            components=tuple(ComponentEnergy.from_dict(c) for c in d["components"]),
            idle_seconds=d.get("idle_seconds", 0.0),
            warnings=tuple(d.get("warnings", ())),
            emissions=d.get("emissions"),
        )


@dataclass(frozen=True)
class Reading:
    """One backend's cumulative view of one component at an instant (used between backend and meter).

    ``energy_j`` is cumulative since an arbitrary origin; only differences mean anything.
    """

    t: float  # monotonic seconds
    energy_j: float
    extra: dict[str, Any] = field(default_factory=dict)
