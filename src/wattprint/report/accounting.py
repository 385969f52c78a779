"""The study-accounting view: a run's measurement with the study's node accounting added back.

wattprint measures the GPUs a run used and this process's share of CPU and memory. The study it follows
(Luccioni, Jernite and Strubell, "Power Hungry Processing", arXiv:2311.16863) ran CodeCarbon in machine mode on
a node of 8 NVIDIA A100-SXM4-80GB GPUs, one of which worked while the other 7 idled, and counted RAM at a
constant power for the node's whole memory. This view adds those two terms to a run, over its measured
inference windows, so that a single-card figure can be set beside the study's table:

    study energy = measured energy - measured RAM energy
                   + (8 - GPUs the run used) x idle power per GPU x duration
                   + 430.8 W x duration

The idle power per GPU is the run's own idle baseline where it measured one (``idle_seconds`` > 0, stored
per GPU in its components); otherwise a baseline another run recorded on the same card or card model;
otherwise the lowest mean power of any run on that card model among the records given, which is an upper
bound on idle. Which one was used is said with every figure. CPU energy stays as measured.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from wattprint.core.units import J_PER_KWH
from wattprint.store.record import RunRecord

# The study's node: "8 x NVIDIA A100-SXM4-80GB" (gpu_count 8) in every per-run CodeCarbon log the study
# released (github.com/sashavor/co2_inference, data/emissions/*.csv, codecarbon 2.3.1, tracking_mode machine);
# the paper (arXiv:2311.16863, section on methodology) names the same GPU model.
STUDY_NODE_GPUS = 8
STUDY_GPU = "NVIDIA A100-SXM4-80GB"
# RAM power the study counted: ram_power = 430.77675 W in the same logs (CodeCarbon's 3 W per 8 GB of
# ram_total_size = 1,148.738 GB, the node's whole memory), constant over every task.
STUDY_RAM_W = 430.77675
SOURCE = ("Luccioni, Jernite & Strubell, Power Hungry Processing (arXiv:2311.16863); node figures from its "
          "released CodeCarbon logs (github.com/sashavor/co2_inference, data/emissions)")


@dataclass(frozen=True)
class IdleEstimate:
    """Idle power of one GPU and where the figure comes from."""

    watts: float
    source: str


@dataclass(frozen=True)
class StudyAccount:
    """One run in the study's accounting. Energies in J over the run's measured windows."""

    inferences: int
    measured_j: float
    other_gpus: int
    idle: IdleEstimate
    other_gpus_j: float
    study_ram_j: float
    measured_ram_j: float

    @property
    def energy_j(self) -> float:
        return self.measured_j - self.measured_ram_j + self.other_gpus_j + self.study_ram_j

    def per_1000(self, energy_j: float) -> float:
        """``energy_j`` of this run in kWh per 1,000 inferences."""
        return energy_j / self.inferences * 1000.0 / J_PER_KWH

    @property
    def kwh_per_1000(self) -> float:
        return self.per_1000(self.energy_j)


def _gpus(r: RunRecord) -> list[dict[str, Any]]:
    return [c for c in r.components if c.get("kind") == "gpu"]


def _mean_power(r: RunRecord, c: dict[str, Any]) -> float | None:
    e = c.get("energy_j")
    return float(e) / r.duration_s if isinstance(e, (int, float)) and r.duration_s > 0 else None


# Runs measured by another tool keep their own accounting: CodeCarbon in machine mode, as the study ran it,
# already counts every GPU of the node and its own RAM power, so adding the node again would count it twice.
OWN_ACCOUNTING = ("codecarbon",)


class IdleLookup:
    """Idle power per GPU for runs that recorded no baseline, from what the other records hold."""

    def __init__(self, records: Iterable[RunRecord]) -> None:
        self._by_uuid: dict[str, list[float]] = defaultdict(list)
        self._by_name: dict[str, list[float]] = defaultdict(list)
        self._lowest: dict[str, float] = {}
        for r in records:
            if r.status != "finished" or r.origin in OWN_ACCOUNTING:
                continue
            for c in _gpus(r):
                name = str(c.get("name") or "GPU")
                if isinstance(c.get("idle_power_w"), (int, float)):
                    self._by_uuid[str(c.get("uuid"))].append(float(c["idle_power_w"]))
                    self._by_name[name].append(float(c["idle_power_w"]))
                p = _mean_power(r, c)
                if p is not None and p > 0:
                    self._lowest[name] = min(p, self._lowest.get(name, p))

    def for_run(self, r: RunRecord) -> IdleEstimate | None:
        gpus = _gpus(r)
        own = [float(c["idle_power_w"]) for c in gpus if isinstance(c.get("idle_power_w"), (int, float))]
        if own:
            return IdleEstimate(statistics.fmean(own), "this run's idle baseline")
        uuid, name = str(gpus[0].get("uuid")), str(gpus[0].get("name") or "GPU")
        if self._by_uuid.get(uuid):
            return IdleEstimate(statistics.fmean(self._by_uuid[uuid]), "idle baseline of the same card (another run)")
        if self._by_name.get(name):
            return IdleEstimate(statistics.fmean(self._by_name[name]), f"idle baseline of another {name}")
        if name in self._lowest:
            return IdleEstimate(self._lowest[name], f"no idle baseline recorded: lowest mean power of any run on an "
                                                    f"{name} here (an upper bound on idle)")
        return None


def study_account(r: RunRecord, idle: IdleLookup) -> StudyAccount | None:
    """``r`` in the study's accounting, or None for a run that used no GPU, did no inference, or was imported
    from a tool with its own node accounting."""
    gpus = _gpus(r)
    if not gpus or r.inferences <= 0 or r.duration_s <= 0 or r.origin in OWN_ACCOUNTING:
        return None
    est = idle.for_run(r)
    if est is None:
        return None
    others = max(STUDY_NODE_GPUS - len(gpus), 0)
    return StudyAccount(inferences=r.inferences, measured_j=r.energy_j, other_gpus=others, idle=est,
                        other_gpus_j=others * est.watts * r.duration_s, study_ram_j=STUDY_RAM_W * r.duration_s,
                        measured_ram_j=r.ram_energy_j)


@dataclass(frozen=True)
class StudyRow:
    """The study-accounting view of one aggregated configuration: means over its runs, kWh per 1,000."""

    energy: Any  # wattprint.report.stats.Summary of the study-accounting kWh per 1,000 over the runs
    other_gpus: int
    idle_w: float
    idle_source: str
    other_gpus_kwh: float  # what the node's idle GPUs add
    study_ram_kwh: float  # RAM at the study's constant
    measured_ram_kwh: float  # the run's own RAM figure, which the constant replaces

    @property
    def kwh(self) -> float:
        return float(self.energy.mean)

    def to_dict(self) -> dict[str, Any]:
        return {"kwh_per_1000_mean": self.kwh, "kwh_per_1000_ci95_low": self.energy.ci_low,
                "kwh_per_1000_ci95_high": self.energy.ci_high, "node_gpus": STUDY_NODE_GPUS,
                "other_gpus": self.other_gpus, "idle_w_per_gpu": self.idle_w, "idle_source": self.idle_source,
                "other_gpus_kwh_per_1000": self.other_gpus_kwh, "study_ram_w": STUDY_RAM_W,
                "study_ram_kwh_per_1000": self.study_ram_kwh, "measured_ram_kwh_per_1000": self.measured_ram_kwh}


def study_row(accounts: list[StudyAccount]) -> StudyRow | None:
    """Mean study accounting over the runs of one configuration (None when no run has one)."""
    from wattprint.report.stats import summarize

    if not accounts:
        return None
    first = accounts[0]
    return StudyRow(
        energy=summarize([a.kwh_per_1000 for a in accounts]), other_gpus=first.other_gpus,
        idle_w=statistics.fmean(a.idle.watts for a in accounts), idle_source=first.idle.source,
        other_gpus_kwh=statistics.fmean(a.per_1000(a.other_gpus_j) for a in accounts),
        study_ram_kwh=statistics.fmean(a.per_1000(a.study_ram_j) for a in accounts),
        measured_ram_kwh=statistics.fmean(a.per_1000(a.measured_ram_j) for a in accounts),
    )
