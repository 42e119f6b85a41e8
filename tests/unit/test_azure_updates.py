"""Azure Updates: parsing every source shape, reading announcements, merging repeats (pure)."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

import scanner.sources.feed as au
from scanner.errors import FeedError
from scanner.sources.http import retry_after
from tests.conftest import FIXTURES

FEED = FIXTURES / "feed"
UTC = timezone.utc


def record(id="900001", title="Retirement: Something", description="<p>Text.</p>", tags=("Retirements",),
           modified="2026-01-10T10:00:00.1234567Z", created=None, availabilities=None, **extra):
    rec = {"id": id, "title": title, "description": description, "tags": list(tags), "products": [],
           "productCategories": [], "status": None, "created": created or modified, "modified": modified,
           "availabilities": availabilities or []}
    rec.update(extra)
    return rec


def ann(title, text, *, id="900001", tags=("Retirements",), modified=datetime(2026, 1, 10, tzinfo=UTC),
        created=None, availabilities=()):
    return au.Announcement(id=id, title=title, text=au.html_to_text(text), url=au.UPDATE_URL.format(id=id),
                           source="test", created=created or modified, modified=modified, tags=tags,
                           availabilities=availabilities)


# --------------------------------------------------------------------------- html -> text


@pytest.mark.parametrize(
    "html, text",
    [
        ("<p>One.</p><p>Two&nbsp;words</p>", "One.\nTwo words"),
        ("<ul><li>D-series</li><li>Ls-series</li></ul>", "\u2022 D-series\n\u2022 Ls-series"),
        ("<div style='x'><span>NVv3 </span><span>or</span><span>&nbsp;NVv4-</span><span>series</span></div>",
         "NVv3 or NVv4-series"),
        ("<style>p {color: red}</style><script>alert(1)</script><p>kept</p>", "kept"),
        ("plain &amp; simple", "plain & simple"),
        ("Line<br>break", "Line\nbreak"),
        ("", ""),
    ],
    ids=["paragraphs-nbsp", "list-items", "styled-spans", "script-style-dropped", "entity-only", "br", "empty"],
)
def test_html_to_text(html, text):
    assert au.html_to_text(html) == text


# --------------------------------------------------------------------------- JSON API


def test_json_api_fixture_parses_every_record():
    items, next_link = au.parse_json((FEED / "api-v2-retirements-2025-08-to-2026-08.json").read_bytes(), "api.json")
    assert len(items) == 84 and next_link is None
    nv3 = next(a for a in items if a.id == "500573")
    assert nv3.url == "https://azure.microsoft.com/updates?id=500573"
    assert nv3.modified == datetime(2025, 9, 23, 16, 0, 30, 333821, tzinfo=UTC)
    assert nv3.availabilities == ((2026, "September"),)
    assert "Standard_NV12s_v3" in nv3.text and "<" not in nv3.text
    assert not any(a.problems for a in items)


def test_json_next_link_is_returned():
    body = json.dumps({"value": [record()], "@odata.nextLink": "https://x/api/v2/azure?$skip=100"})
    items, link = au.parse_json(body, "page1")
    assert [a.id for a in items] == ["900001"] and link == "https://x/api/v2/azure?$skip=100"


@pytest.mark.parametrize(
    "body, message",
    [
        (b'{"value": [', "page.json: not valid JSON (Expecting value at line 1 column 12)"),
        (b"", "page.json: empty body"),
        (b'{"items": []}', "page.json: JSON object has no 'value' list (keys: items)"),
        (b'{"value": {"id": 1}}', "page.json: 'value' is a dict, not a list"),
        ('{"value": [{"title": "caf\u00e9"}]}'.encode("latin-1"), "page.json: body is not valid UTF-8 (byte 0xe9"),
    ],
    ids=["truncated", "empty", "no-value", "value-not-list", "latin-1-body"],
)
def test_json_bad_bodies_name_the_source(body, message):
    with pytest.raises(FeedError) as exc:
        au.parse_json(body, "page.json")
    assert str(exc.value).startswith(message)


def test_json_declared_charset_is_honoured():
    body = json.dumps({"value": [record(title="Retirement: caf\u00e9 series")]}, ensure_ascii=False).encode("latin-1")
    items, _ = au.parse_json(body, "page.json", charset="ISO-8859-1")
    assert items[0].title == "Retirement: caf\u00e9 series"


def test_json_missing_fields_become_review_items_naming_the_item():
    rec = record(id="777")
    del rec["description"]
    bad_tags = record(id="778")
    bad_tags["tags"] = "Retirements"
    items, _ = au.parse_json(json.dumps({"value": [rec, bad_tags, "junk", record(id="779", tags=("Features",))]}),
                             "feed.json")
    d = au.derive_retirements(items)
    assert [(r.id, r.reason) for r in d.needs_review] == [
        ("777", "feed.json item 777: missing field 'description'"),
    ]
    assert items[1].problems == ("field 'tags' is not a list of strings",)
    assert items[2].id == "#2" and items[2].problems == ("item #2 is a str, not an object",)
    assert d.retirements == ()


def test_empty_feed_is_not_an_error():
    items, _ = au.parse_json('{"value": []}', "empty.json")
    assert items == [] and au.derive_retirements(items).retirements == ()


# --------------------------------------------------------------------------- RSS


def test_rss_v2_real_excerpt():
    items = au.parse_rss((FEED / "rss-v2-real-excerpt-2025-05-30.xml").read_bytes(), "rss")
    assert [a.id for a in items] == ["495605", "492962", "490047"]
    quota = items[0]
    assert quota.title == "Generally Available: Azure Quota Groups"  # "[Launched] " prefix dropped
    assert quota.tags == ("Launched", "Compute", "Virtual Machines", "Features")
    assert quota.modified == datetime(2025, 5, 30, 17, 45, 1, tzinfo=UTC)
    assert items[1].is_retirement and items[2].is_retirement  # tag, then title prefix only
    assert items[1].url == "https://azure.microsoft.com/updates?id=492962"


def test_rss_legacy_feed_shape():
    (item,) = au.parse_rss((FEED / "rss-legacy-feed-2022-11-14.xml").read_bytes(), "legacy")
    assert item.id == "arm-tls-12-migration"
    assert item.url == "https://azure.microsoft.com/en-us/updates/arm-tls-12-migration/"
    assert item.created == datetime(2022, 11, 12, 0, 0, 22, tzinfo=UTC)
    assert item.text.startswith("Azure Resource Manager will be deprecating")
    assert not item.is_retirement


def test_rss_legacy_reads_atom_content_when_description_is_empty():
    xml = ('<rss xmlns:atom="http://www.w3.org/2005/Atom" version="2.0"><channel><item><guid>slug-a</guid>'
           "<title>Retirement: NVv3-series retiring on September 30, 2026</title><description/>"
           "<atom:content type=\"text\">NVv3 series VMs retire on September 30, 2026.</atom:content>"
           "<pubDate>Sat, 12 Nov 2022 00:00:22 Z</pubDate></item></channel></rss>")
    (item,) = au.parse_rss(xml, "legacy")
    assert item.text == "NVv3 series VMs retire on September 30, 2026."
    assert au.read_announcement(item).retires_on == date(2026, 9, 30)


def test_rss_partly_synthetic_excerpt():
    items = au.parse_rss((FEED / "rss-v2-excerpt-2026-08-03-one-real-item.xml").read_bytes(), "rss")
    assert [a.id for a in items] == ["568339", "568999", "569001"]
    assert items[0].text == "To enhance backup protection,\nAzure SQL Database\nnow automatically applies immutability."
    d = au.derive_retirements(items)
    assert d.retirements == () and d.needs_review == ()  # a storage retirement: no VM size


def test_rss_reconstructed_gives_the_same_catalogue_as_the_json_api():
    rss = au.parse_rss((FEED / "rss-v2-reconstructed-retirements.xml").read_bytes(), "rss")
    api, _ = au.parse_json((FEED / "api-v2-retirements-2025-08-to-2026-08.json").read_bytes(), "api")
    assert len(rss) == 81
    from_rss = {(r.id, r.series, r.sizes, r.retires_on, r.urls) for r in au.derive_retirements(rss).retirements}
    from_api = {(r.id, r.series, r.sizes, r.retires_on, r.urls) for r in au.derive_retirements(api).retirements}
    assert from_rss == from_api and len(from_rss) == 6


@pytest.mark.parametrize(
    "body, message",
    [
        (b"<rss><channel><item><title>x</item></channel></rss>", "feed.xml: malformed XML (mismatched tag"),
        (b"<feed xmlns='http://www.w3.org/2005/Atom'/>", "feed.xml: XML root is <{http://www.w3.org/2005/Atom}feed>"),
        (b"   ", "feed.xml: empty body"),
        ("<?xml version='1.0' encoding='utf-8'?><rss><channel><title>caf\u00e9</title></channel></rss>"
         .encode("latin-1"), "feed.xml: malformed XML (not well-formed (invalid token)"),
    ],
    ids=["mismatched-tag", "atom-not-rss", "blank", "latin-1-declared-utf-8"],
)
def test_rss_bad_bodies_name_the_source(body, message):
    with pytest.raises(FeedError) as exc:
        au.parse_rss(body, "feed.xml")
    assert str(exc.value).startswith(message)


def test_rss_item_without_guid_or_description_is_reviewed_by_link():
    xml = ("<rss><channel><item><link>https://azure.microsoft.com/updates/nd-series-retirement/</link>"
           "<category>Retirements</category><title>Retirement: ND-series</title></item></channel></rss>")
    (item,) = au.parse_rss(xml, "feed.xml")
    (review,) = au.derive_retirements([item]).needs_review
    assert review.id == "nd-series-retirement"
    assert review.reason == "feed.xml item nd-series-retirement: missing field 'guid'; missing field 'description'"


@pytest.mark.parametrize(
    "body, first_id",
    [(b'\xef\xbb\xbf{"value": [{"id": "1", "title": "t", "description": "d"}]}', "1"),
     (b"\n  <rss><channel><item><guid>2</guid><title>t</title></item></channel></rss>", "2")],
    ids=["json-with-bom", "rss-after-whitespace"],
)
def test_parse_feed_tells_shapes_apart_by_body(body, first_id):
    items, _ = au.parse_feed(body, "x")
    assert items[0].id == first_id


def test_parse_feed_rejects_other_bodies():
    with pytest.raises(FeedError, match=r"^page: neither JSON nor XML \(starts with b'Service Unavailable"):
        au.parse_feed(b"Service Unavailable", "page")


# --------------------------------------------------------------------------- OData URL


@pytest.mark.parametrize(
    "base, kwargs, url",
    [
        ("https://h/api/v2/azure", {}, "https://h/api/v2/azure?$filter=tags/any(t:%20t%20eq%20'Retirements')"),
        ("https://h/api/v2/azure", {"watermark": datetime(2026, 3, 1, 12, 30, tzinfo=UTC)},
         "https://h/api/v2/azure?$filter=tags/any(t:%20t%20eq%20'Retirements')%20and%20modified%20ge%202026-03-01T12:30:00Z"),
        ("https://h/api/v2/azure?$top=50", {"tag": None, "watermark": datetime(2026, 3, 1, tzinfo=UTC)},
         "https://h/api/v2/azure?$top=50&$filter=modified%20ge%202026-03-01T00:00:00Z"),
        ("https://h/api/v2/azure", {"tag": None}, "https://h/api/v2/azure"),
    ],
    ids=["tag", "tag-and-watermark", "keeps-other-params", "no-filter"],
)
def test_build_api_url(base, kwargs, url):
    assert au.build_api_url(base, **kwargs) == url


# --------------------------------------------------------------------------- reading


READ_CASES = [
    ("explicit-sizes-beat-series",
     "Retirement: NCv3 NC24rs virtual machines", "<p>On March 31, 2027 we will retire Standard_NC24rs_v3.</p>",
     ("entry", (), ("Standard_NC24rs_v3",), date(2027, 3, 31))),
    ("title-date-wins",
     "Retirement: HB-series Azure Virtual Machines will be retired on 31 May 2026",
     "<p>HB-series VMs retire on June 30, 2026 in some regions.</p>",
     ("entry", ("HB",), (), date(2026, 5, 31))),
    ("reservation-sentences-skipped",
     "Retirement: Lsv2 series VMs",
     "<p>Lsv2 series VMs will retire on November 15, 2028.</p><p>Reserved instances cannot be bought after "
     "July 1, 2026.</p>", ("entry", ("Lsv2",), (), date(2028, 11, 15))),
    ("replacement-sizes-not-retiring",
     "Retirement: Av1-series retiring",
     "<p>The Av1-series retires on August 31, 2024.</p><p>We recommend moving to Standard_D2as_v5 or the "
     "Dasv5-series.</p>", ("entry", ("Av1",), (), date(2024, 8, 31))),
    ("list-items-inherit-lead-in",
     "Retirement: older GPU VM series",
     "<p>These series will retire on September 6, 2023:</p><ul><li>NC-series</li><li>NCv2-series</li></ul>"
     "<p>Recommended replacements:</p><ul><li>NCasT4_v3-series</li></ul>",
     ("entry", ("NC", "NCv2"), (), date(2023, 9, 6))),
    ("extended-date-wins",
     "Retirement: NV-series retirement date extended",
     "<p>We announced NV-series would retire on September 6, 2023. The retirement has been extended to "
     "September 30, 2023.</p>", ("entry", ("NV",), (), date(2023, 9, 30))),
    ("api-version-is-not-a-date",
     "Retirement: G-series VMs",
     "<p>G-series VMs retire on November 15, 2028.</p><ul><li>Use Batch API (2024-07-01 or later)</li></ul>",
     ("entry", ("G",), (), date(2028, 11, 15))),
    ("accelerator-in-series-name",
     "Retirement: NC A100 v4-series and ND H100 v5 series VMs", "<p>They retire on 1 March 2030.</p>",
     ("entry", ("NC A100 v4", "ND H100 v5"), (), date(2030, 3, 1))),
    ("capitalised-series-word",
     "Retirement: NDv2 Series virtual machines", "<p>NDv2 Series VMs retire on June 30, 2027.</p>",
     ("entry", ("NDv2",), (), date(2027, 6, 30))),
    ("basic-a",
     "Retirement: Basic A series VMs retire on August 31, 2024", "<p>Move to Av2.</p>",
     ("entry", ("Basic A",), (), date(2024, 8, 31))),
]


@pytest.mark.parametrize("title, html, want", [c[1:] for c in READ_CASES], ids=[c[0] for c in READ_CASES])
def test_read_announcement_entries(title, html, want):
    r = au.read_announcement(ann(title, html))
    assert (r.kind, r.series, r.sizes, r.retires_on) == want


REVIEW_CASES = [
    ("month-only",
     "Retirement: H-series VMs", "<p>H-series virtual machines will be retired in September 2026.</p>",
     "the text gives only a month (September 2026), not a day (sizes: H)"),
    ("record-month-only",
     "Retirement: HC-series VMs", "<p>HC-series VMs are being retired. Plan your move.</p>",
     "no retirement date in the text; the record says only May 2026 (sizes: HC)"),
    ("two-dates-no-cue",
     "Retirement: ND-series VMs",
     "<p>ND-series VMs retire on August 31, 2024 in the US. ND-series VMs retire on August 31, 2025 elsewhere.</p>",
     "the text gives several retirement dates: 2024-08-31, 2025-08-31 (sizes: ND)"),
    ("impossible-date",
     "Retirement: NCv2-series VMs", "<p>NCv2 series will retire on February 30, 2026.</p>",
     "no retirement date in the text; the record says only May 2026 (sizes: NCv2)"),
    ("unreadable-series-title",
     "Retirement: VM sizes in the old compute generation", "<p>Those VMs retire on May 1, 2027.</p>",
     "the title speaks of VM series or sizes but names none that can be read"),
]


@pytest.mark.parametrize("title, html, reason", [c[1:] for c in REVIEW_CASES], ids=[c[0] for c in REVIEW_CASES])
def test_read_announcement_needs_review(title, html, reason):
    r = au.read_announcement(ann(title, html, availabilities=((2026, "May"),)))
    assert (r.kind, r.reason) == ("review", reason)


IGNORE_CASES = [
    ("reservation-cut-off",
     "Retirement: 3-year reserved instances for Dv2-series VMs", "<p>Purchases end on July 1, 2026.</p>",
     ("Retirements",)),
    ("batch-low-priority",
     "Retirement: Migration of Batch low-priority VMs to Spot VMs", "<p>Low-priority VMs retired on "
     "September 30, 2025.</p>", ("Retirements",)),
    ("avs-node",
     "Retirement: Azure VMware Solution AV36 node retirement on June 30, 2029",
     "<p>The AV36 SKU is retired on June 30, 2029.</p>", ("Retirements",)),
    ("vm-feature",
     "Retirement: Basic SKU public IP addresses for virtual machines",
     "<p>Basic SKU public IPs retire on September 30, 2025.</p>", ("Retirements",)),
    ("not-a-retirement",
     "Generally Available: Dsv6-series VMs", "<p>Dsv6-series VMs are generally available.</p>", ("Launched",)),
]


@pytest.mark.parametrize("title, html, tags", [c[1:] for c in IGNORE_CASES], ids=[c[0] for c in IGNORE_CASES])
def test_read_announcement_ignores_notices_that_retire_no_size(title, html, tags):
    assert au.read_announcement(ann(title, html, tags=tags)).kind == "ignore"


# --------------------------------------------------------------------------- merging


def test_repeated_announcements_merge_and_keep_every_link():
    first = ann("Retirement: NVv3-series VMs", "<p>NVv3-series VMs retire on September 30, 2026.</p>", id="1",
                modified=datetime(2025, 9, 1, tzinfo=UTC))
    batch = ann("Retirement: NVv3 series VMs in Batch pools", "<p>NVv3 series VMs retire on September 30, 2026.</p>",
                id="2", modified=datetime(2026, 3, 1, tzinfo=UTC))
    again = ann("Retirement: NVv3 series VMs", "<p>Reminder: NVv3 series retire on September 30, 2026.</p>",
                id="1", modified=datetime(2025, 9, 1, tzinfo=UTC))  # the same item on two pages
    d = au.derive_retirements([batch, first, again])
    (r,) = d.retirements
    assert r.id == "azure-updates-1" and r.series == ("NVv3",)
    assert r.urls == (au.UPDATE_URL.format(id=1), au.UPDATE_URL.format(id=2))
    assert r.announced_on == date(2025, 9, 1) and r.modified == datetime(2026, 3, 1, tzinfo=UTC)
    assert d.conflicts == ()


def test_date_disagreement_most_recent_wins_and_is_reported():
    old = ann("Retirement: NC-series VMs", "<p>NC-series VMs retire on August 31, 2023.</p>", id="10",
              modified=datetime(2022, 9, 1, tzinfo=UTC))
    new = ann("Retirement: NC-series VMs", "<p>NC-series VMs retire on September 6, 2023.</p>", id="11",
              modified=datetime(2023, 5, 1, tzinfo=UTC))
    d = au.derive_retirements([new, old])
    (r,) = d.retirements
    assert r.retires_on == date(2023, 9, 6) and len(r.urls) == 2
    assert d.conflicts == ("NC: announcement 11 says 2023-09-06, announcement 10 says 2023-08-31; "
                           "using 2023-09-06 (most recently modified)",)


def test_wider_reminder_adds_its_link_and_new_series_get_their_own_entry():
    a = ann("Retirement: NVv3-series VMs", "<p>NVv3-series retire on September 30, 2026.</p>", id="1",
            modified=datetime(2025, 9, 1, tzinfo=UTC))
    b = ann("Retirement: NDv2-series VMs", "<p>NDv2-series retire on September 30, 2026.</p>", id="2",
            modified=datetime(2025, 9, 2, tzinfo=UTC))
    c = ann("Retirement: NVv3, NDv2 and NCv3 series VMs in Batch", "<p>These retire on September 30, 2026.</p>",
            id="3", modified=datetime(2026, 1, 1, tzinfo=UTC))
    d = au.derive_retirements([a, b, c])
    got = {r.id: (r.series, len(r.urls)) for r in d.retirements}
    assert got == {"azure-updates-1": (("NVv3",), 2), "azure-updates-2": (("NDv2",), 2),
                   "azure-updates-3": (("NCv3",), 1)}


@pytest.mark.parametrize(
    "header, seconds",
    [("3", 3.0), ("0", 0.0), ("Wed, 21 Oct 2015 07:28:10 GMT", 10.0), ("soon", None), (None, None)],
    ids=["delta", "zero", "http-date", "junk", "absent"],
)
def test_retry_after_header(header, seconds):
    now = datetime(2015, 10, 21, 7, 28, 0, tzinfo=UTC).timestamp()
    assert retry_after(header, now=now) == seconds


def test_feed_of_ten_thousand_items_reads_every_item_and_merges_repeats():
    recs = [record(id=str(100000 + i), title=f"Generally Available: feature {i}", tags=("Features",),
                   description="<p>New feature.</p>") for i in range(10_000)]
    for i in range(0, 10_000, 100):  # every 100th: the same NVv3 retirement announced again
        recs[i] = record(id=str(100000 + i), title="Retirement: NVv3-series VMs",
                         description="<p>NVv3-series VMs retire on September 30, 2026.</p>",
                         modified=f"2026-01-{1 + i // 1000:02d}T00:00:00Z")
    items, _ = au.parse_json(json.dumps({"value": recs}), "big.json")
    d = au.derive_retirements(items)
    assert len(items) == 10_000 and len(d.readings) == 10_000
    (r,) = d.retirements
    assert r.series == ("NVv3",) and len(r.urls) == 100 and d.needs_review == ()
