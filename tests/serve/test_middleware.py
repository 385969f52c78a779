"""In-process serving: the ASGI middleware and the handler counting its own tokens."""

from __future__ import annotations

import json

import httpx
import pytest

from wattprint.meter.sim.traces import Constant
from wattprint.serve.accountant import Accountant, AccountantConfig
from wattprint.serve.metrics import ServeMetrics
from wattprint.serve.middleware import WattprintMiddleware
from wattprint.serve.receipt import parse_sse_comment
from wattprint.serve.testing import build_model_app, serve_in_thread, sim_gpu_meter


def counting_app():
    """A handler that streams 5 chunks of 4 tokens each and tells the accountant exactly."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def chat(request):
        handle = request.state.wattprint

        async def events():
            for _ in range(5):
                handle.add_tokens(4)
                yield b'data: {"choices": [{"index": 0, "delta": {"content": "abcd"}}]}\n\n'
            yield b"data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])


@pytest.fixture
def accountant():
    meter = sim_gpu_meter(Constant(300.0))
    metrics = ServeMetrics()
    # a deployed service runs long before its first request: wait for the first closed interval
    acct = Accountant.from_meter(meter, AccountantConfig(interval_s=0.05), metrics=metrics).start(
        wait_first_interval=2.0)
    yield acct, metrics
    acct.close()
    meter.close()


def test_middleware_on_model_app(tiny_lm, accountant):
    acct, metrics = accountant
    app = WattprintMiddleware(build_model_app(tiny_lm), acct, metrics)
    body = {"messages": [{"role": "user", "content": "hello"}], "max_tokens": 6}
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        plain = c.post("/v1/chat/completions", json=body)
        with c.stream("POST", "/v1/chat/completions", json={**body, "stream": True}) as r:
            lines = [x for x in r.iter_lines() if x]
        models = c.get("/v1/models")
        text = c.get("/metrics").text
    obj = plain.json()
    assert obj["usage"]["completion_tokens"] == 6 and obj["wattprint"]["energy_j"] > 0
    assert int(plain.headers["content-length"]) == len(plain.content)
    assert plain.headers["x-wattprint-request-id"] == obj["wattprint"]["id"]
    receipt = parse_sse_comment(lines[-2])
    assert lines[-1] == "data: [DONE]" and receipt["completion_tokens"] == 6 and receipt["energy_j"] > 0
    assert models.status_code == 200 and "wattprint" not in models.json()  # not an inference route
    assert "wattprint_requests_total" in text


def test_handler_counts_its_own_tokens(accountant):
    acct, _ = accountant
    app = WattprintMiddleware(counting_app(), acct)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        with c.stream("POST", "/v1/chat/completions", json={"messages": [], "stream": True}) as r:
            lines = [x for x in r.iter_lines() if x]
    receipt = parse_sse_comment(lines[-2])
    assert receipt["completion_tokens"] == 20  # 5 x add_tokens(4), the stream's 5 chunks not counted again
    assert [json.loads(x[5:])["choices"][0]["delta"]["content"] for x in lines[:5]] == ["abcd"] * 5


def test_plain_python_api(accountant):
    acct, _ = accountant
    with acct.request("batch-job", prompt_tokens=100) as r:
        for _ in range(10):
            r.add_tokens(1)
    assert r.receipt.prompt_tokens == 100 and r.receipt.completion_tokens == 10
    assert r.receipt.completed and r.receipt.route == "batch-job"


def test_stream_without_done_gets_receipt_at_the_end(accountant):
    """Some servers end an SSE stream without ``data: [DONE]``: the receipt comment comes last."""
    from starlette.applications import Starlette
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    async def chat(request):
        async def events():
            for _ in range(3):
                yield b'data: {"choices": [{"index": 0, "delta": {"content": "x"}}]}\n\n'

        return StreamingResponse(events(), media_type="text/event-stream")

    acct, _ = accountant
    app = WattprintMiddleware(Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])]), acct)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=30) as c:
        with c.stream("POST", "/v1/chat/completions", json={"messages": [], "stream": True}) as r:
            lines = [x for x in r.iter_lines() if x]
    assert len(lines) == 4 and lines[:3] == ['data: {"choices": [{"index": 0, "delta": {"content": "x"}}]}'] * 3
    assert parse_sse_comment(lines[3])["completion_tokens"] == 3
