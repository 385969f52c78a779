"""The proxy's HTTP/1.1 server protocol: uvicorn's httptools protocol, bounded for clients that linger.

uvicorn closes a keep-alive connection that stays idle ``timeout_keep_alive`` seconds after a response,
but nothing else: a connection that never sends a byte, or sends a request head one byte at a time
(each byte re-arms nothing, and cancels the keep-alive timer), or a head of many megabytes (httptools
holds a header until its end) is kept for ever. :func:`protocol_class` adds:

* a deadline for each request head: ``head_timeout_s`` from the moment the connection opened, or the
  previous response ended, to the end of the head; past it the connection is closed;
* a size bound: a head (target and fields) over ``max_head_bytes``, or that many bytes received while
  waiting for one, gets 431 and the connection closed;
* request headers frozen when the head ends: httptools hands a chunked body's trailer fields to the
  same callback as headers, and uvicorn appends them to the list in the request's scope, so they would
  reach the app (and the upstream) as headers. Trailers are dropped.
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class _HeadTooLarge(Exception):
    pass


class _BoundedHttp(HttpToolsProtocol):
    head_timeout_s = 10.0
    max_head_bytes = 64 * 1024

    _head_timer: Any = None
    _head_bytes: int | None = 0  # bytes received while waiting for a request head; None while in one
    _head_size = 0  # the target and header fields of the head being parsed
    _oversized = False

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._wait_for_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_head_timer()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_bytes is not None and self._head_bytes > self.max_head_bytes \
                and not self.transport.is_closing():
            self._oversized = True
            self.send_400_response("")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)  # trailers count too
        super().on_header(name, value)

    def _count(self, n: int) -> None:
        self._head_size += n
        if self._head_size > self.max_head_bytes:
            self._oversized = True
            raise _HeadTooLarge()  # the parser stops; uvicorn calls send_400_response

    def send_400_response(self, msg: str) -> None:
        if self._oversized:
            self.logger.warning("Request head over %d bytes: refused.", self.max_head_bytes)
            self._refuse(b"431 Request Header Fields Too Large", b"request head too large")
        else:
            super().send_400_response(msg)

    def on_headers_complete(self) -> None:
        self._stop_head_timer()
        self._head_bytes = None
        self.scope["headers"] = list(self.headers)  # trailers, appended to self.headers later, stay out
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._head_bytes = 0  # what follows is the next request's head

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if self.timeout_keep_alive_task is not None:  # idle now, waiting for the next request
            self._wait_for_head()

    def _wait_for_head(self) -> None:
        self._stop_head_timer()
        self._head_timer = self.loop.call_later(self.head_timeout_s, self._head_timed_out)

    def _stop_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timed_out(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            self.transport.close()

    def _refuse(self, status: bytes, message: bytes) -> None:
        self._stop_head_timer()
        self.transport.write(b"HTTP/1.1 " + status + b"\r\ncontent-type: text/plain; charset=utf-8\r\n"
                             b"content-length: %d\r\nconnection: close\r\n\r\n%s" % (len(message), message))
        self.transport.close()


def protocol_class(head_timeout_s: float, max_head_bytes: int) -> type[HttpToolsProtocol]:
    """The protocol for ``uvicorn.Config(http=...)`` with these bounds."""
    return type("WattprintHttpProtocol", (_BoundedHttp,),
                {"head_timeout_s": head_timeout_s, "max_head_bytes": max_head_bytes})
