"""Fixtures shared across test folders: phases that record their edges, the size fields that shrink a
catalog diffusion pipeline (UNet, VAE, CLIP text encoder) to one built in a second, and a clean configuration."""

import os

import pytest

UNET = {"block_out_channels": [32, 64], "down_block_types": ["CrossAttnDownBlock2D", "DownBlock2D"],
        "up_block_types": ["UpBlock2D", "CrossAttnUpBlock2D"], "layers_per_block": 1, "attention_head_dim": 8,
        "cross_attention_dim": 32, "norm_num_groups": 8, "sample_size": 8}
VAE = {"block_out_channels": [16, 32], "down_block_types": ["DownEncoderBlock2D"] * 2,
       "up_block_types": ["UpDecoderBlock2D"] * 2, "layers_per_block": 1, "norm_num_groups": 8}
CLIP = {"hidden_size": 32, "num_hidden_layers": 1, "num_attention_heads": 2, "intermediate_size": 64,
        "projection_dim": 32}


class RecordingPhases:
    """Phases that record their edges (the runner's meter windows stand here)."""

    def __init__(self):
        self.events = []

    def begin(self, name):
        self.events.append(("begin", name))

    def end(self, name):
        self.events.append(("end", name))

    @property
    def names(self):
        """The phases begun, in order."""
        return [name for edge, name in self.events if edge == "begin"]


@pytest.fixture(scope="session")
def _state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("wattprint-state")


@pytest.fixture(autouse=True)
def _own_state_dir(_state_dir, monkeypatch):
    """The outputs wattprint remembers writing (``wattprint.cli.owned``) go to a folder of the test session,
    never to the user's own state folder."""
    monkeypatch.setenv("WATTPRINT_STATE_DIR", str(_state_dir))


@pytest.fixture
def recording_phases():
    """The RecordingPhases class: each call gives fresh phases."""
    return RecordingPhases


@pytest.fixture
def tiny_diffusion():
    """Config changes (``LoadSettings.overrides["config"]``) that shrink an SD pipeline's parts."""
    return {"unet": UNET, "vae": VAE, "text_encoder": CLIP}


@pytest.fixture
def no_stray_config(tmp_path, monkeypatch):
    """An empty working folder and home, and no ``WATTPRINT_*`` variable (all of them, so a setting added later
    is cleared too): a ./wattprint.toml of the checkout or the user's own settings cannot leak into a test."""
    monkeypatch.chdir(tmp_path)
    for var in [v for v in os.environ if v.startswith("WATTPRINT_")] + ["ELECTRICITYMAPS_API_KEY"]:
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
