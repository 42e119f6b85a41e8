"""The feed reader at its edges: notices it must never drop, records it must survive, and patterns
whose work is linear by construction (no timing: the bound is a property of the patterns)."""

from __future__ import annotations

import json
import re
import re._parser as sre_parse
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scanner.core import sizes
from scanner.sources.feed import derive_retirements, read_announcement
from scanner.sources.feed import reading as reading_mod
from scanner.sources.feed import records as records_mod
from scanner.sources.feed.records import announcement_from_record, html_to_text, parse_json
from scanner.sources.http import retry_after, safe_url


def rec(**kw) -> dict:
    base = {"id": "700001", "title": "Retirement: Av2-series VMs", "tags": ["Retirements"], "products": [],
            "description": "<p>Av2-series VMs will be retired on November 15, 2028.</p>",
            "created": "2026-01-01T00:00:00Z", "modified": "2026-01-02T00:00:00Z"}
    base.update(kw)
    return base


def read(**kw):
    return read_announcement(announcement_from_record(rec(**kw), "test"))


# --------------------------------------------------------------------------- notices never dropped

# The real notice quoted in issue 12 (its title, and the four series its text names); the date is the
# one Learn gives for DCas_cc_v5/DCads_cc_v5 and ECas_cc_v5/ECads_cc_v5 (09/01/26):
# /work/shared/reference/docs/azure-compute-docs__sizes_lifecycle_retirements-and-capacity-restrictions.md
CC_V5 = rec(id="700010", title="Nested confidential (cc_v5) VMs will be retired on September 1, 2026", tags=["Features"],
            products=["Virtual Machines"],
            description="<p>The DCas_cc_v5, DCads_cc_v5, ECas_cc_v5 and ECads_cc_v5 series will be retired. "
                        "Move your workloads to DCasv5 or ECasv5.</p>")


def test_nested_confidential_cc_v5_notice_becomes_an_entry_even_untagged():
    r = read_announcement(announcement_from_record(CC_V5, "test"))
    assert (r.kind, r.series, r.retires_on) == (
        "entry", ("DCas_cc_v5", "DCads_cc_v5", "ECas_cc_v5", "ECads_cc_v5"), date(2026, 9, 1))
    for size, series in [("Standard_DC4as_cc_v5", "DCas_cc_v5"), ("Standard_DC8ads_cc_v5", "DCads_cc_v5"),
                         ("Standard_EC16as_cc_v5", "ECas_cc_v5"), ("Standard_EC32ads_cc_v5", "ECads_cc_v5")]:
        assert sizes.series_name(size) == series and sizes.covers(series, size)
        assert not sizes.covers(series, size.replace("_cc_v5", "_v5"))  # DCasv5 is not retiring


@pytest.mark.parametrize("title,products,reason", [
    ("Retirement: Something about VM hosting", ["Virtual Machines"], "tagged Virtual Machines"),
    ("Older VMs will be retired next year", [], "title says VMs retire"),
    ("Retirement: GRID driver 13.x for NVv4 series VMs", ["Virtual Machines"], "'driver'"),
], ids=["tagged", "titled", "other-subject"])
def test_a_vm_retirement_notice_that_reads_as_nothing_goes_to_review_with_the_reason(title, products, reason):
    r = read(title=title, products=products, description="<p>Details will follow.</p>")
    assert r.kind == "review" and reason in r.reason


def test_a_retirement_about_something_else_is_still_ignored():
    r = read(title="Retirement: Azure Functions runtime v3", products=["Azure Functions"],
             description="<p>Runtime v3 retires on December 13, 2026.</p>")
    assert r.kind == "ignore"


@pytest.mark.parametrize("text,regions", [
    ("Dv2-series VMs in West Europe will be retired on May 1, 2027.", ["West Europe"]),
    ("Dv2-series VMs in the East US 2 and North Europe regions will be retired on May 1, 2027.",
     ["East US 2", "North Europe"]),
    ("Dv2-series VMs will be retired in UK South on May 1, 2027.", ["UK South"]),
])
def test_a_region_limited_notice_goes_to_review_naming_the_regions(text, regions):
    r = read(title="Retirement: Dv2-series VMs", description=f"<p>{text}</p>")
    assert r.kind == "review" and all(x in r.reason for x in regions) and r.retires_on == date(2027, 5, 1)


def test_a_notice_for_every_region_stays_an_entry():
    assert read(title="Retirement: Dv2-series VMs",
                description="<p>Dv2-series VMs will be retired on May 1, 2027 in all regions.</p>").kind == "entry"


# --------------------------------------------------------------------------- malformed records


@pytest.mark.parametrize("patch,problem", [
    ({"availabilities": 5}, "field 'availabilities' is 5"),
    ({"availabilities": [{"year": "2026", "month": 3}]}, "not {year, month}"),
    ({"modified": "2026-01-02T03:04:05+24:00"}, "field 'modified' is not a date"),
    ({"created": "9999-12-31T23:59:59-01:00"}, "field 'created' is not a date"),
    ({"id": 10 ** 30}, "field 'id'"),
    ({"id": True}, "field 'id'"),
], ids=["avail-int", "avail-entry", "offset-24h", "created-overflow", "id-huge", "id-bool"])
def test_a_malformed_record_is_kept_with_its_problem_and_never_raises(patch, problem):
    a = announcement_from_record(rec(**patch), "test")
    assert any(problem in p for p in a.problems), a.problems


def test_a_malformed_record_read_as_an_entry_is_also_listed_for_review_with_its_id():
    items, _ = parse_json(json.dumps({"value": [rec(availabilities=5), rec(id="700002", title="Retirement: Bv1 VMs",
                                                                        description="<p>B-series VMs retire on "
                                                                                    "November 15, 2028.</p>")]}))
    d = derive_retirements(items)
    assert {r.id for r in d.retirements} == {"azure-updates-700001", "azure-updates-700002"}
    assert [(x.id, "availabilities" in x.reason) for x in d.needs_review] == [("700001", True)]


def test_json_nested_too_deeply_or_with_huge_numbers_is_a_feed_error_not_a_crash():
    from scanner.errors import FeedError

    for body in ("[" * 100_000, '{"value": [{"id": ' + "9" * 5000 + "}]}"):
        with pytest.raises(FeedError):
            parse_json(body, "x")


# --------------------------------------------------------------------------- linear by construction

FREE_TEXT_PATTERNS = [name for name, rx in vars(reading_mod).items() if isinstance(rx, re.Pattern)]


@pytest.mark.parametrize("name", FREE_TEXT_PATTERNS)
def test_every_reading_pattern_has_a_bounded_match_width(name):
    """A pattern whose matches are at most W characters long does at most W steps of backtracking per
    start position, so a scan of n characters costs O(n * W): linear. (The 16k-letter word with "vm"
    that took 40 s went through _LIST_RE, whose token and list repeats were unbounded.)"""
    rx = getattr(reading_mod, name)
    width = sre_parse.parse(rx.pattern, rx.flags).getwidth()[1]
    assert width < 20_000, f"{name} can match {width} characters"


TAG_PATTERNS = ["_LI_RE", "_BLOCK_RE", "_TAG_RE", "_CELL_EDGE"]


@settings(max_examples=150, derandomize=True, deadline=None)
@given(st.text(alphabet='<>a"\' =/-tdli', max_size=80))
def test_no_tag_match_runs_past_the_next_angle_bracket(text):
    """Every attempt at a tag stops at the next "<", so unclosed tags ("<a <a <a ...") are read in one
    pass over the body instead of one pass per "<"."""
    for name in TAG_PATTERNS:
        for m in getattr(records_mod, name).finditer(text):
            assert "<" not in m.group(0)[1:], (name, m.group(0))


def test_unclosed_comments_and_scripts_are_left_alone_and_closed_ones_removed():
    assert html_to_text("<p>a</p><!-- x --><p>b</p><script>c</script>d") == "a\nb\nd"
    assert html_to_text("a <!-- b <!-- c") == "a <!-- b <!-- c"


# --------------------------------------------------------------------------- one Retry-After parser


@pytest.mark.parametrize("value,seconds", [
    ("3", 3.0), (" 2.5 ", 2.5), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0),
    ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0), ("soon", None), ("", None), (None, None), ("nan", None),
    ("inf", None), ("-5", None), ("9" * 400, None), ("1e999", None),
], ids=["delta", "fraction", "zero", "date", "past", "junk", "empty", "absent", "nan", "inf", "negative",
        "too-long", "overflow"])
def test_retry_after(value, seconds):
    now = 1445412480.0  # Wed, 21 Oct 2015 07:28:00 GMT
    assert retry_after(value, now=now) == seconds


def test_safe_url_drops_query_and_user_info():
    assert safe_url("https://u:p@x.example:8443/api/v2/azure?sig=SECRET") == "https://x.example:8443/api/v2/azure"
    assert safe_url("/tmp/feed.json") == "/tmp/feed.json" and safe_url("http://[") == "<unreadable URL>"


def test_the_arm_client_reads_retry_after_with_the_same_parser():
    from scanner.sources.arm import retry_wait

    assert retry_wait({"Retry-After": "7"}, 0) == 7.0
    assert retry_wait({"Retry-After": "nan"}, 2, base=1.0) == 4.0  # unreadable: its own backoff, never NaN
    assert retry_wait({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0) == 0.0


def test_rss_declaring_an_encoding_python_does_not_know_is_a_feed_error():
    from scanner.errors import FeedError
    from scanner.sources.feed import parse_feed

    with pytest.raises(FeedError, match="cannot be read"):  # found by fuzzing: LookupError from expat
        parse_feed(b'<?xml version="1.0" encoding="utf-8Infinity"?><rss><channel></channel></rss>', "x.xml")
