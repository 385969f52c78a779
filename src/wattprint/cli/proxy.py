"""wattprint proxy: an energy-accounting reverse proxy in front of an OpenAI-compatible server."""

from __future__ import annotations

import argparse
import sys

from wattprint.core.errors import ConfigError

HELP = "put energy and carbon receipts on every response of an OpenAI-compatible server"
DESCRIPTION = (
    "Run an HTTP proxy in front of an OpenAI-compatible server (vLLM, TGI, llama.cpp, Ollama...) on the "
    "same machine. It forwards every request and streamed response unchanged, measures the machine's GPUs, "
    "CPU and RAM continuously, shares each meter interval's energy among the requests in flight by the "
    "tokens they processed, and adds a receipt to each response (headers, a 'wattprint' JSON member, or an "
    "SSE comment before [DONE]). Prometheus metrics are served on /metrics."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--upstream", required=True, metavar="URL", help="the server to forward to, "
                        "e.g. http://127.0.0.1:8000")
    parser.add_argument("--listen", default="127.0.0.1:8080", metavar="HOST:PORT",
                        help="where the proxy listens (default 127.0.0.1:8080)")
    parser.add_argument("--gpu", default="visible", metavar="LIST",
                        help="GPUs to measure: 'visible' (default), 'none', or indices / GPU-UUIDs, comma separated")
    parser.add_argument("--no-cpu", action="store_true", help="do not measure the CPU")
    parser.add_argument("--no-ram", action="store_true", help="do not measure RAM")
    parser.add_argument("--cpu-scope", choices=["machine", "process"], default="machine",
                        help="CPU energy of the whole machine (default: the server is another process) or "
                             "of this process only")
    parser.add_argument("--idle-policy", choices=["none", "even", "proportional"], default="even",
                        help="idle energy: kept by the fleet (none), shared per request-second in flight "
                             "(even, default) or per token (proportional)")
    parser.add_argument("--idle-seconds", type=float, default=3.0, metavar="S",
                        help="measure the idle baseline for S seconds at start, with the server idle "
                             "(default 3; 0: no baseline, all energy while requests run is theirs)")
    parser.add_argument("--interval", type=float, default=0.1, metavar="S",
                        help="meter interval in seconds (default 0.1: an H100 counter moves every ~0.1 s)")
    parser.add_argument("--prefill-weight", type=float, default=1.0, metavar="W",
                        help="weight of a prompt token against a generated one (default 1)")
    parser.add_argument("--metrics-path", default="/metrics",
                        help="path of the Prometheus metrics (default /metrics; it hides the upstream's)")
    parser.add_argument("--access-log", action="store_true", help="log each request line (never bodies)")
    from wattprint.carbon.cli_args import add_location_arguments

    add_location_arguments(parser)


def _listen(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not port.isdigit():
        raise ConfigError(f"--listen {value!r} is not HOST:PORT", "e.g. --listen 0.0.0.0:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


def _gpus(value: str) -> object:
    if value == "visible":
        return "visible"
    if value in ("none", ""):
        return None
    return [int(v) if v.strip().isdigit() else v.strip() for v in value.split(",") if v.strip()]


def _prepare(meter: object, idle_seconds: float, location: object) -> None:
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
        import uvicorn  # noqa: F401
        import prometheus_client  # noqa: F401
    except ImportError as e:
        raise ConfigError(f"the proxy needs {e.name}", "pip install 'wattprint[serve]'") from e
    from wattprint.carbon.cli_args import location_from_args
    from wattprint.meter.meter import Meter
    from wattprint.serve.accountant import Accountant, AccountantConfig
    from wattprint.serve.metrics import ServeMetrics
    from wattprint.serve.proxy import ProxyConfig, build_app

    host, port = _listen(args.listen)
    config = ProxyConfig(args.upstream, metrics_path=args.metrics_path)
    acct_config = AccountantConfig(interval_s=args.interval, policy=args.idle_policy,
                                   prefill_weight=args.prefill_weight)
    location = location_from_args(args)
    meter = Meter(gpus=_gpus(args.gpu), cpu=not args.no_cpu, ram=not args.no_ram, cpu_scope=args.cpu_scope)
    err = sys.stderr
    try:
        _prepare(meter, args.idle_seconds, location)
        metrics = ServeMetrics()
        # listen only once the first meter interval has closed: a request answered before it would get
        # "energy so far unknown" (0) in its receipt (test_proxy_command_end_to_end did, 1 run in 3)
        with Accountant.from_meter(meter, acct_config, location=location,
                                   metrics=metrics).start(wait_first_interval=2.0) as acct:
            app = build_app(acct, config, metrics)
            print(f"  forwarding http://{host}:{port} -> {config.upstream}; metrics on {config.metrics_path}",
                  file=err)
            uvicorn.run(app, host=host, port=port, log_level="info", access_log=args.access_log,
                        server_header=False, date_header=False)
    finally:
        meter.close()
    return 0
