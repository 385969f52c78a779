"""An engine that wattprint starts from the user's command line, waits for, meters, and stops.

The command runs in a session of its own (its own process group), with its output in a log file (never a
pipe that could fill). Ready means ``GET /v1/models`` answers 200. Stopping sends SIGINT to the group (what
Ctrl-C would), then SIGTERM, then SIGKILL, each after a grace period, so no engine process outlives the
benchmark. Its pid roots the process tree whose CPU and memory the meter counts.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from wattprint.core.errors import ConfigError

GRACE_S = (10.0, 5.0)  # after SIGINT, after SIGTERM


def models_url(url: str) -> str:
    u = url.rstrip("/")
    return (u if u.endswith("/v1") else u + "/v1") + "/models"


def answers(url: str, timeout_s: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(models_url(url), timeout=timeout_s) as r:  # noqa: S310 - the user's URL
            return int(r.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


class Engine:
    """``with Engine(cmd, url) as e:`` starts ``cmd``, waits until ``url`` serves, and stops it on exit."""

    def __init__(self, command: str | list[str], url: str, ready_timeout_s: float = 600.0,
                 env: dict[str, str] | None = None, log_path: str | None = None) -> None:
        self.argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not self.argv:
            raise ConfigError("empty engine command", fix="e.g. --launch 'transformers serve MODEL --port 8000'")
        self.url = url
        self.ready_timeout_s = ready_timeout_s
        self.env = env
        if log_path is None:
            with tempfile.NamedTemporaryFile(prefix="wattprint-engine-", suffix=".log", delete=False) as f:
                log_path = f.name
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.ready_after_s: float | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def log_tail(self, lines: int = 8) -> str:
        try:
            text = Path(self.log_path).read_text(errors="replace").splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])

    def start(self) -> Engine:
        if answers(self.url, 1.0):
            raise ConfigError(f"something already serves {self.url}; wattprint would measure it, not the engine "
                              "it starts", fix="stop it, or give the engine another port (and --url)")
        log = open(self.log_path, "wb")  # noqa: SIM115 - handed to the child, closed below
        try:
            self.proc = subprocess.Popen(self.argv, stdout=log, stderr=subprocess.STDOUT, env=self.env,
                                         start_new_session=True)
        except FileNotFoundError as e:
            raise ConfigError(f"cannot start the engine: {self.argv[0]} not found",
                              fix="check the --launch command line") from e
        finally:
            log.close()
        try:
            self._wait_ready(time.perf_counter())
        except BaseException:  # Ctrl-C or an error while waiting: no engine is left behind
            self.stop()
            raise
        return self

    def _wait_ready(self, t0: float) -> None:
        assert self.proc is not None
        while not answers(self.url, 2.0):
            if self.proc.poll() is not None:
                raise ConfigError(f"the engine exited with code {self.proc.returncode} before serving "
                                  f"{self.url}; its last lines:\n{self.log_tail()}",
                                  fix=f"run the --launch command by hand to see why (full log: {self.log_path})")
            if time.perf_counter() - t0 > self.ready_timeout_s:
                self.stop()
                raise ConfigError(f"the engine did not serve {models_url(self.url)} within "
                                  f"{self.ready_timeout_s:.0f} s", fix="raise --ready-timeout, or check --url "
                                  f"matches the engine's port (log: {self.log_path})")
            time.sleep(0.25)
        self.ready_after_s = time.perf_counter() - t0

    def stop(self) -> int | None:
        """Stop the whole process group; the engine's exit code (None if it had to be killed)."""
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        code: int | None = None
        for sig, grace in ((signal.SIGINT, GRACE_S[0]), (signal.SIGTERM, GRACE_S[1])):
            self._signal(sig)
            try:
                code = self.proc.wait(timeout=grace)
                break
            except subprocess.TimeoutExpired:
                continue
        self._signal(signal.SIGKILL)  # whatever of the group is left (a worker that outlived its parent)
        if code is None:
            self.proc.wait(timeout=5)
        return code

    def _signal(self, sig: int) -> None:
        assert self.proc is not None
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
