"""The energy-accounting reverse proxy for OpenAI-compatible servers (Starlette app, httpx upstream).

Every path is passed through (method, query, headers, body); inference routes (see
:mod:`wattprint.serve.openai`) are accounted and carry a receipt. The proxy's own paths:

* ``/metrics`` (configurable): Prometheus metrics;
* ``/wattprint/receipts/{id}``: the final receipt of a settled request (404 until then or once evicted);
* ``/wattprint/totals``: the fleet ledger (measured, dynamic, idle, unattributed joules).

Failures answer in OpenAI's error shape: upstream unreachable -> 502, upstream timeout -> 504.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from wattprint.serve.accountant import Accountant
from wattprint.serve.exchange import Exchange, forward_headers, response_mode
from wattprint.serve.metrics import CONTENT_TYPE

log = logging.getLogger("wattprint.serve.proxy")


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


def _error(status: int, kind: str, message: str) -> Any:
    from starlette.responses import JSONResponse

    return JSONResponse({"error": {"message": message, "type": kind, "code": status}}, status_code=status)


class _Stream:
    """ASGI response that relays an upstream stream and accounts it; stops cleanly when the client leaves."""

    def __init__(self, upstream: Any, exchange: Exchange, mode: str, headers: list[tuple[str, str]]) -> None:
        self.upstream = upstream
        self.exchange = exchange
        self.mode = mode
        self.headers = headers

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        import anyio

        raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in self.headers]
        finished = False
        try:
            await send({"type": "http.response.start", "status": self.upstream.status_code, "headers": raw})
            async with anyio.create_task_group() as tg:
                async def watch() -> None:
                    while (await receive())["type"] != "http.disconnect":
                        pass
                    tg.cancel_scope.cancel()

                tg.start_soon(watch)
                await self._relay(send)
                finished = True
                tg.cancel_scope.cancel()
        except OSError:  # the client went away (ASGI spec 2.4 raises from send)
            pass
        finally:
            if not finished:
                self.exchange.abort()
                log.info("client left mid-stream; request %s counted as not completed",
                         self.exchange.handle.id if self.exchange.handle else "-")
            await self.upstream.aclose()

    async def _relay(self, send: Any) -> None:
        ex = self.exchange
        async for chunk in self.upstream.aiter_raw():
            out = ex.feed_sse(chunk) if self.mode == "sse" else chunk
            if out:
                await send({"type": "http.response.body", "body": out, "more_body": True})
        tail = ex.end_sse() if self.mode == "sse" else b""
        if self.mode != "sse" and ex.accounted:
            ex.finish(None, completed=True)
        await send({"type": "http.response.body", "body": tail, "more_body": False})


def build_app(acct: Accountant, config: ProxyConfig, metrics: Any = None) -> Any:
    """The proxy as a Starlette app. The caller owns ``acct`` (started) and closes it after the app."""
    import httpx
    from starlette.applications import Starlette
    from starlette.routing import Route

    limits = httpx.Limits(max_connections=config.max_connections,
                          max_keepalive_connections=config.max_connections)
    timeout = httpx.Timeout(config.read_timeout_s, connect=config.connect_timeout_s)
    state: dict[str, Any] = {}

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        async with httpx.AsyncClient(base_url=config.upstream, limits=limits, timeout=timeout) as client:
            state["client"] = client
            yield

    async def forward(request: Any) -> Any:
        return await _forward(request, state["client"], acct, config)

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD"]
    routes = _own_routes(acct, config, metrics) + [Route("/{path:path}", forward, methods=methods)]
    return Starlette(routes=routes, lifespan=lifespan)


def _own_routes(acct: Accountant, config: ProxyConfig, metrics: Any) -> list[Any]:
    from starlette.responses import JSONResponse, Response
    from starlette.routing import Route

    async def metrics_endpoint(request: Any) -> Any:
        if metrics is None:
            return _error(404, "not_found", "metrics are off")
        return Response(metrics.render(), media_type=CONTENT_TYPE)

    async def receipt_endpoint(request: Any) -> Any:
        receipt = acct.final_receipt(request.path_params["rid"])
        if receipt is None:
            return _error(404, "not_found", "no final receipt with this id (not settled yet, or evicted)")
        return JSONResponse(receipt.to_dict())

    async def totals_endpoint(request: Any) -> Any:
        return JSONResponse({"unit": "J", "open_requests": acct.open_requests(), **acct.totals(),
                             "by_component": acct.totals_by_key()})

    return [
        Route(config.metrics_path, metrics_endpoint, methods=["GET"]),
        Route("/wattprint/receipts/{rid}", receipt_endpoint, methods=["GET"]),
        Route("/wattprint/totals", totals_endpoint, methods=["GET"]),
    ]


async def _request_body(request: Any, limit: int) -> tuple[bytes, Any]:
    """(bytes to inspect, content to send). A body declared larger than ``limit`` is streamed to the
    upstream without being held or read (its prompt is then not estimated)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return b"", request.stream()
    body = await request.body()
    return body, body


async def _forward(request: Any, client: Any, acct: Accountant, config: ProxyConfig) -> Any:
    import httpx
    from starlette.responses import Response

    body, content = await _request_body(request, config.max_inspect_bytes)
    exchange = Exchange(acct, request.method, request.url.path, body)
    headers = forward_headers(request.headers.items())
    if "accept-encoding" not in request.headers:  # httpx would add gzip; HTTP's default is identity
        headers.append(("accept-encoding", "identity"))
    url = httpx.URL(path=request.url.path, query=request.url.query.encode("latin-1"))
    upstream_req = client.build_request(request.method, url, headers=headers, content=content)
    try:
        upstream = await client.send(upstream_req, stream=True)
    except httpx.TimeoutException as e:
        exchange.abort()
        return _error(504, "upstream_timeout", f"upstream {config.upstream} timed out: {type(e).__name__}")
    except httpx.HTTPError as e:
        exchange.abort()
        return _error(502, "upstream_unavailable",
                      f"upstream {config.upstream} could not be reached: {type(e).__name__}: {e}")
    mode = response_mode(upstream.status_code, upstream.headers.items())
    out_headers = forward_headers(upstream.headers.items())
    if mode == "sse" or (mode == "raw" and upstream.status_code < 400):
        return _Stream(upstream, exchange, mode, out_headers + exchange.id_headers())
    try:  # raw bytes: a compressed error body must stay compressed
        content = b"".join([part async for part in upstream.aiter_raw()])
    except httpx.HTTPError as e:
        exchange.abort()
        return _error(502, "upstream_failed", f"upstream {config.upstream} broke off: {type(e).__name__}")
    finally:
        await upstream.aclose()
    content, extra = exchange.finish_body(mode, content)
    response = Response(content, status_code=upstream.status_code)
    response.raw_headers = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                            for k, v in out_headers + extra] + [(b"content-length", str(len(content)).encode())]
    return response

