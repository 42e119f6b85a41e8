"""SKU facts shared between subscriptions (sources.skus.SharedFacts) never mix their restrictions."""

from __future__ import annotations

import copy
import json

from scanner.core.catalog import Catalog, load_builtin
from scanner.core.guidance import Guide
from scanner.sources.skus import SharedFacts, SkuIndex, parse_skus
from tests.conftest import ROOT

A, B = "aaaaaaaa-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002"
REGION = "westeurope"


def items(restrict: str = "") -> list[dict]:
    out = copy.deepcopy(json.loads((ROOT / "samples" / "skus" / f"{REGION}.json").read_text()))
    out = out["value"] if isinstance(out, dict) else out
    for item in out:
        if item["name"] == restrict:
            item["restrictions"] = [{"type": "Location", "values": [REGION], "reasonCode": "NotAvailableForSubscription",
                                     "restrictionInfo": {"locations": [REGION]}}]
    return out


def test_capabilities_are_parsed_once_and_restrictions_stay_per_subscription():
    shared = SharedFacts()
    a = parse_skus(items(), A, shared=shared, only_location=REGION)
    b = parse_skus(items("Standard_D4s_v5"), B, shared=shared, only_location=REGION)

    assert len(shared) == len(a) == len(b)
    by_a, by_b = {s.name: s for s in a}, {s.name: s for s in b}
    assert by_b["Standard_D4s_v5"].restricted and not by_a["Standard_D4s_v5"].restricted
    assert by_b["Standard_D4s_v5"].capabilities is by_a["Standard_D4s_v5"].capabilities
    plain = [n for n, s in by_a.items() if not (s.restricted or s.restricted_zones) and n != "Standard_D4s_v5"]
    assert len(plain) > 40 and all(by_a[n] is by_b[n] for n in plain)  # one value for both subscriptions
    assert a == parse_skus(items(), A)  # the same values as without sharing


def test_guidance_answers_each_subscription_from_its_own_restrictions():
    shared = SharedFacts()
    index = SkuIndex().add(A, parse_skus(items(), A, shared=shared)).add(
        B, parse_skus(items("Standard_D4s_v5"), B, shared=shared))

    for first, second in ((A, B), (B, A)):  # whichever subscription is asked first
        guide = Guide(index, Catalog(retirements=tuple(load_builtin())))
        answers = {sub: guide.replacement(sub, REGION, "Standard_D4s_v3")[0] for sub in (first, second)}
        offered_a = {answers[A].vm_size, *answers[A].alternatives}
        offered_b = {answers[B].vm_size, *answers[B].alternatives}
        assert "Standard_D4s_v5" in offered_a
        assert "Standard_D4s_v5" not in offered_b
