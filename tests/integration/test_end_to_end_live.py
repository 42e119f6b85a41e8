"""`python -m scanner scan` on the live path, whole: no --inventory/--skus, so it reads "Azure".

Every peer is real and on loopback, and the scanner runs as its own process with only the
settings a deployment would give it:

    Azure Resource Manager    tests/fakes/arm_server.py over HTTPS (test-only certificate): the
                              managed-identity endpoint, GET /subscriptions, Resource Graph pages,
                              Compute SKUs. A tenant of three subscriptions, one the identity may
                              not read (403 from Resource Graph and from Compute).
    Azure Updates feed        a loopback server with the recorded API answer (FEED_URL)
    store                     Azurite (AzureWebJobsStorage), with a fresh table prefix and queue
    Teams                     tests/fakes/webhook_receiver.py (TEAMS_WEBHOOK_URL)
    email                     aiosmtpd with STARTTLS + login (SMTP_*), trusted via SSL_CERT_FILE

What is asserted is what a user sees: the exit code, the JSON findings, what arrived in Teams and
in the mailbox, and that no secret is printed or stored.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from azure.data.tables import TableServiceClient

from tests.conftest import FIXTURES, ROOT
from tests.fakes.arm_server import FakeArm
from tests.fakes.azurite import unique_name
from tests.fakes.loopback import LoopbackServer
from tests.fakes.smtp_server import smtp_server
from tests.fakes.webhook_receiver import webhook_receiver

pytestmark = pytest.mark.integration

TODAY = "2026-08-01"  # NVv3 retires 2026-09-30 (60 days: high); DSv2 2028-05-01, Fsv2/Av2 2028-11-15 (low)
SUB_A = "a1a1a1a1-0000-4000-8000-00000000000a"  # platform
SUB_B = "b2b2b2b2-0000-4000-8000-00000000000b"  # apps
SUB_DENIED = "c3c3c3c3-0000-4000-8000-00000000000c"  # listed, but the identity may not read it
SMTP_PASSWORD = "e2e-smtp-Pa55word-7f3a"


# --------------------------------------------------------------------------- the tenant (ARG rows)


def vmss_pool(name: str, size: str, mode: str = "User", count: int = 3) -> dict:
    return {"name": name, "count": count, "vmSize": size, "type": "VirtualMachineScaleSets", "mode": mode,
            "osType": "Linux", "osSKU": "Ubuntu", "availabilityZones": ["1", "2", "3"], "maxPods": 110,
            "osDiskSizeGB": 128, "osDiskType": "Managed", "orchestratorVersion": "1.30.5",
            "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202409.23.0", "powerState": {"code": "Running"}}


def cluster(sub: str, rg: str, name: str, pools: list[dict], tags: dict | None = None) -> dict:
    return {
        "id": f"/subscriptions/{sub}/resourcegroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}",
        "name": name, "type": "microsoft.containerservice/managedclusters", "location": "westeurope",
        "subscriptionId": sub, "resourceGroup": rg, "tags": tags or {}, "sku": {"name": "Base", "tier": "Free"},
        "zones": None,
        "properties": {"kubernetesVersion": "1.30.5", "currentKubernetesVersion": "1.30.5",
                       "nodeResourceGroup": f"MC_{rg}_{name}_westeurope", "powerState": {"code": "Running"},
                       "provisioningState": "Succeeded", "agentPoolProfiles": pools},
    }


def aks_scale_sets(c: dict) -> list[dict]:
    """The scale sets AKS made for the cluster's scale-set pools: folded into their pools, not reported."""
    nrg = c["properties"]["nodeResourceGroup"]
    return [scale_set(c["subscriptionId"], nrg.lower(), f"aks-{p['name']}-31415926-vmss", p["vmSize"],
                      tags={"aks-managed-poolName": p["name"], "aks-managed-orchestrator": "Kubernetes:1.30.5"})
            for p in c["properties"]["agentPoolProfiles"] if p["type"] == "VirtualMachineScaleSets"]


def scale_set(sub: str, rg: str, name: str, size: str, tags: dict | None = None) -> dict:
    return {"id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachineScaleSets/{name}",
            "name": name, "type": "microsoft.compute/virtualmachinescalesets", "location": "westeurope",
            "subscriptionId": sub, "resourceGroup": rg, "tags": tags or {},
            "sku": {"name": size, "tier": "Standard", "capacity": 2}, "zones": ["1", "2", "3"],
            "properties": {"orchestrationMode": "Uniform", "upgradePolicy": {"mode": "Manual"},
                           "virtualMachineProfile": {"storageProfile": {"osDisk": {"osType": "Linux"}},
                                                     "securityProfile": {"securityType": None}}}}


def vm(sub: str, rg: str, name: str, size: str) -> dict:
    return {"id": f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.Compute/virtualMachines/{name}",
            "name": name, "type": "microsoft.compute/virtualmachines", "location": "westeurope",
            "subscriptionId": sub, "resourceGroup": rg, "tags": {}, "sku": None, "zones": None,
            "properties": {"hardwareProfile": {"vmSize": size}, "storageProfile": {"osDisk": {"osType": "Linux"}},
                           "securityProfile": {"securityType": None}, "virtualMachineScaleSet": None,
                           "extended": {"instanceView": {"powerState": {"code": "PowerState/running"}}}}}


def prod_cluster(web_size: str) -> dict:
    return cluster(SUB_A, "rg-prod", "aks-prod", [
        vmss_pool("system", "Standard_D4s_v5", mode="System"),
        vmss_pool("web", web_size),
        vmss_pool("gpu", "Standard_NV12s_v3", count=1),
    ], tags={"owner": "platform@example.com"})


def tenant() -> FakeArm:
    fake = FakeArm()
    fake.add_subscription(SUB_A, name="platform", management_groups=("mg-platform", "root"))
    fake.add_subscription(SUB_B, name="apps", management_groups=("mg-apps", "root"))
    fake.add_subscription(SUB_DENIED, name="secret", arg_access=False, skus_access="forbidden",
                          management_groups=("mg-platform", "root"))
    prod = prod_cluster("Standard_DS2_v2")
    batch = cluster(SUB_B, "rg-batch", "aks-batch", [
        vmss_pool("system", "Standard_D4s_v5", mode="System"),
        {"name": "mixed", "type": "VirtualMachines", "mode": "User", "osType": "Linux", "osSKU": "Ubuntu",
         "orchestratorVersion": "1.30.5", "maxPods": 110, "powerState": {"code": "Running"},
         "nodeImageVersion": "AKSUbuntu-2204gen2containerd-202409.23.0",
         "virtualMachinesProfile": {"scale": {"manual": [{"size": "Standard_F8s_v2", "count": 2},
                                                         {"size": "Standard_D4s_v5", "count": 1}]}}},
    ])
    hidden = cluster(SUB_DENIED, "rg-x", "aks-hidden", [vmss_pool("np1", "Standard_DS2_v2")])
    fake.add_rows([prod, *aks_scale_sets(prod), batch, *aks_scale_sets(batch), hidden, *aks_scale_sets(hidden),
                   vm(SUB_A, "rg-vms", "vm-legacy", "Standard_A2_v2"),
                   vm(SUB_B, "rg-vms", "vm-fine", "Standard_D2s_v5"),
                   scale_set(SUB_B, "rg-web", "vmss-web", "Standard_DS3_v2")])
    fake.add_skus("westeurope", json.loads((ROOT / "samples" / "skus" / "westeurope.json").read_text()))
    fake.sku_page_size = 50
    return fake


EXPECTED = {  # (kind, name, pool) -> retired size, for the retiring-size rule
    ("aks-nodepool", "aks-prod", "web"): "Standard_DS2_v2",
    ("aks-nodepool", "aks-prod", "gpu"): "Standard_NV12s_v3",
    ("aks-nodepool", "aks-batch", "mixed"): "Standard_F8s_v2",
    ("vm", "vm-legacy", ""): "Standard_A2_v2",
    ("vmss", "vmss-web", ""): "Standard_DS3_v2",
}


class Feed(LoopbackServer):
    """The Azure Updates JSON API, answering with the recorded retirements."""

    body = (FIXTURES / "feed" / "api-v2-retirements-2025-08-to-2026-08.json").read_bytes()

    def respond(self, req: dict):
        if req["path"].endswith("/api/v2/azure"):
            return 200, {"Content-Type": "application/json; charset=utf-8"}, self.body
        return 404, {}, b"not found"


# --------------------------------------------------------------------------- the deployment


class Deployment:
    def __init__(self, env: dict[str, str], tmp_path: Path) -> None:
        self.env, self.tmp_path = env, tmp_path
        self.outputs: list[str] = []  # everything the process printed, for the secret check

    def scan(self, *args: str) -> tuple[int, dict, str]:
        out = self.tmp_path / f"{unique_name('scan')}.json"
        proc = subprocess.run([sys.executable, "-m", "scanner", "scan", "--today", TODAY, "--format", "json",
                               "--output", str(out), *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, timeout=120)
        self.outputs += [proc.stdout, proc.stderr]
        assert proc.returncode in (0, 3), f"exit {proc.returncode}\n{proc.stderr}"
        text = out.read_text(encoding="utf-8")
        self.outputs.append(text)
        return proc.returncode, json.loads(text), proc.stderr


@pytest.fixture
def live(tmp_path, azurite_env):
    fake = tenant()
    with fake.running(tmp_path / "arm") as arm_env, webhook_receiver() as hook, Feed() as feed, \
            smtp_server(tmp_path / "smtp", username="scanner", password=SMTP_PASSWORD) as smtp:
        bundle = tmp_path / "trust.pem"  # the test-only certificates, and nothing else
        bundle.write_text(Path(arm_env["REQUESTS_CA_BUNDLE"]).read_text() + Path(smtp.cert_path).read_text())
        env = {
            "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1",
            **arm_env, "REQUESTS_CA_BUNDLE": str(bundle), "SSL_CERT_FILE": str(bundle),
            **azurite_env, "NOTIFY_QUEUE": unique_name("q"),
            "FEED_URL": f"{feed.base}/releasecommunications/api/v2/azure", "FEED_FALLBACK_URL": f"{feed.base}/rss",
            "TEAMS_WEBHOOK_URL": hook.url,
            "EMAIL_TO": "platform-team@example.com", "EMAIL_FROM": "scanner@example.com",
            "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "SMTP_USERNAME": "scanner",
            "SMTP_PASSWORD": SMTP_PASSWORD,
        }
        yield Deployment(env, tmp_path), fake, hook, smtp, feed


def stored_entities(connection_string: str, prefix: str) -> list[dict]:
    service = TableServiceClient.from_connection_string(connection_string)
    out = []
    for t in service.list_tables():
        if t.name.startswith(prefix):
            out += [dict(e) for e in service.get_table_client(t.name).list_entities()]
    return out


def key(f: dict) -> tuple[str, str, str]:
    return f["resource"]["kind"], f["resource"]["name"], f["resource"]["pool"]


# --------------------------------------------------------------------------- the test


def test_live_scan_night_after_night(live):
    deployment, fake, hook, smtp, feed = live

    rc, preview, stderr = deployment.scan("--dry-run")  # shows what would be sent; sends and stores nothing
    assert rc == 0, stderr
    assert {m["channel"] for m in preview["notifications"]} == {"teams", "email"}
    assert hook.requests == [] and smtp.messages == []

    rc, first, stderr = deployment.scan()
    assert rc == 0, stderr

    # the right resources, each with a replacement and the commands to move
    retiring = {key(f): f for f in first["findings"] if f["rule"] == "retiring-size"}
    assert {k: f["vm_size"] for k, f in retiring.items()} == EXPECTED
    assert all(f["status"] == "new" for f in first["findings"])
    for k, f in retiring.items():
        rep = f["replacement"]
        assert rep and rep["vm_size"].startswith("Standard_") and rep["vm_size"] != f["vm_size"], k
        assert f["commands"], k
    gpu = retiring[("aks-nodepool", "aks-prod", "gpu")]
    assert gpu["severity"] == "high" and gpu["retirement"]["days_left"] == 60
    web = retiring[("aks-nodepool", "aks-prod", "web")]
    add = next(c for c in web["commands"] if c.startswith("az aks nodepool add"))
    assert "--cluster-name aks-prod" in add and f"--subscription {SUB_A}" in add
    assert f"--node-vm-size {web['replacement']['vm_size']}" in add
    assert any(c.startswith("az aks nodepool delete") and "--name web" in c for c in web["commands"])
    # nothing from the subscription the identity may not read; it is named in "errors"
    assert all(f["resource"]["subscription_id"].lower() in (SUB_A, SUB_B) for f in first["findings"])
    assert all("aks-hidden" not in f["resource"]["id"] for f in first["findings"])
    assert any(SUB_DENIED in e["scope"] for e in first["errors"]), first["errors"]
    assert not any(SUB_A in e["scope"] or SUB_B in e["scope"] for e in first["errors"]), first["errors"]
    assert first["summary"]["stored"] is True
    # the live path was taken: a token from the identity endpoint, Resource Graph, SKUs, the feed
    assert fake.requests_to("/msi/token") and fake.arg_requests
    assert fake.requests_to("/providers/Microsoft.Compute/skus")
    assert any(r["path"].endswith("/api/v2/azure") for r in feed.requests)

    # one Teams card and one email, about these findings
    assert len(hook.posts) == 1
    card = json.dumps(hook.posts[0])
    assert "aks-prod" in card and "Standard_NV12s_v3" in card
    assert len(smtp.messages) == 1 and smtp.logins == ["scanner"]
    mail = smtp.messages[0]
    assert mail["To"] == "platform-team@example.com"
    body = mail.get_body(preferencelist=("plain",)).get_content()
    assert "aks-prod" in body and "Standard_DS2_v2" in body

    # the second night, identical: no new findings, nothing posted, nothing mailed
    rc, second, stderr = deployment.scan()
    assert rc == 0, stderr
    assert {key(f) for f in second["findings"]} == {key(f) for f in first["findings"]}
    assert {f["status"] for f in second["findings"]} == {"open"}
    assert second["summary"]["changes"]["new"] == 0
    assert len(hook.posts) == 1 and len(smtp.messages) == 1

    # --fail-on: a high finding fails the run (3), nothing above it does not (0); still nothing sent
    assert deployment.scan("--fail-on", "high")[0] == 3
    assert deployment.scan("--fail-on", "critical")[0] == 0
    assert len(hook.posts) == 1 and len(smtp.messages) == 1

    # a night the identity cannot read SUB_B: its findings are kept open, not resolved, and it is named
    fake.subscriptions[SUB_B].arg_access = False
    rc, third, stderr = deployment.scan()
    assert rc == 0, stderr
    assert any(SUB_B in e["scope"] for e in third["errors"]), third["errors"]
    assert third["summary"]["changes"]["resolved"] == 0
    assert {key(f) for f in third["findings"]} >= {k for k in EXPECTED if k[1] in ("aks-prod", "vm-legacy")}
    assert len(hook.posts) == 1 and len(smtp.messages) == 1

    # SUB_B readable again, and the web pool moved to a current size: that finding is resolved, and said so
    fake.subscriptions[SUB_B].arg_access = True
    fake.replace_rows([prod_cluster("Standard_D2ds_v5")])
    rc, fourth, stderr = deployment.scan()
    assert rc == 0, stderr
    assert fourth["summary"]["changes"]["resolved"] == 1 and fourth["summary"]["changes"]["new"] == 0
    status = {key(f): f["status"] for f in fourth["findings"]}
    assert status.pop(("aks-nodepool", "aks-prod", "web")) == "resolved"
    assert set(status) == {key(f) for f in first["findings"]} - {("aks-nodepool", "aks-prod", "web")}
    assert set(status.values()) == {"open"}
    assert len(hook.posts) == 2 and "web" in json.dumps(hook.posts[1]) and "resolved" in json.dumps(hook.posts[1]).lower()

    # no secret printed, written to the report, or stored
    env = deployment.env
    storage_key = next(p.split("=", 1)[1] for p in env["AzureWebJobsStorage"].split(";")
                       if p.startswith("AccountKey="))
    secrets = {"webhook url": hook.url, "webhook signature": hook.sig, "smtp password": SMTP_PASSWORD,
               "storage key": storage_key, "bearer token": fake.token, "identity header": fake.identity_header}
    entities = json.dumps(stored_entities(env["AzureWebJobsStorage"], env["TABLE_PREFIX"]), default=str)
    assert "aks-prod" in entities  # the findings are there to look at
    for where, text in (("process output", "\n".join(deployment.outputs)), ("stored entities", entities)):
        leaked = [name for name, value in secrets.items() if value in text]
        assert not leaked, f"{', '.join(leaked)} found in {where}"


def test_live_scan_of_a_management_group(live):
    deployment, fake, hook, smtp, _feed = live

    rc, report, stderr = deployment.scan("--scope", "mg:mg-platform", "--no-store", "--no-notify", "--fail-on", "high")

    assert rc == 3, stderr  # the NVv3 pool in aks-prod is high
    assert {f["resource"]["subscription_id"] for f in report["findings"]} == {SUB_A}
    assert {key(f) for f in report["findings"] if f["rule"] == "retiring-size"} == {
        k for k in EXPECTED if k[1] in ("aks-prod", "vm-legacy")}
    assert [e["scope"] for e in report["errors"]] == [f"subscription {SUB_DENIED}"]
    assert hook.requests == [] and smtp.messages == []
