"""How much the wattprint proxy adds to each request, and its throughput against the upstream alone.

Loopback only, bounded (about a minute), stops by itself. Three processes: a trivial upstream that
answers at once (``wattprint.serve.testing.build_echo_app``, so the proxy dominates), the real
``wattprint proxy`` command in front of it (metering this machine's CPU and RAM, 0.1 s intervals), and
this client. Latency: sequential requests, alternating direct and proxied, medians and p90 of each, the
difference is the proxy's added latency. Throughput: N concurrent clients for a fixed time, requests/s.

    python benchmarks/proxy_overhead.py [--requests 400] [--seconds 4] [--concurrency 16] [--json out.json]
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

import httpx
import psutil

from wattprint.serve.testing import free_port, proxy_command, running_process, upstream_command

CHAT = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 16}


def accounting_cost_us(n: int = 1000, rate_per_s: float = 500.0) -> float:
    """In-process cost of the accounting alone (request inspection, ledger, receipt), no sockets, at
    ``rate_per_s`` requests a second (the ledger's work grows with the requests inside one interval)."""
    from wattprint.meter.meter import Meter
    from wattprint.serve.accountant import Accountant
    from wattprint.serve.exchange import Exchange
    from wattprint.serve.metrics import ServeMetrics
    from wattprint.serve.testing import build_echo_app  # noqa: F401  (same payloads as the upstream)

    body = json.dumps(CHAT).encode()
    reply = json.dumps({"id": "x", "object": "chat.completion", "choices": [], "usage": {
        "prompt_tokens": 8, "completion_tokens": 16, "total_tokens": 24}}).encode()
    with Meter(gpus=None, cpu=True, ram=True, cpu_scope="machine") as meter:
        with Accountant.from_meter(meter, metrics=ServeMetrics()) as acct:
            spent = 0.0
            for _ in range(n):
                t = time.perf_counter()
                Exchange(acct, "POST", "/v1/chat/completions", body).finish_body("json", reply)
                dt = time.perf_counter() - t
                spent += dt
                time.sleep(max(0.0, 1.0 / rate_per_s - dt))
            return spent / n * 1e6


def latencies(direct: str, proxy: str, n: int, stream: bool, pid: int) -> dict[str, list[float]]:
    body = {**CHAT, "stream": stream}
    out: dict[str, list[float]] = {"direct": [], "proxy": []}
    proc = psutil.Process(pid)
    with httpx.Client(timeout=30) as c:
        for i in range(n + 20):
            order = (("direct", direct), ("proxy", proxy)) if i % 2 else (("proxy", proxy), ("direct", direct))
            for name, base in order:
                t = time.perf_counter()
                r = c.post(base + "/v1/chat/completions", json=body)
                r.read()
                dt = time.perf_counter() - t
                assert r.status_code == 200, r.text
                if i >= 20:  # warm-up excluded
                    out[name].append(dt)
            if i == 19:
                cpu0 = sum(proc.cpu_times()[:2])
    out["proxy_cpu_s"] = [sum(proc.cpu_times()[:2]) - cpu0]
    return out


async def _throughput(base: str, seconds: float, concurrency: int, stream: bool) -> float:
    body = {**CHAT, "stream": stream}
    done = 0
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as c:
        end = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal done
            while time.perf_counter() < end:
                r = await c.post("/v1/chat/completions", json=body)
                assert r.status_code == 200
                done += 1

        t = time.perf_counter()
        await asyncio.gather(*[worker() for _ in range(concurrency)])
        return done / (time.perf_counter() - t)


def summary(values: list[float]) -> dict[str, float]:
    s = sorted(values)
    return {"median_ms": statistics.median(s) * 1e3, "p90_ms": s[int(0.9 * (len(s) - 1))] * 1e3, "n": len(s)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=400)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--json", metavar="PATH")
    args = ap.parse_args()
    up_port, px_port = free_port(), free_port()
    direct, proxy = f"http://127.0.0.1:{up_port}", f"http://127.0.0.1:{px_port}"
    upstream_cmd = upstream_command("wattprint.serve.testing:build_echo_app", up_port)
    proxy_cmd = proxy_command(direct, px_port, "--gpu", "none", "--idle-seconds", "0")
    results: dict[str, object] = {"machine": f"{platform.processor() or platform.machine()}, "
                                             f"{os.cpu_count()} logical CPUs", "python": platform.python_version(),
                                  "load_average_at_start": os.getloadavg()}
    results["accounting_us_per_request"] = accounting_cost_us()
    with running_process(upstream_cmd, direct + "/none"), running_process(proxy_cmd, proxy + "/wattprint/totals") as px:
        for stream in (False, True):
            kind = "stream" if stream else "json"
            lat = latencies(direct, proxy, args.requests, stream, px.pid)
            d, p = summary(lat["direct"]), summary(lat["proxy"])
            results[f"latency_{kind}"] = {"direct": d, "proxy": p, "added_median_ms": p["median_ms"] - d["median_ms"],
                                         "proxy_cpu_ms_per_request": lat["proxy_cpu_s"][0] / args.requests * 1e3}
            tput = {name: asyncio.run(_throughput(base, args.seconds, args.concurrency, stream))
                    for name, base in (("direct", direct), ("proxy", proxy))}
            results[f"throughput_{kind}"] = {**{f"{k}_rps": v for k, v in tput.items()},
                                            "ratio": tput["proxy"] / tput["direct"]}
        totals = httpx.get(proxy + "/wattprint/totals").json()
        results["proxy_ledger"] = {k: totals[k] for k in ("measured_j", "intervals", "open_requests")}
    print(f"{'':8} {'direct ms':>10} {'proxy ms':>9} {'added ms':>9} {'proxy CPU ms':>13} "
          f"{'direct rps':>11} {'proxy rps':>10} {'ratio':>6}")
    for kind in ("json", "stream"):
        lat, tp = results[f"latency_{kind}"], results[f"throughput_{kind}"]
        print(f"{kind:8} {lat['direct']['median_ms']:10.3f} {lat['proxy']['median_ms']:9.3f} "
              f"{lat['added_median_ms']:9.3f} {lat['proxy_cpu_ms_per_request']:13.3f} "
              f"{tp['direct_rps']:11.0f} {tp['proxy_rps']:10.0f} {tp['ratio']:6.2f}")
    print(f"accounting alone (in-process, no sockets, 500 requests/s): {results['accounting_us_per_request']:.0f} us"
          " per request")
    print(f"(medians of {args.requests} sequential requests each; throughput: {args.concurrency} clients for "
          f"{args.seconds:g} s; {results['machine']})")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
