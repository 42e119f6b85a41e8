"""collect_inventory against a fake ARM over HTTPS on loopback, through the real SDK clients.

DefaultAzureCredential gets its token from the fake App Service identity endpoint; the
ResourceGraphClient and the subscriptions listing talk HTTPS to the fake, which trusts nothing but
its own certificate (REQUESTS_CA_BUNDLE, set only while the fake runs).
"""

from __future__ import annotations

import json
import logging
import time

import pytest

from scanner import bootstrap
from scanner.config import Settings, parse_scope
from scanner.errors import AzureReadError
from scanner.sources.resource_graph import collect_inventory, load_inventory_files
from tests.conftest import FIXTURES
from tests.fakes.arm_server import FakeArm, cluster_row, sub_id, synthetic_tenant

pytestmark = pytest.mark.integration


class Sleeper:
    """Real sleep that remembers what it was asked for."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(seconds)


def scan(fake: FakeArm, tmp_path, scope: str = "tenant", extra_env: dict | None = None, sleep=None):
    bootstrap.reset()
    with fake.running(tmp_path) as env:
        settings = Settings.from_env({**env, **(extra_env or {})})
        try:
            return collect_inventory(settings, parse_scope(scope), sleep=sleep or Sleeper())
        finally:
            bootstrap.reset()


def non_arg_requests(fake: FakeArm) -> list[str]:
    return [f"{r.method} {r.path}" for r in fake.log if r not in fake.arg_requests]


def test_every_page_is_read_with_one_request_per_page(tmp_path, caplog):
    fake = FakeArm()
    rows = synthetic_tenant(fake, subscriptions=3, clusters=2500, vms=1200)
    caplog.set_level(logging.INFO, logger="scanner.resource_graph")

    inv = scan(fake, tmp_path)

    assert len(inv.clusters) == 2500 and len(inv.vms) == 1200
    assert sum(len(c.pools) for c in inv.clusters) == 7500
    assert inv.scale_sets == ()  # 5000 AKS-managed scale sets, all folded into their pools
    assert inv.errors == () and inv.subscriptions_seen == {sub_id(i) for i in range(3)}
    # pages: subscriptions check 1 + clusters 3 + scale sets 5 + VMs 2
    arg = fake.arg_requests
    assert len(arg) == 11 and all(r.status == 200 for r in arg)
    assert sum(json.loads(json.dumps(r.body))["options"]["$top"] == 1000 for r in arg) == 11
    assert sum("$skipToken" in r.body["options"] for r in arg) == 11 - 4  # every follow-up page
    # no per-subscription or per-cluster calls: one token, one subscriptions listing, the rest ARG
    assert sorted(non_arg_requests(fake)) == ["GET /msi/token", "GET /subscriptions"]
    assert inv.requests == 12
    assert len(rows) == 2500 + 5000 + 1200
    assert any("7500 node pools in 2500 clusters" in m and "11 pages" in m for m in caplog.messages)


def test_subscriptions_are_batched_under_the_request_limit(tmp_path):
    fake = FakeArm()
    fake.subscriptions_page_size = 500
    synthetic_tenant(fake, subscriptions=2300, clusters=50)

    inv = scan(fake, tmp_path)

    assert len(inv.subscriptions_seen) == 2300 and inv.errors == ()
    sizes = [len(r.body.get("subscriptions") or []) for r in fake.arg_requests]
    assert max(sizes) == 1000 and sorted(set(sizes)) == [300, 1000]
    assert all(r.status == 200 for r in fake.log)
    assert len(fake.requests_to("/subscriptions", "GET")) == 5  # 2300 listed in pages of 500
    assert len(inv.clusters) == 50


def test_a_lower_service_limit_splits_batches_instead_of_failing(tmp_path):
    fake = FakeArm()
    fake.max_subscriptions = 400
    synthetic_tenant(fake, subscriptions=1000, clusters=20)

    inv = scan(fake, tmp_path)

    assert inv.errors == () and len(inv.subscriptions_seen) == 1000 and len(inv.clusters) == 20
    rejected = [r for r in fake.arg_requests if r.status == 400]
    assert 1 <= len(rejected) <= 3  # 1000 -> 500 -> 250


def test_spent_quota_is_waited_out_not_failed(tmp_path):
    fake = FakeArm()
    fake.quota = (3, 1.0)  # three requests per second
    synthetic_tenant(fake, subscriptions=2, clusters=1500, vms=10)
    sleeper = Sleeper()

    started = time.monotonic()
    inv = scan(fake, tmp_path, sleep=sleeper)

    assert len(inv.clusters) == 1500 and inv.errors == ()
    assert all(r.status == 200 for r in fake.arg_requests)  # never throttled: it waited first
    assert len(fake.arg_requests) == 1 + 2 + 3 + 1
    assert sleeper.calls and time.monotonic() - started >= 1.0


@pytest.mark.parametrize(
    "status, headers, expected_wait",
    [
        (429, {"Retry-After": "1"}, 1.0),
        (429, {}, 1.0),  # no Retry-After: backoff
        (429, {"x-ms-user-quota-remaining": "0", "x-ms-user-quota-resets-after": "00:00:01"}, 1.0),
        (503, {}, 1.0),
    ],
    ids=["429-retry-after", "429-bare", "429-quota-headers", "503"],
)
def test_throttled_and_failed_requests_are_retried(tmp_path, status, headers, expected_wait):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=2, clusters=5)
    fake.failures = [(status, headers)]
    sleeper = Sleeper()

    inv = scan(fake, tmp_path, sleep=sleeper)

    assert len(inv.clusters) == 5 and inv.errors == ()
    assert [r.status for r in fake.arg_requests][:2] == [status, 200]
    assert expected_wait in sleeper.calls
    assert inv.requests == len(fake.arg_requests) + 1


def test_retries_give_up_and_report_the_subscriptions_not_seen(tmp_path):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=2, clusters=5)
    fake.failures = [(503, {"Retry-After": "0"})] * 7

    inv = scan(fake, tmp_path)

    assert inv.subscriptions_seen == frozenset() and inv.clusters == ()
    assert {e.scope for e in inv.errors} == {f"subscription {sub_id(0)}", f"subscription {sub_id(1)}"}
    assert all("HTTP 503" in e.error for e in inv.errors)


@pytest.mark.parametrize("mode", ["error", "silent"])
def test_forbidden_subscription_is_reported_and_the_rest_scanned(tmp_path, mode):
    fake = FakeArm()
    fake.forbidden_mode = mode
    synthetic_tenant(fake, subscriptions=5, clusters=25)
    fake.subscriptions[sub_id(3)].arg_access = False

    inv = scan(fake, tmp_path)

    assert inv.subscriptions_seen == {sub_id(i) for i in (0, 1, 2, 4)}
    assert len(inv.clusters) == 20 and {c.subscription_id for c in inv.clusters} == inv.subscriptions_seen
    (err,) = inv.errors
    assert err.scope == f"subscription {sub_id(3)}"
    assert ("AuthorizationFailed" in err.error) if mode == "error" else ("returned nothing" in err.error)


def test_subscription_scope_reads_only_the_listed_ones(tmp_path):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=4, clusters=8)
    fake.subscriptions[sub_id(2)].state = "Disabled"
    missing = "99999999-9999-4999-8999-999999999999"

    inv = scan(fake, tmp_path, scope=f"sub:{sub_id(0)},{sub_id(1).upper()},{sub_id(2)},{missing}")

    assert inv.subscriptions_seen == {sub_id(0), sub_id(1)}
    assert {c.subscription_id for c in inv.clusters} == {sub_id(0), sub_id(1)}
    errors = {e.scope: e.error for e in inv.errors}
    assert "not found" in errors[f"subscription {missing}"]
    assert "Disabled" in errors[f"subscription {sub_id(2)}"]
    assert all(sorted(r.body["subscriptions"]) == [sub_id(0), sub_id(1)] for r in fake.arg_requests)


def test_management_group_scope(tmp_path):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=6, clusters=12, management_groups=("team-a", "team-b"))

    inv = scan(fake, tmp_path, scope="mg:team-a,no-such-mg")

    team_a = {sub_id(i) for i in (0, 2, 4)}
    assert inv.subscriptions_seen == team_a
    assert {c.subscription_id for c in inv.clusters} == team_a and len(inv.clusters) == 6
    assert [e.scope for e in inv.errors] == ["management group no-such-mg"]


@pytest.mark.parametrize("denied", [1, 2], ids=["inside-the-group", "outside-the-group"])
def test_management_group_scope_survives_a_subscription_resource_graph_refuses(tmp_path, denied):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=4, clusters=8, management_groups=("team-a", "team-b"))
    fake.subscriptions[sub_id(denied)].arg_access = False  # listed, but Resource Graph answers 403 naming it

    inv = scan(fake, tmp_path, scope="mg:team-a")

    team_a = {sub_id(i) for i in (0, 2)} - {sub_id(denied)}
    assert inv.subscriptions_seen == team_a
    assert {c.subscription_id for c in inv.clusters} == team_a
    (err,) = inv.errors
    assert err.scope == f"subscription {sub_id(denied)}"
    assert "AuthorizationFailed" in err.error and "not known whether it is under mg:team-a" in err.error


def test_live_rows_and_file_exports_give_the_same_resources(tmp_path):
    arm = FIXTURES / "arm"
    rows = json.loads((arm / "inventory_az_graph_query.json").read_text())["data"]
    fake = FakeArm()
    fake.add_subscription(rows[0]["subscriptionId"])
    fake.add_rows(rows)

    live = scan(fake, tmp_path)
    files = load_inventory_files([str(arm / n) for n in ("az_aks_list.json", "az_vm_list_d.json", "az_vmss_list.json")])

    assert live.clusters == files.clusters and len(live.clusters) == 1
    assert sorted(live.vms, key=lambda v: v.id) == sorted(files.vms, key=lambda v: v.id)
    assert sorted(live.scale_sets, key=lambda s: s.id) == sorted(files.scale_sets, key=lambda s: s.id)


def test_identity_token_comes_from_the_managed_identity_endpoint_once(tmp_path):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=1, clusters=1)
    client_id = "5e29463d-71da-4fe0-8e69-999b57db23b0"

    scan(fake, tmp_path, extra_env={"AZURE_CLIENT_ID": client_id})

    (token,) = fake.requests_to("/msi/token")
    assert token.query["resource"] == fake.base_url  # the custom ARM endpoint's own scope
    assert token.query.get("client_id") == client_id  # user-assigned identity
    assert all(r.status == 200 for r in fake.log)  # every ARM call carried the bearer token


def test_no_token_is_a_clear_error_without_secrets(tmp_path):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=1, clusters=1)
    bootstrap.reset()
    with fake.running(tmp_path) as env:
        header = fake.identity_header
        fake.identity_header = "rotated"  # the app's header no longer matches
        settings = Settings.from_env(env)
        with pytest.raises(AzureReadError, match="could not get an Azure token") as err:
            collect_inventory(settings, parse_scope("tenant"), sleep=Sleeper())
    bootstrap.reset()
    assert header not in str(err.value) and fake.token not in str(err.value)
    assert fake.arg_requests == []


def test_a_cluster_row_the_scanner_cannot_read_is_reported_not_fatal(tmp_path):
    fake = FakeArm()
    synthetic_tenant(fake, subscriptions=1, clusters=3)
    broken = cluster_row(sub_id(0), 99)
    del broken["properties"]["agentPoolProfiles"][0]["vmSize"]
    fake.add_rows([broken])

    inv = scan(fake, tmp_path)

    assert len(inv.clusters) == 3
    (err,) = inv.errors
    assert err.scope.endswith("/aks-00099") and "vmSize" in err.error


@pytest.mark.parametrize(
    "env, endpoint",
    [
        ({}, "https://management.azure.com"),
        ({"AZURE_CLOUD": "AzureChinaCloud"}, "https://management.chinacloudapi.cn"),
        ({"AZURE_CLOUD": "usgov"}, "https://management.usgovcloudapi.net"),
        ({"AZURE_RESOURCE_MANAGER_ENDPOINT": "https://arm.contoso.local:8443"}, "https://arm.contoso.local:8443"),
    ],
    ids=["public", "china", "usgov", "custom"],
)
def test_clients_follow_the_cloud_setting(env, endpoint):
    settings = Settings.from_env(env)
    bootstrap.reset()
    try:
        clients = bootstrap.clients(settings)
        assert clients is bootstrap.clients(settings)  # once per process
        assert clients.arm.format_url("/subscriptions") == endpoint + "/subscriptions"
        assert clients.resource_graph._config.credential_scopes == [endpoint + "/.default"]
        assert clients.compute("s")._config.credential_scopes == [endpoint + "/.default"]
        assert clients.resource_graph is bootstrap.resource_graph_client(settings)
    finally:
        bootstrap.reset()
