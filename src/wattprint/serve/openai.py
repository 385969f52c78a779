"""What the accountant needs to know about OpenAI-compatible traffic, and nothing else.

* a registry of the routes that do inference, each with how to estimate its prompt tokens from the
  request body (exact when the request carries token ids; otherwise characters / 4, the rule of thumb
  OpenAI gives for English text: "1 token ~= 4 chars", help.openai.com "What are tokens and how to count
  them?"). The upstream's ``usage`` replaces the estimate when it reports one;
* an SSE scanner that frames a byte stream into events without changing a byte, counts generated tokens
  (one per chunk and choice that carries content) and picks up ``usage`` and ``data: [DONE]``.

Prompt text is read only to count characters: it is never stored or logged.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

CHARS_PER_TOKEN = 4.0  # OpenAI help centre rule of thumb for English text (see module docstring)
MAX_EVENT_BYTES = 1 << 20  # a larger SSE event is passed on unread (OpenAI's chunks are a few hundred bytes)

log = logging.getLogger("wattprint.serve.proxy")


def _text_chars(value: Any) -> tuple[float, bool]:
    """(characters or token ids, exact?) of a prompt value: str, list of str, token ids, nested lists.

    Exact when every innermost value is a non-empty list of token ids. Walked with a stack, not by
    recursion: a client's nesting depth must not reach Python's recursion limit."""
    total, exact = 0.0, True
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str):
            total += len(v)
            exact = False
        elif isinstance(v, list):
            if v and all(isinstance(x, int) for x in v):
                total += len(v)
            else:
                exact = exact and bool(v)
                stack.extend(v)
        elif isinstance(v, dict):  # a content part: {"type": "text", "text": ...}
            stack.append(v.get("text", ""))
        else:
            exact = False
    return total, exact


def _chat_prompt(body: dict[str, Any]) -> tuple[float, bool]:
    chars = 0.0
    messages = body.get("messages")
    for msg in messages if isinstance(messages, list) else ():
        if isinstance(msg, dict):
            chars += _text_chars(msg.get("content", ""))[0]
    return chars, False


def _field_prompt(name: str) -> Callable[[dict[str, Any]], tuple[float, bool]]:
    def estimate(body: dict[str, Any]) -> tuple[float, bool]:
        return _text_chars(body.get(name, ""))

    return estimate


@dataclass(frozen=True)
class Route:
    name: str
    suffix: str
    prompt: Callable[[dict[str, Any]], tuple[float, bool]]
    streams: bool  # whether the route can answer with SSE


# Longest suffix first, so that "/v1/chat/completions" is not taken for "/v1/completions".
ROUTES: tuple[Route, ...] = (
    Route("chat.completions", "/chat/completions", _chat_prompt, True),
    Route("completions", "/completions", _field_prompt("prompt"), True),
    Route("embeddings", "/embeddings", _field_prompt("input"), False),
)


@dataclass(frozen=True)
class RequestInfo:
    route: str
    prompt_tokens: float
    prompt_source: str  # "token-ids", "chars/4" or "unparsed"
    stream: bool


def inspect_request(method: str, path: str, body: bytes) -> RequestInfo | None:
    """The route and prompt estimate of an inference request, or None when the path is not one."""
    if method.upper() != "POST":
        return None
    route = next((r for r in ROUTES if path.rstrip("/").endswith(r.suffix)), None)
    if route is None:
        return None
    unparsed = RequestInfo(route.name, 0.0, "unparsed", False)
    # Whatever the body holds (broken JSON, JSON of another shape, nesting past the recursion limit), the
    # request is forwarded as it is: the upstream answers it, accounted with no prompt tokens.
    try:
        parsed = json.loads(body) if body else None
        if not isinstance(parsed, dict):
            return unparsed
        n, exact = route.prompt(parsed)
    except Exception:  # RecursionError from json.loads included
        return unparsed
    tokens = n if exact else n / CHARS_PER_TOKEN
    return RequestInfo(route.name, tokens, "token-ids" if exact else "chars/4",
                       bool(route.streams and parsed.get("stream") is True))


def _chunk_tokens(obj: dict[str, Any]) -> int:
    n = 0
    for choice in obj.get("choices") or []:
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        if isinstance(delta, dict):
            if delta.get("content") or delta.get("reasoning_content") or delta.get("tool_calls"):
                n += 1
        elif choice.get("text"):
            n += 1
    return n


class SseScanner:
    """Frames SSE bytes into whole events (kept byte for byte) and reads what the accountant needs.

    Each byte is searched once for an event's end (a feed resumes where the last one stopped), so a read
    holding thousands of events costs time in proportion to its length. An unfinished event past
    ``max_event_bytes`` is passed on as it comes, unread, up to its end (its tokens are not counted; the
    log says so once per stream), so that an upstream cannot make the proxy hold a stream in memory."""

    def __init__(self, take_receipts: bool = False, max_event_bytes: int = MAX_EVENT_BYTES) -> None:
        self._buf = b""
        self._scanned = 0  # where the search for an event's end resumes in _buf
        self._skipping = False  # inside an event too large to read
        self.max_event_bytes = max_event_bytes
        self.usage: dict[str, int] | None = None
        self.done = False
        self.tokens = 0
        self.take_receipts = take_receipts  # an upstream proxy's receipt comment is taken out of the stream
        self.upstream_receipt: dict[str, Any] | None = None
        self.oversized = 0  # events passed on unread

    def feed(self, chunk: bytes) -> list[tuple[bytes, int, bool]]:
        """Whole events completed by ``chunk``: (raw bytes, generated tokens, is ``[DONE]``); and the
        bytes of an event too large to read, as they come (no tokens)."""
        buf = self._buf + chunk if self._buf else chunk
        out: list[tuple[bytes, int, bool]] = []
        start, pos = 0, self._scanned
        search = _EVENT_END.search
        while (m := search(buf, pos)) is not None:
            pos = m.end()
            raw = buf[start:pos]
            out.append((raw, 0, False) if self._skipping else self._read(raw))
            self._skipping = False
            start = pos
        rest = buf[start:] if start else buf
        if self._skipping or len(rest) > self.max_event_bytes:
            if not self._skipping:
                self._skipping = True
                self.oversized += 1
                if self.oversized == 1:
                    log.warning("an SSE event over %d bytes is passed on unread (its tokens are not counted)",
                                self.max_event_bytes)
            if len(rest) > _SEP_MAX - 1:  # the last bytes may begin the event's end
                out.append((rest[:1 - _SEP_MAX], 0, False))
                rest = rest[1 - _SEP_MAX:]
        self._buf = rest
        self._scanned = max(0, len(rest) - (_SEP_MAX - 1))  # a separator may straddle two feeds
        return out

    def rest(self) -> bytes:
        """Bytes of an unfinished event at the end of the stream."""
        rest, self._buf = self._buf, b""
        self._scanned = 0
        self._skipping = False
        return rest

    def _read(self, raw: bytes) -> tuple[bytes, int, bool]:
        theirs = _RECEIPT_COMMENT.match(raw) if raw[:1] == b":" and self.take_receipts else None
        if theirs is not None:
            # an upstream's receipt comment: kept for ours (under "upstream") when it is one, else dropped;
            # either way not passed on beside ours
            try:
                got = json.loads(raw[theirs.end():])
            except (ValueError, UnicodeDecodeError, RecursionError):
                got = None
            if isinstance(got, dict):
                self.upstream_receipt = got
            return b"", 0, False
        data = b"\n".join(line[5:].lstrip(b" ") for line in raw.splitlines() if line.startswith(b"data:"))
        if data.strip() == b"[DONE]":
            self.done = True
            return raw, 0, True
        if b'"usage"' not in data and data.count(b'"index"') <= 1:  # one choice, no usage: no parse needed
            n = 1 if _TOKEN_FIELD.search(data) else 0
            self.tokens += n
            return raw, n, False
        try:
            obj = json.loads(data) if data else None
        except (ValueError, UnicodeDecodeError, RecursionError):
            return raw, 0, False
        if not isinstance(obj, dict):
            return raw, 0, False
        if isinstance(obj.get("usage"), dict):
            self.usage = {k: v for k, v in obj["usage"].items() if isinstance(v, int)}
        n = _chunk_tokens(obj)
        self.tokens += n
        return raw, n, False


# A non-empty content/text/reasoning string or a tool call, as a JSON member (escaped quotes inside
# strings cannot match: the name must sit between unescaped quotes and be followed by a colon).
_TOKEN_FIELD = re.compile(rb'"(?:content|text|reasoning_content)"\s*:\s*"(?!")|"tool_calls"\s*:\s*\[')


# The end of an event: a blank line. The leftmost match is the one that ends first (a CRLF pair cannot
# contain one of the two-byte forms), so events split as a search for the earliest end of each would.
_RECEIPT_COMMENT = re.compile(rb":[ \t]*wattprint(?:[ \t\r\n]|$)")
_EVENT_END = re.compile(rb"\r\n\r\n|\n\n|\r\r")
_SEP_MAX = 4


def json_usage(body: bytes) -> dict[str, int] | None:
    """``usage`` of a non-streamed JSON response, or None."""
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    if isinstance(obj, dict) and isinstance(obj.get("usage"), dict):
        return {k: v for k, v in obj["usage"].items() if isinstance(v, int)}
    return None
