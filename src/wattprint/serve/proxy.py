"""The energy-accounting reverse proxy for OpenAI-compatible servers (a bare ASGI app, own upstream client).

Every path is passed through (method, raw path, query, headers, body); inference routes (see
:mod:`wattprint.serve.openai`) are accounted and carry a receipt. The proxy's own paths (GET):

* ``/metrics`` (configurable): Prometheus metrics;
* ``/wattprint/receipts/{id}``: the final receipt of a settled request (404 until then or once evicted);
* ``/wattprint/totals``: the fleet ledger (measured, dynamic, idle, unattributed joules).

Failures answer in OpenAI's error shape: upstream unreachable -> 502, upstream timeout -> 504.

The relay is written against ASGI and a small keep-alive HTTP/1.1 client on asyncio streams
(:mod:`wattprint.serve.upstream`) directly: no routing framework, no request/response objects, no URL or
header models, no anyio layer (docs/benchmarks/proxy_overhead.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wattprint.serve.accountant import Accountant
from wattprint.serve.exchange import HOP_BY_HOP, Exchange, response_mode
from wattprint.serve.metrics import CONTENT_TYPE
from wattprint.serve.upstream import UpstreamError, UpstreamPool, UpstreamTimeout

log = logging.getLogger("wattprint.serve.proxy")

_HOP = frozenset(h.encode() for h in HOP_BY_HOP)
_RECEIPTS = "/wattprint/receipts/"
_JSON = [(b"content-type", b"application/json")]
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class ProxyConfig:
    upstream: str
    metrics_path: str = "/metrics"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 600.0
    max_connections: int = 1000
    max_inspect_bytes: int = 16 * 1024 * 1024  # larger request bodies stream through, unread

    def __post_init__(self) -> None:
        if not self.upstream.startswith(("http://", "https://")):
            from wattprint.core.errors import ConfigError

            raise ConfigError(f"upstream must be an http(s) URL, got {self.upstream!r}",
                              "pass --upstream http://HOST:PORT")
        object.__setattr__(self, "upstream", self.upstream.rstrip("/"))


async def _send_whole(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_json(send: Any, status: int, obj: Any) -> None:
    await _send_whole(send, status, _JSON, json.dumps(obj, separators=(",", ":")).encode())


async def _send_error(send: Any, status: int, kind: str, message: str) -> None:
    await _send_json(send, status, {"error": {"message": message, "type": kind, "code": status}})


class ProxyApp:
    """The proxy as an ASGI callable. The caller owns ``acct`` (started) and closes it after the app."""

    def __init__(self, acct: Accountant, config: ProxyConfig, metrics: Any = None) -> None:
        self.acct = acct
        self.config = config
        self.metrics = metrics
        u = urlsplit(config.upstream)
        self._scheme = u.scheme
        self._host = u.hostname or ""
        self._port = u.port or (443 if u.scheme == "https" else 80)
        self._host_header = u.netloc.rpartition("@")[2].encode()
        self._base_path = u.path.rstrip("/").encode()
        self._pool: UpstreamPool | None = None

    def _client(self) -> UpstreamPool:
        if self._pool is None:  # made inside the server's event loop
            self._pool = UpstreamPool(self._scheme, self._host, self._port, self.config.connect_timeout_s,
                                      self.config.read_timeout_s, self.config.max_connections, keepalive_s=5.0)
        return self._pool

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            path = scope["path"]
            if path == self.config.metrics_path or path == "/wattprint/totals" or (
                    path.startswith(_RECEIPTS) and "/" not in path[len(_RECEIPTS):] and len(path) > len(_RECEIPTS)):
                await self._own(scope, send, path)
            else:
                await self._forward(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        elif kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            msg = await receive()
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.aclose()
                    self._pool = None
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- the proxy's own paths ------------------------------------------------------------------
    async def _own(self, scope: Any, send: Any, path: str) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _send_whole(send, 405, [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD")],
                              b"Method Not Allowed")
            return
        acct = self.acct
        if path == self.config.metrics_path:
            if self.metrics is None:
                await _send_error(send, 404, "not_found", "metrics are off")
            else:
                await _send_whole(send, 200, [(b"content-type", CONTENT_TYPE.encode())], self.metrics.render())
        elif path == "/wattprint/totals":
            await _send_json(send, 200, {"unit": "J", "open_requests": acct.open_requests(), **acct.totals(),
                                         "by_component": acct.totals_by_key()})
        else:
            receipt = acct.final_receipt(path[len(_RECEIPTS):])
            if receipt is None:
                await _send_error(send, 404, "not_found",
                                  "no final receipt with this id (not settled yet, or evicted)")
            else:
                await _send_json(send, 200, receipt.to_dict())

    # ---- forwarding -----------------------------------------------------------------------------
    async def _forward(self, scope: Any, receive: Any, send: Any) -> None:
        config = self.config
        method = scope["method"]
        headers: list[tuple[bytes, bytes]] = []
        declared = b""
        accept_encoding = False
        for k, v in scope["headers"]:  # ASGI names are lower-case
            if k in _HOP:
                if k == b"content-length":
                    declared = v
                continue
            if k == b"accept-encoding":
                accept_encoding = True
            headers.append((k, v))
        if not accept_encoding:  # HTTP's default would allow any coding; ask for the body as is
            headers.append((b"accept-encoding", b"identity"))
        headers.append((b"host", self._host_header))

        content: Any
        if declared.isdigit() and int(declared) > config.max_inspect_bytes:
            # Too large to hold: streamed to the upstream unread (its prompt is then not estimated).
            body, content = b"", _request_stream(receive)
            headers.append((b"content-length", declared))
        else:
            body = await _read_body(receive)
            if body is None:  # the client left before its body arrived: nothing was forwarded
                return
            content = body
            if body or method in _BODY_METHODS:
                headers.append((b"content-length", str(len(body)).encode()))
        exchange = Exchange(self.acct, method, scope["path"], body)

        target = self._base_path + (scope.get("raw_path") or scope["path"].encode())
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        try:
            upstream = await self._client().request(method.encode(), target, headers, content)
        except UpstreamTimeout as e:
            exchange.abort()
            await _send_error(send, 504, "upstream_timeout", f"upstream {config.upstream} timed out: {e}")
            return
        except UpstreamError as e:
            exchange.abort()
            await _send_error(send, 502, "upstream_unavailable",
                              f"upstream {config.upstream} could not be reached: {type(e).__name__}: {e}")
            return
        except BaseException:
            exchange.abort()  # cancelled: the energy so far still counts
            raise

        status = upstream.status
        out: list[tuple[bytes, bytes]] = []
        ctype = cenc = b""
        for k, v in upstream.headers:  # names already lower-case
            if k == b"content-type":
                ctype = v.lower()
            elif k == b"content-encoding":
                cenc = v.lower()
            if k not in _HOP:
                out.append((k, v))
        mode = response_mode(status, ctype, cenc)
        if mode == "sse" or (mode == "raw" and status < 400):
            if exchange.handle is not None:
                out.append((b"x-wattprint-request-id", exchange.handle.id.encode()))
            await _relay_stream(upstream, exchange, mode, status, out, receive, send)
            return
        try:  # held: raw bytes (a compressed error body must stay compressed)
            data = await upstream.read()
        except Exception as e:
            exchange.abort()
            await _send_error(send, 502, "upstream_failed", f"upstream {config.upstream} broke off: {type(e).__name__}")
            return
        finally:
            await upstream.aclose()
        data, extra = exchange.finish_body(mode, data)
        await _send_whole(send, status, out + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra], data)


def build_app(acct: Accountant, config: ProxyConfig, metrics: Any = None) -> ProxyApp:
    """The proxy as an ASGI app. The caller owns ``acct`` (started) and closes it after the app."""
    return ProxyApp(acct, config, metrics)


async def _read_body(receive: Any) -> bytes | None:
    chunks = []
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return None
        chunks.append(msg.get("body", b""))
        if not msg.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def _request_stream(receive: Any) -> Any:
    while True:
        msg = await receive()
        if msg["type"] == "http.disconnect":
            return
        if msg.get("body"):
            yield msg["body"]
        if not msg.get("more_body", False):
            return


_WATCH_AFTER_S = 1.0  # a stream still running after this long gets a task that watches for the client leaving


async def _relay_stream(upstream: Any, exchange: Exchange, mode: str, status: int,
                        headers: list[tuple[bytes, bytes]], receive: Any, send: Any) -> None:
    """Relay an upstream stream and account it; stops cleanly (and counts) when the client leaves.

    How the client's leaving is noticed, cheapest first: uvicorn's ``send`` returns silently once the
    connection is gone but marks its request cycle ``disconnected``, which is read after every send; a
    server following ASGI 2.4 raises OSError from ``send``; and a stream that runs longer than
    ``_WATCH_AFTER_S`` (or any stream, on a server whose cycle cannot be read) gets one task waiting on
    ``receive()`` for ``http.disconnect``, which cancels the relay, so that a stalled upstream does not
    hold a gone client's request open. Short streams thus cost no task."""
    cycle = getattr(send, "__self__", None)
    peek = type(getattr(cycle, "disconnected", None)) is bool
    task = asyncio.current_task()
    state = {"ending": False, "left": False}
    watcher: asyncio.Task[None] | None = None
    timer: asyncio.TimerHandle | None = None

    async def watch() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not state["ending"] and task is not None:
            state["left"] = True
            task.cancel()

    def start_watch() -> None:
        nonlocal watcher, timer
        timer = None
        watcher = asyncio.ensure_future(watch())

    finished = False
    try:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if peek:
            timer = asyncio.get_running_loop().call_later(_WATCH_AFTER_S, start_watch)
        else:
            start_watch()
        sse = mode == "sse"
        async for chunk in upstream.stream():
            data = exchange.feed_sse(chunk) if sse else chunk
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})
                if peek and cycle.disconnected:
                    break
        else:
            tail = exchange.end_sse() if sse else b""
            if not sse and exchange.accounted:
                exchange.finish(None, completed=True)
            state["ending"] = True
            await send({"type": "http.response.body", "body": tail, "more_body": False})
            finished = True
    except OSError:  # the client went away (ASGI spec 2.4 raises from send)
        pass
    except asyncio.CancelledError:
        if not state["left"]:
            raise
        uncancel = getattr(task, "uncancel", None)  # Python 3.11+: this cancellation is handled here
        if uncancel is not None:
            uncancel()
    finally:
        if timer is not None:
            timer.cancel()
        if watcher is not None and not watcher.done():
            watcher.cancel()
        if not finished:
            exchange.abort()
            log.info("client left mid-stream; request %s counted as not completed",
                     exchange.handle.id if exchange.handle else "-")
        await upstream.aclose()
