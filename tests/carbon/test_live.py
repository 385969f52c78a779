"""Electricity Maps client against a real local HTTP server speaking the same API (v3)."""

import json
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from wattprint.carbon import emissions_for, resolve_location
from wattprint.carbon.live import ElectricityMapsClient, LiveIntensityError, split_by_hour

KEY = "test-key"
T0 = datetime(2026, 1, 15, 10, 0, tzinfo=timezone.utc)
# hour start -> gCO2e/kWh for zone FR
HOURS = {T0: 40.0, T0 + timedelta(hours=1): 60.0, T0 + timedelta(hours=2): 100.0, T0 + timedelta(hours=3): 80.0}
LATEST = T0 + timedelta(hours=3)


def _iso(dt):
    return dt.strftime("%Y-%m-%dT%H:%M:%S.000Z")


class FakeElectricityMaps(BaseHTTPRequestHandler):
    delay_s = 0.0
    latest_at = LATEST
    published = dict(HOURS)
    requests: list = []

    def log_message(self, *args):  # keep pytest output clean
        pass

    def _send(self, code, payload):
        body = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (the time-out test): nothing to deliver

    def do_GET(self):
        time.sleep(self.delay_s)
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        type(self).requests.append((url.path, q))
        if self.headers.get("auth-token") != KEY:
            return self._send(401, {"error": "unauthorized"})

        def rec(t, v):
            return {"zone": q["zone"], "carbonIntensity": v, "datetime": _iso(t), "updatedAt": _iso(t),
                    "emissionFactorType": q.get("emissionFactorType", "lifecycle"), "isEstimated": False}

        if url.path == "/v3/carbon-intensity/latest":
            return self._send(200, rec(self.latest_at, self.published[self.latest_at]))
        if url.path == "/v3/carbon-intensity/past-range":
            start = datetime.fromisoformat(q["start"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(q["end"].replace("Z", "+00:00"))
            data = [rec(t, v) for t, v in sorted(self.published.items()) if start <= t < end]
            return self._send(200, {"zone": q["zone"], "data": data})
        return self._send(404, {"error": "not found"})


@pytest.fixture
def server():
    handler = type("Handler", (FakeElectricityMaps,), {"requests": [], "published": dict(HOURS), "delay_s": 0.0})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-electricitymaps",
                              daemon=True)
    thread.start()
    yield handler, f"http://127.0.0.1:{httpd.server_address[1]}/v3"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


def test_latest(server):
    handler, url = server
    point = ElectricityMapsClient(KEY, url).latest("FR")
    assert point.g_per_kwh == 80.0 and point.start == LATEST and point.emission_factor_type == "lifecycle"
    assert handler.requests[-1][1]["zone"] == "FR"


def test_hourly_multiplication_over_a_window_spanning_hours(server):
    _, url = server
    start, end = T0 + timedelta(minutes=30), T0 + timedelta(hours=2, minutes=30)  # 30 + 60 + 30 minutes
    loc = resolve_location(country="FR", env={})
    em = emissions_for(2 * 3.6e6, loc, start=start, end=end, live=ElectricityMapsClient(KEY, url))
    # 2 kWh at constant power: 0.5 kWh at 40, 1 kWh at 60, 0.5 kWh at 100
    assert em.gco2e == pytest.approx(0.5 * 40 + 1.0 * 60 + 0.5 * 100)
    assert em.intensity_g_per_kwh == pytest.approx(130 / 2)
    assert em.method == "live" and em.year is None and em.scope == "life-cycle"
    assert [h.g_per_kwh for h in em.hourly] == [40.0, 60.0, 100.0]
    assert sum(h.energy_j for h in em.hourly) == pytest.approx(2 * 3.6e6)
    assert em.to_dict()["hourly"][1]["start"] == "2026-01-15T11:00:00Z"


def test_unpublished_recent_hour_takes_the_latest_value(server):
    handler, url = server
    newest = T0 + timedelta(hours=2)  # the 13:00 hour is not published yet
    handler.published = {t: v for t, v in HOURS.items() if t <= newest}
    handler.latest_at = newest
    em = emissions_for(3.6e6, resolve_location(country="FR", env={}), start=newest + timedelta(minutes=10),
                       end=newest + timedelta(hours=1, minutes=10), live=ElectricityMapsClient(KEY, url))
    # 50 min in the 12:00 hour (100 g), 10 min in the unpublished 13:00 hour (latest value, 100 g)
    assert em.gco2e == pytest.approx(100.0) and em.method == "live"
    assert [h.estimated for h in em.hourly] == [False, True]
    assert any("1 hour(s) not yet published" in w for w in em.warnings)


def test_time_out_falls_back_to_the_table(server):
    handler, url = server
    handler.delay_s = 0.6
    loc = resolve_location(country="FR", env={})
    t = time.monotonic()
    em = emissions_for(3.6e6, loc, live=ElectricityMapsClient(KEY, url, timeout_s=0.2))
    assert time.monotonic() - t < 0.55
    assert em.method == "table" and em.gco2e == pytest.approx(44.18)
    assert any("no answer within 0.2 s" in w and "table value used" in w for w in em.warnings)


def test_http_error_and_refused_connection_fall_back(server):
    _, url = server
    loc = resolve_location(region="US-CA", env={})
    em = emissions_for(3.6e6, loc, live=ElectricityMapsClient("wrong-key", url))
    assert em.method == "table" and any("HTTP 401" in w for w in em.warnings)
    em = emissions_for(3.6e6, loc, live=ElectricityMapsClient(KEY, "http://127.0.0.1:9/v3", timeout_s=0.5))
    assert em.method == "table" and any("cannot connect" in w or "no answer" in w for w in em.warnings)


def test_user_intensity_is_not_replaced_by_live(server):
    _, url = server
    loc = resolve_location(country="FR", intensity=10.0, env={})
    em = emissions_for(3.6e6, loc, live=ElectricityMapsClient(KEY, url))
    assert em.method == "user" and em.gco2e == 10.0


def test_client_from_env_and_key_required():
    assert ElectricityMapsClient.from_env({}) is None
    c = ElectricityMapsClient.from_env({"ELECTRICITYMAPS_API_KEY": "k", "ELECTRICITYMAPS_BASE_URL": "http://x/v3"})
    assert c.api_key == "k" and c.base_url == "http://x/v3"
    with pytest.raises(LiveIntensityError):
        ElectricityMapsClient("")


def test_split_by_hour_conserves_energy():
    parts = split_by_hour(T0 + timedelta(minutes=45), T0 + timedelta(hours=3, minutes=15), 900.0)
    assert [round(p[2], 9) for p in parts] == [90.0, 360.0, 360.0, 90.0]


def test_live_from_settings_and_env(server, monkeypatch):
    _, url = server
    loc = resolve_location(country="FR", live=True, env={})
    from wattprint.core.errors import ConfigError

    with pytest.raises(ConfigError):
        emissions_for(3.6e6, loc)  # live asked for, no key: a clear error, not a silent table value
    monkeypatch.setenv("ELECTRICITYMAPS_API_KEY", KEY)
    monkeypatch.setenv("ELECTRICITYMAPS_BASE_URL", url)
    em = emissions_for(3.6e6, loc)
    assert em.method == "live" and em.gco2e == pytest.approx(80.0)  # the latest hour
    assert emissions_for(3.6e6, loc, live=False).method == "table"


def test_cli_live_window(server, monkeypatch, capsys):
    _, url = server
    monkeypatch.setenv("ELECTRICITYMAPS_API_KEY", KEY)
    monkeypatch.setenv("ELECTRICITYMAPS_BASE_URL", url)
    from wattprint.cli.main import main

    assert main(["carbon", "--kwh", "3", "--country", "FR", "--live", "--start", "2026-01-15T10:00:00Z",
                 "--end", "2026-01-15T13:00:00Z", "--json", "-"]) == 0
    em = json.loads(capsys.readouterr().out)["emissions"]
    assert em["method"] == "live" and em["gco2e"] == pytest.approx(40 + 60 + 100)
    assert [h["g_per_kwh"] for h in em["hourly"]] == [40.0, 60.0, 100.0]
