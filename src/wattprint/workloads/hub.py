"""Hub datasets through the ``datasets`` library (lazy; online only). Rows are streamed, never downloaded whole.

``datasets`` is an optional extra (``pip install wattprint[datasets]``); without it, or without the hub, the
synthetic workload is the way (``--workload synthetic`` or ``auto``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import Any

from wattprint.core.errors import ConfigError
from wattprint.workloads.specs import DatasetSpec

WORKLOADS = ("dataset", "synthetic", "auto")


def datasets_installed() -> bool:
    return importlib.util.find_spec("datasets") is not None


def resolve_workload(mode: str) -> tuple[str, str]:
    """("dataset" | "synthetic", reason) for ``mode`` in dataset | synthetic | auto. No download."""
    from wattprint.models.hub import hub_offline, hub_reachable

    if mode not in WORKLOADS:
        raise ConfigError(f"workload {mode!r} is not one of {', '.join(WORKLOADS)}")
    if mode != "auto":
        return mode, f"asked for {mode}"
    if not datasets_installed():
        return "synthetic", "auto: the datasets package is not installed"
    if hub_offline() or _datasets_offline():
        return "synthetic", "auto: HF_HUB_OFFLINE / HF_DATASETS_OFFLINE is set"
    ok, why = hub_reachable()
    return ("dataset", "auto: hub reachable") if ok else ("synthetic", f"auto: {why}")


def _datasets_offline() -> bool:
    import os

    return os.environ.get("HF_DATASETS_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")


def rows(spec: DatasetSpec, n: int, seed: int = 0, trust_remote_code: bool = False) -> list[dict[str, Any]]:
    """The first ``n`` rows of ``spec`` after a seeded shuffle buffer (streaming; needs the hub)."""
    if not datasets_installed():
        raise ConfigError(
            f"the dataset workload for {spec.name} needs the `datasets` package",
            fix="pip install 'wattprint[datasets]', or use --workload synthetic",
        )
    import datasets

    try:
        ds = datasets.load_dataset(spec.hub_id, spec.config, split=spec.split, streaming=True)
    except (OSError, ValueError, ConnectionError) as e:
        raise ConfigError(
            f"cannot load dataset {spec.hub_id} ({spec.config or 'default'}, {spec.split}): {e}",
            fix="check the network and hub access (some datasets are gated), or use --workload synthetic",
        ) from e
    ds = ds.shuffle(seed=seed, buffer_size=max(1000, n))
    out = list(_take(iter(ds), n))
    if len(out) < n:
        raise ConfigError(f"dataset {spec.name} gave only {len(out)} rows, {n} asked")
    return out


def _take(it: Iterator[dict[str, Any]], n: int) -> Iterator[dict[str, Any]]:
    for i, row in enumerate(it):
        if i >= n:
            return
        yield row


def column(spec: DatasetSpec, role: str) -> str:
    """The column holding ``role`` ("text", "label"...) in ``spec``'s rows."""
    if role not in spec.fields:
        raise ConfigError(f"dataset {spec.name} has no {role!r} field (has {sorted(spec.fields)})")
    return spec.fields[role]
