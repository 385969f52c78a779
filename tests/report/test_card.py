"""The model card: the energy section and co2_eq_emissions written into a local README.md, everything else
kept byte for byte, and the bad inputs of `wattprint card` answered in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from huggingface_hub import ModelCard
from tests.cli.cli_helpers import assert_one_error, run_cli

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.report import card_edit
from wattprint.report.card import write_card
from wattprint.store.sqlite import Store

# A card as people write them: comments, flow lists, quotes, a model-index, our key in the middle, no final
# line break. Only co2_eq_emissions and the appended section may change.
CARD = (
    "---\n"
    "license: apache-2.0   # kept with its comment\n"
    "tags: [a, \"b c\"]\n"
    "co2_eq_emissions:\n"
    "  emissions: 5\n"
    "  source: 'their own'\n"
    "\n"
    "model-index:\n"
    "- name: x\n"
    "  results: []\n"
    "language:\n"
    "- en\n"
    "---\n"
    "\n"
    "# A model\n"
    "\n"
    "Some text | with a pipe."
)
COMPONENTS = [{"kind": "gpu", "name": "NVIDIA H100 80GB HBM3", "energy_j": 3.0e6, "method": "counter",
               "uncertainty_j": 3.0e3},
              {"kind": "gpu", "name": "NVIDIA H100 80GB HBM3", "energy_j": 3.0e6, "method": "counter",
               "uncertainty_j": 3.0e3},
              {"kind": "cpu", "name": "AMD EPYC 7R13", "energy_j": 0.6e6, "method": "estimated",
               "uncertainty_j": 0.3e6}]


def training(gco2e: float = 1234.5, method: str = "table") -> dict:
    """What `wattprint measure --country FR --json` writes, trimmed to the fields the card reads."""
    return {"name": "train", "started_at": 1_780_000_000.0, "duration_s": 3600.0, "total_energy_j": 6.6e6,
            "total_uncertainty_j": 0.306e6, "components": COMPONENTS, "command": ["python", "train.py"],
            "emissions": {"gco2e": gco2e, "pue": 1.0, "intensity": {
                "g_per_kwh": 44.18, "zone": "FR", "zone_name": "France", "year": 2024, "source": "Ember",
                "scope": "life-cycle", "method": method, "set_by": "flag --country"}}}


@pytest.fixture
def runs(record):
    """Three repeats of a task-specific model and two of another, with known energy and uncertainty."""
    mine = [record("text-classification", "tiny-bert", 36.0 * (1 + i / 10), inferences=100, repeat=i,
                   energy_uncertainty_j=3.6, model_kind="task-specific", components=COMPONENTS[2:],
                   environment={"hardware": {"cpu_model": "AMD EPYC 7R13"}}) for i in range(3)]
    other = [record("text-classification", "tiny-roberta", 72.0, repeat=i) for i in range(2)]
    return mine + other


def folder(tmp_path: Path, name: str = "tiny-bert", card: str | None = None) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "config.json").write_text("{}")
    if card is not None:
        (d / "README.md").write_bytes(card.encode())
    return d


def section(text: str) -> str:
    return text[text.index(card_edit.START): text.index(card_edit.END) + len(card_edit.END)]


def test_new_card_has_valid_metadata_and_the_figures(tmp_path, runs):
    d = folder(tmp_path)
    result = write_card(d, runs, store="runs.db")
    text = (d / "README.md").read_text()
    assert result.created and result.runs == 3 and result.co2_eq_emissions is None
    card = ModelCard(text)
    assert card.data.to_dict() == {"library_name": "transformers", "pipeline_tag": "text-classification"}
    row = next(line for line in text.splitlines() if line.startswith("| text-classification"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    # 36, 39.6, 43.2 J per 100 inferences: 0.1, 0.11, 0.12 Wh per 1,000; CI half-width t(0.975, 2) * 0.01 / sqrt 3
    assert cells[3] == "0.11 ± 0.0248 (95 % CI)"
    assert cells[4] == "± 0.01 Wh"  # 3.6 J per 100 inferences
    assert cells[5] == "3 x 100" and cells[6] == "CPU: AMD EPYC 7R13" and cells[7] == "cpu estimated"
    assert cells[8] == "random weights, synthetic inputs"
    assert "3 run(s) in runs.db" in text and "tiny-roberta" not in text
    assert "co2_eq_emissions" not in card.data.to_dict()  # inference figures never go there


def test_existing_card_kept_byte_for_byte_and_rerun_replaces(tmp_path, runs):
    d = folder(tmp_path, card=CARD)
    write_card(d, runs, measurement=training(), training_type="fine-tuning")
    once = (d / "README.md").read_text()
    write_card(d, runs, measurement=training(), training_type="fine-tuning")
    twice = (d / "README.md").read_text()
    assert once == twice and once.count(card_edit.START) == 1
    # apart from our entry and our section, the bytes are the original's
    block = once[once.index("co2_eq_emissions:"): once.index("model-index:")]
    assert once.replace(block, "").replace("\n\n" + section(once) + "\n", "") == CARD.replace(
        "co2_eq_emissions:\n  emissions: 5\n  source: 'their own'\n\n", "")
    meta = yaml.safe_load(card_edit.yaml_block(once).group(2))
    assert meta["license"] == "apache-2.0" and meta["tags"] == ["a", "b c"] and meta["language"] == ["en"]
    assert meta["model-index"] == [{"name": "x", "results": []}]
    co2 = ModelCard(once).data.co2_eq_emissions
    assert co2["emissions"] == 1234.5 and co2["training_type"] == "fine-tuning"
    assert co2["geographical_location"] == "France"
    assert co2["hardware_used"] == "2 x NVIDIA H100 80GB HBM3, AMD EPYC 7R13"
    assert "gpu counter, cpu estimated" in co2["source"] and "44.18 gCO2e/kWh (FR, 2024" in co2["source"]
    assert "**1.833 kWh** ± 0.085 kWh" in once  # 6.6 MJ and 0.306 MJ


def test_crlf_card_and_store_only_keep_the_metadata_untouched(tmp_path, runs):
    original = CARD.replace("\n", "\r\n") + "\r\n"
    d = folder(tmp_path, card=original)
    write_card(d, runs)
    raw = (d / "README.md").read_bytes().decode()
    assert raw.startswith(original) and "\n" not in raw.replace("\r\n", "")  # one line ending throughout
    assert raw[len(original):].startswith("\r\n" + card_edit.START)


def test_card_with_byte_order_mark_keeps_it(tmp_path, runs):
    d = folder(tmp_path)
    (d / "README.md").write_bytes(b"\xef\xbb\xbf" + CARD.encode())
    write_card(d, runs, measurement=training(), training_type="pre-training")
    raw = (d / "README.md").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf---\nlicense") and ModelCard(raw.decode("utf-8-sig")).data.co2_eq_emissions


def test_card_without_metadata_gets_a_block(tmp_path, runs):
    d = folder(tmp_path, card="# Just text\n")
    write_card(d, runs, measurement=training(), training_type="pre-training")
    text = (d / "README.md").read_text()
    assert text.startswith("---\nco2_eq_emissions:\n") and "\n---\n# Just text\n\n" in text
    assert ModelCard(text).data.co2_eq_emissions["training_type"] == "pre-training"


def test_inference_measurement_per_thousand(tmp_path):
    d = folder(tmp_path)
    m = training()
    write_card(d, measurement=m, inferences=2000)
    text = (d / "README.md").read_text()
    # 6.6 MJ / 2,000 inferences x 1,000 = 3.3 MJ = 916.7 Wh; uncertainty 0.306 MJ -> 42.5 Wh
    assert "**917 Wh per 1,000 inferences** ± 42.5 Wh" in text and "`python train.py`" in text
    assert "co2_eq_emissions" not in ModelCard(text).data.to_dict()


def test_bad_inputs_are_refused_before_writing(tmp_path, runs):
    d = folder(tmp_path, card=CARD)
    with pytest.raises(UnknownNameError, match="tiny-bret") as e:
        write_card(d, runs, model="tiny-bret")
    assert e.value.matches[0] == "tiny-bert"
    with pytest.raises(ConfigError, match="world-average"):
        write_card(d, measurement=training(method="defaulted"), training_type="fine-tuning")
    with pytest.raises(ConfigError, match="no emissions"):
        write_card(d, measurement={**training(), "emissions": None}, training_type="fine-tuning")
    with pytest.raises(ConfigError, match="say what the measurement covered"):
        write_card(d, measurement=training())
    with pytest.raises(ConfigError, match="only one of"):
        write_card(folder(tmp_path, "lone", CARD + "\n" + card_edit.START + "\n"), runs, model="tiny-bert")
    with pytest.raises(ConfigError, match="not a YAML mapping"):
        write_card(folder(tmp_path, "bad", "---\n- a list\n---\ntext\n"), runs, model="tiny-bert")
    assert (d / "README.md").read_bytes() == CARD.encode()


def test_flow_mapping_metadata_is_refused_not_rewritten(tmp_path):
    d = folder(tmp_path, card="---\n{license: mit, co2_eq_emissions: {emissions: 1}}\n---\ntext\n")
    with pytest.raises(ConfigError, match="without changing its other metadata"):
        write_card(d, measurement=training(), training_type="fine-tuning")
    assert (d / "README.md").read_text().startswith("---\n{license: mit")


# ---- the command, as docs/hub-and-result-files.md shows it ------------------------------------------------
@pytest.fixture
def store(tmp_path, runs):
    path = tmp_path / "runs.db"
    with Store(path) as s:
        for r in runs:
            s.add(r)
    return path


def test_cli_card_from_store_then_training(tmp_path, store, capsys):
    d = folder(tmp_path, card=CARD)
    code, _, err = run_cli(capsys, "card", str(d), "--store", str(store))
    assert code == 0 and f"updated {d / 'README.md'}" in err and "push it yourself" in err
    (tmp_path / "train.json").write_text(json.dumps(training()))
    code, _, err = run_cli(capsys, "card", str(d), "--store", str(store), "--measurement",
                           str(tmp_path / "train.json"), "--training-type", "fine-tuning")
    assert code == 0 and "co2_eq_emissions set" in err
    text = (d / "README.md").read_text()
    assert text.count("## Energy") == 1 and "| text-classification | quick |" in text
    assert "Training (fine-tuning)" in text


def test_cli_bad_input_is_one_line(tmp_path, store, capsys):
    d = folder(tmp_path)
    code, _, err = run_cli(capsys, "card", str(tmp_path / "nope"), "--store", str(store))
    assert_one_error(code, err, "no model folder")
    code, _, err = run_cli(capsys, "card", str(d), "--store", str(store), "--model", "tiny-bret")
    assert_one_error(code, err, "did you mean 'tiny-bert'")
    code, _, err = run_cli(capsys, "card", str(folder(tmp_path, "elsewhere")), "--store", str(store))
    assert_one_error(code, err, "unknown model in runs.db 'elsewhere'", "--model NAME")
    code, _, err = run_cli(capsys, "card", str(d))
    assert_one_error(code, err, "nothing to write")
    code, _, err = run_cli(capsys, "card", str(d), "--store", str(tmp_path / "none.db"))
    assert_one_error(code, err, "no store at")
    (tmp_path / "bad.json").write_text("{")
    code, _, err = run_cli(capsys, "card", str(d), "--measurement", str(tmp_path / "bad.json"), "--inferences", "5")
    assert_one_error(code, err, "is not JSON")
    assert not (d / "README.md").exists()


def test_without_huggingface_hub_the_extra_is_named(tmp_path, runs, monkeypatch):
    monkeypatch.setitem(__import__("sys").modules, "huggingface_hub", None)  # as if not installed
    d = folder(tmp_path)
    with pytest.raises(ConfigError, match=r"pip install 'wattprint\[hub\]'"):
        write_card(d, runs)
    assert not (d / "README.md").exists()
