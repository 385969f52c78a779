"""Receipts that can be trusted: an upstream's receipts kept apart (chained proxies nest), unguessable ids,
a token for the proxy's own paths, and what a client can read of the proxy's set-up."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from wattprint.meter.sim.traces import Constant
from wattprint.serve.accountant import Accountant
from wattprint.serve.proxy import ProxyConfig, build_app
from wattprint.serve.receipt import parse_sse_comment
from wattprint.serve.testing import running_proxy, serve_in_thread, sim_gpu_meter

CHAT = {"messages": [{"role": "user", "content": "Why is the sky blue?"}], "max_tokens": 6}


@pytest.fixture
def meters():
    made = []

    def make(watts=200.0):
        m = sim_gpu_meter(Constant(watts))
        made.append(m)
        return m

    yield make
    for m in made:
        m.close()


def test_chained_proxies_nest_receipts_never_duplicate(upstream, meters, helpers):
    """client -> outer proxy -> inner proxy -> model: one receipt per response (one member, one SSE
    comment, one value per header), the inner proxy's under ``upstream`` and in x-wattprint-upstream-*."""
    with running_proxy(upstream, meters()) as (inner, _, _), running_proxy(inner, meters()) as (outer, _, _):
        with httpx.Client(base_url=outer, timeout=30) as c:
            r = c.post("/v1/chat/completions", json=CHAT)
            with c.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as s:
                lines = list(s.iter_lines())
                sse_headers = s.headers
    assert r.status_code == 200 and r.content.count(b'"wattprint"') == 1
    mine = r.json()["wattprint"]
    theirs = mine["upstream"]
    assert theirs["id"] != mine["id"] and "upstream" not in theirs and theirs["energy_j"] > 0
    assert r.headers["x-wattprint-request-id"] == mine["id"]
    assert r.headers["x-wattprint-upstream-request-id"] == theirs["id"]
    assert float(r.headers["x-wattprint-energy-j"]) == pytest.approx(mine["energy_j"], rel=1e-5)  # one value
    assert float(r.headers["x-wattprint-upstream-energy-j"]) == pytest.approx(theirs["energy_j"], rel=1e-5)
    assert r.json()["choices"][0]["message"]["content"]  # the model's answer, untouched
    data, receipt, comments = helpers.read_sse(lines)
    assert len(comments) == 1 and data[-1] == "[DONE]" and [x for x in lines if x][-2:] == [comments[0], "data: [DONE]"]
    assert receipt["id"] == sse_headers["x-wattprint-request-id"]
    assert receipt["upstream"]["id"] == sse_headers["x-wattprint-upstream-request-id"]


def test_upstream_receipt_headers_and_members_are_kept_apart(raw_upstream, read_request_fn, meters):
    """An upstream that sends x-wattprint-* headers and a "wattprint" member of its own (a spoof, or a
    proxy): the client reads the proxy's values; the upstream's are renamed or moved under "upstream"."""
    spoof = {"id": "wp-1", "energy_j": 0.0, "final": True}
    body = json.dumps({"id": "c", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 2},
                       "wattprint": spoof}).encode()

    async def handler(reader, writer):
        while not reader.at_eof():
            try:
                await read_request_fn(reader)
            except Exception:  # the proxy closed its connection
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nx-wattprint-energy-j: 0\r\n"
                         b"x-wattprint-final: true\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body))
            await writer.drain()

    with running_proxy(raw_upstream(handler), meters()) as (url, acct, _):
        with httpx.Client(base_url=url, timeout=30) as c:
            r = c.post("/v1/chat/completions", json=CHAT)
    got = r.json()
    assert r.content.count(b'"wattprint"') == 1 and got["wattprint"]["upstream"] == spoof
    assert got["wattprint"]["id"] != "wp-1" and got["usage"]["completion_tokens"] == 2
    assert r.content.startswith(body[:body.index(b', "wattprint"')])  # the upstream's bytes before it, unchanged
    assert r.headers.get_list("x-wattprint-energy-j") == [r.headers["x-wattprint-energy-j"]]
    assert float(r.headers["x-wattprint-energy-j"]) == pytest.approx(got["wattprint"]["energy_j"], rel=1e-5)
    assert r.headers["x-wattprint-final"] == "false" and r.headers["x-wattprint-upstream-final"] == "true"
    assert r.headers["x-wattprint-upstream-energy-j"] == "0"


def test_receipt_ids_are_unguessable(meters):
    """Ids carry at least 96 random bits: no shared stem, no counter (anyone could else read the
    receipts of others by counting)."""
    with Accountant.from_meter(meters()) as acct:
        ids = [acct.open("chat").id for _ in range(200)]
    assert len(set(ids)) == 200 and all(re.fullmatch(r"wp-[A-Za-z0-9_-]{16,}", i) for i in ids)
    stems = {i[3:11] for i in ids}
    assert len(stems) == 200  # the first 8 random characters already differ


def test_token_guards_the_proxy_paths_only(upstream, meters):
    with Accountant.from_meter(meters()) as acct:
        from wattprint.serve.metrics import ServeMetrics

        app = build_app(acct, ProxyConfig(upstream, token="s3cret-token"), ServeMetrics())
        with serve_in_thread(app, proxy=True) as url, httpx.Client(base_url=url, timeout=30) as c:
            r = c.post("/v1/chat/completions", json=CHAT)  # the upstream's own paths need no token of ours
            rid = r.json()["wattprint"]["id"]
            paths = ["/metrics", "/wattprint/totals", f"/wattprint/receipts/{rid}"]
            anonymous = [c.get(p) for p in paths]
            wrong = [c.get(p, headers={"authorization": "Bearer s3cret-tokem"}) for p in paths]
            right = [c.get(p, headers={"authorization": "Bearer s3cret-token"}) for p in paths]
            models = c.get("/v1/models")
    assert r.status_code == 200 and models.status_code == 200
    assert [a.status_code for a in anonymous] == [401] * 3 and [w.status_code for w in wrong] == [401] * 3
    assert anonymous[0].headers["www-authenticate"] == "Bearer" and "token" in anonymous[0].json()["error"]["message"]
    assert right[0].status_code == 200 and b"wattprint_energy_joules_total" in right[0].content
    assert right[1].status_code == 200 and right[2].status_code in (200, 404)  # 404: not final yet


def test_metrics_path_without_slash_is_served_there(upstream, meters):
    """--metrics-path metrics means /metrics (it used to be compared with the path as given, and hid)."""
    from wattprint.serve.metrics import ServeMetrics

    config = ProxyConfig(upstream, metrics_path="prom")
    assert config.metrics_path == "/prom"
    with Accountant.from_meter(meters()) as acct:
        with serve_in_thread(build_app(acct, config, ServeMetrics()), proxy=True) as url:
            r = httpx.get(url + "/prom", timeout=10)
    assert r.status_code == 200 and b"wattprint_power_watts" in r.content


@pytest.mark.parametrize("path", ["", "/", "/wattprint/metrics", "/m?x=1", "/a b"])
def test_unusable_metrics_paths_are_refused(path):
    from wattprint.core.errors import ConfigError

    with pytest.raises(ConfigError) as e:
        ProxyConfig("http://127.0.0.1:1", metrics_path=path)
    assert e.value.fix and "--metrics-path" in e.value.fix


def test_sse_comment_reader_ignores_other_comments():
    assert parse_sse_comment(': wattprint {"id": "x"}') == {"id": "x"}
    assert parse_sse_comment(': wattprint-upstream {"id": "x"}') is None and parse_sse_comment(": ping") is None


def test_token_scheme_is_case_insensitive(upstream, meters):
    """The auth scheme is matched case-insensitively (RFC 9110 section 11.1), the token exactly."""
    with Accountant.from_meter(meters()) as acct:
        app = build_app(acct, ProxyConfig(upstream, token="s3cret-token"))
        with serve_in_thread(app, proxy=True) as url, httpx.Client(base_url=url, timeout=30) as c:
            codes = {given: c.get("/wattprint/totals", headers={"authorization": given}).status_code
                     for given in ("bearer s3cret-token", "BEARER s3cret-token", "Bearer  s3cret-token",
                                   "bearer S3CRET-TOKEN", "Basic s3cret-token", "s3cret-token",
                                   "Bearer", "Bearers3cret-token", "Bearer s3cret-token x")}
    assert codes == {"bearer s3cret-token": 200, "BEARER s3cret-token": 200, "Bearer  s3cret-token": 200,
                     "bearer S3CRET-TOKEN": 401, "Basic s3cret-token": 401, "s3cret-token": 401,
                     "Bearer": 401, "Bearers3cret-token": 401, "Bearer s3cret-token x": 401}
