"""CPU time and resident memory of this process and its descendants, read cheaply.

Edges use ``os.times()`` (this process, all threads, plus waited-for children: ~1 µs). Live descendants
are found through ``/proc/<pid>/task/<tid>/children`` (a few small files) and read with psutil by the
sampler thread every couple of seconds, never by scanning every process on the machine.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import psutil


def _children(pid: int) -> list[int]:
    out: list[int] = []
    task = Path(f"/proc/{pid}/task")
    try:
        for t in task.iterdir():
            out.extend(int(x) for x in (t / "children").read_text().split())
    except OSError:  # no /proc/*/children (not Linux, or CONFIG_PROC_CHILDREN off): ask psutil
        try:
            out = [c.pid for c in psutil.Process(pid).children()]
        except psutil.Error:
            return []
    return out


def descendants(pid: int) -> list[int]:
    seen, stack = [], _children(pid)
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.append(p)
        stack.extend(_children(p))
    return seen


class ProcessTree:
    """Owned by a meter; ``scan`` is called by the sampler, ``cpu_seconds``/``rss_bytes`` at edges."""

    def __init__(self, pid: int | None = None) -> None:
        self.pid = os.getpid() if pid is None else pid
        self._lock = threading.Lock()
        self._live: dict[int, tuple[float, int]] = {}  # pid -> (CPU s, RSS bytes) at the last scan
        self._self = psutil.Process(self.pid)

    def scan(self, now: float = 0.0) -> None:
        live: dict[int, tuple[float, int]] = {}
        for p in descendants(self.pid):
            try:
                proc = psutil.Process(p)
                with proc.oneshot():
                    t = proc.cpu_times()
                    live[p] = (t.user + t.system + t.children_user + t.children_system,
                               proc.memory_info().rss)
            except psutil.Error:
                continue  # a descendant that ended between listing and reading: its parent will wait for it
        with self._lock:
            self._live = live

    def _still_live(self) -> list[tuple[float, int]]:
        # a child reaped since the scan is gone from /proc and already in our children_* times
        with self._lock:
            items = list(self._live.items())
        return [v for p, v in items if os.path.exists(f"/proc/{p}") or not os.path.isdir("/proc")]

    def cpu_seconds(self) -> float:
        """CPU seconds of the tree: this process + waited children (now) + live descendants (last scan)."""
        if self.pid == os.getpid():
            t = os.times()
            own = t.user + t.system + t.children_user + t.children_system
        else:
            t = self._self.cpu_times()
            own = t.user + t.system + t.children_user + t.children_system
        return own + sum(c for c, _ in self._still_live())

    def rss_bytes(self) -> int:
        return self._self.memory_info().rss + sum(r for _, r in self._still_live())
