"""A tracker that is not installed stops with one line naming the extra; the figures every tracker logs (emissions
with their provenance, windows added up with the least precise method kept)."""

from __future__ import annotations

import importlib
import sys

import pytest

from wattprint.carbon import attach_emissions, resolve_location
from wattprint.core.errors import ConfigError
from wattprint.integrations.figures import combine, measurement_figures, measurement_tags, safe
from wattprint.meter.result import ComponentEnergy, Kind, Measurement, Method


@pytest.mark.parametrize("library, build, extra", [
    ("mlflow", lambda: importlib.import_module("wattprint.integrations.mlflow").MlflowLogger(), "mlflow"),
    ("wandb", lambda: importlib.import_module("wattprint.integrations.wandb").WandbLogger(), "wandb"),
    ("tensorboardX", lambda: importlib.import_module("wattprint.integrations.tensorboard").TensorBoardLogger(),
     "tensorboard"),
    ("transformers", lambda: importlib.import_module("wattprint.integrations.transformers"), "hf"),
    ("lightning", lambda: importlib.import_module("wattprint.integrations.lightning"), "lightning"),
])
def test_a_missing_tracker_names_its_extra(monkeypatch, library, build, extra):
    for name in [m for m in sys.modules if m == library or m.startswith(library + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, library, None)  # what Python does for a package that is not installed
    for module in ("wattprint.integrations.transformers", "wattprint.integrations.lightning"):
        monkeypatch.delitem(sys.modules, module, raising=False)  # imported again below, without the library
    with pytest.raises(ConfigError) as err:
        build()
    message, fix = str(err.value).split("\n")
    assert repr(library) in message and "not installed" in message
    assert fix == f"  fix: pip install 'wattprint[{extra}]'"


def _m(name: str, energy: float, method: Method, unc: float, duration: float = 1.0) -> Measurement:
    return Measurement(name=name, started_at=1_780_000_000.0, duration_s=duration, components=(
        ComponentEnergy(Kind.GPU, "H100", energy, method, unc, "nvml", index=0, uuid="GPU-1a2b"),
        ComponentEnergy(Kind.CPU, "EPYC", 10.0, Method.ESTIMATED, 2.0, "cpu-estimate")))


def test_windows_added_up_keep_the_least_precise_method():
    total = combine([_m("w", 100.0, Method.COUNTER, 0.5), _m("w", 50.0, Method.SAMPLED, 3.0, 2.0)], "train")
    gpu, cpu = total.components
    assert total.name == "train" and total.duration_s == 3.0
    assert (gpu.energy_j, gpu.uncertainty_j, gpu.method) == (150.0, 3.5, Method.SAMPLED)
    assert (cpu.energy_j, cpu.uncertainty_j, cpu.method) == (20.0, 4.0, Method.ESTIMATED)
    figures = measurement_figures(total)
    assert figures["energy/train/total_j"] == 170.0 and figures["energy/train/uncertainty_j"] == 7.5
    assert figures["energy/train/gpu_GPU-1a2b_j"] == 150.0 and figures["energy/train/gpu_j"] == 150.0
    with pytest.raises(ValueError):
        combine([], "x")


def test_emissions_are_logged_with_their_provenance():
    m = attach_emissions(_m("infer", 3.6e6, Method.COUNTER, 1.0), resolve_location(country="FR", env={}))
    figures, tags = measurement_figures(m, prefix="wp"), measurement_tags(m, prefix="wp")
    assert figures["wp/infer/gco2e"] == pytest.approx(m.emissions.gco2e)
    assert figures["wp/infer/intensity_g_per_kwh"] == m.emissions.intensity_g_per_kwh
    assert figures["wp/infer/pue"] == m.emissions.pue
    assert f"zone={m.emissions.zone}" in tags["wp/infer/emissions"]
    assert f"source={m.emissions.source}" in tags["wp/infer/emissions"]
    assert tags["wp/infer/method/gpu_GPU-1a2b"] == "counter (nvml)"
    assert tags["wp/infer/method/cpu"] == "estimated (cpu-estimate)"


def test_names_every_tracker_takes():
    assert safe("gpu:GPU-1a2b") == "gpu_GPU-1a2b"
    assert safe("request 7/prefill") == "request_7_prefill"
    assert safe("::") == "window"


def test_every_snippet_of_the_page_has_its_test():
    """The page's snippets, by section, as the tests run them; a new snippet needs its test here too."""
    from integration_helpers import DOC, snippets

    tested = {"Every window, or one measurement": 2,  # test_hooks (register), test_mlflow (resend)
              "MLflow": 3, "Weights & Biases": 1, "TensorBoard": 1,  # test_mlflow, test_wandb_tensorboard
              "`transformers` Trainer": 2, "Lightning": 1}  # test_training
    assert {h: len(snippets(h)) for h in tested} == tested
    assert DOC.read_text().count("```python") == sum(tested.values())
