"""CPU time and resident memory of this process and its descendants, read cheaply.

Window edges cost about a microsecond when this process has no live descendants: ``os.times()`` gives
this process (all threads) plus every child it has already waited for. Live descendants are *found* by
the sampler thread (``scan``, once a second: ``/proc/<pid>/task/<tid>/children``, never a walk over
every process on the machine) and, at an edge, each one found is read fresh with one ``/proc/<pid>/stat``
read (~5 µs each; at most ``MAX_EDGE_READS``, the rest carry their last scanned value).

Resident memory is only read by the sampler (one ``statm``/``stat`` read per process): the RAM figure is
an estimate at 50% already, and a once-a-second sample of it is plenty.

Known limits (stated, not hidden): a descendant started less than one scan period before a window's end
and still running at that end is not yet known, so its CPU time so far is missed (a child that has been
waited for is always counted, through ``os.times()``). A child reaped in the microseconds between its
``stat`` read and ``os.times()`` at an edge is counted twice in that edge's reading.
"""

from __future__ import annotations

import os
import threading
import time

import psutil

MAX_EDGE_READS = 16  # live descendants read fresh at an edge; beyond that, the last scan's value is carried
_HAS_PROC = os.path.isdir("/proc/self/task")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100  # /proc times are in ticks
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for t in os.listdir(f"/proc/{pid}/task"):
            fd = os.open(f"/proc/{pid}/task/{t}/children", os.O_RDONLY)
            try:
                out.extend(int(x) for x in os.read(fd, 65536).split())
            finally:
                os.close(fd)
    except FileNotFoundError:
        if _HAS_PROC and not os.path.exists(f"/proc/{pid}"):
            return []  # the process ended
        return _children_psutil(pid)  # no /proc/*/children (not Linux, or CONFIG_PROC_CHILDREN off)
    except OSError:
        return _children_psutil(pid)
    return out


def _children_psutil(pid: int) -> list[int]:
    try:
        return [c.pid for c in psutil.Process(pid).children()]
    except psutil.Error:
        return []


def has_children() -> bool:
    """Whether this process has any child at all, from one ``waitid`` call (reaps nothing); True if unknown.

    Most meters run in a process with no children: the sampler then skips the walk entirely (on kernels
    without ``/proc/*/children`` that walk reads every process's ``stat`` through psutil: milliseconds)."""
    if not hasattr(os, "waitid"):
        return True
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except OSError:
        return True
    return True


def descendants(pid: int) -> list[int]:
    if pid == os.getpid() and not has_children():
        return []
    seen: list[int] = []
    stack = _children(pid)
    while stack:
        p = stack.pop()
        if p in seen:
            continue
        seen.append(p)
        stack.extend(_children(p))
    return seen


def read_stat(pid: int) -> tuple[float, int] | None:
    """(CPU seconds incl. waited-for children, RSS bytes) of ``pid`` from one ``/proc/<pid>/stat`` read."""
    try:
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
    except OSError:
        return None
    try:
        raw = os.read(fd, 4096)
    except OSError:
        return None
    finally:
        os.close(fd)
    if not raw:
        return None
    f = raw[raw.rindex(b")") + 2:].split()
    # fields after "pid (comm)": state=0 ... utime=11 stime=12 cutime=13 cstime=14 ... rss=21 (pages)
    return (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / CLOCK_TICKS, int(f[21]) * _PAGE


def _read_psutil(pid: int) -> tuple[float, int] | None:
    try:
        proc = psutil.Process(pid)
        with proc.oneshot():
            t = proc.cpu_times()
            return t.user + t.system + t.children_user + t.children_system, proc.memory_info().rss
    except psutil.Error:
        return None


def _read(pid: int) -> tuple[float, int] | None:
    return read_stat(pid) if _HAS_PROC else _read_psutil(pid)


class ProcessTree:
    """Owned by a meter; ``scan`` is called by the sampler, ``cpu_seconds`` at edges, ``rss`` anywhere."""

    def __init__(self, pid: int | None = None, min_rescan_s: float = 0.25) -> None:
        self.pid = os.getpid() if pid is None else pid
        self._lock = threading.Lock()
        self._live: dict[int, float] = {}  # live descendant pid -> CPU s at the last scan
        self._rss = 0  # resident bytes of the whole tree at the last scan
        self.scanned_at: float | None = None  # the caller's clock (``scan(now)``) at the last scan
        self._min_rescan_s = min_rescan_s  # the CPU and RAM backends share one tree: one scan per round

    def scan(self, now: float | None = None) -> None:
        """Find live descendants and read their CPU time and memory (sampler thread; ~10 µs per process).

        ``now``: the caller's clock (the meter's: a ManualClock in tests), which decides whether the last
        scan is recent enough to reuse (``min_rescan_s``); ``time.monotonic()`` when not given."""
        t = time.monotonic() if now is None else now
        if self.scanned_at is not None and 0 <= t - self.scanned_at < self._min_rescan_s:
            return
        live: dict[int, float] = {}
        rss = 0
        own = _read(self.pid)
        if own is not None:
            rss += own[1]
        for p in descendants(self.pid):
            r = _read(p)
            if r is None:
                continue  # a descendant that ended between listing and reading: its parent waits for it
            live[p] = r[0]
            rss += r[1]
        with self._lock:
            self._live = live
            self._rss = rss
            self.scanned_at = t

    def live_descendants(self) -> list[int]:
        with self._lock:
            return list(self._live)

    def cpu_seconds(self) -> tuple[float, int]:
        """CPU seconds of the tree now, and how many live descendants were carried from the last scan.

        This process and its waited-for children are read now (``os.times()``); each live descendant known
        from the last scan is read now too (up to ``MAX_EDGE_READS``; one that has ended since is skipped,
        its time being in its parent's waited-for children once reaped)."""
        live = self._live  # replaced whole by scan, never mutated: no lock needed to read it
        kids, carried = 0.0, 0
        for i, (p, last) in enumerate(live.items() if live else ()):
            if i >= MAX_EDGE_READS or not _HAS_PROC:
                kids += last
                carried += 1
                continue
            r = read_stat(p)
            if r is not None:
                kids += r[0]
        if self.pid == os.getpid():
            t = os.times()
            own = t.user + t.system + t.children_user + t.children_system
        else:
            r = _read(self.pid)
            own = r[0] if r is not None else 0.0
        return own + kids, carried

    def rss(self) -> tuple[float | None, int]:
        """(monotonic time, resident bytes of the tree) at the last scan; time None before any scan."""
        with self._lock:
            return self.scanned_at, self._rss
