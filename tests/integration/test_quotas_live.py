"""vCPU usages: fetch_quotas against the fake ARM over HTTPS through the real ARM pipeline client
(managed identity token, retries, the shared connection pool), and `--quotas DIR` exports."""

from __future__ import annotations

import json

import pytest

from scanner import bootstrap
from scanner.config import Settings
from scanner.core.headroom import ANY_SUBSCRIPTION
from scanner.core.model import ScopeKind
from scanner.errors import InputError
from scanner.sources.quotas import USAGES_API_VERSION, fetch_quotas, load_quota_dir, parse_usages
from tests.fakes.arm_server import FakeArm, usage_row

pytestmark = pytest.mark.integration

SUB_A = "11111111-1111-4111-8111-111111111111"
SUB_B = "22222222-2222-4222-8222-222222222222"
SUB_DENIED = "33333333-3333-4333-8333-333333333333"

ROWS = [
    usage_row("availabilitySets", 0, 2500, "Availability Sets"),
    usage_row("cores", 29, 100, "Total Regional vCPUs"),
    usage_row("virtualMachines", 7, 25000, "Virtual Machines"),
    usage_row("standardDSv3Family", 8, 8, "Standard DSv3 Family vCPUs"),
    usage_row("standardDSv5Family", 16, 100, "Standard DSv5 Family vCPUs"),
    {"limit": 0, "unit": "Count", "currentValue": 0, "name": {}},  # the schema allows an empty name
    usage_row("standardFSv2Family", 0, 0, "Standard FSv2 Family vCPUs"),
]


def _fake() -> FakeArm:
    fake = FakeArm()
    for sub in (SUB_A, SUB_B, SUB_DENIED):
        fake.add_subscription(sub)
    fake.usages[(SUB_A, "westeurope")] = ROWS
    fake.usages[(SUB_A, "eastus")] = ROWS[:3]
    fake.usages[(SUB_B, "westeurope")] = ROWS[:2]
    fake.usages_forbidden.add(SUB_DENIED)
    return fake


def fetch(fake, tmp_path, pairs):
    bootstrap.reset()
    with fake.running(tmp_path) as env:
        try:
            return fetch_quotas(Settings.from_env(env), pairs)
        finally:
            bootstrap.reset()


def test_each_pair_read_once_concurrently_following_next_links(tmp_path):
    fake = _fake()
    pairs = [(SUB_A, "westeurope"), (SUB_A.upper(), "West Europe"), (SUB_A, "eastus"), (SUB_B, "westeurope")]

    book, errors = fetch(fake, tmp_path, pairs)

    assert errors == []
    calls = fake.requests_to("/usages")
    assert all(c.query["api-version"] == USAGES_API_VERSION and c.status == 200 for c in calls)
    firsts = sorted((c.path.split("/")[2], c.path.split("/")[6]) for c in calls if "$skiptoken" not in c.query)
    assert firsts == [(SUB_A, "eastus"), (SUB_A, "westeurope"), (SUB_B, "westeurope")]
    assert len(calls) == 3 + 1 + 1  # 7 rows at 3 a page, then one page each
    assert book.requests == len(calls)
    h = book.headroom(SUB_A, "westeurope", "standardDSv3Family", 4, 2)
    assert (h.family_used, h.family_limit, h.regional_used, h.regional_limit) == (8, 8, 29, 100)
    assert not h.fits and h.at_ceiling
    assert book.headroom(SUB_A, "westeurope", "standarddsv5family", 4, 2).fits  # join ignores case
    assert book.headroom(SUB_B, "westeurope", "standardDSv5Family", 4, 2) is None  # no row: unknown


def test_a_denied_subscription_is_a_quota_error_for_that_pair_only(tmp_path):
    book, errors = fetch(_fake(), tmp_path, [(SUB_A, "westeurope"), (SUB_DENIED, "westeurope")])
    (e,) = errors
    assert (e.kind, e.subscription, e.region) == (ScopeKind.QUOTA, SUB_DENIED, "westeurope")
    assert "HTTP 403" in e.detail and "quota checks skipped" in e.detail
    assert book.has_region(SUB_A, "westeurope") and not book.has_region(SUB_DENIED, "westeurope")


def test_next_link_to_another_host_is_refused_without_sending_the_token(tmp_path):
    fake = _fake()
    fake.usages_next_host = "attacker.invalid"
    book, errors = fetch(fake, tmp_path, [(SUB_A, "westeurope")])
    (e,) = errors
    assert "another host" in e.detail and "attacker.invalid" in e.detail
    assert len(fake.requests_to("/usages")) == 1


def test_cli_exports_with_strings_per_subscription_and_for_everyone(tmp_path):
    cli = [{"currentValue": str(r["currentValue"]), "limit": str(r["limit"]), "localName": r["name"].get("localizedValue", ""),
            "name": r["name"], "unit": "Count"} for r in ROWS]
    (tmp_path / SUB_A).mkdir()
    (tmp_path / SUB_A / "westeurope.json").write_text(json.dumps(cli))
    (tmp_path / "northeurope.json").write_text(json.dumps({"value": ROWS[:2]}))  # REST page, any subscription
    book = load_quota_dir(str(tmp_path))
    assert book.headroom(SUB_A, "westeurope", "standardDSv3Family", 4, 1).family_limit == 8
    assert book.has_region(SUB_B, "northeurope") and (ANY_SUBSCRIPTION, "northeurope") in book.scopes()
    assert not book.has_region(SUB_B, "westeurope")


@pytest.mark.parametrize(("doc", "message"), [
    ({"values": []}, "without 'value'"),
    ([{"name": {"value": "cores"}, "currentValue": "29", "limit": "lots"}], "row 0 (cores): limit 'lots'"),
    ([{"name": {"value": "cores"}, "limit": 5}], "missing field currentValue"),
    ("cores", "got str"),
])
def test_bad_exports_name_the_file_row_and_field(tmp_path, doc, message):
    (tmp_path / "westeurope.json").write_text(json.dumps(doc))
    with pytest.raises(InputError, match="westeurope.json") as err:
        load_quota_dir(str(tmp_path))
    assert message in str(err.value)


def test_unnamed_rows_are_counted_and_named_not_dropped_silently():
    rows, skipped = parse_usages(ROWS, "x")
    assert len(rows) == len(ROWS) - 1 and skipped == ["x row 5: no name.value (unnamed)"]
