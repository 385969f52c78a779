"""The energy-accounting reverse proxy for OpenAI-compatible servers (a bare ASGI app, own upstream client).

Every path is passed through (method, raw path, query, headers, body); inference routes (see
:mod:`wattprint.serve.openai`) are accounted and carry a receipt. The proxy's own paths (GET):

* ``/metrics`` (configurable): Prometheus metrics;
* ``/wattprint/receipts/{id}``: the final receipt of a settled request (404 until then or once evicted);
* ``/wattprint/totals``: the fleet ledger (measured, dynamic, idle, unattributed joules).

With a token set (``ProxyConfig.token``), these answer only requests carrying ``Authorization: Bearer
<token>`` (401 otherwise). Failures answer in OpenAI's error shape: upstream unreachable -> 502, upstream
timeout -> 504, ``max_connections`` requests already in flight to it for ``pool_wait_s`` -> 503; the
bodies do not name the upstream (the log does).

A request cancelled by the server stopping (past ``shutdown_timeout_s``, or on a second signal; see
:func:`serve`) gets 503 ``shutting_down`` when its response has not begun, and an SSE stream ends with a
``shutting_down`` error event and its partial receipt, so that nothing reaches the server's log as a
traceback.

The relay is written against ASGI and a small keep-alive HTTP/1.1 client on asyncio streams
(:mod:`wattprint.serve.upstream`) directly: no routing framework, no request/response objects, no URL or
header models, no anyio layer (docs/benchmarks/proxy_overhead.md).
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from wattprint.serve.accountant import Accountant
from wattprint.serve.exchange import HOP_BY_HOP, MAX_INSPECT_BYTES, Exchange, response_mode
from wattprint.serve.metrics import CONTENT_TYPE
from wattprint.serve.relay import SHUTTING_DOWN, ClientWatch, cancel_handled, relay_stream
from wattprint.serve.upstream import UpstreamBusy, UpstreamError, UpstreamPool, UpstreamTimeout

log = logging.getLogger("wattprint.serve.proxy")

_HOP = frozenset(h.encode() for h in HOP_BY_HOP)
_RECEIPTS = "/wattprint/receipts/"
_JSON = [(b"content-type", b"application/json")]
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_OURS = b"x-wattprint-"
_THEIRS = b"x-wattprint-upstream-"  # an upstream proxy's receipt headers, kept apart from ours


@dataclass(frozen=True)
class ProxyConfig:
    """``read_timeout_s``: the longest the upstream may stay silent (waiting for a response head, or
    between two pieces of a body) before the client gets 504; ``token``: required by the proxy's own
    paths when set; ``metrics_path`` gets its leading slash when it lacks one."""

    upstream: str
    metrics_path: str = "/metrics"
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 600.0
    max_connections: int = 1000  # requests in flight to the upstream at once
    pool_wait_s: float = 10.0  # the longest a request waits for one of them before its client gets 503
    max_clients: int = 2000  # client connections and requests at once; past it uvicorn answers 503
    head_timeout_s: float = 10.0  # a request head must arrive within this (from connecting, or the last response)
    max_head_bytes: int = 64 * 1024  # a larger request head gets 431
    keepalive_s: float = 5.0  # an idle client connection is closed after this
    max_inspect_bytes: int = MAX_INSPECT_BYTES  # larger declared bodies stream through unread; chunked: 413
    body_timeout_s: float = 60.0  # a body held whole must arrive within this, one streamed unread must not pause
    # longer: else 408
    shutdown_timeout_s: float = 5.0  # on SIGTERM / Ctrl-C, requests in flight get this long to finish
    token: str | None = None

    def __post_init__(self) -> None:
        from wattprint.core.errors import ConfigError

        if not self.upstream.startswith(("http://", "https://")):
            raise ConfigError(f"upstream must be an http(s) URL, got {self.upstream!r}",
                              "pass --upstream http://HOST:PORT")
        object.__setattr__(self, "upstream", self.upstream.rstrip("/"))
        path = "/" + self.metrics_path.strip().lstrip("/")
        if path == "/" or any(c in path for c in "?# ") or path.startswith("/wattprint/"):
            raise ConfigError(f"metrics path {self.metrics_path!r} is not a usable path",
                              "e.g. --metrics-path /metrics or /prometheus (not under /wattprint/, no query)")
        object.__setattr__(self, "metrics_path", path)
        for name in ("connect_timeout_s", "read_timeout_s", "pool_wait_s", "head_timeout_s", "keepalive_s",
                     "shutdown_timeout_s", "body_timeout_s"):
            value = getattr(self, name)
            if not 0 < value < math.inf:
                raise ConfigError(f"{name} must be a finite number of seconds > 0, got {value!r}",
                                  "e.g. --upstream-timeout 600")
        for name in ("max_connections", "max_clients", "max_head_bytes"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)!r}", "e.g. 1000")
        if self.token is not None and not self.token.strip():
            raise ConfigError("the proxy's token is empty", "set a long random value, or none at all")


async def _send_whole(send: Any, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": headers + [(b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def _send_json(send: Any, status: int, obj: Any, headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await _send_whole(send, status, _JSON + (headers or []), json.dumps(obj, separators=(",", ":")).encode())


async def _send_error(send: Any, status: int, kind: str, message: str,
                      headers: list[tuple[bytes, bytes]] | None = None) -> None:
    await _send_json(send, status, {"error": {"message": message, "type": kind, "code": status}}, headers)


def _request_headers(scope: Any, host: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """End-to-end headers for the upstream, and the client's declared content-length (b"" if none)."""
    headers: list[tuple[bytes, bytes]] = []
    declared = b""
    accept_encoding = False
    connection: list[bytes] = []
    for k, v in scope["headers"]:  # ASGI names are lower-case
        if k in _HOP:
            if k == b"content-length":
                declared = v
            elif k == b"connection":
                connection.append(v)
            continue
        if k == b"accept-encoding":
            accept_encoding = True
        headers.append((k, v))
    if connection:
        headers = _drop_named(headers, connection)
        accept_encoding = any(k == b"accept-encoding" for k, _ in headers)
    if not accept_encoding:  # HTTP's default would allow any coding; ask for the body as is
        headers.append((b"accept-encoding", b"identity"))
    headers.append((b"host", host))
    return headers, declared


def _response_headers(upstream: Any) -> tuple[list[tuple[bytes, bytes]], bytes, bytes]:
    """The upstream's end-to-end headers (its receipt headers renamed), content type and encoding."""
    out: list[tuple[bytes, bytes]] = []
    ctype = cenc = b""
    connection: list[bytes] = []
    for k, v in upstream.headers:  # names already lower-case
        if k == b"content-type":
            ctype = v.lower()
        elif k == b"content-encoding":
            cenc = v.lower()
        elif k.startswith(_OURS):
            k = _THEIRS + k[len(_OURS):]
        elif k == b"connection":
            connection.append(v)
        if k not in _HOP:
            out.append((k, v))
    if connection:
        out = _drop_named(out, connection)
    return out, ctype, cenc


def _drop_named(headers: list[tuple[bytes, bytes]], connection: list[bytes]) -> list[tuple[bytes, bytes]]:
    """``headers`` without those that the ``Connection`` field values name: they are hop-by-hop, for this
    connection only (RFC 9110 section 7.6.1)."""
    named = {t.strip().lower() for v in connection for t in v.split(b",")} - {b"close", b"keep-alive", b""}
    return [(k, v) for k, v in headers if k not in named] if named else headers


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
        self._token = config.token.encode() if config.token else None

    def _client(self) -> UpstreamPool:
        if self._pool is None:  # made inside the server's event loop
            self._pool = UpstreamPool(self._scheme, self._host, self._port, self.config.connect_timeout_s,
                                      self.config.read_timeout_s, self.config.max_connections, keepalive_s=5.0,
                                      slot_timeout_s=self.config.pool_wait_s)
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
            try:
                msg = await receive()
            except asyncio.CancelledError:  # forced to stop (a second signal): no shutdown event comes
                if self._pool is not None:
                    await self._pool.aclose()
                    self._pool = None
                return  # raising would have uvicorn log that the app does not support lifespan
            if msg["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif msg["type"] == "lifespan.shutdown":
                if self._pool is not None:
                    await self._pool.aclose()
                    self._pool = None
                await send({"type": "lifespan.shutdown.complete"})
                return

    # ---- the proxy's own paths ------------------------------------------------------------------
    def _authorised(self, scope: Any) -> bool:
        """``Authorization: Bearer <token>``, the scheme in any case (RFC 9110 section 11.1)."""
        if self._token is None:
            return True
        given = next((v for k, v in scope["headers"] if k == b"authorization"), b"")
        scheme, _, credentials = given.partition(b" ")
        return hmac.compare_digest(credentials.lstrip(b" "), self._token) and scheme.lower() == b"bearer"

    async def _own(self, scope: Any, send: Any, path: str) -> None:
        if scope["method"] not in ("GET", "HEAD"):
            await _send_whole(send, 405, [(b"content-type", b"text/plain; charset=utf-8"), (b"allow", b"GET, HEAD")],
                              b"Method Not Allowed")
            return
        if not self._authorised(scope):
            await _send_error(send, 401, "unauthorized", "this path needs the proxy's token: "
                              "send the header 'Authorization: Bearer <token>'", [(b"www-authenticate", b"Bearer")])
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
        method = scope["method"]
        headers, declared = _request_headers(scope, self._host_header)
        watch = ClientWatch(send, receive)
        content: Any
        if declared.isdigit() and int(declared) > self.config.max_inspect_bytes:
            # Too large to hold: streamed to the upstream unread (its prompt is then not estimated).
            body, content = b"", _request_stream(receive, watch, self.config.body_timeout_s)
            headers.append((b"content-length", declared))
        else:
            got = await self._held_body(receive, send)
            if got is None:  # answered (408, 413, 503), or the client left: nothing was forwarded
                return
            body = content = got
            if body or method in _BODY_METHODS:
                headers.append((b"content-length", str(len(body)).encode()))
            watch.arm()
        exchange = Exchange(self.acct, method, scope["path"], body)
        target = self._base_path + (scope.get("raw_path") or scope["path"].encode())
        if scope.get("query_string"):
            target += b"?" + scope["query_string"]
        try:
            await self._respond(scope, method, target, headers, content, exchange, watch, send)
        except _ClientLeft:
            _client_left(exchange)
        except _BodyTimeout:  # a streamed body stalled: the upstream connection is closed, nothing answered yet
            exchange.abort()
            watch.ending = True
            log.info("a streamed request body stopped arriving for %g s: 408", self.config.body_timeout_s)
            await _send_error(send, 408, "request_timeout", "the request body stopped arriving for "
                              f"{self.config.body_timeout_s:g} s", [(b"connection", b"close")])
        except asyncio.CancelledError:
            cancel_handled()
            if watch.left:  # the watch cancelled the forwarding: the client is gone
                _client_left(exchange)
            else:  # the server is stopping (its shutdown timeout, or a second signal) before the response
                exchange.abort()
                watch.ending = True
                log.warning("shutting down: request %s ended before the upstream answered",
                            exchange.handle.id if exchange.handle else "-")
                await _last_words(_send_error(send, 503, "shutting_down", SHUTTING_DOWN,
                                              [(b"connection", b"close")]))
        finally:
            watch.stop()

    async def _held_body(self, receive: Any, send: Any) -> bytes | None:
        """The request body read whole, or None once the client got 408, 413 or 503, or left."""
        config = self.config
        try:
            return await _read_body(receive, config.max_inspect_bytes, config.body_timeout_s)
        except _BodyTimeout:  # a client that trickles its body in holds no connection for ever
            log.info("a request body did not arrive whole within %g s: 408", config.body_timeout_s)
            await _send_error(send, 408, "request_timeout", "the request body did not arrive within "
                              f"{config.body_timeout_s:g} s", [(b"connection", b"close")])
        except _TooLarge:  # chunked past the limit: refused (its length was not declared)
            log.info("refused a request body over %d bytes sent without content-length", config.max_inspect_bytes)
            await _send_error(send, 413, "request_too_large", "request body over "
                              f"{config.max_inspect_bytes} bytes without a content-length",
                              [(b"connection", b"close")])
        except asyncio.CancelledError:  # the server is stopping while the body arrives
            cancel_handled()
            await _last_words(_send_error(send, 503, "shutting_down", SHUTTING_DOWN, [(b"connection", b"close")]))
        return None

    async def _respond(self, scope: Any, method: str, target: bytes, headers: list[tuple[bytes, bytes]],
                       content: Any, exchange: Exchange, watch: ClientWatch, send: Any) -> None:
        upstream = await self._request(method, target, headers, content, exchange, watch, send)
        if upstream is None:
            return
        status = upstream.status
        out, ctype, cenc = _response_headers(upstream)
        mode = response_mode(status, ctype, cenc)
        if mode == "sse" or (mode == "raw" and status < 400):
            if exchange.handle is not None:
                out.append((b"x-wattprint-request-id", exchange.handle.id.encode()))
            await relay_stream(upstream, exchange, mode, status, out, watch, send,
                               hold=scope.get("http_version") == "1.0")
            return
        try:  # held: raw bytes (a compressed error body must stay compressed)
            data = await upstream.read()
        except UpstreamTimeout as e:
            exchange.abort()
            watch.ending = True
            log.warning("upstream %s timed out mid-response: %s", self.config.upstream, e)
            await _send_error(send, 504, "upstream_timeout", "the upstream server timed out")
            return
        except Exception as e:
            exchange.abort()
            watch.ending = True
            log.warning("upstream %s broke off a response: %s: %s", self.config.upstream, type(e).__name__, e)
            await _send_error(send, 502, "upstream_failed", "the upstream server broke off the response")
            return
        finally:
            await upstream.aclose()
        watch.ending = True
        data, extra = exchange.finish_body(mode, data)
        await _send_whole(send, status, out + [(k.encode("latin-1"), v.encode("latin-1")) for k, v in extra], data)

    async def _request(self, method: str, target: bytes, headers: list[tuple[bytes, bytes]], content: Any,
                       exchange: Exchange, watch: ClientWatch, send: Any) -> Any:
        """The upstream's response, or None once the client got a 502, 503 or 504 (logged with the reason)."""
        try:
            return await self._client().request(method.encode(), target, headers, content)
        except UpstreamTimeout as e:
            exchange.abort()
            watch.ending = True
            log.warning("upstream %s timed out: %s", self.config.upstream, e)
            await _send_error(send, 504, "upstream_timeout", "the upstream server timed out")
        except UpstreamBusy as e:
            exchange.abort()
            watch.ending = True
            log.warning("upstream %s busy: %s", self.config.upstream, e)
            await _send_error(send, 503, "upstream_busy", "too many requests in flight to the upstream server; "
                              "try again later", [(b"retry-after", b"1")])
        except UpstreamError as e:
            exchange.abort()
            watch.ending = True
            log.warning("upstream %s could not be reached: %s: %s", self.config.upstream, type(e).__name__, e)
            await _send_error(send, 502, "upstream_unavailable", "the upstream server could not be reached")
        except BaseException:
            exchange.abort()  # cancelled: the energy so far still counts
            raise
        return None


def server_options(config: ProxyConfig) -> dict[str, Any]:
    """uvicorn settings for the proxy (``uvicorn.Config(app, host=..., port=..., **server_options(c))``).

    ``limit_concurrency`` caps the client connections and requests held at once (uvicorn answers 503
    past it), within what the process may open: each request in flight holds a client and an upstream
    connection. On shutdown, requests in flight get ``shutdown_timeout_s`` to end; then uvicorn cancels
    them, and the proxy answers each cleanly (:class:`ProxyApp`). Idle connections are closed after
    ``keepalive_s``, and a request head must arrive whole within ``head_timeout_s`` and
    ``max_head_bytes`` (:mod:`wattprint.serve.listener`), so that clients that linger cannot hold the
    connections that others need."""
    try:
        from wattprint.serve.listener import protocol_class

        http: Any = protocol_class(config.head_timeout_s, config.max_head_bytes)
        bounds: dict[str, Any] = {"http": http}
    except ImportError:  # no httptools: uvicorn's h11 protocol bounds the head's size only
        bounds = {"http": "h11", "h11_max_incomplete_event_size": config.max_head_bytes}
    return {**bounds, "limit_concurrency": min(config.max_clients, _fd_budget()),
            "timeout_keep_alive": config.keepalive_s, "timeout_graceful_shutdown": config.shutdown_timeout_s,
            "proxy_headers": False,  # X-Forwarded-* are the client's to send on, not the proxy's to trust
            "server_header": False, "date_header": False}  # the upstream's pass through


class _StopCutFilter(logging.Filter):
    """Drops uvicorn's error line for a response left unfinished once the server is stopping: the proxy
    cut that body on purpose (so that it cannot pass for complete) and logged a warning naming it."""

    MESSAGE = "ASGI callable returned without completing response."

    def __init__(self, server: Any) -> None:
        super().__init__()
        self.server = server

    def filter(self, record: logging.LogRecord) -> bool:
        return not (self.server.should_exit and record.getMessage() == self.MESSAGE)


def serve(app: ProxyApp, host: str, port: int, log_level: str = "info", access_log: bool = False) -> None:
    """Run the proxy with uvicorn (:func:`server_options`) until SIGTERM or SIGINT, then stop gracefully:
    no new connections, the requests in flight get ``shutdown_timeout_s`` to end, then those left get a
    clean answer (503 ``shutting_down``, or an error event that ends their stream). A second signal, either
    one, stops at once (uvicorn's own server forces only on a second SIGINT). The signal is raised again
    once the server has stopped (uvicorn's convention), for the caller's handler or the default one."""
    import uvicorn

    class Server(uvicorn.Server):
        def handle_exit(self, sig: int, frame: Any) -> None:
            if self.should_exit:
                self.force_exit = True
            super().handle_exit(sig, frame)

    config = uvicorn.Config(app, host=host, port=port, log_level=log_level, access_log=access_log,
                            **server_options(app.config))
    server = Server(config)
    quiet = _StopCutFilter(server)
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addFilter(quiet)
    try:
        server.run()
    finally:
        uvicorn_log.removeFilter(quiet)
    if not server.started:  # as uvicorn.run: a server that could not start is an error
        raise SystemExit(3)


def _fd_budget() -> int:
    """Client connections that fit in the process's file descriptor limit, two per request in flight
    and 64 left for the rest (the meter's files, the log)."""
    try:
        import resource

        soft = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    except (ImportError, OSError, ValueError):
        return 1 << 30
    return (1 << 30) if soft == resource.RLIM_INFINITY else max(1, (soft - 64) // 2)


def raise_fd_limit() -> None:
    """Raise the soft limit on open files to the hard one (a proxy holds two per request in flight)."""
    try:
        import resource

        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft != hard:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    except (ImportError, OSError, ValueError):
        pass


def build_app(acct: Accountant, config: ProxyConfig, metrics: Any = None) -> ProxyApp:
    """The proxy as an ASGI app. The caller owns ``acct`` (started) and closes it after the app."""
    return ProxyApp(acct, config, metrics)


class _TooLarge(Exception):
    """A request body past the limit (what was read of it is dropped)."""


class _BodyTimeout(Exception):
    """A request body that did not arrive whole in time."""


async def _read_body(receive: Any, limit: int, timeout_s: float) -> bytes | None:
    """The whole request body, or None if the client left; raises :class:`_TooLarge` past ``limit`` bytes,
    :class:`_BodyTimeout` when it has not all arrived within ``timeout_s`` (a timer, not a task: one
    that cancels this task when it fires)."""
    task = asyncio.current_task()
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        if task is not None:
            task.cancel()

    timer = asyncio.get_running_loop().call_later(timeout_s, expire)
    chunks = []
    size = 0
    try:
        while True:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return None
            chunk = msg.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise _TooLarge()
            chunks.append(chunk)
            if not msg.get("more_body", False):
                return chunks[0] if len(chunks) == 1 else b"".join(chunks)
    except asyncio.CancelledError:
        if not expired:
            raise
        cancel_handled()
        raise _BodyTimeout() from None
    finally:
        timer.cancel()


async def _last_words(sending: Any) -> None:
    """Send an answer while the server stops: cancelled once more (the event loop closing) or the client
    gone, it is dropped; nothing is raised to the server, which would log a traceback."""
    try:
        await sending
    except (asyncio.CancelledError, OSError, RuntimeError):  # RuntimeError: a response already begun
        pass


def _client_left(exchange: Exchange) -> None:
    exchange.abort()  # the upstream connection was closed: the upstream stops working for nobody
    log.info("client left before the response; request %s counted as not completed",
             exchange.handle.id if exchange.handle else "-")


class _ClientLeft(Exception):
    """The client left while its body was being streamed to the upstream."""


async def _request_stream(receive: Any, watch: ClientWatch, idle_s: float) -> Any:
    """A request body as it arrives; ``watch`` is armed once it has all arrived (both read ``receive``).
    Each piece must come within ``idle_s`` of the last, else :class:`_BodyTimeout`: a body too large to
    hold may take long, but a client that stops sending must not keep an upstream connection for ever."""
    while True:
        try:
            msg = await asyncio.wait_for(receive(), idle_s)
        except asyncio.TimeoutError:
            raise _BodyTimeout() from None
        if msg["type"] == "http.disconnect":
            raise _ClientLeft()
        if msg.get("body"):
            yield msg["body"]
        if not msg.get("more_body", False):
            watch.arm()
            return


