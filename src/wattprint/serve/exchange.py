"""One request/response pass through the proxy or the middleware: accounting and receipt placement.

The response is handled in one of three ways, chosen from its headers:

* ``sse``: ``text/event-stream`` without a content encoding. Events are forwarded as soon as they are
  whole, byte for byte; generated tokens are counted as they pass; the receipt goes in an SSE comment just
  before ``data: [DONE]`` (or at the end, when the upstream sends no ``[DONE]``).
* ``json``: a non-streamed ``application/json`` body without a content encoding, status 2xx. It is held
  until complete, then the receipt is added as a last member and as ``X-Wattprint-*`` headers.
* ``raw``: anything else (errors, compressed bodies, other types): passed through untouched; an accounted
  request gets its receipt in headers when the body was held (errors), else only its request id.

Behind another wattprint proxy (chained proxies), the upstream's receipt is kept apart, never beside ours:
its ``"wattprint"`` member or SSE comment moves under our receipt's ``upstream`` key (and the proxy renames
its ``x-wattprint-*`` headers ``x-wattprint-upstream-*``), so a client reads one receipt per response.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from wattprint.serve.accountant import Accountant, RequestHandle
from wattprint.serve.openai import RequestInfo, SseScanner, inspect_request, json_usage
from wattprint.serve.receipt import Receipt, splice_json, take_json_member

MAX_INSPECT_BYTES = 16 * 1024 * 1024  # request bodies read to estimate their prompt; larger ones pass unread

# Hop-by-hop headers (RFC 9110 section 7.6.1) and framing headers the proxy recomputes.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
    "transfer-encoding", "upgrade", "proxy-connection", "content-length", "host",
})


def response_mode(status: int, content_type: bytes, content_encoding: bytes) -> str:
    """How a response is relayed: "sse" (events counted, receipt before ``[DONE]``), "json" (held, receipt
    spliced in) or "raw" (passed through). The two header values as raw ASGI bytes, lower-cased."""
    if content_encoding not in (b"", b"identity"):
        return "raw"
    if content_type.startswith(b"text/event-stream"):
        return "sse"
    if content_type.startswith(b"application/json") and 200 <= status < 300:
        return "json"
    return "raw"


def response_mode_of(status: int, headers: Iterable[tuple[bytes, bytes]]) -> str:
    """:func:`response_mode` from a response's raw ASGI header pairs."""
    ctype = cenc = b""
    for k, v in headers:
        k = k.lower()
        if k == b"content-type":
            ctype = v.lower()
        elif k == b"content-encoding":
            cenc = v.lower()
    return response_mode(status, ctype, cenc)


class Exchange:
    """Accounting for one request. ``handle`` is None for paths that do no inference."""

    def __init__(self, acct: Accountant, method: str, path: str, body: bytes) -> None:
        self.info: RequestInfo | None = inspect_request(method, path, body)
        self.handle: RequestHandle | None = None
        if self.info is not None:
            self.handle = acct.open(self.info.route, self.info.prompt_tokens, self.info.prompt_source)
        self._sse = SseScanner(take_receipts=self.handle is not None)
        self.receipt: Receipt | None = None
        self.upstream_receipt: Any = None

    @property
    def accounted(self) -> bool:
        return self.handle is not None

    def id_headers(self) -> list[tuple[str, str]]:
        return [("x-wattprint-request-id", self.handle.id)] if self.handle else []

    # ---- streamed ---------------------------------------------------------------------------------
    def feed_sse(self, chunk: bytes) -> bytes:
        """Bytes to send on for ``chunk`` (whole events; the receipt comment before ``[DONE]``).

        The tokens of one chunk are counted in one call (one lock acquisition per chunk, not per event)."""
        events = self._sse.feed(chunk)
        handle = self.handle
        if len(events) == 1 and not events[0][2]:  # the usual case: one token event per chunk
            raw, tokens, _ = events[0]
            if tokens and handle:
                handle.observe_tokens(tokens)
            return raw
        out = []
        pending = 0
        for raw, tokens, done in events:
            pending += tokens
            if done and handle and self.receipt is None:
                if pending:
                    handle.observe_tokens(pending)
                    pending = 0
                out.append(self.finish(self._sse.usage, True).sse_comment())
            out.append(raw)
        if pending and handle:
            handle.observe_tokens(pending)
        return b"".join(out)

    def end_sse(self) -> bytes:
        """Bytes to send when the upstream stream ended normally."""
        rest = self._sse.rest()
        if self.handle and self.receipt is None:
            sep = b"\n\n" if rest and not rest.endswith(b"\n") else b""
            return rest + sep + self.finish(self._sse.usage, True).sse_comment()
        return rest

    # ---- held bodies ----------------------------------------------------------------------------
    def finish_body(self, mode: str, body: bytes) -> tuple[bytes, list[tuple[str, str]]]:
        """A complete held body and the receipt headers to add (``json`` mode splices the receipt in)."""
        if not self.handle:
            return body, []
        usage = None
        if mode == "json" or b'"wattprint"' in body:  # an error body may carry an upstream's receipt too
            body, self.upstream_receipt = take_json_member(body)
        if mode == "json":
            usage = json_usage(body)
        receipt = self.finish(usage, completed=mode == "json")
        headers = list(receipt.headers().items())
        if mode == "json" or self.upstream_receipt is not None:  # theirs nested in ours, never beside it
            spliced = splice_json(body, receipt)
            if spliced is not None:
                return spliced, headers
        return body, headers

    # ---- ends -----------------------------------------------------------------------------------
    def finish(self, usage: dict[str, int] | None, completed: bool) -> Receipt:
        assert self.handle is not None
        if self.receipt is None:
            receipt = self.handle.finish(usage, completed)
            upstream = self.upstream_receipt if self.upstream_receipt is not None else self._sse.upstream_receipt
            self.receipt = receipt if upstream is None else replace(receipt, upstream=upstream)
        return self.receipt

    def abort(self) -> None:
        """The client went away or the upstream failed: the energy so far still counts (not completed)."""
        if self.handle and self.receipt is None:
            self.finish(self._sse.usage, completed=False)

    def fail_sse(self, message: str, kind: str = "upstream_failed", code: int = 502) -> bytes:
        """Bytes that end a stream the upstream broke off: an OpenAI-style error event (``kind`` and the
        HTTP status ``code`` the failure would have had before the response began), then the receipt (not
        completed, marked partial). The unfinished event the upstream left is dropped."""
        self._sse.rest()
        error = {"error": {"message": message, "type": kind, "code": code}}
        out = b"data: " + json.dumps(error, separators=(",", ":")).encode() + b"\n\n"
        if self.handle and self.receipt is None:
            receipt = self.finish(self._sse.usage, completed=False)
            self.receipt = replace(receipt, warnings=receipt.warnings + (f"partial: {message}",))
            out += self.receipt.sse_comment()
        return out
