"""`make demo` runs the app's path on the sample tenant: a clean demo-output/, stored in Azurite,
the Teams card and the email written to a folder, the scan JSON and the report page written, and
a second run in the same invocation that finds nothing new and sends nothing (else exit 1)."""

from __future__ import annotations

import dataclasses
import email
import json
import re

import pytest

from scanner import demo

pytestmark = pytest.mark.integration


def test_demo_writes_every_output_and_its_second_run_is_quiet(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "OUT", tmp_path)
    stale = tmp_path / "notifications" / "left-over-from-last-time.eml"
    stale.parent.mkdir(parents=True)
    stale.write_text("old", encoding="utf-8")

    assert demo.main(["--today", "2026-03-01"]) == 0
    err = capsys.readouterr().err
    new = int(re.search(r"stored in Azurite .*: (\d+) new, 0 unchanged", err).group(1))
    assert new > 0, "a clean start stores every finding as new"
    assert f"second run: 0 new findings, {new} unchanged, 0 messages rendered, 0 sent" in err
    assert not stale.exists(), "each demo starts from a clean demo-output/"

    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "aks-ml-weu" in page

    scan = json.loads((tmp_path / "scan.json").read_text(encoding="utf-8"))
    assert scan["schema"] == "retirement-scan/v1"
    assert len(scan["findings"]) == new

    cards = list((tmp_path / "notifications").glob("*.teams.json"))
    emails = list((tmp_path / "notifications").glob("*.eml"))
    assert len(cards) == 1 and len(emails) == 1, sorted(p.name for p in (tmp_path / "notifications").iterdir())
    card = json.loads(cards[0].read_text(encoding="utf-8"))
    assert card["recipient"] == "TEAMS_WEBHOOK_URL", "the file names the setting, never the URL"
    assert demo.DEMO_TEAMS_WEBHOOK_URL not in cards[0].read_text(encoding="utf-8")
    body = card["posts"][0]["attachments"][0]
    assert body["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert "aks-ml-weu" in json.dumps(body)
    mail = email.message_from_bytes(emails[0].read_bytes())
    assert mail["To"] == "platform-team@example.com"
    assert f"{new} new" in " ".join(mail["Subject"].split())


def test_demo_fails_its_self_check_when_the_second_run_is_not_quiet(tmp_path, monkeypatch, capsys):
    """A VM deleted between the two runs resolves findings: the second run is not quiet -> exit 1."""
    monkeypatch.setattr(demo, "OUT", tmp_path)
    real_build = demo.build_deps

    def build_deps(paths):
        deps = real_build(paths)
        load, calls = deps.load_inventory, []

        def load_inventory():
            calls.append(1)
            inv = load()
            return inv if len(calls) == 1 else dataclasses.replace(inv, vms=())

        deps.load_inventory = load_inventory
        return deps

    monkeypatch.setattr(demo, "build_deps", build_deps)
    assert demo.main(["--today", "2026-03-01"]) == 1
    err = capsys.readouterr().err
    assert "FAILED self-check" in err and re.search(r"\d+ resolved", err.split("FAILED self-check")[1])


def test_demo_fails_loudly_when_azurite_cannot_start(tmp_path, monkeypatch, capsys):
    """Issue 15, item 9: no quiet exit 0 with an empty demo-output/."""
    from scanner.devtools import azurite

    monkeypatch.setattr(demo, "OUT", tmp_path)
    monkeypatch.setattr(azurite, "DEFAULT_BINARY", tmp_path / "no-azurite-here")
    (tmp_path / "report.html").write_text("stale page from an earlier run", encoding="utf-8")
    assert demo.main(["--today", "2026-03-01"]) == 1
    err = capsys.readouterr().err
    assert "demo: FAILED: Azurite (the storage emulator) could not start" in err and "make node" in err
    assert list(tmp_path.iterdir()) == [], "nothing stale is left to look like this run's output"


def test_demo_no_store_clears_stale_outputs_and_says_what_ran(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "OUT", tmp_path)
    (tmp_path / "notifications").mkdir()
    (tmp_path / "notifications" / "old.eml").write_text("old", encoding="utf-8")
    (tmp_path / "scan.json").write_text("{}", encoding="utf-8")
    assert demo.main(["--today", "2026-03-01", "--no-store", "--format", "JSON"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["schema"] == "retirement-scan/v1"
    assert "--no-store: scanned only; nothing stored or written" in err
    assert list(tmp_path.iterdir()) == []


def test_demo_bad_today_names_the_flag(capsys):
    with pytest.raises(SystemExit) as exc:
        demo.main(["--today", "bad"])
    assert exc.value.code == 2
    assert "--today: 'bad' is not a date (YYYY-MM-DD, e.g. 2026-03-01)" in capsys.readouterr().err
