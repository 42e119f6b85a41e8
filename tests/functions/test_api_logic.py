"""The API's and the feed snapshot's logic as plain functions (no host, no store)."""

from __future__ import annotations

import json
import threading
from datetime import date, datetime, timedelta, timezone

import pytest

from scanner import api, feed_ingest
from scanner.config import Settings
from scanner.core.lifecycle import Record, Suppression
from scanner.core.model import Finding, ResourceKind, ResourceRef, Retirement, Rule, Severity, Status
from scanner.sources.feed import Announcement
from scanner.tables.snapshots import snapshot_from_text, snapshot_to_text

T_RUN = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)
TODAY = T_RUN.date()
RET = Retirement("dv2", "Dv2 retires", date(2026, 6, 1), series=("Dv2",))
REF = ResourceRef(ResourceKind.AKS_NODEPOOL, "/subscriptions/s/resourceGroups/rg/providers/x/aks-a", "aks-a",
                  "s", "rg", "westeurope", pool="np1")
F = Finding("f1", Rule.RETIRING_SIZE, Severity.MEDIUM, "Standard_D2_v2", REF, RET, days_left=99)


def rec(first: datetime, changed: datetime, state: str = "open", until: date | None = None) -> Record:
    return Record(F, state, first, changed, suppressed_until=until, suppression_reason="r" if until else "")


DAY = timedelta(days=1)
SHOWN = [
    pytest.param(rec(T_RUN, T_RUN), {}, Status.NEW, id="first-seen-by-latest-run"),
    pytest.param(rec(T_RUN - DAY, T_RUN - DAY), {}, Status.OPEN, id="older-unchanged"),
    pytest.param(rec(T_RUN - 9 * DAY, T_RUN), {}, Status.ESCALATED, id="changed-by-latest-run"),
    pytest.param(rec(T_RUN - DAY, T_RUN, state="resolved"), {}, Status.RESOLVED, id="resolved"),
    pytest.param(rec(T_RUN - DAY, T_RUN - DAY, until=TODAY), {}, Status.SUPPRESSED, id="suppressed-through-today"),
    pytest.param(rec(T_RUN - DAY, T_RUN - DAY, until=TODAY - DAY), {}, Status.OPEN, id="suppression-over"),
    pytest.param(rec(T_RUN - DAY, T_RUN - DAY), {"f1": Suppression("f1", TODAY + DAY, "ack after the scan")},
                 Status.SUPPRESSED, id="ack-newer-than-the-record"),
    pytest.param(rec(T_RUN - DAY, T_RUN - DAY), {"f1": Suppression("f1", TODAY - DAY, "old")}, Status.OPEN,
                 id="expired-ack"),
]


@pytest.mark.parametrize(("record", "acks", "status"), SHOWN)
def test_a_stored_record_is_shown_with_todays_status(record, acks, status):
    shown = api.show_record(record, acks, TODAY, T_RUN)
    assert shown.status is status
    assert shown.days_left == (RET.retires_on - TODAY).days  # re-derived, not the stored 99
    if status is Status.SUPPRESSED:
        assert shown.suppressed_until is not None and shown.suppression_reason
    else:
        assert shown.suppressed_until is None


def test_status_all_and_active_expand():
    assert api.parse_findings_query({"status": "all"}).statuses == {*api.ACTIVE_STATUSES, "resolved"}
    assert api.parse_findings_query({"status": "active,resolved"}).statuses == {*api.ACTIVE_STATUSES, "resolved"}
    assert api.parse_findings_query({}).statuses == set(api.ACTIVE_STATUSES)  # default: not resolved


@pytest.mark.parametrize(("query", "state"), [({}, "State eq 'open'"), ({"status": "resolved"}, "State eq 'resolved'"),
                                              ({"status": "all"}, None)], ids=["default", "resolved", "all"])
def test_the_state_filter_runs_in_the_table(query, state):
    flt, _ = api.parse_findings_query(query).server_filter()
    if state:
        assert state in flt
    else:
        assert "State" not in flt


def test_filter_values_travel_as_parameters_never_in_the_filter_text():
    q = api.parse_findings_query({"severity": "high,critical", "subscription": "AAAAAAAA-0000-0000-0000-000000000000"})
    flt, params = q.server_filter()
    assert "critical" not in flt and "aaaaaaaa" not in flt
    assert sorted(v for k, v in params.items() if k.startswith("sev")) == ["critical", "high"]
    assert params["sub0"] == "aaaaaaaa-0000-0000-0000-000000000000"


def test_continuation_round_trip_and_tamper():
    q = api.parse_findings_query({"rule": "retiring-size"})
    token = api.encode_continuation(q, "sub-1", "abc")
    assert api.parse_findings_query({"rule": "retiring-size", "continuation": token}).after == ("sub-1", "abc")
    with pytest.raises(api.ApiError) as info:
        api.parse_findings_query({"rule": "gen1-only-size", "continuation": token})
    assert info.value.parameter == "continuation"


@pytest.mark.parametrize(("query", "body", "expected"), [
    ({}, b"", api.ScanRequest()),
    ({"dry_run": "yes"}, b"", api.ScanRequest(dry_run=True)),
    ({}, b'{"notify": true, "scope": "sub:11111111-2222-3333-4444-555555555555"}', None),
    ({"code": "function-key"}, b"  ", api.ScanRequest()),
], ids=["empty", "query-bool", "body", "function-key-ignored"])
def test_scan_requests(query, body, expected):
    req = api.parse_scan_request(query, body, Settings())
    if expected is None:
        assert req.notify and str(req.scope) == "sub:11111111-2222-3333-4444-555555555555"
    else:
        assert req == expected


def test_handle_turns_an_unexpected_error_into_json_without_details():
    def boom(*_):
        raise RuntimeError("password=hunter2")

    resp = api.handle(boom, "GET", {}, {}, b"", None)
    assert resp.status == 500 and b"hunter2" not in resp.body and b"RuntimeError" in resp.body


def test_wrong_method_is_405():
    resp = api.handle(api.findings, "DELETE", {}, {}, b"", None)
    assert resp.status == 405


# --------------------------------------------------------------------------- feed snapshot


def ann(aid: str, title: str, text: str, modified: str) -> Announcement:
    return Announcement(aid, title, text, f"https://updates.example/{aid}", "test",
                        modified=datetime.fromisoformat(modified), tags=("Retirements",))


DDS = ann("1", "Retirement: Ddsv5-series VMs retire on March 31, 2031",
          "On March 31, 2031 we will retire Ddsv5-series virtual machines.", "2026-01-01T00:00:00+00:00")
DDS_MOVED = ann("1", "Retirement: Ddsv5-series VMs retire on June 30, 2031",
                "On June 30, 2031 we will retire Ddsv5-series virtual machines.", "2026-02-01T00:00:00+00:00")
OTHER = ann("2", "Retirement: a database feature", "On May 1, 2030 we retire a database feature.",
            "2026-01-05T00:00:00+00:00")


def test_snapshot_keeps_what_matters_and_the_newest_edit():
    kept = feed_ingest.merge_items([DDS, OTHER], [DDS_MOVED])
    assert [a.id for a in kept] == ["1"] and kept[0].title == DDS_MOVED.title  # feature notice: nothing to scan
    assert feed_ingest.merge_items([DDS_MOVED], [DDS])[0] == DDS_MOVED  # an older copy never wins
    back = snapshot_from_text(snapshot_to_text(kept), Announcement)
    assert back == kept
    cat = feed_ingest.build_catalog(Settings(), back)
    assert next(r for r in cat.retirements if r.id == "azure-updates-1").retires_on == date(2031, 6, 30)


@pytest.mark.parametrize("text", ["not json", '{"format": 2, "items": []}', '{"format": 1, "items": [{"id": 1}]}'],
                         ids=["not-json", "other-format", "bad-item"])
def test_an_unreadable_snapshot_is_a_store_error_naming_it(text):
    from scanner.errors import StoreError

    with pytest.raises(StoreError, match="feed snapshot"):
        snapshot_from_text(text, Announcement)


class RacingStore:
    """A snapshot store (the tables.snapshots contract: get_snapshot / ETag-conditional
    put_snapshot) where another instance writes between our read and our write, once."""

    def __init__(self, theirs: str) -> None:
        self.snap: dict | None = None
        self.version = 0
        self.theirs = theirs
        self.lock = threading.Lock()

    table_name = "racecatalog"

    def get_snapshot(self, name):
        return None if self.snap is None else dict(self.snap)

    def put_snapshot(self, name, body, *, watermark="", feed_etag="", now, if_match=None):
        with self.lock:
            if self.theirs is not None:  # the other instance gets there first
                self._write(self.theirs, "2026-01-05T00:00:00+00:00", "")
                self.theirs = None
            current = self.snap["etag"] if self.snap else ""
            if if_match is not None and if_match != current:
                return False
            self._write(body, watermark, feed_etag)
            return True

    def _write(self, body, watermark, feed_etag):
        self.version += 1
        self.snap = {"body": body, "watermark": watermark, "feed_etag": feed_etag, "etag": f"v{self.version}"}


def test_a_refresh_racing_another_instance_keeps_both_announcements(tmp_path):
    theirs_item = ann("3", "Retirement: Dadsv5-series VMs retire on March 31, 2031",
                      "On March 31, 2031 we will retire Dadsv5-series virtual machines.", "2026-01-05T00:00:00+00:00")
    store = RacingStore(snapshot_to_text([theirs_item]))
    feed_file = tmp_path / "feed.json"
    record = {"id": "1", "title": DDS.title, "description": DDS.text, "tags": ["Retirements"],
              "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z", "availabilities": []}
    feed_file.write_text(json.dumps({"value": [record]}))
    settings = Settings.from_env({"FEED_URL": str(feed_file), "FEED_FALLBACK_URL": str(feed_file)})
    result = feed_ingest.refresh(store, settings, T_RUN)
    kept = {a.id for a in snapshot_from_text(store.snap["body"], Announcement)}
    assert kept == {"1", "3"} and result.stored
    assert {"azure-updates-1", "azure-updates-3"} <= {r.id for r in result.catalog.retirements}
