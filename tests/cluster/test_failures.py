"""Ray's ways of failing become a status and a one-line reason."""

from __future__ import annotations

import pytest

from wattprint.cluster.failures import describe
from wattprint.core.errors import UnknownNameError

ray_exceptions = pytest.importorskip("ray.exceptions")


def test_lost_worker_and_node():
    f = describe(ray_exceptions.WorkerCrashedError())
    assert f.status == "failed" and f.reason.startswith("worker lost")
    assert describe(ray_exceptions.NodeDiedError("n1")).reason.startswith("node lost")


def test_cancelled_is_aborted():
    f = describe(ray_exceptions.TaskCancelledError())
    assert f.status == "aborted" and "cancelled" in f.reason


def test_an_exception_inside_the_job_keeps_its_message():
    class OutOfMemoryError(RuntimeError):  # the name torch.cuda uses
        pass

    err = ray_exceptions.RayTaskError("job_events", "traceback...", OutOfMemoryError("CUDA out of memory. Tried 2 GiB"))
    f = describe(err)
    assert f.status == "failed" and f.reason == "out of memory: CUDA out of memory. Tried 2 GiB"
    bad = describe(ray_exceptions.RayTaskError("f", "tb", UnknownNameError("model", "bert-tinyy", ["bert-tiny"])))
    assert bad.reason == "unknown name: unknown model 'bert-tinyy'; did you mean 'bert-tiny'?"
    assert describe(ValueError("x\nmore")).reason == "ValueError: x"
