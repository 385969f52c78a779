"""The accountant: a meter cut into short intervals by an owned thread, a ledger, and receipts.

Plain Python use (in-process serving)::

    with Accountant.from_meter(Meter(gpus="visible"), location=loc) as acct:
        with acct.request(prompt_tokens=12) as r:
            for token in generate(...):
                r.add_tokens(1)
        print(r.receipt.energy_j)            # issued at once: the last fraction of a second is provisional
        acct.final_receipt(r.id)             # once the meter has closed every interval of the request
"""

from __future__ import annotations

import logging
import math
import secrets
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from wattprint.core.clock import Clock, SystemClock
from wattprint.serve.attribution import IdlePolicy, Interval, Split, sum_by_kind
from wattprint.serve.intervals import MeterIntervals
from wattprint.serve.ledger import MAX_LAG_S, Ledger, LedgerConfig, Track
from wattprint.serve.receipt import Receipt

log = logging.getLogger("wattprint.serve")


@dataclass(frozen=True)
class AccountantConfig:
    """``interval_s``: meter interval (an H100 counter moves every ~0.1 s, /work/shared/GPU.md);
    ``max_lag_s``: how long an interval waits for the requests in it to end before it is split with
    what is known (see :mod:`wattprint.serve.ledger`): a receipt is final at most this long (plus an
    interval) after its request ended, whatever else is in flight;
    ``keep_receipts``: how many final receipts stay retrievable by id."""

    interval_s: float = 0.1
    policy: IdlePolicy = IdlePolicy.EVEN
    prefill_weight: float = 1.0
    max_lag_s: float = MAX_LAG_S
    keep_receipts: int = 10_000

    def __post_init__(self) -> None:
        if not 0 < self.interval_s < math.inf or self.keep_receipts < 0:
            raise ValueError("interval_s must be finite and > 0, and keep_receipts >= 0")
        object.__setattr__(self, "policy", IdlePolicy.parse(self.policy))

    def attribution(self) -> str:
        return (f"token-share;idle={self.policy.value};prefill_weight={self.prefill_weight:g};"
                f"interval_s={self.interval_s:g}")


class RequestHandle:
    """One request being accounted. ``add_tokens`` as tokens are produced; the first call marks the end
    of the prefill. ``finish`` (or leaving ``Accountant.request``) issues the receipt."""

    def __init__(self, acct: Accountant, rid: str) -> None:
        self._acct = acct
        self.id = rid
        self.receipt: Receipt | None = None
        self.app_counted = False

    def add_tokens(self, n: float = 1.0) -> None:
        self.app_counted = True
        self._acct._tokens(self.id, n)

    def observe_tokens(self, n: float) -> None:
        """Tokens seen in the response stream; ignored once the application counts its own."""
        if not self.app_counted:
            self._acct._tokens(self.id, n)

    def finish(self, usage: dict[str, int] | None = None, completed: bool = True) -> Receipt:
        if self.receipt is None:
            self.receipt = self._acct._finish(self.id, usage, completed)
        return self.receipt


class Accountant:
    """Owns the interval source, the ledger and the ticker thread (named ``wattprint-serve-ticker``)."""

    def __init__(self, source: MeterIntervals, config: AccountantConfig | None = None,
                 clock: Clock | None = None, location: Any = None, metrics: Any = None) -> None:
        self.config = config or AccountantConfig()
        self.clock = clock or source.clock or SystemClock()
        self.source = source
        self.location = location
        self.metrics = metrics
        self._lock = threading.Lock()
        self._final: OrderedDict[str, Receipt] = OrderedDict()
        self._methods: dict[str, str] = {}
        self._method_text: str | None = None  # _method(), until the methods change
        self._attribution = self.config.attribution()
        self._carbon: dict[str, Any] | None = None
        self._ledger = Ledger(LedgerConfig(self.config.policy, self.config.prefill_weight,
                                           self.config.max_lag_s), self._on_final, self._on_settled)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._first_interval = threading.Event()

    @classmethod
    def from_meter(cls, meter: Any, config: AccountantConfig | None = None, clock: Clock | None = None,
                   idle_power_w: dict[str, float] | None = None, **kw: Any) -> Accountant:
        return cls(MeterIntervals(meter, clock, idle_power_w), config, clock, **kw)

    # ---- lifecycle ------------------------------------------------------------------------------
    def start(self, thread: bool = True, wait_first_interval: float = 0.0) -> Accountant:
        """Open the first interval; with ``thread`` a ticker cuts one every ``interval_s``.

        ``wait_first_interval``: wait up to that many seconds for the first closed interval (see
        :meth:`wait_first_interval`)."""
        with self._lock:
            self.source.start()
            self._started = True
        if thread:
            self._thread = threading.Thread(target=self._run, name="wattprint-serve-ticker", daemon=True)
            self._thread.start()
        if wait_first_interval > 0:
            self.wait_first_interval(wait_first_interval)
        return self

    def wait_first_interval(self, timeout_s: float = 2.0) -> bool:
        """Wait (at most ``timeout_s``) until the first meter interval has closed; True when it has.

        A deployed service runs long before its first request; one whose requests follow at once (tests,
        benchmarks) waits here, else its first receipts can only say "energy so far unknown". The
        interval counterpart of ``Meter.wait_ready()``; it needs the ticker thread (or another caller of
        :meth:`tick`)."""
        return self._first_interval.wait(timeout_s)

    def _run(self) -> None:
        while not self._stop.wait(self.config.interval_s):
            try:
                self.tick()
            except Exception:  # a meter failure must not kill accounting: logged, counted, next tick
                log.exception("wattprint: meter interval failed")
                if self.metrics:
                    self.metrics.meter_errors.inc()

    def tick(self) -> Interval:
        """Close the current interval, open the next, and settle what can be settled.

        Only the ticker (or a test driving it) calls this; the meter is read outside the lock so that
        request events never wait for the meter's resolution."""
        iv = self.source.cut()
        with self._lock:
            if any(self._methods.get(k) != v for k, v in iv.methods.items()):
                self._methods.update(iv.methods)
                self._method_text = None
            self._measured(iv)
            self._ledger.add_interval(iv, self.clock.monotonic())
        self._first_interval.set()
        return iv

    def close(self) -> None:
        """Stop the ticker, measure the last interval and settle everything (open requests are forced)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=max(5.0, 5 * self.config.interval_s))
            self._thread = None
        with self._lock:
            if not self._started:
                return
            iv = self.source.stop()
            if iv is not None:
                self._measured(iv)
                self._ledger.add_interval(iv, iv.t1 + self.config.max_lag_s)
            self._started = False

    def __enter__(self) -> Accountant:
        return self if self._started else self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- requests -------------------------------------------------------------------------------
    def open(self, route: str = "", prompt_tokens: float = 0.0, prompt_source: str = "given") -> RequestHandle:
        if not 0 <= prompt_tokens < math.inf:
            raise ValueError(f"prompt_tokens must be a finite number >= 0, got {prompt_tokens!r}")
        rid = "wp-" + secrets.token_urlsafe(12)  # unguessable: a receipt is read by whoever holds its id
        with self._lock:
            self._ledger.open(Track(rid, self.clock.monotonic(), float(prompt_tokens), prompt_source, route))
        return RequestHandle(self, rid)

    @contextmanager
    def request(self, route: str = "", prompt_tokens: float = 0.0,
                prompt_source: str = "given") -> Iterator[RequestHandle]:
        handle = self.open(route, prompt_tokens, prompt_source)
        completed = False
        try:
            yield handle
            completed = True
        finally:
            if handle.receipt is None:
                handle.finish(completed=completed)

    def _tokens(self, rid: str, n: float) -> None:
        if not 0 <= n < math.inf:
            raise ValueError(f"a token count must be a finite number >= 0, got {n!r}")
        with self._lock:
            self._ledger.tokens(rid, self.clock.monotonic(), float(n))

    def _finish(self, rid: str, usage: dict[str, int] | None, completed: bool) -> Receipt:
        with self._lock:
            now = self.clock.monotonic()
            tr = self._ledger.close(rid, now, usage, completed)
            receipt = self._provisional(tr, now)
            self._ledger.settle(now)
        if self.metrics:
            self.metrics.request_finished(receipt)
        return receipt

    def final_receipt(self, rid: str) -> Receipt | None:
        with self._lock:
            return self._final.get(rid)

    def totals(self) -> dict[str, float]:
        with self._lock:
            return self._ledger.totals.as_dict()

    def totals_by_key(self) -> dict[str, dict[str, float]]:
        with self._lock:
            t = self._ledger.totals
            return {name: dict(getattr(t, name)) for name in
                    ("measured_j", "dynamic_j", "idle_amortised_j", "idle_unamortised_j", "unattributed_j")}

    def open_requests(self) -> int:
        with self._lock:
            return self._ledger.open_count

    # ---- receipts (called under the lock) -------------------------------------------------------
    def _provisional(self, tr: Track, now: float) -> Receipt:
        ledger = self._ledger
        intervals = []  # the pending intervals that can hold a share: the newest ones, from the right
        for iv in reversed(ledger.pending):
            if iv.t1 <= tr.start:
                break
            intervals.append(iv)
        intervals.reverse()
        tail = self._tail(tr)
        if tail is not None:
            intervals.append(tail)
        dynamic, idle = dict(tr.final_dynamic_j), dict(tr.final_idle_j)
        provisional = 0.0
        for split in ledger.split_many(intervals, now, only=tr.id):
            share = split.shares.get(tr.id)
            if share is None:
                continue
            for src, dst in ((share.dynamic_j, dynamic), (share.idle_j, idle)):
                for k, v in src.items():
                    dst[k] = dst.get(k, 0.0) + v
                    provisional += v
        warnings = () if tail is not None or ledger.measured_until is not None else (
            "no meter interval closed yet: energy so far unknown",)
        return self._receipt(tr, dynamic, idle, provisional, final=False, warnings=warnings)

    def _tail(self, tr: Track) -> Interval | None:
        """The stretch after the last closed interval, estimated from that interval's power."""
        ledger = self._ledger
        last, until = ledger.last_interval, ledger.measured_until
        if last is None or until is None or tr.end is None or tr.end <= until:
            return None
        power = last.power_w()
        d = tr.end - until
        return Interval(until, tr.end, {k: p * d for k, p in power.items()}, last.idle_w, last.kinds,
                        last.methods, estimated=True)

    def _receipt(self, tr: Track, dynamic: dict[str, float], idle: dict[str, float], provisional: float,
                 final: bool, warnings: tuple[str, ...] = ()) -> Receipt:
        kinds = self._ledger.last_interval.kinds if self._ledger.last_interval else {}
        by_kind = sum_by_kind({k: dynamic.get(k, 0.0) + idle.get(k, 0.0) for k in set(dynamic) | set(idle)},
                              kinds)
        energy = sum(dynamic.values()) + sum(idle.values())
        prompt, completion = tr.tokens()
        gco2e, carbon = self._emissions(energy)
        if tr.forced:
            warnings = warnings + (f"part of it was attributed while it ran (intervals final after "
                                   f"{self.config.max_lag_s:g} s), with the tokens counted by then",)
        return Receipt(
            id=tr.id, route=tr.route, final=final, energy_j=energy, dynamic_j=sum(dynamic.values()),
            idle_j=sum(idle.values()), provisional_j=0.0 if final else provisional, by_kind_j=by_kind,
            prompt_tokens=prompt, completion_tokens=completion, token_source=self._token_source(tr),
            method=self._method(), attribution=self._attribution,
            duration_s=(tr.end or tr.last_t) - tr.start, completed=tr.completed, gco2e=gco2e, carbon=carbon,
            warnings=warnings)

    def _token_source(self, tr: Track) -> str:
        if tr.usage and "prompt_tokens" in tr.usage:
            return "usage"
        return f"prompt:{tr.prompt_source};completion:{'usage' if tr.usage else 'stream-chunks'}"

    def _method(self) -> str:
        if self._method_text is None:
            self._method_text = ",".join(f"{k}={v}" for k, v in sorted(self._methods.items())) or "none"
        return self._method_text

    def _emissions(self, energy_j: float) -> tuple[float | None, dict[str, Any] | None]:
        if self.location is None:
            return None, None
        from wattprint.carbon import emissions_for

        em = emissions_for(max(energy_j, 0.0), self.location)
        if self._carbon is None:  # the place does not change: describe it once
            i = em.to_dict()["intensity"]
            self._carbon = {"g_per_kwh": i["g_per_kwh"], "zone": i["zone"], "year": i["year"],
                            "source": i["source"], "scope": i["scope"], "method": em.method, "pue": em.pue,
                            "pue_source": em.pue_source, "warnings": list(em.warnings)}
        return em.gco2e, self._carbon

    # ---- ledger callbacks (under the lock) ------------------------------------------------------
    def _measured(self, iv: Interval) -> None:
        if self.metrics:
            gco2e, _ = self._emissions(iv.total_j)
            self.metrics.interval_measured(iv, gco2e)

    def _on_final(self, iv: Interval, split: Split) -> None:
        if self.metrics:
            self.metrics.interval_final(iv, split)

    def _on_settled(self, tr: Track) -> None:
        receipt = self._receipt(tr, tr.final_dynamic_j, tr.final_idle_j, 0.0, final=True)
        if self.config.keep_receipts:
            self._final[tr.id] = receipt
            while len(self._final) > self.config.keep_receipts:
                self._final.popitem(last=False)
        if self.metrics:
            self.metrics.request_settled(receipt)
