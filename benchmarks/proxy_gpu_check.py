"""The proxy on a GPU under concurrent load: per-request receipts summed against the GPU's own counter.

Three processes on one machine: an OpenAI-compatible server running GPT-2-large (774 M parameters,
random weights from its config, fp16) on the GPU (``wattprint.serve.testing``), the real ``wattprint
proxy`` in front of it (measuring the visible GPUs, 0.1 s intervals, idle baseline 5 s), and this load
generator (concurrent streamed and non-streamed chat requests of random lengths). Around the load the
script reads ``nvmlDeviceGetTotalEnergyConsumption`` itself and snapshots the proxy's ledger, then
compares:

* ledger: GPU energy the proxy measured over the load window against the counter's delta;
* receipts: the final receipts' GPU energy + the fleet's unamortised idle and unattributed GPU energy
  against the same (conservation) and their provisional values (in the responses) against the finals.

Without a GPU (this 2-core dev machine) it runs the tiny model on CPU and the proxy meters CPU and RAM
(estimated): everything but the direct counter comparison. Bounded: stops after ``--max-seconds``.
Results go to ``$OUT`` (or ``--out``) as JSON, with a table printed last.

    python benchmarks/proxy_gpu_check.py                  # auto: gpt2-large on CUDA if present, else tiny
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path

import httpx

from wattprint.serve.testing import free_port, proxy_command, running_process, upstream_command

WORDS = "energy carbon model token request power grid inference watt joule latency batch".split()
T0 = time.monotonic()


def say(msg: str) -> None:
    """A progress line, flushed at once: a run killed by ``timeout`` still shows where it was."""
    print(f"[{time.monotonic() - T0:7.1f} s] {msg}", flush=True)


def _stop_on_sigterm() -> None:
    """``timeout`` sends SIGTERM: turn it into SystemExit so the ``with`` blocks stop the server and proxy
    (by default the children would outlive this script, holding the GPU)."""
    import signal

    def handler(signum, frame):  # noqa: ARG001
        say(f"signal {signum}: stopping the server and the proxy")
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)


class GpuCounter:
    """nvmlDeviceGetTotalEnergyConsumption (mJ) of the visible GPUs, read by this script itself."""

    def __init__(self) -> None:
        self.handles = []
        try:
            import pynvml

            pynvml.nvmlInit()
            self.nvml = pynvml
            import os

            from wattprint.meter.visible import select

            # exactly the GPUs the proxy's meter counts ("visible": CUDA_VISIBLE_DEVICES through UUIDs);
            # summing every GPU of the box would add other jobs' energy (the 2026-11-28 H200 run did)
            chosen, _ = select(pynvml, "visible", os.environ)
            self.handles = [d.handle for d in chosen]
            self.names = [d.name for d in chosen]
            self.uuids = [d.uuid for d in chosen]
        except Exception as e:  # no driver here: reported, the rest of the check still runs
            self.error = f"{type(e).__name__}: {e}"

    def read_j(self) -> float | None:
        if not self.handles:
            return None
        return sum(self.nvml.nvmlDeviceGetTotalEnergyConsumption(h) for h in self.handles) / 1000.0


def gpu_part(by_component: dict[str, dict[str, float]], name: str) -> float:
    return sum(v for k, v in by_component[name].items() if k.startswith("gpu"))


async def one(client: httpx.AsyncClient, rng: random.Random) -> dict:
    prompt = " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 80)))  # < 600 bytes: fits 1024 positions
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": rng.randint(16, 128)}
    if rng.random() < 0.5:
        body["stream"] = True
        async with client.stream("POST", "/v1/chat/completions", json=body) as r:
            receipt = None
            async for line in r.aiter_lines():
                if line.startswith(": wattprint "):
                    receipt = json.loads(line[len(": wattprint "):])
        return {"stream": True, "status": r.status_code, "receipt": receipt, "max_tokens": body["max_tokens"],
                "id": r.headers.get("x-wattprint-request-id")}
    r = await client.post("/v1/chat/completions", json=body)
    return {"stream": False, "status": r.status_code, "receipt": r.json().get("wattprint"),
            "max_tokens": body["max_tokens"], "id": r.headers.get("x-wattprint-request-id")}


async def load(base: str, n: int, clients: int, deadline: float, seed: int) -> list[dict]:
    rng = random.Random(seed)
    out: list[dict] = []
    started = 0
    async with httpx.AsyncClient(base_url=base, timeout=300, trust_env=False) as client:
        async def worker() -> None:
            nonlocal started
            while started < n and time.monotonic() < deadline:
                started += 1
                out.append(await one(client, rng))

        async def progress() -> None:
            while True:
                await asyncio.sleep(5.0)
                late = " (no new requests: past --max-seconds, waiting for those in flight)" \
                    if time.monotonic() >= deadline else ""
                say(f"load: {len(out)} done of {started} started{late}")

        reporter = asyncio.ensure_future(progress())
        try:
            await asyncio.gather(*[worker() for _ in range(clients)])
        finally:
            reporter.cancel()
    return out


def settle(base: str, ids: list[str], timeout_s: float = 60.0) -> dict[str, dict]:
    finals: dict[str, dict] = {}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=base, timeout=10, trust_env=False) as c:
        while len(finals) < len(ids) and time.monotonic() < deadline:
            for rid in ids:
                if rid not in finals:
                    r = c.get(f"/wattprint/receipts/{rid}")
                    if r.status_code == 200:
                        finals[rid] = r.json()
            time.sleep(0.2)
    return finals


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="auto", help="auto, tiny or gpt2-large")
    ap.add_argument("--requests", type=int, default=48)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--max-seconds", type=float, default=75.0,
                    help="start no new request after this long; those in flight then still finish (with gpt2-large "
                    "on an H200 that tail and the start-up added ~35 s: wall 85 s for 50 s)")
    ap.add_argument("--idle-seconds", type=float, default=5.0)
    ap.add_argument("--out", default=os.environ.get("OUT", "."))
    args = ap.parse_args()
    _stop_on_sigterm()
    say("reading the GPU counter (NVML)")
    counter = GpuCounter()
    on_gpu = bool(counter.handles)
    model = args.model if args.model != "auto" else ("gpt2-large" if on_gpu else "tiny")
    up, px = free_port(), free_port()
    upstream, proxy = f"http://127.0.0.1:{up}", f"http://127.0.0.1:{px}"
    env = {"WATTPRINT_TEST_MODEL": model, "WATTPRINT_TEST_DEVICE": "cuda" if on_gpu else "cpu",
           "WATTPRINT_TEST_DTYPE": "float16" if on_gpu else "float32"}
    up_cmd = upstream_command("wattprint.serve.testing:model_app_from_env", up)
    px_cmd = proxy_command(upstream, px, "--gpu", "visible" if on_gpu else "none", "--idle-seconds",
                           str(args.idle_seconds), "--idle-policy", "even", "--interval", "0.1")
    device = ([f"{n} {u}" for n, u in zip(counter.names, counter.uuids)] if on_gpu
              else "cpu (no NVML: " + counter.error + ")")
    res: dict = {"model": model, "device": device, "requests_asked": args.requests, "clients": args.clients}
    t_start = time.monotonic()
    say(f"{res['device']}; model {model}; starting the server on :{up} (loads the model; log in $TMPDIR)")
    with running_process(up_cmd, upstream + "/v1/models", env):
        say(f"server ready; starting the proxy on :{px}")
        with running_process(px_cmd, proxy + "/wattprint/totals"):
            say("proxy ready; warm-up request")
            # warm-up (CUDA kernels), not counted
            with httpx.Client(base_url=proxy, timeout=120, trust_env=False) as c:
                warm = {"messages": [{"role": "user", "content": "warm"}], "max_tokens": 8}
                c.post("/v1/chat/completions", json=warm)
                time.sleep(1.0)
                s0, c0, t0 = c.get("/wattprint/totals").json(), counter.read_j(), time.monotonic()
            say(f"load: {args.requests} requests, {args.clients} clients, new requests for at most "
                f"{args.max_seconds:g} s (those in flight then still finish)")
            results = asyncio.run(load(proxy, args.requests, args.clients, time.monotonic() + args.max_seconds, 7))
            ids = [r["id"] for r in results if r["id"]]  # every accounted request, errors included
            say(f"load done: {len(results)} requests in {time.monotonic() - t0:.1f} s; "
                f"waiting for {len(ids)} final receipts")
            finals = settle(proxy, ids)
            say(f"{len(finals)} of {len(ids)} receipts final")
            time.sleep(0.3)
            with httpx.Client(base_url=proxy, timeout=30, trust_env=False) as c:
                s1, c1, t1 = c.get("/wattprint/totals").json(), counter.read_j(), time.monotonic()
    res.update(summarise(results, finals, s0, s1, c0, c1, t1 - t0, on_gpu))
    res["wall_s"] = time.monotonic() - t_start
    Path(args.out).mkdir(parents=True, exist_ok=True)
    path = Path(args.out) / "proxy_gpu_check.json"
    path.write_text(json.dumps(res, indent=2))
    print_table(res, path)
    return 0


def summarise(results, finals, s0, s1, c0, c1, window_s, on_gpu) -> dict:
    d = {k: {key: s1["by_component"][k].get(key, 0.0) - s0["by_component"][k].get(key, 0.0)
             for key in s1["by_component"][k]} for k in s1["by_component"]}
    part = (lambda name: gpu_part(d, name)) if on_gpu else (lambda name: sum(d[name].values()))
    receipts_final = sum(f["by_kind_j"].get("gpu", 0.0) if on_gpu else f["energy_j"] for f in finals.values())
    missing = sum(1 for r in results if r["id"] and r["id"] not in finals)
    receipts_prov = sum((r["receipt"]["by_kind_j"].get("gpu", 0.0) if on_gpu else r["receipt"]["energy_j"])
                        for r in results if r["receipt"] and r["receipt"]["id"] in finals)
    fleet = part("idle_unamortised_j") + part("unattributed_j")
    measured = part("measured_j")
    tokens = sum(f["prompt_tokens"] + f["completion_tokens"] for f in finals.values())
    out = {"requests_done": len(results), "ok": sum(r["status"] == 200 for r in results),
           "with_receipt": sum(bool(r["receipt"]) for r in results), "settled": len(finals),
           "not_settled": missing,
           "window_s": window_s, "scope": "gpu" if on_gpu else "cpu+ram (estimated)",
           "ledger_measured_j": measured, "receipts_final_j": receipts_final,
           "receipts_provisional_j": receipts_prov, "fleet_idle_and_unattributed_j": fleet,
           "conservation_rel_error": (receipts_final + fleet - measured) / measured if measured else None,
           "provisional_vs_final_rel": (receipts_prov - receipts_final) / receipts_final if receipts_final else None,
           "j_per_token_mean": receipts_final / tokens if tokens else None}
    if on_gpu and c0 is not None:
        counter_j = c1 - c0
        out.update({"counter_j": counter_j, "ledger_vs_counter_rel": (measured - counter_j) / counter_j,
                    "receipts_plus_fleet_vs_counter_rel": (receipts_final + fleet - counter_j) / counter_j,
                    "edge_bound_rel": 0.2 * (counter_j / window_s) / counter_j})
    return out


def print_table(res: dict, path: Path) -> None:
    print(f"\nwattprint proxy GPU check: {res['model']} on {res['device']}; {res['clients']} clients")
    keys = ["requests_done", "ok", "with_receipt", "settled", "not_settled", "window_s", "scope", "counter_j",
            "ledger_measured_j", "ledger_vs_counter_rel", "receipts_final_j", "fleet_idle_and_unattributed_j",
            "receipts_plus_fleet_vs_counter_rel", "conservation_rel_error", "receipts_provisional_j",
            "provisional_vs_final_rel", "j_per_token_mean", "edge_bound_rel", "wall_s"]
    for k in keys:
        if k in res:
            v = res[k]
            print(f"  {k:36} {v:.6g}" if isinstance(v, float) else f"  {k:36} {v}")
    print(f"  results: {path}")


if __name__ == "__main__":
    sys.exit(main())
