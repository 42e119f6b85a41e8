"""Issue 14 red team: the run's memo of SKU pages must not hold every page it parsed.

A region's SKU list differs between subscriptions as soon as they have restrictions of their own
(or another zone mapping): then every body is distinct. The scan must still hold about one page per
worker at a time, not every page of every (subscription, region) pair until the stage ends."""

from __future__ import annotations

import json
import tracemalloc

from scanner.core import jsontext
from scanner.sources.skus import fetch_skus
from tests.conftest import ROOT


class _PagesArm:
    """Stands for ArmJson: answers each SKU listing with `body(url)`, one page, through `decode`."""

    def __init__(self, body):
        self.body = body
        self.requests = 0

    def pages(self, url, kind, *, scope="", decode=jsontext.loads, **_kw):
        self.requests += 1
        yield decode(self.body(url))


def _items() -> list[dict]:
    doc = json.loads((ROOT / "samples" / "skus" / "eastus.json").read_text())
    return doc["value"] if isinstance(doc, dict) else doc


def _own_body(items: list[dict]):
    """A body per subscription: the same sizes, one of them restricted in a zone of its own."""
    def body(url: str) -> bytes:
        sub = url.split("/subscriptions/")[1].split("/")[0]
        n = int(sub.rsplit("-", 1)[1])
        first = dict(items[0], restrictions=[{
            "type": "Zone", "values": ["eastus"], "reasonCode": "NotAvailableForSubscription",
            "restrictionInfo": {"locations": ["eastus"], "zones": [str(1 + n % 3)]}}],
            tag=f"sub {n}")
        return json.dumps({"value": [first, *items[1:]]}).encode()
    return body


def _peak(arm, subs: list[str]) -> tuple[int, object, list]:
    tracemalloc.start()
    try:
        index, errors = fetch_skus(None, [(s, "eastus") for s in subs], arm=arm, workers=2)
        _now, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak, index, errors


def test_distinct_sku_bodies_are_not_all_held_until_the_stage_ends():
    items = _items()
    subs = [f"00000000-0000-4000-8000-{n:012d}" for n in range(240)]
    few, _index, _errors = _peak(_PagesArm(_own_body(items)), subs[:12])
    arm = _PagesArm(_own_body(items))
    many, index, errors = _peak(arm, subs)
    assert errors == [] and arm.requests == 240
    # every subscription still gets its own zone restriction
    first = items[0]["name"]
    assert [sorted(index.get(s, "eastus", first).restricted_zones) for s in subs[:4]] == [["1"], ["2"], ["3"], ["1"]]
    # 20x the pairs: the peak grows with the Sku values kept (small), not with the bodies parsed
    assert many < few * 3, f"peak {many / 2**20:.1f} MiB for 240 pairs vs {few / 2**20:.1f} MiB for 12"


def test_a_body_repeated_byte_for_byte_is_still_parsed_once_per_region(monkeypatch):
    from scanner.sources import skus as skus_mod

    items = _items()
    raw = json.dumps({"value": items}).encode()
    calls: list[str] = []
    real = skus_mod.parse_skus

    def counting(items, subscription_id="*", shared=None, only_location=""):
        calls.append(only_location)
        return real(items, subscription_id, shared=shared, only_location=only_location)

    monkeypatch.setattr(skus_mod, "parse_skus", counting)
    subs = [f"00000000-0000-4000-8000-{n:012d}" for n in range(20)]
    # the same bytes answered for two regions: each region reads its own sizes out of it
    index, errors = fetch_skus(None, [(s, loc) for s in subs for loc in ("eastus", "westus")],
                               arm=_PagesArm(lambda url: raw), workers=2)
    assert errors == []
    assert sorted(calls) == ["eastus", "westus"]
    assert index.sizes(subs[7], "eastus") == index.sizes(subs[0], "eastus") != []
    assert index.sizes(subs[7], "westus") == []  # the sample lists eastus only: westus keeps none of it
