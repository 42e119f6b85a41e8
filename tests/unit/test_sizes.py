"""VM size names and series matching (scanner/core/sizes.py).

The trap rows come from /work/shared/reference/README.md ("Size-name traps") and the retirement
pages under /work/shared/reference/docs/: a series must cover exactly its sizes.
"""

import pytest

from scanner.core.sizes import (
    covers,
    parse_series,
    parse_series_list,
    parse_size,
    series_name,
    split_series,
)
from scanner.errors import SizeNameError

# --------------------------------------------------------------------------- parse_size

# name -> (tier, family, vcpus, constrained, features, accelerator, version, promo, canonical)
PARSE_ROWS = [
    ("Standard_DS11-1_v2", ("Standard", "DS", 11, 1, "", "", 2, False, "Standard_DS11-1_v2")),
    ("Basic_A2", ("Basic", "A", 2, None, "", "", None, False, "Basic_A2")),
    ("Standard_NC24ads_A100_v4", ("Standard", "NC", 24, None, "ads", "A100", 4, False, "Standard_NC24ads_A100_v4")),
    ("Standard_DC4as_cc_v5", ("Standard", "DC", 4, None, "as", "cc", 5, False, "Standard_DC4as_cc_v5")),
    ("Standard_D2_v2_Promo", ("Standard", "D", 2, None, "", "", 2, True, "Standard_D2_v2_Promo")),
    ("standard_ds2_V2", ("Standard", "DS", 2, None, "", "", 2, False, "Standard_DS2_v2")),
    ("STANDARD_NC24ADS_A100_V4", ("Standard", "NC", 24, None, "ads", "A100", 4, False, "Standard_NC24ads_A100_v4")),
    ("Standard_H16mr_Promo", ("Standard", "H", 16, None, "mr", "", None, True, "Standard_H16mr_Promo")),
    ("Standard_HB120-16rs_v3", ("Standard", "HB", 120, 16, "rs", "", 3, False, "Standard_HB120-16rs_v3")),
    ("Standard_GS4-8", ("Standard", "GS", 4, 8, "", "", None, False, "Standard_GS4-8")),
    ("Standard_M416s_8_v2", ("Standard", "M", 416, None, "s", "8", 2, False, "Standard_M416s_8_v2")),
    ("Standard_B1ls", ("Standard", "B", 1, None, "ls", "", None, False, "Standard_B1ls")),
    ("Standard_NV4ads_V710_v5", ("Standard", "NV", 4, None, "ads", "V710", 5, False, "Standard_NV4ads_V710_v5")),
    ("Standard_ND128isr_NDR_GB200_v6",
     ("Standard", "ND", 128, None, "isr", "NDR_GB200", 6, False, "Standard_ND128isr_NDR_GB200_v6")),
    ("Standard_A0", ("Standard", "A", 0, None, "", "", None, False, "Standard_A0")),
    (" Standard_E4-2s_v3 ", ("Standard", "E", 4, 2, "s", "", 3, False, "Standard_E4-2s_v3")),
]


@pytest.mark.parametrize("name,expected", PARSE_ROWS, ids=[r[0].strip() for r in PARSE_ROWS])
def test_parse_size_reads_every_part(name, expected):
    s = parse_size(name)
    got = (s.tier, s.family, s.vcpus, s.constrained, s.features, s.accelerator, s.version, s.promo, s.name)
    assert got == expected


BAD_SIZES = ["Standard_LRS", "Standard_V2", "D4s_v5", "Standard_", "Standard_D", "Standard_D2_v0",
             "Premium_D2_v3", "Standard_D2s_v3_extra!", "", "Standard_Q4s_v9", "Standard_D2__v3"]


@pytest.mark.parametrize("name", BAD_SIZES, ids=[n or "empty" for n in BAD_SIZES])
def test_parse_size_refuses_unknown_shapes_naming_the_input(name):
    with pytest.raises(SizeNameError) as err:
        parse_size(name)
    assert repr(name) in str(err.value)


def test_parse_size_refuses_non_strings():
    with pytest.raises(SizeNameError):
        parse_size(None)  # type: ignore[arg-type]


def test_promo_and_case_do_not_change_size_identity():
    assert parse_size("Standard_D2_v2_Promo").key == parse_size("standard_d2_V2").key
    assert parse_size("Standard_DS2_v2").key != parse_size("Standard_D2_v2").key


# --------------------------------------------------------------------------- series_name

SERIES_NAME_ROWS = [
    ("Standard_DS3_v2", "DSv2"),
    ("Standard_DS11-1_v2", "DSv2"),
    ("Standard_DS2_v2_Promo", "DSv2"),
    ("Standard_D2_v2", "Dv2"),
    ("Standard_D4s_v5", "Dsv5"),
    ("Standard_D2ds_v5", "Ddsv5"),
    ("Standard_D2ls_v5", "Dlsv5"),
    ("Standard_D2s_v3", "Dsv3"),
    ("Standard_D2_v3", "Dv3"),
    ("Standard_D1", "D"),
    ("Standard_DS1", "DS"),
    ("Standard_NV12s_v3", "NVv3"),
    ("Standard_NV4ahs_v4", "NVv4"),
    ("Standard_NV6", "NV"),
    ("Standard_NV6ads_A10_v5", "NVadsA10v5"),
    ("Standard_NC24ads_A100_v4", "NCadsA100v4"),
    ("Standard_NC4as_T4_v3", "NCasT4v3"),
    ("Standard_NC24rs_v3", "NCv3"),
    ("Standard_B2ms", "B"),
    ("Standard_B1ls", "B"),
    ("Standard_B2s_v2", "Bsv2"),
    ("Standard_B2ts_v2", "Bsv2"),
    ("Standard_B2als_v2", "Basv2"),
    ("Standard_B2pts_v2", "Bpsv2"),
    ("Standard_HB120rs_v2", "HBv2"),
    ("Standard_HB120-96rs_v2", "HBv2"),
    ("Standard_HB60rs", "HB"),
    ("Standard_HC44-16rs", "HC"),
    ("Standard_H16mr_Promo", "H"),
    ("Basic_A2", "A"),
    ("Standard_A11", "A"),
    ("Standard_A2_v2", "Av2"),
    ("Standard_A2m_v2", "Amv2"),
    ("Standard_E64i_v3", "Ev3"),
    ("Standard_E64is_v3", "Esv3"),
    ("Standard_DC8_v2", "DCsv2"),
    ("Standard_DC1s_v2", "DCsv2"),
    ("Standard_DC4as_cc_v5", "DCas_cc_v5"),
    ("Standard_GS4-8", "GS"),
    ("Standard_L8s_v2", "Lsv2"),
    ("Standard_L4s", "Ls"),
    ("Standard_F16s", "Fs"),
    ("Standard_F2s_v2", "Fsv2"),
    ("Standard_M208ms_v2", "Mv2"),
    ("Standard_M32ms_v2", "Msv2"),
    ("Standard_M192ids_v2", "Mdsv2"),
    ("Standard_M64ms", "M"),
]


@pytest.mark.parametrize("size,expected", SERIES_NAME_ROWS, ids=[r[0] for r in SERIES_NAME_ROWS])
def test_series_name_is_the_canonical_successor_line(size, expected):
    assert series_name(size) == expected


@pytest.mark.parametrize("size", [r[0] for r in SERIES_NAME_ROWS])
def test_series_name_reads_back_as_a_series_covering_the_size(size):
    assert parse_series(series_name(size)).matches(size)


def test_series_name_names_bad_input():
    with pytest.raises(SizeNameError, match="Standard_LRS"):
        series_name("Standard_LRS")


# --------------------------------------------------------------------------- parse_series: traps

# (series text as announced, size, covered?)
TRAPS = [
    # B (v1) is not Bsv2/Basv2/Bpsv2
    ("B series", "Standard_B2ms", True),
    ("B series", "Standard_B1ls", True),
    ("B series", "Standard_B20ms", True),
    ("B series", "Standard_B2s_v2", False),
    ("B series", "Standard_B2ats_v2", False),
    ("B series", "Standard_B2pls_v2", False),
    ("B-series (V1)", "Standard_B4ms", True),
    ("B-series (V1)", "Standard_B4ms_v2", False),
    ("Bs", "Standard_B1s", True),
    ("Bs", "Standard_B2s_v2", False),
    ("Bsv2", "Standard_B2ts_v2", True),
    ("Bsv2", "Standard_B2ms", False),
    ("Bsv2", "Standard_B2as_v2", False),
    # Ls is not Lsv2
    ("Ls", "Standard_L4s", True),
    ("Ls", "Standard_L32s", True),
    ("Ls", "Standard_L8s_v2", False),
    ("Ls", "Standard_L8s_v3", False),
    ("Lsv2", "Standard_L8s_v2", True),
    ("Lsv2", "Standard_L4s", False),
    ("Lsv2", "Standard_L8as_v3", False),
    # NV is not NVv3 nor NVadsA10 v5
    ("NV", "Standard_NV6", True),
    ("NV", "Standard_NV24_Promo", True),
    ("NV", "Standard_NV12s_v3", False),
    ("NV", "Standard_NV6ads_A10_v5", False),
    ("NV", "Standard_NV4as_v4", False),
    ("NVv3", "Standard_NV12s_v3", True),
    ("NVv3", "Standard_NV12hs_v3", True),
    ("NVv3", "Standard_NV6", False),
    ("NVv3", "Standard_NV4as_v4", False),
    ("NVv4", "Standard_NV32ahs_v4", True),
    ("NVv4", "Standard_NV12s_v3", False),
    # H is not HB/HC; HB is not HBv2; HBv2 is not HBv3
    ("H", "Standard_H16mr", True),
    ("H", "Standard_H8_Promo", True),
    ("H", "Standard_HB60rs", False),
    ("H", "Standard_HC44rs", False),
    ("H_Promo", "Standard_H16m_Promo", True),
    ("H_Promo", "Standard_H16m", False),
    ("HB", "Standard_HB60rs", True),
    ("HB", "Standard_HB60-45rs", True),
    ("HB", "Standard_HB120rs_v2", False),
    ("HBv2", "Standard_HB120rs_v2", True),
    ("HBv2", "Standard_HB120-64rs_v2", True),
    ("HBv2", "Standard_HB120rs_v3", False),
    ("HBv2", "Standard_HB60rs", False),
    ("HC", "Standard_HC44rs", True),
    ("HC", "Standard_HC44-32rs", True),
    ("HC", "Standard_HB60rs", False),
    # D (v1) is not Dv2/Dv3..; Dv2 is not DSv2; "Dsv2" means DSv2
    ("D-series", "Standard_D1", True),
    ("D-series", "Standard_D14", True),
    ("D-series", "Standard_D2_v2", False),
    ("D-series", "Standard_D2_v3", False),
    ("D-series", "Standard_D4s_v5", False),
    ("D-series", "Standard_DS1", False),
    ("Ds", "Standard_DS14", True),
    ("Ds", "Standard_D1", False),
    ("Ds", "Standard_DS1_v2", False),
    ("Dv2", "Standard_D2_v2", True),
    ("Dv2", "Standard_D11_v2", True),
    ("Dv2", "Standard_D15_v2", True),
    ("Dv2", "Standard_D2_v2_Promo", True),
    ("Dv2", "Standard_DS2_v2", False),
    ("Dv2", "Standard_D2_v3", False),
    ("Dsv2", "Standard_DS2_v2", True),
    ("Dsv2", "Standard_DS11-1_v2", True),
    ("Dsv2", "Standard_DS2_v2_Promo", True),
    ("Dsv2", "Standard_D2_v2", False),
    ("DSv2-series", "standard_ds2_V2", True),
    ("Dsv2", "Standard_D2s_v3", False),
    ("Dv3", "Standard_D2_v3", True),
    ("Dv3", "Standard_D2s_v3", False),
    ("Dsv3", "Standard_D64s_v3", True),
    ("Dsv3", "Standard_D2_v3", False),
    ("Dsv3", "Standard_D2s_v4", False),
    ("Dsv3", "Standard_D2ds_v5", False),
    # A families
    ("Basic A", "Basic_A4", True),
    ("Basic A", "Standard_A11", True),
    ("Av1", "Standard_A0", True),
    ("Av1", "Basic_A0", True),
    ("Av1", "Standard_A1_v2", False),
    ("Av2", "Standard_A8_v2", True),
    ("Av2", "Standard_A2m_v2", False),
    ("Amv2", "Standard_A8m_v2", True),
    ("Amv2", "Standard_A8_v2", False),
    # confidential child-capable
    ("cc_v5", "Standard_DC4as_cc_v5", True),
    ("cc_v5", "Standard_DC4ads_cc_v5", True),
    ("cc_v5", "Standard_EC16as_cc_v5", True),
    ("cc_v5", "Standard_EC16ads_cc_v5", True),
    ("cc_v5", "Standard_DC4as_v5", False),
    ("cc_v5", "Standard_DC4es_v5", False),
    ("DCas_cc_v5", "Standard_DC4ads_cc_v5", False),
    # NC / ND generations and accelerators
    ("NC", "Standard_NC24r", True),
    ("NC", "Standard_NC6_Promo", True),
    ("NC", "Standard_NC6s_v3", False),
    ("NCv3", "Standard_NC24rs_v3", True),
    ("NCv3", "Standard_NC4as_T4_v3", False),
    ("NCv3-NC24rs", "Standard_NC24rs_v3", True),
    ("NCv3-NC24rs", "Standard_NC24s_v3", False),
    ("NCv2", "Standard_NC6s_v2", True),
    ("NCv2", "Standard_NC6s_v3", False),
    ("ND", "Standard_ND24rs", True),
    ("ND", "Standard_ND40rs_v2", False),
    ("NC A100 v4", "Standard_NC24ads_A100_v4", True),
    ("NC A100 v4", "Standard_NC40ads_H100_v5", False),
    ("NCads_H100_v5", "Standard_NC80adis_H100_v5", True),
    ("NVadsA10_v5", "Standard_NV36ads_A10_v5", True),
    ("NVadsA10_v5", "Standard_NV4ads_V710_v5", False),
    ("NP", "Standard_NP10s", True),
    # isolated and constrained sizes belong to their series
    ("Ev3", "Standard_E64i_v3", True),
    ("Ev3", "Standard_E64is_v3", False),
    ("Esv3", "Standard_E64is_v3", True),
    ("Esv3", "Standard_E32-8s_v3", True),
    ("Esv3", "Standard_E2s_v4", False),
    ("DCsv2", "Standard_DC8_v2", True),
    ("DCsv2", "Standard_DC2s_v3", False),
    ("DCsv3", "Standard_DC1s_v3", True),
    ("DCsv3", "Standard_DC1ds_v3", False),
    ("Gs", "Standard_GS4-8", True),
    ("Gs", "Standard_G5", False),
    ("G", "Standard_G5", True),
    ("F", "Standard_F16", True),
    ("F", "Standard_F16s", False),
    ("Fs", "Standard_F16s", True),
    ("Fs", "Standard_F16s_v2", False),
    ("Fsv2", "Standard_F72s_v2", True),
    ("M-series", "Standard_M8-2ms", True),
    ("M-series", "Standard_M208ms_v2", False),
    ("Standard_M192ids_v2", "Standard_M192ids_v2", True),
    ("Standard_M192ids_v2", "Standard_M192idms_v2", False),
    # not sizes at all
    ("D-series", "Standard_LRS", False),
    ("D-series", "", False),
]


@pytest.mark.parametrize("text,size,covered", TRAPS, ids=[f"{t}|{s or 'empty'}" for t, s, _ in TRAPS])
def test_series_covers_exactly_its_sizes(text, size, covered):
    assert covers(text, size) is covered


# --------------------------------------------------------------------------- parse_series: spellings

SAME_SERIES = [
    ("Dsv2", "DSv2-series"),
    ("DSv2", "dsv2"),
    ("D-series", "D"),
    ("Standard D-series", "Dv1"),
    ("Ds-series", "DS"),
    ("Dsv1", "Ds"),
    ("B series", "B-series (V1)"),
    ("Bs", "Bv1"),
    ("Basic A", "Av1"),
    ("A-series", "Basic_A"),
    ("NVv3 Series", "NVv3"),
    ("NV-Series", "NV"),
    ("NC_Promo", "NC Promo"),
    ("HB-Series", "HB"),
    ("Gs-series", "GS"),
    ("NVadsA10_v5", "NVads A10 v5"),
    ("NCads_H100_v5", "NCadsH100_v5"),
    ("NCasT4_v3", "NCas T4 v3"),
    ("NCv3-NC24rs Series", "Standard_NC24rs_v3"),
    ("NC24rs_v3", "Standard_NC24rs_v3"),
    ("DSv3", "Dsv3"),
    ("FSV2", "Fsv2"),
]


@pytest.mark.parametrize("a,b", SAME_SERIES, ids=[f"{a}={b}" for a, b in SAME_SERIES])
def test_announcement_spellings_of_one_series_are_equal(a, b):
    assert parse_series(a).name == parse_series(b).name


BAD_SERIES = ["", "   ", "Dsv3-Type1", "Memory-optimized D-series", "Mdsv2 isolated", "the B series", "Promo", "Standard", "Premium SSD", "Av2/Amv2", "Dv2 and Dsv2",
              "NCv3-HB60rs", "NCv3-Type2", "Standard_LRS", "X-series", "(V1)", "D v2 v3"]


@pytest.mark.parametrize("text", BAD_SERIES, ids=[t.strip() or "blank" for t in BAD_SERIES])
def test_unknown_series_text_is_an_error_naming_it(text):
    with pytest.raises(SizeNameError) as err:
        parse_series(text)
    assert repr(text) in str(err.value)


# --------------------------------------------------------------------------- lists

LISTS = [
    ("F, Fs, Fsv2, Lsv2, G, Gs, Av2, Amv2, and B series",
     ["F", "Fs", "Fsv2", "Lsv2", "G", "GS", "Av2", "Amv2", "B"]),
    ("D-series, Ds-series Dv2-series, Dsv2-series Ls-series", ["D", "DS", "Dv2", "DSv2", "Ls"]),
    ("DCas_cc_v5/DCads_cc_v5-series", ["DCas_cc_v5", "DCads_cc_v5"]),
    ("NVv3 and NVv4-series", ["NVv3", "NVv4"]),
    ("Av2/Amv2-series", ["Av2", "Amv2"]),
    ("B-series (V1)", ["B"]),
    ("Dv3, Dsv3, Ev3, and Esv3", ["Dv3", "Dsv3", "Ev3", "Esv3"]),
    ("NVv3 or NVv4- series VMs", ["NVv3", "NVv4"]),
    ("Azure NVv4-series virtual machines", ["NVv4"]),
    ("HBv2-series virtual machines (VMs)", ["HBv2"]),
    ("H-series Promo", ["H_Promo"]),
    ("Dv2 and Dsv2-series", ["Dv2", "DSv2"]),
]


@pytest.mark.parametrize("text,names", LISTS, ids=[t for t, _ in LISTS])
def test_series_lists_as_announced(text, names):
    assert [s.name for s in parse_series_list(text)] == names


def test_series_list_error_names_the_part():
    with pytest.raises(SizeNameError) as err:
        parse_series_list("Dsv3-Type1, Dsv3-Type2, Esv3-Type1")
    assert "'Dsv3-Type1'" in str(err.value)


def test_split_series_keeps_v1_marker_with_its_series():
    assert split_series("B-series (V1)") == ["B-series (V1)"]
