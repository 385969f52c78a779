"""The package behaves like one: its version written once, py.typed in the wheel, valid classifiers and URLs."""

from __future__ import annotations

import importlib.metadata
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import wattprint

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_the_version_is_written_once_and_the_installed_metadata_agrees():
    project = PYPROJECT["project"]
    assert "version" not in project and "version" in project["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "wattprint._version.__version__"}
    assert wattprint.__version__ == importlib.metadata.version("wattprint")
    hits = [p for p in (ROOT / "src").rglob("*.py") if f'"{wattprint.__version__}"' in p.read_text()]
    assert [p.name for p in hits] == ["_version.py"]


def test_cli_version_is_the_package_version(capsys):
    from wattprint.cli.main import main

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"wattprint {wattprint.__version__}"


def test_classifiers_are_known_to_pypi_and_urls_are_absolute():
    trove = pytest.importorskip("trove_classifiers")
    classifiers = PYPROJECT["project"]["classifiers"]
    assert set(classifiers) <= trove.classifiers and "Typing :: Typed" in classifiers
    urls = PYPROJECT["project"]["urls"]
    assert {"Homepage", "Changelog", "Issues"} <= set(urls)
    assert all(u.startswith("https://") for u in urls.values())


def test_py_typed_and_the_changelog_exist():
    assert (ROOT / "src" / "wattprint" / "py.typed").is_file()
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert changelog.startswith("# Changelog") and f"## [{wattprint.__version__}]" in changelog


@pytest.mark.slow
def test_the_built_wheel_ships_py_typed_data_and_the_version(tmp_path):
    """Build a wheel from a copy of the sources (nothing is written into the checkout)."""
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "src", tmp_path / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", "dist",
                    "."], cwd=tmp_path, check=True, capture_output=True)
    (wheel,) = (tmp_path / "dist").glob("wattprint-*.whl")
    assert wheel.name.startswith(f"wattprint-{wattprint.__version__}-")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "wattprint/py.typed" in names
    assert "wattprint/carbon/data/grid_intensity.csv" in names  # package data still travels
    meta = zipfile.ZipFile(wheel).read(f"wattprint-{wattprint.__version__}.dist-info/METADATA").decode()
    assert "Classifier: Typing :: Typed" in meta and "Provides-Extra: pandas" in meta
    assert f"Version: {wattprint.__version__}" in meta
