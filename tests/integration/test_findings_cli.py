"""What the table shows is what the exit code acts on (issue 15, items 3 and 4), against Azurite
through the real CLI: the short id in the table is what `ack`, `unack` and `show` take, an
acknowledged finding reads `suppressed` and is counted apart, `findings` lists the store with the
API's filters, and `--fail-on` says on stderr which findings crossed the line."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from scanner.cli import main
from scanner.core.schema import CSV_COLUMNS
from tests.conftest import ROOT

pytestmark = pytest.mark.integration

SAMPLES = ["--inventory", str(ROOT / "samples" / "inventory"), "--skus", str(ROOT / "samples" / "skus")]


@pytest.fixture
def env(azurite_env, monkeypatch):
    for k in ("AzureWebJobsStorage", "STORAGE_TABLE_ENDPOINT", "AzureWebJobsStorage__accountName", "EMAIL_TO",
              "TEAMS_WEBHOOK_URL", "NOTIFY_DIR", "CATALOG_EXTRA_FILE"):
        monkeypatch.delenv(k, raising=False)
    for k, v in azurite_env.items():
        monkeypatch.setenv(k, v)
    return azurite_env


def cli(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def table_rows(text: str) -> dict[str, list[str]]:
    """short id -> cells of its table row."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"^  ([0-9a-f]{8})  (.*)$", line)
        if m:
            rows[m.group(1)] = m.group(2).split()
    return rows


def test_table_id_acks_and_the_exit_code_follows_what_the_table_says(env, capsys):
    code, out, err = cli(capsys, "scan", *SAMPLES, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    critical = [f for f in doc["findings"] if f["severity"] == "critical"]
    assert critical, "the sample tenant has critical findings today"

    code, out, err = cli(capsys, "scan", *SAMPLES)
    rows = table_rows(out)
    assert set(rows) == {f["id"][:8] for f in doc["findings"]}
    assert all(rows[f["id"][:8]][0] == "open" for f in doc["findings"])  # second run: stored, not new
    headline = out.splitlines()[0]
    assert f"{len(critical)} critical" in headline and "suppressed" not in headline

    # Acknowledge every critical finding by the short id the table shows.
    until = (datetime.now(timezone.utc).date() + timedelta(days=30)).isoformat()
    for f in critical:
        code, out, err = cli(capsys, "ack", f["id"][:8], "--until", until, "--reason", "resize booked")
        assert code == 0, err
        assert f["id"] in out and "replaces" not in out
    code, out, err = cli(capsys, "ack", critical[0]["id"][:8], "--until", until, "--reason", "moved to June")
    assert code == 0 and "replaces the acknowledgement until" in out and "resize booked" in out

    code, out, err = cli(capsys, "scan", *SAMPLES, "--fail-on", "critical")
    assert code == 0, err  # what the table shows as suppressed is not counted...
    rows = table_rows(out)
    for f in critical:
        assert rows[f["id"][:8]][0] == "suppressed" and rows[f["id"][:8]][1].startswith("(critical")
    headline = out.splitlines()[0]
    assert "critical" not in headline.split(",", 1)[0] and f"{len(critical)} suppressed" in headline

    # ... and what is counted makes --fail-on say which findings crossed the line.
    code, out, err = cli(capsys, "scan", *SAMPLES, "--fail-on", "low", "--format", "json")
    assert code == 3
    active = [f for f in json.loads(out)["findings"] if f["status"] != "suppressed"
              and f["severity"] in ("critical", "high", "medium", "low")]
    assert f"--fail-on low: {len(active)} finding(s) at or above low" in err
    for f in active[:5]:
        assert f["id"][:8] in err
    assert critical[0]["id"][:8] not in err


def test_fail_on_speaks_even_with_output(env, capsys, tmp_path):
    target = tmp_path / "scan.md"
    code, out, err = cli(capsys, "scan", *SAMPLES, "--no-store", "--format", "markdown", "--output", str(target),
                         "--fail-on", "critical")
    assert code == 3 and out == "" and target.read_text().startswith("# Retirement scan")
    assert "--fail-on critical:" in err and "Standard_NC6s_v3" in err


def test_show_and_findings_list_the_store_with_the_api_filters(env, capsys):
    code, out, err = cli(capsys, "scan", *SAMPLES, "--format", "json")
    assert code == 0, err
    doc = json.loads(out)
    vmss = next(f for f in doc["findings"] if f["resource"]["kind"] == "vmss" and f["commands"])

    code, out, err = cli(capsys, "show", vmss["id"][:8])
    assert code == 0, err
    assert vmss["id"] in out and vmss["vm_size"] in out and vmss["resource"]["id"] in out
    for command in vmss["commands"]:
        assert f"  {command}\n" in out
    assert "first seen" in out and "portal: https://portal.azure.com/#resource" in out
    code, out, err = cli(capsys, "show", vmss["id"], "--format", "JSON")
    shown = json.loads(out)
    assert shown["commands"] == vmss["commands"] and shown["history"]["state"] == "open"

    code, out, err = cli(capsys, "findings", "--severity", "critical", "--format", "json")
    assert code == 0, err
    listed = json.loads(out)
    assert listed["schema"] == "retirement-findings/v1"
    assert sorted(f["id"] for f in listed["findings"]) == sorted(
        f["id"] for f in doc["findings"] if f["severity"] == "critical")
    code, out, err = cli(capsys, "findings", "--rule", "gen1-node-image", "--format", "csv")
    rows = list(csv.DictReader(io.StringIO(out)))
    assert list(rows[0]) == CSV_COLUMNS and {r["rule"] for r in rows} == {"gen1-node-image"}
    assert len(rows) == sum(f["rule"] == "gen1-node-image" for f in doc["findings"])
    code, out, err = cli(capsys, "findings", "--top", "3")
    assert code == 0 and len(table_rows(out)) == 3
    code, out, err = cli(capsys, "findings")
    assert len(table_rows(out)) == len(doc["findings"]) and out.startswith("Stored findings on ")


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["findings", "--severity", "urgent"], "--severity: 'urgent' is not one of critical"),
        (["findings", "--subscription", "not-a-guid"], "--subscription: 'not-a-guid' is not a subscription id"),
        (["show", "abc"], "FINDING_ID: 'abc' is too short"),
        (["show", "ffffffff"], "FINDING_ID: no stored finding id starts with ffffffff"),
        (["ack", "0123456", "--until", "2999-01-01", "--reason", "x", "--force"],
         "--force needs the full 32-character id"),
    ],
    ids=["bad-severity", "bad-subscription", "short-id-too-short", "unknown-short-id", "force-needs-full-id"],
)
def test_bad_input_names_the_flag(env, capsys, argv, message):
    code, out, err = cli(capsys, *argv)
    assert code == 2 and message in err, err


def test_dry_run_shows_the_configuration_warnings_of_a_real_run(azurite_env, tmp_path):
    """Item 7: EMAIL_TO with no email transport is said by --dry-run as by a real run."""
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "LANG": "C.UTF-8", **azurite_env,
           "EMAIL_TO": "platform@example.com"}
    warning = "EMAIL_TO is set but no email transport"
    outs = {}
    for mode in ("--dry-run", "--no-notify", None):
        argv = [sys.executable, "-m", "scanner", "scan", *SAMPLES, "--format", "json", *([mode] if mode else [])]
        outs[mode] = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
        assert outs[mode].returncode == 0, outs[mode].stderr
    assert warning in outs["--dry-run"].stderr
    assert warning in outs[None].stderr
    assert warning not in outs["--no-notify"].stderr  # nothing is sent: nothing to warn about


def test_stored_messages_count_the_days_as_of_today(env, capsys):
    """A finding first stored months ago kept "(in 1355 days)" in its message while the days-left
    column said 1077: `show`, `findings` (and the API and report page, which share the code) count
    again from today."""
    code, out, err = cli(capsys, "scan", *SAMPLES, "--today", "2026-03-01", "--format", "json")
    assert code == 0, err
    first = next(f for f in json.loads(out)["findings"]
                 if f["rule"] == "retiring-size" and f["retirement"]["retires_on"] == "2029-11-15")
    assert "(in 1355 days)" in first["message"]  # as judged on 2026-03-01

    today = datetime.now(timezone.utc).date()
    days = (datetime.fromisoformat("2029-11-15").date() - today).days
    code, out, err = cli(capsys, "findings", "--format", "json")
    assert code == 0, err
    shown = next(f for f in json.loads(out)["findings"] if f["id"] == first["id"])
    assert shown["retirement"]["days_left"] == days
    assert f"retires on 2029-11-15 (in {days} days)" in shown["message"]
    assert shown["message"].split("days)", 1)[1] == first["message"].split("days)", 1)[1]  # the rest as written

    code, out, err = cli(capsys, "show", first["id"][:8])
    assert code == 0, err
    assert f"(in {days} days)" in out and "(in 1355 days)" not in out


def test_a_stored_scan_points_to_show_and_show_answers(env, capsys):
    code, out, err = cli(capsys, "scan", *SAMPLES)
    assert code == 0, err
    assert "`show ID`" in out
    short = next(iter(table_rows(out)))
    code, out, err = cli(capsys, "show", short)
    assert code == 0 and "Commands:" in out, err


def test_findings_top_says_when_more_match(env, capsys):
    code, out, err = cli(capsys, "scan", *SAMPLES, "--format", "json")
    assert code == 0, err
    total = len(json.loads(out)["findings"])
    code, out, err = cli(capsys, "findings", "--top", "2")
    assert code == 0, err
    assert "(the first 2, --top 2; more match)" in out.splitlines()[0]
    assert "--top 2: more findings match" in err
    code, out, err = cli(capsys, "findings", "--top", "2", "--format", "json")
    assert json.loads(out)["count"] == 2 and "more findings match" in err  # the JSON itself unchanged
    code, out, err = cli(capsys, "findings", "--top", str(total))
    assert "more match" not in out and err == ""


def test_not_in_store_names_the_command_as_it_was_run(env):
    """ack said `python -m scanner scan` to users of the aks-retire command (show said aks-retire to both)."""
    import subprocess
    import sys

    as_script = "import sys; sys.argv[0] = 'aks-retire'; from scanner.cli import main; sys.exit(main(sys.argv[1:]))"
    for argv in (["ack", "zzzzzzzz", "--until", "2099-01-01", "--reason", "x"], ["show", "zzzzzzzz"]):
        out = subprocess.run([sys.executable, "-c", as_script, *argv], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert out.returncode == 2 and "run `aks-retire scan` first" in out.stderr, out.stderr
        out = subprocess.run([sys.executable, "-m", "scanner", *argv], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
        assert out.returncode == 2 and "run `python -m scanner scan` first" in out.stderr, out.stderr


def test_verbose_with_a_store_is_one_line_per_stage(env):
    """-v with a store printed azure-core's request and response headers for every table call
    (250+ lines, most of them not log lines at all); the README promises one line per stage."""
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "scanner", "scan", *SAMPLES, "-v"], capture_output=True, text=True,
                         cwd=ROOT, timeout=180)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.splitlines()
    assert "scanner.service: judge:" in out.stderr
    assert all(re.match(r"^(DEBUG|INFO|WARNING|ERROR|CRITICAL) [\w.]+: ", ln) for ln in lines), lines[:5]
    assert "Request headers" not in out.stderr and len(lines) < 40, len(lines)
