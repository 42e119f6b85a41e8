"""Faults replayed as a user meets them: `python -m scanner scan` as its own process against the
fake ARM over HTTPS, Azurite, the webhook receiver and the feed server (the deployment of
tests/integration/test_end_to_end_live.py). Each row counts what a user would notice.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import ROOT
from tests.fakes.azurite import unique_name
from tests.integration.test_end_to_end_live import SMTP_PASSWORD, TODAY
from tests.integration.test_end_to_end_live import live as live  # noqa: F401 - the deployment fixture

pytestmark = pytest.mark.integration


def run(deployment, *args: str, env: dict | None = None, today: str = TODAY) -> tuple[int, dict | None, str]:
    out = deployment.tmp_path / f"{unique_name('scan')}.json"
    proc = subprocess.run([sys.executable, "-m", "scanner", "scan", "--today", today, "--format", "json",
                           "--output", str(out), *args], cwd=ROOT, env=env or deployment.env, capture_output=True,
                          text=True, timeout=120)
    deployment.outputs += [proc.stdout, proc.stderr]
    doc = json.loads(out.read_text(encoding="utf-8")) if out.exists() and out.stat().st_size else None
    if doc is not None:
        deployment.outputs.append(json.dumps(doc))
    return proc.returncode, doc, proc.stderr


def leaked(deployment, fake, hook) -> int:
    text = "\n".join(deployment.outputs)
    return sum(1 for s in (hook.url, hook.sig, SMTP_PASSWORD, fake.token, fake.identity_header) if s in text)


def test_two_scans_at_once_tell_once(live, fault_ledger):  # noqa: F811
    deployment, fake, hook, smtp, _ = live
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: run(deployment), range(2)))
    codes = [rc for rc, _, _ in results]
    unexpected = sum(1 for rc in codes if rc not in (0, 3))
    posts, mails = len(hook.posts), len(smtp.messages)
    secrets = leaked(deployment, fake, hook)
    fault_ledger.record("cli: two scans at once on a fresh store", messages_duplicated=max(0, posts - 1) + max(0, mails - 1),
                        messages_lost=int(posts == 0) + int(mails == 0), unexpected_exits=unexpected,
                        secrets_leaked=secrets)
    assert (unexpected, posts, mails, secrets) == (0, 1, 1, 0), [r[2][-400:] for r in results]


def test_arg_429_longer_than_a_scan_waits_ends_fast_and_resolves_nothing(live, fault_ledger):  # noqa: F811
    deployment, fake, hook, _smtp, _ = live
    rc, first, err = run(deployment)
    assert rc == 0, err
    fake.failures = [(429, {"Retry-After": "3600"})] * 50
    started = time.monotonic()
    rc, second, err = run(deployment)
    took = time.monotonic() - started
    fake.failures = []
    resolved = second["summary"]["changes"]["resolved"] if second else 0
    # Findings not read tonight stay open in the store (not in tonight's list): the next whole read
    # must find every one of them open, none new again.
    rc3, third, err3 = run(deployment)
    assert rc3 == 0, err3
    lost = third["summary"]["changes"]["new"] + len({f["id"] for f in first["findings"]}
                                                   - {f["id"] for f in third["findings"] if f["status"] == "open"})
    fault_ledger.record("cli: Resource Graph 429 with Retry-After 3600 s", false_resolutions=resolved,
                        findings_lost=lost, unexpected_exits=int(rc not in (0, 3)),
                        messages_duplicated=max(0, len(hook.posts) - 1), secrets_leaked=leaked(deployment, fake, hook))
    assert rc in (0, 3) and resolved == 0 and lost == 0 and len(hook.posts) == 1, err[-800:]
    assert any("3600" in e["error"] for e in second["errors"]), second["errors"]
    assert took < 60


def test_token_endpoint_down_is_a_named_error_not_a_false_all_clear(live, fault_ledger):  # noqa: F811
    deployment, fake, hook, _smtp, _ = live
    rc, first, err = run(deployment)
    assert rc == 0, err
    env = {**deployment.env, "IDENTITY_ENDPOINT": "http://127.0.0.1:9/msi/token"}
    rc, second, err = run(deployment, env=env)
    resolved = second["summary"]["changes"]["resolved"] if second else 0
    fault_ledger.record("cli: the managed-identity endpoint is down", false_resolutions=resolved,
                        unexpected_exits=int(rc == 1 or "Traceback" in err),
                        messages_duplicated=max(0, len(hook.posts) - 1), secrets_leaked=leaked(deployment, fake, hook))
    assert resolved == 0 and len(hook.posts) == 1 and "Traceback" not in err, err[-800:]
    assert rc == 2 and "no azure credential could get a token" in err.lower(), (rc, err[-800:])
    assert leaked(deployment, fake, hook) == 0


def test_a_scan_dated_the_day_before_tells_nothing(live, fault_ledger):  # noqa: F811
    deployment, fake, hook, smtp, _ = live
    rc, first, err = run(deployment)
    assert rc == 0, err
    rc, back, err = run(deployment, today="2026-07-31")
    changes = back["summary"]["changes"] if back else {}
    fault_ledger.record("cli: a scan dated the day before the last one", false_resolutions=changes.get("resolved", 0),
                        messages_duplicated=max(0, len(hook.posts) - 1) + max(0, len(smtp.messages) - 1),
                        unexpected_exits=int(rc not in (0, 3)), secrets_leaked=leaked(deployment, fake, hook))
    assert rc in (0, 3) and changes.get("resolved") == 0 and changes.get("new") == 0, err[-800:]
    assert len(hook.posts) == 1 and len(smtp.messages) == 1
