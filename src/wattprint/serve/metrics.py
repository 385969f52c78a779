"""Prometheus metrics for a serving fleet, in a registry owned by each proxy (no global registry).

Measured energy, power and emissions move as the meter closes each interval. The split of that energy
(dynamic, idle, unattributed) and the per-request histograms follow the final ledger: an interval is final
once the requests in it have ended or ``max_lag_s`` after it closed (10 s by default), whichever comes
first, so these lag live traffic by at most that.
"""

from __future__ import annotations

from typing import Any

from wattprint.serve.attribution import Interval, Split

REQUEST_BUCKETS_J = (0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100, 300, 1000, 3000, 10000)
TOKEN_BUCKETS_J = (1e-4, 3e-4, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1, 3, 10)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class ServeMetrics:
    """The metric families; ``render()`` gives the text exposition format."""

    def __init__(self, registry: Any = None) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.power = Gauge("wattprint_power_watts", "Average power over the last meter interval",
                           ["device", "kind"], registry=r)
        self.energy = Counter("wattprint_energy_joules", "Energy measured by the meter",
                              ["device", "kind"], registry=r)
        self.parts = Counter("wattprint_attributed_energy_joules",
                             "Measured energy by destination: dynamic (requests, above idle), idle_amortised "
                             "(idle given to requests), idle_unamortised and unattributed (kept by the fleet)",
                             ["part"], registry=r)
        self.emissions = Counter("wattprint_emissions_grams", "gCO2e of the measured energy", registry=r)
        self.requests = Counter("wattprint_requests", "Accounted requests", ["route", "completed"],
                                registry=r)
        self.request_energy = Histogram("wattprint_request_energy_joules", "Final energy per request",
                                        ["route"], buckets=REQUEST_BUCKETS_J, registry=r)
        self.token_energy = Histogram("wattprint_token_energy_joules",
                                      "Final energy per request divided by its prompt + completion tokens",
                                      ["route"], buckets=TOKEN_BUCKETS_J, registry=r)
        self.idle_share = Gauge("wattprint_idle_share",
                                "Idle energy (amortised or not) / measured energy, since start", registry=r)
        self.meter_errors = Counter("wattprint_meter_errors", "Meter intervals that failed", registry=r)
        self._idle_j = 0.0
        self._measured_j = 0.0

    def interval_measured(self, iv: Interval, gco2e: float | None) -> None:
        """An interval the meter has just closed (whatever its split)."""
        for key, joules in iv.energy_j.items():
            kind = iv.kinds.get(key, key.split(":", 1)[0])
            self.energy.labels(key, kind).inc(max(joules, 0.0))
            if iv.duration_s > 0:
                self.power.labels(key, kind).set(joules / iv.duration_s)
        if gco2e is not None:
            self.emissions.inc(max(gco2e, 0.0))

    def interval_final(self, iv: Interval, split: Split) -> None:
        """An interval whose split among requests and fleet is final."""
        dyn = sum(sum(s.dynamic_j.values()) for s in split.shares.values())
        amortised = sum(sum(s.idle_j.values()) for s in split.shares.values())
        kept = sum(split.idle_unamortised_j.values())
        for part, value in (("dynamic", dyn), ("idle_amortised", amortised), ("idle_unamortised", kept),
                            ("unattributed", sum(split.unattributed_j.values()))):
            self.parts.labels(part).inc(max(value, 0.0))
        self._idle_j += amortised + kept
        self._measured_j += iv.total_j
        if self._measured_j > 0:
            self.idle_share.set(self._idle_j / self._measured_j)

    def request_finished(self, receipt: Any) -> None:
        self.requests.labels(receipt.route, "true" if receipt.completed else "false").inc()

    def request_settled(self, receipt: Any) -> None:
        self.request_energy.labels(receipt.route).observe(receipt.energy_j)
        tokens = receipt.prompt_tokens + receipt.completion_tokens
        if tokens > 0:
            self.token_energy.labels(receipt.route).observe(receipt.energy_j / tokens)

    def render(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

