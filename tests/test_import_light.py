"""``import wattprint`` imports no torch, numpy or pandas and starts no thread."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys, threading
import wattprint
import wattprint.meter.meter, wattprint.meter.api, wattprint.cli.main
heavy = sorted(m for m in ('torch', 'numpy', 'pandas', 'transformers', 'sklearn') if m in sys.modules)
print(repr((heavy, threading.active_count())))
"""


def test_import_is_light():
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True)
    heavy, threads = eval(out.stdout.strip())
    assert heavy == []
    assert threads == 1
