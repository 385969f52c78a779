#!/usr/bin/env bash
# The GPU runs behind the figures in docs/ (benchmark harness, serving proxy, sweep, the reference), as
# they were launched on the lent GPU machines (no network there: wheels and model folders travel with the
# working tree in git-ignored folders, see docs/benchmarks/README.md).
#
#   bash benchmarks/device_run.sh singles   # 2 GPUs: reference part 1 on GPU 1; harness, proxy, reference part 0 on GPU 0
#   bash benchmarks/device_run.sh sweep     # 2 GPUs: the Ray sweep check and the 1-vs-2-GPU scaling
#   bash benchmarks/device_run.sh reference # 1 GPU: one part of the reference (carry .devsite .dswhl, and .refstore
#       holding the last call's ref.db to resume on a fresh machine; a carried .minilm runs weights_factor.py
#       first, ~90 s more), REF_ARGS selects it:
#       REF_ARGS="--set study --decoder-only --part 1/2" REF_COMMIT=abc1234 bash benchmarks/device_run.sh reference
#       (benchmarks/reference.py --list --parts N shows the parts; docs/results/h200.md lists the calls)
#   bash benchmarks/device_run.sh lanes     # 2 GPUs: reference parts in two lanes, one per card (carry .devsite .dswhl):
#       LANE0="--set study --decoder-only;--set study --no-decoders --part 7/7" LANE1="--set study --no-decoders
#       --part 1/7" REF_COMMIT=abc1234 bash benchmarks/device_run.sh lanes   (the same command again on the warm
#       machine goes on where the last call stopped)
#   bash benchmarks/device_run.sh arrowread # 1 GPU: the aienergyscore preset's Arrow read timed variant by variant
#                                           # (carry .dswhl, and .gapwhl for datasets 2.21: not .devsite too, over 64 MiB), ~60 s
#                                           # a model; ARROW_MODELS="resnet-18 yolos-tiny" ARROW_ROWS=40 for several
#   bash benchmarks/device_run.sh peers     # 1 GPU: meter_vs_peers v2 alone (carry .whl), ~250 s
#   bash benchmarks/device_run.sh checks    # 1 GPU: meter check, meter cost, proxy cost and proxy receipts (carry .whl .servewhl)
#   bash benchmarks/device_run.sh gap       # 1 GPU: the AI Energy Score gap phase by phase (carry .gapwhl), ~450 s
#   bash benchmarks/device_run.sh gappreset # 1 GPU: the aienergyscore preset with Arrow reads (carry .gapwhl .devsite/pkgs)
#   bash benchmarks/device_run.sh gapcaption # 1 GPU: GIT captioning with transformers 4.44 and the machine's (carry .gapwhl), ~400 s
#   bash benchmarks/device_run.sh gapdecoder # 1 GPU: GPT-2 large and XL generating with transformers 4.44 and the
#                                            # machine's, one host (carry .gapwhl), ~470 s
#   bash benchmarks/device_run.sh final     # 1 GPU: meter vs peers, meter cost, meter check, proxy, reference
#                                           # re-run of the short jobs (carry .whl .servewhl .devsite)
#
# Results go to $OUT (default ./device-out).
set -uo pipefail
# Everything is written to $RES and packed into one archive in $OUT (the device returns at most 8 files).
FINAL=${OUT:-$PWD/device-out}
RES=$(mktemp -d)
OUT=$RES
mkdir -p "$FINAL"
trap 'tar -C "$RES" -czf "$FINAL/results-${1:-singles}.tar.gz" . ; ls -la "$RES"' EXIT
export PYTHONUNBUFFERED=1 RAY_USAGE_STATS_ENABLED=0 HF_HUB_OFFLINE=1
site=/tmp/site
wheels=$(ls .raywhl/*.whl .servewhl/*.whl .devsite/*.whl .whl/*.whl 2>/dev/null | awk -F/ '!seen[$NF]++')  # one of each (h11 is in two folders)
if [ -n "$wheels" ] && [ ! -d "$site/diffusers" ]; then
  # shellcheck disable=SC2086
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$site" \
    $wheels >/dev/null 2>&1 || { echo "wheel install failed"; exit 1; }
fi
export PYTHONPATH="$site:$PWD/.devsite/pkgs:$PWD/src"
nvidia-smi --query-gpu=index,name,uuid,driver_version,power.limit --format=csv | tee "$OUT/gpus.csv"
python3 -c "import torch, transformers, diffusers; print('torch', torch.__version__, 'transformers', transformers.__version__, 'diffusers', diffusers.__version__)" | tee "$OUT/versions.txt"

t_end=$(( $(date +%s) + ${TOTAL:-470} ))
step() {  # step NAME SECONDS CMD...: run CMD with a timeout of min(SECONDS, time left), log to $OUT/NAME.log
  local name=$1 want=$2; shift 2
  local left=$(( t_end - $(date +%s) ))
  [ "$left" -lt 15 ] && { echo "$name: skipped (no time left)"; return; }
  [ "$want" -gt "$left" ] && want=$left
  local t0; t0=$(date +%s)
  (cd benchmarks && timeout "$want" "$@") >"$OUT/$name.log" 2>&1
  echo "$name rc=$? in $(( $(date +%s) - t0 )) s"
}

gap_install() {  # the protocol's stack (/tmp/gapsite), datasets alone (/tmp/gapds), the meter's needs (/tmp/gapbase),
  # and the env prefixes that run a step with each: "${old[@]}", "${new[@]}", "${mid[@]}"
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/gapsite .gapwhl/*.whl \
    >"$OUT/gap_pip.log" 2>&1 || { echo "gap wheel install failed"; tail -5 "$OUT/gap_pip.log"; exit 1; }
  python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/gapbase .gapwhl/nvidia_ml_py*.whl \
    .gapwhl/psutil*.whl >>"$OUT/gap_pip.log" 2>&1
  datasets_install
  old=(env "PYTHONPATH=/tmp/gapsite:$PWD/src")   # the leaderboard image's transformers 4.44 and datasets
  new=(env "PYTHONPATH=$PWD/src:/tmp/gapbase")   # this machine's transformers
  mid=(env "PYTHONPATH=$PWD/src:/tmp/gapds:/tmp/gapbase")   # this machine's transformers with datasets
}

gap_table() {  # gap_table PART.json...: the parts' table in $OUT/table.md, their phases in $OUT/aienergyscore_phases.csv
  (cd benchmarks && python3 aienergyscore_gap.py table "$@" --csv "$OUT/aienergyscore_phases.csv") >"$OUT/table.md" 2>&1
}

ds_env() {  # datasets for the aienergyscore preset's Arrow reads, on PYTHONPATH and named in versions.txt:
  # .dswhl (datasets 5 on the machine's pyarrow and hub client), else .gapwhl's 2.21, else none (records say so)
  local dir=
  if [ -d .dswhl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/dsw .dswhl/*.whl >/dev/null 2>&1 \
      && dir=/tmp/dsw
  elif [ -d .gapwhl ]; then
    datasets_install && dir=/tmp/gapds
  fi
  [ -n "$dir" ] && export PYTHONPATH="$PYTHONPATH:$dir"
  python3 -c "import datasets, pyarrow; print('datasets', datasets.__version__, 'pyarrow', pyarrow.__version__)" \
    2>&1 | tail -1 | tee -a "$OUT/versions.txt"
}

ref_setup() {  # ref_setup DEFAULT_BUDGET: $budget, the store kept outside $OUT ($store), the commit, datasets
  budget=${BUDGET:-$1}
  # the store outlives the call: /tmp on a warm machine; a carried .refstore (the last call's ref.db or lane*.db,
  # copied back from its results) lets a fresh machine resume where a returned one stopped
  store=${STORE_DIR:-/tmp/refstore}
  [ -z "${STORE_DIR:-}" ] && [ -d .refstore ] && store=$PWD/.refstore
  mkdir -p "$store"
  echo "store: $store ($(ls "$store" 2>/dev/null | grep -c '\.db$') stores carried or kept)"
  export REF_COMMIT=${REF_COMMIT:-} WATTPRINT_COMMIT=${REF_COMMIT:-}
  # aienergyscore reads its inputs back from an Arrow file as the protocol does: carry .dswhl (or .gapwhl) too
  # for datasets (without it every record says its inputs stayed in memory)
  ds_env
}

snapshots_start() {  # snapshots_start DB...: every 45 s a copy of each store (an SQLite backup) and of its job log
  # lands in the returned folder as NAME-partial.db, so a call cut off at the device's 600 s keeps what it measured
  ( while sleep 45; do
      for db in "$@"; do
        [ -f "$db" ] || continue  # not made yet (connecting would make an empty one)
        part="$FINAL/$(basename "$db" .db)-partial.db"
        python3 -c 'import os, sqlite3, sys; d = sqlite3.connect(sys.argv[2] + ".tmp"); sqlite3.connect(sys.argv[1]).backup(d); d.close(); os.replace(sys.argv[2] + ".tmp", sys.argv[2])' \
          "$db" "$part" 2>/dev/null
        cp "$db.jobs.json" "$part.jobs.json.tmp" 2>/dev/null && mv "$part.jobs.json.tmp" "$part.jobs.json"
      done
    done ) &
  snap=$!
}

snapshots_stop() {  # the call ended on its own: its stores are in its results archive, the partial copies go
  kill "$snap" 2>/dev/null; wait "$snap" 2>/dev/null
  rm -f "$FINAL"/*-partial.db*
}

datasets_install() {  # datasets alone (its hub client is the machine's), for the aienergyscore preset's Arrow reads
  (cd .gapwhl && python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/gapds datasets-*.whl \
    pyarrow-*.whl pyarrow_hotfix*.whl dill-*.whl multiprocess-*.whl xxhash-*.whl fsspec-*.whl) >>"$OUT/gap_pip.log" 2>&1
}

checks_steps() {  # the meter's and the proxy's GPU checks (carry .whl .servewhl): ~470 s uncut
  step gpu_meter_check 170 python3 gpu_meter_check.py --no-probes --window 2.5 --long 10
  step meter_overhead 130 python3 meter_overhead.py --steady-seconds 20 --idle-seconds 10 \
    --tools wattprint-gpu,wattprint-default,zeus,codecarbon
  step proxy_overhead 50 python3 proxy_overhead.py --json "$OUT/proxy_overhead.json"
  step proxy_gpu_check 150 python3 -u proxy_gpu_check.py --max-seconds 50 --out "$OUT"
  tail -n 30 "$OUT"/gpu_meter_check.log; tail -n 25 "$OUT"/meter_overhead.log
  tail -n 10 "$OUT"/proxy_overhead.log "$OUT"/proxy_gpu_check.log
}

case "${1:-singles}" in
singles)
  budget=${BUDGET:-430}
  CUDA_VISIBLE_DEVICES=1 timeout $((budget + 90)) python3 benchmarks/reference.py --part 2/2 --budget "$budget" \
    --store "$OUT/ref1.db" >"$OUT/ref1.log" 2>&1 &
  ref1=$!
  start=$(date +%s)
  CUDA_VISIBLE_DEVICES=0 timeout 150 python3 benchmarks/harness_overhead.py --device cuda --model-dir .hocarry \
    --out "$OUT" >"$OUT/harness_overhead.log" 2>&1
  echo "harness_overhead rc=$?"
  CUDA_VISIBLE_DEVICES=0 timeout 130 python3 benchmarks/proxy_gpu_check.py --max-seconds 60 --out "$OUT" \
    >"$OUT/proxy_gpu_check.log" 2>&1
  echo "proxy_gpu_check rc=$?"
  CUDA_VISIBLE_DEVICES=0 timeout 60 python3 benchmarks/proxy_overhead.py --json "$OUT/proxy_overhead.json" >"$OUT/proxy_overhead.log" 2>&1
  echo "proxy_overhead rc=$?"
  left=$((budget - ($(date +%s) - start)))
  if [ "$left" -gt 30 ]; then
    CUDA_VISIBLE_DEVICES=0 timeout $((left + 90)) python3 benchmarks/reference.py --part 1/2 --budget "$left" \
      --store "$OUT/ref0.db" >"$OUT/ref0.log" 2>&1
    echo "reference part 0 rc=$?"
  fi
  wait $ref1
  echo "reference part 1 rc=$?"
  python3 benchmarks/reference.py --merge "$OUT"/ref*.db --store "$OUT/h100.db" --out "$OUT" --archive "$OUT" \
    --name h100 2>&1 | tail -80
  tail -5 "$OUT"/harness_overhead.log "$OUT"/proxy_gpu_check.log "$OUT"/proxy_overhead.log
  ;;
reference)
  # one part on GPU 0: each job's repeats until its 95% CI is within 10% (benchmarks/reference_repeat.py); no new
  # job after BUDGET s. The store stays outside $OUT (STORE_DIR) so a second call on a warm machine resumes it.
  ref_setup 380
  if [ -d .minilm ]; then  # carried (weights_factor.py --pack .minilm): trained against random weights first, ~90 s
    CUDA_VISIBLE_DEVICES=0 timeout 200 python3 benchmarks/weights_factor.py --model .minilm --device cuda --rounds 12 \
      --store "$OUT/weights.db" --json "$OUT/weights_factor.json" 2>&1 | grep -v "Loading weights" | tee "$OUT/weights_factor.log"
  fi
  # a job may start just before BUDGET and run to its 120 s cap: past ~430 s the call can outlive the device's
  # 600 s (snapshots_start keeps what it measured)
  [ "$budget" -gt 430 ] && echo "BUDGET=$budget: a last long job can take the call past the device's 600 s limit"
  snapshots_start "$store/ref.db"
  CUDA_VISIBLE_DEVICES=0 timeout $((budget + 150)) python3 benchmarks/reference.py ${REF_ARGS:---set study --part 1/8} \
    --budget "$budget" --store "$store/ref.db" 2>&1 | tee "$OUT/ref.log" | grep "^\[\|not run"
  snapshots_stop
  cp "$store"/ref.db* "$OUT"/ 2>/dev/null
  python3 benchmarks/reference.py --table-only --store "$store/ref.db" --out "$OUT" --archive "$OUT" \
    --name "${NAME:-h200}" 2>&1 | tail -40
  ;;
final)
  # one step after another on GPU 0, each cut to what is left of ${TOTAL:-470} s (raise TOTAL for all of it)
  export OUT
  # in order of need: what is cut for time comes last
  # benchmark v2 (docs/benchmarks/meter_vs_peers.md): ~250 s on an H200, stops itself at --max-seconds
  step meter_vs_peers 285 python3 meter_vs_peers.py --max-seconds 255
  step reference_short 100 python3 reference.py --budget 70 --store "$OUT/short.db" ${SHORT_MODELS:---part 1/8}
  checks_steps
  tail -n 60 "$OUT"/meter_vs_peers.log; grep -h "^\[" "$OUT"/reference_short.log | cut -c1-120
  ;;
checks)
  # the meter's and the proxy's GPU checks without the peers, ~${TOTAL:-470} s at most
  export OUT
  checks_steps
  ;;
peers)
  # meter_vs_peers v2 alone, one call (carry .whl; ~250 s on an H200): docs/benchmarks/meter_vs_peers.md
  export OUT
  (cd benchmarks && timeout 285 python3 meter_vs_peers.py --max-seconds 255) 2>&1 | grep -v -i "warn\|amd" \
    | tee "$OUT/meter_vs_peers.log"
  ;;
gap)
  # benchmarks/aienergyscore_gap.py: the protocol's stack (.gapwhl: transformers 4.44, datasets) beside the
  # machine's own transformers; each part cut to what is left of ${TOTAL:-470} s, the table printed last
  export OUT
  gap_install  # and the old, new and mid environments
  step gap_image 200 "${old[@]}" python3 aienergyscore_gap.py image --json "$OUT/image.json"
  step gap_text_new 120 "${new[@]}" python3 aienergyscore_gap.py text --json "$OUT/text-new.json"
  step gap_text_old 100 "${old[@]}" python3 aienergyscore_gap.py text --json "$OUT/text-old.json"
  step gap_preset 150 "${mid[@]}" python3 aienergyscore_gap.py preset --samples 300 --store "$OUT/preset.db" \
    --json "$OUT/preset.json"
  step gap_text_old_arrow 70 "${old[@]}" python3 aienergyscore_gap.py text --rows arrow --iterations 1 \
    --json "$OUT/text-old-arrow.json"
  gap_table "$OUT"/image.json "$OUT"/text-new.json "$OUT"/text-old.json "$OUT"/text-old-arrow.json "$OUT"/preset.json
  tar -C "$RES" -czf "$FINAL/results-gap.tar.gz" . && trap - EXIT
  cat "$OUT/table.md"
  ;;
gapcaption)
  # GIT captioning, 100 new tokens, with the leaderboard's transformers 4.44 (.gapwhl: its image encoder runs at every
  # new token) and this machine's (once per caption), ~${TOTAL:-470} s at most; CAPTION_MODELS to pick others
  export OUT
  gap_install
  parts=()
  for m in ${CAPTION_MODELS:-git-base git-large-coco}; do
    step "caption_new_$m" 100 "${new[@]}" python3 aienergyscore_gap.py caption --model "$m" --seconds 30 \
      --json "$OUT/caption-$m-new.json"
    step "caption_old_$m" 130 "${old[@]}" python3 aienergyscore_gap.py caption --model "$m" --seconds 45 \
      --iterations 1 --json "$OUT/caption-$m-old.json"
    parts+=("$OUT/caption-$m-new.json" "$OUT/caption-$m-old.json")
  done
  gap_table "${parts[@]}"
  cat "$OUT/table.md"
  ;;
gapdecoder)
  # the protocol's generation loop for the GPT-2 rows over 1.5x the leaderboard, with its transformers 4.44 (.gapwhl)
  # and this machine's, on one host, each pass with the host probe beside it; ~${TOTAL:-470} s at most;
  # DECODER_MODELS to pick others
  export OUT
  gap_install
  parts=()
  for m in ${DECODER_MODELS:-gpt2-large gpt2-xl}; do
    step "text_new_$m" 110 "${new[@]}" python3 aienergyscore_gap.py text --model "$m" --prompts 60 \
      --json "$OUT/text-$m-new.json"
    step "text_old_$m" 110 "${old[@]}" python3 aienergyscore_gap.py text --model "$m" --prompts 60 \
      --json "$OUT/text-$m-old.json"
    parts+=("$OUT/text-$m-new.json" "$OUT/text-$m-old.json")
  done
  gap_table "${parts[@]}"
  cat "$OUT/table.md"
  ;;
gappreset)
  # wattprint's aienergyscore preset reading its inputs back from Arrow, ResNet-18 and distilgpt2 (carry .gapwhl
  # and .devsite/pkgs, the stand-in tokenizer), ~250 s
  export OUT
  gap_install
  step gap_preset_arrow 400 env "PYTHONPATH=$PWD/src:/tmp/gapds:/tmp/gapbase:$PWD/.devsite/pkgs" python3 \
    aienergyscore_gap.py preset --samples 500 --repeats 2 --store "$OUT/preset-arrow.db" --json "$OUT/preset-arrow.json"
  (cd benchmarks && python3 aienergyscore_gap.py table "$OUT"/preset-arrow.json) >"$OUT/table.md" 2>&1
  tar -C "$RES" -czf "$FINAL/results-gappreset.tar.gz" . && trap - EXIT
  cat "$OUT/table.md"
  ;;
arrowread)
  # what one image's read back from Arrow costs on this host, one change at a time (benchmarks/arrow_read.py,
  # ~60 s; carry .dswhl, and .gapwhl to time the protocol's datasets 2.21 beside 5.2: .devsite as well is over 64 MiB)
  ds_env
  alt=()
  [ -d .gapwhl ] && datasets_install && alt=(--alt-site /tmp/gapds)
  # ARROW_MODELS: catalog image models, one run each (default resnet-18; e.g. "resnet-18 yolos-tiny detr-resnet-50")
  for m in ${ARROW_MODELS:-resnet-18}; do
    sfx=$([ "$m" = resnet-18 ] && echo "" || echo "-$m")
    CUDA_VISIBLE_DEVICES=0 timeout 300 python3 benchmarks/arrow_read.py --device cuda --model "$m" "${alt[@]}" \
      --rows "${ARROW_ROWS:-150}" --json "$OUT/arrow_read$sfx.json" 2>&1 | grep -v "^\[transformers\]" \
      | tee "$OUT/arrow_read$sfx.log"
  done
  ;;
lanes)
  # two reference lanes at once, one per card, each pinned to half of the host's cores (a lent single-GPU H200
  # machine has 16; this one 32) and pointed at its card by UUID, so that its meter and its shared-GPU check see
  # that card alone. LANE0, LANE1: ';'-separated reference.py argument sets, run in order; each lane's store stays
  # outside $OUT (STORE_DIR), so the same command on a warm machine resumes: finished jobs are not loaded again.
  ref_setup 340
  mapfile -t uuids < <(nvidia-smi --query-gpu=uuid --format=csv,noheader)
  half=$(( $(nproc) / 2 ))
  lane_end=$(( $(date +%s) + budget ))
  lane() {  # lane K SPEC
    local k=$1 a left pin=()
    command -v taskset >/dev/null && pin=(taskset -c "$((k * half))-$((k * half + half - 1))")
    echo "lane $k: card ${uuids[$k]}, OMP_NUM_THREADS=$half, cores: ${pin[*]:-not pinned (no taskset)}" >>"$OUT/lane$k.log"
    IFS=';' read -ra sets <<< "$2"
    for a in "${sets[@]}"; do
      left=$(( lane_end - $(date +%s) ))
      [ "$left" -lt 20 ] && { echo "not started (time budget): $a" >>"$OUT/lane$k.log"; continue; }
      # shellcheck disable=SC2086
      CUDA_VISIBLE_DEVICES=${uuids[$k]} OMP_NUM_THREADS=$half timeout $((left + 150)) "${pin[@]}" python3 \
        benchmarks/reference.py $a --budget "$left" --store "$store/lane$k.db" >>"$OUT/lane$k.log" 2>&1
    done
  }
  snapshots_start "$store/lane0.db" "$store/lane1.db"
  lane 0 "${LANE0:---set study --decoder-only}" & l0=$!
  lane 1 "${LANE1:---set study --no-decoders --part 1/7}" & l1=$!
  wait $l0 $l1
  snapshots_stop
  for k in 0 1; do
    cp "$store"/lane$k.db* "$OUT"/ 2>/dev/null
    mkdir -p "$OUT/lane$k"
    python3 benchmarks/reference.py --table-only --store "$store/lane$k.db" --out "$OUT/lane$k" \
      --archive "$OUT/lane$k" --name "${NAME:-h200}" >"$OUT/lane$k/table.log" 2>&1
    grep -h "^\[\|not run\|not started" "$OUT/lane$k.log" | cut -c1-150
  done
  ;;
sweep)
  timeout 280 python3 benchmarks/sweep_gpu_check.py --out "$OUT" 2>&1 | tee "$OUT/sweep_gpu_check.log" | tail -30
  timeout 280 python3 benchmarks/sweep_scaling.py --jobs 8 --out "$OUT" 2>&1 | tee "$OUT/sweep_scaling.log" | tail -30
  ;;
esac
