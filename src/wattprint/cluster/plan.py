"""A sweep plan: which presets, tasks, models and settings to cross, and what each job reserves.

A plan is a TOML or YAML file::

    name = "quick-sweep"
    presets = ["quick"]
    tasks = ["text-classification"]
    models = ["bert-tiny"]          # optional: the preset's models for each task when left out
    repeats = 3                     # optional: overrides the preset's

    [settings]                      # applied to every job as given
    samples = 16
    [cross]                         # each key's list is crossed: one job per combination
    batch_size = [1, 8]

    [resources]                     # what each job reserves on the cluster
    num_cpus = 1
    num_gpus = 0
    [[resources.rules]]             # per-job resources: the first rule that matches wins
    task = "text-generation"
    num_gpus = 1

    [ray]                           # only used when the sweep starts its own local Ray instance
    num_cpus = 2

Everything is validated when loaded: unknown keys are errors with a close match suggested.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.core.files import read_text

_TOP_KEYS = ("name", "presets", "tasks", "models", "repeats", "settings", "cross", "resources", "ray", "store")
_RESOURCE_KEYS = ("num_cpus", "num_gpus", "memory_gb")
_RULE_KEYS = ("task", "model", *_RESOURCE_KEYS)
_RAY_KEYS = ("num_cpus", "num_gpus", "object_store_mb")


@dataclass(frozen=True)
class Resources:
    """What one job reserves: CPUs, GPUs (whole GPUs: a job measures whole devices) and memory."""

    num_cpus: float = 1.0
    num_gpus: int = 0
    memory_gb: float | None = None

    def __post_init__(self) -> None:
        for name in ("num_cpus", "num_gpus"):
            if getattr(self, name) < 0:
                raise ConfigError(f"resources {name} = {getattr(self, name)} cannot be negative",
                                  f"set {name} to 0 or more")
        if self.num_gpus != int(self.num_gpus):
            raise ConfigError(
                f"num_gpus = {self.num_gpus}: a sweep job reserves whole GPUs",
                "GPU energy counters measure a whole device; two jobs sharing one cannot be told apart",
            )
        if self.num_cpus == 0 and self.num_gpus == 0:
            raise ConfigError("a job must reserve at least one CPU or one GPU", "set num_cpus = 1")

    def ray_options(self) -> dict[str, Any]:
        opts: dict[str, Any] = {"num_cpus": self.num_cpus, "num_gpus": int(self.num_gpus)}
        if self.memory_gb:
            opts["memory"] = int(self.memory_gb * 1024**3)
        return opts

    def to_dict(self) -> dict[str, Any]:
        return {"num_cpus": self.num_cpus, "num_gpus": self.num_gpus, "memory_gb": self.memory_gb}


@dataclass(frozen=True)
class ResourceRule:
    """Resources for the jobs of one task and/or one model."""

    resources: Resources
    task: str | None = None
    model: str | None = None

    def matches(self, task: str, model: str) -> bool:
        return (self.task in (None, task)) and (self.model in (None, model))


@dataclass(frozen=True)
class RayOptions:
    """How to start a local Ray instance (ignored when joining a cluster)."""

    num_cpus: int | None = None  # None: all of this machine's cores
    num_gpus: int | None = None  # None: what Ray detects
    object_store_mb: int = 100  # records are small; keep Ray light on small machines


@dataclass(frozen=True)
class SweepPlan:
    name: str
    presets: tuple[str, ...]
    tasks: tuple[str, ...]
    models: tuple[str, ...] = ()
    repeats: int | None = None
    settings: tuple[tuple[str, Any], ...] = ()
    cross: tuple[tuple[str, tuple[Any, ...]], ...] = ()
    resources: Resources = field(default_factory=Resources)
    rules: tuple[ResourceRule, ...] = ()
    ray: RayOptions = field(default_factory=RayOptions)
    store: str | None = None
    source: str = ""

    def resources_for(self, task: str, model: str) -> Resources:
        for rule in self.rules:
            if rule.matches(task, model):
                return rule.resources
        return self.resources

    def combinations(self) -> list[dict[str, Any]]:
        """The settings of every crossed combination (one dict when nothing is crossed)."""
        base = dict(self.settings)
        if self.repeats is not None:
            base["repeats"] = self.repeats
        keys = [k for k, _ in self.cross]
        out = []
        for values in itertools.product(*(v for _, v in self.cross)):
            out.append({**base, **dict(zip(keys, values))})
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "presets": list(self.presets), "tasks": list(self.tasks),
            "models": list(self.models), "repeats": self.repeats, "settings": dict(self.settings),
            "cross": {k: list(v) for k, v in self.cross}, "resources": self.resources.to_dict(),
            "source": self.source,
        }


# ---- loading ---------------------------------------------------------------------------------------
def read_plan_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML (.toml) or YAML (.yaml/.yml) plan file into a dict."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"no plan file at {path}", "give the path of a .toml or .yaml plan")
    suffix = path.suffix.lower()
    text = read_text(path, "sweep plan")
    if suffix == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            import tomli as tomllib  # type: ignore[no-redef]
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as e:
            raise ConfigError(f"{path} is not valid TOML: {e}", f"fix the line it names in {path}") from e
    if suffix in (".yaml", ".yml"):
        return _read_yaml(path, text)
    raise ConfigError(f"plan {path} must end in .toml, .yaml or .yml")


def _read_yaml(path: Path, text: str) -> dict[str, Any]:
    try:
        import yaml
    except ImportError as e:
        raise ConfigError("YAML plans need PyYAML", "pip install 'wattprint[cluster]' or use a .toml plan") from e
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:  # its text spans lines (the line quoted, a caret): one line of it here
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        what = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ConfigError(f"{path} is not valid YAML: {what}{where}", f"fix the line it names in {path}") from e
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping at its top level")
    return data


def load_plan(path: str | Path) -> SweepPlan:
    """Read and validate a plan file."""
    return plan_from_dict(read_plan_file(path), source=str(path), default_name=Path(path).stem)


def plan_from_dict(data: Mapping[str, Any], source: str = "", default_name: str = "sweep") -> SweepPlan:
    _check_keys(data, _TOP_KEYS, "plan key")
    presets = _str_list(data.get("presets", ["quick"]), "presets")
    tasks = _str_list(data.get("tasks", []), "tasks")
    if not presets:
        raise ConfigError("the plan lists no presets", 'add presets = ["quick"]')
    if not tasks:
        raise ConfigError("the plan lists no tasks", 'add tasks = ["text-classification"] (see `wattprint tasks`)')
    repeats = data.get("repeats")
    if repeats is not None and (not isinstance(repeats, int) or repeats < 1):
        raise ConfigError(f"repeats = {repeats!r} must be a whole number >= 1")
    res = data.get("resources", {}) or {}
    _check_keys(res, (*_RESOURCE_KEYS, "rules"), "resources key")
    settings, cross = _table(data, "settings"), _cross(_table(data, "cross"))
    where = f"plan {source}" if source else "the plan"
    _check_settings(settings, f"{where} [settings]")
    for key, values in cross:
        for value in values:
            _check_settings({key: value}, f"{where} [cross]")
    return SweepPlan(
        name=str(data.get("name", default_name)),
        presets=presets,
        tasks=tasks,
        models=_str_list(data.get("models", []), "models"),
        repeats=repeats,
        settings=tuple(sorted(settings.items())),
        cross=cross,
        resources=_resources(res),
        rules=tuple(_rule(r) for r in res.get("rules", []) or []),
        ray=_ray_options(_table(data, "ray")),
        store=data.get("store"),
        source=source,
    )


def _check_settings(values: dict[str, Any], where: str) -> None:
    """Each benchmark setting of the plan known, of its type and in its range, now: not when its job expands."""
    from wattprint.cluster import runner_api

    try:
        runner_api.check_settings(values)
    except ConfigError as e:
        e.message = f"{where}: {e.message}"
        e.args = (e.message,)
        raise


def _check_keys(data: Mapping[str, Any], known: tuple[str, ...], kind: str) -> None:
    if not isinstance(data, Mapping):
        raise ConfigError(f"expected a table of {', '.join(known)}, got {data!r}")
    for key in data:
        if key not in known:
            raise UnknownNameError(kind, key, known)


def _table(data: Mapping[str, Any], key: str) -> dict[str, Any]:
    value = data.get(key, {}) or {}
    if not isinstance(value, Mapping):
        raise ConfigError(f"[{key}] must be a table of names and values, got {value!r}")
    return dict(value)


def _str_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{key} must be a list of names, got {value!r}")
    return tuple(value)


def _cross(table: dict[str, Any]) -> tuple[tuple[str, tuple[Any, ...]], ...]:
    out = []
    for key, values in sorted(table.items()):
        if not isinstance(values, list) or not values:
            raise ConfigError(f"[cross] {key} must be a non-empty list of values, got {values!r}",
                              "put single values under [settings]")
        out.append((key, tuple(values)))
    return tuple(out)


def _resources(table: Mapping[str, Any]) -> Resources:
    kw = {k: table[k] for k in _RESOURCE_KEYS if k in table}
    for k, v in kw.items():
        if v is not None and not isinstance(v, (int, float)):
            raise ConfigError(f"resources {k} = {v!r} must be a number")
    return Resources(**kw)


def _rule(table: Any) -> ResourceRule:
    _check_keys(table, _RULE_KEYS, "resources rule key")
    if "task" not in table and "model" not in table:
        raise ConfigError(f"resources rule {dict(table)} names no task or model to match")
    return ResourceRule(_resources(table), task=_rule_task(table.get("task")), model=table.get("model"))


def _rule_task(name: Any) -> str | None:
    """A rule's task by the registry's name (an alias resolved, as the jobs name it): a misspelt one would
    match no job and leave its jobs with the default resources, silently."""
    from wattprint.tasks.registry import ALIASES, TASKS

    if name is None:
        return None
    key = ALIASES.get(name, name) if isinstance(name, str) else name
    if key not in TASKS:
        raise UnknownNameError("task in a resources rule", str(name), list(TASKS) + list(ALIASES),
                               fix="name a task `wattprint tasks` lists")
    return str(key)


def _ray_options(table: dict[str, Any]) -> RayOptions:
    _check_keys(table, _RAY_KEYS, "ray key")
    return RayOptions(**table)


# ---- expansion ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class SweepJob:
    """One job of a sweep: a runner job, what it reserves, and the plan keys of its repeats."""

    job: Any  # wattprint.bench.plan.Job
    resources: Resources
    keys: tuple[tuple[int, str], ...]  # (repeat, plan key) per repeat, in the order they run
    label: str  # short, human: "text-classification/bert-tiny {'batch_size': 8}"

    @property
    def plan_keys(self) -> tuple[str, ...]:
        return tuple(k for _, k in self.keys)


ExpandFn = Callable[[str, list[str], list[str], dict[str, Any]], list[Any]]
KeysFn = Callable[[Any], list[tuple[int, str]]]


def expand_plan(plan: SweepPlan, expand: ExpandFn | None = None, keys: KeysFn | None = None) -> list[SweepJob]:
    """Every job of the plan, each once (identical jobs from two presets are kept once)."""
    from wattprint.cluster import runner_api

    expand = expand or runner_api.expand_jobs
    keys = keys or runner_api.job_plan_keys
    jobs: list[SweepJob] = []
    seen: set[tuple[tuple[int, str], ...]] = set()
    for preset in plan.presets:
        for overrides in plan.combinations():
            for job in expand(preset, list(plan.tasks), list(plan.models), dict(overrides)):
                resources = plan.resources_for(job.task, job.model)
                job = runner_api.with_device(job, resources.num_gpus)
                job_keys = tuple(keys(job))
                if job_keys in seen:
                    continue
                seen.add(job_keys)
                params = job.settings.get("params") or {}  # a crossed task parameter (max_new_tokens) lives there
                crossed = {k: job.settings.get(k, params.get(k)) for k, _ in plan.cross}
                label = f"{job.task}/{job.model}" + (f" {crossed}" if crossed else "")
                jobs.append(SweepJob(job, resources, job_keys, label))
    return jobs
