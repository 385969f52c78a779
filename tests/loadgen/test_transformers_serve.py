"""A real ``transformers serve`` (continuous batching, CPU) on a tiny random model, launched, swept at two
concurrency levels and stopped by wattprint serve-bench."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import pytest

from wattprint.cli.main import main
from wattprint.serve.testing import free_port

pytest.importorskip("fastapi")
pytest.importorskip("transformers")

TINY = {"num_hidden_layers": 2, "hidden_size": 64, "intermediate_size": 128, "num_attention_heads": 2,
        "num_key_value_heads": 1, "vocab_size": 2048}


def _transformers_cli() -> str:
    exe = Path(sys.executable).with_name("transformers")
    found = str(exe) if exe.exists() else shutil.which("transformers")
    if not found:
        pytest.skip("the transformers command is not installed")
    return found


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_transformers_serve_swept_at_two_levels(tmp_path, monkeypatch, capsys) -> None:
    from wattprint.loadgen.modeldir import build

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    model = build("qwen2.5-0.5b-instruct", tmp_path / "tiny", dtype="float32", overrides=TINY)
    assert json.loads((model / "wattprint.json").read_text())["weights"] == "random"
    port = free_port()
    launch = (f"{_transformers_cli()} serve {model} --continuous-batching --device cpu --host 127.0.0.1 "
              f"--port {port} --log-level warning --cb-num-blocks 64 --cb-block-size 32")  # a small KV cache on CPU
    db, out = tmp_path / "r.db", tmp_path / "r.json"
    code = main(["serve-bench", "--launch", launch, "--url", f"http://127.0.0.1:{port}", "--model", str(model),
                 "--concurrency", "1,2", "--duration", "2", "--slice", "0.25", "--workload", "fixed:8:12",
                 "--warmup", "2", "--idle", "0.5", "--gpus", "none", "--store", str(db), "--json", str(out),
                 "--weights", "random", "--ready-timeout", "300"])
    err = capsys.readouterr().err
    assert code == 0, err
    levels = json.loads(out.read_text())["levels"]
    assert [s["level"]["label"] for s in levels] == ["c=1", "c=2"]
    for s in levels:
        assert s["failures"]["failed"] == 0, s["failures"]
        # --force-length auto -> transformers: eos disabled, every request gets the 12 tokens it asked for
        assert s["failures"]["length_mismatch"] == 0 and s["requests"]["ok"] > 0
        assert s["tokens"]["source"] == "usage"
        assert s["energy_source"] == "meter" and s["energy"]["by_kind_j"]["cpu"] > 0
        assert s["per"]["j_per_output_token"] > 0 and s["latency"]["ttft_s"]["p50"] > 0
    assert levels[1]["batch"]["in_flight_mean"] > 1.2  # two requests were in the engine at once
    # the engine and its model process are gone
    import urllib.request

    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models", timeout=2)
