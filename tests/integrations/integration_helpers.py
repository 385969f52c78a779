"""Helpers of the tracker tests: the snippets of docs/integrations.md and some work to measure."""

from __future__ import annotations

import re
import socket
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "integrations.md"
README = ROOT / "README.md"


def snippets(heading: str, doc: Path = DOC) -> list[str]:
    """The ```python blocks of ``doc`` (docs/integrations.md) under ``## heading`` or ``### heading`` (up to the
    next heading of the same or a higher level), in page order."""
    text = doc.read_text()
    m = re.search(rf"^(#+) {re.escape(heading)}\s*$", text, flags=re.M)
    assert m, f"no heading {heading!r} in {doc}"
    level = len(m.group(1))
    rest = text[m.end():]
    end = re.search(rf"^#{{1,{level}}} ", rest, flags=re.M)
    section = rest[: end.start()] if end else rest
    blocks = re.findall(r"^```python\n(.*?)^```", section, flags=re.M | re.S)
    assert blocks, f"no python snippet under {heading!r}"
    return blocks


def run_inference() -> float:
    """Some CPU work for the snippets to measure (~50 ms): the CPU estimate turns its CPU time into joules."""
    deadline = time.process_time() + 0.05
    x = 0.0
    while time.process_time() < deadline:
        x += sum(i * i for i in range(2000))
    return x


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wandb_records(path: Path) -> list:
    """The records of an offline W&B run file (``run-<id>.wandb``): a 7-byte header, then LevelDB-log blocks of
    32 KiB whose chunks (checksum, length, type: full/first/middle/last) carry protobuf ``Record``s. wandb no
    longer ships a reader, hence these few lines."""
    import struct

    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B", "not a W&B run file"
    pos, block, out, parts = 7, 32768, [], b""
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:  # a block's tail too short for a chunk header is padding
            pos += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[pos:pos + 7])
        if (kind == 0 and length == 0) or pos + 7 + length > len(data):  # the end, or a chunk still being written
            break
        parts += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):  # full, or the last chunk of a record
            rec = pb.Record()
            rec.ParseFromString(parts)
            out.append(rec)
            parts = b""
    return out


def wandb_logged(path: Path, timeout_s: float = 60.0) -> tuple[list[dict], dict]:
    """The history rows and the final summary of an offline W&B run file, values decoded from JSON. wandb's
    service writes the file on its own after ``finish()`` returns: wait (at most ``timeout_s``) for its exit
    record."""
    import json

    deadline = time.monotonic() + timeout_s
    records = wandb_records(path)
    while not any(r.WhichOneof("record_type") == "exit" for r in records):
        assert time.monotonic() < deadline, f"no exit record in {path} after {timeout_s} s"
        time.sleep(0.2)
        records = wandb_records(path)
    history, summary = [], {}
    for rec in records:
        kind = rec.WhichOneof("record_type")
        if kind == "history":
            history.append({i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in rec.history.item})
        elif kind == "summary":
            for i in rec.summary.update:
                summary[i.key or "/".join(i.nested_key)] = json.loads(i.value_json)
    return history, summary


def tiny_bert():
    """A 1-layer BERT classifier with random weights (seed 0) and 16 random rows of 8 tokens."""
    import torch
    from transformers import BertConfig, BertForSequenceClassification

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, max_position_embeddings=16, num_labels=2)
    model = BertForSequenceClassification(config)
    rows = [{"input_ids": torch.randint(0, 64, (8,)), "attention_mask": torch.ones(8, dtype=torch.long),
             "labels": torch.tensor(i % 2)} for i in range(16)]
    return model, rows
