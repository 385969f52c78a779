"""Starting or joining Ray, and checking that a cluster can run a plan's jobs at all.

Without an address the sweep starts a small local Ray instance: no dashboard, a small object store
(records are kilobytes), as many CPUs as the plan's ``[ray]`` says or the machine has. With an address
it joins that cluster and leaves it running afterwards.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from wattprint.cluster.plan import RayOptions, SweepJob
from wattprint.core.errors import ConfigError
from wattprint.core.net import tcp_probe
from wattprint.core.signals import Interrupted

MIN_OBJECT_STORE_MB = 80  # Ray refuses less than about 75 MiB
CONNECT_TIMEOUT_S = 3.0  # a reachable GCS or Ray Client server answers a TCP connect in milliseconds
DEFAULT_GCS_PORT = 6379  # Ray's defaults: `ray start --head` GCS port, Ray Client server port
DEFAULT_CLIENT_PORT = 10001
# A port that answers TCP but is no Ray GCS: Ray's driver retries about once a second, 20 times by default.
JOIN_WAIT_ENV, JOIN_WAIT_S = "RAY_gcs_server_port_wait_time_s", 5


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ConfigError("sweeps need Ray", "pip install 'wattprint[cluster]'") from e
    return ray


@contextmanager
def ray_session(address: str | None, options: RayOptions, *, verbose: bool = False) -> Iterator[Any]:
    """Yield the ``ray`` module connected to a cluster; shut down only what this call started.

    A process already connected to Ray (a notebook, a test fixture) keeps its connection. An address of
    the form ``host:port`` or ``ray://host:port`` that accepts no TCP connection within a few seconds is a
    :class:`ConfigError` before Ray is asked (Ray itself retries for minutes). Ray's own log lines are
    hidden unless ``verbose``.
    """
    if address:
        check_reachable(address)
        _use_token_if_present()  # before Ray reads its configuration at import
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home from a measurement tool
    common: dict[str, Any] = {"log_to_driver": verbose, "include_dashboard": False,
                              "logging_level": logging.INFO if verbose else logging.ERROR}
    with _ray_logs(verbose):
        _init(ray, address, options, common)
        try:
            yield ray
        finally:
            ray.shutdown()


def _init(ray: Any, address: str | None, options: RayOptions, common: dict[str, Any]) -> None:
    """``ray.init``, keeping this process's SIGTERM handler (Ray replaces it with ``sys.exit(15)``)."""
    on_main = threading.current_thread() is threading.main_thread()
    previous = signal.getsignal(signal.SIGTERM) if on_main else None
    try:
        if address:
            with _env_default(JOIN_WAIT_ENV, str(JOIN_WAIT_S)):
                ray.init(address=address, **common)
        else:
            ray.init(**local_init_kwargs(options), **common)
    except ConnectionError as e:
        raise ConfigError(
            f"cannot join the Ray cluster at {address}: {e}",
            "check the address (`ray status` on the head node prints it) and, for a cluster with token "
            "authentication, that this machine has its token (~/.ray/auth_token or RAY_AUTH_TOKEN)",
        ) from e
    except SystemExit as e:  # Ray's handler ran: SIGTERM arrived while Ray was starting
        if e.code == signal.SIGTERM:
            raise Interrupted(signal.SIGTERM) from None
        raise
    finally:
        if callable(previous):  # a handler someone installed on purpose (wattprint's CLI): put it back
            signal.signal(signal.SIGTERM, previous)


@contextmanager
def _env_default(name: str, value: str) -> Iterator[None]:
    """``name=value`` in the environment while open, unless the user set ``name``."""
    if name in os.environ:
        yield
        return
    os.environ[name] = value
    try:
        yield
    finally:
        os.environ.pop(name, None)


@contextmanager
def _ray_logs(verbose: bool) -> Iterator[None]:
    """Ray's logger (INFO by default: "Started a local Ray instance", token notices) at ERROR unless verbose."""
    logger = logging.getLogger("ray")
    level = logger.level
    if not verbose:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def ray_endpoint(address: str) -> tuple[str, int] | None:
    """The (host, port) a Ray address connects to, or None for one Ray resolves itself (``auto``, ``local``).

    ``host:port`` is the GCS of a cluster (port 6379 when left out); ``ray://host:port`` a Ray Client
    server (port 10001 when left out).
    """
    text = address.strip()
    if text.lower() in ("auto", "local", ""):
        return None
    default = DEFAULT_GCS_PORT
    if "://" in text:
        scheme, _, text = text.partition("://")
        if scheme.lower() != "ray":
            return None  # another scheme: Ray says what it makes of it
        default = DEFAULT_CLIENT_PORT
    url = urlsplit(f"//{text}")
    try:
        port = url.port or default
    except ValueError:
        raise ConfigError(f"Ray address {address!r} has no valid port",
                          "give HOST:PORT (e.g. 10.0.0.1:6379), ray://HOST:10001 or auto") from None
    if not url.hostname:
        raise ConfigError(f"Ray address {address!r} names no host",
                          "give HOST:PORT (e.g. 10.0.0.1:6379), ray://HOST:10001 or auto")
    return url.hostname, port


def check_reachable(address: str, timeout_s: float = CONNECT_TIMEOUT_S) -> None:
    """Raise :class:`ConfigError` when ``address`` names a host and port that take no TCP connection."""
    endpoint = ray_endpoint(address)
    if endpoint is None:
        return
    ok, why = tcp_probe(*endpoint, timeout_s)
    if not ok:
        raise ConfigError(
            f"no Ray cluster at {address}: {why}",
            "start one (`ray start --head` prints its address) or check the address and port; "
            "leave --ray-address out to run on a local Ray instance",
        )


def _use_token_if_present() -> None:
    """Send the Ray token when one is at hand and the auth mode is unset.

    Ray 2.60 starts local clusters with token authentication and saves the token in ~/.ray/auth_token,
    but ``ray.init(address=...)`` sends it only when RAY_AUTH_MODE=token (seen here: without it the
    join fails with "Authentication token is missing or incorrect").
    """
    if "RAY_AUTH_MODE" in os.environ:
        return
    token_file = Path(os.environ.get("RAY_AUTH_TOKEN_PATH", Path.home() / ".ray" / "auth_token"))
    if os.environ.get("RAY_AUTH_TOKEN") or token_file.is_file():
        os.environ["RAY_AUTH_MODE"] = "token"
        if "ray" in sys.modules:  # imported already: Ray's own refresh of its cached configuration
            try:
                from ray._private.authentication.authentication_token_setup import _enable_token_auth
            except ImportError:
                return
            _enable_token_auth()


def local_init_kwargs(options: RayOptions) -> dict[str, Any]:
    """Keyword arguments of ``ray.init`` for a light local instance."""
    kw: dict[str, Any] = {
        "num_cpus": options.num_cpus or os.cpu_count() or 1,
        "object_store_memory": max(options.object_store_mb, MIN_OBJECT_STORE_MB) * 1024 * 1024,
    }
    if options.num_gpus is not None:
        kw["num_gpus"] = options.num_gpus
    return kw


def check_feasible(ray: Any, jobs: Sequence[SweepJob]) -> None:
    """Raise :class:`ConfigError` when some job needs more than any node of the cluster has.

    Ray would otherwise queue such a job forever. (An autoscaling cluster may grow; start it with the
    node types the plan needs.)
    """
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    for sj in jobs:
        need = sj.resources
        if not any(r.get("CPU", 0) >= need.num_cpus and r.get("GPU", 0) >= need.num_gpus for r in nodes):
            biggest = max(((r.get("CPU", 0), r.get("GPU", 0)) for r in nodes), default=(0, 0))
            raise ConfigError(
                f"job {sj.label} needs {need.num_cpus:g} CPU and {need.num_gpus} GPU; the largest node of this "
                f"Ray cluster has {biggest[0]:g} CPU and {biggest[1]:g} GPU",
                "lower [resources] in the plan, or join a cluster with such nodes (--ray-address)",
            )
