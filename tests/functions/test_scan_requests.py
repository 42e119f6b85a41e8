"""POST /api/scan on Flex Consumption: the scan runs in the queue trigger `run_scan_request`, so an
instance recycled after answering loses nothing, and a re-delivered message never runs a finished
scan twice. Real function objects, Azurite (tables and the SCAN_QUEUE queue), the sample tenant's
files; the queue trigger is called directly, as the host would."""

from __future__ import annotations

import json
import logging
import threading
from datetime import datetime, timedelta, timezone

import azure.functions as func
import pytest

from scanner import bootstrap, jobs
from scanner.bootstrap import get_context
from scanner.config import Settings
from tests.functions.conftest import apply_env

pytestmark = pytest.mark.integration

HOST = "https://scanner.example.net"
KEY = "fn-key-SECRET-456"
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)


def call(fn, name: str, path: str, method: str = "GET", params: dict | None = None, body: bytes = b"",
         route_params: dict | None = None) -> func.HttpResponse:
    req = func.HttpRequest(method, f"{HOST}{path}", headers={}, params={"code": KEY, **(params or {})},
                           route_params=route_params or {}, body=body)
    return fn[name](req)


def status(fn, run_id: str) -> func.HttpResponse:
    return call(fn, "api_scan_status", f"/api/scan/{run_id}", route_params={"run_id": run_id})


@pytest.fixture
def no_host(app_env, monkeypatch) -> dict:
    """Nobody runs the queue (the instance that answered was recycled): POST answers 202 fast."""
    env = {**app_env, "HTTP_SCAN_TIMEOUT_SECONDS": "1"}
    apply_env(monkeypatch, env)
    return env


def queued_message(env) -> str:
    """Take the one scan request off the queue, as the host hands it to the trigger."""
    client = bootstrap.scan_request_queue(Settings.from_env(env)).client
    (m,) = list(client.receive_messages(max_messages=32))
    client.delete_message(m)
    return m.content


def deliver(fn, body: str) -> None:
    fn["run_scan_request"](func.QueueMessage(id="m1", body=body.encode()))


def http_runs() -> list[dict]:
    return [r for r in get_context().store().runs.list_runs(EPOCH) if r["source"] == "http"]


def post_queued(fn, **params) -> str:
    resp = call(fn, "api_scan", "/api/scan", "POST", body=json.dumps(params).encode() if params else b"")
    assert resp.status_code == 202, resp.get_body()
    doc = json.loads(resp.get_body())
    assert doc["status"] == "queued" and resp.headers["Location"] == f"{HOST}/api/scan/{doc['run_id']}"
    return doc["run_id"]


def test_a_recycled_instance_loses_nothing_and_a_redelivery_does_not_scan_again(fn, no_host, caplog):
    run_id = post_queued(fn, notify=False)
    assert status(fn, run_id).status_code == 202
    assert json.loads(status(fn, run_id).get_body())["status"] == "queued"

    body = queued_message(no_host)
    assert json.loads(body) == {"run_id": run_id, "scope": None, "dry_run": False, "notify": False}
    account_key = no_host["AzureWebJobsStorage"].split("AccountKey=")[1].split(";")[0]
    assert KEY not in body and account_key not in body

    deliver(fn, body)  # another instance's queue trigger
    done = status(fn, run_id)
    assert done.status_code == 200
    doc = json.loads(done.get_body())
    assert doc["schema"] == "retirement-scan/v1" and doc["findings"] and doc["summary"]["stored"] is True
    assert len(http_runs()) == 1
    finished = get_context().store().scan_runs.get(run_id)["finished"]

    with caplog.at_level(logging.INFO, logger="scanner"):
        deliver(fn, body)  # the host delivers the same message again
    assert f"scan run {run_id}: already done; not run again" in caplog.text
    assert len(http_runs()) == 1 and get_context().store().scan_runs.get(run_id)["finished"] == finished
    assert json.loads(status(fn, run_id).get_body()) == doc


def test_a_redelivery_takes_over_only_when_the_running_worker_died(fn, no_host):
    run_id = post_queued(fn, scope="tenant", dry_run=True)
    body = queued_message(no_host)
    assert json.loads(body)["scope"] == "tenant" and json.loads(body)["dry_run"] is True
    runs = get_context().store().scan_runs
    now = datetime.now(timezone.utc)
    live = runs.claim(run_id, "worker-a", now)  # a worker on another instance is scanning

    assert jobs.run_scan_request(get_context(), body) == "busy"  # never a second scan beside a live one
    assert json.loads(status(fn, run_id).get_body())["status"] == "running"

    e = runs.table.get_entity("http-scan", run_id)  # worker-a's instance is recycled: its lease lapses
    runs.table.update_entity({"PartitionKey": "http-scan", "RowKey": run_id, "LeaseUntil": now - timedelta(minutes=1)})
    assert e["Owner"] == "worker-a"
    assert jobs.run_scan_request(get_context(), body) == "done"
    run = runs.get(run_id)
    assert run["status"] == "done" and run["attempt"] == 2
    assert not runs.finish(live, {"findings": []}, now)  # the dead worker's late answer is not kept
    assert json.loads(status(fn, run_id).get_body())["findings"]
    assert http_runs() == []  # a dry run stores nothing


def test_two_deliveries_at_once_scan_once(fn, no_host):
    run_id = post_queued(fn)
    body = queued_message(no_host)
    ctx = get_context()
    start = threading.Barrier(2)
    outcomes: list[str] = []

    def worker():
        start.wait()
        outcomes.append(jobs.run_scan_request(ctx, body))

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["busy", "done"]
    assert len(http_runs()) == 1 and status(fn, run_id).status_code == 200


def test_a_failed_scan_is_answered_as_failed_and_not_retried(fn, app_env, monkeypatch, tmp_path, scan_host):
    broken = tmp_path / "aks.json"
    broken.write_text("[{\"id\": 1}", encoding="utf-8")
    apply_env(monkeypatch, {**app_env, "SCAN_INVENTORY_FILES": str(broken)})
    resp = call(fn, "api_scan", "/api/scan", "POST")
    assert resp.status_code == 500
    err = json.loads(resp.get_body())["error"]
    assert err["code"] == "scan_failed" and "aks.json" in err["message"]
    run_id = err["message"].split()[2]
    assert status(fn, run_id).status_code == 500
    body = json.dumps({"run_id": run_id, "scope": None, "dry_run": False, "notify": False})
    assert jobs.run_scan_request(get_context(), body) == "skipped"


@pytest.mark.parametrize("body", [
    b"", b"not json", b'["x"]', b'{"run_id": "../../etc"}',
    b'{"run_id": "' + b"a" * 32 + b'", "scope": "foo:bar"}',
    b'{"run_id": "' + b"a" * 32 + b'", "dry_run": "yes"}',
    b'{"run_id": "' + b"a" * 32 + b'", "password": "x"}',
], ids=["empty", "not-json", "not-object", "bad-run-id", "bad-scope", "bad-bool", "unknown-field"])
def test_a_malformed_scan_request_is_dropped_with_a_log_line(fn, app_env, body, caplog):
    with caplog.at_level(logging.ERROR):
        fn["run_scan_request"](func.QueueMessage(id="m1", body=body))
    assert "run_scan_request: dropped a malformed queue message: scan request message" in caplog.text


def test_a_request_for_an_unknown_run_is_skipped(fn, app_env):
    body = json.dumps({"run_id": "b" * 32, "scope": None, "dry_run": False, "notify": False})
    assert jobs.run_scan_request(get_context(), body) == "skipped"
    assert http_runs() == []


def test_without_a_queue_the_scan_runs_in_this_instance(fn, app_env):
    """STORAGE_TABLE_ENDPOINT without a queue endpoint: the old in-process path, result still kept."""
    from concurrent.futures import ThreadPoolExecutor
    from dataclasses import replace

    from scanner import api

    with ThreadPoolExecutor(max_workers=1) as pool:
        deps = replace(get_context().api_deps(), enqueue=None, executor=pool).with_base(HOST)
        resp = api.handle(api.scan_start, "POST", {}, {}, b'{"dry_run": true}', deps)
    assert resp.status == 200 and json.loads(resp.body)["findings"]
    run_id = resp.headers["X-Scan-Run-Id"]
    assert json.loads(status(fn, run_id).get_body()) == json.loads(resp.body)
