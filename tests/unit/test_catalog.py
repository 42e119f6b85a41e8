"""The retirement catalogue: parsing, the built-in file, extra files, merging and lookups."""

import json
from dataclasses import replace
from datetime import date, datetime, timezone

import pytest

from scanner.core.catalog import (
    Catalog,
    load_builtin,
    load_catalog,
    load_extra,
    merge,
    parse_catalog,
    retirement_to_dict,
)
from scanner.core.model import Retirement, ReviewItem
from scanner.errors import CatalogError
from tests.conftest import FIXTURES

CAT = FIXTURES / "catalog"


def feed_fixture() -> dict[str, Retirement]:
    out = {}
    for row in json.loads((CAT / "feed-derived.json").read_text()):
        out[row["id"]] = Retirement(
            id=row["id"],
            title=row["title"],
            retires_on=date.fromisoformat(row["retires_on"]),
            series=tuple(row["series"]),
            sizes=tuple(row["sizes"]),
            source="feed",
            urls=tuple(row["urls"]),
            modified=datetime.fromisoformat(row["modified"].replace("Z", "+00:00")),
        )
    return out


def feed(rid: str, series=(), sizes=(), retires_on=date(2028, 5, 1), modified=None, url=None) -> Retirement:
    return Retirement(
        id=f"azure-updates-{rid}", title=f"Retirement: announcement {rid}", retires_on=retires_on,
        series=tuple(series), sizes=tuple(sizes), source="feed",
        urls=(url or f"https://azure.microsoft.com/updates?id={rid}",), modified=modified,
    )


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def builtin():
    return load_builtin()


# --------------------------------------------------------------------------- parse_catalog

GOOD = """
[[retirement]]
id = "x-2030-01-01"
title = "X retires"
series = ["Dsv2"]
sizes = ["standard_m192ids_V2"]
retires_on = 2030-01-01
announced_on = "2029-01-02"
modified = 2029-01-03
urls = ["https://example.test/x"]
replacement_series = ["Dsv5"]
region_exceptions = ["USGov"]
notes = "  n  "
"""


def test_parse_catalog_reads_every_field():
    [r] = parse_catalog(GOOD, source="extra", origin="x.toml")
    assert r.id == "x-2030-01-01"
    assert r.retires_on == date(2030, 1, 1)
    assert r.announced_on == date(2029, 1, 2)
    assert r.modified == utc(2029, 1, 3)
    assert r.series == ("Dsv2",)
    assert r.sizes == ("Standard_M192ids_v2",)  # canonical spelling
    assert r.source == "extra"
    assert r.region_exceptions == ("usgov",)
    assert r.notes == "n"


REGIONAL = """
[[retirement]]
id = "ncv3-like"
title = "NCv3 retires"
series = ["NCv3"]
retires_on = 2025-09-30
region_dates = { "US Gov Virginia" = 2026-06-30, usgovarizona = "2026-06-30", ChinaNorth3 = 2027-06-30, usgov = 2026-03-31 }
"""


def test_parse_catalog_reads_region_dates_with_arm_region_names():
    [r] = parse_catalog(REGIONAL, origin="x.toml")
    assert r.region_dates == (("chinanorth3", date(2027, 6, 30)), ("usgov", date(2026, 3, 31)),
                              ("usgovarizona", date(2026, 6, 30)), ("usgovvirginia", date(2026, 6, 30)))
    assert r.region_exceptions == ()
    assert retirement_to_dict(r)["region_dates"] == {
        "chinanorth3": "2027-06-30", "usgov": "2026-03-31", "usgovarizona": "2026-06-30",
        "usgovvirginia": "2026-06-30"}


@pytest.mark.parametrize(("location", "expected"), [
    ("usgovvirginia", date(2026, 6, 30)),
    ("US Gov Virginia", date(2026, 6, 30)),   # display names and case are read like ARM names
    ("chinanorth3", date(2027, 6, 30)),
    ("usgovtexas", date(2026, 3, 31)),        # no date of its own: its cloud's (usgov)
    ("usdodeast", date(2026, 3, 31)),         # DoD regions are Azure Government too
    ("chinanorth2", date(2025, 9, 30)),       # china has no cloud-wide date here
    ("westeurope", date(2025, 9, 30)),
    ("", date(2025, 9, 30)),
], ids=["region", "display-name", "china-region", "cloud-date", "dod-region", "other-china", "public", "empty"])
def test_retires_on_in_picks_the_region_then_its_cloud_then_the_general_date(location, expected):
    [r] = parse_catalog(REGIONAL)
    assert r.retires_on_in(location) == expected
    assert r.days_left_in(location, date(2025, 9, 20)) == (expected - date(2025, 9, 20)).days


BAD_FILES = [
    ("duplicate id", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                     '[[retirement]]\nid="a"\ntitle="t"\nseries=["F"]\nretires_on=2030-01-01\n',
     ["duplicate retirement id 'a'", "#1", "#2"]),
    ("unknown key", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\nretire_on=1\n',
     ["unknown key 'retire_on'", "id 'a'"]),
    ("two unknown keys", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\nfoo=1\nbar=2\n',
     ["unknown keys 'foo', 'bar'"]),
    ("missing date", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\n', ["missing 'retires_on'"]),
    ("bad date", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on="next year"\n',
     ["retires_on = 'next year' is not a date"]),
    ("date-time date", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01T00:00:00Z\n',
     ["must be a date"]),
    ("unreadable series", '[[retirement]]\nid="a"\ntitle="t"\nseries=["Dsv3-Type1"]\nretires_on=2030-01-01\n',
     ["series 'Dsv3-Type1'"]),
    ("unreadable size", '[[retirement]]\nid="a"\ntitle="t"\nsizes=["Standard_LRS"]\nretires_on=2030-01-01\n',
     ["size 'Standard_LRS'"]),
    ("no series", '[[retirement]]\nid="a"\ntitle="t"\nretires_on=2030-01-01\n', ["names no series"]),
    ("bad id", '[[retirement]]\nid="a b"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n', ["id 'a b'"]),
    ("bad url", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\nurls=["ftp://x"]\n',
     ["'ftp://x'"]),
    ("not toml", '[[retirement]\nid=', ["not valid TOML"]),
    ("top-level key", 'version = 2\n', ["unknown top-level key 'version'"]),
    ("series not a list", '[[retirement]]\nid="a"\ntitle="t"\nseries=3\nretires_on=2030-01-01\n',
     ["series must be a list of strings"]),
    ("region_dates not a table", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                                 'region_dates=["usgovvirginia"]\n',
     ["id 'a'", "region_dates must be a table of region = date"]),
    ("bad region name", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                        'region_dates={"us-gov-virginia"=2031-01-01}\n',
     ["id 'a'", "region_dates region 'us-gov-virginia' is not an Azure region or cloud name"]),
    ("bad region date", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                        'region_dates={usgovvirginia="mid 2031"}\n',
     ["id 'a'", "region_dates.usgovvirginia = 'mid 2031' is not a date"]),
    ("region date-time", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                         'region_dates={usgovvirginia=2031-01-01T00:00:00Z}\n',
     ["id 'a'", "region_dates.usgovvirginia", "must be a date"]),
    ("region named twice", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                           'region_dates={usgovvirginia=2031-01-01, "US Gov Virginia"=2031-02-01}\n',
     ["id 'a'", "names region 'usgovvirginia' twice"]),
    ("region excepted and dated", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                                  'region_exceptions=["china"]\nregion_dates={china=2031-01-01}\n',
     ["id 'a'", "'china' is both in region_exceptions", "region_dates"]),
    ("region dated in an excepted cloud", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                                          'region_exceptions=["usgov"]\nregion_dates={usdodeast=2031-01-01}\n',
     ["id 'a'", "'usdodeast' is both in region_exceptions", "its cloud"]),
    ("bad exception name", '[[retirement]]\nid="a"\ntitle="t"\nseries=["B"]\nretires_on=2030-01-01\n'
                           'region_exceptions=["us gov/virginia"]\n',
     ["id 'a'", "region_exceptions entry 'us gov/virginia' is not an Azure region or cloud name"]),
]


@pytest.mark.parametrize("text,needles", [(t, n) for _, t, n in BAD_FILES], ids=[i for i, _, _ in BAD_FILES])
def test_invalid_catalogue_is_refused_with_a_message_quoting_the_problem(text, needles):
    with pytest.raises(CatalogError) as err:
        parse_catalog(text, origin="mine.toml")
    message = str(err.value)
    assert message.startswith("mine.toml")
    for needle in needles:
        assert needle in message


@pytest.mark.parametrize("name,needle", [
    ("duplicate-id.toml", "duplicate retirement id 'dup-nvv3'"),
    ("unknown-key.toml", "unknown key 'retire_on'"),
    ("bad-series.toml", "series 'Dsv3-Type1'"),
])
def test_bad_extra_file_errors_name_the_file(name, needle):
    with pytest.raises(CatalogError) as err:
        load_extra(str(CAT / name))
    assert str(CAT / name) in str(err.value)
    assert needle in str(err.value)


def test_missing_extra_file_is_an_error_naming_it(tmp_path):
    path = tmp_path / "nope.toml"
    with pytest.raises(CatalogError) as err:
        load_extra(str(path))
    assert str(path) in str(err.value)
    assert "CATALOG_EXTRA_FILE" in str(err.value)


# --------------------------------------------------------------------------- the built-in file


def test_builtin_catalogue_is_complete_and_well_formed(builtin):
    ids = [r.id for r in builtin]
    assert len(ids) == len(set(ids)) >= 25
    for r in builtin:
        assert r.source == "builtin"
        assert r.urls, r.id
        assert r.modified is not None, r.id
        assert r.title
        if r.announced_on:
            assert r.announced_on < r.retires_on, r.id


def test_builtin_replacements_do_not_recommend_a_retiring_series(builtin):
    catalog = merge(builtin, [], [])
    from scanner.core.sizes import parse_series

    retiring = {parse_series(s).name for r in builtin for s in r.series}
    for r in builtin:
        for rep in r.replacement_series:
            assert parse_series(rep).name not in retiring or r.id.startswith("dcsv2"), (r.id, rep)
    assert catalog.get("dcsv2-2026-06-30").replacement_series == ("DCsv3", "DCdsv3")


# --------------------------------------------------------------------------- lookups


def test_retirements_for_is_soonest_first_and_tolerates_bad_names(builtin):
    extra = parse_catalog(
        '[[retirement]]\nid="early-dv2"\ntitle="t"\nseries=["Dv2"]\nretires_on=2027-01-01\n', source="extra"
    )
    catalog = merge(builtin, [], extra)
    assert [r.id for r in catalog.retirements_for("Standard_D2_v2")] == ["early-dv2", "d-ds-dv2-dsv2-2028-05-01"]
    assert catalog.retirements_for("Standard_LRS") == []
    assert catalog.retirements_for("") == []
    assert catalog.retirements_for(None) == []  # type: ignore[arg-type]
    assert catalog.retirements_for("Standard_D4s_v5") == []
    # cached answers are copies: a caller cannot change the catalogue
    catalog.retirements_for("Standard_D2_v2").clear()
    assert len(catalog.retirements_for("Standard_D2_v2")) == 2


def test_get_returns_entries_by_id(builtin):
    catalog = merge(builtin, [], [])
    assert catalog.get("b-v1-2028-11-15").retires_on == date(2028, 11, 15)
    assert catalog.get("no-such-id") is None


def test_catalog_value_built_directly_skips_unreadable_series():
    r = Retirement(id="x", title="x", retires_on=date(2030, 1, 1), series=("Dsv3-Type1", "HC"))
    catalog = Catalog((r,))
    assert [x.id for x in catalog.retirements_for("Standard_HC44rs")] == ["x"]


# --------------------------------------------------------------------------- extra file


def test_extra_file_overrides_builtin_and_reports_the_date_change(builtin):
    catalog = merge(builtin, [], load_extra(str(CAT / "extra.toml")))
    ls = catalog.get("ls-2028-05-01")
    assert ls.source == "extra"
    assert ls.retires_on == date(2028, 3, 1)
    assert "https://wiki.example.test/platform/ls-retirement" in ls.urls
    assert "https://azure.microsoft.com/updates?id=485569" in ls.urls  # built-in links kept
    assert [r.id for r in catalog.retirements_for("Standard_L8s")] == ["ls-2028-05-01"]
    assert len(catalog.conflicts) == 1
    assert "'ls-2028-05-01'" in catalog.conflicts[0]
    assert "2028-05-01" in catalog.conflicts[0] and "2028-03-01" in catalog.conflicts[0]
    # the extra file's own entry is there too
    assert [r.id for r in catalog.retirements_for("Standard_NC8as_T4_v3")] == ["contoso-ncast4v3-2030-01-31"]
    assert len(catalog) == len(builtin) + 1


def test_extra_override_with_the_same_date_is_not_a_conflict(builtin):
    catalog = merge(builtin, [], load_extra(str(CAT / "extra-same-date.toml")))
    assert catalog.conflicts == ()
    assert catalog.get("d-ds-dv2-dsv2-2028-05-01").source == "extra"


def test_extra_override_keeps_builtin_regional_dates_it_does_not_set_itself(builtin):
    extra = parse_catalog(
        '[[retirement]]\nid="ncv3-2025-09-30"\ntitle="NCv3, our deadline"\nseries=["NCv3"]\n'
        'retires_on=2025-08-31\nregion_dates={usgovvirginia=2026-05-31}\n', source="extra")
    catalog = merge(builtin, [], extra)
    ncv3 = catalog.get("ncv3-2025-09-30")
    assert ncv3.source == "extra" and ncv3.retires_on == date(2025, 8, 31)
    assert dict(ncv3.region_dates) == {"usgovvirginia": date(2026, 5, 31), "usgovarizona": date(2026, 6, 30),
                                       "jioindiawest": date(2027, 6, 30), "chinanorth3": date(2027, 6, 30)}


def test_load_catalog_merges_the_extra_file():
    catalog = load_catalog(str(CAT / "extra.toml"))
    assert catalog.get("contoso-ncast4v3-2030-01-31") is not None
    assert load_catalog().get("contoso-ncast4v3-2030-01-31") is None


# --------------------------------------------------------------------------- feed merge


def test_repeated_announcements_merge_into_the_builtin_entry_keeping_every_link(builtin):
    f = feed_fixture()
    catalog = merge(builtin, list(f.values()), [])
    assert catalog.conflicts == ()
    assert catalog.needs_review == ()
    ids = {r.id for r in catalog.retirements}
    assert not {i for i in ids if i.startswith("azure-updates-")}, "every feed item was a known retirement"
    assert len(catalog) == len(builtin)
    d = catalog.get("d-ds-dv2-dsv2-2028-05-01")
    ls = catalog.get("ls-2028-05-01")
    for entry in (d, ls):
        assert "https://azure.microsoft.com/updates?id=564772" in entry.urls
        assert "https://azure.microsoft.com/updates?id=485569" in entry.urls
    for rid in ("nvv3-2026-09-30", "nvv4-2026-09-30"):
        assert "https://azure.microsoft.com/updates?id=516070" in catalog.get(rid).urls
    assert "https://azure.microsoft.com/updates?id=548497" in catalog.get("np-2027-05-31").urls
    for rid in ("f-fs-fsv2-2028-11-15", "g-gs-2028-11-15", "lsv2-2028-11-15", "av2-amv2-2028-11-15",
                "b-v1-2028-11-15"):
        assert "https://azure.microsoft.com/updates?id=500682" in catalog.get(rid).urls
    # and a lookup still finds exactly one retirement for a D pool
    assert [r.id for r in catalog.retirements_for("Standard_DS2_v2")] == ["d-ds-dv2-dsv2-2028-05-01"]


def test_newer_announcement_with_another_date_wins_and_is_reported(builtin):
    later = feed("600001", series=["D", "Ds", "Dsv2", "Dv2"], retires_on=date(2028, 8, 1), modified=utc(2027, 2, 1))
    catalog = merge(builtin, [later], [])
    d = catalog.get("d-ds-dv2-dsv2-2028-05-01")
    assert d.retires_on == date(2028, 8, 1)
    assert d.modified == utc(2027, 2, 1)
    assert d.series == ("D", "Ds", "Dv2", "DSv2")  # still the built-in entry
    [sentence] = catalog.conflicts
    for needle in ("'d-ds-dv2-dsv2-2028-05-01'", "'azure-updates-600001'", "2028-05-01", "2028-08-01",
                   "https://azure.microsoft.com/updates?id=600001", "using 2028-08-01"):
        assert needle in sentence


def test_newer_announcement_dating_part_of_an_entry_does_not_move_the_rest(builtin):
    # Two of the entry's four series get another date: D and Ds sizes must keep 2028-05-01.
    later = feed("600002", series=["Dsv2", "Dv2"], retires_on=date(2028, 8, 1), modified=utc(2027, 2, 1))
    catalog = merge(builtin, [later], [])
    assert catalog.get("d-ds-dv2-dsv2-2028-05-01").retires_on == date(2028, 5, 1)
    assert [(r.id, r.retires_on) for r in catalog.retirements_for("Standard_D2")] == [
        ("d-ds-dv2-dsv2-2028-05-01", date(2028, 5, 1))]
    assert [(r.id, r.retires_on) for r in catalog.retirements_for("Standard_DS2_v2")] == [
        ("d-ds-dv2-dsv2-2028-05-01", date(2028, 5, 1)), ("azure-updates-600002", date(2028, 8, 1))]
    [sentence] = catalog.conflicts
    assert "both kept" in sentence and "2028-05-01" in sentence and "2028-08-01" in sentence


def test_feed_announcement_moves_the_general_date_but_keeps_regional_dates(builtin):
    later = feed("610001", series=["NCv3"], retires_on=date(2025, 10, 31), modified=utc(2027, 2, 1))
    catalog = merge(builtin, [later], [])
    ncv3 = catalog.get("ncv3-2025-09-30")
    assert ncv3.retires_on == date(2025, 10, 31)
    assert ncv3.retires_on_in("usgovvirginia") == date(2026, 6, 30)
    assert ncv3.retires_on_in("jioindiawest") == date(2027, 6, 30)
    assert ncv3.retires_on_in("eastus") == date(2025, 10, 31)


def test_older_announcement_with_another_date_loses_and_is_reported(builtin):
    older = feed("400001", series=["Ls"], retires_on=date(2027, 5, 1), modified=utc(2025, 3, 31))
    catalog = merge(builtin, [older], [])
    assert catalog.get("ls-2028-05-01").retires_on == date(2028, 5, 1)
    [sentence] = catalog.conflicts
    assert "keeping 2028-05-01" in sentence and "2027-05-01" in sentence and "'azure-updates-400001'" in sentence


def test_feed_order_does_not_matter_the_latest_modified_wins(builtin):
    a = feed("1", series=["HC"], retires_on=date(2027, 6, 30), modified=utc(2027, 1, 1))
    b = feed("2", series=["HC"], retires_on=date(2027, 7, 31), modified=utc(2027, 3, 1))
    for order in ([a, b], [b, a]):
        catalog = merge(builtin, order, [])
        assert catalog.get("hc-2027-05-31").retires_on == date(2027, 7, 31)
        assert len(catalog.conflicts) == 2


def test_feed_never_moves_a_date_pinned_by_the_extra_file(builtin):
    newer = feed("700001", series=["Ls"], retires_on=date(2028, 9, 1), modified=utc(2030, 1, 1))
    catalog = merge(builtin, [newer], load_extra(str(CAT / "extra.toml")))
    ls = catalog.get("ls-2028-05-01")
    assert ls.retires_on == date(2028, 3, 1)
    assert "https://azure.microsoft.com/updates?id=700001" in ls.urls
    assert any("'azure-updates-700001'" in c and "extra catalogue" in c for c in catalog.conflicts)


def test_new_series_in_an_announcement_become_their_own_entry(builtin):
    mixed = feed("800001", series=["Dv3", "Dav4"], retires_on=date(2029, 11, 15), modified=utc(2027, 1, 1))
    catalog = merge(builtin, [mixed], [])
    assert "https://azure.microsoft.com/updates?id=800001" in catalog.get("dv3-dsv3-2029-11-15").urls
    own = catalog.get("azure-updates-800001")
    assert own.series == ("Dav4",)
    assert own.source == "feed"
    assert [r.id for r in catalog.retirements_for("Standard_D4a_v4")] == ["azure-updates-800001"]
    assert [r.id for r in catalog.retirements_for("Standard_D4_v3")] == ["dv3-dsv3-2029-11-15"]


def test_feed_sizes_inside_a_builtin_series_are_covered_by_it(builtin):
    one = feed("900001", sizes=["Standard_HB120rs_v2"], retires_on=date(2027, 5, 31), modified=utc(2027, 1, 1))
    catalog = merge(builtin, [one], [])
    assert catalog.get("azure-updates-900001") is None
    assert "https://azure.microsoft.com/updates?id=900001" in catalog.get("hbv2-2027-05-31").urls


def test_unreadable_feed_series_go_to_needs_review_and_the_rest_is_kept(builtin):
    given = ReviewItem(id="azure-updates-1", title="t", url="u", reason="no date")
    odd = feed("950001", series=["Dsv3-Type1", "NP"], retires_on=date(2027, 5, 31), modified=utc(2027, 1, 1))
    catalog = merge(builtin, [odd], [], needs_review=[given])
    assert catalog.needs_review[0] == given
    [item] = catalog.needs_review[1:]
    assert item.id == "azure-updates-950001" and "'Dsv3-Type1'" in item.reason
    assert item.url == "https://azure.microsoft.com/updates?id=950001"
    assert "https://azure.microsoft.com/updates?id=950001" in catalog.get("np-2027-05-31").urls


def test_two_feed_items_about_a_new_series_merge_with_each_other():
    first = feed("1", series=["Dav4"], retires_on=date(2030, 1, 1), modified=utc(2027, 1, 1))
    second = feed("2", series=["Dav4"], retires_on=date(2030, 2, 1), modified=utc(2027, 2, 1))
    catalog = merge([], [second, first], [])
    [entry] = catalog.retirements
    assert entry.id == "azure-updates-1"
    assert entry.retires_on == date(2030, 2, 1)
    assert set(entry.urls) == {"https://azure.microsoft.com/updates?id=1", "https://azure.microsoft.com/updates?id=2"}


def test_retirement_to_dict_is_json_ready(builtin):
    r = replace(builtin[0], modified=utc(2026, 1, 2, 3, 4, 5))
    d = retirement_to_dict(r)
    json.dumps(d)
    assert d["retires_on"] == r.retires_on.isoformat()
    assert d["modified"] == "2026-01-02T03:04:05+00:00"
    assert d["series"] == list(r.series)


def test_catalogue_json_and_table_show_regional_dates(builtin):
    from scanner.cli.catalog import to_json, to_table

    doc = to_json(merge(builtin, [], []), date(2026, 3, 1))
    rows = {r["id"]: r for r in doc["retirements"]}
    assert rows["ncv3-2025-09-30"]["retires_on"] == "2025-09-30"
    assert rows["ncv3-2025-09-30"]["region_dates"] == {
        "chinanorth3": "2027-06-30", "jioindiawest": "2027-06-30",
        "usgovarizona": "2026-06-30", "usgovvirginia": "2026-06-30"}
    assert rows["b-v1-2028-11-15"]["region_dates"] == {}
    json.dumps(doc)
    table = to_table(doc)
    assert ("  ncv3-2025-09-30: chinanorth3 2027-06-30, jioindiawest 2027-06-30, usgovarizona 2026-06-30, "
            "usgovvirginia 2026-06-30\n") in table
    assert "b-v1-2028-11-15:" not in table
