"""The proxy under requests and upstreams of unexpected shape, clients that leave early or linger, and
its limits: what reaches the upstream, what the client gets, and a log without tracebacks."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time

import httpx
import pytest

from wattprint.meter.sim.traces import Constant
from wattprint.serve.accountant import Accountant
from wattprint.serve.middleware import WattprintMiddleware
from wattprint.serve.proxy import ProxyConfig, build_app
from wattprint.serve.testing import serve_in_thread, sim_gpu_meter

DEEP = b'{"messages": [{"role": "user", "content": ' + b"[" * 1000 + b"]" * 1000 + b"}]}"
ODD_BODIES = [b'{"messages": 5}', b"true", b"1.5", b"[" * 1000 + b"]" * 1000, DEEP,
              b'{"messages": [{"content": ' + b"[" * 900 + b'"x"' + b"]" * 900 + b"}]}"]


@pytest.fixture
def meter():
    m = sim_gpu_meter(Constant(300.0))
    yield m
    m.close()


@pytest.fixture
def recording_upstream(raw_upstream, read_request_fn):
    """An upstream that keeps each request (head, body) and answers 400 with a JSON error."""
    got: list[tuple[bytes, bytes]] = []
    answer = b'{"error": {"message": "bad request", "type": "invalid_request_error"}}'

    async def handler(reader, writer):
        try:
            while True:
                head, body = await read_request_fn(reader)
                got.append((head, body))
                writer.write(b"HTTP/1.1 400 Bad Request\r\ncontent-type: application/json\r\n"
                             b"content-length: %d\r\n\r\n%s" % (len(answer), answer))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return raw_upstream(handler), got, answer


def no_traceback(caplog) -> None:
    bad = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not bad, [r.getMessage() for r in bad]


def test_odd_json_is_forwarded_as_it_is(recording_upstream, meter, caplog):
    """Valid JSON of another shape, or nested past the recursion limit: forwarded unchanged, the upstream's
    answer comes back, and the request is accounted (no prompt tokens)."""
    caplog.set_level(logging.INFO)
    up, got, answer = recording_upstream
    with Accountant.from_meter(meter) as acct:
        with serve_in_thread(build_app(acct, ProxyConfig(up)), proxy=True) as url, \
                httpx.Client(base_url=url, timeout=30) as c:
            replies = [c.post("/v1/chat/completions", content=b, headers={"content-type": "application/json"})
                       for b in ODD_BODIES]
    assert [r.status_code for r in replies] == [400] * len(ODD_BODIES)
    assert all(r.content == answer and "x-wattprint-energy-j" in r.headers for r in replies)
    assert [body for _, body in got] == ODD_BODIES
    no_traceback(caplog)


def test_odd_json_reaches_the_apps_handler(meter, caplog):
    """Behind the middleware, the app's handler runs for the same bodies and sees them unchanged."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen = []

    async def chat(request):
        seen.append(await request.body())
        return JSONResponse({"error": {"message": "no"}}, status_code=400)

    caplog.set_level(logging.INFO)
    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    with Accountant.from_meter(meter) as acct:
        with serve_in_thread(WattprintMiddleware(app, acct)) as url, httpx.Client(base_url=url, timeout=30) as c:
            replies = [c.post("/v1/chat/completions", content=b) for b in ODD_BODIES]
    assert [r.status_code for r in replies] == [400] * len(ODD_BODIES) and seen == ODD_BODIES
    assert all(json.loads(r.content)["error"]["message"] == "no" for r in replies)
    no_traceback(caplog)


def _plain_and_streamed(up: str, meter) -> tuple[httpx.Response, httpx.Response]:
    """One chat request held whole and one streamed, through a proxy in front of ``up``."""
    with Accountant.from_meter(meter) as acct:
        with serve_in_thread(build_app(acct, ProxyConfig(up)), proxy=True) as url, \
                httpx.Client(base_url=url, timeout=30) as c:
            return (c.post("/v1/chat/completions", json={"messages": []}),
                    c.post("/v1/chat/completions?stream", json={"messages": [], "stream": True}))


def test_upstream_json_nested_past_the_recursion_limit_passes(raw_upstream, read_request_fn, meter, caplog):
    """A response (JSON, or an SSE event) nested deeper than json.loads can go: relayed, with a receipt."""
    deep = b'{"usage": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    sse = b"data: " + deep + b"\n\ndata: [DONE]\n\n"

    async def handler(reader, writer):
        head, _ = await read_request_fn(reader)
        if b"stream" in head:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: %d\r\n\r\n%s"
                         % (len(sse), sse))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                         % (len(deep), deep))
        await writer.drain()
        writer.close()

    caplog.set_level(logging.INFO)
    plain, streamed = _plain_and_streamed(raw_upstream(handler), meter)
    assert plain.status_code == 200 and plain.content.startswith(deep[:-1]) and b'"wattprint":' in plain.content
    assert streamed.status_code == 200 and streamed.content.startswith(sse[:-len(b"data: [DONE]\n\n")])
    assert b": wattprint {" in streamed.content and streamed.content.endswith(b"data: [DONE]\n\n")
    no_traceback(caplog)


def test_client_leaving_before_the_response_frees_the_upstream(raw_upstream, read_request_fn, meter, caplog):
    """The upstream is still working on the request when the client hangs up: the proxy closes its
    upstream connection (the upstream stops working for nobody) and the request ends, not completed."""
    caplog.set_level(logging.INFO)
    closed = threading.Event()

    async def slow(reader, writer):
        await read_request_fn(reader)
        await reader.read()  # until the proxy closes the connection
        closed.set()
        writer.close()

    up = raw_upstream(slow)
    body = json.dumps({"messages": [{"role": "user", "content": "hi"}]}).encode()
    with Accountant.from_meter(meter) as acct:
        with serve_in_thread(build_app(acct, ProxyConfig(up)), proxy=True) as url:
            host, port = url.removeprefix("http://").split(":")
            with socket.create_connection((host, int(port))) as s:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                          b"content-length: %d\r\n\r\n%s" % (len(body), body))
                deadline = time.monotonic() + 5
                while not acct.open_requests() and time.monotonic() < deadline:
                    time.sleep(0.01)
            t0 = time.monotonic()
            assert closed.wait(5), "the upstream connection stayed open after the client left"
            deadline = time.monotonic() + 5
            while acct.open_requests() and time.monotonic() < deadline:
                time.sleep(0.02)
            assert acct.open_requests() == 0 and time.monotonic() - t0 < 3
    assert "client left before the response" in caplog.text
    no_traceback(caplog)


def test_no_free_upstream_connection_gives_503(raw_upstream, read_request_fn, meter):
    """With every upstream connection busy for longer than pool_wait_s, the next client gets 503 in
    OpenAI's error shape (not a wait without end)."""
    async def stalled(reader, writer):
        await read_request_fn(reader)
        await asyncio.sleep(30)

    up = raw_upstream(stalled)
    chat = {"messages": [{"role": "user", "content": "hi"}]}
    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(up, max_connections=1, pool_wait_s=0.3, read_timeout_s=1.5))
        with serve_in_thread(app, proxy=True) as url, httpx.Client(base_url=url, timeout=10) as c:
            first = threading.Thread(target=lambda: c.post("/v1/chat/completions", json=chat))
            first.start()
            time.sleep(0.3)
            with httpx.Client(base_url=url, timeout=10) as c2:
                r = c2.post("/v1/chat/completions", json=chat)
            first.join()
    assert r.status_code == 503 and r.headers["retry-after"] == "1"
    assert r.json()["error"]["type"] == "upstream_busy" and up.rsplit(":", 1)[1] not in r.text


def test_client_connections_are_capped(upstream, meter):
    """Past max_clients connections at once, a request is answered 503 at once."""
    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(upstream, max_clients=2))
        with serve_in_thread(app, proxy=True) as url:
            host, port = url.removeprefix("http://").split(":")
            held = [socket.create_connection((host, int(port))) for _ in range(2)]
            try:
                r = httpx.get(url + "/wattprint/totals", timeout=10)
            finally:
                for s in held:
                    s.close()
    assert r.status_code == 503


def _closed_within(sock: socket.socket, seconds: float) -> bool:
    """Whether the server closed ``sock`` within ``seconds`` (reading and dropping what it sent)."""
    sock.settimeout(seconds)
    try:
        while sock.recv(65536):
            pass
    except TimeoutError:
        return False
    except ConnectionError:
        pass
    return True


def test_lingering_clients_are_closed(upstream, meter):
    """A connection that sends nothing, one that sends its head a byte at a time, and one idle after a
    response are closed; a head past max_head_bytes gets 431."""
    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(upstream, head_timeout_s=0.6, keepalive_s=0.3, max_head_bytes=4096))
        with serve_in_thread(app, proxy=True) as url:
            addr = url.removeprefix("http://").split(":")
            where = (addr[0], int(addr[1]))
            silent = socket.create_connection(where)
            slow = socket.create_connection(where)
            t0 = time.monotonic()
            for byte in b"GET /v1/models HTTP/1.1\r\nhost: x\r\nx-a: aaaaaa":
                try:
                    slow.send(bytes([byte]))
                except OSError:
                    break
                time.sleep(0.05)
            slow_closed_after = time.monotonic() - t0
            assert _closed_within(silent, 1.0)
            with socket.create_connection(where) as kept:
                kept.sendall(b"GET /wattprint/totals HTTP/1.1\r\nhost: x\r\n\r\n")
                kept.settimeout(5)
                assert kept.recv(65536).startswith(b"HTTP/1.1 200")
                assert _closed_within(kept, 2.0)
            with socket.create_connection(where) as big:
                big.sendall(b"GET /v1/models HTTP/1.1\r\nhost: x\r\nx-big: " + b"b" * 20_000 + b"\r\n\r\n")
                big.settimeout(5)
                answer = big.recv(65536)
            with httpx.Client(base_url=url) as c:  # and the proxy still serves
                ok = c.get("/v1/models")
            silent.close()
            slow.close()
    assert slow_closed_after < 1.5
    assert answer.startswith(b"HTTP/1.1 431") and ok.status_code == 200


def test_request_trailers_are_not_forwarded(recording_upstream, meter):
    """Trailer fields of a chunked request body never become headers of the forwarded request."""
    up, got, _ = recording_upstream
    with Accountant.from_meter(meter) as acct:
        with serve_in_thread(build_app(acct, ProxyConfig(up)), proxy=True) as url:
            addr = url.removeprefix("http://").split(":")
            with socket.create_connection((addr[0], int(addr[1]))) as s:
                s.sendall(b"POST /v1/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                          b"5;ext=1\r\nhello\r\n0\r\nx-trailer: evil\r\nauthorization: Bearer evil\r\n\r\n")
                s.settimeout(5)
                answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400")
    head, body = got[0]
    assert body == b"hello" and b"x-trailer" not in head.lower() and b"evil" not in head


def test_chunked_body_past_the_limit_is_refused(recording_upstream, meter):
    """A body sent without content-length is read up to max_inspect_bytes: one byte more gets 413 and
    nothing reaches the upstream; one within it is forwarded whole."""
    up, got, _ = recording_upstream

    def chunked(n):
        yield b"x" * (n - 1)
        yield b"x"

    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(up, max_inspect_bytes=1000))
        with serve_in_thread(app, proxy=True) as url, httpx.Client(base_url=url, timeout=10) as c:
            over = c.post("/v1/completions", content=chunked(1001))
            within = c.post("/v1/completions", content=chunked(1000))
    assert over.status_code == 413 and over.json()["error"]["type"] == "request_too_large"
    assert over.headers["connection"] == "close"
    assert within.status_code == 400 and [body for _, body in got] == [b"x" * 1000]


def test_connection_named_headers_stay_on_their_hop(raw_upstream, read_request_fn, meter):
    """Headers that a Connection field names are not forwarded, either way; X-Forwarded-For is the
    client's to send on, not something the proxy's server believes about the client."""
    from wattprint.serve.proxy import ProxyApp

    heads = []

    async def handler(reader, writer):
        head, _ = await read_request_fn(reader)
        heads.append(head.lower())
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\nconnection: keep-alive, x-up-hop\r\n"
                     b"x-up-hop: 1\r\nx-up-kept: 1\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()

    clients = []

    class Recording(ProxyApp):
        async def __call__(self, scope, receive, send):
            if scope["type"] == "http":
                clients.append(scope["client"][0])
            await super().__call__(scope, receive, send)

    up = raw_upstream(handler)
    with Accountant.from_meter(meter) as acct:
        with serve_in_thread(Recording(acct, ProxyConfig(up)), proxy=True) as url:
            r = httpx.get(url + "/v1/models", timeout=10, headers={
                "connection": "keep-alive, X-Hop", "x-hop": "secret", "x-kept": "1", "x-forwarded-for": "6.6.6.6"})
    assert r.status_code == 200 and r.text == "ok"
    assert r.headers["x-up-kept"] == "1" and "x-up-hop" not in r.headers
    assert b"x-kept: 1" in heads[0] and b"x-hop" not in heads[0] and b"secret" not in heads[0]
    assert b"x-forwarded-for: 6.6.6.6" in heads[0] and clients == ["127.0.0.1"]


def _reference_events(data: bytes) -> list[bytes]:
    """Events as a search for the earliest end of each, over the whole stream, frames them."""
    out = []
    while True:
        ends = [data.find(sep) + len(sep) for sep in (b"\n\n", b"\r\n\r\n", b"\r\r") if data.find(sep) >= 0]
        if not ends:
            return out + ([data] if data else [])
        out.append(data[:min(ends)])
        data = data[min(ends):]


def test_sse_scanner_frames_any_split_in_linear_time():
    """Events come out the same whichever way the stream is cut; 16,000 events in one read take well under
    a second (scanning from the start for each event took seconds)."""
    import random

    from wattprint.serve.openai import SseScanner

    event = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}'
    rng = random.Random(7)
    stream = b"".join(event + rng.choice([b"\n\n", b"\r\n\r\n", b"\r\r", b"\n\r\n", b"\r\n\n"])
                      for _ in range(300)) + b"data: [DONE]\n\n"
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(stream)), 40))
        scanner = SseScanner()
        got = [raw for a, b in zip([0, *cuts], [*cuts, len(stream)]) for raw, _, _ in scanner.feed(stream[a:b])]
        assert got + ([scanner.rest()] if scanner._buf else []) == _reference_events(stream)
        assert scanner.done
    scanner = SseScanner()
    t0 = time.perf_counter()
    events = scanner.feed((event + b"\n\n") * 16_000)
    assert time.perf_counter() - t0 < 1.0 and len(events) == 16_000 and scanner.tokens == 16_000


def test_sse_event_past_the_bound_passes_unread(caplog):
    """An unfinished event past max_event_bytes is passed on as it comes (not held), byte for byte; the
    events after it are read again; the log says so once."""
    from wattprint.serve.openai import SseScanner

    caplog.set_level(logging.WARNING)
    event = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'
    huge = b'data: {"choices":[{"index":0,"delta":{"content":"' + b"y" * 50_000 + b'"}}]}\r\n\r\n'
    stream = event + huge + event + huge + event + b"data: [DONE]\n\n"
    scanner = SseScanner(max_event_bytes=4096)
    out, held = [], 0
    for i in range(0, len(stream), 1000):
        out += scanner.feed(stream[i:i + 1000])
        held = max(held, len(scanner._buf))
    assert b"".join(raw for raw, _, _ in out) + scanner.rest() == stream
    assert held <= 4096 + 1000 and scanner.tokens == 3 and scanner.done and scanner.oversized == 2
    assert caplog.text.count("passed on unread") == 1


@pytest.mark.parametrize("stream", [False, True], ids=["held-json", "sse"])
def test_upstream_stalling_mid_body_is_a_timeout(raw_upstream, read_request_fn, meter, stream):
    """The upstream sends its head and part of its body, then nothing: a held body gets 504
    upstream_timeout (not 502), a stream ends with an upstream_timeout error event, code 504."""
    event = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'

    async def stalls(reader, writer):
        await read_request_fn(reader)
        if stream:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n"
                         b"\r\n%x\r\n%s\r\n" % (len(event), event))
        else:
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"a\":")
        await writer.drain()
        await asyncio.sleep(30)

    up = raw_upstream(stalls)
    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(up, read_timeout_s=0.4))
        with serve_in_thread(app, proxy=True) as url, httpx.Client(base_url=url, timeout=10) as c:
            r = c.post("/v1/chat/completions", json={"messages": [], "stream": stream})
    if stream:
        data = [json.loads(line[5:]) for line in r.text.splitlines() if line.startswith("data:")]
        assert r.status_code == 200 and data[-1]["error"]["type"] == "upstream_timeout"
        assert data[-1]["error"]["code"] == 504 and "timed out" in data[-1]["error"]["message"]
    else:
        assert r.status_code == 504 and r.json()["error"]["type"] == "upstream_timeout"


def test_upstream_receipts_in_errors_and_bad_comments_never_pass_as_ours(raw_upstream, read_request_fn, meter):
    """A 4xx JSON body with a "wattprint" member: it moves under our receipt's "upstream" (one receipt in
    the body, ours). A stream's ": wattprint" comments that hold no receipt are dropped, not passed on."""
    from wattprint.serve.receipt import parse_sse_comment

    error = b'{"error":{"message":"x"},"wattprint":{"energy_j":0,"id":"wp-fake"}}'
    sse = (b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n: wattprint {"energy_j":0,"id":"wp-fake"}\n\n'
           b": wattprint not-json\n\n:wattprint\n\n: wattprints are kept\n\ndata: [DONE]\n\n")

    async def handler(reader, writer):
        head, _ = await read_request_fn(reader)
        streamed = b"stream" in head
        ctype, body, status = (b"text/event-stream", sse, 200) if streamed else (b"application/json", error, 400)
        writer.write(b"HTTP/1.1 %d X\r\ncontent-type: %s\r\ncontent-length: %d\r\nconnection: close\r\n\r\n%s"
                     % (status, ctype, len(body), body))
        await writer.drain()
        writer.close()

    bad, streamed = _plain_and_streamed(raw_upstream(handler), meter)
    assert bad.status_code == 400 and bad.content.count(b'"wattprint"') == 1
    mine = bad.json()["wattprint"]
    assert mine["id"] == bad.headers["x-wattprint-request-id"] and mine["upstream"]["id"] == "wp-fake"
    assert bad.json()["error"] == {"message": "x"}
    comments = [line for line in streamed.text.splitlines() if line.startswith(":")]
    assert comments[0] == ": wattprints are kept" and len(comments) == 2
    receipt = parse_sse_comment(comments[1])
    assert receipt["id"] == streamed.headers["x-wattprint-request-id"] and receipt["upstream"]["id"] == "wp-fake"
    assert parse_sse_comment(": wattprint not-json") is None and parse_sse_comment(": wattprint [1]") is None


@pytest.mark.parametrize("head, pieces", [
    (b"content-length: 100\r\n", [b'{"messages": ', b"[]"]),
    (b"transfer-encoding: chunked\r\n", [b"5\r\nhello\r\n", b"1\r\n!\r\n"]),
], ids=["content-length", "chunked"])
def test_a_body_that_trickles_in_gets_408(recording_upstream, meter, head, pieces):
    """A client that sends its head, then its body a piece at a time and never all of it, gets 408
    request_timeout once body_timeout_s has passed, and the connection closes; nothing is forwarded."""
    up, got, _ = recording_upstream
    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(up, body_timeout_s=0.8))
        with serve_in_thread(app, proxy=True) as url:
            addr = url.removeprefix("http://").split(":")
            with socket.create_connection((addr[0], int(addr[1]))) as s:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                          + head + b"\r\n")
                for piece in pieces:  # half a piece every 0.15 s, for 0.6 s, then nothing more
                    for half in (piece[:len(piece) // 2], piece[len(piece) // 2:]):
                        s.sendall(half)
                        time.sleep(0.15)
                s.settimeout(10)  # without a deadline: no answer, ever
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
    status, _, rest = answer.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout" and b"connection: close" in headers.lower()
    assert json.loads(body)["error"]["type"] == "request_timeout" and got == []


def test_a_streamed_body_that_stalls_gets_408_and_frees_the_upstream(raw_upstream, meter, caplog):
    """A body declared past max_inspect_bytes streams to the upstream unread; when the client stops sending
    it for body_timeout_s, the upstream connection is closed (it saw part of the body, then its end), the
    client gets 408 request_timeout and the connection closes, and the request ends as not completed."""
    caplog.set_level(logging.INFO)
    seen: list[bytes] = []
    closed = threading.Event()

    async def handler(reader, writer):
        data = b""
        while chunk := await reader.read(65536):  # never answers: it waits for the rest of the body
            data += chunk
        seen.append(data)
        closed.set()
        writer.close()

    up = raw_upstream(handler)
    with Accountant.from_meter(meter) as acct:
        app = build_app(acct, ProxyConfig(up, max_inspect_bytes=10, body_timeout_s=0.8))
        with serve_in_thread(app, proxy=True) as url:
            addr = url.removeprefix("http://").split(":")
            with socket.create_connection((addr[0], int(addr[1]))) as s:
                s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                          b"content-length: 1000\r\n\r\n" + b"x" * 300)
                s.settimeout(10)  # without the pause limit: no answer, ever
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            assert closed.wait(5)
            open_after = acct.open_requests()
    status, _, rest = answer.partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert status == b"HTTP/1.1 408 Request Timeout" and b"connection: close" in headers.lower()
    assert json.loads(body)["error"]["type"] == "request_timeout"
    head, _, forwarded = seen[0].partition(b"\r\n\r\n")
    assert b"content-length: 1000" in head.lower() and forwarded == b"x" * 300
    assert open_after == 0
    no_traceback(caplog)


def test_middleware_passes_a_body_past_the_limit_uninspected(meter):
    """Behind the middleware, a request body is read (to estimate its prompt) up to max_inspect_bytes;
    past it the app gets what was read, then the rest as it comes: whole, not held, and still accounted.
    A declared length past the limit is not read at all."""
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    seen: list[list[int]] = []
    bodies: list[bytes] = []

    async def chat(request):
        pieces = [piece async for piece in request.stream()]
        seen.append([len(p) for p in pieces if p])
        bodies.append(b"".join(pieces))
        return JSONResponse({"choices": []})

    app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
    piece = b"x" * 400
    with Accountant.from_meter(meter) as acct:
        with serve_in_thread(WattprintMiddleware(app, acct, max_inspect_bytes=1000)) as url:
            addr = url.removeprefix("http://").split(":")
            answers = []
            for head in (b"transfer-encoding: chunked\r\n", b"content-length: 4000\r\n"):
                with socket.create_connection((addr[0], int(addr[1]))) as s:
                    s.sendall(b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nconnection: close\r\n"
                              + head + b"\r\n")
                    for _ in range(10):  # 4000 bytes in ten pieces, 50 ms apart: ten receive() messages
                        s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if b"chunked" in head else piece)
                        time.sleep(0.05)
                    if b"chunked" in head:
                        s.sendall(b"0\r\n\r\n")
                    s.settimeout(10)
                    answer = b""
                    while chunk := s.recv(65536):
                        answer += chunk
                    answers.append(answer)
    assert bodies == [piece * 10] * 2
    assert all(a.startswith(b"HTTP/1.1 200") and b"x-wattprint-request-id" in a.lower() for a in answers)
    read_first, not_read = seen
    assert 1000 < read_first[0] <= 1200 and len(read_first) > 1  # held up to the limit, then passed on
    assert not_read[0] <= 400 and len(not_read) > 1
