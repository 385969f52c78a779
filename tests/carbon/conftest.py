import pytest


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch):
    """Run each carbon test in an empty folder so a ./wattprint.toml of the checkout cannot leak in."""
    monkeypatch.chdir(tmp_path)
    for var in ("WATTPRINT_COUNTRY", "WATTPRINT_REGION", "WATTPRINT_CLOUD", "WATTPRINT_INTENSITY", "WATTPRINT_PUE",
                "WATTPRINT_LIVE", "WATTPRINT_LIVE_ZONE", "WATTPRINT_CONFIG", "ELECTRICITYMAPS_API_KEY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
