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
    resolved += sum(int(n["summary"]["changes"]["resolved"]) for n in (second, third))
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


# --------------------------------------------------------------------------- HTTP API: oversized and odd inputs

SUBS = [f"{i:08x}-1111-4111-8111-{i:012x}" for i in range(1, 21)]
SIZES = ["Standard_A2_v2", "Standard_DS2_v2", "Standard_F4s_v2", "Standard_NC6s_v3"]


def _findings():
    from datetime import date

    from scanner.core.model import Finding, ResourceKind, ResourceRef, Retirement, Rule, Severity, finding_id

    ret = Retirement(id="av2", title="Av2", retires_on=date(2028, 11, 15), series=("Av2",))
    sevs = list(Severity)
    out = []
    for i in range(60):
        sub = SUBS[i % len(SUBS)]
        rid = f"/subscriptions/{sub}/resourceGroups/rg{i % 3}/providers/Microsoft.Compute/virtualMachines/vm{i}"
        rule = (Rule.RETIRING_SIZE, Rule.GEN1_ONLY_SIZE)[i % 2]
        out.append(Finding(id=finding_id(rid, "", rule.value, ret.id), rule=rule, severity=sevs[i % len(sevs)],
                           vm_size=SIZES[i % len(SIZES)],
                           resource=ResourceRef(ResourceKind.VM, rid, f"vm{i}", sub, f"rg{i % 3}", "westeurope"),
                           retirement=ret))
    return out


@pytest.fixture(scope="module")
def api_store(azurite_server):
    from datetime import datetime, timezone

    from scanner import bootstrap
    from scanner.config import Settings
    from scanner.service import apply_scan
    from tests.fakes.azurite import unique_name

    store = bootstrap.storage(Settings.from_env({"AzureWebJobsStorage": azurite_server.connection_string,
                                                 "TABLE_PREFIX": unique_name("t")}))
    found = _findings()
    apply_scan(store.findings, store.runs, found, now=datetime(2026, 6, 1, tzinfo=timezone.utc))
    return store, found


def _api(handler, api_store, method="GET", query=None, body=b"", route=None):
    from datetime import datetime, timezone

    from scanner import api
    from scanner.config import Settings

    store, _ = api_store

    def no_scan(request, now):  # a request that passes validation would scan: none of these must
        raise AssertionError("a bad request reached the scan")

    deps = api.ApiDeps(settings=Settings(), store=lambda: store, run_scan=no_scan,
                       clock=lambda: datetime(2026, 6, 2, tzinfo=timezone.utc), base_url="https://x.example")
    status, _headers, raw = api.handle(handler, method, route or {}, query or {}, body, deps)
    return status, json.loads(raw) if raw.startswith(b"{") else raw


LONG = "a" * 40_000
BAD_INPUTS = [
    ("findings", {"continuation": LONG}, b"", "continuation"),
    ("findings", {"continuation": "eyJ2IjoxLCJxIjoiIiwicGsiOiJ" + "A" * 3000}, b"", "continuation"),
    ("findings", {"cluster": LONG}, b"", "cluster"),
    ("findings", {"size": ",".join(["Standard_D2s_v3"] * 200)}, b"", "size"),
    ("findings", {"cluster": ",".join(f"/subscriptions/{SUBS[0]}/resourceGroups/rg/providers/"
                                      f"Microsoft.ContainerService/managedClusters/c{i}" for i in range(200))},
     b"", "cluster"),
    ("findings", {"subscription": LONG}, b"", "subscription"),
    ("findings", {"cluster": "aks-\ud800"}, b"", "cluster"),
    ("findings", {"severity": "high\x00"}, b"", "severity"),
    ("findings", {"top": "9" * 5000}, b"", "top"),
    ("findings", {"x" * 5000: "1"}, b"", None),
    ("scan_start", {}, b"[" * 60_000, "body"),
    ("scan_start", {}, b'{"scope": ' + b"[" * 5000 + b"]" * 5000 + b"}", "body"),
    ("scan_start", {}, b'{"scope": "sub:\\ud800"}', "scope"),
    ("scan_start", {}, b'{"scope": "' + LONG.encode() + b'"}', "scope"),
    ("scan_start", {}, b'{"dry_run": {"a": 1}}', "dry_run"),
    ("scan_start", {}, b'{"dry_run": 1' + b"0" * 5000 + b"}", "body"),
    ("scan_start", {"scope": "tenant\ud800"}, b"", "scope"),
    ("scan_status", {}, b"", "run_id"),
    ("report", {"days": LONG}, b"", "days"),
]


@pytest.mark.parametrize("handler,query,body,parameter", BAD_INPUTS,
                         ids=[f"{h}-{i}" for i, (h, *_rest) in enumerate(BAD_INPUTS)])
def test_http_api_bad_input_is_400_naming_the_parameter_never_5xx(api_store, handler, query, body, parameter,
                                                                  fault_ledger):
    from scanner import api

    method = "POST" if handler == "scan_start" else "GET"
    route = {"run_id": LONG} if handler == "scan_status" else None
    status, doc = _api(getattr(api, handler), api_store, method, query, body, route)
    fault_ledger.record("http api: oversize / nesting / surrogate / control-character inputs",
                        http_5xx=int(status >= 500))
    assert status in (400, 404), doc
    if parameter is not None:
        assert doc["error"]["parameter"] == parameter, doc
    assert len(json.dumps(doc)) < 2000  # the bad value is never echoed whole


@pytest.mark.parametrize("query", [
    {"subscription": ",".join(SUBS)},                              # 20 values: more than 15 comparisons
    {"subscription": ",".join(SUBS), "severity": "low,medium,high,critical", "rule": "retiring-size,gen1-only-size"},
    {"cluster": ",".join(f"/subscriptions/{s}/resourceGroups/rg1/providers/Microsoft.Compute/virtualMachines/vm{i}"
                         for i, s in enumerate(SUBS * 2))},
    {"subscription": ",".join(SUBS[:14]), "status": "all", "top": "7"},
], ids=["20-subscriptions", "every-filter", "40-resource-ids", "paged"])
def test_findings_filters_beyond_15_comparisons_answer_exactly_on_azurite(api_store, query, fault_ledger):
    from scanner import api

    store, found = api_store
    q = api.parse_findings_query(query)
    want = {f.id for f in found if q.matches(f)}
    flt, _params = q.server_filter()
    comparisons = flt.count(" eq ") + flt.count(" gt ")
    got: list[str] = []
    params = dict(query)
    for _page in range(40):
        status, doc = _api(api.findings, api_store, query=params)
        assert status == 200, doc
        got += [f["id"] for f in doc["findings"]]
        if not doc["continuation"]:
            break
        params = {**query, "continuation": doc["continuation"]}
    fault_ledger.record("http api: findings filter of more than 15 comparisons (Azurite)",
                        findings_lost=len(want - set(got)), http_5xx=0)
    assert comparisons <= 15
    assert want and set(got) == want and len(got) == len(set(got))


# --------------------------------------------------------------------------- fuzzed files through the CLI


def test_fuzzed_inventory_and_feed_files_never_exit_1(tmp_path, capsys, fault_ledger):
    """40 files from random mutations of real ones (fixed seed), each through `scan`: exit 0, 2 or 3."""
    import random

    from tests.unit.test_properties import _mutate_once

    rnd = random.Random(12)
    inventory = json.loads((FIXTURES / "arm" / "az_aks_list.json").read_text(encoding="utf-8"))
    records = API["value"][:5]
    unexpected = []
    for i in range(40):
        inv, feed_file = tmp_path / f"inv{i}.json", tmp_path / f"feed{i}.json"
        doc_inv, doc_feed = json.loads(json.dumps(inventory)), {"value": json.loads(json.dumps(records))}
        for _ in range(rnd.randint(1, 4)):
            doc_inv = _mutate_once(doc_inv, rnd)
            doc_feed = _mutate_once(doc_feed, rnd)
        inv.write_text(json.dumps(doc_inv))
        feed_file.write_text(json.dumps(doc_feed))
        code = main(["scan", "--inventory", str(inv), "--feed", str(feed_file), "--no-store", "--no-notify",
                     "--today", "2026-06-01", "--format", "json"])
        err = capsys.readouterr().err
        if code not in (0, 2, 3) or "unexpected error" in err:
            unexpected.append((i, code, err[-300:]))
    fault_ledger.record("files: fuzzed inventory and feed files through `scan`", unexpected_exits=len(unexpected))
    assert unexpected == []


# --------------------------------------------------------------------------- feed: the quadratic regex


def test_a_long_word_containing_vm_is_read_with_bounded_work_per_character(fault_ledger):
    """Work, not time (bench/bench_feed_linear.py prints the times): every pattern the reader runs
    over free text has a bounded match width, so each character starts at most one bounded attempt
    per pattern; and the 16k-letter word of the issue still leaves the notice readable."""
    import re
    import re._parser as sre_parse

    from scanner.sources.feed import announcement_from_record, read_announcement
    from scanner.sources.feed import reading as reading_mod

    unbounded = [name for name, rx in vars(reading_mod).items() if isinstance(rx, re.Pattern)
                 and sre_parse.parse(rx.pattern, rx.flags).getwidth()[1] >= 20_000]
    word = "A" + "Vm" * 8_000
    r = read_announcement(announcement_from_record(
        {"id": "1", "title": "Retirement: Dv2-series VMs", "tags": ["Retirements"],
         "description": f"<p>{word} Dv2-series VMs will be retired on May 1, 2028.</p>"}, "fault"))
    fault_ledger.record("feed: a 16k-letter word containing 'vm' (bounded work per character)",
                        unexpected_exits=len(unbounded), findings_lost=int(r.kind != "entry"))
    assert unbounded == [] and (r.kind, r.series) == ("entry", ("Dv2",))


# --------------------------------------------------------------------------- inventory files


def _scan_json(capsys, *argv):
    code = main(["scan", "--no-store", "--no-notify", "--today", "2026-06-01", "--format", "json", *argv])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if out.out.strip().startswith("{") else None), out.err


def test_one_malformed_inventory_row_loses_no_other_finding(tmp_path, capsys, fault_ledger):
    rows = json.loads(Path(INVENTORY).read_text(encoding="utf-8"))
    clean = tmp_path / "clean.json"
    clean.write_text(json.dumps(rows))
    broken = tmp_path / "broken.json"
    bad = dict(rows[0], hardwareProfile={"vmSize": ["Standard_F4s_v2"]})  # az vm list: flattened
    broken.write_text(json.dumps([bad, *rows[1:]]))
    code0, before, _ = _scan_json(capsys, "--inventory", str(clean), "--skus", SKUS)
    code, after, err = _scan_json(capsys, "--inventory", str(broken), "--skus", SKUS)
    others = {f["id"] for f in before["findings"] if f["resource"]["id"] != rows[0]["id"]}
    lost = len(others - {f["id"] for f in after["findings"]})
    named = [e for e in after["errors"] if rows[0]["id"] in e["scope"] and "broken.json" in e["scope"]]
    fault_ledger.record("inventory: one malformed row", findings_lost=lost, unexpected_exits=int(code not in (0, 3)))
    assert (lost, code) == (0, code0) and named, err


def test_an_inventory_of_types_not_read_is_exit_2_not_a_green_gate(tmp_path, capsys, fault_ledger):
    path = tmp_path / "storage.json"
    path.write_text(json.dumps([{"id": f"/subscriptions/{SUBS[0]}/resourceGroups/rg/providers/Microsoft.Storage/"
                                       f"storageAccounts/sa{i}", "type": "Microsoft.Storage/storageAccounts",
                                 "location": "westeurope"} for i in range(3)]))
    code, doc, err = _scan_json(capsys, "--inventory", str(path), "--fail-on", "low")
    fault_ledger.record("inventory: a file of types the scanner does not read (--fail-on low)",
                        unexpected_exits=int(code != 2), findings_lost=int(code == 0))
    assert code == 2 and doc is None and str(path) in err and "microsoft.storage/storageaccounts (3)" in err
