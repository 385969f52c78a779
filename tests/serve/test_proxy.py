"""The proxy in front of a real OpenAI-compatible server (tiny GPT-2, random weights, CPU), on loopback."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from wattprint.meter.meter import Meter
from wattprint.meter.sim.traces import Constant
from wattprint.serve.accountant import AccountantConfig
from wattprint.serve.testing import running_proxy, sim_gpu_meter

PROMPT = "Explain, briefly, why the sky looks blue during the day."


def requests_mix():
    """(name, path, body) for streamed and non-streamed chat/completions of two lengths, plus embeddings."""
    out = []
    for n in (3, 24):
        chat = {"messages": [{"role": "user", "content": PROMPT}], "max_tokens": n}
        comp = {"prompt": PROMPT, "max_tokens": n}
        out += [
            (f"chat-{n}", "/v1/chat/completions", chat),
            (f"chat-stream-{n}", "/v1/chat/completions",
             {**chat, "stream": True, "stream_options": {"include_usage": True}}),
            (f"comp-{n}", "/v1/completions", comp),
            (f"comp-stream-{n}", "/v1/completions", {**comp, "stream": True}),
        ]
    return out + [("embed", "/v1/embeddings", {"input": [PROMPT, PROMPT[:10]]})]


async def _one(client, name, path, body, helpers):
    if body.get("stream"):
        async with client.stream("POST", path, json=body) as r:
            lines = [line async for line in r.aiter_lines()]
        data, receipt, comments = helpers.read_sse(lines)
        return {"name": name, "status": r.status_code, "data": data, "receipt": receipt, "headers": r.headers,
                "comments": comments, "lines": [x for x in lines if x]}
    r = await client.post(path, json=body)
    obj = r.json()
    return {"name": name, "status": r.status_code, "body": obj, "receipt": obj.get("wattprint"),
            "headers": r.headers}


def run_mix(url, helpers, mix):
    async def go():
        async with httpx.AsyncClient(base_url=url, timeout=60) as client:
            return await asyncio.gather(*[_one(client, n, p, b, helpers) for n, p, b in mix])

    return {r["name"]: r for r in asyncio.run(go())}


def text_of(result):
    """Generated text of a response, streamed or not (to compare proxy and direct)."""
    if "body" in result:
        if "choices" not in result["body"]:  # embeddings
            return json.dumps(result["body"]["data"])
        ch = result["body"]["choices"][0]
        return ch["message"]["content"] if "message" in ch else ch["text"]
    out = []
    for d in result["data"]:
        for ch in (d.get("choices") or []) if isinstance(d, dict) else []:
            out.append((ch.get("delta") or {}).get("content") or ch.get("text") or "")
    return "".join(out)


def test_concurrent_mixed_traffic_real_cpu_meter(upstream, helpers):
    """9 concurrent requests measured by the real meter of this machine (CPU and RAM, estimated):
    receipts on every inference response, bodies as the upstream sends them, longer requests get more
    energy, and the requests' energy plus idle equals what the meter measured (relative 1e-9)."""
    mix = requests_mix()
    direct = run_mix(upstream, helpers, mix)
    with Meter(gpus=None, cpu=True, ram=True, cpu_scope="machine") as meter:
        meter.idle(0.3)
        with running_proxy(upstream, meter, AccountantConfig(interval_s=0.05, policy="even")) as (url, acct, m):
            got = run_mix(url, helpers, mix)
            with httpx.Client(base_url=url) as c:
                assert c.get("/v1/models").json()["data"][0]["id"] == "wattprint-tiny-gpt2"  # passed through
        finals = {name: acct.final_receipt(r["receipt"]["id"]) for name, r in got.items()}
        totals = acct.totals()
    for name, r in got.items():
        assert r["status"] == 200, name
        rec = r["receipt"]
        assert rec and rec["energy_j"] > 0 and rec["attribution"].startswith("token-share;idle=even"), name
        assert "cpu=estimated" in rec["method"] and "ram=estimated" in rec["method"]
        assert text_of(r) == text_of(direct[name]), name  # what the model said is untouched
        if "body" in r:  # non-streamed: same members as the upstream's plus "wattprint"; same in headers
            assert set(r["body"]) == set(direct[name]["body"]) | {"wattprint"}
            assert r["body"]["usage"] == direct[name]["body"]["usage"]
            assert float(r["headers"]["x-wattprint-energy-wh"]) == pytest.approx(rec["energy_wh"], rel=1e-5)
        else:  # streamed: the receipt is a comment just before [DONE]; the data events are the upstream's
            assert r["lines"][-2].startswith(": wattprint ") and r["lines"][-1] == "data: [DONE]"
            assert len(r["data"]) == len(direct[name]["data"])
            assert r["headers"]["x-wattprint-request-id"] == rec["id"]
    assert got["chat-stream-24"]["receipt"]["token_source"] == "usage"  # include_usage was asked
    assert got["comp-stream-24"]["receipt"]["completion_tokens"] == 24  # counted from the stream
    assert got["embed"]["receipt"]["prompt_tokens"] == got["embed"]["body"]["usage"]["prompt_tokens"]
    for kind in ("chat", "chat-stream", "comp", "comp-stream"):
        assert finals[f"{kind}-24"].energy_j > finals[f"{kind}-3"].energy_j, kind
    requests_j = sum(f.energy_j for f in finals.values())
    fleet_j = totals["idle_unamortised_j"] + totals["unattributed_j"]
    assert requests_j + fleet_j == pytest.approx(totals["measured_j"], rel=1e-9)
    assert totals["measured_j"] > 0


def test_sim_gpu_receipts_sum_to_the_counter(upstream, helpers):
    """A simulated H100 drawing a constant 300 W (100 W idle): the meter's total is 300 W x the time
    measured, and the final receipts plus the fleet's idle and unattributed energy add up to it."""
    meter = sim_gpu_meter(Constant(300.0))
    key = f"gpu:{meter.backends[0].gpus[0].sel.uuid}"
    try:
        with running_proxy(upstream, meter, AccountantConfig(interval_s=0.1, policy="proportional"),
                           idle_power_w={key: 100.0}) as (url, acct, metrics):
            got = run_mix(url, helpers, requests_mix())
        totals = acct.totals()
        finals = [acct.final_receipt(r["receipt"]["id"]) for r in got.values()]
    finally:
        meter.close()
    # the meter's own accuracy on short windows: its instant-power part is scaled by a counter/instant
    # ratio that is within its stated 3% field bias (wattprint.meter.timeline.TimelineConfig.field_bias)
    assert totals["measured_j"] == pytest.approx(300.0 * totals["measured_s"], rel=0.03)
    assert totals["idle_amortised_j"] + totals["idle_unamortised_j"] == pytest.approx(
        100.0 * totals["measured_s"], rel=1e-6)
    assert sum(f.energy_j for f in finals) + totals["idle_unamortised_j"] + totals["unattributed_j"] == \
        pytest.approx(totals["measured_j"], rel=1e-9)
    assert all(f.by_kind_j.keys() == {"gpu"} and f.method.startswith(f"{key}=") for f in finals)
    value = metrics.registry.get_sample_value
    assert value("wattprint_energy_joules_total", {"device": key, "kind": "gpu"}) == \
        pytest.approx(totals["measured_j"], rel=1e-9)
    assert value("wattprint_request_energy_joules_count", {"route": "chat.completions"}) == 4


def test_official_openai_client_ignores_receipts(upstream):
    """The openai SDK parses proxied responses as it parses the upstream's; the receipt is an extra."""
    openai = pytest.importorskip("openai")
    meter = sim_gpu_meter(Constant(200.0))
    msgs = [{"role": "user", "content": PROMPT}]
    direct = openai.OpenAI(base_url=upstream + "/v1", api_key="none")
    want = direct.chat.completions.create(model="m", messages=msgs, max_tokens=12).choices[0].message.content
    try:
        with running_proxy(upstream, meter) as (url, acct, _):
            client = openai.OpenAI(base_url=url + "/v1", api_key="none")
            resp = client.chat.completions.create(model="m", messages=msgs, max_tokens=12)
            chunks = list(client.chat.completions.create(model="m", messages=msgs, max_tokens=12, stream=True))
    finally:
        meter.close()
    assert resp.choices[0].message.content == want and resp.usage.completion_tokens == 12
    assert resp.model_extra["wattprint"]["energy_j"] > 0
    assert all(isinstance(c.choices, list) for c in chunks)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == want


def test_metrics_endpoint(upstream, helpers):
    meter = sim_gpu_meter(Constant(250.0))
    try:
        with running_proxy(upstream, meter) as (url, acct, _):
            run_mix(url, helpers, requests_mix()[:2])
            with httpx.Client(base_url=url) as c:
                for _ in range(100):  # counters follow final intervals; the request histograms, settled requests
                    text = c.get("/metrics").text
                    if acct.open_requests() == 0 and "wattprint_request_energy_joules_bucket" in text:
                        break
                    asyncio.run(asyncio.sleep(0.05))
                totals = c.get("/wattprint/totals").json()
    finally:
        meter.close()
    for family in ("wattprint_power_watts", "wattprint_energy_joules_total", "wattprint_emissions_grams_total",
                   "wattprint_request_energy_joules_bucket", "wattprint_token_energy_joules_bucket",
                   "wattprint_idle_share", "wattprint_attributed_energy_joules_total"):
        assert family in text, family
    assert totals["unit"] == "J" and totals["measured_j"] > 0
    assert json.loads(json.dumps(totals))["open_requests"] == 0


def test_query_and_headers_pass_through(helpers):
    """Method, path, query and end-to-end headers reach the upstream as the client sent them."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from wattprint.serve.testing import serve_in_thread

    async def echo(request):
        return JSONResponse({"method": request.method, "path": request.url.path, "query": request.url.query,
                             "auth": request.headers.get("authorization"), "body": (await request.body()).decode()},
                            headers={"x-upstream": "yes"})

    app = Starlette(routes=[Route("/{p:path}", echo, methods=["GET", "POST", "DELETE"])])
    meter = sim_gpu_meter(Constant(100.0))
    try:
        with serve_in_thread(app) as up, running_proxy(up, meter) as (url, acct, _):
            with httpx.Client(base_url=url) as c:
                r = c.delete("/v1/files/abc?purpose=batch&x=%20y", headers={"authorization": "Bearer k"})
                p = c.post("/v1/responses?stream=false", content=b"raw body", headers={"authorization": "Bearer k"})
    finally:
        meter.close()
    assert r.json() == {"method": "DELETE", "path": "/v1/files/abc", "query": "purpose=batch&x=%20y",
                        "auth": "Bearer k", "body": ""}
    assert r.headers["x-upstream"] == "yes" and "x-wattprint-request-id" not in r.headers  # not inference
    assert p.json()["body"] == "raw body" and p.json()["query"] == "stream=false"
