"""Short requests through the wattprint proxy while long requests are held open: latency, throughput,
memory, time to a final receipt, and whether the Prometheus energy counters move.

Loopback only, bounded in requests and time, stops by itself. Three processes: a fake upstream (a bare
ASGI app defined below: short chat completions answered at once, a slow SSE stream, a stalled request),
the real ``wattprint proxy`` command in front of it (metering this machine's CPU and RAM, 0.1 s
intervals), and this client. Two phases of short requests from ``--clients`` concurrent clients:
``quiet`` (nothing long in flight), then ``held`` (one slow stream and one stalled request open for the
whole phase). Every ``--sample``-th short request's receipt is polled at ``/wattprint/receipts/<id>``
until final (at most ``--final-wait`` s); the proxy's RSS and ``wattprint_energy_joules_total`` are read
every ``--every`` s.

    python benchmarks/proxy_soak.py [--quiet 2000] [--held 40000] [--clients 50] [--max-seconds 60] [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import psutil

from wattprint.serve.testing import free_port, proxy_command, running_process
from wattprint.serve.upstream import UpstreamPool

CHAT = json.dumps({"model": "m", "messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}).encode()
USAGE = {"prompt_tokens": 8, "completion_tokens": 16, "total_tokens": 24}
REPLY = json.dumps({"id": "soak", "object": "chat.completion", "model": "soak", "usage": USAGE, "choices": [
    {"index": 0, "message": {"role": "assistant", "content": "x" * 16}, "finish_reason": "length"}]}).encode()
CHUNK = (b'data: {"id":"soak","object":"chat.completion.chunk","model":"soak","choices":[{"index":0,'
         b'"delta":{"content":"x"},"finish_reason":null}]}\n\n')


# ---- the fake upstream (a bare ASGI app, so that the proxy's cost dominates) ------------------------
async def _upstream(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        while (msg := await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})
        return
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    if b'"hold_s"' not in body:  # a short request: answered at once
        await send({"type": "http.response.start", "status": 200, "headers": [
            (b"content-type", b"application/json"), (b"content-length", str(len(REPLY)).encode())]})
        await send({"type": "http.response.body", "body": REPLY})
        return
    req = json.loads(body)
    end = time.monotonic() + float(req["hold_s"])
    if req.get("stall"):  # nothing at all until the end
        await asyncio.sleep(float(req["hold_s"]))
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": REPLY})
        return
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/event-stream")]})
    while time.monotonic() < end:
        await send({"type": "http.response.body", "body": CHUNK, "more_body": True})
        await asyncio.sleep(float(req.get("gap_s", 0.05)))
    await send({"type": "http.response.body", "body": b"data: [DONE]\n\n"})


def upstream_app() -> Any:
    """For ``uvicorn --factory proxy_soak:upstream_app``."""
    return _upstream


# ---- the client ---------------------------------------------------------------------------------------
class Soak:
    """One proxy's soak: short-request workers, long requests, samplers. Our own keep-alive client
    (``UpstreamPool``) drives the load, as the proxy drives its upstream: httpx would cost more CPU than
    the proxy on a 2-core machine."""

    def __init__(self, port: int, pid: int, args: argparse.Namespace) -> None:
        self.args = args
        self.host = f"127.0.0.1:{port}".encode()
        self.pool = UpstreamPool("http", "127.0.0.1", port, read_timeout_s=args.max_seconds + 60,
                                 max_connections=args.clients + 16)
        self.proc = psutil.Process(pid)
        self.t0 = time.monotonic()
        self.series: list[dict[str, Any]] = []  # one row per --every seconds
        self.finals: dict[str, list[float | None]] = {}
        self.polls: set[asyncio.Task[None]] = set()
        self.done = 0

    async def call(self, method: bytes, path: bytes, body: bytes = b"") -> tuple[int, dict[bytes, bytes], bytes]:
        headers = [(b"host", self.host)]
        if body:
            headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        r = await self.pool.request(method, path, headers, body)
        try:
            data = await r.read()
        finally:
            await r.aclose()
        return r.status, dict(r.headers), data

    async def energy_j(self) -> float:
        _, _, text = await self.call(b"GET", b"/metrics")
        return sum(float(line.rsplit(b" ", 1)[1]) for line in text.splitlines()
                   if line.startswith(b"wattprint_energy_joules_total{"))

    async def sampler(self, stop: asyncio.Event, phase: dict[str, str]) -> None:
        while not stop.is_set():
            self.series.append({"t_s": round(time.monotonic() - self.t0, 2), "phase": phase["name"],
                                "rss_mb": self.proc.memory_info().rss / 2**20, "requests": self.done,
                                "energy_j": await self.energy_j()})
            try:
                await asyncio.wait_for(stop.wait(), self.args.every)
            except asyncio.TimeoutError:
                pass

    async def poll_final(self, rid: str, sent: float, out: list[float | None]) -> None:
        deadline = sent + self.args.final_wait
        while time.monotonic() < deadline:
            status, _, _ = await self.call(b"GET", f"/wattprint/receipts/{rid}".encode())
            if status == 200:
                out.append(time.monotonic() - sent)
                return
            await asyncio.sleep(0.1)
        out.append(None)

    async def phase(self, name: str, n: int) -> dict[str, Any]:
        lat: list[float] = []
        finals = self.finals.setdefault(name, [])
        end = time.monotonic() + self.args.max_seconds
        todo = iter(range(n))

        async def worker() -> None:
            for i in todo:
                if time.monotonic() > end:
                    return
                t = time.perf_counter()
                status, headers, _ = await self.call(b"POST", b"/v1/chat/completions", CHAT)
                lat.append(time.perf_counter() - t)
                self.done += 1
                assert status == 200, status
                rid = headers.get(b"x-wattprint-request-id")
                if rid and i % self.args.sample == 0:
                    task = asyncio.ensure_future(self.poll_final(rid.decode(), time.monotonic(), finals))
                    self.polls.add(task)
                    task.add_done_callback(self.polls.discard)

        t = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(self.args.clients)])
        wall = time.perf_counter() - t
        s = sorted(lat)
        return {"requests": len(s), "seconds": wall, "rps": len(s) / wall,
                "median_ms": statistics.median(s) * 1e3, "p95_ms": s[int(0.95 * (len(s) - 1))] * 1e3}

    async def hold(self, body: dict[str, Any], stop: asyncio.Event) -> None:
        """A long request, read as it arrives, abandoned (connection closed) when ``stop`` is set."""
        raw = json.dumps(body).encode()
        headers = [(b"host", self.host), (b"content-type", b"application/json"),
                   (b"content-length", str(len(raw)).encode())]

        async def read() -> None:
            r = await self.pool.request(b"POST", b"/v1/chat/completions", headers, raw)
            try:
                async for _ in r.stream():
                    pass
            finally:
                await r.aclose()

        task = asyncio.ensure_future(read())
        await stop.wait()
        task.cancel()
        try:
            await task
        except (asyncio.CancelledError, Exception):
            pass


async def soak(port: int, pid: int, args: argparse.Namespace) -> dict[str, Any]:
    s = Soak(port, pid, args)
    stop_sampling, stop_holding = asyncio.Event(), asyncio.Event()
    phase = {"name": "quiet"}
    sampler = asyncio.ensure_future(s.sampler(stop_sampling, phase))
    out: dict[str, Any] = {"quiet": await s.phase("quiet", args.quiet)}
    hold_s = args.max_seconds + 60  # longer than the phase: the client ends them
    holders = [asyncio.ensure_future(s.hold({**json.loads(CHAT), "stream": True, "hold_s": hold_s}, stop_holding)),
               asyncio.ensure_future(s.hold({**json.loads(CHAT), "hold_s": hold_s, "stall": True}, stop_holding))]
    await asyncio.sleep(1.0)  # both are in flight at the proxy
    phase["name"] = "held"
    out["held"] = await s.phase("held", args.held)
    if s.polls:  # receipts of the held phase, polled while the long requests are still open
        await asyncio.wait(set(s.polls))
    stop_holding.set()
    await asyncio.gather(*holders)
    stop_sampling.set()
    await sampler
    await s.pool.aclose()
    for name, got in s.finals.items():
        ok = sorted(x for x in got if x is not None)
        out[name]["final_receipts"] = {"sampled": len(got), "final": len(ok),
                                       "median_s": statistics.median(ok) if ok else None,
                                       "max_s": ok[-1] if ok else None}
    out["series"] = s.series
    return out


def moved(series: list[dict[str, Any]], phase: str) -> dict[str, Any]:
    rows = [r for r in series if r["phase"] == phase]
    if len(rows) < 2:
        return {"samples": len(rows)}
    return {"samples": len(rows), "energy_j_first": rows[0]["energy_j"], "energy_j_last": rows[-1]["energy_j"],
            "moved": rows[-1]["energy_j"] > rows[0]["energy_j"],
            "rss_mb_first": rows[0]["rss_mb"], "rss_mb_last": rows[-1]["rss_mb"],
            "rss_mb_max": max(r["rss_mb"] for r in rows)}


def report(res: dict[str, Any]) -> None:
    print(f"{'phase':6} {'requests':>8} {'rps':>6} {'median ms':>10} {'p95 ms':>8} {'final receipts':>16} "
          f"{'median s':>9} {'max s':>6} {'RSS MB first/last/max':>22} {'energy moves':>13}")
    for name in ("quiet", "held"):
        p, m, f = res[name], moved(res["series"], name), res[name].get("final_receipts", {})
        rss = (f"{m['rss_mb_first']:.0f}/{m['rss_mb_last']:.0f}/{m['rss_mb_max']:.0f}" if "rss_mb_first" in m else "-")
        med = "-" if f.get("median_s") is None else f"{f['median_s']:.2f}"
        mx = "-" if f.get("max_s") is None else f"{f['max_s']:.2f}"
        finals = f"{f.get('final', 0):>7}/{f.get('sampled', 0):<8}"
        print(f"{name:6} {p['requests']:8d} {p['rps']:6.0f} {p['median_ms']:10.2f} {p['p95_ms']:8.2f} "
              f"{finals} {med:>9} {mx:>6} {rss:>22} {str(m.get('moved', '-')):>13}")
    print("RSS and energy over time (t s, phase, requests done, RSS MB, wattprint_energy_joules_total J):")
    for r in res["series"]:
        print(f"  {r['t_s']:7.1f} {r['phase']:6} {r['requests']:7d} {r['rss_mb']:7.1f} {r['energy_j']:10.2f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quiet", type=int, default=2000, help="short requests with nothing long in flight")
    ap.add_argument("--held", type=int, default=40000, help="short requests while the long ones are open")
    ap.add_argument("--clients", type=int, default=50, help="concurrent clients sending short requests")
    ap.add_argument("--max-seconds", type=float, default=60.0, help="time limit of each phase")
    ap.add_argument("--sample", type=int, default=200, help="poll the receipt of every Nth short request")
    ap.add_argument("--final-wait", type=float, default=15.0, help="how long a sampled receipt is polled")
    ap.add_argument("--every", type=float, default=1.0, help="seconds between RSS and metrics samples")
    ap.add_argument("--proxy-arg", action="append", default=[], help="extra argument for wattprint proxy")
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    up_port, px_port = free_port(), free_port()
    upstream, proxy = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{px_port}"
    up_cmd = [sys.executable, "-m", "uvicorn", "--factory", "--app-dir", str(Path(__file__).resolve().parent),
              "proxy_soak:upstream_app", "--port", str(up_port), "--log-level", "warning", "--no-access-log"]
    px_cmd = proxy_command(upstream, px_port, "--gpu", "none", "--idle-seconds", "0", *args.proxy_arg)
    info = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs",
            "python": platform.python_version(), "load_average_at_start": os.getloadavg(), "args": vars(args)}
    with running_process(up_cmd, upstream + "/none"), running_process(px_cmd, proxy + "/wattprint/totals") as px:
        res = asyncio.run(soak(px_port, px.pid, args))
    res.update(info)
    report(res)
    print(f"({res['machine']}, Python {res['python']}, load average at start {res['load_average_at_start'][0]:.1f})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
