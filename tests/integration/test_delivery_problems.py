"""Undeliverable alerts are kept, retried and shown: a scan of the sample tenant (files) with
Azurite and a webhook receiver that answers 404 for two nights, then 202.

What a user sees each night: the scan JSON "errors", the CLI table, the stored run record and
the report page's "Delivery problems" box; the alert itself arrives exactly once, on night 3.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone

import pytest

from scanner import bootstrap
from scanner.api import report_page
from scanner.config import Settings
from scanner.core import schema as output
from scanner.core.judge import Thresholds
from scanner.notify import ScanNotifier, Transports
from scanner.service import ScanDeps, ScanOptions, ScanStore, run_scan
from tests.conftest import ROOT
from tests.fakes.azurite import unique_name
from tests.fakes.smtp_server import smtp_server
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration

T0 = datetime(2026, 11, 18, 2, 0, tzinfo=timezone.utc)
INVENTORY = str(ROOT / "samples" / "inventory")
SKUS = str(ROOT / "samples" / "skus")


class Tenant:
    """The sample tenant scanned night after night as the CLI does (store, notify, drain)."""

    def __init__(self, env: dict[str, str], **transport_kw) -> None:
        self.settings = Settings.from_env(env)
        self.table_store = bootstrap.storage(self.settings)
        self.now = T0
        self.notifier = ScanNotifier(self.settings, outbox=self.table_store.outbox, drain=True,
                                     transports=Transports(self.settings, **transport_kw), clock=lambda: self.now)

    def night(self, i: int):
        now = self.now = T0 + timedelta(days=i)
        s = self.settings
        deps = ScanDeps(load_catalog=bootstrap.catalog_loader(s, feed="", catalogs=["builtin"], extra_file=""),
                        load_inventory=bootstrap.inventory_loader(s, None, [INVENTORY]),
                        load_skus=bootstrap.sku_loader(s, [SKUS], offline=True),
                        store=ScanStore(self.table_store.findings, self.table_store.runs, source="cli"), notifier=self.notifier)
        options = ScanOptions(today=now.date(), thresholds=Thresholds.from_settings(s))
        return run_scan(deps, now, options), now

    def stored_errors(self, now: datetime) -> list[str]:
        runs = [r for r in self.table_store.runs.list_runs(T0 - timedelta(days=1)) if r["started"] == now]
        assert len(runs) == 1
        return runs[0]["errors"]


def _notify_errors(report) -> list[dict]:
    return [e for e in output.report_to_json(report)["errors"] if e["scope"].startswith("notify:")]


def test_a_404_webhook_is_shown_every_night_until_the_alert_goes_out_once(azurite_env):
    with webhook_receiver() as hook:
        # every finding goes to the OPS webhook: each sample subscription is routed there
        subs = {m.lower() for p in (ROOT / "samples" / "inventory").glob("*.json")
                for m in re.findall(r"/subscriptions/([0-9a-fA-F-]{36})", p.read_text())}
        routes = json.dumps({f"/subscriptions/{s}": {"teams": "TEAMS_WEBHOOK_OPS"} for s in sorted(subs)})
        env = {**azurite_env, "TEAMS_WEBHOOK_OPS": hook.url, "NOTIFY_QUEUE": unique_name("q"), "NOTIFY_ROUTES": routes}
        tenant = Tenant(env, teams_options={"backoff": 0.01, "attempts": 2, "max_wait": 0.05})
        hook.script([404, 404])

        seen = []
        for i in range(3):
            report, now = tenant.night(i)
            seen.append((report, now, tenant.stored_errors(now), output.render(report, "table"),
                         report_page(tenant.table_store, tenant.settings, now)))

    # one digest, delivered once; it may take several posts when it is long (33 findings: "(1 of 2)")
    statuses = [status for status, _ in hook.requests]
    assert statuses[:2] == [404, 404] and statuses[2:] and set(statuses[2:]) == {202}
    assert len(hook.posts) == len(statuses) - 2 and "new" in json.dumps(hook.posts[0])

    for i, (report, now, stored, table, html) in enumerate(seen[:2]):
        expected = {"scope": "notify:TEAMS_WEBHOOK_OPS",
                    "error": f"1 message(s) undeliverable since 2026-11-18: HTTP 404 "
                             f"(last tried {now.date().isoformat()})"}
        assert _notify_errors(report) == [expected], f"night {i + 1}"
        assert f"{expected['scope']}: {expected['error']}" in stored
        assert "Delivery problems (1" in table and expected["error"] in table
        assert "Not scanned" not in table  # a delivery problem is not a scope the scan missed
        assert 'id="delivery-problems"' in html and "TEAMS_WEBHOOK_OPS" in html and "HTTP 404" in html

    report, now, stored, table, html = seen[2]
    assert _notify_errors(report) == [] and not any(e.startswith("notify:") for e in stored)
    assert "Delivery problems" not in table and 'id="delivery-problems"' not in html

    everything = json.dumps([output.report_to_json(r) for r, *_ in seen]) + json.dumps([s for _, _, s, _, _ in seen]) \
        + "".join(t + h for *_, t, h in seen) + json.dumps([dict(e) for e in tenant.table_store.tables.table("notifications")
                                                          .list_entities()], default=str)
    for secret in (hook.sig, hook.path):
        assert secret not in everything


def test_wrong_smtp_password_names_the_recipients_and_keeps_each_attempt(azurite_env, tmp_path):
    with smtp_server(tmp_path, password="right-pw-K3") as smtp:
        env = {**azurite_env, "NOTIFY_QUEUE": unique_name("q"), "EMAIL_TO": "Platform@example.com,ops@example.com",
               "EMAIL_FROM": "scanner@example.com", "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port),
               "SMTP_USERNAME": "scanner", "SMTP_PASSWORD": "wrong-pw-Z9"}
        tenant = Tenant(env, smtp_options={"ssl_context": smtp.client_context()})
        first, _ = tenant.night(0)
        second, now = tenant.night(1)
    (err,) = _notify_errors(second)
    assert err["scope"] == "notify:email:ops@example.com,platform@example.com"
    assert err["error"] == "1 message(s) undeliverable since 2026-11-18: SMTP 535 (last tried 2026-11-19)"
    assert _notify_errors(first)[0]["error"].endswith("(last tried 2026-11-18)")
    (header,) = [dict(e) for e in tenant.table_store.outbox.table.query_entities("PartitionKey eq 'message'")]
    assert (header["status"], header["failures"], header["attempts"], header["last_status"]) == ("failed", 2, 2, 535)
    assert header["first_failed_at"] < header["failed_at"]
    assert "wrong-pw-Z9" not in json.dumps(header, default=str) + json.dumps(tenant.stored_errors(now))
