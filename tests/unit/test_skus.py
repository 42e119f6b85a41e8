"""parse_skus / SkuIndex / load_sku_files: string capabilities become facts a judge can trust."""

from __future__ import annotations

import copy
import json

import pytest

from scanner.core.model import Cluster, Inventory, ScaleSet, Sku, VirtualMachine
from scanner.errors import InputError
from scanner.sources.skus import ANY_SUBSCRIPTION, SkuIndex, load_sku_files, needed_pairs, parse_skus
from tests.conftest import FIXTURES

ARM = FIXTURES / "arm"


def _westus() -> list[dict]:
    return json.loads((ARM / "skus_response_westus.json").read_text())["value"]


def _item(name="Standard_X2_v9", caps=None, **extra) -> dict:
    caps = {"vCPUs": "2", "MemoryGB": "8", "HyperVGenerations": "V1,V2"} if caps is None else caps
    item = {"resourceType": "virtualMachines", "name": name, "family": "standardXFamily", "locations": ["eastus"],
            "locationInfo": [{"location": "eastus", "zones": ["1", "2", "3"]}],
            "capabilities": [{"name": k, "value": v} for k, v in caps.items()], "restrictions": []}
    item.update(extra)
    return item


def test_reference_region_list():
    skus = {s.name: s for s in parse_skus(_westus())}
    a0, d2 = skus["Standard_A0"], skus["Standard_D2s_v5"]
    assert a0.gen1_only and not a0.supports_gen2
    assert (a0.vcpus, a0.memory_gb, a0.location, a0.zones) == (1, 0.75, "westus", frozenset({"1", "2"}))
    assert d2.supports_gen2 and not d2.gen1_only
    assert d2.restricted_zones == frozenset({"3"}) and not d2.restricted
    assert d2.available_in_zones(("1", "2")) and not d2.available_in_zones(("3",))
    assert d2.family == "standardDSv5Family" and d2.capabilities["PremiumIO"] == "True"


@pytest.mark.parametrize(
    "caps, attr, expected",
    [
        ({"HyperVGenerations": "V1"}, "hyperv_generations", frozenset({"V1"})),
        ({"HyperVGenerations": " v1 , V2 "}, "hyperv_generations", frozenset({"V1", "V2"})),
        ({"HyperVGenerations": "V2"}, "hyperv_generations", frozenset({"V2"})),
        ({}, "hyperv_generations", frozenset()),
        ({"CpuArchitectureType": "Arm64"}, "cpu_architecture", "Arm64"),
        ({}, "cpu_architecture", "x64"),
        ({"GPUs": "4"}, "gpus", 4),
        ({}, "gpus", 0),
        ({"vCPUs": "96"}, "vcpus", 96),
        ({"MemoryGB": "0.75"}, "memory_gb", 0.75),
        ({"MemoryGB": "1750"}, "memory_gb", 1750.0),
    ],
    ids=["gen1", "gen1-gen2-spaced", "gen2", "no-gen", "arm64", "default-arch", "gpus", "no-gpus", "vcpus",
         "memory-fraction", "memory-large"],
)
def test_capabilities_are_parsed_from_strings(caps, attr, expected):
    (sku,) = parse_skus([_item(caps=caps)])
    assert getattr(sku, attr) == expected


@pytest.mark.parametrize(
    "restrictions, restricted, restricted_zones",
    [
        ([], False, frozenset()),
        ([{"type": "Location", "values": ["eastus"], "reasonCode": "NotAvailableForSubscription",
           "restrictionInfo": {"locations": ["eastus"]}}], True, frozenset()),
        ([{"type": "Zone", "values": ["eastus"], "reasonCode": "NotAvailableForSubscription",
           "restrictionInfo": {"locations": ["eastus"], "zones": ["2", "3"]}}], False, frozenset({"2", "3"})),
        ([{"type": "Location", "values": ["westus"], "restrictionInfo": {"locations": ["westus"]}}],
         False, frozenset()),  # another region's restriction
    ],
    ids=["none", "location", "zones", "other-region"],
)
def test_restrictions(restrictions, restricted, restricted_zones):
    (sku,) = parse_skus([_item(restrictions=restrictions)])
    assert (sku.restricted, sku.restricted_zones) == (restricted, restricted_zones)


def test_index_answers_restriction_questions():
    items = [_item("Standard_A", restrictions=[{"type": "Location", "values": ["eastus"],
                                                  "restrictionInfo": {"locations": ["eastus"]}}]),
             _item("Standard_B", restrictions=[{"type": "Zone", "values": ["eastus"],
                                                  "restrictionInfo": {"locations": ["eastus"], "zones": ["3"]}}])]
    index = SkuIndex().add("sub-1", parse_skus(items, "sub-1"))
    assert index.is_restricted("sub-1", "eastus", "standard_a") is True
    assert index.is_restricted("SUB-1", "East US", "Standard_B") is False
    assert index.is_restricted("sub-1", "eastus", "Standard_B", zones=("1", "3")) is True
    assert index.is_restricted("sub-1", "eastus", "Standard_Z") is None
    assert index.is_restricted("sub-2", "eastus", "Standard_A") is None


def test_one_sku_per_location_and_only_virtual_machines():
    multi = _item(locations=["eastus", "westeurope"],
                  locationInfo=[{"location": "eastus", "zones": ["1"]}, {"location": "westeurope", "zones": []}])
    disk = {"resourceType": "disks", "name": "Premium_LRS", "locations": ["eastus"], "capabilities": []}
    skus = parse_skus([multi, disk])
    assert sorted((s.location, tuple(s.zones)) for s in skus) == [("eastus", ("1",)), ("westeurope", ())]


@pytest.mark.parametrize(
    "item, message",
    [
        (_item(caps={"vCPUs": "two"}), "Standard_X2_v9 in eastus.*'vCPUs' is 'two'"),
        (_item(caps={"MemoryGB": "lots"}), "'MemoryGB' is 'lots'"),
        ({"resourceType": "virtualMachines", "locations": ["eastus"]}, "missing field 'name'"),
        ("Standard_D2", "expected an object"),
    ],
    ids=["vcpus-text", "memory-text", "no-name", "not-object"],
)
def test_bad_items_are_named(item, message):
    with pytest.raises(InputError, match=message):
        parse_skus([item])


def test_files_list_rest_and_folder_agree(tmp_path):
    rest = tmp_path / "rest.json"
    rest.write_text((ARM / "skus_response_westus.json").read_text())
    cli = tmp_path / "cli" / "westus.json"
    cli.parent.mkdir()
    cli.write_text(json.dumps(_westus()))  # az vm list-skus -o json prints a plain list
    from_rest, from_cli = load_sku_files([str(rest)]), load_sku_files([str(cli.parent)])
    for index in (from_rest, from_cli):
        assert index.scopes() == [(ANY_SUBSCRIPTION, "westus")]
        assert index.get("any-sub", "westus", "standard_a0").gen1_only
    assert from_rest.sizes("x", "westus") == from_cli.sizes("x", "westus")


def test_capability_examples_file_reads():
    index = load_sku_files([str(ARM / "skus_capability_examples.json")])
    assert index.get("s", "eastus", "Standard_F2s").gen1_only
    assert index.get("s", "eastus", "Standard_A8_v2").zones == frozenset({"1", "2", "3"})


@pytest.mark.parametrize(
    "content, message",
    [("{oops", "not valid JSON"), ('{"items": []}', "expected a JSON list of SKUs"),
     (json.dumps([_item(caps={"GPUs": "x"})]), "'GPUs' is 'x'")],
    ids=["broken", "wrong-shape", "bad-capability"],
)
def test_sku_file_errors_name_the_file(tmp_path, content, message):
    path = tmp_path / "skus.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as err:
        load_sku_files([str(path)])
    assert str(path) in str(err.value)


def test_existing_index_api_keeps_its_fallback():
    own = Sku("Standard_D2s_v5", "westus", restricted=True)
    shared = Sku("Standard_D2s_v5", "westus")
    index = SkuIndex().add(ANY_SUBSCRIPTION, [shared]).add("sub-a", [own])
    assert index.get("sub-a", "westus", "Standard_D2s_v5").restricted
    assert not index.get("sub-b", "westus", "Standard_D2s_v5").restricted
    assert index.has_region("sub-b", "West US") and not index.has_region("sub-b", "eastus")
    assert len(SkuIndex.from_skus(parse_skus(copy.deepcopy(_westus())))) == 2


def test_needed_pairs():
    inv = Inventory(
        clusters=(Cluster("c", "c", "SUB-A", "rg", "westeurope"),),
        vms=(VirtualMachine("v", "v", "sub-a", "rg", "westeurope", "Standard_A1"),
             VirtualMachine("w", "w", "sub-b", "rg", "East US", "Standard_A1")),
        scale_sets=(ScaleSet("s", "s", "sub-a", "rg", "northeurope", "Standard_A1"),),
    )
    assert needed_pairs(inv) == [("sub-a", "northeurope"), ("sub-a", "westeurope"), ("sub-b", "eastus")]


def test_subscriptions_listing_the_same_sizes_share_them_and_a_later_addition_stays_their_own():
    d2 = Sku("Standard_D2s_v5", "westeurope", vcpus=2, hyperv_generations=frozenset({"V1", "V2"}))
    d4 = Sku("Standard_D4s_v5", "westeurope", vcpus=4, hyperv_generations=frozenset({"V1", "V2"}))
    e4 = Sku("Standard_E4s_v5", "westeurope", vcpus=4, hyperv_generations=frozenset({"V2"}))
    index = SkuIndex().add("sub-a", [d2, d4]).add("sub-b", [d2, d4]).add("sub-c", [d4, d2])
    assert [s.name for s in index.sizes("sub-a", "westeurope")] == ["Standard_D2s_v5", "Standard_D4s_v5"]
    assert index.sizes("sub-b", "westeurope") == index.sizes("sub-a", "westeurope")
    index.add("sub-b", [e4])  # more for sub-b only
    assert index.get("sub-b", "westeurope", "Standard_E4s_v5") is e4
    assert index.get("sub-a", "westeurope", "Standard_E4s_v5") is None  # sub-a did not grow with it
    assert index.get("sub-c", "westeurope", "Standard_E4s_v5") is None
    assert len(index.sizes("sub-a", "westeurope")) == 2 and len(index.sizes("sub-b", "westeurope")) == 3
    index.ensure_scope("sub-d", "westeurope").add("sub-d", [d2])
    assert [s.name for s in index.sizes("sub-d", "westeurope")] == ["Standard_D2s_v5"]
    assert len(index.sizes("sub-a", "westeurope")) == 2
