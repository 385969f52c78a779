"""Energy figures on a Hugging Face model card (the README.md of a local model folder).

Inference figures (from a store's runs of the model, or from a measurement of N inferences) go in an
"Energy" section of the card's text, between two HTML comments so that running again replaces it. The Hub's
``co2_eq_emissions`` metadata is documented for training emissions (``training_type``: pre-training or
fine-tuning; huggingface.co/docs/hub/model-cards-co2), so it is written only from a measurement the user
names as training, never from inference figures. Everything else in the card stays byte for byte; a folder
without README.md gets a new card. Nothing is pushed: uploading is the user's own ``push_to_hub``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.report import card_edit
from wattprint.report.card_text import energy_section, hardware_of_components, methods_of_components
from wattprint.store.record import RunRecord

TRAINING_TYPES = ("pre-training", "fine-tuning")  # the values the Hub's co2_eq_emissions documents
# wattprint task -> the Hub's pipeline_tag (huggingface.co/tasks); written only on a new card of a
# task-specific model
PIPELINE_TAGS = {
    "text-classification": "text-classification", "token-classification": "token-classification",
    "question-answering": "question-answering", "fill-mask": "fill-mask", "text-generation": "text-generation",
    "summarization": "summarization", "image-classification": "image-classification",
    "object-detection": "object-detection", "image-captioning": "image-to-text",
    "image-generation": "text-to-image", "sentence-similarity": "sentence-similarity",
    "automatic-speech-recognition": "automatic-speech-recognition",
}


@dataclass(frozen=True)
class CardResult:
    path: Path
    created: bool  # a new README.md
    runs: int  # store runs the section summarises
    co2_eq_emissions: dict[str, Any] | None  # what was written to the metadata, None when left as it was


# what makes a folder a model's: its config or weights (transformers, diffusers, sentence-transformers, GGUF, ONNX)
MODEL_FILES = ("config.json", "model_index.json", "modules.json", "adapter_config.json")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".onnx", ".ckpt", ".h5", ".msgpack")


def is_model_folder(p: Path) -> bool:
    """The folder holds a model's files, or its README.md is already a model card (YAML front matter first)."""
    if any((p / name).is_file() for name in MODEL_FILES):
        return True
    if any(f.suffix.lower() in WEIGHT_SUFFIXES for f in p.iterdir() if f.is_file()):
        return True
    readme = p / "README.md"
    try:
        with open(readme, encoding="utf-8", errors="replace") as f:
            return f.readline().rstrip("\r\n") == "---"
    except OSError:
        return False


def check_folder(model_dir: str | Path) -> Path:
    if not str(model_dir).strip():
        raise ConfigError("the model folder is empty", "pass the folder that holds the model's files (config.json)")
    p = Path(model_dir)
    if not p.exists():
        raise ConfigError(f"no model folder at {p}", "pass the folder that holds the model's files (config.json, ...)")
    if not p.is_dir():
        raise ConfigError(f"{p} is a file, not a model folder", "pass the folder that holds the model's README.md")
    if (p / "README.md").exists() and not is_model_folder(p):  # a project's own README.md, not a model card
        raise ConfigError(f"{p} holds no model files (config.json, weights) and its README.md is not a model card",
                          "pass the folder that holds the model's files (config.json, model.safetensors, ...)")
    return p


def runs_of_model(records: Sequence[RunRecord], model_dir: Path, model: str | None, store: str = "the store"
                  ) -> list[RunRecord]:
    """The finished runs of the model: named ``model``, else named as the folder (its name or its path)."""
    finished = [r for r in records if r.status == "finished" and r.inferences > 0 and not r.serving]
    names = sorted({r.model for r in finished})
    if model is not None:
        chosen = [r for r in finished if r.model == model]
        wanted = model
    else:
        here = model_dir.resolve()
        chosen = [r for r in finished if r.model == model_dir.name or _same_path(r.model, here)]
        wanted = model_dir.name
    if chosen:
        return chosen
    if not names:
        raise ConfigError(f"{store} has no finished run", "run `wattprint bench --model NAME` first")
    fix = f"pass --model NAME, one of: {', '.join(names[:12])}{' ...' if len(names) > 12 else ''}"
    raise UnknownNameError(f"model in {store}", wanted, names, fix=fix)


def _same_path(name: str, here: Path) -> bool:
    try:
        return Path(name).resolve() == here
    except (OSError, ValueError):
        return False


def measurement_dict(measurement: Any) -> dict[str, Any]:
    """A measurement as a dict: a ``Measurement``, its ``to_dict()``, or ``wattprint measure --json``'s file."""
    d = measurement.to_dict() if hasattr(measurement, "to_dict") else measurement
    if not isinstance(d, dict) or "total_energy_j" not in d or "components" not in d:
        raise ConfigError("the measurement has no total_energy_j and components",
                          "give the file `wattprint measure --json FILE -- CMD` wrote, or a Measurement")
    return d


def co2_eq_emissions(m: dict[str, Any], training_type: str) -> dict[str, Any]:
    """The Hub's co2_eq_emissions fields from a training measurement with emissions of a known place."""
    from wattprint._version import __version__

    if training_type not in TRAINING_TYPES:
        raise UnknownNameError("training type", training_type, TRAINING_TYPES,
                               fix="co2_eq_emissions takes pre-training or fine-tuning")
    em = m.get("emissions") or {}
    intensity = em.get("intensity") or {}
    if em.get("gco2e") is None:
        raise ConfigError("the measurement has no emissions, which co2_eq_emissions needs",
                          "measure with a place: wattprint measure --country FR --json train.json -- CMD")
    if intensity.get("method") == "defaulted" or intensity.get("set_by") == "default":
        raise ConfigError("the measurement's emissions use the world-average intensity (no place was set)",
                          "measure again with --country, --region or --cloud set where the training ran")
    where = intensity.get("zone_name") or intensity.get("zone") or ""
    if intensity.get("zone") and ":" in str(intensity.get("zone")):
        where = f"{where} ({intensity['zone']})"
    source = (f"wattprint {__version__}: {methods_of_components(m['components'])}; grid intensity "
              f"{intensity.get('g_per_kwh')} gCO2e/kWh ({intensity.get('zone')}, {intensity.get('year')}, "
              f"{intensity.get('source')}, {intensity.get('scope')}); PUE {em.get('pue')}")
    return {"emissions": float(f"{float(em['gco2e']):.6g}"), "source": source, "training_type": training_type,
            "geographical_location": where, "hardware_used": hardware_of_components(m["components"])}


def _new_card(records: list[RunRecord], model_dir: Path, co2: dict[str, Any] | None) -> str:
    """A minimal card: the metadata the runs establish (pipeline tag, library), a title, nothing invented."""
    h = card_edit.hub()
    tasks = {r.task for r in records}
    data: dict[str, Any] = {}
    if (model_dir / "model_index.json").is_file():
        data["library_name"] = "diffusers"
    elif (model_dir / "config.json").is_file():
        data["library_name"] = "transformers"
    if len(tasks) == 1 and all(r.model_kind == "task-specific" for r in records):
        tag = PIPELINE_TAGS.get(next(iter(tasks)))
        if tag:
            data["pipeline_tag"] = tag
    if not data:
        data["tags"] = ["wattprint"]
    if co2:
        data[card_edit.CO2_KEY] = co2
    meta = h.ModelCardData(**data).to_yaml()
    return f"---\n{meta}\n---\n\n# {model_dir.name}\n"


def write_card(model_dir: str | Path, records: Sequence[RunRecord] | None = None, *, model: str | None = None,
               measurement: Any = None, training_type: str | None = None, inferences: int | None = None,
               store: str = "the store") -> CardResult:
    """Write the energy section (and, for a training measurement, ``co2_eq_emissions``) into
    ``model_dir/README.md``. ``records``: a store's runs (those of ``model``, default the folder's name);
    ``measurement``: a Measurement or ``wattprint measure --json`` dict, of training (``training_type``) or of
    ``inferences`` inferences. Checks everything before writing; returns what it wrote."""
    folder = check_folder(model_dir)
    if records is None and measurement is None:
        raise ConfigError("nothing to write on the card", "give a store (--store) or a measurement (--measurement)")
    _check_covered(measurement is not None, training_type, inferences)
    runs = runs_of_model(records, folder, model, store) if records is not None else []
    m = measurement_dict(measurement) if measurement is not None else None
    if inferences is not None and inferences <= 0:
        raise ConfigError(f"--inferences {inferences} is not a positive count", "give the inferences it ran, e.g. 1000")
    co2 = co2_eq_emissions(m, training_type) if m is not None and training_type else None
    section = energy_section(runs, store, m, training_type, inferences, co2 is not None)
    path = folder / "README.md"
    created = not path.exists()
    text = _new_card(runs, folder, None) if created else _read(path)
    bom = "\ufeff" if text.startswith("\ufeff") else ""  # kept as it was; the Hub reads the card as utf-8-sig
    before = text[len(bom):]
    after = card_edit.set_section(before, section)
    if co2 is not None:
        import yaml

        block = yaml.safe_dump({card_edit.CO2_KEY: co2}, sort_keys=False, allow_unicode=True, width=1000).rstrip("\n")
        after = card_edit.set_metadata_key(after, card_edit.CO2_KEY, block)
    card_edit.check_edit(before, after, card_edit.CO2_KEY, co2, str(path))
    _write(path, bom + after)
    return CardResult(path, created, len(runs), co2)


def _check_covered(measured: bool, training_type: str | None, inferences: int | None) -> None:
    """What the measurement covered: a training run (``training_type``) or N inferences, exactly one of them,
    and neither without a measurement (it would be dropped)."""
    if not measured:
        given = [f for f, v in (("--training-type", training_type), ("--inferences", inferences)) if v is not None]
        if given:
            raise ConfigError(f"{' and '.join(given)} describe{'s' if len(given) == 1 else ''} a measurement, "
                              "and none was given", f"add --measurement FILE (a `wattprint measure --json FILE` "
                              f"result), or drop {' and '.join(given)}")
    elif training_type is not None and inferences is not None:
        raise ConfigError("--training-type and --inferences exclude each other: the measurement is of a training "
                          "run or of N inferences", "keep --training-type for a training run, or --inferences N")
    elif training_type is None and inferences is None:
        raise ConfigError("say what the measurement covered",
                          "add --training-type pre-training|fine-tuning, or --inferences N")


def _read(path: Path) -> str:
    if path.is_dir():
        raise ConfigError(f"{path} is a folder, not a model card",
                          f"move or rename that folder: the card is the file {path.name}")
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror or e}", "check its permissions") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not UTF-8 text", "save the card as UTF-8 (the Hub reads it so)") from None


def _write(path: Path, text: str) -> None:
    """Through a temporary file renamed over the card, so that a failed write leaves the old card whole."""
    import os

    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        if path.exists():
            import shutil

            shutil.copymode(path, tmp)
        os.replace(tmp, path)
    except OSError as e:
        raise ConfigError(f"cannot write {path}: {e.strerror or e}", "check the folder's permissions") from None
    finally:
        if tmp.exists():
            tmp.unlink()
