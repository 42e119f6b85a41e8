"""ack / unack / history commands against Azurite, through the real CLI dispatcher."""

import csv
import io
import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone

import pytest

from scanner import bootstrap
from scanner.cli import main
from scanner.config import Settings
from scanner.core.model import (
    Finding,
    ResourceKind,
    ResourceRef,
    Retirement,
    Rule,
    Severity,
    Status,
    finding_id,
)
from scanner.service import apply_scan

pytestmark = pytest.mark.integration

SUB = "cccccccc-3333-3333-3333-333333333333"
RET = Retirement(id="av2", title="Av2", retires_on=date(2026, 11, 15), series=("Av2",))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def vm(name, sev=Severity.HIGH):
    rid = f"/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/{name}"
    return Finding(id=finding_id(rid, "", Rule.RETIRING_SIZE.value, RET.id), rule=Rule.RETIRING_SIZE, severity=sev,
                   vm_size="Standard_A2_v2",
                   resource=ResourceRef(ResourceKind.VM, rid, name, SUB, "rg", "westeurope"), retirement=RET)


@pytest.fixture
def env(azurite_env, monkeypatch):
    for k in ("AzureWebJobsStorage", "STORAGE_TABLE_ENDPOINT", "AzureWebJobsStorage__accountName"):
        monkeypatch.delenv(k, raising=False)
    for k, v in azurite_env.items():
        monkeypatch.setenv(k, v)
    return azurite_env


def cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def today():
    return datetime.now(timezone.utc).date()


def test_ack_then_scan_lists_it_suppressed_then_unack_brings_it_back(env, capsys):
    store = bootstrap.storage(Settings.from_env(env))
    f = vm("vm1")
    now = datetime.now(timezone.utc)
    apply_scan(store.findings, store.runs, [f], now=now)
    until = (today() + timedelta(days=30)).isoformat()
    code, out, err = cli(capsys, "ack", f.id.upper(), "--until", until, "--reason", "  resize booked\nin May ")
    assert code == 0, err
    assert f.id in out and "vm1" in out and until in out and "resize booked in May" in out
    shown = apply_scan(store.findings, store.runs, [f], now=now).findings[0]
    assert shown.status is Status.SUPPRESSED and shown.suppression_reason == "resize booked in May"
    code, out, err = cli(capsys, "unack", f.id)
    assert code == 0, err
    assert apply_scan(store.findings, store.runs, [f], now=now).findings[0].status is Status.OPEN
    code, out, err = cli(capsys, "unack", f.id)
    assert code == 2 and f"FINDING_ID: {f.id} has no acknowledgement" in err


@pytest.mark.parametrize(
    "argv,message",
    [
        pytest.param(["ack", "0" * 32, "--until", "2999-01-01", "--reason", "r"],
                     "is not in the store (run `python -m scanner scan` first, or pass --force", id="unknown-id"),
        pytest.param(["ack", "x/y", "--until", "2999-01-01", "--reason", "r"], "FINDING_ID: 'x/y' is not a finding id",
                     id="bad-id"),
        pytest.param(["ack", "ab", "--until", "2999-02-30", "--reason", "r"], "--until: '2999-02-30' is not a date",
                     id="impossible-date"),
        pytest.param(["ack", "ab", "--until", "01/02/2999", "--reason", "r"], "--until: '01/02/2999' is not a date",
                     id="wrong-date-form"),
        pytest.param(["ack", "ab", "--until", "2001-01-01", "--reason", "r"], "--until: 2001-01-01 is in the past",
                     id="past-date"),
        pytest.param(["ack", "ab", "--until", "2999-01-01", "--reason", "  "], "--reason: say why", id="empty-reason"),
    ],
)
def test_ack_refuses_bad_input_naming_it(env, capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2
    assert message in err


def test_ack_force_accepts_an_id_not_seen_yet(env, capsys):
    fid = "f" * 32
    code, out, err = cli(capsys, "ack", fid, "--until", "2999-01-01", "--reason", "pre-emptive", "--force")
    assert code == 0, err
    assert fid in bootstrap.storage(Settings.from_env(env)).findings.load_suppressions()


def test_no_store_configured(monkeypatch, capsys):
    for k in ("AzureWebJobsStorage", "STORAGE_TABLE_ENDPOINT", "AzureWebJobsStorage__accountName"):
        monkeypatch.delenv(k, raising=False)
    code, out, err = cli(capsys, "history")
    assert code == 2 and "no store configured" in err


def _runs(env):
    store = bootstrap.storage(Settings.from_env(env))
    t = datetime.now(timezone.utc).replace(hour=0, minute=30) - timedelta(days=2)
    a, b = vm("a", Severity.CRITICAL), vm("b", Severity.MEDIUM)
    apply_scan(store.findings, store.runs, [a, b], now=t)
    apply_scan(store.findings, store.runs, [a], now=t + timedelta(days=1))
    return t.date()


def test_history_json_csv_and_table(env, capsys):
    first = _runs(env)
    code, out, err = cli(capsys, "history", "--days", "3", "--format", "json")
    assert code == 0, err
    rows = json.loads(out)
    assert [r["date"] for r in rows] == [(first + timedelta(days=i)).isoformat() for i in range(3)]
    assert [r["open_total"] for r in rows] == [2, 1, 1]
    assert [r["resolved"] for r in rows] == [0, 1, 0]
    assert rows[0]["open"]["critical"] == 1 and rows[0]["open"]["medium"] == 1

    code, out, _ = cli(capsys, "history", "--days", "4", "--format", "csv")
    table = list(csv.DictReader(io.StringIO(out)))
    assert table[0]["open"] == "" and table[1]["open"] == "2" and table[2]["resolved"] == "1"
    assert list(table[0]) == ["date", "runs", "critical", "high", "medium", "low", "info", "open", "suppressed",
                              "new", "escalated", "resolved", "reopened"]

    code, out, _ = cli(capsys, "history", "--days", "4")
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["date", "runs", "critical"]
    assert lines[1].split()[0] == (first - timedelta(days=1)).isoformat() and "-" in lines[1].split()
    assert len(lines) == 5


@pytest.mark.parametrize("days", ["0", "x", "-3"])
def test_history_rejects_bad_days(env, capsys, days):
    with pytest.raises(SystemExit) as exit_:
        main(["history", "--days", days])
    assert exit_.value.code == 2
    assert "--days" in capsys.readouterr().err


def test_history_runs_as_a_module(env):
    _runs(env)
    out = subprocess.run([sys.executable, "-m", "scanner", "history", "--days", "2", "--format", "json"],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, **env}, timeout=60)
    assert out.returncode == 0, out.stderr
    assert [r["open_total"] for r in json.loads(out.stdout)] == [1, 1]
    assert env["AzureWebJobsStorage"] not in out.stdout + out.stderr
