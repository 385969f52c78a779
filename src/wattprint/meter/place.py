"""The place emissions are computed for, as ``measure()`` and ``@track`` resolve it: arguments, then the
``WATTPRINT_*`` variables and the config file's ``[carbon]`` table (:mod:`wattprint.carbon.location`).

The fallbacks these two take (an estimate standing in for a counter, the tables for live intensity) are also
logged at INFO on the ``wattprint.meter`` logger, for a library user who watches logs rather than each
result's ``warnings``."""

from __future__ import annotations

import logging
from typing import Any

from wattprint.meter.result import Measurement

log = logging.getLogger("wattprint.meter")

NO_PLACE = ("no emissions: no place set (measure(country=\"FR\"), WATTPRINT_COUNTRY=FR, or [carbon] country = \"FR\" "
            "in wattprint.toml)")


class Carbon:
    """The place emissions are computed for (None when none is set), resolved once, before any work."""

    def __init__(self, country: str | None, region: str | None, cloud: str | None) -> None:
        from wattprint.carbon.cli_args import live_client_from_args
        from wattprint.carbon.location import LOCATION_KEYS, location_from_settings, resolve_settings

        settings = resolve_settings({"country": country, "region": region, "cloud": cloud}, flag_label="argument")
        placed = any(getattr(settings, k) is not None for k in LOCATION_KEYS)
        # the tables are read only when a place is set (a few ms; nothing set is the common case)
        self.location = location_from_settings(settings) if placed else None
        self.live = live_client_from_args(self.location) if self.location is not None else None

    def attach(self, m: Measurement) -> Measurement:
        if self.location is None:
            return m
        from wattprint.carbon.accounting import attach_emissions

        out = attach_emissions(m, self.location, live=self.live or False)
        for note in out.emissions.warnings:
            if "live intensity" in note:  # a fallback the user may want to see (details in the result)
                log.info("%s", note)
        return out

    @property
    def note(self) -> str | None:
        return NO_PLACE if self.location is None else None


def log_fallbacks(meter: Any) -> None:
    """Log what a new meter fell back to (also written into each of its Measurements' warnings)."""
    for warning in meter.warnings:
        log.info("%s", warning)
