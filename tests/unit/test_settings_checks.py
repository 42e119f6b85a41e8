"""Settings a user gets wrong and must hear about at start (issue 15, items 11 and 12)."""

from __future__ import annotations

import json

import pytest

from notifiers.teams import mask_url
from scanner.config import Settings
from scanner.errors import ConfigError

SIG = "sig=TOPSECRET-SIG"
HOSTS = {
    "power-platform": "https://default0123abcd.4a.environment.api.powerplatform.com:443/powerautomate/automations/"
                      f"direct/workflows/b950a561/triggers/manual/paths/invoke?api-version=1&sv=1.0&{SIG}",
    "logic-apps": f"https://prod-00.westeurope.logic.azure.com:443/workflows/abc/triggers/manual/paths/invoke?{SIG}",
}


@pytest.mark.parametrize("url", HOSTS.values(), ids=HOSTS.keys())
def test_both_teams_workflows_hosts_are_accepted_and_never_shown(url):
    s = Settings.from_env({"TEAMS_WEBHOOK_URL": url, "TEAMS_WEBHOOK_OPS": url})
    assert s.teams_webhook_url.reveal() == url and s.webhook("TEAMS_WEBHOOK_OPS").reveal() == url
    assert "TOPSECRET" not in repr(s) and "TOPSECRET" not in mask_url(url)
    assert mask_url(url).endswith("/***") and "workflows" not in mask_url(url)


@pytest.mark.parametrize(("port", "ok"), [("1", True), ("587", True), ("65535", True), ("0", False),
                                          ("65536", False), ("70000", False)])
def test_smtp_port_is_a_tcp_port(port, ok):
    if ok:
        assert Settings.from_env({"SMTP_PORT": port}).smtp_port == int(port)
    else:
        with pytest.raises(ConfigError, match="SMTP_PORT"):
            Settings.from_env({"SMTP_PORT": port})


def test_notify_routes_naming_an_unset_webhook_setting_is_refused():
    routes = json.dumps({"/subscriptions/00000000-0000-0000-0000-000000000001": {"teams": "TEAMS_WEBHOOK_PAYMENTS"}})
    with pytest.raises(ConfigError) as exc:
        Settings.from_env({"NOTIFY_ROUTES": routes})
    assert "names TEAMS_WEBHOOK_PAYMENTS, which is not set" in str(exc.value)
    s = Settings.from_env({"NOTIFY_ROUTES": routes, "TEAMS_WEBHOOK_PAYMENTS": HOSTS["power-platform"]})
    assert s.routes
