"""A name wattprint does not know (a model the store never ran, a task, a device, a sweep rule's task) is
refused in one line with the close matches, before any work."""

from __future__ import annotations

from cli_helpers import assert_one_error, make_record

from wattprint.store.sqlite import Store


# ---- breakeven ----------------------------------------------------------------------------------
def test_breakeven_model_typo_suggests_the_stored_and_catalog_models(cli, store_path):
    code, out, err = cli("breakeven", "--model", "distilbert-sst3", "--store", str(store_path), "--training-kwh", "5")
    assert_one_error(code, err, "the store has no finished run of 'distilbert-sst3'; did you mean 'distilbert-sst2'",
                     "fix: pick a model the store has (distilbert-sst2, flan-t5-small)")
    assert out == ""


def test_breakeven_task_typo_suggests_the_task(cli, store_path):
    code, _, err = cli("breakeven", "--model", "distilbert-sst2", "--store", str(store_path), "--training-kwh", "5",
                       "--task", "text-clasification")
    assert_one_error(code, err, "unknown task 'text-clasification'; did you mean 'text-classification'")


def test_breakeven_model_on_another_task_names_the_tasks_it_ran(cli, store_path):
    code, _, err = cli("breakeven", "--model", "distilbert-sst2", "--store", str(store_path), "--training-kwh", "5",
                       "--task", "fill-mask")
    assert_one_error(code, err, "no finished run of 'distilbert-sst2' on fill-mask; it ran on text-classification",
                     "fix: pass --task text-classification")


def test_breakeven_task_alias_is_resolved(cli, tmp_path):
    db = tmp_path / "ner.db"
    with Store(db) as s:
        s.add(make_record("token-classification", "distilbert-ner", 36.0, inferences=1000))
    code, out, err = cli("breakeven", "--model", "distilbert-ner", "--store", str(db), "--training-kwh", "5",
                         "--task", "ner")
    assert code == 0, err
    assert "distilbert-ner on token-classification" in out


# ---- serve-bench --from-store -------------------------------------------------------------------
def test_serve_bench_from_store_model_typo_suggests_the_stored_models(cli, tmp_path):
    db = tmp_path / "s.db"
    with Store(db) as s:
        s.add(make_record("serving", "fake-model", 10.0, preset="serve-bench", serving={"level": {"label": "c=1"}}))
    code, out, err = cli("serve-bench", "--from-store", "--store", str(db), "--model", "fake-modl",
                         "--report", str(tmp_path / "r.html"))
    assert_one_error(code, err, "unknown serve-bench model 'fake-modl'; did you mean 'fake-model'?",
                     f"fix: {db} has serve-bench levels of fake-model")
    assert out == "" and not (tmp_path / "r.html").exists()


# ---- bench --device -----------------------------------------------------------------------------
def test_bench_device_gpu_suggests_cuda(cli, tmp_path):
    db = tmp_path / "w.db"
    for device, hint in (("gpu", "'cuda'"), ("gpu:1", "'cuda:1'"), ("cdua", "'cuda'")):
        code, out, err = cli("bench", "--device", device, "--store", str(db))
        assert_one_error(code, err, f"device {device!r} is not one of auto, cpu, cuda, cuda:N, mps; did you mean "
                                    f"{hint}", "fix: use auto, cpu, cuda")
        assert out == ""
    assert not db.exists()


# ---- sweep plan ---------------------------------------------------------------------------------
def test_sweep_rule_task_typo_is_refused_with_the_closest(cli, tmp_path):
    plan = tmp_path / "plan.toml"
    plan.write_text('tasks = ["text-classification"]\n[[resources.rules]]\ntask = "text-clasification"\n'
                    "num_gpus = 1\n")
    code, out, err = cli("sweep", str(plan), "--dry-run")
    assert_one_error(code, err, "unknown task in a resources rule 'text-clasification'; did you mean "
                                "'text-classification'")
    assert out == ""
