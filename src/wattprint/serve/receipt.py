"""A response's energy and carbon receipt, and the three ways it travels with the response.

* headers ``X-Wattprint-*`` (non-streamed responses, whose body the proxy holds until it is complete);
* a ``"wattprint"`` member added at the end of a non-streamed JSON object, beside ``usage``;
* an SSE *comment* line ``: wattprint {json}`` just before ``data: [DONE]`` of a streamed response.
  SSE parsers (the WHATWG spec; the OpenAI SDKs) skip lines that start with a colon, so a client that does
  not look for the receipt never sees it; a ``data:`` event would reach client code as a chunk without
  ``choices``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any

from wattprint.core.units import J_PER_WH

HEADER_PREFIX = "x-wattprint-"
SSE_COMMENT_PREFIX = b": wattprint "


@dataclass(frozen=True, slots=True)
class Receipt:
    """Energy of one request (joules) with how it was obtained.

    ``energy_j = dynamic_j + idle_j``: the request's share of the energy above idle, plus the idle energy
    amortised to it by the policy (0 under ``none``). ``provisional_j`` is the part of ``energy_j`` not
    final yet when the receipt was issued (intervals still open, or the last fraction of a second that the
    meter had not closed, estimated from the latest interval's power); the final figure is served at
    ``/wattprint/receipts/<id>`` once settled.
    """

    id: str
    route: str
    final: bool
    energy_j: float
    dynamic_j: float
    idle_j: float
    provisional_j: float
    by_kind_j: dict[str, float]
    prompt_tokens: int
    completion_tokens: int
    token_source: str
    method: str
    attribution: str
    duration_s: float
    completed: bool
    gco2e: float | None = None
    carbon: dict[str, Any] | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)
    upstream: Any = None  # the receipt an upstream wattprint proxy gave (chained proxies), as it came

    @property
    def energy_wh(self) -> float:
        return self.energy_j / J_PER_WH

    def to_dict(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}  # shallow: receipts are made often
        d["energy_wh"] = self.energy_wh
        d["warnings"] = list(self.warnings)
        if self.upstream is None:
            del d["upstream"]
        d["unit"] = "J"
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def headers(self) -> dict[str, str]:
        h = {
            "x-wattprint-request-id": self.id,
            "x-wattprint-energy-wh": f"{self.energy_wh:.6g}",
            "x-wattprint-energy-j": f"{self.energy_j:.6g}",
            "x-wattprint-method": self.method,
            "x-wattprint-attribution": self.attribution,
            "x-wattprint-final": "true" if self.final else "false",
        }
        if self.gco2e is not None:
            h["x-wattprint-gco2e"] = f"{self.gco2e:.6g}"
        return h

    def sse_comment(self) -> bytes:
        return SSE_COMMENT_PREFIX + self.to_json().encode() + b"\n\n"


def splice_json(body: bytes, receipt: Receipt) -> bytes | None:
    """``body`` with ``"wattprint": {...}`` added as the last member of its top-level object.

    The bytes before the closing brace are kept as they are (no re-serialisation, so number formats and
    key order do not change). Returns None when the body is not a JSON object.
    """
    stripped = body.rstrip()
    if not stripped.endswith(b"}") or not body.lstrip().startswith(b"{"):
        return None
    inner = stripped[:-1].rstrip()
    sep = b"" if inner.endswith(b"{") else b","
    member = b'"wattprint":' + receipt.to_json().encode()
    return inner + sep + member + b"}" + body[len(stripped):]


def parse_sse_comment(line: bytes | str) -> dict[str, Any] | None:
    """The receipt in an SSE comment line, or None (for clients that want to read it): None too for a
    ``: wattprint`` comment that does not hold a JSON object."""
    raw = line.encode() if isinstance(line, str) else line
    raw = raw.strip()
    if not raw.startswith(SSE_COMMENT_PREFIX):
        return None
    try:
        got = json.loads(raw[len(SSE_COMMENT_PREFIX):].strip())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return got if isinstance(got, dict) else None


def take_json_member(body: bytes) -> tuple[bytes, Any]:
    """``body`` without its top-level ``"wattprint"`` member (an upstream proxy's receipt), and that member.

    The usual case, the member last (as :func:`splice_json` puts it), is cut out of the bytes, leaving the
    rest as it was; otherwise the object is serialised again without it. ``(body, None)`` when there is
    none."""
    if b'"wattprint"' not in body:
        return body, None
    try:
        obj = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body, None
    if not isinstance(obj, dict) or "wattprint" not in obj:
        return body, None
    theirs = obj.pop("wattprint")
    stripped = body.rstrip()
    at = stripped.rfind(b'"wattprint"')
    head = stripped[:at].rstrip()
    cut = (head[:-1] if head.endswith(b",") else head) + b"}" + body[len(stripped):]
    try:
        if json.loads(cut) == obj:
            return cut, theirs
    except (ValueError, UnicodeDecodeError, RecursionError):
        pass
    return json.dumps(obj, separators=(",", ":")).encode(), theirs
