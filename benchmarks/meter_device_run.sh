#!/usr/bin/env bash
# The meter's checks on the GPU machine, in one call (device time is short). From the repository root:
#   bash benchmarks/meter_device_run.sh            (with the peers' wheels in .whl/, see docs/meter.md)
# Writes gpu_meter_check.json, meter_overhead.json, meter_vs_peers.json and the printed tables under $OUT.
set -o pipefail
export PYTHONUNBUFFERED=1
OUT=${OUT:-.devout}
mkdir -p "$OUT"
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
  export PYTHONPATH=/tmp/site
fi
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"
nvidia-smi --query-gpu=name,driver_version,power.limit,pstate --format=csv | tee "$OUT/env.txt"
python3 -c "import torch, pynvml; print('torch', torch.__version__, 'nvidia-ml-py', pynvml.__version__ if hasattr(pynvml, '__version__') else '')" | tee -a "$OUT/env.txt"
cd benchmarks || exit 1
timeout "${CHECK_S:-110}" python3 gpu_meter_check.py ${CHECK_ARGS:-} 2>&1 | tee "$OUT/gpu_meter_check.txt"
timeout "${OVERHEAD_S:-150}" python3 meter_overhead.py --share-seconds "${SHARE_S:-5}" ${OVERHEAD_ARGS:-} 2>&1 | tee "$OUT/meter_overhead.txt"
timeout "${PEERS_S:-290}" python3 meter_vs_peers.py ${PEERS_ARGS:-} 2>&1 | tee "$OUT/meter_vs_peers.txt"
