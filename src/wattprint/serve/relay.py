"""Relaying a streamed upstream response to the client, with its accounting.

* The client leaving is noticed, cheapest first: uvicorn's ``send`` returns silently once the connection
  is gone but marks its request cycle ``disconnected``, which is read after every send; a server following
  ASGI 2.4 raises OSError from ``send``; and a request still running ``WATCH_AFTER_S`` after it was
  forwarded (or any request, on a server whose cycle cannot be read) gets one task waiting on
  ``receive()`` for ``http.disconnect``, which cancels the forwarding, so that a stalled upstream (before
  its response head, or mid-body) does not hold a gone client's request open. Short requests thus cost
  no task.
* An upstream that breaks off an SSE stream, or stays silent in it past the read timeout: the client gets
  an OpenAI-style error event (``data: {"error": ...}``: ``upstream_failed`` 502, or
  ``upstream_timeout`` 504) and the receipt, marked partial, and the stream ends; any other body is cut
  (the connection closes), so that the client cannot take it for complete.
* The server stopping (its shutdown timeout, or a second signal) cancels the relay: an SSE stream ends
  with a ``shutting_down`` error event (code 503) and its partial receipt; any other body is cut.
* An HTTP/1.0 client cannot read chunked encoding, and an ASGI server frames a body of unknown length in
  chunks (uvicorn with httptools does even for HTTP/1.0): such a client gets the stream whole, with a
  content-length, when it ends.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from wattprint.serve.exchange import Exchange
from wattprint.serve.upstream import UpstreamError, UpstreamTimeout

log = logging.getLogger("wattprint.serve.proxy")

WATCH_AFTER_S = 1.0  # a stream still running after this long gets a task that watches for the client leaving
BROKEN_OFF = "the upstream server broke off the stream"
TIMED_OUT = "the upstream server timed out"
SHUTTING_DOWN = "the proxy is shutting down; try again later"


class ClientWatch:
    """Notices the client leaving (see the module docstring); ``left`` once it has. Armed once the
    request's body has been read (the watcher reads ``receive()`` too); set ``ending`` before the last
    send, so that the client leaving then cancels nothing."""

    def __init__(self, send: Any, receive: Any) -> None:
        cycle = getattr(send, "__self__", None)
        self._cycle = cycle if type(getattr(cycle, "disconnected", None)) is bool else None
        self._receive = receive
        self._task = asyncio.current_task()
        self.ending = False
        self.left = False
        self._watcher: asyncio.Task[None] | None = None
        self._timer: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        if self._cycle is not None:
            self._timer = asyncio.get_running_loop().call_later(WATCH_AFTER_S, self._start)
        else:
            self._start()

    def gone(self) -> bool:
        """Cheap check after a send (uvicorn's cycle)."""
        return self._cycle is not None and bool(self._cycle.disconnected)

    def _start(self) -> None:
        self._timer = None
        self._watcher = asyncio.ensure_future(self._watch())

    async def _watch(self) -> None:
        while (await self._receive())["type"] != "http.disconnect":
            pass
        if not self.ending and self._task is not None:
            self.left = True
            self._task.cancel()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if self._watcher is not None and not self._watcher.done():
            self._watcher.cancel()


def cancel_handled() -> None:
    """Mark the current task's cancellation as handled (Python 3.11+), once it has been acted on."""
    uncancel = getattr(asyncio.current_task(), "uncancel", None)
    if uncancel is not None:
        uncancel()


class _Out:
    """The response to the client: streamed, or held whole for an HTTP/1.0 client."""

    def __init__(self, send: Any, status: int, headers: list[tuple[bytes, bytes]], hold: bool) -> None:
        self._send = send
        self._status = status
        self._headers = headers
        self._held: list[bytes] | None = [] if hold else None
        self.started = False

    async def start(self) -> None:
        if self._held is None:
            await self._send({"type": "http.response.start", "status": self._status, "headers": self._headers})
        self.started = True

    async def body(self, data: bytes) -> None:
        if self._held is None:
            await self._send({"type": "http.response.body", "body": data, "more_body": True})
        else:
            self._held.append(data)

    async def end(self, data: bytes) -> None:
        if self._held is None:
            await self._send({"type": "http.response.body", "body": data, "more_body": False})
            return
        body = b"".join(self._held) + data
        await self._send({"type": "http.response.start", "status": self._status,
                          "headers": self._headers + [(b"content-length", str(len(body)).encode())]})
        await self._send({"type": "http.response.body", "body": body, "more_body": False})


async def _pump(upstream: Any, exchange: Exchange, sse: bool, out: _Out, watch: ClientWatch) -> bool:
    """Relay until the upstream ends (True) or the client is gone (False); a broken SSE stream ends with
    an error event (True)."""
    try:
        async for chunk in upstream.stream():
            data = exchange.feed_sse(chunk) if sse else chunk
            if data:
                await out.body(data)
                if watch.gone():
                    return False
    except UpstreamError as e:
        if not sse:
            raise
        timeout = isinstance(e, UpstreamTimeout)
        log.warning("upstream %s a stream (request %s): %s", "timed out in" if timeout else "broke off",
                    exchange.handle.id if exchange.handle else "-", e)
        watch.ending = True
        await out.end(exchange.fail_sse(TIMED_OUT, "upstream_timeout", 504) if timeout else
                      exchange.fail_sse(BROKEN_OFF))
        return True
    tail = exchange.end_sse() if sse else b""
    if not sse and exchange.accounted:
        exchange.finish(None, completed=True)
    watch.ending = True
    await out.end(tail)
    return True


async def relay_stream(upstream: Any, exchange: Exchange, mode: str, status: int,
                       headers: list[tuple[bytes, bytes]], watch: ClientWatch, send: Any, hold: bool = False) -> None:
    """Relay an upstream stream and account it; stops cleanly (and counts) when the client leaves
    (``watch``, armed). ``hold``: send it whole when it ends (an HTTP/1.0 client)."""
    out = _Out(send, status, headers, hold)
    finished = stopped = False
    try:
        await out.start()
        finished = await _pump(upstream, exchange, mode == "sse", out, watch)
    except OSError:  # the client went away (ASGI spec 2.4 raises from send)
        pass
    except asyncio.CancelledError:
        cancel_handled()
        if not watch.left:  # the server is stopping (its shutdown timeout, or a second signal)
            stopped = True
            await _stopped(exchange, mode == "sse", out, watch)
    finally:
        watch.stop()
        if not finished:
            exchange.abort()  # (nothing once a stopped stream's receipt is out)
            if stopped:
                log.warning("shutting down: request %s ended mid-stream",
                            exchange.handle.id if exchange.handle else "-")
            else:
                log.info("client left mid-stream; request %s counted as not completed",
                         exchange.handle.id if exchange.handle else "-")
        await upstream.aclose()


async def _stopped(exchange: Exchange, sse: bool, out: _Out, watch: ClientWatch) -> None:
    """End a stream cut by the server stopping: an SSE stream with a ``shutting_down`` error event (code
    503) and its partial receipt; any other body stays cut (the server closes the connection)."""
    if not (sse and out.started):
        return
    watch.ending = True
    try:
        await out.end(exchange.fail_sse(SHUTTING_DOWN, "shutting_down", 503))
    except (asyncio.CancelledError, OSError):  # cancelled once more (the event loop closing), or the client gone
        pass
