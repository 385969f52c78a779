"""Reports compare like with like: a store where a mixed average ranks tasks wrongly, and what the report says."""

import json
import statistics

import pytest

from wattprint.bench.summary import plain_table, rows
from wattprint.report.formats import ReportOptions, render

SHRINK = "quick preset: 2 denoising steps at 64x64 instead of the model's default steps and size"
SHRINK_HTML = SHRINK.replace("'", "&#x27;")  # as the page escapes it
J_PER_WH = 3600.0

# (task, model, kind, preset, Wh per 1,000 of each repeat, shrunk)
STORE = [
    ("text-classification", "distilbert-sst2", "task-specific", "paper", [0.30, 0.32], ""),
    ("text-classification", "flan-t5-xxl", "general-purpose", "paper", [23.0, 22.0], ""),
    ("text-classification", "distilbert-sst2", "task-specific", "aienergyscore", [0.38], ""),
    ("text-classification", "flan-t5-xxl", "general-purpose", "aienergyscore", [22.6], ""),
    ("summarization", "t5-small", "task-specific", "paper", [4.6, 4.4], ""),
    ("summarization", "flan-t5-xxl", "general-purpose", "paper", [70.0], ""),
    ("summarization", "t5-small", "task-specific", "aienergyscore", [3.3], ""),
    ("image-generation", "bk-sdm-tiny", "task-specific", "quick", [3.5], SHRINK),
    ("summarization", "t5-small", "task-specific", "quick", [5.0], ""),
]


@pytest.fixture
def records(record):
    out = []
    for task, model, kind, preset, whs, shrunk in STORE:
        for i, wh in enumerate(whs):
            extra = {"settings": {"shrunk": shrunk}, "warnings": [f"settings shrunk: {shrunk}"]} if shrunk else {}
            out.append(record(task, model, wh * J_PER_WH / 10.0, inferences=100, repeat=i, model_kind=kind,
                              wh_per_1000=wh, preset=preset, **extra))
    return out


def _kwh(whs):
    return statistics.fmean(whs) / 1000.0


def test_the_old_mixed_average_ranks_these_tasks_wrongly():
    # what a per-task median over every row of a task says (presets, kinds and shrunk runs mixed)
    by_task = {}
    for task, _, _, _, whs, _ in STORE:
        by_task.setdefault(task, []).append(statistics.fmean(whs))
    mixed = sorted(by_task, key=lambda t: statistics.median(by_task[t]))
    assert mixed == ["image-generation", "summarization", "text-classification"]  # the trap


def test_headline_and_per_task_figures_over_comparable_runs_only(records):
    data = json.loads(render("json", records, ReportOptions()))
    heads = {(h["over"]["preset"], h["over"]["shrunk"]): h for h in data["headlines"]}
    # one headline per full-size protocol; the shrunk quick runs rank in none
    assert set(heads) == {("aienergyscore", False), ("paper", False), ("quick", False)}
    paper = heads[("paper", False)]
    assert paper["over"]["model_kind"] == "task-specific"
    assert paper["tasks_ranked"] == ["text-classification", "summarization"]
    assert paper["most_frugal_task"] == {"task": "text-classification",
                                         "kwh_per_1000_median": pytest.approx(_kwh([0.30, 0.32]))}
    assert paper["most_energy_hungry_task"] == {"task": "summarization",
                                                "kwh_per_1000_median": pytest.approx(_kwh([4.6, 4.4]))}
    assert paper["spread_across_models"]["ratio"] == pytest.approx(4.5 / 0.31)
    assert heads[("aienergyscore", False)]["tasks_ranked"] == ["text-classification", "summarization"]
    assert heads[("quick", False)]["tasks_ranked"] == ["summarization"]
    tasks = {(t["preset"], t["shrunk"], t["task"]): t for t in data["tasks"]}
    tc = tasks[("paper", False, "text-classification")]
    assert tc["kinds"]["task-specific"]["kwh_per_1000_median"] == pytest.approx(_kwh([0.30, 0.32]))
    assert tc["kinds"]["general-purpose"]["kwh_per_1000_median"] == pytest.approx(_kwh([23.0, 22.0]))
    assert tc["median_ratio_to_primary"]["general-purpose"] == pytest.approx(22.5 / 0.31)
    img = tasks[("quick", True, "image-generation")]
    assert img["shrunk_reason"] == SHRINK and img["kinds"]["task-specific"]["kwh_per_1000_median"] == pytest.approx(
        _kwh([3.5]))
    assert all("image-generation" not in h["tasks_ranked"] for h in data["headlines"])
    row = next(r for r in data["rows"] if r["model"] == "bk-sdm-tiny")
    assert row["shrunk"] == SHRINK


def test_html_says_what_the_headline_is_over_and_flags_the_shrunk_run(records):
    html = render("html", records, ReportOptions())
    cards = html[html.index('<div class="cards">'):html.index("<h2>Every model")]
    assert "Most frugal task" in cards and "over task-specific models, paper preset (2 tasks)" in cards
    start = cards.index("Not in the headline")
    left_out = cards[start:cards.index("Headline over", start)]  # in the first headline's row of cards
    assert "Image generation (text-to-image) (quick preset, shrunk runs)" in left_out
    assert "Shrunk runs are never ranked with full-size ones" in left_out
    assert "Image generation" not in cards.replace(left_out, "")
    summary = html[html.index("<b>quick preset, shrunk runs</b>"):]
    assert SHRINK_HTML in summary[:summary.index("</p>")]  # why, at the top of its summary table
    board = html[html.index('id="lb-image-generation"'):]
    board = board[:board.index("</table>")]
    assert "quick preset, shrunk runs" in board and 'class="tag shr"' in board and SHRINK_HTML in board
    assert 'fill="#fff" fill-opacity="1"' in html  # the hollow marker of the shrunk point


def test_markdown_flags_the_shrunk_figure_and_keeps_kinds_apart(records):
    md = render("md", records, ReportOptions())
    assert "Over task-specific models, paper preset (2 tasks): most frugal task **Text classification**" in md
    assert "Not in the headline: Image generation (text-to-image) (quick preset, shrunk runs: quick preset: 2" in md
    summary = next(ln for ln in md.splitlines() if ln.startswith("| Image generation"))
    assert "(shrunk) | 1 | 0.0035" in summary
    board = next(ln for ln in md.splitlines() if ln.startswith("| ★") and "bk-sdm-tiny" in ln)
    assert "0.0035 (shrunk)" in board and "quick (shrunk)" in board
    paper = md[md.index("### paper preset"):]
    tc = next(ln for ln in paper.splitlines() if ln.startswith("| Text classification"))
    cells = [c.strip() for c in tc.strip("|").split("|")]
    # task-specific: 1 model, median 0.31 Wh; general-purpose in its own columns: 1 model, 22.5 Wh, x72.6
    assert cells[1] == "1" and cells[4] == "0.00031" and cells[9:] == ["1", "0.0225", "72.6"]


def test_terminal_table_flags_the_shrunk_run(records):
    table = plain_table(rows([r for r in records if r.preset == "quick"]))
    img = next(ln for ln in table.splitlines() if "bk-sdm-tiny" in ln)
    assert "3.5 [shrunk]" in img
    full = next(ln for ln in table.splitlines() if "t5-small" in ln)
    assert "5 " in full and "[shrunk]" not in full
    assert "[shrunk]: the preset shrank this task's work per inference" in table
