"""Why a sweep job ended badly, in one line a reader of the store understands.

Ray reports a lost worker, a lost node, a cancelled task or an exception raised inside the job as
different exception classes; each maps to a status ("failed" or "aborted") and a reason. A table,
looked up by class name along the exception's MRO, so this module needs no Ray import.
"""

from __future__ import annotations

from dataclasses import dataclass

# Ray exception class name -> (status, reason). First match along the MRO wins.
_RAY_REASONS: dict[str, tuple[str, str]] = {
    "TaskCancelledError": ("aborted", "cancelled: the sweep was interrupted while this job ran"),
    "OutOfMemoryError": ("failed", "out of memory: Ray's memory monitor killed the worker"),
    "WorkerCrashedError": (
        "failed",
        "worker lost: the worker process died while running this job (killed, out of host memory, or crashed)",
    ),
    "NodeDiedError": ("failed", "node lost: the Ray node running this job died"),
    "ActorDiedError": ("failed", "worker lost: the actor running this job died"),
    "LocalRayletDiedError": ("failed", "node lost: the local Ray raylet died"),
    "ObjectLostError": ("failed", "result lost: Ray lost this job's output"),
    "RuntimeEnvSetupError": ("failed", "cannot start: Ray could not set up the job's runtime environment"),
}

# Exceptions raised inside the job (the cause of a RayTaskError) that deserve a named reason.
_CAUSE_REASONS: dict[str, str] = {
    "OutOfMemoryError": "out of memory",  # torch.cuda.OutOfMemoryError, torch.OutOfMemoryError
    "UnknownNameError": "unknown name",
    "ConfigError": "bad setting",
    "BackendUnavailable": "cannot measure",
    "MemoryError": "out of host memory",
}


@dataclass(frozen=True)
class Failure:
    status: str  # "failed" or "aborted"
    reason: str


def _first_line(text: str, limit: int = 400) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def describe(error: BaseException) -> Failure:
    """Status and reason for an exception raised by ``ray.get`` on a job's output (or inside a job)."""
    cause = getattr(error, "cause", None)  # RayTaskError wraps the job's own exception
    if cause is not None and cause is not error:
        return _describe_cause(cause)
    for cls in type(error).__mro__:
        if cls.__name__ in _RAY_REASONS:
            status, reason = _RAY_REASONS[cls.__name__]
            detail = _first_line(str(error), 200)
            return Failure(status, f"{reason} ({type(error).__name__}: {detail})" if detail else reason)
    if type(error).__name__.startswith("RayTaskError"):  # no cause attached: keep Ray's own first line
        return Failure("failed", f"job raised: {_first_line(str(error))}")
    return _describe_cause(error)


def _describe_cause(cause: BaseException) -> Failure:
    message = getattr(cause, "message", None) or str(cause)
    for cls in type(cause).__mro__:
        if cls.__name__ in _CAUSE_REASONS:
            return Failure("failed", f"{_CAUSE_REASONS[cls.__name__]}: {_first_line(message)}")
    return Failure("failed", f"{type(cause).__name__}: {_first_line(message)}")
