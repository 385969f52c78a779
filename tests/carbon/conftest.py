import pytest


@pytest.fixture(autouse=True)
def _no_stray_config(no_stray_config):
    """Every carbon test runs in an empty folder with no wattprint variables (tests/conftest.py)."""
