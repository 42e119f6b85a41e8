"""`python -m scanner scan` stores by default: status, first_seen, change counts (Azurite)."""

import json
from datetime import datetime, timezone
from pathlib import Path

import pytest

from scanner import bootstrap
from scanner.cli import main
from scanner.config import Settings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
AKS, VMS, VMSS = (str(ROOT / "samples" / "inventory" / n) for n in ("aks.json", "vms.json", "vmss.json"))
SKUS = str(ROOT / "samples" / "skus")
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
STORAGE_VARS = ("AzureWebJobsStorage", "STORAGE_TABLE_ENDPOINT", "AzureWebJobsStorage__accountName")


@pytest.fixture
def env(azurite_env, monkeypatch):
    for k in STORAGE_VARS:
        monkeypatch.delenv(k, raising=False)
    for k, v in azurite_env.items():
        monkeypatch.setenv(k, v)
    return azurite_env


def scan(capsys, *inventory, extra=()):
    code = main(["scan", "--inventory", *inventory, "--skus", SKUS, "--today", "2026-03-01",
                 "--format", "json", "--no-notify", *extra])
    out = capsys.readouterr()
    assert code in (0, 3), out.err
    return code, json.loads(out.out), out.err


def test_scan_stores_and_reports_status_first_seen_and_changes(env, capsys):
    _, first, err = scan(capsys, AKS, VMS, VMSS)
    n = first["summary"]["findings"]
    assert n > 5 and "no store configured" not in err
    assert first["summary"]["stored"] is True
    assert first["summary"]["changes"]["new"] == n
    assert {f["status"] for f in first["findings"]} == {"new"}
    assert all(f["first_seen"] for f in first["findings"])

    _, second, _ = scan(capsys, AKS, VMS, VMSS)
    assert second["summary"]["changes"]["new"] == 0 and second["summary"]["changes"]["unchanged"] == n
    assert {f["status"] for f in second["findings"]} == {"open"}
    first_seen = {f["id"]: f["first_seen"] for f in first["findings"]}
    assert {f["id"]: f["first_seen"] for f in second["findings"]} == first_seen

    # The VMs disappear from subscriptions the run still read: resolved, and listed as such.
    vm_ids = {f["id"] for f in first["findings"] if f["resource"]["kind"] == "vm"}
    _, third, _ = scan(capsys, AKS, VMSS)
    assert third["summary"]["changes"]["resolved"] == len(vm_ids) > 0
    resolved = {f["id"] for f in third["findings"] if f["status"] == "resolved"}
    assert resolved == vm_ids
    assert third["summary"]["by_status"]["resolved"] == len(vm_ids)

    store = bootstrap.storage(Settings.from_env(env))
    runs = store.runs.list_runs(EPOCH)
    assert [r["changes"]["new"] for r in runs] == [n, 0, 0]
    assert runs[-1]["changes"]["resolved"] == len(vm_ids) and runs[-1]["source"] == "cli"


def test_acked_finding_is_listed_suppressed_and_does_not_fail_the_build(env, capsys):
    code, first, _ = scan(capsys, AKS, VMS, VMSS, extra=("--fail-on", "critical"))
    critical = [f for f in first["findings"] if f["severity"] == "critical"]
    assert code == 3 and len(critical) >= 1
    for f in critical:
        assert main(["ack", f["id"], "--until", "2999-12-31", "--reason", "replacement ordered"]) == 0
    capsys.readouterr()
    code, after, _ = scan(capsys, AKS, VMS, VMSS, extra=("--fail-on", "critical"))
    shown = next(f for f in after["findings"] if f["id"] == critical[0]["id"])
    assert shown["status"] == "suppressed" and shown["suppressed_until"] == "2999-12-31"
    assert shown["suppression_reason"] == "replacement ordered"
    assert code == 0
    assert after["summary"]["by_status"]["suppressed"] == len(critical)


def test_no_store_flag_reads_and_writes_nothing(env, capsys):
    _, report, err = scan(capsys, AKS, extra=("--no-store",))
    assert "no store configured" not in err
    assert report["summary"]["stored"] is False and {f["status"] for f in report["findings"]} == {"new"}
    store = bootstrap.storage(Settings.from_env(env))
    assert store.findings.load_records() == {} and store.runs.list_runs(EPOCH) == []


def test_dry_run_shows_lifecycle_but_writes_nothing(env, capsys):
    scan(capsys, AKS)
    store = bootstrap.storage(Settings.from_env(env))
    before = {k: r.etag for k, r in store.findings.load_records().items()}
    _, report, _ = scan(capsys, AKS, VMSS, extra=("--dry-run",))
    statuses = {f["status"] for f in report["findings"]}
    assert statuses == {"open", "new"}
    assert {k: r.etag for k, r in store.findings.load_records().items()} == before
    assert len(store.runs.list_runs(EPOCH)) == 1


def test_without_a_store_the_scan_warns_and_carries_on(monkeypatch, capsys):
    for k in STORAGE_VARS:
        monkeypatch.delenv(k, raising=False)
    code, report, err = scan(capsys, AKS)
    assert code == 0 and report["findings"]
    assert "warning: no store configured (set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT)" in err
    assert report["summary"]["stored"] is False
