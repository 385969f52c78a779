"""The version of wattprint: the one place it is written (pyproject.toml reads it, ``wattprint --version`` shows it)."""

__version__ = "0.1.0"
