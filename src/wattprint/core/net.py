"""Is a TCP service there at all? One connect, bounded in time including the name lookup.

``socket.create_connection``'s timeout does not cover resolving the host name (``getaddrinfo`` can block
for the resolver's own timeouts, tens of seconds without a network), so the connect runs in a named daemon
thread that is joined with the timeout.
"""

from __future__ import annotations

import socket
import threading


def tcp_probe(host: str, port: int, timeout_s: float) -> tuple[bool, str]:
    """``(True, "")`` if ``host:port`` accepts a TCP connection within ``timeout_s``, else ``(False, why)``."""
    result: dict[str, str] = {}

    def probe() -> None:
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                result["ok"] = ""
        except socket.gaierror as e:
            result["error"] = f"name not resolved ({e.strerror or e})"
        except TimeoutError:
            result["error"] = f"no answer in {timeout_s:g} s"
        except OSError as e:
            result["error"] = e.strerror or type(e).__name__

    t = threading.Thread(target=probe, name="wattprint-tcp-probe", daemon=True)
    t.start()
    t.join(timeout_s + 0.5)
    if t.is_alive():
        return False, f"no answer in {timeout_s:g} s"
    if "ok" in result:
        return True, ""
    return False, result.get("error", "unknown error")
