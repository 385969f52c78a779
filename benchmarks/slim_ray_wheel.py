"""Repack Ray's wheel without the parts a sweep never uses, so it fits the device machine's 64 MiB carry.

Ray's manylinux wheel is ~79 MB; the Java jar (~34 MB), the dashboard's web build and the libraries
wattprint does not import (rllib, tune, train, serve, data, air, llm) are dropped, and RECORD is
rewritten to list only what remains. The core (raylet, gcs_server, _raylet.so, the dashboard and
runtime-env agents' Python code) is kept whole.

    python benchmarks/slim_ray_wheel.py SRC.whl DEST_DIR
"""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

DROP = (
    "ray/jars/", "ray/dashboard/client/build/", "ray/rllib/", "ray/tune/", "ray/train/", "ray/serve/",
    "ray/data/", "ray/air/", "ray/llm/", "ray/cpp/",
)


def slim(src: Path, dest_dir: Path) -> Path:
    dest = dest_dir / src.name
    dest_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zout:
        record_name = next(n for n in zin.namelist() if n.endswith(".dist-info/RECORD"))
        kept = [i for i in zin.infolist() if not i.filename.startswith(DROP) and i.filename != record_name]
        names = {i.filename for i in kept}
        for info in kept:
            zout.writestr(info, zin.read(info.filename))
        lines = zin.read(record_name).decode().splitlines()
        record = [ln for ln in lines if ln.split(",", 1)[0] in names] + [f"{record_name},,"]
        zout.writestr(record_name, "\n".join(record) + "\n")
    return dest


if __name__ == "__main__":
    out = slim(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"{out}: {out.stat().st_size / 2**20:.1f} MiB")
