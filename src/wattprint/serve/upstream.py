"""A small keep-alive HTTP/1.1 client for the proxy's upstream, on asyncio streams (no third-party code).

Why not httpcore: a profile of the proxy put a large part of its per-request CPU in httpcore's anyio
socket layer (a cancel scope and a ``sniffio`` look-up on every read and write). This client does only
what the relay needs, with one write for the request head (and a small body) and one ``readuntil`` for
the response head:

* one pool per upstream (scheme, host, port) of idle keep-alive connections, used last-in first-out;
  an idle connection is dropped after ``keepalive_s`` or when the upstream closed it (or sent bytes
  unasked) while it sat in the pool;
* response bodies framed by ``content-length``, ``transfer-encoding: chunked`` (trailers read and
  dropped; a chunk size is hex digits only) or the end of the connection; with both a transfer-encoding
  and a content-length, the coding frames the body and the connection is closed after it (RFC 9112
  section 6.3); no body for HEAD, 1xx, 204 and 304; interim 1xx responses
  (``100 Continue``) are skipped;
* ``https`` upstreams through the standard library's ``ssl`` (default context, or the one given:
  certificates and host name verified);
* at most ``max_connections`` requests in flight at once; one more waits up to ``slot_timeout_s`` for a
  connection to come free, then raises :class:`UpstreamBusy` (the proxy answers 503);
* timeouts: connecting (``connect_timeout_s``) and each read or write (``read_timeout_s``, the longest
  the upstream may stay silent) raise :class:`UpstreamTimeout` (the proxy answers 504); every other
  failure to reach or understand the upstream raises :class:`UpstreamError` (502). A read timeout costs
  one timer per connection, re-armed lazily, not one per read;
* a request sent on a *reused* connection that the upstream had closed meanwhile (the connection ended
  or was reset before a single byte of the response arrived) is sent once more on a new connection,
  when its body is held in memory. This is the keep-alive race of RFC 9112 section 9.3.1 (the server
  closed an idle connection as the request went out): the first attempt reached no application.
"""

from __future__ import annotations

import asyncio
import ssl as _ssl
from collections import deque
from collections.abc import AsyncIterator

_NO_BODY_STATUS = frozenset({204, 304})
_CRLF = b"\r\n"
_HEAD_LIMIT = 1 << 20  # largest response head accepted (64 KiB is asyncio's default buffer limit)
_READ_SIZE = 1 << 16
_HEX_DIGITS = b"0123456789abcdefABCDEF"


class UpstreamError(Exception):
    """The upstream could not be reached, or broke the connection or the protocol (-> 502)."""


class UpstreamTimeout(UpstreamError):
    """The upstream did not accept the connection or stayed silent for too long (-> 504)."""


class UpstreamBusy(UpstreamError):
    """Every connection the pool may open is busy, and none came free in time (-> 503)."""


class _Stale(Exception):
    """A reused connection ended before any response byte: the request may be sent again."""


class _Conn:
    """One connection: its streams, and a lazily re-armed read/write deadline."""

    __slots__ = ("reader", "writer", "transport", "loop", "deadline", "busy", "timed_out", "_timer",
                 "idle_since", "reused")

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.reader = reader
        self.writer = writer
        self.transport = writer.transport
        self.loop = loop
        self.deadline = 0.0
        self.busy = False
        self.timed_out = False
        self._timer: asyncio.TimerHandle | None = None
        self.idle_since = 0.0
        self.reused = False

    def arm(self, timeout_s: float) -> None:
        """The next read or write must complete within ``timeout_s``."""
        self.busy = True
        self.deadline = self.loop.time() + timeout_s
        if self._timer is None:
            self._timer = self.loop.call_at(self.deadline, self._check)

    def _check(self) -> None:
        self._timer = None
        if not self.busy:
            return
        if self.loop.time() >= self.deadline:
            self.timed_out = True
            self.transport.abort()  # the pending read ends at once (end of stream)
        else:
            self._timer = self.loop.call_at(self.deadline, self._check)

    def usable(self) -> bool:
        """An idle connection can carry a request: still open, and nothing arrived unasked."""
        return not (self.transport.is_closing() or self.reader.at_eof()
                    or len(self.reader._buffer))  # type: ignore[attr-defined]  # no public "bytes waiting"

    def close(self) -> None:
        self.busy = False
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self.transport.abort()


class Response:
    """An upstream response: ``status``, ``headers`` (lower-case names, raw bytes) and the body, read with
    :meth:`read` (whole) or :meth:`stream` (as it arrives). :meth:`aclose` must follow, always."""

    __slots__ = ("status", "headers", "_pool", "_conn", "_length", "_chunked", "_keep", "_done")

    def __init__(self, pool: UpstreamPool, conn: _Conn, status: int, headers: list[tuple[bytes, bytes]],
                 length: int | None, chunked: bool, keep: bool) -> None:
        self.status = status
        self.headers = headers
        self._pool = pool
        self._conn: _Conn | None = conn
        self._length = length  # remaining bytes; None: chunked or until the connection ends
        self._chunked = chunked
        self._keep = keep
        self._done = length == 0

    async def read(self) -> bytes:
        conn = self._conn
        if self._done or conn is None:
            return b""
        if self._length is not None and not self._chunked:
            conn.arm(self._pool.read_timeout_s)
            try:
                data = await conn.reader.readexactly(self._length)
            except (asyncio.IncompleteReadError, OSError) as e:
                raise self._pool._failure(conn, e, "reading the response body") from None
            self._length = 0
            self._done = True
            return data
        return b"".join([chunk async for chunk in self.stream()])

    async def stream(self) -> AsyncIterator[bytes]:
        """The body in pieces as they arrive (chunked bodies: one piece per chunk)."""
        conn = self._conn
        if self._done or conn is None:
            return
        read_next = self._read_chunk if self._chunked else self._read_piece
        try:
            while (data := await read_next(conn)) is not None:
                conn.busy = False  # the consumer's own pace does not count against the upstream
                yield data
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError) as e:
            raise self._pool._failure(conn, e, "reading the response body") from None
        self._done = True

    async def _read_chunk(self, conn: _Conn) -> bytes | None:
        """The next chunk of a chunked body; None after the last one (its trailers read and dropped)."""
        reader = conn.reader
        conn.arm(self._pool.read_timeout_s)
        line = await reader.readuntil(_CRLF)
        digits = line[:-2].split(b";", 1)[0].rstrip(b" \t")  # white space may come before extensions
        if not 0 < len(digits) <= 16 or digits.strip(_HEX_DIGITS):  # int() would take -1, 0x10, 1_0, " 2"
            raise UpstreamError(f"bad chunk size line {line[:40]!r}")
        size = int(digits, 16)
        if size == 0:
            while (await reader.readuntil(_CRLF)) != _CRLF:  # trailers: dropped
                pass
            return None
        data = await reader.readexactly(size + 2)
        return data[:-2]

    async def _read_piece(self, conn: _Conn) -> bytes | None:
        """The next piece of a body of known length, or of one that ends with the connection; None at
        its end."""
        length = self._length
        if length is not None and length <= 0:
            return None
        conn.arm(self._pool.read_timeout_s)
        if length is None:  # until the upstream closes the connection
            return await conn.reader.read(_READ_SIZE) or None
        data = await conn.reader.read(min(length, _READ_SIZE))
        if not data:
            raise asyncio.IncompleteReadError(b"", length)
        self._length = length - len(data)
        return data

    async def aclose(self) -> None:
        """Give the connection back to the pool when the body was read whole, else close it."""
        conn, self._conn = self._conn, None
        if conn is not None:
            self._pool._release(conn, self._done and self._keep)


class UpstreamPool:
    """Keep-alive connections to one upstream ``scheme://host:port``. Made inside the event loop that
    uses it; not shared between loops."""

    def __init__(self, scheme: str, host: str, port: int, connect_timeout_s: float = 5.0,
                 read_timeout_s: float = 600.0, max_connections: int = 1000, keepalive_s: float = 5.0,
                 ssl_context: _ssl.SSLContext | None = None, slot_timeout_s: float = 10.0) -> None:
        if scheme not in ("http", "https"):
            raise ValueError(f"unsupported scheme {scheme!r}")
        self.host, self.port = host, port
        self.connect_timeout_s = connect_timeout_s
        self.read_timeout_s = read_timeout_s
        self.keepalive_s = keepalive_s
        self.slot_timeout_s = slot_timeout_s
        self._ssl = (ssl_context or _ssl.create_default_context()) if scheme == "https" else None
        self._idle: deque[_Conn] = deque()
        self._slots = asyncio.Semaphore(max_connections)
        self._closed = False

    # ---- connections ----------------------------------------------------------------------------
    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(self.host, self.port, ssl=self._ssl, limit=_HEAD_LIMIT,
                                        server_hostname=self.host if self._ssl else None),
                self.connect_timeout_s)
        except asyncio.TimeoutError:
            raise UpstreamTimeout(f"connecting took over {self.connect_timeout_s:g} s") from None
        except (OSError, _ssl.SSLError) as e:
            raise UpstreamError(f"{type(e).__name__}: {e}") from None
        return _Conn(reader, writer, loop)

    def _take_idle(self) -> _Conn | None:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if conn.usable() and conn.loop.time() - conn.idle_since < self.keepalive_s:
                conn.reused = True
                return conn
            conn.close()
        return None

    def _release(self, conn: _Conn, keep: bool) -> None:
        conn.busy = False
        idle = self._idle
        if keep and not self._closed and not conn.timed_out and conn.usable():
            now = conn.idle_since = conn.loop.time()
            idle.append(conn)
            while now - idle[0].idle_since >= self.keepalive_s:  # the oldest first: expired ones closed
                idle.popleft().close()
        else:
            conn.close()
        self._slots.release()

    def _failure(self, conn: _Conn, e: BaseException, doing: str) -> UpstreamError:
        if conn.timed_out:
            return UpstreamTimeout(f"no data for {self.read_timeout_s:g} s while {doing}")
        if isinstance(e, asyncio.IncompleteReadError):
            return UpstreamError(f"connection closed while {doing}")
        if isinstance(e, UpstreamError):
            return e
        return UpstreamError(f"{type(e).__name__} while {doing}: {e}")

    async def aclose(self) -> None:
        self._closed = True
        while self._idle:
            self._idle.pop().close()

    # ---- requests -------------------------------------------------------------------------------
    async def request(self, method: bytes, target: bytes, headers: list[tuple[bytes, bytes]],
                      body: bytes | AsyncIterator[bytes] = b"") -> Response:
        """Send one request (``headers`` complete: host, content-length...); the response once its head
        has arrived. ``body``: bytes, or an async iterator of bytes sent as they come (not retried)."""
        head = b"".join([method, b" ", target, b" HTTP/1.1\r\n",
                         *[k + b": " + v + _CRLF for k, v in headers], _CRLF])
        if self._slots.locked():  # all busy: wait, but not for ever
            try:
                await asyncio.wait_for(self._slots.acquire(), self.slot_timeout_s)
            except asyncio.TimeoutError:
                raise UpstreamBusy(f"no connection came free in {self.slot_timeout_s:g} s") from None
        else:
            await self._slots.acquire()
        try:
            conn = self._take_idle()
            if conn is not None and isinstance(body, bytes):
                try:
                    return await self._exchange(conn, method, head, body)
                except _Stale:
                    conn = None  # the upstream had closed it: once more on a new connection
            if conn is None:
                conn = await self._connect()
            try:
                return await self._exchange(conn, method, head, body)
            except _Stale as e:
                raise UpstreamError(f"connection closed before the response: {e}") from None
        except BaseException:
            self._slots.release()
            raise

    async def _exchange(self, conn: _Conn, method: bytes, head: bytes,
                        body: bytes | AsyncIterator[bytes]) -> Response:
        """Write the request and read the response head; on failure the connection is closed."""
        stage = "sending the request"
        try:
            await self._send(conn, head, body)
            stage = "waiting for the response"
            status, version, fields = await self._read_head(conn)
            length, chunked, keep = _framing(method, status, version, fields)
        except BaseException as e:
            conn.close()
            error = self._exchange_error(conn, e, stage)
            if error is None:
                raise  # cancelled (the client left), or already an UpstreamError: the connection is not reused
            raise error from None
        conn.busy = False
        return Response(self, conn, status, fields, length, chunked, keep)

    async def _send(self, conn: _Conn, head: bytes, body: bytes | AsyncIterator[bytes]) -> None:
        timeout = self.read_timeout_s
        conn.arm(timeout)
        writer = conn.writer
        if isinstance(body, bytes):
            if len(body) <= _READ_SIZE:
                writer.write(head + body if body else head)
            else:
                writer.write(head)
                writer.write(body)
            if conn.transport.get_write_buffer_size() > _READ_SIZE:
                await writer.drain()
            return
        writer.write(head)
        async for piece in body:
            conn.arm(timeout)
            writer.write(piece)
            await writer.drain()

    async def _read_head(self, conn: _Conn) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
        """The final response head (interim 1xx responses other than 101 skipped)."""
        reader = conn.reader
        while True:
            conn.arm(self.read_timeout_s)
            status, version, fields = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            if status >= 200 or status == 101:
                return status, version, fields

    def _exchange_error(self, conn: _Conn, e: BaseException, stage: str) -> BaseException | None:
        """What a failed exchange raises instead of ``e``; None: ``e`` itself (cancelled, or already ours)."""
        if isinstance(e, (asyncio.IncompleteReadError, ConnectionResetError, BrokenPipeError)):
            if conn.reused and not conn.timed_out and not getattr(e, "partial", b""):
                return _Stale(type(e).__name__)
            return self._failure(conn, e, stage)
        if isinstance(e, (asyncio.LimitOverrunError, ValueError)):
            return UpstreamError(f"malformed response head ({type(e).__name__}: {e})")
        if isinstance(e, (OSError, _ssl.SSLError)):
            return self._failure(conn, e, stage)
        return None


def _framing(method: bytes, status: int, version: bytes,
             fields: list[tuple[bytes, bytes]]) -> tuple[int | None, bool, bool]:
    """(length, chunked, keep-alive) of a response body from its request method and response head."""
    length, chunked, keep = _header_framing(fields, keep=version == b"HTTP/1.1")
    if status == 101:  # switched protocols: the connection is no longer HTTP/1.1 (never pooled)
        return 0, False, False
    if method == b"HEAD" or status in _NO_BODY_STATUS:
        return 0, False, keep
    if chunked:
        return None, True, keep
    if length is None:
        keep = False  # the body ends with the connection
    return length, False, keep


def _header_framing(fields: list[tuple[bytes, bytes]], keep: bool) -> tuple[int | None, bool, bool]:
    """(content-length, chunked, keep-alive) as the response's header fields state them.

    With a Transfer-Encoding, Content-Length is ignored, and the connection is closed after the body
    when both came (RFC 9112 section 6.3: a sign of smuggling, or of an upstream that frames badly); a
    final coding other than chunked means the body ends with the connection."""
    length: int | None = None
    chunked = coded = False
    for k, v in fields:
        if k == b"content-length":
            if not v.isdigit():
                raise UpstreamError(f"bad content-length {v[:40]!r}")
            length = int(v)
        elif k == b"transfer-encoding":
            coded = True
            chunked = v.lower().rsplit(b",", 1)[-1].strip() == b"chunked"
        elif k == b"connection":
            tokens = v.lower()
            if b"close" in tokens:
                keep = False
            elif b"keep-alive" in tokens:
                keep = True
    if coded:
        if length is not None:
            keep = False
        length = None
    return length, chunked, keep


def _parse_head(raw: bytes) -> tuple[int, bytes, list[tuple[bytes, bytes]]]:
    """(status, version, [(lower-case name, value)]) of a response head ending in a blank line."""
    lines = raw[:-4].split(_CRLF)
    parts = lines[0].split(b" ", 2)
    version = parts[0]
    if not version.startswith(b"HTTP/1.") or len(parts) < 2 or len(parts[1]) != 3:
        raise ValueError(f"bad status line {lines[0][:60]!r}")
    status = int(parts[1])
    fields: list[tuple[bytes, bytes]] = []
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name[-1:] in (b" ", b"\t"):
            if line[:1] in (b" ", b"\t") and fields:  # obsolete line folding: part of the previous value
                k, v = fields[-1]
                fields[-1] = (k, v + b" " + line.strip())
                continue
            raise ValueError(f"bad header line {line[:60]!r}")
        fields.append((name.lower(), value.strip()))
    return status, version, fields
