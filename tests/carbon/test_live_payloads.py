"""A live intensity API that answers something other than a number: the tables are used and the result says
why, as for any other live failure (no traceback, no NaN in the emissions)."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from wattprint.carbon import emissions_for, resolve_location
from wattprint.carbon.live import ElectricityMapsClient

KEY = "k"
WHEN = "2026-01-15T10:00:00.000Z"


class Answer(BaseHTTPRequestHandler):
    body = b"{}"

    def log_message(self, *args):
        pass

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)


@pytest.fixture
def api():
    handler = type("Handler", (Answer,), {})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/v3"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def _latest(value) -> bytes:
    return json.dumps({"zone": "FR", "carbonIntensity": value, "datetime": WHEN}).encode()


@pytest.mark.parametrize("body, reason", [
    (_latest("abc"), "is not a number"),
    (_latest("42"), "is not a number"),  # a number as text is not what the API documents
    (_latest(True), "is not a number"),
    (_latest(-5), "is not a number"),
    (b'{"zone": "FR", "carbonIntensity": NaN, "datetime": "2026-01-15T10:00:00Z"}', "is not a number"),
    (b'{"zone": "FR", "carbonIntensity": Infinity, "datetime": "2026-01-15T10:00:00Z"}', "is not a number"),
    (_latest(10**400), "is not a number"),
    (_latest({"value": 3}), "is not a number"),
    (json.dumps({"zone": "FR", "carbonIntensity": 50}).encode(), "no readable datetime"),
    (json.dumps({"zone": "FR", "carbonIntensity": 50, "datetime": "yesterday"}).encode(), "no readable datetime"),
    (b"[1, 2, 3]", "not a JSON object"),
    (b'"text"', "not a JSON object"),
])
def test_non_number_answer_falls_back_to_the_table(api, body, reason):
    handler, url = api
    handler.body = body
    loc = resolve_location(country="FR", env={})
    em = emissions_for(3.6e6, loc, live=ElectricityMapsClient(KEY, url, timeout_s=2))
    assert em.method == "table" and em.gco2e == pytest.approx(loc.intensity.g_per_kwh)
    assert math.isfinite(em.gco2e)
    assert any(reason in w and "table value used" in w for w in em.warnings), em.warnings


def test_past_range_with_a_bad_hour_falls_back(api):
    handler, url = api
    handler.body = json.dumps({"zone": "FR", "data": [{"carbonIntensity": "n/a", "datetime": WHEN}]}).encode()
    loc = resolve_location(country="FR", env={})
    em = emissions_for(3.6e6, loc, live=ElectricityMapsClient(KEY, url), start=1_768_471_200.0,
                       end=1_768_471_200.0 + 600)
    assert em.method == "table" and any("is not a number" in w for w in em.warnings)
    handler.body = json.dumps({"zone": "FR", "data": "none"}).encode()
    em = emissions_for(3.6e6, loc, live=ElectricityMapsClient(KEY, url), start=1_768_471_200.0,
                       end=1_768_471_200.0 + 600)
    assert em.method == "table" and any("no 'data' list" in w for w in em.warnings)


def test_cli_live_with_a_non_number_answer(api, monkeypatch, capsys):
    from wattprint.cli.main import main

    handler, url = api
    handler.body = _latest("abc")
    monkeypatch.setenv("ELECTRICITYMAPS_API_KEY", KEY)
    monkeypatch.setenv("ELECTRICITYMAPS_BASE_URL", url)
    assert main(["carbon", "--kwh", "1", "--country", "FR", "--live", "--json", "-"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["emissions"]["method"] == "table"
    assert any("is not a number" in w for w in doc["emissions"]["warnings"])
