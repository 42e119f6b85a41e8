"""Command-line behaviour a user meets first (issue 15, items 5, 6, 12): -v after the command,
a live scan without credentials says why at once, CATALOG_EXTRA_FILE and unreadable --feed files,
case-blind --format, readable catalogue lines, feed warnings said once."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time

import pytest

from scanner.cli import main
from tests.conftest import ROOT

SAMPLES = ["--inventory", str(ROOT / "samples" / "inventory"), "--skus", str(ROOT / "samples" / "skus")]
EXTRA = """
[[retirement]]
id = "contoso-dpsv5-2027-01-31"
title = "Dpsv5 leaves the approved size list"
sizes = ["Standard_D4ps_v5"]
retires_on = 2027-01-31
urls = ["https://wiki.example.test/platform/arm-sizes"]
"""


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture
def clean_env(monkeypatch):
    for k in ("CATALOG_EXTRA_FILE", "AzureWebJobsStorage", "STORAGE_TABLE_ENDPOINT", "EMAIL_TO", "TEAMS_WEBHOOK_URL",
              "NOTIFY_DIR", "SEVERITY_CRITICAL_DAYS", "SEVERITY_HIGH_DAYS", "SEVERITY_MEDIUM_DAYS"):
        monkeypatch.delenv(k, raising=False)
    return monkeypatch


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2/azure"


def subprocess_env(**extra) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8", **extra}


# --------------------------------------------------------------------------- item 5


def test_verbose_works_after_the_command_too():
    cmd = [sys.executable, "-m", "scanner", "scan", *SAMPLES, "--no-store", "--today", "2026-09-10"]
    before = subprocess.run([*cmd[:3], "-v", *cmd[3:]], capture_output=True, text=True, cwd=ROOT,
                            env=subprocess_env(), timeout=120)
    after = subprocess.run([*cmd, "-v"], capture_output=True, text=True, cwd=ROOT, env=subprocess_env(), timeout=120)
    quiet = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=subprocess_env(), timeout=120)
    assert before.returncode == after.returncode == quiet.returncode == 0
    assert "scanner.service: inventory: 13 node pools in 4 clusters" in after.stderr
    assert [ln for ln in after.stderr.splitlines() if "scanner.service" in ln] == \
        [ln for ln in before.stderr.splitlines() if "scanner.service" in ln]
    assert "scanner.service" not in quiet.stderr


def test_live_scan_without_credentials_says_the_cause_at_once(tmp_path):
    """No az on PATH, no identity: exit 2 within seconds naming the Azure CLI, before any feed
    retry (the feed URL is a closed port that would cost 30 s of retries)."""
    url = dead_url()
    env = subprocess_env(HOME=str(tmp_path), AZURE_TOKEN_CREDENTIALS="dev", FEED_URL=url,
                         FEED_FALLBACK_URL=url + "/rss")
    start = time.monotonic()
    out = subprocess.run([sys.executable, "-m", "scanner", "scan", "--no-store", "--scope",
                          "sub:00000000-0000-0000-0000-000000000001"], capture_output=True, text=True, cwd=ROOT,
                         env=env, timeout=120)
    elapsed = time.monotonic() - start
    assert out.returncode == 2, out.stderr
    assert "no Azure credential could get a token" in out.stderr
    assert "AzureCliCredential: Azure CLI not found" in out.stderr
    assert "feed" not in out.stderr.lower() and elapsed < 20, (elapsed, out.stderr)


# --------------------------------------------------------------------------- item 6


def test_catalog_extra_file_is_honoured_by_scan_and_catalog(capsys, clean_env, tmp_path):
    extra = tmp_path / "extra.toml"
    extra.write_text(EXTRA, encoding="utf-8")
    clean_env.setenv("CATALOG_EXTRA_FILE", str(extra))
    code, out, err = run(capsys, "scan", *SAMPLES, "--no-store", "--format", "json", "--today", "2026-09-10")
    assert code == 0, err
    hits = [f for f in json.loads(out)["findings"] if f["retirement"] and f["retirement"]["source"] == "extra"]
    assert [f["vm_size"] for f in hits] == ["Standard_D4ps_v5"]
    code, out, err = run(capsys, "catalog", "--format", "json")
    assert code == 0 and "contoso-dpsv5-2027-01-31" in {r["id"] for r in json.loads(out)["retirements"]}


@pytest.mark.parametrize("command", ["scan", "catalog"])
def test_missing_catalog_extra_file_is_exit_2_naming_it(capsys, clean_env, tmp_path, command):
    missing = tmp_path / "nope.toml"
    clean_env.setenv("CATALOG_EXTRA_FILE", str(missing))
    argv = [command, *SAMPLES, "--no-store"] if command == "scan" else [command]
    code, out, err = run(capsys, *argv)
    assert code == 2 and f"CATALOG_EXTRA_FILE '{missing}'" in err and out == ""


@pytest.mark.parametrize("command", ["scan", "catalog"])
def test_unreadable_feed_file_is_exit_2(capsys, clean_env, tmp_path, command):
    missing = tmp_path / "feed.json"
    argv = [command, "--feed", str(missing)] + ([*SAMPLES, "--no-store"] if command == "scan" else [])
    code, out, err = run(capsys, *argv)
    assert code == 2 and f"--feed: {missing}: no such file" in err and out == ""
    if os.geteuid() != 0:  # root reads anything
        missing.write_text("{}")
        missing.chmod(0)
        code, out, err = run(capsys, *argv)
        assert code == 2 and "cannot read it" in err


@pytest.mark.parametrize("command", ["scan", "catalog"])
@pytest.mark.parametrize("body", [b'{"foo": 1}', b"\xff\xfe garbage", b"", b"# notes\n"],
                         ids=["json-without-value", "binary", "empty", "markdown"])
def test_feed_file_that_is_not_a_feed_is_exit_2_naming_it(capsys, clean_env, tmp_path, command, body):
    """A --feed FILE the user named but that is no Azure Updates JSON/RSS used to warn and exit 0,
    scanning without the feed as if all were well."""
    feed = tmp_path / "feed.json"
    feed.write_bytes(body)
    argv = [command, "--feed", str(feed)] + ([*SAMPLES, "--no-store"] if command == "scan" else [])
    code, out, err = run(capsys, *argv)
    assert code == 2, err
    assert f"--feed: {feed}: not an Azure Updates feed file" in err and out == ""


def test_a_real_feed_file_is_still_read(capsys, clean_env):
    feed = ROOT / "tests" / "fixtures" / "feed" / "api-v2-retirements-2025-08-to-2026-08.json"
    code, out, err = run(capsys, "catalog", "--feed", str(feed), "--format", "json", "--today", "2026-09-10")
    assert code == 0, err
    assert json.loads(out)["errors"] == []


# --------------------------------------------------------------------------- item 12


@pytest.mark.parametrize("argv", [["scan", *SAMPLES, "--no-store", "--format", "JSON"],
                                  ["catalog", "--format", "Json"]], ids=["scan", "catalog"])
def test_format_is_case_blind(capsys, clean_env, argv):
    code, out, err = run(capsys, *argv)
    assert code == 0, err
    assert json.loads(out)["schema"].startswith("retirement-")


def test_catalog_table_lines_stay_readable(capsys, clean_env):
    code, out, _ = run(capsys, "catalog")
    assert code == 0
    assert max(len(line) for line in out.splitlines()) <= 240
    assert "(+1 more)" in out  # entries with several sources say so; --format json has them all


def test_feed_warnings_are_said_once():
    """In a real process (where the feed reader's log reaches stderr too)."""
    out = subprocess.run([sys.executable, "-m", "scanner", "catalog", "--feed", dead_url(), "--retries", "0"],
                         capture_output=True, text=True, cwd=ROOT, env=subprocess_env(), timeout=120)
    assert out.returncode == 0
    assert out.stderr.count("ConnectionError") == 1, out.stderr
    assert "printing the catalogue without it" in out.stderr


def test_one_pool_with_two_rules_prints_one_rebuild_in_markdown(capsys, clean_env):
    code, out, _ = run(capsys, "scan", *SAMPLES, "--no-store", "--format", "markdown", "--today", "2026-09-10")
    assert code == 0
    blocks = out.split("```bash\n")[1:]
    bodies = [b.split("```", 1)[0] for b in blocks]
    assert len(bodies) == len(set(bodies)), "the same commands are printed twice"
    assert out.count("Same commands as the ") >= 2 and "finding above: one rebuild fixes both" in out


def test_no_store_scan_does_not_point_to_show(capsys, clean_env):
    """`show ID` reads the store: after --no-store it could only answer "no store configured"."""
    code, out, err = run(capsys, "scan", *SAMPLES, "--no-store")
    assert code == 0, err
    assert "show ID" not in out and "--format markdown or --format json" in out.splitlines()[-1]
