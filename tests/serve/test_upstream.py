"""The proxy's own upstream client (wattprint.serve.upstream) against scripted raw HTTP servers, and the
proxy's answers that depend on it (504, compressed and chunked bodies, hop-by-hop headers)."""

from __future__ import annotations

import asyncio
import gzip
import json
import threading
import time

import httpx
import pytest

from wattprint.meter.sim.traces import Constant
from wattprint.serve.testing import sim_gpu_meter
from wattprint.serve.upstream import UpstreamError, UpstreamPool, UpstreamTimeout


class Scripted:
    """A raw HTTP/1.1 server on loopback: ``answer(n_conn, n_req)`` returns the bytes to write for
    request ``n_req`` on connection ``n_conn`` (None: close without answering; ... : never answer)."""

    def __init__(self, answer):
        self.answer = answer
        self.raw = None  # a function giving a handler (reader, writer) to use instead, or None
        self.connections = 0
        self.requests: list[bytes] = []

    async def handle(self, reader, writer):
        raw = self.raw() if self.raw is not None else None
        if raw is not None:
            return await raw(reader, writer)
        self.connections += 1
        n_conn, n_req = self.connections, 0
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                n_req += 1
                self.requests.append(head + body)
                out = self.answer(n_conn, n_req)
                if out is None:
                    break
                if out is ...:
                    await asyncio.sleep(30)
                    break
                writer.write(out)
                await writer.drain()
                if b"connection: close" in out.lower() or b"content-length" not in out.lower() \
                        and b"chunked" not in out.lower() and not out.startswith(b"HTTP/1.1 204"):
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        writer.close()

    async def start(self):
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        return self.server.sockets[0].getsockname()[1]


def run(answer, client):
    """Start a Scripted server and run ``client(pool)`` against it in one event loop; (result, server)."""
    async def main():
        srv = Scripted(answer)
        port = await srv.start()
        pool = UpstreamPool("http", "127.0.0.1", port, connect_timeout_s=2.0, read_timeout_s=0.5)
        try:
            return await client(pool), srv
        finally:
            await pool.aclose()
            srv.server.close()

    return asyncio.run(main())


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def get(pool, method=b"GET", body=b""):
    headers = [(b"host", b"x")] + ([(b"content-length", str(len(body)).encode())] if body else [])
    r = await pool.request(method, b"/p", headers, body)
    try:
        return r.status, dict(r.headers), await r.read()
    finally:
        await r.aclose()


def test_content_length_and_keep_alive():
    async def client(pool):
        return [await get(pool, body=b"abc"), await get(pool), await get(pool)]

    (results, srv) = run(lambda c, n: ok(b"hello %d" % n, b"X-Thing: A b \r\n"), client)
    assert [r[2] for r in results] == [b"hello 1", b"hello 2", b"hello 3"]
    assert results[0][1][b"x-thing"] == b"A b"  # names lower-case, values trimmed
    assert srv.connections == 1 and srv.requests[0].endswith(b"\r\n\r\nabc")


def test_chunked_with_extensions_and_trailers():
    body = (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n0\r\nX-T: 1\r\n\r\n")

    async def client(pool):
        r = await pool.request(b"GET", b"/", [(b"host", b"x")])
        pieces = [p async for p in r.stream()]
        await r.aclose()
        return pieces, await get(pool)

    (pieces, second), srv = run(lambda c, n: body, client)
    assert pieces == [b"hello", b" ", b"world"] and second[2] == b"hello world"
    assert srv.connections == 1  # the chunked body was read whole: the connection was reused


def test_body_until_close_interim_responses_head_and_204():
    answers = {
        1: b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nconnection: close\r\n\r\nuntil the end",
        2: b"HTTP/1.1 200 OK\r\ncontent-length: 99\r\n\r\n",  # HEAD: no body despite the length
        3: b"HTTP/1.1 204 No Content\r\n\r\n",
    }

    async def client(pool):
        return [await get(pool), await get(pool, b"HEAD"), await get(pool)]

    results, srv = run(lambda c, n: answers[1] if c == 1 else answers[1 + n], client)
    assert results[0] == (200, {b"connection": b"close"}, b"until the end")
    assert results[1][:1] == (200,) and results[1][2] == b""
    assert results[2][0] == 204 and results[2][2] == b""


def test_idle_connections_expire():
    async def client(pool):
        pool.keepalive_s = 0.1
        first = await get(pool)
        await asyncio.sleep(0.2)  # past keepalive_s: the idle connection is not used again
        second = await get(pool)
        third = await get(pool)  # at once: reused
        return first, second, third, len(pool._idle)

    (first, second, third, idle), srv = run(lambda c, n: ok(b"%d" % c), client)
    assert (first[2], second[2], third[2]) == (b"1", b"2", b"2") and srv.connections == 2 and idle == 1


def test_stale_keep_alive_connection_is_retried_once():
    """The upstream closes a kept-alive connection as the next request arrives: sent again on a new one."""
    def answer(c, n):
        return None if (c, n) == (1, 2) else ok(b"fine")

    async def client(pool):
        return [await get(pool, b"POST", b"{}"), await get(pool, b"POST", b"{}")]

    results, srv = run(answer, client)
    assert [r[2] for r in results] == [b"fine", b"fine"]
    assert srv.connections == 2 and len(srv.requests) == 3


def test_fresh_connection_closed_without_answer_is_an_error():
    async def client(pool):
        with pytest.raises(UpstreamError) as e:
            await get(pool)
        return e.value

    err, srv = run(lambda c, n: None, client)
    assert not isinstance(err, UpstreamTimeout) and srv.connections == 1  # not retried: it was not reused


def test_silent_upstream_times_out_and_malformed_head_fails():
    async def client(pool):
        with pytest.raises(UpstreamTimeout):
            await get(pool)
        with pytest.raises(UpstreamError):
            await get(pool)
        return None

    _, srv = run(lambda c, n: ... if c == 1 else b"HTTP/1.1 2000 Nope\r\n\r\n", client)
    assert srv.connections == 2


def test_connection_refused():
    from wattprint.serve.testing import free_port

    async def main():
        pool = UpstreamPool("http", "127.0.0.1", free_port())
        with pytest.raises(UpstreamError):
            await pool.request(b"GET", b"/", [(b"host", b"x")])

    asyncio.run(main())


def test_https_upstream(tmp_path):
    """An https upstream through the standard library's ssl, its certificate checked against a given CA."""
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost"],
                   check=True, capture_output=True)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)

    async def main():
        srv = Scripted(lambda c, n: ok(b"secret %d" % n))
        server = await asyncio.start_server(srv.handle, "127.0.0.1", 0, ssl=server_ctx)
        port = server.sockets[0].getsockname()[1]
        trusted = ssl.create_default_context(cafile=str(cert))
        pool = UpstreamPool("https", "localhost", port, ssl_context=trusted)
        untrusted = UpstreamPool("https", "localhost", port)  # the system's CAs do not know this one
        try:
            got = [await get(pool), await get(pool)]
            with pytest.raises(UpstreamError):
                await get(untrusted)
            return got, srv.connections
        finally:
            await pool.aclose()
            server.close()

    got, connections = asyncio.run(main())
    assert [g[2] for g in got] == [b"secret 1", b"secret 2"] and connections == 1  # kept alive; refused: no handler


# ---- through the proxy ---------------------------------------------------------------------------
@pytest.fixture
def scripted_upstream():
    """A Scripted server in its own thread; yields (set the answer function, url)."""
    loop = asyncio.new_event_loop()
    holder = {"answer": lambda c, n: ok(b"{}")}
    srv = Scripted(lambda c, n: holder["answer"](c, n))
    port = loop.run_until_complete(srv.start())
    srv.raw = lambda: holder.get("handle")
    t = threading.Thread(target=loop.run_forever, daemon=True)
    t.start()
    try:
        yield holder, f"http://127.0.0.1:{port}"
    finally:
        def stop():
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.call_later(0.05, loop.stop)

        loop.call_soon_threadsafe(stop)
        t.join(5)


def test_proxy_timeout_504_compressed_chunked_and_hop_by_hop(scripted_upstream):
    from wattprint.serve.accountant import Accountant
    from wattprint.serve.proxy import ProxyConfig, build_app
    from wattprint.serve.testing import serve_in_thread

    holder, up = scripted_upstream
    payload = json.dumps({"id": "x", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 5}}).encode()
    packed = gzip.compress(payload)
    chunks = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n" \
             b"keep-alive: timeout=5\r\nx-up: 1\r\n\r\n" + b"".join(
                 b"%x\r\n%s\r\n" % (len(p), p) for p in (payload[:10], payload[10:])) + b"0\r\n\r\n"
    meter = sim_gpu_meter(Constant(200.0))
    try:
        with Accountant.from_meter(meter) as acct:
            app = build_app(acct, ProxyConfig(up, read_timeout_s=0.5))
            with serve_in_thread(app, proxy=True) as url, httpx.Client(base_url=url, timeout=10) as c:
                chat = {"messages": [{"role": "user", "content": "hi"}]}
                holder["answer"] = lambda cn, n: ok(packed, b"content-type: application/json\r\n"
                                                           b"content-encoding: gzip\r\n")
                gz = c.post("/v1/chat/completions", json=chat, headers={"accept-encoding": "gzip"})
                holder["answer"] = lambda cn, n: chunks
                ch = c.post("/v1/chat/completions", json=chat)
                holder["answer"] = lambda cn, n: ...
                slow = c.post("/v1/chat/completions", json=chat)
    finally:
        meter.close()
    assert gz.status_code == 200 and gz.headers["content-encoding"] == "gzip"
    assert gz.content == payload  # httpx decoded the untouched gzip body: no receipt member spliced in
    assert "x-wattprint-request-id" in gz.headers
    assert ch.status_code == 200 and ch.headers["x-up"] == "1" and "keep-alive" not in ch.headers
    assert ch.json()["wattprint"]["completion_tokens"] == 5 and ch.json()["usage"]["prompt_tokens"] == 3
    assert slow.status_code == 504 and slow.json()["error"]["type"] == "upstream_timeout"


@pytest.mark.parametrize("wrap_send", [False, True], ids=["uvicorn-cycle", "plain-send"])
def test_client_leaving_a_stalled_stream_is_noticed(scripted_upstream, wrap_send):
    """The upstream sends one event and then nothing; the client hangs up. The relay notices (with
    uvicorn's request cycle: through the watcher started after _WATCH_AFTER_S; with a send that hides
    the cycle: at once through the watcher) and the request ends as not completed, its energy counted."""
    from wattprint.serve.accountant import Accountant
    from wattprint.serve.proxy import ProxyConfig, build_app
    from wattprint.serve.testing import serve_in_thread

    holder, up = scripted_upstream
    event = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'
    holder["answer"] = lambda c, n: ...
    meter = sim_gpu_meter(Constant(200.0))
    try:
        with Accountant.from_meter(meter) as acct:
            app = build_app(acct, ProxyConfig(up))
            if wrap_send:
                inner = app

                async def app(scope, receive, send):  # noqa: F811
                    async def plain_send(message):
                        await send(message)

                    await inner(scope, receive, plain_send)

            async def stalled(reader, writer):  # one event, then silence until the test ends
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                             b"transfer-encoding: chunked\r\n\r\n%x\r\n%s\r\n" % (len(event), event))
                await asyncio.sleep(30)

            holder["handle"] = stalled
            with serve_in_thread(app, proxy=True) as url, httpx.Client(base_url=url, timeout=10) as c:
                body = {"messages": [{"role": "user", "content": "hi"}], "stream": True}
                with c.stream("POST", "/v1/chat/completions", json=body) as r:
                    rid = r.headers["x-wattprint-request-id"]
                    assert next(r.iter_lines()).startswith("data:")
                deadline = time.monotonic() + 10
                while acct.open_requests() and time.monotonic() < deadline:
                    time.sleep(0.05)
                assert acct.open_requests() == 0
        final = acct.final_receipt(rid)
    finally:
        meter.close()
    assert final is not None and not final.completed and final.energy_j > 0


def test_transfer_encoding_beats_content_length_and_closes_the_connection():
    """A response with both Transfer-Encoding and Content-Length (RFC 9112 section 6.3): the coding frames
    the body, and the connection is closed after it, never reused; a final coding other than chunked
    means the body ends with the connection, whatever Content-Length says."""
    answers = {
        1: b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\ntransfer-encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        2: ok(b"second"),
        3: b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ntransfer-encoding: gzip\r\nconnection: close\r\n\r\nabcdef",
    }

    async def client(pool):
        return [await get(pool), await get(pool), await get(pool)]

    sent = iter(answers.values())
    results, srv = run(lambda c, n: next(sent), client)
    assert [r[2] for r in results] == [b"{}", b"second", b"abcdef"]
    assert srv.connections == 2  # the first connection was not given back to the pool; the second was


@pytest.mark.parametrize("size", [b"-1", b"0x2", b"+2", b"1_0", b" 2", b"2 x", b"", b"0" * 17 + b"2"])
def test_chunk_size_is_hex_digits_only(size):
    """A chunk-size line that is not hex digits (then optional extensions) is a broken upstream, however
    Python's int() would read it."""
    body = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n%s\r\n{}\r\n0\r\n\r\n" % size

    async def client(pool):
        with pytest.raises(UpstreamError, match="chunk size"):
            await get(pool)
        return await get(pool)

    second, srv = run(lambda c, n: body if c == 1 else ok(b"fine"), client)
    assert second[2] == b"fine" and srv.connections == 2


def test_bad_chunk_size_is_a_502(raw_upstream, read_request_fn):
    """Through the proxy, a held body with a bad chunk size gets 502 upstream_failed."""
    from wattprint.serve.accountant import Accountant
    from wattprint.serve.proxy import ProxyConfig, build_app
    from wattprint.serve.testing import serve_in_thread

    async def handler(reader, writer):
        await read_request_fn(reader)
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n"
                     b"0x2\r\n{}\r\n0\r\n\r\n")
        await writer.drain()
        writer.close()

    meter = sim_gpu_meter(Constant(300.0))
    try:
        with Accountant.from_meter(meter) as acct:
            with serve_in_thread(build_app(acct, ProxyConfig(raw_upstream(handler))), proxy=True) as url:
                r = httpx.post(url + "/v1/chat/completions", json={"messages": []}, timeout=10)
    finally:
        meter.close()
    assert r.status_code == 502 and r.json()["error"]["type"] == "upstream_failed"
