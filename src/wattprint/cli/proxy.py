"""wattprint proxy: an energy-accounting reverse proxy in front of an OpenAI-compatible server."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from typing import Any

from wattprint.core.errors import ConfigError

TOKEN_ENV = "WATTPRINT_PROXY_TOKEN"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")

HELP = "put energy and carbon receipts on every response of an OpenAI-compatible server"
DESCRIPTION = (
    "Run an HTTP proxy in front of an OpenAI-compatible server (vLLM, TGI, llama.cpp, Ollama...) on the "
    "same machine. It forwards every request and streamed response unchanged, measures the machine's GPUs, "
    "CPU and RAM continuously, shares each meter interval's energy among the requests in flight by the "
    "tokens they processed, and adds a receipt to each response (headers, a 'wattprint' JSON member, or an "
    "SSE comment before [DONE]). Prometheus metrics are served on /metrics."
)


def _number(flag: str, low: float, low_ok: bool, example: str) -> Callable[[str], float]:
    """An argparse ``type=``: a finite number above ``low`` (or equal to it when ``low_ok``), with the fix
    in the message (``one_line_errors`` prints it as the fix line, exit status 2)."""
    bound = f">= {low:g}" if low_ok else f"> {low:g}"

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value >= low if low_ok else value > low)):
            raise argparse.ArgumentTypeError(f"{text!r} is not a finite number {bound}\n"
                                             f"  fix: pass e.g. {flag} {example}")
        return value

    parse.__name__ = "number"  # argparse names the type in some messages
    return parse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # defaults None: a flag not given is taken from WATTPRINT_PROXY_*, the config file's [proxy] table or the
    # defaults in wattprint.core.config (the defaults the help states)
    parser.add_argument("--upstream", default=None, metavar="URL", help="the server to forward to, "
                        "e.g. http://127.0.0.1:8000 (or WATTPRINT_PROXY_UPSTREAM, or [proxy] upstream)")
    parser.add_argument("--listen", default=None, metavar="HOST:PORT",
                        help="where the proxy listens (default 127.0.0.1:8080, this machine only; e.g. "
                             "0.0.0.0:8080 to expose it, with a token)")
    parser.add_argument("--gpu", default=None, metavar="LIST",
                        help="GPUs to measure: 'visible' (default), 'none', or indices / GPU-UUIDs, comma separated")
    parser.add_argument("--no-cpu", action="store_true", help="do not measure the CPU")
    parser.add_argument("--no-ram", action="store_true", help="do not measure RAM")
    parser.add_argument("--cpu-scope", choices=["machine", "process"], default=None,
                        help="CPU energy of the whole machine (default: the server is another process) or "
                             "of this process only")
    parser.add_argument("--idle-policy", choices=["none", "even", "proportional"], default=None,
                        help="idle energy: kept by the fleet (none), shared per request-second in flight "
                             "(even, default) or per token (proportional)")
    parser.add_argument("--idle-seconds", type=_number("--idle-seconds", 0, True, "3"), default=None, metavar="S",
                        help="measure the idle baseline for S seconds at start, with the server idle "
                             "(default 3; 0: no baseline, all energy while requests run is theirs)")
    parser.add_argument("--interval", type=_number("--interval", 0, False, "0.1"), default=None, metavar="S",
                        help="meter interval in seconds (default 0.1: an H100 counter moves every ~0.1 s)")
    parser.add_argument("--prefill-weight", type=_number("--prefill-weight", 0, True, "1"), default=None,
                        metavar="W", help="weight of a prompt token against a generated one (default 1)")
    parser.add_argument("--final-within", type=_number("--final-within", 0, False, "10"), default=None,
                        metavar="S", help="a receipt is final at most S seconds (plus an interval) after its "
                        "request ended, whatever else is in flight; requests still running then are counted "
                        "by the tokens seen so far (default 10)")
    parser.add_argument("--upstream-timeout", type=_number("--upstream-timeout", 0, False, "600"), default=None,
                        metavar="S", help="the longest the upstream may stay silent (before its first byte, or "
                        "between two pieces of a stream) before the client gets 504 (mid-stream: an error event; "
                        "default 600, for long generations)")
    parser.add_argument("--shutdown-timeout", type=_number("--shutdown-timeout", 0, False, "5"), default=None,
                        metavar="S", help="on SIGTERM or Ctrl-C, the longest requests in flight may take to end "
                        "before they are answered 503 shutting_down (a stream: an error event); a second "
                        "signal stops at once (default 5)")
    parser.add_argument("--metrics-path", default=None, metavar="PATH",
                        help="path of the Prometheus metrics (default /metrics; it hides the upstream's)")
    parser.add_argument("--token", default=None, metavar="TOKEN",
                        help=f"require 'Authorization: Bearer TOKEN' on /metrics, /wattprint/totals and "
                             f"/wattprint/receipts/ (default: ${TOKEN_ENV}, else none; the variable keeps it "
                             f"out of the process list)")
    parser.add_argument("--access-log", action="store_true", help="log each request line (never bodies)")
    from wattprint.carbon.cli_args import add_location_arguments

    add_location_arguments(parser)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen {value!r} is not HOST:PORT", "e.g. --listen 127.0.0.1:8080")
    if not 1 <= int(port) <= 65535:
        raise ConfigError(f"--listen {value!r}: port {port} is out of range",
                          "a port from 1 to 65535, e.g. --listen 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


def _check_bind(host: str, port: int) -> None:
    """Bind the address once and let it go, before the meter starts and the idle baseline waits: a port in use
    or an address this machine does not have is one line with the fix, not uvicorn's log after the wait."""
    import errno
    import socket

    where = f"the proxy cannot listen on {host}:{port}"
    other = "listen on an address of this machine: --listen 127.0.0.1:8080 (this machine only) or 0.0.0.0:8080"
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                             flags=socket.AI_PASSIVE)[0]
    except (socket.gaierror, UnicodeError) as e:
        raise ConfigError(f"{where}: {host} is not an address of this machine ({getattr(e, 'strerror', e)})",
                          other) from None
    with socket.socket(family, kind, proto) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind(address)
        except OSError as e:
            fix = {errno.EADDRINUSE: f"stop what listens on port {port}, or pick another port, e.g. "
                                     f"--listen {host}:{port + 1 if port < 65535 else 8080}",
                   errno.EACCES: "ports below 1024 need privileges: pick a port above 1023, e.g. "
                                 f"--listen {host}:8080"}.get(e.errno or 0, other)
            raise ConfigError(f"{where}: {e.strerror or e}", fix) from None


def _check_location_numbers(args: argparse.Namespace) -> None:
    """--intensity and --pue (shared with `wattprint carbon`): finite and in range, before any work."""
    for flag, value, low in (("--intensity", getattr(args, "intensity", None), 0.0),
                             ("--pue", getattr(args, "pue", None), 1.0)):
        if value is not None and not (math.isfinite(value) and value >= low):
            raise ConfigError(f"{flag} {value!r} is not a finite number >= {low:g}",
                              f"e.g. {flag} {'56' if flag == '--intensity' else '1.2'}")


def _gpus(value: str) -> object:
    if value == "visible":
        return "visible"
    if value in ("none", ""):
        return None
    return [int(v) if v.strip().isdigit() else v.strip() for v in value.split(",") if v.strip()]


_SETTINGS = ("upstream", "listen", "token", "upstream_timeout", "shutdown_timeout", "interval", "idle_seconds",
             "idle_policy", "final_within", "prefill_weight", "cpu_scope", "metrics_path")


def _settings(args: argparse.Namespace) -> Any:
    """Fill what the flags left out from WATTPRINT_PROXY_*, the config file's [proxy] table or the defaults (the
    flags themselves are checked by their argparse types and ProxyConfig); return the [meter] settings, flags
    first, for the meter."""
    from wattprint.core.config import resolve

    path = getattr(args, "carbon_config", None)  # --carbon-config names the one config file
    settings = resolve("proxy", path=path)
    for key in _SETTINGS:
        if getattr(args, key, None) is None:
            setattr(args, key, settings[key])
    if args.upstream is None:
        raise ConfigError("no upstream server to forward to",
                          "pass --upstream http://127.0.0.1:8000, or set WATTPRINT_PROXY_UPSTREAM or [proxy] upstream "
                          "in wattprint.toml")
    flags = {"cpu": False if args.no_cpu else None, "ram": False if args.no_ram else None}
    gpus = None if args.gpu is None else _gpus(args.gpu)
    meter = resolve("meter", flags, path=path)
    return {**meter.values, "gpus": meter["gpus"] if args.gpu is None else gpus}


def _prepare(meter: Any, idle_seconds: float, location: Any) -> None:
    """Say what is measured and where, and measure the idle baseline."""
    err = sys.stderr
    print("wattprint proxy: measuring " + "; ".join(meter.components() or ["nothing"]), file=err)
    for w in meter.warnings:
        print(f"  warning: {w}", file=err)
    if idle_seconds > 0:
        base = meter.idle(idle_seconds)
        print(f"  idle baseline over {base.duration_s:.1f} s: {base.idle_power_w:.1f} W "
              "(the server should have been idle)", file=err)
    else:
        print("  no idle baseline (--idle-seconds 0): energy above idle is all energy", file=err)
    print(f"  carbon: {location.name} ({location.zone}), {location.intensity.g_per_kwh:g} gCO2e/kWh, "
          f"{location.method}, PUE {location.pue:g}", file=err)


def run(args: argparse.Namespace) -> int:
    try:
        import prometheus_client  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as e:
        raise ConfigError(f"the proxy needs {e.name}", "pip install 'wattprint[serve]'") from e
    from wattprint.carbon.cli_args import location_from_args
    from wattprint.meter.meter import Meter
    from wattprint.serve.accountant import Accountant, AccountantConfig
    from wattprint.serve.metrics import ServeMetrics
    from wattprint.serve.proxy import ProxyConfig, build_app, raise_fd_limit, serve

    meter_settings = _settings(args)
    host, port = _listen(args.listen)
    _check_location_numbers(args)
    _check_bind(host, port)
    token = args.token
    config = ProxyConfig(args.upstream, metrics_path=args.metrics_path, read_timeout_s=args.upstream_timeout,
                         shutdown_timeout_s=args.shutdown_timeout, token=token)
    acct_config = AccountantConfig(interval_s=args.interval, policy=args.idle_policy,
                                   prefill_weight=args.prefill_weight, max_lag_s=args.final_within)
    location = location_from_args(args)
    meter = Meter(gpus=meter_settings["gpus"], cpu=meter_settings["cpu"], ram=meter_settings["ram"],
                  cpu_scope=args.cpu_scope, counter_reads_per_s=meter_settings["counter_reads_per_s"])
    err = sys.stderr
    try:
        _prepare(meter, args.idle_seconds, location)
        metrics = ServeMetrics()
        # listen only once the first meter interval has closed: a request answered before it would get
        # "energy so far unknown" (0) in its receipt (test_proxy_command_end_to_end did, 1 run in 3)
        with Accountant.from_meter(meter, acct_config, location=location,
                                   metrics=metrics).start(wait_first_interval=2.0) as acct:
            app = build_app(acct, config, metrics)
            print(f"  forwarding http://{host}:{port} -> {config.upstream}; metrics on {config.metrics_path}"
                  f"{' (token required)' if token else ''}", file=err)
            if host not in _LOOPBACK and not token:
                print(f"  warning: listening on {host}, beyond this machine, with no token: anyone who can "
                      f"reach it can read /metrics, the totals and receipts (set {TOKEN_ENV})", file=err)
            raise_fd_limit()
            serve(app, host, port, log_level="info", access_log=args.access_log)
    finally:
        meter.close()
    return 0
