"""The digest email's plain-text part keeps every command exactly as the scan JSON prints it.

The text part is what people copy into a shell: HTML escaping there turned `--instance-ids '*'`
into `--instance-ids &#39;*&#39;` (bash backgrounds the command at the `&`). The sample tenant is
scanned in-process, every finding is told as new, the .eml is parsed back with `email`, and each
finding's commands are compared with the JSON's.
"""

from __future__ import annotations

import email
import email.policy
from datetime import date, datetime, timezone

from notifiers.mail import email_message
from notifiers.render import build_messages
from scanner import bootstrap
from scanner.config import Settings
from scanner.core.model import Change
from scanner.core.schema import finding_to_json
from scanner.service import ScanDeps, ScanOptions, run_scan
from tests.conftest import ROOT

NOW = datetime(2026, 9, 10, 2, 0, tzinfo=timezone.utc)


def sample_findings():
    settings = Settings.from_env({})
    deps = ScanDeps(
        load_catalog=bootstrap.catalog_loader(settings, feed="", catalogs=["builtin"], extra_file=""),
        load_inventory=bootstrap.inventory_loader(settings, None, [str(ROOT / "samples" / "inventory")]),
        load_skus=bootstrap.sku_loader(settings, [str(ROOT / "samples" / "skus")], offline=True),
    )
    return run_scan(deps, NOW, ScanOptions(today=date(2026, 9, 10))).findings


def test_text_part_commands_match_the_json_byte_for_byte():
    findings = sample_findings()
    settings = Settings.from_env({"EMAIL_TO": "platform@example.com"})
    (msg,) = build_messages([Change("new", f) for f in findings], {}, settings, NOW).messages
    parsed = email.message_from_bytes(bytes(email_message(msg, "scanner@example.com")), policy=email.policy.default)
    text = parsed.get_body(preferencelist=("plain",)).get_content()
    html = parsed.get_body(preferencelist=("html",)).get_content()

    commands = [c for f in findings for c in finding_to_json(f)["commands"]]
    quoted = [c for c in commands if "'" in c or ">" in c or "&" in c or '"' in c]
    assert quoted, "the sample tenant should produce a command with shell quoting (vmss --instance-ids '*')"
    lines = {line.strip() for line in text.splitlines()}
    missing = [c for c in commands if c not in lines]
    assert not missing, f"{len(missing)} command(s) differ in the text part, e.g. {missing[0]!r}"
    for entity in ("&#39;", "&#x27;", "&gt;", "&lt;", "&amp;", "&quot;"):
        assert entity not in text, f"the text part carries the HTML entity {entity}"
    # The HTML part is still escaped (a command with a quote shows as an entity there).
    assert "&#39;*&#39;" in html or "&#x27;*&#x27;" in html


def test_one_pool_with_two_rules_gets_one_rebuild_in_the_email():
    findings = sample_findings()
    settings = Settings.from_env({"EMAIL_TO": "platform@example.com"})
    (msg,) = build_messages([Change("new", f) for f in findings], {}, settings, NOW).messages
    blocks = msg.text.split("    Commands:\n")[1:]
    firsts = [b.splitlines()[0].strip() for b in blocks]  # the first command of each block
    assert len(firsts) == len(set(firsts)), "the same rebuild is printed twice"
    assert "Commands: the same as the " in msg.text
