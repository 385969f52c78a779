"""The energy meter: backends (NVML, amdsmi, RAPL, CPU estimate, RAM), windows, and results."""
