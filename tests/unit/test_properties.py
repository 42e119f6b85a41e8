"""Property tests (hypothesis): the size parser, the inventory loader and the feed reader, fed
mutations of real files (tests/fixtures, copied from /work/shared/reference). The property: no
uncaught exception, only the error the contract names (SizeNameError, InventoryError, FeedError),
and the command line answers exit 2 (never 1) on such input.

Derandomized with no example database (tests/conftest.py profile), and small example counts: the
whole file runs in well under 30 seconds on a CI runner.
"""

from __future__ import annotations

import contextlib
import copy
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanner.core import sizes
from scanner.errors import FeedError, InventoryError, SizeNameError
from scanner.sources.feed import derive_retirements, parse_feed
from scanner.sources.inventory_files import load_files
from scanner.sources.resource_graph import to_resources
from tests.conftest import FIXTURES

FEED = FIXTURES / "feed"
ARM = FIXTURES / "arm"
API_RECORDS = json.loads((FEED / "api-v2-retirements-2025-08-to-2026-08.json").read_text(encoding="utf-8"))["value"]
RSS_SMALL = [(FEED / n).read_bytes() for n in ("rss-v2-real-excerpt-2025-05-30.xml",
                                                 "rss-v2-excerpt-2026-08-03-one-real-item.xml",
                                                 "rss-legacy-feed-2022-11-14.xml")]
INVENTORY_DOCS = [json.loads((ARM / n).read_text(encoding="utf-8")) for n in
                  ("az_aks_list.json", "az_vm_list_d.json", "az_vmss_list.json", "inventory_az_graph_query.json",
                   "az_aks_nodepool_list.json", "arg_managedcluster_row.json")]
SIZE_NAMES = sorted({s["name"] for s in json.loads((FIXTURES / "tenants" / "skus" / "westeurope.json")
                                                   .read_text(encoding="utf-8")) if isinstance(s, dict) and "name" in s}
                    | {"Standard_DS11-1_v2", "Basic_A2", "Standard_NC24ads_A100_v4", "Standard_DC4as_cc_v5",
                       "Standard_M416s_8_v2", "Standard_D2_v2_Promo", "Standard_NV4as_v4"})
SERIES_TEXTS = ["Dsv2", "DSv2-series", "D-series", "B series", "B-series (V1)", "Basic A", "Av1", "H_Promo",
                "cc_v5", "NC A100 v4", "NCads_H100_v5", "NCv3-NC24rs", "F, Fs, Fsv2 and B series"]
FAST = settings(max_examples=120, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# --------------------------------------------------------------------------- mutation strategies
# Mutations are chosen with a Random that hypothesis seeds (st.randoms): uniform over the file's
# fields and bytes, where hypothesis's own integer draws would favour the first few.

NASTY = [None, True, 0, -1, 5, 2 ** 70, 10 ** 30, 1.5, 1e308, float("inf"), float("nan"), "", " ", "x", "\ud800",
         "9" * 400, "Standard_", "Infinity", "<p>", "&amp;", "2026-01-02T03:04:05+24:00", "0000-00-00",
         "Retirements", "Virtual Machines", "VirtualMachines", "/subscriptions/", [], {}, [None], {"a": 1},
         ["Retirements"], [{"year": "2026", "month": 13}], {"code": None}, "Z" * 5000]


def _paths(doc, prefix=(), out=None, limit=2000):
    out = [] if out is None else out
    if len(out) >= limit:
        return out
    out.append(prefix)
    if isinstance(doc, dict):
        for k, v in doc.items():
            _paths(v, (*prefix, k), out, limit)
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            _paths(v, (*prefix, i), out, limit)
    return out


def _mutate_once(doc, rnd):
    path = rnd.choice(_paths(doc))
    op = rnd.choice(["replace", "replace", "replace", "delete", "wrap", "dup", "rename"])
    if not path:
        return copy.deepcopy(rnd.choice(NASTY)) if op == "replace" else [doc]
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    key = path[-1]
    if op == "replace":
        parent[key] = copy.deepcopy(rnd.choice(NASTY))
    elif op == "delete":
        del parent[key]
    elif op == "wrap":
        parent[key] = [parent[key]] if rnd.random() < 0.5 else {"value": parent[key]}
    elif op == "rename" and isinstance(parent, dict):
        parent[key.upper() if key != key.upper() else key.lower()] = parent.pop(key)
    elif isinstance(parent, list):
        parent.insert(key, copy.deepcopy(parent[key]))
    else:
        parent[key] = copy.deepcopy(parent[key])
    return doc


def _records(doc):
    rows = doc.get("value", doc.get("data")) if isinstance(doc, dict) else doc
    return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []


def mutated_json(data, doc, times=3):
    """Up to `times` mutations anywhere in the document, and as many again inside its records (a
    field's value, at any depth, replaced by a value of another type, or removed): what a
    malformed record looks like."""
    rnd = data.draw(st.randoms(use_true_random=True), label="rnd")
    doc = copy.deepcopy(doc)
    for _ in range(rnd.randint(0, times)):
        records = _records(doc)
        if records:
            record = rnd.choice(records)
            top = [(k,) for k in record]
            path = rnd.choice(top if top and rnd.random() < 0.5 else _paths(record)[1:] or [()])
            if path:
                parent = record
                for key in path[:-1]:
                    parent = parent[key]
                if rnd.random() < 0.85:
                    parent[path[-1]] = copy.deepcopy(rnd.choice(NASTY))
                else:
                    del parent[path[-1]]
    for _ in range(rnd.randint(1, times)):
        doc = _mutate_once(doc, rnd)
    return doc


INSERTS = [b"<", b"{", b"[", b'"', b"\\u", b"\xff", b"&#0;", b"]]>", b"\x00", b"<!DOCTYPE x [<!ENTITY a 'aaaa'>]>",
           b"<!--", b"Infinity", b"-", b"9" * 50, b'"\\ud800"', b"</item>", b"<item>", b",", b":"]


def mutated_bytes(data, body: bytes, times=4) -> bytes:
    rnd = data.draw(st.randoms(use_true_random=True), label="rnd")
    b = bytearray(body)
    for _ in range(rnd.randint(1, times)):
        if not b:
            break
        i = rnd.randrange(len(b))
        op = rnd.choice(["set", "insert", "insert", "delete", "truncate", "repeat"])
        if op == "set":
            b[i] = rnd.randrange(256)
        elif op == "insert":
            b[i:i] = rnd.choice(INSERTS)
        elif op == "delete":
            del b[i:i + rnd.randint(1, 40)]
        elif op == "truncate":
            del b[i:]
        else:
            b[i:i] = b[i:i + 20] * rnd.randint(2, 50)
    return bytes(b)


# --------------------------------------------------------------------------- size parser


@FAST
@given(data=st.data())
def test_size_parser_never_raises_anything_but_size_name_error(data):
    base = data.draw(st.sampled_from(SIZE_NAMES + SERIES_TEXTS))
    text = mutated_bytes(data, base.encode()).decode("utf-8", "replace") if data.draw(st.booleans()) else \
        data.draw(st.text(max_size=40))
    for fn in (sizes.parse_size, sizes.parse_series, sizes.series_name):
        with contextlib.suppress(SizeNameError):
            fn(text)
    with contextlib.suppress(SizeNameError):
        sizes.covers(text, data.draw(st.sampled_from(SIZE_NAMES)))


@FAST
@given(st.sampled_from(SIZE_NAMES))
def test_every_real_size_name_parses_and_its_series_covers_it(name):
    series = sizes.series_name(name)
    assert sizes.covers(series, name), (name, series)


# --------------------------------------------------------------------------- inventory loader


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_to_resources_on_mutated_real_rows_only_reports_errors(data):
    doc = mutated_json(data, data.draw(st.sampled_from(INVENTORY_DOCS)))
    rows = doc.get("data", doc.get("value", [doc])) if isinstance(doc, dict) else doc
    try:
        inv = to_resources(rows)
    except InventoryError:
        return
    for e in inv.errors:  # every problem names where it is and what
        assert e.scope and e.error


@FAST
@given(data=st.data())
def test_inventory_files_mutated_byte_by_byte_only_raise_inventory_error(data, tmp_path_factory):
    name = data.draw(st.sampled_from(["az_aks_list.json", "az_vm_list_d.json", "az_aks_nodepool_list.json"]))
    body = mutated_bytes(data, (ARM / name).read_bytes())
    path = Path(tmp_path_factory.mktemp("inv")) / name
    path.write_bytes(body)
    try:
        load_files([str(path)])
    except InventoryError as exc:
        assert str(path) in str(exc) or "--inventory" in str(exc)


# --------------------------------------------------------------------------- feed reader (records + reading)


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=st.data())
def test_json_feed_with_mutated_records_reads_or_says_why(data):
    start = data.draw(st.integers(0, len(API_RECORDS) - 6))
    doc = mutated_json(data, {"value": API_RECORDS[start:start + 6]})
    body = json.dumps(doc).encode() if data.draw(st.booleans()) else mutated_bytes(data, json.dumps(doc).encode())
    try:
        items, _ = parse_feed(body, "fuzz.json", "application/json")
    except FeedError:
        return
    derived = derive_retirements(items)
    assert all(r.reason for r in derived.needs_review)
    for r in derived.retirements:  # an entry is always dated and names what it retires
        assert r.retires_on and (r.series or r.sizes)


@FAST
@given(data=st.data())
def test_rss_feed_mutated_byte_by_byte_reads_or_says_why(data):
    body = mutated_bytes(data, data.draw(st.sampled_from(RSS_SMALL)), times=6)
    try:
        items, _ = parse_feed(body, "fuzz.xml", "application/rss+xml")
    except FeedError:
        return
    derive_retirements(items)


# --------------------------------------------------------------------------- the CLI on such input: exit 2, never 1


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                  HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_cli_scan_on_mutated_files_exits_0_2_or_3_never_1(data, tmp_path_factory, capsys):
    from scanner.cli import main

    folder = Path(tmp_path_factory.mktemp("cli"))
    inv = folder / "inventory.json"
    feed = folder / "feed.json"
    inv.write_bytes(mutated_bytes(data, (ARM / "az_vm_list_d.json").read_bytes())
                    if data.draw(st.booleans()) else json.dumps(mutated_json(data, INVENTORY_DOCS[1])).encode())
    feed.write_bytes(json.dumps(mutated_json(data, {"value": API_RECORDS[:4]})).encode()
                     if data.draw(st.booleans()) else mutated_bytes(data, json.dumps({"value": API_RECORDS[:4]}).encode()))
    fmt = data.draw(st.sampled_from(["json", "table", "markdown", "csv"]), label="format")
    code = main(["scan", "--inventory", str(inv), "--feed", str(feed), "--no-store", "--no-notify",
                 "--today", "2026-06-01", "--format", fmt])
    out = capsys.readouterr()
    assert code in (0, 2, 3), out.err
    assert "unexpected error" not in out.err
    out.out.encode("utf-8")  # what a terminal or file receives: never a lone surrogate


# --------------------------------------------------------------------------- every field x every odd value
# Random mutation finds odd combinations; these sweeps make sure no single field of a real record,
# at any depth, sinks the reader whatever value of whatever type it holds.


def _set(doc, path, value):
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value


_DELETE = object()


def test_every_field_of_a_real_feed_record_with_every_odd_value():
    record = next(r for r in API_RECORDS if r["id"] == "500682")  # the F/Fs/Fsv2/... retirement
    checked = 0
    for path in _paths(record)[1:]:
        if len(path) > 3:
            continue
        for value in (*NASTY, _DELETE):
            doc = copy.deepcopy(record)
            _set(doc, path, value if value is _DELETE else copy.deepcopy(value))
            try:
                items, _ = parse_feed(json.dumps({"value": [doc]}), "sweep.json")
            except FeedError:
                continue
            derive_retirements(items)
            checked += 1
    assert checked > 300


def test_every_field_of_real_inventory_rows_with_every_odd_value():
    checked = 0
    for doc in INVENTORY_DOCS[:3] + INVENTORY_DOCS[4:5]:
        row = doc[0]
        for path in _paths(row)[1:]:
            if len(path) > 4:
                continue
            for value in (*NASTY, _DELETE):
                mutated = copy.deepcopy(row)
                _set(mutated, path, value if value is _DELETE else copy.deepcopy(value))
                inv = to_resources([mutated])
                assert all(e.scope and e.error for e in inv.errors)
                checked += 1
    assert checked > 1000
