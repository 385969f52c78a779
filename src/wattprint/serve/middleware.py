"""ASGI middleware for services that serve models in-process (Starlette, FastAPI, any ASGI app).

    acct = Accountant.from_meter(Meter(gpus="visible")).start()
    app.add_middleware(WattprintMiddleware, accountant=acct, metrics=ServeMetrics())

Inference routes get the same accounting and receipts as behind the proxy. The handler may count its
own tokens exactly through ``request.state.wattprint`` (a :class:`RequestHandle`: ``add_tokens(n)``);
once it does, tokens seen in the response stream are no longer counted.

A request body is read (to estimate its prompt) up to ``max_inspect_bytes``, as the proxy does: one
declared larger is not read at all, and one that grows past it without a declared length is handed to
the app as read so far, then as it comes; neither is held whole, and their prompt tokens are then not
estimated (the handler may still count them).
"""

from __future__ import annotations

from typing import Any

from wattprint.serve.accountant import Accountant
from wattprint.serve.exchange import MAX_INSPECT_BYTES, Exchange, response_mode_of
from wattprint.serve.metrics import CONTENT_TYPE


class WattprintMiddleware:
    def __init__(self, app: Any, accountant: Accountant, metrics: Any = None,
                 metrics_path: str | None = "/metrics", max_inspect_bytes: int = MAX_INSPECT_BYTES) -> None:
        self.app = app
        self.acct = accountant
        self.metrics = metrics
        self.metrics_path = metrics_path
        self.max_inspect_bytes = max_inspect_bytes

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.metrics is not None and scope["path"] == self.metrics_path:
            await _send_whole(send, 200, [(b"content-type", CONTENT_TYPE.encode())], self.metrics.render())
            return
        read = await _read_body(scope, receive, self.max_inspect_bytes)
        if read is None:  # the client left
            return
        body, more = read
        exchange = Exchange(self.acct, scope["method"], scope["path"], b"" if more else body)
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": more}
            return await receive()

        if not exchange.accounted:
            await self.app(scope, replay, send)
            return
        scope.setdefault("state", {})["wattprint"] = exchange.handle
        relay = _Relay(exchange, send)
        try:
            await self.app(scope, replay, relay.send)
        finally:
            if exchange.receipt is None:
                exchange.abort()


class _Relay:
    """Wraps ``send``: counts and places the receipt as the proxy does."""

    def __init__(self, exchange: Exchange, send: Any) -> None:
        self.ex = exchange
        self._send = send
        self.mode = "raw"
        self.start: dict[str, Any] = {}
        self.held = b""

    async def send(self, message: Any) -> None:
        if message["type"] == "http.response.start":
            self.mode = response_mode_of(message["status"], message.get("headers", []))
            self.start = dict(message)
            if self.mode == "json" or message["status"] >= 400:
                self.mode = "held" if self.mode != "json" else "json"
                return
            self.start["headers"] = list(message.get("headers", [])) + [
                (k.encode(), v.encode()) for k, v in self.ex.id_headers()]
            await self._send(self.start)
            return
        if message["type"] != "http.response.body":
            await self._send(message)
            return
        chunk, more = message.get("body", b""), message.get("more_body", False)
        if self.mode in ("json", "held"):
            self.held += chunk
            if not more:
                await self._flush_held()
            return
        if self.mode == "sse":
            chunk = self.ex.feed_sse(chunk) + (b"" if more else self.ex.end_sse())
        elif not more:
            self.ex.finish(None, completed=True)
        await self._send({"type": "http.response.body", "body": chunk, "more_body": more})

    async def _flush_held(self) -> None:
        body, extra = self.ex.finish_body(self.mode, self.held)
        headers = [(k, v) for k, v in self.start.get("headers", []) if k.lower() != b"content-length"]
        headers += [(k.encode(), v.encode()) for k, v in extra]
        headers.append((b"content-length", str(len(body)).encode()))
        await _send_whole(self._send, self.start["status"], headers, body)


async def _read_body(scope: Any, receive: Any, limit: int) -> tuple[bytes, bool] | None:
    """(the body read, whether more follows): all of it, or what was read once past ``limit`` bytes
    (nothing when the declared length is past it); None if the client left."""
    declared = next((v for k, v in scope["headers"] if k == b"content-length"), b"")
    if declared.isdigit() and int(declared) > limit:
        return b"", True
    message = await receive()
    if message["type"] == "http.disconnect":
        return None
    more = message.get("more_body", False)
    if not more:  # the usual case: the body in one message, not copied
        return message.get("body", b""), False
    body = bytearray(message.get("body", b""))
    while more and len(body) <= limit:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return bytes(body), more


async def _send_whole(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
