"""wattprint.bench.environment: the CPU behind a generic VM model name, from /proc/cpuinfo."""

from __future__ import annotations

from wattprint.bench.environment import cpu_identity, cpu_model

CPUINFO = """processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R) Processor
stepping\t: 8
microcode\t: 0x2b000603
cpu MHz\t\t: 2100.000

processor\t: 1
cpu family\t: 6
model\t\t: 106
model name\t: Other
stepping\t: 6
cpu MHz\t\t: 2900.000
"""


def test_the_first_processor_names_family_model_stepping_microcode_and_clock(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text(CPUINFO)
    assert cpu_model(path) == "Intel(R) Xeon(R) Processor"
    assert cpu_identity(path) == {"cpu_id": "6/143/8", "cpu_microcode": "0x2b000603", "cpu_mhz": 2100.0}


def test_fields_a_cpuinfo_lacks_are_left_out_and_no_file_gives_nothing(tmp_path):
    path = tmp_path / "cpuinfo"
    path.write_text("processor\t: 0\nmodel name\t: ARMv8\ncpu MHz\t\t: fast\n")
    assert cpu_identity(path) == {}
    assert cpu_identity(tmp_path / "missing") == {}
    assert cpu_model(tmp_path / "missing")  # platform's answer instead
