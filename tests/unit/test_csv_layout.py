"""One CSV layout, one writer: `scan --format csv`, the email attachment and GET /api/findings
(tests/functions/test_http.py) give the same columns, and the same row for the same finding."""

from __future__ import annotations

import csv
import email
import email.policy
import io

from notifiers.mail import email_message
from notifiers.render import build_messages
from scanner import cli
from scanner.config import Settings
from scanner.core.model import Change
from scanner.core.schema import CSV_COLUMNS
from tests.conftest import ROOT
from tests.unit.test_email_text import NOW, sample_findings

ORIGINAL_18 = ["severity", "days_left", "rule", "kind", "subscription_id", "resource_group", "location", "name",
               "pool", "vm_size", "retires_on", "retirement_id", "replacement", "alternatives", "restricted", "id",
               "resource_id", "message"]


def cli_csv(capsys) -> str:
    rc = cli.main(["scan", "--inventory", str(ROOT / "samples" / "inventory"), "--skus", str(ROOT / "samples" / "skus"),
                   "--today", "2026-09-10", "--format", "csv", "--no-store", "--no-notify"])
    assert rc == 0
    return capsys.readouterr().out


def attachment_csv() -> str:
    findings = sample_findings()
    settings = Settings.from_env({"EMAIL_TO": "platform@example.com"})
    (msg,) = build_messages([Change("new", f) for f in findings], {}, settings, NOW).messages
    parsed = email.message_from_bytes(bytes(email_message(msg, "s@example.com")), policy=email.policy.default)
    (att,) = list(parsed.iter_attachments())
    content = att.get_content()
    return content if isinstance(content, str) else content.decode("utf-8")


def test_cli_and_email_attachment_share_columns_and_rows(capsys):
    cli_rows = list(csv.DictReader(io.StringIO(cli_csv(capsys))))
    mail_rows = list(csv.DictReader(io.StringIO(attachment_csv())))
    assert list(cli_rows[0]) == list(mail_rows[0]) == CSV_COLUMNS
    by_id = {r["id"]: r for r in cli_rows}
    assert sorted(by_id) == sorted(r["id"] for r in mail_rows)
    for row in mail_rows:
        assert row == by_id[row["id"]], row["id"]
    # Commands keep their quoting in the cell, one per line.
    vmss = next(r for r in cli_rows if r["kind"] == "vmss" and r["commands"])
    assert "--instance-ids '*'" in vmss["commands"].splitlines()[-1]


def test_the_original_scan_columns_keep_their_places():
    """CSV columns are a contract: new ones are appended, never inserted."""
    assert CSV_COLUMNS[: len(ORIGINAL_18)] == ORIGINAL_18
