"""Every `Retirements` record of Aug 2025 - Aug 2026, read by hand and pinned one by one.

Fixture: tests/fixtures/feed/api-v2-retirements-2025-08-to-2026-08.json (origin in its README).
For each record: what it retires (series or explicit sizes and the date written in its text), or
why it retires no VM size. A change in the reader that maps, drops or re-dates any record fails
here with the record id in the test name.
"""

from __future__ import annotations

from datetime import date

import pytest

from scanner.sources.feed import derive_retirements, parse_json
from tests.conftest import FIXTURES

FEED = FIXTURES / "feed" / "api-v2-retirements-2025-08-to-2026-08.json"

NV3 = ("Standard_NV12s_v3", "Standard_NV12hs_v3", "Standard_NV24s_v3", "Standard_NV24ms_v3",
       "Standard_NV32ms_v3", "Standard_NV48s_v3")
NV4 = ("Standard_NV4as_v4", "Standard_NV4ahs_v4", "Standard_NV8as_v4", "Standard_NV8ahs_v4",
       "Standard_NV16as_v4", "Standard_NV16ahs_v4", "Standard_NV32as_v4", "Standard_NV32ahs_v4")

# id -> ("entry", series, sizes, date) for VM-size retirements; ("ignore", why) for the rest.
MAPPED = {
    # Batch pools notice; the text says May 1, 2028 (record month May 2028)
    "564772": (("D", "Ds", "Dv2", "Dsv2", "Ls"), (), date(2028, 5, 1)),
    # explicit sizes Standard_NP10s/20s/40s; the RI cut-off (April 2, 2026) is not the date
    "548497": ((), ("Standard_NP10s", "Standard_NP20s", "Standard_NP40s"), date(2027, 5, 31)),
    # Batch reminder for NVv3 + NVv4: same sizes and date as 500573 and 500578
    "516070": ((), NV3 + NV4, date(2026, 9, 30)),
    # text says November 15th, 2028; the record says October 2028; RI dates are skipped
    "500682": (("F", "Fs", "Fsv2", "Lsv2", "G", "Gs", "Av2", "Amv2", "B"), (), date(2028, 11, 15)),
    "500578": ((), NV4, date(2026, 9, 30)),
    "500573": ((), NV3, date(2026, 9, 30)),
    # "stop all new and existing ... deployments by September 12, 2025"
    "502039": (("DCesv5", "DCedsv5", "ECesv5", "ECedsv5"), (), date(2025, 9, 12)),
}

IGNORED = {
    "568457": "Sentinel SAP agent",
    "567556": "Automation Python/PowerShell runtimes",
    "564806": "Azure Blueprints",
    "564441": "GPv1 storage account creation",
    "565482": "Load Balancer inbound NAT pools for VMSS (a feature, no size)",
    "558560": "Synapse Link for Cosmos DB",
    "565393": "VPN client for Linux",
    "564735": "AVS AV36 node (not a VM size)",
    "502936": "Prompt Flow",
    "558033": "App Service .NET 8",
    "559311": "Functions runtime v3",
    "557928": "AKS Ubuntu 22.04 (OS, not size)",
    "559395": "Managed Grafana Essential SKU",
    "558027": "App Service Python on Windows",
    "558276": "Storage AzureDnsEndpoints",
    "558247": "Service Fabric on Windows Server 2022",
    "558246": "Service Fabric on Windows Server 2019",
    "556085": "Cosmos DB for PostgreSQL",
    "558086": "SQL elastic query",
    "557123": "Azure Sphere",
    "558278": "Emissions Impact Dashboard",
    "557094": "AVS AV36P/AV52 nodes",
    "543279": "Batch low-priority VMs to Spot (priority, no size)",
    "549077": "Batch Windows Server 2016 images",
    "557929": "AKS Flatcar",
    "555839": "AKS managed NGINX ingress",
    "557224": "AKS Windows Annual Channel",
    "553527": "Front Door DHE ciphers",
    "545771": "Functions Python 3.10",
    "513892": "Custom Resource Providers",
    "515484": "Batch default outbound access",
    "501668": "Azure ML SDKs",
    "501658": "Azure ML low-priority VMs (priority, no size)",
    "509686": "App Service Python 3.10",
    "499906": "AKS Arc Windows Server 2022",
    "502909": "Computer Vision image analysis",
    "502914": "Custom Vision",
    "502049": "AI Health Insights",
    "499577": "Cache for Redis",
    "499606": "Cache for Redis Enterprise",
    "500273": "AKS NPM Windows",
    "500853": "Container Insights legacy auth",
    "501673": "SCOM Managed Instance",
    "500848": "Static Web Apps DB connections",
    "499923": "VPN Gateway SSTP",
    "496964": "GPv1 storage accounts",
    "501692": "ML data labeling",
    "500268": "AKS NPM Linux",
    "501528": "Service Connector on Container Apps",
    "502602": "Fabric Spark connector",
    "503883": "AVS AV36 date change (node, not size)",
    "499851": "AI Language entity linking",
    "499451": "Functions Linux Consumption",
    "498563": "BlobFuse v1",
    "500016": "App Service on Arc",
    "500294": "AKS on VMware",
    "502623": "Databricks Standard tier",
    "494676": "Key Vault hsmPlatform 1",
    "500645": "AKS Azure Linux 2.0",
    "499860": "Playwright Testing",
    "500157": "Standard HDD OS disks (disk type, not size)",
    "501174": "Azure CDN",
    "498749": "Defender for Cloud in 21Vianet",
    "498754": "Sentinel in 21Vianet",
    # titled "Retirement:" but not tagged; Azure Policy
    "558102": "Azure Policy login/logout workaround",
}

REVIEW: dict[str, str] = {}  # none of this year's records is unreadable


@pytest.fixture(scope="module")
def derived():
    items, _ = parse_json(FEED.read_bytes(), str(FEED))
    return items, derive_retirements(items)


def test_table_covers_every_retirement_record(derived):
    items, _ = derived
    tagged = {a.id for a in items if "Retirements" in a.tags}
    assert len(tagged) == 71
    assert {a.id for a in items if a.is_retirement} == set(MAPPED) | set(IGNORED) | set(REVIEW)


@pytest.mark.parametrize("record_id", sorted(MAPPED), ids=lambda i: f"{i}-mapped")
def test_vm_size_retirement_is_read(derived, record_id):
    _, d = derived
    series, sizes, when = MAPPED[record_id]
    reading = d.readings[record_id]
    assert (reading.kind, reading.series, reading.sizes, reading.retires_on) == ("entry", series, sizes, when)


@pytest.mark.parametrize("record_id", sorted(IGNORED), ids=lambda i: f"{i}-{IGNORED[i][:30]}")
def test_notice_that_retires_no_size_creates_nothing(derived, record_id):
    _, d = derived
    assert d.readings[record_id].kind == "ignore", d.readings[record_id]


def test_non_retirement_records_create_nothing(derived):
    items, d = derived
    others = [a for a in items if not a.is_retirement]
    assert others and all(d.readings[a.id].kind == "ignore" for a in others)


def test_catalogue_from_the_year_of_records(derived):
    _, d = derived
    got = {r.id: (r.series, r.sizes, r.retires_on, r.urls) for r in d.retirements}
    url = "https://azure.microsoft.com/updates?id={}".format
    assert got == {
        "azure-updates-564772": (MAPPED["564772"][0], (), date(2028, 5, 1), (url(564772),)),
        "azure-updates-548497": ((), MAPPED["548497"][1], date(2027, 5, 31), (url(548497),)),
        "azure-updates-500682": (MAPPED["500682"][0], (), date(2028, 11, 15), (url(500682),)),
        # the Batch reminder (516070) joins both NV entries instead of making a third
        "azure-updates-500578": ((), NV4, date(2026, 9, 30), (url(500578), url(516070))),
        "azure-updates-500573": ((), NV3, date(2026, 9, 30), (url(500573), url(516070))),
        "azure-updates-502039": (MAPPED["502039"][0], (), date(2025, 9, 12), (url(502039),)),
    }
    assert d.needs_review == () and d.conflicts == ()
    assert all(r.source == "feed" for r in d.retirements)


def test_replacements_are_not_retiring_sizes(derived):
    _, d = derived
    by_id = {r.id: r for r in d.retirements}
    assert "NVadsA10_v5" in by_id["azure-updates-500573"].replacement_series
    assert "NVads_V710_v5" in by_id["azure-updates-500578"].replacement_series
    assert {"DCesv6", "ECesv6"} <= set(by_id["azure-updates-502039"].replacement_series)
    assert {"Dsv5", "Lsv3"} <= set(by_id["azure-updates-564772"].replacement_series)


def test_record_month_disagreeing_with_text_is_noted(derived):
    _, d = derived
    (fwave,) = [r for r in d.retirements if r.id == "azure-updates-500682"]
    assert "October 2028" in fwave.notes
