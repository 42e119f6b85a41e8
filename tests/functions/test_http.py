"""The HTTP API through the real function objects (HttpRequest in, HttpResponse out), on Azurite
with the sample tenant's files and a feed server on loopback."""

from __future__ import annotations

import csv
import io
import json
import time
from urllib.parse import parse_qsl, urlsplit

import azure.functions as func
import pytest

from scanner import cli
from scanner.bootstrap import get_context
from tests.functions.conftest import apply_env

pytestmark = pytest.mark.integration

HOST = "https://scanner.example.net"
KEY = "fn-key-SECRET-123"


@pytest.fixture(autouse=True)
def _host(request):
    """POST /api/scan queues the scan: run the queue trigger as the host would (every test here)."""
    if "app_env" in request.fixturenames:
        request.getfixturevalue("scan_host")


def call(fn, name: str, method: str, path: str, params: dict | None = None, body: bytes = b"",
         route_params: dict | None = None) -> func.HttpResponse:
    req = func.HttpRequest(method, f"{HOST}{path}", headers={}, params={"code": KEY, **(params or {})},
                           route_params=route_params or {}, body=body)
    return fn[name](req)


def body_json(resp: func.HttpResponse) -> dict:
    return json.loads(resp.get_body())


def scan(fn, **params) -> dict:
    resp = call(fn, "api_scan", "POST", "/api/scan", body=json.dumps(params).encode() if params else b"")
    assert resp.status_code == 200, resp.get_body()
    return body_json(resp)


def follow(fn, link: str) -> func.HttpResponse:
    parts = urlsplit(link)
    assert f"{parts.scheme}://{parts.netloc}" == HOST
    return call(fn, "api_findings", "GET", parts.path, dict(parse_qsl(parts.query)))


# --------------------------------------------------------------------------- POST /api/scan


def test_scan_answers_the_scan_json_and_keeps_it_for_the_status_url(fn, app_env):
    resp = call(fn, "api_scan", "POST", "/api/scan")
    assert resp.status_code == 200
    doc = body_json(resp)
    assert doc["schema"] == "retirement-scan/v1" and doc["findings"]
    assert doc["summary"]["stored"] is True and doc["summary"]["changes"]["new"] == len(doc["findings"])
    run_id = resp.headers["X-Scan-Run-Id"]
    assert resp.headers["Content-Location"] == f"{HOST}/api/scan/{run_id}"
    again = call(fn, "api_scan_status", "GET", f"/api/scan/{run_id}", route_params={"run_id": run_id})
    assert again.status_code == 200 and body_json(again) == doc
    assert KEY not in resp.get_body().decode() + json.dumps(dict(resp.headers))


def test_a_slow_scan_answers_202_then_the_result_at_the_status_url(fn, app_env, feed, monkeypatch):
    apply_env(monkeypatch, {**app_env, "HTTP_SCAN_TIMEOUT_SECONDS": "1"})
    feed.delay = 2.5  # no snapshot yet: the scan reads the feed first, slowly
    resp = call(fn, "api_scan", "POST", "/api/scan", {"notify": "false"})
    assert resp.status_code == 202
    doc = body_json(resp)
    run_id = doc["run_id"]
    assert doc["status"] == "running" and resp.headers["Location"] == f"{HOST}/api/scan/{run_id}" == doc["status_url"]
    assert int(resp.headers["Retry-After"]) > 0
    status = call(fn, "api_scan_status", "GET", f"/api/scan/{run_id}", route_params={"run_id": run_id})
    assert status.status_code == 202
    deadline = time.monotonic() + 30
    while status.status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.2)
        status = call(fn, "api_scan_status", "GET", f"/api/scan/{run_id}", route_params={"run_id": run_id})
    assert status.status_code == 200
    assert body_json(status)["schema"] == "retirement-scan/v1" and body_json(status)["findings"]


@pytest.mark.parametrize("run_id", ["0" * 32, "not-a-run", "../../etc"], ids=["unknown", "malformed", "path"])
def test_unknown_scan_run_is_404(fn, app_env, run_id):
    resp = call(fn, "api_scan_status", "GET", f"/api/scan/{run_id}", route_params={"run_id": run_id})
    assert resp.status_code == 404
    assert body_json(resp)["error"]["parameter"] == "run_id"


def test_scope_narrows_the_scan_and_dry_run_stores_nothing(fn, app_env):
    full = scan(fn, dry_run=True)
    subs = sorted({f["resource"]["subscription_id"] for f in full["findings"]})
    assert len(subs) >= 2, "the sample tenant spans several subscriptions"
    narrowed = scan(fn, scope=f"sub:{subs[0]}", dry_run=True)
    assert narrowed["findings"] and {f["resource"]["subscription_id"] for f in narrowed["findings"]} == {subs[0]}
    assert get_context().store().findings.load_records() == {}
    listed = body_json(call(fn, "api_findings", "GET", "/api/findings"))
    assert listed["count"] == 0


BAD_SCANS = [
    pytest.param({}, b'{"scope": "foo:bar"}', "scope", "bad_parameter", id="unknown-scope"),
    pytest.param({"scope": "mg:root"}, b"", "scope", "bad_parameter", id="mg-scope-with-files"),
    pytest.param({}, b'{"scope": ', "body", "malformed_json", id="malformed-json"),
    pytest.param({}, b'["tenant"]', "body", "malformed_json", id="json-not-object"),
    pytest.param({}, b"{" + b" " * 70_000 + b"}", "body", "body_too_large", id="oversized-body"),
    pytest.param({"scopes": "tenant"}, b"", "scopes", "unknown_parameter", id="unknown-query-parameter"),
    pytest.param({}, b'{"fail_on": "high"}', "fail_on", "unknown_parameter", id="unknown-body-key"),
    pytest.param({"dry_run": "maybe"}, b"", "dry_run", "bad_parameter", id="bad-bool"),
    pytest.param({"dry_run": "true"}, b'{"dry_run": false}', "dry_run", "bad_parameter", id="query-body-disagree"),
]


@pytest.mark.parametrize(("params", "body", "parameter", "code"), BAD_SCANS)
def test_bad_scan_requests_are_400_naming_the_parameter(fn, app_env, params, body, parameter, code):
    resp = call(fn, "api_scan", "POST", "/api/scan", params, body)
    assert resp.status_code == 400
    err = body_json(resp)["error"]
    assert (err["parameter"], err["code"]) == (parameter, code)
    assert parameter in err["message"] or parameter == "body"
    assert get_context().store().findings.load_records() == {}  # nothing ran


# --------------------------------------------------------------------------- GET /api/findings


@pytest.fixture
def scanned(fn, app_env) -> dict:
    return scan(fn)


def _ids(doc: dict) -> set[str]:
    return {f["id"] for f in doc["findings"]}


def test_findings_lists_what_the_scan_stored(fn, scanned):
    doc = body_json(call(fn, "api_findings", "GET", "/api/findings", {"top": "1000"}))
    assert doc["schema"] == "retirement-findings/v1" and doc["nextLink"] is None
    assert _ids(doc) == _ids(scanned)
    assert {f["status"] for f in doc["findings"]} == {"new"}  # first seen by the latest run
    by_id = {f["id"]: f for f in scanned["findings"]}
    for f in doc["findings"]:
        assert f["retirement"] == by_id[f["id"]]["retirement"] and f["severity"] == by_id[f["id"]]["severity"]


FILTERS = [
    ("severity", lambda f: f["severity"], "severity"),
    ("rule", lambda f: f["rule"], "rule"),
    ("subscription", lambda f: f["resource"]["subscription_id"], "subscription"),
    ("size", lambda f: f["vm_size"].lower(), "size"),
    ("cluster", lambda f: f["resource"]["name"].lower(), "cluster"),
]


@pytest.mark.parametrize(("param", "key", "_"), FILTERS, ids=[f[0] for f in FILTERS])
def test_each_filter_returns_exactly_the_matching_findings(fn, scanned, param, key, _):
    values = sorted({key(f) for f in scanned["findings"]})
    value = values[0]
    doc = body_json(call(fn, "api_findings", "GET", "/api/findings", {param: value, "top": "1000"}))
    expected = {f["id"] for f in scanned["findings"] if key(f) == value}
    assert expected and _ids(doc) == expected


def test_cluster_filter_takes_the_arm_id_too(fn, scanned):
    pool = next(f for f in scanned["findings"] if f["resource"]["kind"] == "aks-nodepool")
    doc = body_json(call(fn, "api_findings", "GET", "/api/findings", {"cluster": pool["resource"]["id"].upper()}))
    assert _ids(doc) == {f["id"] for f in scanned["findings"] if f["resource"]["id"] == pool["resource"]["id"]}


def test_paging_walks_every_finding_once_without_leaking_the_key(fn, scanned):
    seen: list[str] = []
    resp = call(fn, "api_findings", "GET", "/api/findings", {"top": "2"})
    pages = 0
    while True:
        doc = body_json(resp)
        pages += 1
        assert doc["count"] == len(doc["findings"]) <= 2
        seen += [f["id"] for f in doc["findings"]]
        if not doc["nextLink"]:
            break
        assert "code=" not in doc["nextLink"] and KEY not in doc["nextLink"]
        resp = follow(fn, doc["nextLink"])
    assert sorted(seen) == sorted(_ids(scanned)) and len(seen) == len(set(seen))
    assert pages == -(-len(seen) // 2)


def test_csv_pages_carry_the_continuation_in_headers(fn, scanned):
    resp = call(fn, "api_findings", "GET", "/api/findings", {"format": "csv", "top": "3"})
    assert resp.status_code == 200 and resp.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(resp.get_body().decode())))
    assert len(rows) == 3 and {r["status"] for r in rows} == {"new"}
    # The one CSV layout: the same columns as `scan --format csv` and the email attachment.
    from scanner.core.schema import CSV_COLUMNS

    assert resp.get_body().decode().splitlines()[0].split(",") == CSV_COLUMNS
    assert all(r["commands"].startswith("az ") for r in rows if r["kind"] == "aks-nodepool")
    assert rows[0]["id"] in _ids(scanned)
    assert resp.headers["Link"].endswith('>; rel="next"') and resp.headers["X-Continuation"]


def test_status_filter_follows_acks_and_resolution(fn, scanned, app_env, monkeypatch):
    from datetime import date, timedelta

    from scanner.core.lifecycle import Suppression

    target = scanned["findings"][0]["id"]
    get_context().store().findings.put_suppression(Suppression(target, date.today() + timedelta(days=30), "booked"))
    doc = body_json(call(fn, "api_findings", "GET", "/api/findings", {"status": "suppressed"}))
    assert _ids(doc) == {target} and doc["findings"][0]["suppression_reason"] == "booked"
    # Second scan with one subscription gone from the inventory: its findings resolve.
    sub = scanned["findings"][0]["resource"]["subscription_id"]
    others = [f["resource"]["subscription_id"] for f in scanned["findings"]]
    keep = sorted({s for s in others if s != sub})
    assert keep
    scan(fn, scope="sub:" + ",".join(keep))  # reads only those: nothing of `sub` resolves
    assert body_json(call(fn, "api_findings", "GET", "/api/findings", {"status": "resolved"}))["count"] == 0
    open_now = body_json(call(fn, "api_findings", "GET", "/api/findings", {"status": "open", "top": "1000"}))
    assert open_now["count"] == len(scanned["findings"]) - 1  # all but the suppressed one


BAD_QUERIES = [
    pytest.param({"severity": "urgent"}, "severity", id="severity"),
    pytest.param({"rule": "old-size"}, "rule", id="rule"),
    pytest.param({"status": "gone"}, "status", id="status"),
    pytest.param({"subscription": "not-a-guid"}, "subscription", id="subscription"),
    pytest.param({"format": "xml"}, "format", id="format"),
    pytest.param({"top": "0"}, "top", id="top-zero"),
    pytest.param({"top": "lots"}, "top", id="top-text"),
    pytest.param({"continuation": "garbage!"}, "continuation", id="continuation"),
    pytest.param({"owner": "me"}, "owner", id="unknown-filter"),
    pytest.param({"severity": ""}, "severity", id="empty"),
]


@pytest.mark.parametrize(("params", "parameter"), BAD_QUERIES)
def test_bad_findings_queries_are_400_naming_the_parameter(fn, app_env, params, parameter):
    resp = call(fn, "api_findings", "GET", "/api/findings", params)
    assert resp.status_code == 400
    assert body_json(resp)["error"]["parameter"] == parameter


def test_a_continuation_only_works_with_its_own_filters(fn, scanned):
    doc = body_json(call(fn, "api_findings", "GET", "/api/findings", {"top": "1"}))
    token = doc["continuation"]
    assert token
    resp = call(fn, "api_findings", "GET", "/api/findings", {"top": "1", "continuation": token, "rule": "retiring-size"})
    assert resp.status_code == 400 and "other filters" in body_json(resp)["error"]["message"]


def test_without_a_store_the_api_says_which_setting_is_missing(fn, app_env, monkeypatch):
    apply_env(monkeypatch, {k: v for k, v in app_env.items() if k != "AzureWebJobsStorage"})
    resp = call(fn, "api_findings", "GET", "/api/findings")
    assert resp.status_code == 503 and "AzureWebJobsStorage" in body_json(resp)["error"]["message"]


# --------------------------------------------------------------------------- catalog and report


def test_catalog_is_the_cli_contract(fn, app_env, feed, capsys):
    resp = call(fn, "api_catalog", "GET", "/api/catalog")
    assert resp.status_code == 200
    doc = body_json(resp)
    assert cli.main(["catalog", "--feed", feed.url, "--format", "json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    assert doc["schema"] == expected["schema"] == "retirement-catalog/v1"
    assert doc["retirements"] == expected["retirements"]
    assert doc["needs_review"] == expected["needs_review"]
    assert call(fn, "api_catalog", "GET", "/api/catalog", {"format": "json"}).status_code == 400


def test_report_page_shows_the_stored_findings(fn, scanned):
    resp = call(fn, "api_report", "GET", "/api/report", {"days": "14"})
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    assert "default-src 'none'" in resp.headers["Content-Security-Policy"]
    html = resp.get_body().decode()
    assert html.startswith("<!DOCTYPE html>")
    for f in scanned["findings"][:5]:
        assert f["resource"]["name"] in html
    assert call(fn, "api_report", "GET", "/api/report", {"days": "0"}).status_code == 400
