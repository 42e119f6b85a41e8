"""What the Functions host indexes: every function, its bindings, and the settings they name."""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys

import pytest

from tests.conftest import ROOT

EXPECTED = {
    "nightly_scan": {"type": "timerTrigger", "schedule": "%SCAN_SCHEDULE%", "runOnStartup": False},
    "ingest_feed": {"type": "timerTrigger", "schedule": "%FEED_SCHEDULE%", "runOnStartup": False},
    "send_notifications": {"type": "queueTrigger", "queueName": "%NOTIFY_QUEUE%", "connection": "AzureWebJobsStorage"},
    "run_scan_request": {"type": "queueTrigger", "queueName": "%SCAN_QUEUE%", "connection": "AzureWebJobsStorage"},
    "api_scan": {"type": "httpTrigger", "route": "scan", "methods": ["POST"], "authLevel": "FUNCTION"},
    "api_scan_status": {"type": "httpTrigger", "route": "scan/{run_id}", "methods": ["GET"], "authLevel": "FUNCTION"},
    "api_findings": {"type": "httpTrigger", "route": "findings", "methods": ["GET"], "authLevel": "FUNCTION"},
    "api_catalog": {"type": "httpTrigger", "route": "catalog", "methods": ["GET"], "authLevel": "FUNCTION"},
    "api_report": {"type": "httpTrigger", "route": "report", "methods": ["GET"], "authLevel": "FUNCTION"},
}


@pytest.fixture(scope="module")
def functions():
    import function_app

    return {f.get_function_name(): f for f in function_app.build({}).get_functions()}


def test_every_function_is_indexed_once(functions):
    assert sorted(functions) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_trigger_binding(functions, name):
    bindings = json.loads(functions[name].get_function_json())["bindings"]
    trigger = next(b for b in bindings if b["direction"] == "IN" and b["type"].endswith("Trigger"))
    for key, value in EXPECTED[name].items():
        assert trigger[key] == value, f"{name}.{key}"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_binding_names_match_parameters(functions, name):
    f = functions[name]
    params = set(inspect.signature(f.get_user_function()).parameters)
    names = {b["name"] for b in json.loads(f.get_function_json())["bindings"] if b["name"] != "$return"}
    assert names == params


def _app_settings_in_infra() -> set[str]:
    text = (ROOT / "infra" / "resources.bicep").read_text(encoding="utf-8")
    block = text.split("var baseSettings = {", 1)[1].split("\n}", 1)[0]
    return set(re.findall(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*:", block, re.M))


@pytest.mark.parametrize("setting", ["SCAN_SCHEDULE", "FEED_SCHEDULE", "NOTIFY_QUEUE", "SCAN_QUEUE"])
def test_settings_named_by_bindings_are_set_everywhere(functions, setting):
    """A `%SETTING%` binding fails the host when the setting is missing: infra and the local
    settings example must both set it."""
    named = {m for f in functions.values() for m in re.findall(r"%([A-Z_]+)%", f.get_function_json())}
    assert setting in named
    local = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    assert local.get(setting), f"local.settings.example.json does not set {setting}"
    assert setting in _app_settings_in_infra(), f"infra/resources.bicep does not set {setting}"


def test_only_the_app_and_its_blueprints_import_azure_functions():
    offenders = []
    for path in [*ROOT.joinpath("scanner").rglob("*.py"), *ROOT.joinpath("notifiers").rglob("*.py")]:
        if re.search(r"^\s*(import azure\.functions|from azure\.functions|from azure import functions)",
                     path.read_text(encoding="utf-8"), re.M):
            offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_importing_the_app_connects_to_nothing():
    """Indexing imports function_app with the real settings: it must not open clients or sockets."""
    code = (
        "import socket\n"
        "def refuse(*a, **k): raise AssertionError('connected at import')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "import function_app\n"
        "print(len(function_app.app.get_functions()))\n"
    )
    env = {"PATH": "/usr/bin:/bin", "AzureWebJobsStorage": "UseDevelopmentStorage=true",
           "FEED_URL": "http://127.0.0.1:9/x/api/v2/azure"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(len(EXPECTED))


def test_the_app_package_keeps_the_blueprints():
    """.funcignore must not leave out what function_app.py imports."""
    patterns = [line.strip().rstrip("/") for line in (ROOT / ".funcignore").read_text().splitlines()
                if line.strip() and not line.startswith("#")]
    for needed in ("triggers", "scanner", "notifiers", "function_app.py", "host.json", "requirements.txt"):
        assert needed not in patterns


def test_import_loads_no_storage_sdk():
    """The host imports function_app on every cold start: the Table and Queue SDKs (and the ARM
    management SDKs) load on first use, not at import (issue 14: import adds <= 150 ms; bench/bench_scale.py
    prints the time). A fresh process, so modules other tests loaded do not count."""
    code = ("import sys, function_app; print('\\n'.join(m for m in sys.modules if m.startswith("
            "('azure.storage', 'azure.data', 'azure.mgmt', 'azure.identity'))))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [], f"imported at import time: {out.stdout.split()[:10]}"
