"""`wattprint proxy` stopped while requests are in flight: SIGTERM or Ctrl-C ends it within its
shutdown timeout (a second signal at once), with the shell's exit code, a clean answer to each waiting
client and a log without tracebacks."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import threading
import time

import httpx
import pytest

from wattprint.serve.testing import free_port, proxy_command

EVENT = b'data: {"choices":[{"index":0,"delta":{"content":"x"}}]}\n\n'


@pytest.fixture
def stalling_upstream(raw_upstream, read_request_fn):
    """An upstream that never answers a plain request, and stalls a stream (SSE, or raw bytes) after one
    event; ``waiting``
    counts the requests it holds."""
    waiting = threading.Semaphore(0)

    async def handler(reader, writer):
        head, _ = await read_request_fn(reader)
        line = head.split(b"\r\n", 1)[0]
        if b"stream" in line or b"raw" in line:
            ctype = b"text/event-stream" if b"stream" in line else b"application/octet-stream"
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: %s\r\ntransfer-encoding: chunked\r\n"
                         b"\r\n%x\r\n%s\r\n" % (ctype, len(EVENT), EVENT))
            await writer.drain()
        waiting.release()
        await asyncio.sleep(60)

    return raw_upstream(handler), waiting


def _start(upstream: str, *options: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(proxy_command(upstream, port, "--gpu", "none", "--idle-seconds", "0",
                                          "--intensity", "100", *options),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base + "/wattprint/totals", timeout=1)
            return proc, base
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(proc.communicate()[1]) from None
            time.sleep(0.1)


@pytest.mark.parametrize("signals, timeout, code", [
    ([signal.SIGTERM], "1", 143),                   # the shutdown timeout ends the waiting requests
    ([signal.SIGTERM, signal.SIGTERM], "60", 143),  # a second signal does at once
    ([signal.SIGINT, signal.SIGINT], "60", 130),
], ids=["sigterm", "sigterm-twice", "sigint-twice"])
def test_stop_with_requests_in_flight(stalling_upstream, signals, timeout, code):
    """Within 15 s of the signal(s): exit code 128 + the signal; a client waiting for a response head
    gets 503 shutting_down in OpenAI's error shape; a stream ends with a shutting_down error event and its
    partial receipt; a raw stream is cut (the client sees it incomplete); no traceback, no lifespan
    complaint and no error line for the cut in the log, which names both streams."""
    upstream, waiting = stalling_upstream
    proc, base = _start(upstream, "--shutdown-timeout", timeout)
    replies: dict[str, httpx.Response] = {}

    cut: list[Exception] = []

    def ask(name: str, path: str, body: dict) -> None:
        replies[name] = httpx.post(base + path, json=body, timeout=30)

    def ask_raw() -> None:
        with httpx.stream("POST", base + "/v1/files?raw", content=b"x", timeout=30) as r:
            try:
                r.read()
            except httpx.HTTPError as e:  # the body was cut: it cannot pass for complete
                cut.append(e)

    try:
        threads = [threading.Thread(target=ask, args=("plain", "/v1/chat/completions",
                                                      {"messages": [{"role": "user", "content": "hi"}]})),
                   threading.Thread(target=ask, args=("stream", "/v1/chat/completions?stream",
                                                      {"messages": [], "stream": True})),
                   threading.Thread(target=ask_raw)]
        for t in threads:
            t.start()
        assert all(waiting.acquire(timeout=10) for _ in threads)
        time.sleep(0.3)  # the stream's first event has reached the client
        t0 = time.monotonic()
        for s in signals:
            proc.send_signal(s)
            time.sleep(0.3)
        try:
            _, err = proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            _, err = proc.communicate()
            raise AssertionError(f"still running 15 s after {signals}:\n{err[-3000:]}") from None
        stopped_after = time.monotonic() - t0
        for t in threads:
            t.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == code, err[-3000:]
    if len(signals) == 2:
        assert stopped_after < 15  # not the 60 s shutdown timeout
    plain = replies["plain"]
    assert plain.status_code == 503 and plain.headers["content-type"] == "application/json"
    assert plain.json()["error"]["type"] == "shutting_down" and plain.json()["error"]["code"] == 503
    stream = replies["stream"]
    assert stream.status_code == 200 and stream.content.startswith(EVENT)
    data = [json.loads(line[5:]) for line in stream.text.splitlines() if line.startswith("data:")]
    assert data[-1]["error"]["type"] == "shutting_down" and data[-1]["error"]["code"] == 503
    receipt = [line for line in stream.text.splitlines() if line.startswith(": wattprint ")]
    assert len(receipt) == 1 and json.loads(receipt[0][len(": wattprint "):])["completed"] is False
    assert len(cut) == 1
    assert "Traceback" not in err and "Exception in ASGI" not in err and "unsupported" not in err, err[-3000:]
    assert "without completing" not in err and err.count("ended mid-stream") == 2, err[-3000:]
