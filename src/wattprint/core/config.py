"""Settings of the meter and the proxy: flags > ``WATTPRINT_*`` environment > config file > defaults.

The config file is the one carbon reads (:mod:`wattprint.carbon.location` owns its ``[carbon]`` table):
``$WATTPRINT_CONFIG``, else ``./wattprint.toml``, else ``$XDG_CONFIG_HOME/wattprint/config.toml`` (or
``~/.config/wattprint/config.toml``); the first that exists is used. This module reads its ``[meter]`` and
``[proxy]`` tables. Every value is checked where it is read: a bad one is a :class:`ConfigError` naming the
variable, the ``file: [table] key`` or the flag, with an example of a good value.

    settings = resolve("meter", {"idle_seconds": None})   # None: not given, look further down
    settings["idle_seconds"], settings.origin["idle_seconds"]   # 5.0, "env WATTPRINT_IDLE_SECONDS"
"""

from __future__ import annotations

import math
import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wattprint.core.errors import ConfigError, UnknownNameError
from wattprint.core.files import read_text

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

CONFIG_ENV = "WATTPRINT_CONFIG"
TABLES = ("carbon", "meter", "proxy")  # [carbon] is read by wattprint.carbon.location
MAX_IDLE_S = 3600.0  # an idle baseline longer than an hour is a typo (it would just wait), not a measurement


# ---- parsers: each takes a value from a flag, the environment (text) or TOML, and returns it checked -----
def _number(minimum: float | None = None, above: float | None = None, maximum: float | None = None
            ) -> Callable[[Any], float]:
    wanted = " and ".join(p for p in (f"> {above:g}" if above is not None else "",
                                      f">= {minimum:g}" if minimum is not None else "",
                                      f"<= {maximum:g}" if maximum is not None else "") if p)

    def parse(value: Any) -> float:
        try:
            x = float(value) if not isinstance(value, bool) else math.nan
        except (TypeError, ValueError):
            x = math.nan
        ok = math.isfinite(x) and (above is None or x > above) and (minimum is None or x >= minimum) \
            and (maximum is None or x <= maximum)
        if not ok:
            raise ValueError(f"expected a finite number {wanted}")
        return x

    return parse


def _choice(*options: str) -> Callable[[Any], str]:
    def parse(value: Any) -> str:
        text = str(value).strip().lower()
        if text not in options:
            raise ValueError(f"expected one of {', '.join(options)}")
        return text

    return parse


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _switch(*words: str) -> Callable[[Any], bool | str]:
    """true/false (also 1/0, yes/no, on/off), or one of ``words`` kept as text."""

    def parse(value: Any) -> bool | str:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        if text in words:
            return text
        raise ValueError("expected true or false" + "".join(f" or {w}" for w in words))

    return parse


def parse_gpus(value: Any) -> str | None | list[int | str]:
    """"visible", None ("none"), or a list of NVML indices and GPU-/MIG- UUIDs ("0,1" or a TOML list)."""
    if value is None:
        return None
    items = value if isinstance(value, list) else str(value).split(",")
    if not isinstance(value, list):
        text = str(value).strip().lower()
        if text in ("visible", ""):
            return "visible"
        if text == "none":
            return None
    out: list[int | str] = []
    for item in items:
        s = str(item).strip()
        if not (s.isdigit() or s.startswith(("GPU-", "MIG-"))) or isinstance(item, bool):
            raise ValueError("expected visible, none, or GPU indices / GPU-UUIDs separated by commas")
        out.append(int(s) if s.isdigit() else s)
    if not out:
        raise ValueError("expected visible, none, or at least one GPU index or UUID")
    return out


def _listen(value: Any) -> str:
    host, sep, port = str(value).strip().rpartition(":")
    if not sep or not port.isdigit() or not 1 <= int(port) <= 65535:
        raise ValueError("expected HOST:PORT with a port from 1 to 65535")
    return f"{host}:{port}"


def _url(value: Any) -> str:
    text = str(value).strip()
    if not text.startswith(("http://", "https://")) or len(text) <= len("https://"):
        raise ValueError("expected an http:// or https:// URL")
    return text


def _text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError("expected a non-empty string")
    return value.strip()


def _path(value: Any) -> str:
    """A URL path; its leading slash is added when it lacks one."""
    text = _text(value)
    if any(c in text for c in "?# "):
        raise ValueError("expected a URL path without spaces, query or fragment")
    return "/" + text.lstrip("/")


@dataclass(frozen=True)
class Key:
    """One setting: its variable, its default, how a value is checked, an example and what it does."""

    env: str
    default: Any
    parse: Callable[[Any], Any]
    example: str
    help: str


SECTIONS: dict[str, dict[str, Key]] = {
    "meter": {
        "gpus": Key("WATTPRINT_GPUS", "visible", parse_gpus, "0,1",
                    "GPUs to measure: visible (those this process can use), none, or indices / GPU-UUIDs"),
        "cpu": Key("WATTPRINT_CPU", True, _switch("rapl", "estimate"), "estimate",
                   "CPU: true (RAPL, else an estimate), false, rapl (required) or estimate"),
        "ram": Key("WATTPRINT_RAM", True, _switch("machine"), "false",
                   "RAM: true (this process tree's share), false, or machine"),
        "cpu_scope": Key("WATTPRINT_CPU_SCOPE", "process", _choice("process", "machine"), "machine",
                         "CPU and RAM energy of this process tree (process) or of the whole machine"),
        "counter_reads_per_s": Key("WATTPRINT_COUNTER_READS_PER_S", None, _number(above=0), "10",
                                   "GPU energy-counter reads per second (default 0.5; 10 resolves 0.3 s windows)"),
        "idle_seconds": Key("WATTPRINT_IDLE_SECONDS", 0.0, _number(minimum=0, maximum=MAX_IDLE_S), "5",
                            "idle baseline measured before a measure() block or `wattprint measure` (0: none)"),
    },
    "proxy": {
        "upstream": Key("WATTPRINT_PROXY_UPSTREAM", None, _url, "http://127.0.0.1:8000",
                        "the OpenAI-compatible server to forward to"),
        "listen": Key("WATTPRINT_PROXY_LISTEN", "127.0.0.1:8080", _listen, "127.0.0.1:8080",
                      "where the proxy listens (beyond this machine only with a token)"),
        "token": Key("WATTPRINT_PROXY_TOKEN", None, _text, "s3cret",
                     "bearer token required on /metrics, totals and receipts"),
        "upstream_timeout": Key("WATTPRINT_PROXY_UPSTREAM_TIMEOUT", 600.0, _number(above=0), "600",
                                "seconds the upstream may stay silent before the client gets 504"),
        "shutdown_timeout": Key("WATTPRINT_PROXY_SHUTDOWN_TIMEOUT", 5.0, _number(above=0), "5",
                                "seconds requests in flight get to end on SIGTERM or Ctrl-C"),
        "interval": Key("WATTPRINT_PROXY_INTERVAL", 0.1, _number(above=0), "0.1", "meter interval in seconds"),
        "idle_seconds": Key("WATTPRINT_PROXY_IDLE_SECONDS", 3.0, _number(minimum=0, maximum=MAX_IDLE_S), "3",
                            "idle baseline measured at start (0: none)"),
        "idle_policy": Key("WATTPRINT_PROXY_IDLE_POLICY", "even", _choice("none", "even", "proportional"),
                           "proportional", "how idle energy is shared among requests"),
        "final_within": Key("WATTPRINT_PROXY_FINAL_WITHIN", 10.0, _number(above=0), "10",
                            "a receipt is final at most this many seconds after its request ended"),
        "prefill_weight": Key("WATTPRINT_PROXY_PREFILL_WEIGHT", 1.0, _number(minimum=0), "1",
                              "weight of a prompt token against a generated one"),
        "cpu_scope": Key("WATTPRINT_PROXY_CPU_SCOPE", "machine", _choice("process", "machine"), "process",
                         "CPU energy of the whole machine (the server is another process) or of the proxy"),
        "metrics_path": Key("WATTPRINT_PROXY_METRICS_PATH", "/metrics", _path, "/metrics",
                            "path of the Prometheus metrics"),
    },
}


@dataclass(frozen=True)
class Settings:
    """Resolved settings of one table; ``origin[key]`` says where each value came from."""

    section: str
    values: Mapping[str, Any]
    origin: Mapping[str, str] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.values[key]


# ---- the file ---------------------------------------------------------------------------------------
def config_file(env: Mapping[str, str] | None = None, path: str | os.PathLike[str] | None = None) -> Path | None:
    """The config file in use: ``path``, else ``$WATTPRINT_CONFIG``, else the first default that exists."""
    env = os.environ if env is None else env
    given = path if path is not None else env.get(CONFIG_ENV) or None
    if given is not None:
        p = Path(given)
        if not p.exists():
            where = f"{CONFIG_ENV}={given}" if path is None else str(given)
            raise ConfigError(f"config file {where} does not exist",
                              f"point it at a TOML file (e.g. with a [meter] table), or unset {CONFIG_ENV}")
        return p
    candidates = [Path("wattprint.toml")]
    home = env.get("XDG_CONFIG_HOME") or (str(Path(env["HOME"]) / ".config") if env.get("HOME") else None)
    if home:
        candidates.append(Path(home) / "wattprint" / "config.toml")
    return next((c for c in candidates if c.is_file()), None)


def read_table(path: Path, section: str) -> dict[str, Any]:
    """The ``[section]`` table of ``path``, its keys checked (unknown tables and keys get close matches)."""
    try:
        data = tomllib.loads(read_text(path, "config file"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})", f"fix the line it names in {path}") from e
    for name, value in data.items():
        if name not in TABLES:
            raise UnknownNameError(f"table in {path}:", name, TABLES, fix=f"use [{'], ['.join(TABLES)}]")
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: {name} must be a table", f"write it as [{name}] followed by key = value lines")
    table = data.get(section, {})
    for key in table:
        if key not in SECTIONS[section]:
            raise UnknownNameError(f"key in {path}: [{section}]", key, SECTIONS[section],
                                   fix=f"the [{section}] keys are {', '.join(SECTIONS[section])}")
    return dict(table)


# ---- resolution -------------------------------------------------------------------------------------
def _check(key: Key, value: Any, where: str, hint: str) -> Any:
    try:
        return key.parse(value)
    except ValueError as e:
        raise ConfigError(f"{where}: {e}, got {value!r}", f"e.g. {hint}") from None


def resolve(section: str, flags: Mapping[str, Any] | None = None, *, env: Mapping[str, str] | None = None,
            path: str | os.PathLike[str] | None = None, flag_label: str = "flag") -> Settings:
    """Settings of ``section`` ("meter" or "proxy"): flags > environment > config file > defaults.

    A flag whose value is None counts as not given. ``flag_label`` names that top level in ``origin`` and in
    errors: "flag" (``--idle-seconds``) for the CLI, "argument" (``idle_seconds=``) for the library.
    """
    keys = SECTIONS[section]
    env = os.environ if env is None else env
    values = {name: k.default for name, k in keys.items()}
    origin = dict.fromkeys(keys, "default")
    file = config_file(env, path)
    if file is not None:
        for name, raw in read_table(file, section).items():
            where = f"{file}: [{section}] {name}"
            values[name] = _check(keys[name], raw, where, f"{name} = {keys[name].example!r} in [{section}]")
            origin[name] = f"file {file}"
    for name, k in keys.items():
        raw = env.get(k.env, "")
        if raw.strip():
            values[name] = _check(k, raw, k.env, f"export {k.env}={k.example}")
            origin[name] = f"env {k.env}"
    for name, raw in (flags or {}).items():
        if raw is None:
            continue
        flag = f"--{name.replace('_', '-')}" if flag_label == "flag" else f"{name}="
        values[name] = _check(keys[name], raw, flag, f"{flag}{' ' if flag_label == 'flag' else ''}{keys[name].example}")
        origin[name] = f"{flag_label} {flag}"
    return Settings(section, values, origin)


def table_rows() -> list[tuple[str, str, str, str, str]]:
    """(file key, variable, default, example, what) for every setting: the docs' table is made from these."""
    return [(f"[{s}] {name}", k.env, show(k.default), k.example, k.help)
            for s, keys in SECTIONS.items() for name, k in keys.items()]


def show(value: Any) -> str:
    """A default as a user would write it in the file: true, 0.5, visible; "-" for none."""
    if value is None:
        return "-"
    if isinstance(value, bool):
        return str(value).lower()
    return f"{value:g}" if isinstance(value, float) else str(value)
