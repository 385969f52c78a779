"""`--device cuda` on a machine without CUDA: one line and the fix, checked before anything loads."""

from __future__ import annotations

import pytest
from cli_helpers import assert_one_error

torch = pytest.importorskip("torch")

LINE = "CUDA is not available on this machine"
FIX = "use --device cpu or install a CUDA build of torch"


@pytest.fixture
def no_cuda(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)


@pytest.mark.parametrize("argv", [
    ["bench", "--device", "cuda", "--task", "text-classification"],
    ["bench", "--device", "cuda:1", "--preset", "aienergyscore", "--task", "text-generation",
     "--model", "qwen2.5-1.5b-instruct"],  # the README's example
    ["compare", "--device", "cuda", "--task", "text-classification", "--specific", "distilbert-sst2",
     "--general", "flan-t5-small"],
])
def test_cuda_without_cuda(cli, tmp_path, no_cuda, argv):
    store = tmp_path / "w.db"
    code, _, err = cli(*argv, "--store", str(store))
    assert_one_error(code, err, LINE, FIX)
    assert not store.exists()  # checked before the store was opened or a model loaded


def test_cuda_index_beyond_the_machine(cli, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    code, _, err = cli("bench", "--device", "cuda:2", "--task", "text-classification", "--store", str(tmp_path / "w"))
    assert_one_error(code, err, "--device cuda:2: this machine has 2 CUDA device(s)", "cuda:0 .. cuda:1")
