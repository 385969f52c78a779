"""Starting or joining Ray, and checking that a cluster can run a plan's jobs at all.

Without an address the sweep starts a small local Ray instance: no dashboard, a small object store
(records are kilobytes), as many CPUs as the plan's ``[ray]`` says or the machine has. With an address
it joins that cluster and leaves it running afterwards.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from wattprint.cluster.plan import RayOptions, SweepJob
from wattprint.core.errors import ConfigError

MIN_OBJECT_STORE_MB = 80  # Ray refuses less than about 75 MiB


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as e:
        raise ConfigError("sweeps need Ray", "pip install 'wattprint[cluster]'") from e
    return ray


@contextmanager
def ray_session(address: str | None, options: RayOptions, *, verbose: bool = False) -> Iterator[Any]:
    """Yield the ``ray`` module connected to a cluster; shut down only what this call started.

    A process already connected to Ray (a notebook, a test fixture) keeps its connection.
    """
    if address:
        _use_token_if_present()  # before Ray reads its configuration at import
    ray = _import_ray()
    if ray.is_initialized():
        yield ray
        return
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no phoning home from a measurement tool
    common: dict[str, Any] = {"log_to_driver": verbose, "include_dashboard": False}
    if address:
        try:
            ray.init(address=address, **common)
        except ConnectionError as e:
            raise ConfigError(
                f"cannot join the Ray cluster at {address}: {e}",
                "check the address (`ray status` on the head node prints it) and, for a cluster with token "
                "authentication, that this machine has its token (~/.ray/auth_token or RAY_AUTH_TOKEN)",
            ) from e
    else:
        ray.init(**local_init_kwargs(options), **common)
    try:
        yield ray
    finally:
        ray.shutdown()


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
