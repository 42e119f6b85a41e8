"""Fault rows at the edges: the feed, the inventory files, the HTTP API's inputs.

Each row injects one fault at one boundary, runs the real path (the CLI dispatcher, the feed
fetcher against a loopback HTTP server, Azurite for the store) and records what it measured in
the fault ledger (tests/faults/conftest.py), asserting its own zeros too.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import scanner.sources.feed as feed
from scanner.cli import main
from tests.conftest import FIXTURES
from tests.fakes.loopback import LoopbackServer, Reply

ROOT = Path(__file__).resolve().parents[2]
API = json.loads((FIXTURES / "feed" / "api-v2-retirements-2025-08-to-2026-08.json").read_text(encoding="utf-8"))
RSS = (FIXTURES / "feed" / "rss-v2-reconstructed-retirements.xml").read_bytes()
INVENTORY = str(ROOT / "samples" / "inventory" / "vms.json")
SKUS = str(ROOT / "samples" / "skus")


class FeedServer(LoopbackServer):
    """/api/v2/azure answers `self.api` (a callable -> Reply); /rss answers `self.rss`."""

    def __init__(self) -> None:
        super().__init__()
        self.api = lambda req: json_reply(API)
        self.rss = lambda req: (200, {"Content-Type": "application/rss+xml"}, RSS)

    def respond(self, req: dict) -> Reply:
        if req["path"] == "/api/v2/azure":
            return self.api(req)
        if req["path"] == "/rss":
            return self.rss(req)
        return 404, {}, b"not found"


def json_reply(doc) -> Reply:
    return 200, {"Content-Type": "application/json; charset=utf-8"}, json.dumps(doc).encode()


@pytest.fixture
def feed_server():
    with FeedServer() as s:
        yield s


# --------------------------------------------------------------------------- feed: 200 with fewer records


@pytest.fixture
def stored_env(azurite_env, monkeypatch, tmp_path, feed_server):
    for k in ("AzureWebJobsStorage", "STORAGE_TABLE_ENDPOINT", "AzureWebJobsStorage__accountName",
              "TEAMS_WEBHOOK_URL", "EMAIL_TO", "NOTIFY_ROUTES"):
        monkeypatch.delenv(k, raising=False)
    for k, v in azurite_env.items():
        monkeypatch.setenv(k, v)
    notes = tmp_path / "notifications"
    notes.mkdir()
    monkeypatch.setenv("NOTIFY_DIR", str(notes))
    monkeypatch.setenv("TEAMS_WEBHOOK_URL", "https://teams-webhook.example.invalid/faults")  # never posted: NOTIFY_DIR
    monkeypatch.setenv("FEED_URL", f"{feed_server.base}/api/v2/azure")
    monkeypatch.setenv("FEED_FALLBACK_URL", f"{feed_server.base}/rss")
    return notes


def night(capsys, server, day: str) -> dict:
    code = main(["scan", "--inventory", INVENTORY, "--skus", SKUS, "--catalog", "none",
                 "--feed", f"{server.base}/api/v2/azure", "--today", day, "--format", "json"])
    out = capsys.readouterr()
    assert code == 0, out.err
    return json.loads(out.out)


@pytest.mark.parametrize("answer", ["no records", "fewer records"])
def test_feed_200_with_fewer_records_resolves_nothing_over_two_nights(stored_env, feed_server, capsys, answer,
                                                                     fault_ledger):
    first = night(capsys, feed_server, "2026-06-01")
    feed_ids = {f["id"] for f in first["findings"] if f["retirement"]["source"] == "feed"}
    assert len(feed_ids) >= 3  # every finding comes from the feed (--catalog none)
    sent_first = set(stored_env.iterdir())
    assert sent_first  # night 1 told about the new findings

    keep = [] if answer == "no records" else [r for r in API["value"] if r["id"] != "500682"]
    feed_server.api = lambda req: json_reply({"value": keep})
    second = night(capsys, feed_server, "2026-06-02")
    third = night(capsys, feed_server, "2026-06-03")  # a second night of the shrunken feed

    lost = sum(len(feed_ids - {f["id"] for f in n["findings"]}) for n in (second, third))
    resolved = sum(1 for n in (second, third) for f in n["findings"] if f.get("status") == "resolved")
    resolved += sum(int(n["summary"].get("resolved", 0) or 0) for n in (second, third))
    told_after = sorted(p.name for p in set(stored_env.iterdir()) - sent_first)
    feed_errors = [e for e in second["errors"] if e["scope"].startswith("feed:")]
    fault_ledger.record(f"feed: 200 with {answer} (CLI, two nights)", findings_lost=lost,
                        false_resolutions=resolved, messages_duplicated=len(told_after))
    assert (lost, resolved, told_after) == (0, 0, [])
    assert feed_errors and "no longer lists" in feed_errors[0]["error"] and "stay open" in feed_errors[0]["error"]
    assert "500682" in feed_errors[0]["error"]


def test_feed_200_with_fewer_records_is_told_to_the_catalog_loader(feed_server):
    """Without a store: the same guard, given the announcements read before."""
    before, _ = feed.fetch(f"{feed_server.base}/api/v2/azure"), None
    feed_server.api = lambda req: json_reply({"value": []})
    catalog, errors = feed.load_catalog(None, feed=f"{feed_server.base}/api/v2/azure", catalogs=["none"],
                                        extra_file="", previous=before.items)
    assert [e.kind.value for e in errors] == ["feed"]
    assert {r.id for r in catalog.retirements} >= {"azure-updates-500682", "azure-updates-564772"}


# --------------------------------------------------------------------------- feed: one malformed record


MALFORMED = [
    ("availabilities: 5", {"availabilities": 5}),
    ("modified +24:00", {"modified": "2026-01-02T03:04:05+24:00"}),
    ("id of 5000 digits", {"id": "9" * 5000}),
    ("title a list", {"title": ["Retirement", "x"]}),
    ("description an object", {"description": {"html": "<p>x</p>"}}),
    ("tags a number", {"tags": 7}),
]


@pytest.mark.parametrize("what,patch", MALFORMED, ids=[m[0] for m in MALFORMED])
def test_one_malformed_feed_record_never_sinks_the_feed(feed_server, what, patch, fault_ledger):
    records = [dict(r) for r in API["value"]]
    target = next(r for r in records if r["id"] == "500682")  # the F/Fs/Fsv2/... retirement
    target.update(patch)
    feed_server.api = lambda req: json_reply({"value": records})
    whole, _ = feed.load_catalog(None, feed=f"{FIXTURES}/feed/api-v2-retirements-2025-08-to-2026-08.json",
                                 catalogs=["none"], extra_file="")
    catalog, errors = feed.load_catalog(None, feed=[f"{feed_server.base}/api/v2/azure", f"{feed_server.base}/rss"],
                                        catalogs=["none"], extra_file="")
    others = {r.id for r in whole.retirements} - {"azure-updates-500682"}
    lost = len(others - {r.id for r in catalog.retirements})
    kept = "azure-updates-500682" in {r.id for r in catalog.retirements}
    reviewed = [x for x in catalog.needs_review if "500682" in x.id or "500682" in x.reason
                or x.id.startswith("#")]
    fault_ledger.record(f"feed: malformed record ({what})", findings_lost=lost,
                        unexpected_exits=len(errors))
    assert lost == 0 and errors == []
    assert kept or reviewed, "the malformed record is neither an entry nor needs-review"
    if kept:  # read anyway: people are told which record to check
        assert any("malformed" in x.reason for x in reviewed)


def test_primary_feed_that_trips_the_reader_falls_back_to_rss(feed_server, fault_ledger):
    feed_server.api = lambda req: (200, {"Content-Type": "application/json"}, b"[" * 100_000)
    catalog, errors = feed.load_catalog(None, feed=[f"{feed_server.base}/api/v2/azure", f"{feed_server.base}/rss"],
                                        catalogs=["none"], extra_file="")
    rss_hits = [r for r in feed_server.requests if r["path"] == "/rss"]
    fault_ledger.record("feed: primary body the reader trips on (deep nesting), fallback URL",
                        unexpected_exits=0 if rss_hits else 1, findings_lost=0 if catalog.retirements else 1)
    assert rss_hits and catalog.retirements
    assert [e.kind.value for e in errors] == ["feed"] and "nested too deeply" in errors[0].error
