"""Live and historical hourly carbon intensity from the Electricity Maps API (v3), stdlib only.

Endpoints used (header ``auth-token: <key>``):
  GET {base}/carbon-intensity/latest?zone=FR                      -> {"zone", "carbonIntensity", "datetime", ...}
  GET {base}/carbon-intensity/past-range?zone=FR&start=..&end=..  -> {"zone", "data": [{"carbonIntensity",
                                                                     "datetime", ...}, ...]} (hourly, <= 10 days)
The key comes from ``ELECTRICITYMAPS_API_KEY``. Every failure raises :class:`LiveIntensityError`; callers
(see :mod:`wattprint.carbon.accounting`) fall back to the table and record why in the result.
"""

from __future__ import annotations

import json
import math
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from wattprint.core.errors import WattprintError

DEFAULT_BASE_URL = "https://api.electricitymap.org/v3"
API_KEY_ENV = "ELECTRICITYMAPS_API_KEY"
BASE_URL_ENV = "ELECTRICITYMAPS_BASE_URL"
MAX_RANGE = timedelta(days=10)  # past-range answers at most 10 days of hourly data per call
SOURCE = "Electricity Maps API v3"


class LiveIntensityError(WattprintError):
    """The live provider did not answer usefully (time-out, HTTP error, bad payload, missing hours)."""


@dataclass(frozen=True)
class IntensityPoint:
    """One hourly value: ``start`` is the beginning of the hour (UTC)."""

    start: datetime
    g_per_kwh: float
    emission_factor_type: str  # "lifecycle" or "direct", as the API says
    estimated: bool = False


def parse_time(text: str) -> datetime:
    """ISO 8601 (with Z or offset) -> aware UTC datetime."""
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _fmt(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _intensity(value: Any) -> float | None:
    """A JSON number that is a finite intensity >= 0, else None (text, booleans, NaN, huge or negative values)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        g = float(value)
    except OverflowError:
        return None
    return g if math.isfinite(g) and g >= 0 else None


def _point(rec: Any, default_type: str) -> IntensityPoint:
    """One value of an answer, checked: an intensity that is not a finite number >= 0, or a missing or
    unreadable time, raises LiveIntensityError (the caller falls back to the tables and says why)."""
    if not isinstance(rec, Mapping):
        raise LiveIntensityError(f"{SOURCE}: expected an object per hour, got {type(rec).__name__}")
    value = rec.get("carbonIntensity")
    if value is None:
        raise LiveIntensityError(f"no carbonIntensity for {rec.get('datetime')}")
    g_per_kwh = _intensity(value)
    if g_per_kwh is None:
        raise LiveIntensityError(f"{SOURCE}: carbonIntensity {value!r:.40} at {rec.get('datetime')} is not a "
                                 "number of gCO2e/kWh >= 0")
    try:
        start = parse_time(str(rec["datetime"]))
    except (KeyError, ValueError) as e:
        raise LiveIntensityError(f"{SOURCE}: no readable datetime in {dict(rec)!r:.120}") from e
    kind = rec.get("emissionFactorType") or default_type
    return IntensityPoint(start, g_per_kwh, str(kind), bool(rec.get("isEstimated")))


class ElectricityMapsClient:
    """A small client for the carbon-intensity endpoints. ``timeout_s`` bounds each request."""

    name = "electricitymaps"

    def __init__(self, api_key: str, base_url: str = DEFAULT_BASE_URL, timeout_s: float = 5.0,
                 emission_factor_type: str = "lifecycle") -> None:
        if not api_key:
            raise LiveIntensityError("no Electricity Maps API key", fix=f"export {API_KEY_ENV}=...")
        self.api_key = api_key
        self.base_url = base_url.rstrip("/")
        self.timeout_s = timeout_s
        self.emission_factor_type = emission_factor_type

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, timeout_s: float = 5.0) -> ElectricityMapsClient | None:
        """A client when ``ELECTRICITYMAPS_API_KEY`` is set, else None."""
        env = os.environ if env is None else env
        key = env.get(API_KEY_ENV, "").strip()
        if not key:
            return None
        return cls(key, env.get(BASE_URL_ENV, DEFAULT_BASE_URL), timeout_s=timeout_s)

    def _get(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        query = urllib.parse.urlencode({**params, "emissionFactorType": self.emission_factor_type})
        req = urllib.request.Request(f"{self.base_url}/{path}?{query}", headers={"auth-token": self.api_key})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:  # noqa: S310 (configured https URL)
                body = resp.read()
        except urllib.error.HTTPError as e:
            raise LiveIntensityError(f"{SOURCE}: HTTP {e.code} for {path}") from e
        except TimeoutError as e:  # socket.timeout is TimeoutError since 3.10
            raise LiveIntensityError(f"{SOURCE}: no answer within {self.timeout_s:g} s ({path})") from e
        except urllib.error.URLError as e:
            if isinstance(e.reason, TimeoutError):
                raise LiveIntensityError(f"{SOURCE}: no answer within {self.timeout_s:g} s ({path})") from e
            raise LiveIntensityError(f"{SOURCE}: cannot connect ({e.reason})") from e
        try:
            payload = json.loads(body)
        except ValueError as e:
            raise LiveIntensityError(f"{SOURCE}: answer is not JSON ({path})") from e
        if not isinstance(payload, dict):
            raise LiveIntensityError(f"{SOURCE}: answer is not a JSON object ({path})")
        return payload

    def latest(self, zone: str) -> IntensityPoint:
        """The most recent hourly value for ``zone``."""
        return _point(self._get("carbon-intensity/latest", {"zone": zone}), self.emission_factor_type)

    def past_range(self, zone: str, start: datetime, end: datetime) -> list[IntensityPoint]:
        """Hourly values with start <= hour < end, split into calls of at most 10 days."""
        points: list[IntensityPoint] = []
        t = start
        while t < end:
            stop = min(end, t + MAX_RANGE)
            payload = self._get("carbon-intensity/past-range", {"zone": zone, "start": _fmt(t), "end": _fmt(stop)})
            if not isinstance(payload.get("data"), list):
                raise LiveIntensityError(f"{SOURCE}: past-range answer has no 'data' list")
            points += [_point(rec, self.emission_factor_type) for rec in payload["data"]]
            t = stop
        return sorted({p.start: p for p in points}.values(), key=lambda p: p.start)


@dataclass(frozen=True)
class HourSlice:
    """A part of a measurement window inside one clock hour, with that hour's intensity."""

    start: datetime
    end: datetime
    energy_j: float
    g_per_kwh: float
    estimated: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"start": _fmt(self.start), "end": _fmt(self.end), "energy_j": self.energy_j,
                "g_per_kwh": self.g_per_kwh, "estimated": self.estimated}


def split_by_hour(start: datetime, end: datetime, energy_j: float) -> list[tuple[datetime, datetime, float]]:
    """Split [start, end) at clock hours; energy is shared in proportion to time (constant power assumed)."""
    if end <= start:
        return [(start, end, energy_j)]
    total = (end - start).total_seconds()
    out, t = [], start
    while t < end:
        nxt = min(end, t.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1))
        out.append((t, nxt, energy_j * (nxt - t).total_seconds() / total))
        t = nxt
    return out


def hourly_slices(client: ElectricityMapsClient, zone: str, start: datetime, end: datetime,
                  energy_j: float) -> tuple[list[HourSlice], list[str]]:
    """Energy of each clock hour of the window times that hour's intensity, and notes.

    Hours the API has not published yet (the last hour or two, typically) take the ``latest`` value,
    and a note says so; a missing hour that ``latest`` does not cover raises LiveIntensityError.
    """
    parts = split_by_hour(start, end, energy_j)
    first = parts[0][0].replace(minute=0, second=0, microsecond=0)
    last = parts[-1][0].replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    by_hour = {p.start: p for p in client.past_range(zone, first, last)}
    latest: IntensityPoint | None = None
    slices, filled = [], []
    for s, e, joules in parts:
        hour = s.replace(minute=0, second=0, microsecond=0)
        point = by_hour.get(hour)
        if point is None:
            latest = latest or client.latest(zone)
            if hour < latest.start:
                raise LiveIntensityError(f"{SOURCE}: no value for {zone} at {_fmt(hour)}")
            filled.append(_fmt(hour))
            point = IntensityPoint(hour, latest.g_per_kwh, latest.emission_factor_type, estimated=True)
        slices.append(HourSlice(s, e, joules, point.g_per_kwh, point.estimated))
    notes = [f"{len(filled)} hour(s) not yet published ({', '.join(filled)}): latest value used"] if filled else []
    return slices, notes
