"""Loading a model for a task: which weights (pretrained from the hub, a local folder or a package; or random
from the kept architecture config), then the model itself, on the asked device and dtype.

``--weights auto`` means pretrained when the files are cached or downloadable (or shipped by a package),
random otherwise; the choice and its reason go into the record. ``trust_remote_code`` is passed only as the
user set it (default off).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from wattprint.core.errors import ConfigError
from wattprint.models.catalog import ModelEntry

WEIGHTS_MODES = ("pretrained", "random", "auto")
PRETRAINED_AT_HAND = ("package", "local folder", "cached", "hub reachable")  # reasons of a usable pretrained plan
DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class WeightsPlan:
    """Where the weights come from. ``location`` is what ``from_pretrained`` gets (None when random)."""

    weights: str  # "pretrained" | "random"
    source: str  # "hub:<id>", "local:<path>", "package:<name>", "config:<catalog name>", "config:local:<path>"
    location: str | None
    reason: str


def plan_weights(entry: ModelEntry, mode: str, cache_dir: str | None = None,
                 marker: str = "config.json") -> WeightsPlan:
    """Decide pretrained or random for ``entry`` under ``mode`` (pretrained | random | auto). No download.

    ``pretrained`` with the files neither at hand nor downloadable is a :class:`ConfigError` at once.
    """
    if mode not in WEIGHTS_MODES:
        raise ConfigError(f"weights {mode!r} is not one of {', '.join(WEIGHTS_MODES)}")
    if mode == "random":
        return _random_plan(entry, "asked for random weights")
    pre = _pretrained_plan(entry, cache_dir, marker)
    if pre.reason in PRETRAINED_AT_HAND:
        return pre
    if mode == "pretrained":  # fail now, in one line, rather than after the hub client's retries
        raise ConfigError(
            f"no pretrained weights: {pre.reason}",
            fix=f"download them where the hub is reachable (hf download {entry.hub_id}), or use --weights auto",
        )
    if entry.config_name is None and entry.local_path is None:
        raise ConfigError(
            f"no pretrained weights for {entry.hub_id} ({pre.reason}) and no kept architecture to build random ones",
            fix="pick a catalog model (`wattprint models`), connect to the hub, or pass a local folder",
        )
    return _random_plan(entry, f"auto: {pre.reason}")


def _pretrained_plan(entry: ModelEntry, cache_dir: str | None, marker: str) -> WeightsPlan:
    from wattprint.models import hub

    if entry.package:
        try:
            path = hub.package_model_path(entry.package)
            return WeightsPlan("pretrained", f"package:{entry.package}", path, "package")
        except ConfigError as e:
            return WeightsPlan("pretrained", f"hub:{entry.hub_id}", entry.hub_id, str(e.message))
    if entry.local_path:
        return WeightsPlan("pretrained", f"local:{entry.local_path}", entry.local_path, "local folder")
    avail = hub.pretrained_availability(entry.hub_id, cache_dir, marker)
    return WeightsPlan("pretrained", f"hub:{entry.hub_id}", entry.hub_id, avail.reason)


def _random_plan(entry: ModelEntry, reason: str) -> WeightsPlan:
    if entry.config_name:
        return WeightsPlan("random", f"config:{entry.name}", None, reason)
    if entry.local_path:
        return WeightsPlan("random", f"config:local:{entry.local_path}", None, reason)
    raise ConfigError(
        f"random weights need an architecture configuration; {entry.hub_id} is not in the catalog",
        fix="use a catalog model (`wattprint models`), a local folder with config.json, or --weights pretrained",
    )


@dataclass
class ModelLoad:
    model: Any
    plan: WeightsPlan
    parameters: int


def load_transformers(entry: ModelEntry, settings: Any, auto_class: str, marker: str = "config.json") -> ModelLoad:
    """Load ``entry`` as ``transformers.<auto_class>`` following ``settings`` (a LoadSettings)."""
    from wattprint.models.build import count_parameters

    plan = plan_weights(entry, settings.weights, settings.cache_dir, marker)
    if plan.weights == "pretrained":
        try:
            model = _from_pretrained(auto_class, plan.location, settings)
        except (OSError, ValueError, ImportError) as e:
            if settings.weights != "auto" or (entry.config_name is None and entry.local_path is None):
                raise ConfigError(f"cannot load {plan.location} as {auto_class}: {e}") from e
            plan = _random_plan(entry, f"auto: pretrained load failed ({type(e).__name__}: {str(e)[:200]})")
    if plan.weights == "random":
        model = _random_model(entry, auto_class, settings)
    model = model.to(settings.device).eval()
    return ModelLoad(model, plan, count_parameters(model))


def torch_dtype(name: str):
    import torch

    if name not in DTYPES:
        raise ConfigError(f"dtype {name!r} is not one of {', '.join(DTYPES)}")
    return getattr(torch, name)


def _from_pretrained(auto_class: str, location: str | None, settings: Any):
    import transformers

    from wattprint.models.hub import hub_offline

    cls = getattr(transformers, auto_class)
    return cls.from_pretrained(
        location,
        dtype=torch_dtype(settings.dtype),
        trust_remote_code=bool(settings.trust_remote_code),
        cache_dir=settings.cache_dir,
        local_files_only=hub_offline(),
    )


def _random_model(entry: ModelEntry, auto_class: str, settings: Any):
    import torch
    import transformers

    from wattprint.models.build import build_transformers

    torch_dtype(settings.dtype)
    config = entry.config
    if config is not None:
        config = deep_merge(config, settings.overrides.get("config", {}))
        # Built on the target device: a multi-billion-parameter model initialised on a GPU takes seconds,
        # on the host it takes minutes and several times its size in host memory.
        with torch.device(settings.device):
            return build_transformers(config, auto_class, seed=settings.seed, dtype=settings.dtype)
    if entry.local_path is None:
        raise ConfigError(f"{entry.name} has no kept architecture config and no local folder to read one from",
                          "pass a model folder (--model PATH), or use --weights pretrained where the hub is reachable")
    cfg = transformers.AutoConfig.from_pretrained(entry.local_path, trust_remote_code=bool(settings.trust_remote_code))
    torch.manual_seed(settings.seed)
    return getattr(transformers, auto_class).from_config(cfg, dtype=torch_dtype(settings.dtype))


def input_vocab_size(model: Any) -> int | None:
    """The size of the model's input token embedding (where token ids must fall), if it has one."""
    get = getattr(model, "get_input_embeddings", None)
    emb = get() if get else None
    return int(emb.num_embeddings) if emb is not None and hasattr(emb, "num_embeddings") else None


def deep_merge(base: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied, nested dicts merged key by key (a new dict; inputs untouched)."""
    out = dict(base)
    for k, v in changes.items():
        out[k] = deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out
