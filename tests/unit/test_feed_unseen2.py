"""Second set of unseen feed records (red team of issue 12): each record's outcome pinned in one table.

Fixtures: tests/fixtures/feed/unseen2/ (written by make_unseen2.py; invented records in the real
API v2 and v2 RSS shapes). Each record must become the right entry (series or sizes and the date
in its text), a needs-review item whose reason names the problem, or nothing; then the merged
catalogue (built-in + these records) is checked where a reminder meets a known retirement and where
a notice for two sizes of a series meets a notice for the whole series.
"""

from __future__ import annotations

from datetime import date

import pytest

import scanner.sources.feed as au
from scanner.core import catalog as cat
from tests.conftest import FIXTURES

HERE = FIXTURES / "feed" / "unseen2"


def E(series=(), sizes=(), when=None):  # noqa: N802 - table shorthand
    return ("entry", tuple(series), tuple(sizes), when)


def R(keyword):  # noqa: N802
    return ("review", keyword)


def I(keyword=""):  # noqa: N802, E743
    return ("ignore", keyword)


S27 = date(2027, 9, 30)
M28 = date(2028, 3, 31)
N28 = date(2028, 11, 15)

EXPECTED = {
    "930001": E(["HBv3"], when=S27),                          # "30 September 2027"
    "930002": E(["Dasv4", "Dadsv4"], when=S27),               # "Sept. 30, 2027", "Action required:" title
    "930003": E(["NCasT4_v3"], when=M28),                     # "Effective March 31, 2028 ... no longer supported"
    "930004": E(["Msv2"], when=M28),                          # "Msv2 Medium Memory"
    "930005": E(["Lsv2"], when=N28),                          # reminder of a built-in retirement
    "930006": E(["Av2"], when=N28),                           # reminder, "including Basic tier"
    "930007": E(sizes=["Standard_NC4as_T4_v3", "Standard_NC8as_T4_v3"], when=date(2028, 6, 1)),
    "930008": E(["Ddv4", "Ddsv4"], when=S27),                 # "30th of September, 2027"
    "930009": E(["Eav4", "Easv4"], when=S27),                 # "September 30 2027" (no comma)
    "930010": R("no retirement date in the text"),            # "30.09.2027": people decide
    "930011": E(sizes=["Standard_ND96asr_v4"], when=date(2028, 6, 1)),
    "930012": E(sizes=["Standard_NV12s_v3", "Standard_NV24s_v3"], when=M28),  # table with replacements
    "930013": R("limited to Azure Government"),               # a sovereign cloud only: not dated everywhere
    "930014": R("limited to Azure operated by 21Vianet"),
    "930015": R("the retirement is withdrawn"),               # "has been cancelled": never an entry
    "930016": E(["Msv2"], when=S27),                          # "M-series Medium Memory v2 (Msv2)": not all of M
    "930017": E(["Dv4"], when=M28),                           # all public regions and Azure Government alike
    "930018": R("retires 'hosts'"),                           # dedicated hosts after the series name
    "930019": E(["Lasv3"], when=S27),                         # "postponed from March 31, 2027" is the old date
    "930101": R("no retirement date in the text"),            # "by the end of Q3 2027"
    "930102": R("only a month (March 2029)"),
    "930103": R("several retirement dates: 2027-09-30, 2028-03-31"),
    "930104": R("only a month (September 2027)"),             # "at the end of September 2027"
    "930201": R("not a VM size"),                             # Azure Disk Encryption
    "930202": R("unmanaged disks"),
    "930203": R("the title is about 'API'"),
    "930204": I("host"),                                      # Dsv3-Type1 dedicated hosts: no Dsv3 entry
    "930301": I("aks-ubuntu-2004"),                           # known node OS: the node OS catalogue judges it
    "930302": I("aks-windows-2019"),
    "930303": I("aks-azurelinux-2"),
    "930304": R("Azure Linux 3.0"),                           # unknown node OS retirement
    "930401": I(),                                            # capacity restriction, not a retirement
    "930402": R("limited to West Europe"),
    "930403": E(["Lsv2"], when=N28),                          # Batch pools
    "930404": R("reserved"),
    "930405": I(),                                            # Spot feature notice naming series
    "930501": E(["NVv4"], when=date(2026, 9, 30)),            # RSS reminder of a built-in one
    "930502": E(["Easv4", "Eadsv4"], when=S27),               # RSS "Sept 30th 2027"
    "930503": I("aks-windows-2022"),                          # RSS AKS node OS
    "930504": I(),                                            # RSS capacity restriction
    "930505": R("limited to South Central US"),               # RSS region-limited early date
    "930506": E(["NDv2"], when=date(2028, 6, 30)),            # RSS, list item "ND40rs_v2 VMs"
    "930507": E(["HBv3"], when=S27),                          # RSS, "retired on<br>September 30, 2027"
}


@pytest.fixture(scope="module")
def derived():
    items, _ = au.parse_json((HERE / "api-v2-unseen2.json").read_bytes(), "api-v2-unseen2.json")
    items += au.parse_rss((HERE / "rss-v2-unseen2.xml").read_bytes(), "rss-v2-unseen2.xml")
    return au.derive_retirements(items)


def test_every_record_is_pinned(derived):
    assert set(derived.readings) == set(EXPECTED)


@pytest.mark.parametrize("record_id", list(EXPECTED), ids=list(EXPECTED))
def test_record_outcome(derived, record_id):
    r = derived.readings[record_id]
    want = EXPECTED[record_id]
    if want[0] == "entry":
        assert (r.kind, r.series, r.sizes, r.retires_on) == want, r.reason
    else:
        assert r.kind == want[0], r
        assert want[1] in r.reason


def test_two_sizes_of_a_series_do_not_redate_the_series(derived):
    """930007 (two NCasT4_v3 sizes, June 2028, modified later) must not move 930003's date for the
    whole NCasT4_v3 series (March 2028): the larger sizes still retire in March."""
    got = {r.id: (r.series, r.sizes, r.retires_on) for r in derived.retirements}
    assert got["azure-updates-930003"] == (("NCasT4_v3",), (), M28)
    assert got["azure-updates-930007"] == ((), EXPECTED["930007"][2], date(2028, 6, 1))
    assert any("both kept" in c and "930007" in c for c in derived.conflicts)
    merged = cat.merge([], list(derived.retirements), [], needs_review=derived.needs_review)
    assert merged.retirements_for("Standard_NC64as_T4_v3")[0].retires_on == M28


def test_reminders_join_the_builtin_entries(derived):
    merged = cat.merge(cat.load_builtin(), list(derived.retirements), [], needs_review=derived.needs_review)
    by_id = {r.id: r for r in merged.retirements}
    assert "https://azure.microsoft.com/updates?id=930005" in by_id["lsv2-2028-11-15"].urls
    assert "https://azure.microsoft.com/updates?id=930403" in by_id["lsv2-2028-11-15"].urls
    assert "https://azure.microsoft.com/updates?id=930501" in by_id["nvv4-2026-09-30"].urls
    assert not any(i.startswith("azure-updates-93000") and i.endswith(("5", "6")) for i in by_id)
