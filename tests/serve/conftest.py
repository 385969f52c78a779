from __future__ import annotations

import json
import time

import pytest

from wattprint.serve.receipt import parse_sse_comment
from wattprint.serve.testing import TinyLM, TinyModelConfig, build_model_app, serve_in_thread


@pytest.fixture(scope="session")
def tiny_lm():
    return TinyLM(TinyModelConfig(n_layer=2, n_embd=64, n_head=2, n_positions=512))


@pytest.fixture(scope="session")
def upstream(tiny_lm):
    with serve_in_thread(build_model_app(tiny_lm)) as url:
        yield url


@pytest.fixture
def helpers():
    class H:
        pass

    h = H()
    h.read_sse = read_sse
    h.wait_final = wait_final
    return h


def read_sse(lines):
    """(data payloads, receipt or None, comment lines) of an SSE response's lines."""
    data, receipt, comments = [], None, []
    for line in lines:
        if line.startswith(":"):
            comments.append(line)
            receipt = parse_sse_comment(line) or receipt
        elif line.startswith("data:"):
            payload = line[5:].strip()
            data.append(payload if payload == "[DONE]" else json.loads(payload))
    return data, receipt, comments


def wait_final(client, rid, timeout_s=10.0):
    """The final receipt of ``rid`` from the proxy, polling until the ledger settles it."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.get(f"/wattprint/receipts/{rid}")
        if r.status_code == 200:
            return r.json()
        time.sleep(0.05)
    raise AssertionError(f"receipt {rid} never became final")


@pytest.fixture
def raw_upstream():
    """A raw TCP server on loopback, in its own thread and event loop: ``start(handler)`` takes an
    ``async handler(reader, writer)`` (one call per connection) and returns the server's URL."""
    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="raw-upstream", daemon=True)
    thread.start()
    servers = []

    def start(handler):
        async def serve():
            return await asyncio.start_server(handler, "127.0.0.1", 0)

        server = asyncio.run_coroutine_threadsafe(serve(), loop).result(5)
        servers.append(server)
        return f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"

    try:
        yield start
    finally:
        def stop():
            for server in servers:
                server.close()
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.call_later(0.05, loop.stop)

        loop.call_soon_threadsafe(stop)
        thread.join(5)


async def read_request(reader):
    """Head and body of one HTTP/1.1 request with a content-length (for raw_upstream handlers)."""
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head, await reader.readexactly(length)


@pytest.fixture
def read_request_fn():
    return read_request
