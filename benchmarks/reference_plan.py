"""Which jobs the reference runs, in what order, how long each is expected to take, and how they split into parts.

Three sets (GitHub issue 16):

- ``study``: every catalog model of the study set (``study = true``) on each of the study's tasks it serves, plus
  the catalog's modern LLMs (general-purpose text-generation entries outside the study) up to the 8B class, plus
  every catalog model the AI Energy Score leaderboard has published a figure for (``data/
  aienergyscore_leaderboard.csv``, on the leaderboard's task), all in ``aienergyscore``.
- ``paper``: for each of the study's tasks the least, the median and the most energy-hungry model, in ``paper``.
  "Energy-hungry" comes from a results CSV of ``aienergyscore`` figures (this script's own CSV) where it holds
  at least three models of the task, else from the parameter count; the plan says which for every task. Text
  generation also gets one decoder-only model of every size class (``SIZE_CLASSES``).
- ``refresh``: every row of a results CSV (``--figures``) that the repeat rule did not stop (still from an earlier
  fixed-repeat run), that was measured on another dataset than its preset now uses, or that ran fewer than 100
  synthetic texts of randomly drawn lengths (``drawn_lengths``), in its own preset.

Jobs are ordered text generation first (decoder-only models, smallest first), then the other tasks in the
registry's order, so the first parts hold the models the earlier reference lacked.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

# The study's ten tasks (Luccioni, Jernite & Strubell 2024, arXiv:2311.16863, Table 1), by wattprint's names.
STUDY_TASKS = ("text-classification", "token-classification", "question-answering", "fill-mask", "text-generation",
               "summarization", "image-classification", "object-detection", "image-captioning", "image-generation")
# "Modern LLMs up to 8B": the 8B class includes Llama-3.1-8B (8.03e9) and Qwen3-8B (8.19e9) as their cards name them.
MODERN_MAX_PARAMETERS = 8.5e9
# Size classes of decoder-only text generation, so that `paper` covers small, mid-size and multi-billion models.
SIZE_CLASSES = ((0.0, 5e8, "< 0.5B"), (5e8, 2e9, "0.5-2B"), (2e9, MODERN_MAX_PARAMETERS, "2-8.5B"))
ENCODER_DECODER_FAMILIES = ("Flan-T5", "T5", "BART", "DistilBART", "PEGASUS", "LED")
SETS = ("study", "paper", "refresh")
LEADERBOARD = Path(__file__).resolve().parent / "data" / "aienergyscore_leaderboard.csv"


@dataclass(frozen=True)
class PlannedJob:
    preset: str
    task: str
    model: str
    parameters: int
    why: str = ""  # how the job was chosen (paper set: least / median / most, and by what)

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.preset, self.task, self.model)

    @property
    def label(self) -> str:
        return f"{self.task}/{self.model}"


def is_decoder_only(entry) -> bool:
    return entry.family not in ENCODER_DECODER_FAMILIES


def is_modern_llm(entry) -> bool:
    return (not entry.study and entry.kind == "general-purpose" and entry.task == "text-generation"
            and (entry.parameters or 0) <= MODERN_MAX_PARAMETERS)


def left_out() -> list[tuple[str, str, str]]:
    """(task, model, why) of the study models the plans leave out because they cannot be built here."""
    from wattprint.models.catalog import entries

    return [(t, e.name, e.not_buildable) for t in STUDY_TASKS for e in entries(t) if e.study and e.not_buildable]


def study_set() -> list[PlannedJob]:
    """Every study model on each study task it serves, plus the modern LLMs, in ``aienergyscore``."""
    from wattprint.models.catalog import entries

    jobs = []
    for task in STUDY_TASKS:
        for e in entries(task):
            if not e.not_buildable and (e.study or (task == "text-generation" and is_modern_llm(e))):
                why = "study model" if e.study else "modern LLM <= 8B class"
                jobs.append(PlannedJob("aienergyscore", task, e.name, e.parameters or 0, why))
    return order(jobs + leaderboard_jobs())


def leaderboard_jobs(path: Path = LEADERBOARD) -> list[PlannedJob]:
    """The catalog models the AI Energy Score leaderboard has a figure for, on its task, in ``aienergyscore``."""
    from wattprint.core.errors import WattprintError
    from wattprint.models.catalog import get_entry

    if not path.exists():
        return []
    jobs = []
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            try:
                e = get_entry(row["hub_id"], row["task"])
            except WattprintError:
                continue
            if e.in_catalog and not e.not_buildable:
                jobs.append(PlannedJob("aienergyscore", row["task"], e.name, e.parameters or 0,
                                       "on the AI Energy Score leaderboard"))
    return jobs


def read_figures(path: str | None) -> dict[tuple[str, str], float]:
    """(task, model) -> GPU Wh per 1,000 of the ``aienergyscore`` rows of a results CSV (this script's own) that
    ``--skip-done`` counts as done: a row of the fixed protocol, another dataset or drawn lengths could rank a model
    by settings the others did not run (a captioner's 10 new tokens where the rest generated 100)."""
    if not path or not Path(path).exists():
        return {}
    with open(path, newline="") as f:
        return {(r["task"], r["model"]): float(r["gpu_wh_per_1000"]) for r in csv.DictReader(f)
                if r.get("preset") == "aienergyscore" and r.get("gpu_wh_per_1000") not in (None, "") and is_done(r)}


def _least_median_most(ranked: list[tuple[float, str]]) -> list[tuple[str, str]]:
    """(model, role) for the lowest, the median and the highest of ``ranked`` (value, model), duplicates merged."""
    ranked = sorted(ranked)
    picks = [(ranked[0][1], "least"), (ranked[len(ranked) // 2][1], "median"), (ranked[-1][1], "most")]
    out: dict[str, str] = {}
    for model, role in picks:
        out[model] = f"{out[model]}+{role}" if model in out else role
    return list(out.items())


def paper_set(figures: dict[tuple[str, str], float] | None = None) -> list[PlannedJob]:
    """Least, median and most energy-hungry task-specific study model of every study task, in ``paper``; the
    smallest and the largest general-purpose study model where the study ran some on the task; and for text
    generation one decoder-only model (study or modern LLM) of every size class."""
    from wattprint.models.catalog import entries

    figures = figures or {}
    jobs = []
    for task in STUDY_TASKS:
        pool = [e for e in entries(task) if e.study and e.kind == "task-specific" and not e.not_buildable]
        jobs += _ranked(task, pool, figures)
        general = sorted((e for e in entries(task) if e.study and e.kind == "general-purpose"),
                         key=lambda e: e.parameters or 0)
        if general:
            jobs += [PlannedJob("paper", task, e.name, e.parameters or 0, f"general-purpose, {role} by parameters")
                     for e, role in ((general[0], "smallest"), (general[-1], "largest"))]
        if task == "text-generation":  # every BLOOMZ, for the break-even against training the study computed
            jobs += [PlannedJob("paper", task, e.name, e.parameters or 0, "BLOOMZ, for wattprint breakeven")
                     for e in entries(task) if e.family == "BLOOMZ"]
            more = [e for e in entries(task) if e.study or is_modern_llm(e)]
            jobs += _size_classes(more, {j.model for j in jobs if j.task == task})
    return order(jobs)


def _ranked(task: str, pool: list, figures: dict[tuple[str, str], float]) -> list[PlannedJob]:
    """Least, median and most of ``pool``: by the given aienergyscore figures where 3 or more are known."""
    if not pool:
        return []
    measured = [(figures[(task, e.name)], e.name) for e in pool if (task, e.name) in figures]
    if len(measured) >= 3:
        basis, ranked = f"by aienergyscore GPU Wh / 1,000 ({len(measured)} of {len(pool)} measured)", measured
    else:
        basis, ranked = "by parameter count (fewer than 3 aienergyscore figures)", \
            [(float(e.parameters or 0), e.name) for e in pool]
    params = {e.name: e.parameters or 0 for e in pool}
    return [PlannedJob("paper", task, m, params[m], f"{role} task-specific, {basis}")
            for m, role in _least_median_most(ranked)]


def _size_classes(pool: list, have: set[str]) -> list[PlannedJob]:
    """One decoder-only model (the median by parameters) for every size class not yet covered."""
    out = []
    decoders = [e for e in pool if is_decoder_only(e)]
    for lo, hi, name in SIZE_CLASSES:
        members = sorted((e for e in decoders if lo <= (e.parameters or 0) < hi), key=lambda e: e.parameters or 0)
        if not members or any(e.name in have for e in members):
            continue
        e = members[len(members) // 2]
        why = f"decoder-only, size class {name}"
        out.append(PlannedJob("paper", "text-generation", e.name, e.parameters or 0, why))
    return out


def order(jobs: list[PlannedJob]) -> list[PlannedJob]:
    """Text generation first (decoder-only models, then encoder-decoder ones), then the other tasks in the
    study's order; smallest first within each. A job chosen twice is kept once."""
    from wattprint.models.catalog import get_entry

    rank = {t: i for i, t in enumerate(STUDY_TASKS)}
    first = "text-generation"
    unique = list({j.key: j for j in reversed(jobs)}.values())  # the first reason given wins
    return sorted(unique, key=lambda j: (j.task != first, rank.get(j.task, 99),
                                         not is_decoder_only(get_entry(j.model)), j.parameters, j.model))


def refresh_set(csv_path: str | None) -> list[PlannedJob]:
    """Each row of a results CSV without a ``stop`` reason (an earlier fixed-repeat run), on another dataset than
    its preset now uses, or from few texts of randomly drawn lengths (:func:`drawn_lengths`), in its own preset."""
    from wattprint.core.errors import WattprintError
    from wattprint.models.catalog import get_entry

    if not csv_path or not Path(csv_path).exists():
        return []
    jobs = []
    with open(csv_path, newline="") as f:
        for r in csv.DictReader(f):
            if is_done(r):
                continue
            try:
                e = get_entry(r["model"], r["task"])
            except WattprintError:
                continue
            if not e.not_buildable:
                why = (f"published on {r['dataset']}; the preset now uses {preset_dataset(r['preset'], r['task'])}"
                       if stale_dataset(r) else
                       f"published from {r['samples']} texts of randomly drawn lengths" if drawn_lengths(r) else
                       "published from an earlier fixed-repeat run")
                jobs.append(PlannedJob(r["preset"], r["task"], e.name, e.parameters or 0, why))
    return order(jobs)


def plan(which: str, figures_csv: str | None = None) -> list[PlannedJob]:
    if which == "study":
        return study_set()
    if which == "paper":
        return paper_set(read_figures(figures_csv))
    if which == "refresh":
        return refresh_set(figures_csv)
    raise ValueError(f"unknown set {which!r}: choose one of {', '.join(SETS)}")


# Seconds per input on one H200, batch 1, by task: a rough model (base + per billion parameters) from the
# reference's median latencies (docs/results/h200.csv; captioning and speech generate up to 100 and 128 tokens).
PER_INPUT_S = {"text-generation": (0.25, 0.03), "image-generation": (0.8, 1.4), "image-captioning": (0.9, 0.3),
               "summarization": (0.05, 0.05), "automatic-speech-recognition": (0.4, 1.2)}
DEFAULT_PER_INPUT_S = (0.01, 0.02)
LOAD_S = (4.0, 6.0)  # building random weights: base + per billion parameters
REPEAT_S = 2.5  # the time budget of one repeat (samples sized to it)
# Medians per job on the H200 over parts 10-11 (84 jobs; benchmarks/runs/reference-2026-12-04d/e, each job's
# "stages" in call4/ref.db.jobs.json): seconds outside the repeats (loading, building, warm-up, preprocessing) and
# repeats until the interval was within 10%.
SETUP_S = {"text-generation": 15.0, "summarization": 9.0, "text-classification": 8.0, "question-answering": 9.0,
           "image-classification": 9.0, "object-detection": 11.0, "image-captioning": 22.0,
           "automatic-speech-recognition": 28.0}
EXPECTED_REPEATS = {"text-generation": 6.0, "summarization": 3.0, "text-classification": 3.0,
                    "question-answering": 4.5, "image-classification": 7.5, "object-detection": 8.0,
                    "image-captioning": 6.0, "automatic-speech-recognition": 7.0}
DEFAULT_SETUP_S, DEFAULT_REPEATS = 10.0, 5.0
JOB_CAP_S = 120.0  # no repeat of a job starts after this many seconds (reference.py --job-cap's default)


def min_samples(task: str) -> int:
    """The floor of inputs a repeat has on the GPU (reference.py's settings): 3 images, else 10."""
    return 3 if task == "image-generation" else 10


def estimate_seconds(job: PlannedJob) -> float:
    """Expected wall time of one job: its set-up (the task's measured median, or building and warm-up if a large
    model takes longer) and its expected repeats, each at least REPEAT_S and its floor of inputs, within the cap."""
    b = job.parameters / 1e9
    base, per_b = PER_INPUT_S.get(job.task, DEFAULT_PER_INPUT_S)
    per_input = base + per_b * b
    setup = max(SETUP_S.get(job.task, DEFAULT_SETUP_S), LOAD_S[0] + LOAD_S[1] * b + 4 * per_input)
    repeat = max(REPEAT_S, min_samples(job.task) * per_input)
    # the repeats stop before one would pass the cap, once there are 3
    return setup + min(max(JOB_CAP_S, 3 * repeat), EXPECTED_REPEATS.get(job.task, DEFAULT_REPEATS) * repeat)


def split(jobs: list[PlannedJob], parts: int) -> list[list[PlannedJob]]:
    """``jobs`` in ``parts`` contiguous runs of about equal estimated time (plan order kept)."""
    total = sum(estimate_seconds(j) for j in jobs)
    out: list[list[PlannedJob]] = [[] for _ in range(parts)]
    done = 0.0
    for j in jobs:
        i = min(parts - 1, int(done / total * parts)) if total else 0
        out[i].append(j)
        done += estimate_seconds(j)
    return out


def parts_needed(jobs: list[PlannedJob], seconds: float) -> int:
    """The fewest parts whose largest estimated time is within ``seconds``."""
    n = 1
    while n < len(jobs) and max(sum(estimate_seconds(j) for j in p) for p in split(jobs, n)) > seconds:
        n += 1
    return n


def is_decoder_job(job: PlannedJob) -> bool:
    from wattprint.models.catalog import get_entry

    return job.task == "text-generation" and is_decoder_only(get_entry(job.model))


def select(jobs: list[PlannedJob], part: str | None = None, only: list[str] | None = None,
           done: set[tuple[str, str, str]] | None = None, decoder_only: bool | None = None) -> list[PlannedJob]:
    """The jobs named by ``only`` (TASK/MODEL or MODEL); only decoder-only text generation (``decoder_only``
    True) or everything else (False); then the ``part`` ("K/N", 1-based) of those, less the jobs in ``done``
    (a part keeps its jobs when some are done)."""
    if decoder_only is not None:
        jobs = [j for j in jobs if is_decoder_job(j) == decoder_only]
    if only:
        names = set(only)
        jobs = [j for j in jobs if j.label in names or j.model in names]
    if part:
        k, n = (int(x) for x in part.split("/"))
        jobs = split(jobs, n)[k - 1]
    return [j for j in jobs if not done or j.key not in done]


def done_keys(csv_path: str | None) -> set[tuple[str, str, str]]:
    """(preset, task, model) of the rows of a results CSV that the repeat rule stopped (a ``stop`` reason: tight,
    time cap, max repeats) on the dataset their preset uses now: jobs a part need not run again. Rows from earlier
    fixed-repeat runs have no reason; they, rows on another dataset than the preset's and rows of few texts of
    drawn lengths (:func:`is_done`) are measured again."""
    if not csv_path:
        return set()
    with open(csv_path, newline="") as f:
        return {(r["preset"], r["task"], r["model"]) for r in csv.DictReader(f) if is_done(r)}


def is_done(row: dict) -> bool:
    """Whether a results row was stopped by the repeat rule on the dataset its preset uses now, with inputs as
    the runner builds them now."""
    return bool((row.get("stop") or "").strip()) and not stale_dataset(row) and not drawn_lengths(row)


# Parts 6-9 of the reference drew each synthetic text's length at random; a job keeps the first n inputs, and
# under 100 of them the draws' mean missed the dataset's by up to a quarter (seed 0: 200 tokens over the first
# 13 classification texts, against 157). Such rows are measured again with lengths spread over the quantiles.
DRAWN_LENGTH_COMMITS = frozenset({"ac7da27", "f82de98", "226a0d8", "02405ce"})
DRAWN_LENGTH_TASKS = frozenset({"text-classification", "question-answering", "summarization", "text-generation",
                                "fill-mask", "token-classification", "sentence-similarity"})
DRAWN_LENGTH_MAX_SAMPLES = 100


def drawn_lengths(row: dict) -> bool:
    """Whether a results row ran few enough synthetic texts of randomly drawn lengths for their mean to miss."""
    try:
        samples = int(float(row.get("samples") or 0))
    except ValueError:
        return False
    return (row.get("commit", "") in DRAWN_LENGTH_COMMITS and row.get("task") in DRAWN_LENGTH_TASKS
            and row.get("workload", "synthetic") == "synthetic" and 0 < samples < DRAWN_LENGTH_MAX_SAMPLES)


@functools.cache
def preset_dataset(preset: str, task: str) -> str:
    """The dataset ``preset`` runs ``task`` on first: the one it names, else the task's first standard one."""
    from wattprint.bench.presets import load_preset
    from wattprint.tasks.registry import get_task

    named = load_preset(preset).settings_for(task).dataset
    return named[0] if named else get_task(task).datasets[0].name


def stale_dataset(row: dict) -> bool:
    """Whether a results row was measured on another dataset than its preset uses now (a row without the column
    is taken as current)."""
    ds = (row.get("dataset") or "").strip()
    return bool(ds) and ds != preset_dataset(row["preset"], row["task"])


def listing(jobs: list[PlannedJob], parts: int | None = None) -> str:
    """The plan as text: one line per job with its estimate, each part's total, and how the jobs were chosen."""
    groups = split(jobs, parts) if parts else [jobs]
    lines = []
    for i, group in enumerate(groups, 1):
        total = sum(estimate_seconds(j) for j in group)
        if parts:
            lines.append(f"part {i}/{parts}: {len(group)} jobs, ~{total:.0f} s")
        for j in group:
            lines.append(f"  {j.preset:13s} {j.task:22s} {j.model:30s} {j.parameters / 1e6:9.0f} M "
                         f"~{estimate_seconds(j):5.0f} s  {j.why}")
    total = sum(estimate_seconds(j) for j in jobs)
    lines.append(f"{len(jobs)} jobs, ~{total:.0f} s in all; parts of <= 480 s: {parts_needed(jobs, 480.0)}")
    lines += [f"left out (cannot be built here): {t}/{m}: {why}" for t, m, why in left_out()]
    return "\n".join(lines)
