"""Prepared inputs kept in an Arrow file and read back batch by batch, as the AI Energy Score protocol reads them.

The protocol (optimum-benchmark's energy_star scenario) maps its dataset through the processor into an Arrow
cache file (``datasets`` ``map``, ``writer_batch_size=50``) inside its measured preprocess phase, then reads every
input back from that file through the ``torch`` formatter inside each measured forward or generate window. For a
small model that read costs more time than the model call, and the GPU's energy over that time is in the
protocol's figure. With ``preprocess = "arrow"`` wattprint does the same with the same library: the tensors of
each prepared batch are written as one row of an Arrow file (nested lists, as ``map`` stores a processor's
arrays), and ``inputs[i]`` reads row ``i`` back into the structure ``task.prepare`` returned.
"""

from __future__ import annotations

import copy
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

WRITER_BATCH_SIZE = 50  # the protocol's map(..., writer_batch_size=50)
# every record of a job whose repeats read their inputs this way carries this warning
ARROW_NOTE = ("preprocess: inputs written to an Arrow file in the preprocess window and read back batch by batch "
              "inside each repeat window (datasets' torch formatter), as the AI Energy Score protocol reads its cache")


class _Slot:
    """Where a tensor sat in a prepared batch; its data is column ``key`` of the batch's Arrow row."""

    def __init__(self, key: str) -> None:
        self.key = key


class _Mapping:
    """A mapping whose tensor items are slots."""

    def __init__(self, value: Any) -> None:
        self.value = value


def split(obj: Any, tensors: dict[str, Any]) -> Any:
    """``obj`` with every tensor replaced by a slot; the tensors, as numpy arrays, go into ``tensors``."""
    import torch

    if isinstance(obj, torch.Tensor):
        key = f"t{len(tensors)}"
        tensors[key] = obj.detach().cpu().numpy()
        return _Slot(key)
    if isinstance(obj, tuple | list):
        return type(obj)(split(v, tensors) for v in obj)
    if hasattr(obj, "keys") and hasattr(obj, "items"):  # dict, BatchEncoding, BatchFeature
        # a shallow copy keeps what is not an item (a fast tokenizer's encodings, for word_ids())
        skeleton = copy.copy(obj)
        for k, v in obj.items():
            skeleton[k] = split(v, tensors)
        return _Mapping(skeleton)
    return obj


def join(skeleton: Any, row: dict[str, Any]) -> Any:
    """The prepared batch back: every slot of ``skeleton`` filled with its tensor from ``row``."""
    if isinstance(skeleton, _Slot):
        return row[skeleton.key]
    if isinstance(skeleton, _Mapping):
        out = copy.copy(skeleton.value)
        for k, v in skeleton.value.items():
            out[k] = join(v, row)
        return out
    if isinstance(skeleton, tuple | list):
        return type(skeleton)(join(v, row) for v in skeleton)
    return skeleton


# datasets 4 and later check, for every tensor the torch formatter makes, whether it is a torchvision VideoReader,
# importing the class each time when torchvision is loaded. torchvision 0.26 and later lack it in their public
# build, so each check is a failed import (huggingface/datasets#8085), 672 of them for a 224x224 image: several
# times the read's own cost. The protocol's datasets 2.20 has no such check, and a class that cannot be imported
# can never match, so the reads skip it (datasets' own switch, set only while they run).
DEAD_VIDEO_CHECK_NOTE = ("preprocess: datasets' per-tensor check for torchvision's VideoReader, which this torchvision "
                         "no longer has, was skipped while reading back (huggingface/datasets#8085; the protocol's "
                         "datasets 2.20 has no such check)")


def video_check_is_dead() -> bool:
    """Whether datasets' formatter would look for torchvision's VideoReader at every tensor and never find it."""
    try:
        from datasets import config
    except ImportError:
        return False
    if not getattr(config, "TORCHVISION_AVAILABLE", False) or "torchvision" not in sys.modules:  # datasets < 4: none
        return False
    try:
        from torchvision.io import VideoReader  # noqa: F401
    except ImportError:
        return True
    return False


@contextmanager
def without_dead_video_check(dead: bool) -> Iterator[None]:
    """Skip datasets' VideoReader check while reading when ``dead`` (:func:`video_check_is_dead`: it can never
    succeed, see DEAD_VIDEO_CHECK_NOTE)."""
    if not dead:
        yield
        return
    from datasets import config

    config.TORCHVISION_AVAILABLE = False
    try:
        yield
    finally:
        config.TORCHVISION_AVAILABLE = True


class ArrowInputs:
    """Prepared batches in an Arrow file on disk (a temporary folder removed with this object). ``notes`` says
    what the reads skip, for the records."""

    def __init__(self, prepared: list[Any]) -> None:
        from datasets import Dataset
        from datasets.arrow_writer import ArrowWriter

        self._folder = tempfile.TemporaryDirectory(prefix="wattprint-arrow-")
        path = f"{self._folder.name}/prepared.arrow"
        self._skeletons = []
        with ArrowWriter(path=path, writer_batch_size=WRITER_BATCH_SIZE) as writer:
            for batch in prepared:
                row: dict[str, Any] = {}
                self._skeletons.append(split(batch, row))
                writer.write(row)
            writer.finalize()
        self._table = Dataset.from_file(path).with_format("torch")  # memory-mapped, as the protocol's cache
        self._dead = video_check_is_dead()  # the model and its processor (which load torchvision) come first
        self.notes = [DEAD_VIDEO_CHECK_NOTE] if self._dead else []

    def __len__(self) -> int:
        return len(self._skeletons)

    def __getitem__(self, i: int) -> Any:
        with without_dead_video_check(self._dead):
            return join(self._skeletons[i], self._table[i])


def available() -> bool:
    """Whether the ``datasets`` library (the ``datasets`` extra) can be imported."""
    try:
        import datasets  # noqa: F401
    except ImportError:
        return False
    return True
