"""docs/python-api.md: its snippets run as written (in order, in one fresh interpreter, in an empty folder holding
the stores they read), print what they say, and its settings table matches the code."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from wattprint.carbon.location import CONFIG_KEYS, ENV_VARS
from wattprint.carbon.tables import CarbonTables
from wattprint.core.config import table_rows
from wattprint.store.record import RunRecord
from wattprint.store.sqlite import Store

DOC = Path(__file__).resolve().parents[1] / "docs" / "python-api.md"
BLOCK = re.compile(r"```(python|toml)\n(.*?)```", re.S)
REPORT = """
import json as _json
print("REPORT " + _json.dumps({
    "kg": m.kg_co2e, "gco2e": e.gco2e, "energy_j": r.total_energy_j, "zone": e.zone, "g_per_kwh": e.intensity_g_per_kwh,
    "set_by": e.set_by, "methods": [c.method.value for c in r.components],
    "unplaced": unplaced.emissions, "note": unplaced.emissions_note,
    "calls": t.calls, "total_j": t.total_energy_j, "mean_j": t.mean_energy_j, "total_kg": t.total_kg_co2e,
    "cpu_scope": [meter["cpu_scope"], meter.origin["cpu_scope"]],
    "timeout": [proxy["upstream_timeout"], proxy.origin["upstream_timeout"], proxy["interval"]],
    "runs": len(df), "text_runs": len(text), "swept_nodes": list(swept["node"]),
    "mean_tiny": float(df[df["model"] == "tiny"]["wh_per_1000"].mean()),
    "component_rows": len(per_component), "components": len(m.result.components),
}))
"""


def _script() -> str:
    parts = []
    for kind, body in BLOCK.findall(DOC.read_text()):
        if kind == "toml":  # the page says to save it as wattprint.toml
            parts.append(f"open('wattprint.toml', 'w').write({body!r})")
        else:
            parts.append(body)
    return "\n".join(parts) + REPORT


def _stores(folder: Path) -> None:
    def record(model, repeat, wh, origin="wattprint", node=None, task="text-classification"):
        return RunRecord(task=task, model=model, preset="quick", repeat=repeat, plan_key=f"{model}{repeat}",
                         status="finished", started_at=1000.0 + repeat, wh_per_1000=wh, origin=origin, node=node,
                         weights="random", workload="synthetic")

    with Store(folder / "wattprint.db") as s:
        for i, wh in enumerate((1.0, 3.0)):
            s.add(record("tiny", i, wh))
        s.add(record("small", 0, 5.0, task="fill-mask"))
    with Store(folder / "sweep.db") as s:
        s.add(record("tiny", 0, 2.0, origin="sweep", node="node-a"))
        s.add(record("tiny", 1, 2.5, origin="sweep", node="node-b"))


@pytest.mark.slow
def test_every_snippet_runs_as_written_and_gives_real_figures(tmp_path):
    pytest.importorskip("pandas")
    _stores(tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("WATTPRINT_", "ELECTRICITYMAPS_"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(Path(__file__).resolve().parents[1] / "src"))
    env.pop("XDG_CONFIG_HOME", None)
    p = subprocess.run([sys.executable, "-c", _script()], cwd=tmp_path, env=env, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    (line,) = [x for x in p.stdout.splitlines() if x.startswith("REPORT ")]
    got = json.loads(line.removeprefix("REPORT "))
    fr = CarbonTables.load().grid["FR"].g_per_kwh
    assert got["energy_j"] > 0 and got["methods"] and set(got["methods"]) <= {"counter", "sampled", "estimated"}
    assert (got["zone"], got["g_per_kwh"], got["set_by"]) == ("FR", fr, "argument country")
    assert got["gco2e"] == pytest.approx(got["energy_j"] / 3.6e6 * fr)
    assert got["kg"] == pytest.approx(got["gco2e"] / 1e3)
    assert got["unplaced"] is None and got["note"].startswith("no emissions: no place set")
    assert got["calls"] == 3 and got["total_j"] > 0 and got["mean_j"] == pytest.approx(got["total_j"] / 3)
    assert got["total_kg"] == pytest.approx(got["total_j"] / 3.6e6 * fr / 1e3)
    assert got["cpu_scope"] == ["machine", "file wattprint.toml"]
    assert got["timeout"] == [300.0, "file wattprint.toml", 0.1]
    assert (got["runs"], got["text_runs"], got["swept_nodes"]) == (3, 2, ["node-a", "node-b"])
    assert got["mean_tiny"] == 2.0 and got["component_rows"] == got["components"] > 0
    assert "no emissions: no place set" in p.stdout and "kg CO2e" in p.stdout


def _table() -> dict[str, tuple[str, ...]]:
    rows = {}
    for line in DOC.read_text().splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if line.startswith("| `[") and len(cells) == 5:
            rows[cells[0]] = tuple(cells[1:])
    return rows


def test_the_settings_table_matches_the_code():
    rows = _table()
    for key, env, default, example, what in table_rows():
        assert rows[key] == (env, default, example, what), key
    for key in CONFIG_KEYS:
        assert rows[f"[carbon] {key}"][0] == ENV_VARS[key]
    assert len(rows) == len(table_rows()) + len(CONFIG_KEYS)


def test_the_readme_links_the_page():
    readme = (DOC.parents[1] / "README.md").read_text()
    assert "(docs/python-api.md)" in readme
