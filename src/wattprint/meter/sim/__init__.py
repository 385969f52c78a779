"""Simulated hardware, shipped with the package so any test can have a "GPU" or RAPL on a CPU-only machine.

* :mod:`.traces`: power traces with exact integrals (constant, steps, square waves).
* :mod:`.nvml`: an NVML stand-in (``SimNvml``) with a programmable trace per GPU, counter or no-counter
  GPUs, a GPU lost at a chosen time, MIG instances, and a ~100 ms update period like an H100.
* :mod:`.powercap`: a builder of ``/sys/class/powercap`` trees under a temporary folder (wrap-around,
  psys, duplicate MMIO interface, mirrored dies, unreadable energy files).
* :mod:`.amd`: an amdsmi stand-in.
"""
