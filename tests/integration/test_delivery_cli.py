"""`python -m scanner scan` on the sample tenant, with Azurite and a webhook receiver: the CLI path."""

from __future__ import annotations

import json

import pytest

from scanner import cli
from tests.conftest import ROOT
from tests.fakes.azurite import unique_name
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration


def scan(tmp_path, *extra) -> dict:
    out = tmp_path / f"scan-{unique_name('o')}.json"
    rc = cli.main(["scan", "--inventory", str(ROOT / "samples" / "inventory"), "--skus", str(ROOT / "samples" / "skus"),
                   "--today", "2026-03-01", "--format", "json", "--output", str(out), *extra])
    assert rc == 0
    return json.loads(out.read_text(encoding="utf-8"))


def test_scan_command_notifies_once_and_dry_run_shows_messages(tmp_path, monkeypatch, azurite_env):
    with webhook_receiver() as hook:
        for k, v in {**azurite_env, "TEAMS_WEBHOOK_URL": hook.url, "NOTIFY_QUEUE": unique_name("q")}.items():
            monkeypatch.setenv(k, v)
        preview = scan(tmp_path, "--dry-run")
        (msg,) = preview["notifications"]
        assert msg["channel"] == "teams" and msg["teams_posts"] and hook.requests == []
        assert "notifications" not in scan(tmp_path, "--no-notify") and hook.requests == []
        first = scan(tmp_path)
        (sent,) = first["notifications"]
        assert sent["counts"]["new"] == sent["findings"] == msg["counts"]["new"]
        # one message for the recipient set (a long digest is split into a few cards, each posted once)
        assert len(hook.posts) == len(msg["teams_posts"]) >= 1
        posted = len(hook.posts)
        assert "notifications" not in scan(tmp_path) and len(hook.posts) == posted  # identical next scan: nothing
        assert hook.sig not in json.dumps(first)
