"""One streamed request and what it cost in time: send, first token, every token chunk, end, usage.

httpx (the ``serve`` extra) does the HTTP; an SSE stream is read line by line. Token timestamps are those of
the content chunks; ``usage`` (asked for with ``stream_options.include_usage``) gives the engine's own token
counts, and where an engine sends none the chunks are counted instead (recorded as such).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

from wattprint.loadgen.target import Target
from wattprint.loadgen.workload import RequestSpec

RECEIPT_PREFIX = ": wattprint "


@dataclass
class RequestResult:
    index: int
    start: float  # time.perf_counter()
    requested_tokens: int
    end: float | None = None
    first_token: float | None = None
    token_times: list[float] = field(default_factory=list)  # one per content chunk
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    token_source: str = "chunks"  # "usage" when the engine reported it
    error: str | None = None
    status: int | None = None
    receipt: dict[str, Any] | None = None  # a wattprint proxy's receipt, when one sits in front
    warmup: bool = False
    stopped: float | None = None  # when it ended, for any reason (in-flight counting)

    @property
    def ok(self) -> bool:
        return self.error is None and self.end is not None

    @property
    def output_tokens(self) -> int:
        return self.completion_tokens if self.completion_tokens is not None else len(self.token_times)

    def chunk_weight(self) -> float:
        """Output tokens per content chunk (engines may send several tokens in one chunk)."""
        n = len(self.token_times)
        return self.output_tokens / n if n else 0.0


def _delta_text(event: dict[str, Any]) -> str:
    choices = event.get("choices") or []
    if not choices:
        return ""
    c = choices[0]
    if "delta" in c:
        return (c["delta"] or {}).get("content") or ""
    return c.get("text") or ""


def _on_line(line: str, res: RequestResult) -> None:
    if line.startswith(RECEIPT_PREFIX):
        try:
            res.receipt = json.loads(line[len(RECEIPT_PREFIX):])
        except json.JSONDecodeError:
            res.receipt = None
        return
    if not line.startswith("data:"):
        return
    payload = line[5:].strip()
    if payload == "[DONE]" or not payload:
        return
    event = json.loads(payload)
    if "error" in event:
        raise _StreamError(str(event["error"].get("message", event["error"])
                               if isinstance(event["error"], dict) else event["error"]))
    if _delta_text(event):
        now = time.perf_counter()
        if res.first_token is None:
            res.first_token = now
        res.token_times.append(now)
    usage = event.get("usage")
    if usage:
        res.prompt_tokens = usage.get("prompt_tokens")
        res.completion_tokens = usage.get("completion_tokens")
        res.token_source = "usage"


class _StreamError(Exception):
    pass


def _error_text(status: int, body: bytes) -> str:
    text = body.decode("utf-8", "replace")
    try:
        obj = json.loads(text)
        detail = obj.get("detail") or obj.get("error") or obj
        if isinstance(detail, dict):
            detail = detail.get("message", detail)
        text = str(detail)
    except (json.JSONDecodeError, AttributeError):
        pass
    return f"HTTP {status}: {text[:200]}"


async def send(client: Any, target: Target, spec: RequestSpec, index: int, warmup: bool = False) -> RequestResult:
    """Send one streamed request; never raises for the server's or the network's failures (they are recorded)."""
    import httpx

    res = RequestResult(index, time.perf_counter(), spec.output_tokens, warmup=warmup)
    try:
        async with client.stream("POST", target.route, json=target.body(spec)) as r:
            res.status = r.status_code
            if r.status_code != 200:
                res.error = _error_text(r.status_code, await r.aread())
            else:
                async for line in r.aiter_lines():
                    _on_line(line, res)
                res.end = time.perf_counter()
    except _StreamError as e:
        res.error = f"error in stream: {e}"
    except (httpx.HTTPError, json.JSONDecodeError) as e:
        res.error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    if res.ok and not res.token_times:
        res.error, res.end = "stream ended without any output token", None
    res.stopped = time.perf_counter()
    return res
