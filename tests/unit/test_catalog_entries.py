"""One row per built-in catalogue entry: its exact date, sizes it covers, and neighbours it must not.

Dates and size lists are from the retirement pages in /work/shared/reference/docs/ (see
scanner/data/retirements.toml for the page of each entry). Adding an entry to the catalogue
without a row here fails `test_every_builtin_entry_has_a_row`.
"""

from datetime import date

import pytest

from scanner.core.catalog import load_builtin, merge

# id -> (retires_on, covered sizes, neighbour sizes that must NOT be covered by this entry)
ROWS = {
    "h-2022-08-31": (date(2022, 8, 31),
                     ["Standard_H8", "Standard_H16mr", "Standard_H8m_Promo", "Standard_H16r_Promo"],
                     ["Standard_HB60rs", "Standard_HC44rs", "Standard_HB120rs_v2", "Standard_HX176rs"]),
    "ncv2-2023-08-31": (date(2023, 8, 31),
                        ["Standard_NC6s_v2", "Standard_NC24rs_v2"],
                        ["Standard_NC6s_v3", "Standard_NC6", "Standard_ND40rs_v2"]),
    "nc-2023-09-06": (date(2023, 9, 6),
                      ["Standard_NC6", "Standard_NC24r", "Standard_NC12_Promo"],
                      ["Standard_NC6s_v2", "Standard_NC6s_v3", "Standard_NC4as_T4_v3", "Standard_NCC40ads_H100_v5"]),
    "nd-2023-09-06": (date(2023, 9, 6),
                      ["Standard_ND6s", "Standard_ND24rs"],
                      ["Standard_ND40rs_v2", "Standard_ND96asr_v4", "Standard_NP10s"]),
    "nv-2023-09-06": (date(2023, 9, 6),
                      ["Standard_NV6", "Standard_NV24", "Standard_NV12_Promo"],
                      ["Standard_NV12s_v3", "Standard_NV4as_v4", "Standard_NV6ads_A10_v5"]),
    "av1-2024-08-31": (date(2024, 8, 31),
                       ["Basic_A0", "Basic_A4", "Standard_A0", "Standard_A7", "Standard_A11"],
                       ["Standard_A1_v2", "Standard_A8m_v2", "Standard_B1s"]),
    "hb-2024-08-31": (date(2024, 8, 31),
                      ["Standard_HB60rs", "Standard_HB60-15rs"],
                      ["Standard_HB120rs_v2", "Standard_HB120rs_v3", "Standard_H16r", "Standard_HC44rs"]),
    "dcesv5-dcedsv5-ecesv5-ecedsv5-2025-09-12": (
        date(2025, 9, 12),
        ["Standard_DC2es_v5", "Standard_DC96eds_v5", "Standard_EC2es_v5", "Standard_EC64eds_v5"],
        ["Standard_DC2as_v5", "Standard_DC2es_v6", "Standard_EC2ads_v5", "Standard_DC2as_cc_v5"]),
    "ncv3-2025-09-30": (date(2025, 9, 30),
                        ["Standard_NC6s_v3", "Standard_NC12s_v3", "Standard_NC24s_v3", "Standard_NC24rs_v3"],
                        ["Standard_NC4as_T4_v3", "Standard_NC24ads_A100_v4", "Standard_NC6s_v2"]),
    "ncv3-nc24rs-2025-09-30": (date(2025, 9, 30),
                               ["Standard_NC24rs_v3"],
                               ["Standard_NC24s_v3", "Standard_NC6s_v3", "Standard_NC24rs_v2"]),
    "dcsv2-2026-06-30": (date(2026, 6, 30),
                         ["Standard_DC1s_v2", "Standard_DC4s_v2", "Standard_DC8_v2"],
                         ["Standard_DC1s_v3", "Standard_DC2as_v5", "Standard_D2s_v2"]),
    "dcas-dcads-cc-v5-2026-09-01": (date(2026, 9, 1),
                                    ["Standard_DC4as_cc_v5", "Standard_DC96ads_cc_v5"],
                                    ["Standard_DC4as_v5", "Standard_DC4ads_v5", "Standard_EC4as_cc_v5"]),
    "ecas-ecads-cc-v5-2026-09-01": (date(2026, 9, 1),
                                    ["Standard_EC4as_cc_v5", "Standard_EC64ads_cc_v5"],
                                    ["Standard_EC4as_v5", "Standard_DC4as_cc_v5", "Standard_E4as_v5"]),
    "nvv3-2026-09-30": (date(2026, 9, 30),
                        ["Standard_NV12s_v3", "Standard_NV12hs_v3", "Standard_NV48s_v3", "Standard_NV32ms_v3"],
                        ["Standard_NV6", "Standard_NV4as_v4", "Standard_NV6ads_A10_v5"]),
    "nvv4-2026-09-30": (date(2026, 9, 30),
                        ["Standard_NV4as_v4", "Standard_NV32ahs_v4"],
                        ["Standard_NV12s_v3", "Standard_NV4ads_V710_v5", "Standard_NV36ads_A10_v5"]),
    "m192-isolated-v2-2027-03-31": (date(2027, 3, 31),
                                    ["Standard_M192idms_v2", "Standard_M192ids_v2", "Standard_M192ims_v2",
                                     "Standard_M192is_v2"],
                                    ["Standard_M128ms_v2", "Standard_M192ids_v3", "Standard_M208ms_v2",
                                     "Standard_M64ds_v2"]),
    "hbv2-2027-05-31": (date(2027, 5, 31),
                        ["Standard_HB120rs_v2", "Standard_HB120-16rs_v2"],
                        ["Standard_HB120rs_v3", "Standard_HB60rs", "Standard_HB176rs_v4"]),
    "hc-2027-05-31": (date(2027, 5, 31),
                      ["Standard_HC44rs", "Standard_HC44-16rs", "Standard_HC44-32rs"],
                      ["Standard_HB60rs", "Standard_H16r", "Standard_HX176rs"]),
    "np-2027-05-31": (date(2027, 5, 31),
                      ["Standard_NP10s", "Standard_NP20s", "Standard_NP40s"],
                      ["Standard_ND6s", "Standard_NC4as_T4_v3"]),
    "d-ds-dv2-dsv2-2028-05-01": (date(2028, 5, 1),
                                 ["Standard_D1", "Standard_D14", "Standard_DS1", "Standard_DS14", "Standard_D2_v2",
                                  "Standard_D15_v2", "Standard_D2_v2_Promo", "Standard_DS2_v2",
                                  "Standard_DS11-1_v2", "Standard_DS14-8_v2", "Standard_DS3_v2_Promo",
                                  "standard_ds2_V2"],
                                 ["Standard_D2_v3", "Standard_D2s_v3", "Standard_D2s_v5", "Standard_D2ds_v4",
                                  "Standard_DC2s_v2", "Standard_L4s"]),
    "ls-2028-05-01": (date(2028, 5, 1),
                      ["Standard_L4s", "Standard_L32s"],
                      ["Standard_L8s_v2", "Standard_L8s_v3", "Standard_L8as_v3", "Standard_DS4"]),
    "av2-amv2-2028-11-15": (date(2028, 11, 15),
                            ["Standard_A1_v2", "Standard_A8_v2", "Standard_A2m_v2", "Standard_A8m_v2"],
                            ["Standard_A1", "Basic_A1", "Standard_B2s_v2"]),
    "b-v1-2028-11-15": (date(2028, 11, 15),
                        ["Standard_B1ls", "Standard_B1s", "Standard_B1ms", "Standard_B2s", "Standard_B2ms",
                         "Standard_B4ms", "Standard_B8ms", "Standard_B12ms", "Standard_B16ms", "Standard_B20ms"],
                        ["Standard_B2s_v2", "Standard_B2ts_v2", "Standard_B2as_v2", "Standard_B2ats_v2",
                         "Standard_B2pls_v2", "Standard_B2pts_v2"]),
    "f-fs-fsv2-2028-11-15": (date(2028, 11, 15),
                             ["Standard_F1", "Standard_F16", "Standard_F1s", "Standard_F16s", "Standard_F2s_v2",
                              "Standard_F72s_v2"],
                             ["Standard_F2als_v6", "Standard_FX4mds", "Standard_F2ams_v6"]),
    "g-gs-2028-11-15": (date(2028, 11, 15),
                        ["Standard_G1", "Standard_G5", "Standard_GS1", "Standard_GS5", "Standard_GS4-8"],
                        ["Standard_E2s_v3", "Standard_L8s_v2"]),
    "lsv2-2028-11-15": (date(2028, 11, 15),
                        ["Standard_L8s_v2", "Standard_L80s_v2"],
                        ["Standard_L4s", "Standard_L8s_v3", "Standard_L8as_v3"]),
    "dcsv3-dcdsv3-2029-10-31": (date(2029, 10, 31),
                                ["Standard_DC1s_v3", "Standard_DC48s_v3", "Standard_DC1ds_v3"],
                                ["Standard_DC1s_v2", "Standard_DC2as_v5", "Standard_D2s_v3"]),
    "dv3-dsv3-2029-11-15": (date(2029, 11, 15),
                            ["Standard_D2_v3", "Standard_D64_v3", "Standard_D2s_v3", "Standard_D64s_v3"],
                            ["Standard_D2_v2", "Standard_DS2_v2", "Standard_D2s_v4", "Standard_D2ds_v5",
                             "Standard_DC2s_v3", "Standard_E2s_v3"]),
    "ev3-esv3-2029-11-15": (date(2029, 11, 15),
                            ["Standard_E2_v3", "Standard_E64_v3", "Standard_E64i_v3", "Standard_E2s_v3",
                             "Standard_E64is_v3", "Standard_E4-2s_v3", "Standard_E64-32s_v3"],
                            ["Standard_E2s_v4", "Standard_E2as_v4", "Standard_E2_v5", "Standard_D2s_v3",
                             "Standard_EC2as_v5"]),
}


@pytest.fixture(scope="module")
def catalog():
    return merge(load_builtin(), [], [])


def test_every_builtin_entry_has_a_row(catalog):
    assert {r.id for r in catalog.retirements} == set(ROWS)


@pytest.mark.parametrize("rid", sorted(ROWS))
def test_entry_date_is_exact(catalog, rid):
    assert catalog.get(rid).retires_on == ROWS[rid][0]


@pytest.mark.parametrize("rid,size", [(rid, s) for rid, row in sorted(ROWS.items()) for s in row[1]])
def test_entry_covers_its_sizes(catalog, rid, size):
    assert rid in [r.id for r in catalog.retirements_for(size)]


@pytest.mark.parametrize("rid,size", [(rid, s) for rid, row in sorted(ROWS.items()) for s in row[2]])
def test_entry_leaves_its_neighbours_alone(catalog, rid, size):
    assert rid not in [r.id for r in catalog.retirements_for(size)]


CURRENT_SIZES = ["Standard_D4s_v5", "Standard_D4ds_v5", "Standard_D4as_v5", "Standard_E8s_v5", "Standard_D4s_v6",
                 "Standard_B2s_v2", "Standard_F4als_v6", "Standard_L8s_v3",
                 "Standard_NC24ads_A100_v4", "Standard_NV36ads_A10_v5", "Standard_HB176rs_v4",
                 "Standard_D4pds_v5", "Standard_M416s_8_v2"]


@pytest.mark.parametrize("size", CURRENT_SIZES)
def test_current_sizes_are_not_retiring(catalog, size):
    assert catalog.retirements_for(size) == []


def test_sovereign_clouds_are_exempt_from_the_v3_wave(catalog):
    for rid in ("dv3-dsv3-2029-11-15", "ev3-esv3-2029-11-15"):
        assert set(catalog.get(rid).region_exceptions) == {"usgov", "china"}


# NCv3 has later dates in some regions (ncv3-retirement page, 2025-05-28); the page names
# Standard_NC24rs_v3 among its sizes, so the NC24rs entry carries the same extensions.
NCV3_REGIONAL = [
    ("usgovvirginia", date(2026, 6, 30)),
    ("usgovarizona", date(2026, 6, 30)),
    ("jioindiawest", date(2027, 6, 30)),
    ("chinanorth3", date(2027, 6, 30)),
    ("westeurope", date(2025, 9, 30)),
    ("usgovtexas", date(2025, 9, 30)),
    ("chinanorth2", date(2025, 9, 30)),
    ("jioindiacentral", date(2025, 9, 30)),
]


@pytest.mark.parametrize("rid", ["ncv3-2025-09-30", "ncv3-nc24rs-2025-09-30"])
@pytest.mark.parametrize(("region", "expected"), NCV3_REGIONAL, ids=[r for r, _ in NCV3_REGIONAL])
def test_ncv3_regional_dates(catalog, rid, region, expected):
    entry = catalog.get(rid)
    assert entry.retires_on_in(region) == expected
    assert entry.region_exceptions == ()  # extended regions are dated, not exempt


def test_only_ncv3_has_regional_dates(catalog):
    assert sorted(r.id for r in catalog.retirements if r.region_dates) == ["ncv3-2025-09-30",
                                                                            "ncv3-nc24rs-2025-09-30"]
