"""Helpers of the tracker tests: the snippets of docs/integrations.md and some work to measure."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "integrations.md"


def snippets(heading: str) -> list[str]:
    """The ```python blocks of docs/integrations.md under ``## heading`` or ``### heading`` (up to the next
    heading of the same or a higher level), in page order."""
    text = DOC.read_text()
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, flags=re.M)
    assert m, f"no heading {heading!r} in {DOC}"
    level = len(m.group(1))
    rest = text[m.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    section = rest[: end.start()] if end else rest
    blocks = re.findall(r"^```python\n(.*?)^```", section, flags=re.M | re.S)
    assert blocks, f"no python snippet under {heading!r}"
    return blocks


def run_inference() -> float:
    """Some CPU work for the snippets to measure (~50 ms): the CPU estimate turns its CPU time into joules."""
    deadline = time.process_time() + 0.05
    x = 0.0
    while time.process_time() < deadline:
        x += sum(i * i for i in range(2000))
    return x


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
