"""Sweeps on Ray: a plan of benchmark jobs run across a cluster, each job measuring only its own GPUs.

``plan`` (the plan file and its jobs), ``session`` (start or join Ray), ``driver`` (submit, stream records
into the store, failures, Ctrl-C), ``worker`` (what runs in a Ray worker), ``gpus`` (Ray's GPU ids to NVML
UUIDs), ``failures`` (reasons), ``progress`` (displays), ``sweep.run_sweep`` (the entry point). Nothing
here imports Ray at module level.
"""
