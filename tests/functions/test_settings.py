"""A bad app setting stops the app at start (indexing) and at invocation, naming the setting."""

from __future__ import annotations

import json
import subprocess
import sys

import azure.functions as func
import pytest
from azure.functions.timer import TimerRequest

from scanner.errors import ConfigError
from tests.conftest import ROOT
from tests.functions.conftest import apply_env

BAD = [
    pytest.param({"SCAN_SCHEDULE": "0 2 * * *"}, r"SCAN_SCHEDULE: '0 2 \* \* \*' is not a six-field NCRONTAB",
                 id="five-field-schedule"),
    pytest.param({"FEED_SCHEDULE": "hourly"}, r"FEED_SCHEDULE: 'hourly' is not a six-field NCRONTAB", id="feed-schedule"),
    pytest.param({"SCAN_SCOPE": "tenant,foo"}, r"SCAN_SCOPE: 'tenant,foo' is not 'tenant', 'mg:NAME", id="scope"),
    pytest.param({"HTTP_SCAN_TIMEOUT_SECONDS": "soon"}, r"HTTP_SCAN_TIMEOUT_SECONDS: 'soon' is not a whole number",
                 id="timeout"),
    pytest.param({"SCAN_QUEUE": "Scan_Requests"}, r"SCAN_QUEUE: 'Scan_Requests' is not a storage queue name",
                 id="scan-queue-name"),
    pytest.param({"SCAN_QUEUE": "jobs", "NOTIFY_QUEUE": "jobs"}, r"SCAN_QUEUE: 'jobs' is also NOTIFY_QUEUE",
                 id="scan-queue-is-notify-queue"),
    pytest.param({"TEAMS_WEBHOOK_URL": "ftp://hook"}, r"TEAMS_WEBHOOK_URL: is not an https:// URL \(value not shown\)",
                 id="webhook-not-https"),
]


@pytest.mark.parametrize(("env", "message"), BAD)
def test_build_refuses_a_bad_setting(env, message):
    import function_app

    with pytest.raises(ConfigError, match=message):
        function_app.build(env)


def test_indexing_fails_at_import_with_the_setting_named():
    env = {"PATH": "/usr/bin:/bin", "SCAN_SCHEDULE": "every night"}
    out = subprocess.run([sys.executable, "-c", "import function_app"], capture_output=True, text=True,
                         cwd=ROOT, env=env, timeout=60)
    assert out.returncode != 0
    assert "SCAN_SCHEDULE: 'every night' is not a six-field NCRONTAB expression" in out.stderr
    assert "e.g. '0 0 2 * * *'" in out.stderr


def test_a_setting_broken_after_start_fails_each_invocation_clearly(fn, monkeypatch):
    from scanner import bootstrap

    apply_env(monkeypatch, {"SCAN_SCOPE": "mg:"})
    bootstrap.reset()
    req = func.HttpRequest("GET", "http://127.0.0.1:7071/api/catalog", params={}, body=b"")
    resp = fn["api_catalog"](req)
    assert resp.status_code == 500
    err = json.loads(resp.get_body())["error"]
    assert err["code"] == "configuration" and err["message"].startswith("SCAN_SCOPE: 'mg:'")
    with pytest.raises(ConfigError, match="SCAN_SCOPE"):
        fn["nightly_scan"](TimerRequest(past_due=False))
    bootstrap.reset()


def test_a_secret_in_a_bad_setting_is_never_echoed(monkeypatch):
    import function_app

    secret = "ftp://hooks.example/sig=TOPSECRET"
    with pytest.raises(ConfigError) as info:
        function_app.build({"TEAMS_WEBHOOK_OPS": secret})
    assert "TEAMS_WEBHOOK_OPS" in str(info.value) and "TOPSECRET" not in str(info.value)
