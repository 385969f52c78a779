"""Property-based checks (hypothesis): what an upstream or a client may send never makes the proxy answer
something else, duplicate a receipt or let a spoofed receipt through; number flags are finite or refused."""

from __future__ import annotations

import argparse
import json
import math

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from wattprint.meter.sim.traces import Constant
from wattprint.serve.receipt import take_json_member
from wattprint.serve.testing import running_proxy, serve_in_thread, sim_gpu_meter

JSON_SCALARS = st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False,
                                                                                  allow_infinity=False) | st.text()
JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                              max_size=4), max_leaves=12)
HEADER_NAME = st.from_regex(r"\A[a-z][a-z0-9-]{0,20}\Z") | st.from_regex(r"\Ax-wattprint-[a-z0-9-]{1,16}\Z")
HEADER_VALUE = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=30)


@given(obj=st.dictionaries(st.text().filter(lambda k: k != "wattprint"), JSON, max_size=6),
       theirs=JSON, where=st.integers(0, 6), compact=st.booleans())
def test_take_json_member_moves_exactly_the_upstream_receipt(obj, theirs, where, compact):
    items = list(obj.items())
    items.insert(min(where, len(items)), ("wattprint", theirs))
    sep = (",", ":") if compact else (", ", ": ")
    body = json.dumps(dict(items), separators=sep).encode()
    rest, got = take_json_member(body)
    assert got == theirs and json.loads(rest) == obj
    if items[-1][0] == "wattprint":  # where a proxy puts it: the bytes before it are kept as they were
        cut = body[:body.rindex(b'"wattprint"')].rstrip()
        assert rest.startswith(cut.rstrip(b",") if obj else cut)
    assert take_json_member(rest) == (rest, None)


@given(text=st.floats().map(repr) | st.text(max_size=8))
def test_number_flags_are_finite_in_range_or_refused(text):
    from wattprint.cli.proxy import _number

    for low_ok in (True, False):
        parse = _number("--x", 0, low_ok, "1")
        try:
            value = parse(text)
        except argparse.ArgumentTypeError as e:
            assert "e.g. --x 1" in str(e)
        else:
            assert math.isfinite(value) and (value >= 0 if low_ok else value > 0)


async def _echo_upstream(scope, receive, send):
    """Answers a chat completion with the headers and "wattprint" member the request asks for."""
    if scope["type"] != "http":
        return
    body, more = b"", True
    while more:
        msg = await receive()
        body += msg.get("body", b"")
        more = msg.get("more_body", False)
    try:
        req = json.loads(body)
        assert isinstance(req, dict)
    except (ValueError, AssertionError):
        out = b'{"error": {"message": "bad request", "code": 400}}'
        await send({"type": "http.response.start", "status": 400, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": out})
        return
    answer = {"id": "e", "choices": [], "usage": {"prompt_tokens": 2, "completion_tokens": 3}}
    if "member" in req:
        answer["wattprint"] = req["member"]
    out = json.dumps(answer).encode()
    headers = [(k.encode(), v.encode()) for k, v in req.get("headers", [])]
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")] + headers})
    await send({"type": "http.response.body", "body": out})


@pytest.fixture(scope="module")
def echo_proxy():
    meter = sim_gpu_meter(Constant(200.0))
    try:
        with serve_in_thread(_echo_upstream) as up, running_proxy(up, meter) as (url, acct, _):
            with httpx.Client(base_url=url, timeout=30) as client:
                yield client
    finally:
        meter.close()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(headers=st.lists(st.tuples(HEADER_NAME, HEADER_VALUE), max_size=5), member=st.none() | JSON)
def test_upstream_headers_and_members_never_pass_as_ours(echo_proxy, headers, member):
    req = {"messages": [{"role": "user", "content": "hi"}], "headers": headers}
    if member is not None:
        req["member"] = member
    r = echo_proxy.post("/v1/chat/completions", json=req)
    assert r.status_code == 200
    ours = r.json()["wattprint"]
    top = json.loads(r.content, object_pairs_hook=lambda pairs: pairs)  # duplicate keys kept
    assert [k for k, _ in top].count("wattprint") == 1
    assert ours.get("upstream") == member
    for name in ("x-wattprint-request-id", "x-wattprint-energy-j", "x-wattprint-final"):
        assert len(r.headers.get_list(name)) == 1
    assert r.headers["x-wattprint-request-id"] == ours["id"] and float(r.headers["x-wattprint-energy-j"]) >= 0
    for name, value in headers:
        if name.startswith("x-wattprint-"):
            renamed = "x-wattprint-upstream-" + name[len("x-wattprint-"):]
            assert value in r.headers.get_list(renamed)
            assert value not in r.headers.get_list(name) or name.startswith("x-wattprint-upstream-")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=300) | JSON.map(lambda v: json.dumps(v).encode()),
       path=st.sampled_from(["/v1/chat/completions", "/v1/completions", "/v1/embeddings", "/x/v1/completions"]),
       headers=st.lists(st.tuples(HEADER_NAME.filter(lambda n: n not in ("content-length", "transfer-encoding",
                                                                         "host", "connection", "expect")),
                                  HEADER_VALUE), max_size=4))
def test_any_request_gets_the_upstreams_answer_and_a_receipt(echo_proxy, body, path, headers):
    r = echo_proxy.post(path, content=body, headers=headers)
    try:
        valid = isinstance(json.loads(body), dict)
    except (ValueError, UnicodeDecodeError):
        valid = False
    assert r.status_code == (200 if valid else 400)
    assert "x-wattprint-request-id" in r.headers  # every inference route is accounted, whatever its body
    if valid:
        assert r.json()["usage"] == {"prompt_tokens": 2, "completion_tokens": 3}
    else:
        assert r.json() == {"error": {"message": "bad request", "code": 400}}  # byte for byte, no member
