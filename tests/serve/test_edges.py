"""Proxy edges: an upstream dying mid-stream, HTTP/1.0 clients, and the command's flags (ports, paths,
timeouts, numbers that are not numbers) refused in one line with the fix."""

from __future__ import annotations

import asyncio
import json
import socket

import httpx
import pytest

from wattprint.meter.sim.traces import Constant
from wattprint.serve.testing import running_proxy, sim_gpu_meter

CHAT = {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 8, "stream": True}
EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'


@pytest.fixture
def meter():
    m = sim_gpu_meter(Constant(300.0))
    yield m
    m.close()


def test_upstream_dying_mid_stream_ends_with_an_error_event(raw_upstream, read_request_fn, meter):
    """Two events, then the upstream's connection drops (no last chunk): the client's stream ends with an
    OpenAI-style error event and the receipt, not completed and marked partial; nothing hangs."""
    async def dies(reader, writer):
        await read_request_fn(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
        for _ in range(2):
            writer.write(b"%x\r\n%s\r\n" % (len(EVENT), EVENT))
        writer.write(b"%x\r\ndata: {\"cho" % 11)  # half an event, then the connection ends
        await writer.drain()
        await asyncio.sleep(0.2)
        writer.transport.abort()

    with running_proxy(raw_upstream(dies), meter) as (url, acct, _):
        with httpx.Client(base_url=url, timeout=30) as c, c.stream("POST", "/v1/chat/completions", json=CHAT) as r:
            lines = [x for x in r.iter_lines() if x]
            rid = r.headers["x-wattprint-request-id"]
    data = [line for line in lines if line.startswith("data:")]
    assert len(data) == 3 and "[DONE]" not in lines[-1]
    error = json.loads(data[-1][5:])["error"]
    assert error["type"] == "upstream_failed" and error["code"] == 502 and "127.0.0.1" not in error["message"]
    receipt = json.loads(lines[-1][len(": wattprint "):])
    assert lines[-1].startswith(": wattprint ") and receipt["id"] == rid
    assert receipt["completed"] is False and any(w.startswith("partial") for w in receipt["warnings"])
    assert receipt["completion_tokens"] == 2 and receipt["energy_j"] > 0
    assert acct.final_receipt(rid) is None or acct.final_receipt(rid).completed is False


def _http10(url: str, body: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as s:
        s.sendall(b"POST /v1/chat/completions HTTP/1.0\r\nhost: x\r\ncontent-type: application/json\r\n"
                  b"content-length: %d\r\n\r\n%s" % (len(body), body))
        out = b""
        while chunk := s.recv(65536):  # an HTTP/1.0 body ends where the connection does
            out += chunk
    return out


def test_http10_client_gets_a_stream_it_can_read(upstream, meter):
    """HTTP/1.0 has no chunked encoding: the stream comes whole, with a content-length."""
    with running_proxy(upstream, meter) as (url, acct, _):
        raw = _http10(url, json.dumps(CHAT).encode())
    head, _, body = raw.partition(b"\r\n\r\n")
    fields = {line.split(b":", 1)[0].lower(): line.split(b":", 1)[1].strip() for line in head.split(b"\r\n")[1:]}
    assert head.startswith(b"HTTP/1.1 200") and b"transfer-encoding" not in fields
    assert int(fields[b"content-length"]) == len(body)
    events = [e for e in body.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]" and events[-2].startswith(b": wattprint ")
    tokens = [json.loads(e[5:]) for e in events if e.startswith(b"data: {")]
    assert sum(1 for t in tokens if t["choices"] and t["choices"][0]["delta"].get("content")) == 8


def _no_bind_check(monkeypatch):
    """the server (proxy.serve) is faked, so nothing listens: the proxy's check that it can bind --listen (port 9 needs
    root) is left out too."""
    from wattprint.cli import proxy

    monkeypatch.setattr(proxy, "_check_bind", lambda host, port: None)


def _run_cli(args, capsys):
    from wattprint.cli.main import main

    try:
        code = main(["proxy", "--gpu", "none", *args])
    except SystemExit as e:  # argparse
        code = e.code
    return code, capsys.readouterr().err


@pytest.mark.parametrize("args, says", [
    (["--interval", "0"], "--interval 0.1"),
    (["--interval", "nan"], "finite number > 0"),
    (["--interval=-inf"], "finite number > 0"),
    (["--prefill-weight", "-1"], "--prefill-weight 1"),
    (["--prefill-weight", "inf"], "finite number >= 0"),
    (["--idle-seconds", "nan"], "--idle-seconds 3"),
    (["--final-within", "0"], "--final-within 10"),
    (["--upstream-timeout", "NaN"], "--upstream-timeout 600"),
    (["--upstream-timeout", "abc"], "--upstream-timeout 600"),
    (["--intensity", "nan"], "--intensity"),
    (["--intensity", "-5"], "--intensity"),
    (["--pue", "inf"], "--pue"),
    (["--pue", "0.5"], "--pue 1.2"),
    (["--listen", "127.0.0.1:99999"], "a port from 1 to 65535"),
    (["--listen", "127.0.0.1:0"], "a port from 1 to 65535"),
    (["--listen", "localhost"], "--listen 127.0.0.1:8080"),
    (["--metrics-path", "/wattprint/totals"], "--metrics-path /metrics"),
])
def test_bad_flag_values_are_one_line_with_the_fix(args, says, capsys, monkeypatch):
    from wattprint.serve import proxy

    def started(*a, **kw):
        raise AssertionError("the proxy started with a bad flag")

    monkeypatch.setattr(proxy, "serve", started)
    code, err = _run_cli(["--upstream", "http://127.0.0.1:1", *args], capsys)
    assert code == 2 and says in err and "Traceback" not in err
    assert len([line for line in err.splitlines() if line.strip() and not line.startswith("usage:")
                and not line.startswith(" ")]) == 1  # one message line (argparse adds its usage)


def test_flags_reach_the_proxy(monkeypatch, capsys):
    """--upstream-timeout, --shutdown-timeout, --final-within, --metrics-path (no slash) and the token from
    the environment are what the running proxy uses; the command says where metrics are and that a token
    is needed."""
    from wattprint.serve import proxy

    seen = {}

    def fake_serve(app, host, port, **kw):
        seen.update(app=app, host=host, port=port)

    monkeypatch.setattr(proxy, "serve", fake_serve)
    _no_bind_check(monkeypatch)
    monkeypatch.setenv("WATTPRINT_PROXY_TOKEN", "from-env")
    code, err = _run_cli(["--upstream", "http://127.0.0.1:1", "--no-ram", "--idle-seconds", "0", "--upstream-timeout",
                          "42", "--shutdown-timeout", "2.5", "--final-within", "3", "--metrics-path", "prom",
                          "--listen", "127.0.0.1:9"], capsys)
    app = seen["app"]
    assert code == 0 and (seen["host"], seen["port"]) == ("127.0.0.1", 9)
    assert app.config.read_timeout_s == 42 and app.config.metrics_path == "/prom" and app.config.token == "from-env"
    assert app.config.shutdown_timeout_s == 2.5 and proxy.server_options(app.config)["timeout_graceful_shutdown"] == 2.5
    assert app.acct.config.max_lag_s == 3
    assert "metrics on /prom (token required)" in err and "warning: listening" not in err


def test_exposed_without_token_is_warned(monkeypatch, capsys):
    from wattprint.serve import proxy

    monkeypatch.setattr(proxy, "serve", lambda app, host, port, **kw: None)
    _no_bind_check(monkeypatch)
    monkeypatch.delenv("WATTPRINT_PROXY_TOKEN", raising=False)
    code, err = _run_cli(["--upstream", "http://127.0.0.1:1", "--no-ram", "--idle-seconds", "0",
                          "--listen", "0.0.0.0:9"], capsys)
    assert code == 0 and "warning: listening on 0.0.0.0" in err and "WATTPRINT_PROXY_TOKEN" in err


def test_upstream_timeout_gives_504_without_the_address(raw_upstream, read_request_fn, meter):
    from wattprint.serve.accountant import Accountant
    from wattprint.serve.proxy import ProxyConfig, build_app
    from wattprint.serve.testing import serve_in_thread

    async def silent(reader, writer):
        await read_request_fn(reader)
        await asyncio.sleep(30)

    up = raw_upstream(silent)
    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(up, read_timeout_s=0.3))
        with serve_in_thread(app, proxy=True) as url:
            r = httpx.post(url + "/v1/chat/completions", json={**CHAT, "stream": False}, timeout=10)
    assert r.status_code == 504 and r.json()["error"]["type"] == "upstream_timeout"
    assert up not in r.text and up.rsplit(":", 1)[1] not in r.text
