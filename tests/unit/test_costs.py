"""What a move costs (issue 13): picking the pay-as-you-go meter, pricing findings, never blocking one."""

from __future__ import annotations

import json

import pytest

from scanner.core.costs import PriceBook, needed_prices, pick_price, price_findings
from scanner.core.model import Cost
from tests import factories
from tests.conftest import FIXTURES

BASE = {"currencyCode": "USD", "armRegionName": "westeurope", "armSkuName": "Standard_D4s_v5",
        "serviceName": "Virtual Machines", "unitOfMeasure": "1 Hour", "isPrimaryMeterRegion": True,
        "meterName": "D4s v5", "skuName": "D4s v5", "productName": "Virtual Machines DSv5 Series", "type": "Consumption"}
LINUX = {**BASE, "retailPrice": 0.192}
WINDOWS = {**BASE, "retailPrice": 0.376, "productName": "Virtual Machines DSv5 Series Windows"}
SPOT = {**BASE, "retailPrice": 0.04, "meterName": "D4s v5 Spot", "skuName": "D4s v5 Spot"}
LOW = {**BASE, "retailPrice": 0.05, "meterName": "D4s v5 Low Priority"}
DEVTEST = {**WINDOWS, "retailPrice": 0.19, "type": "DevTestConsumption"}
RESERVED = {**BASE, "retailPrice": 1000.0, "type": "Reservation", "reservationTerm": "1 Year"}
CLOUD = {**BASE, "retailPrice": 0.5, "productName": "Virtual Machines DSv5 Series Cloud Services"}
SECONDARY = {**BASE, "retailPrice": 0.9, "isPrimaryMeterRegion": False}
OTHER_REGION = {**BASE, "retailPrice": 0.3, "armRegionName": "eastus"}
NOISE = [SPOT, LOW, DEVTEST, RESERVED, CLOUD, SECONDARY, OTHER_REGION]


@pytest.mark.parametrize(("items", "os", "price", "why"), [
    pytest.param([LINUX, WINDOWS, *NOISE], "Linux", 0.192, "", id="linux-payg-among-spot-devtest-reserved"),
    pytest.param([LINUX, WINDOWS, *NOISE], "Windows", 0.376, "", id="windows-meter-has-the-suffix"),
    pytest.param(NOISE, "Linux", None, "no pay-as-you-go price", id="only-meters-that-do-not-count"),
    pytest.param([LINUX, {**LINUX, "retailPrice": 0.2}], "Linux", None, "ambiguous", id="two-prices-ambiguous"),
    pytest.param([LINUX, dict(LINUX)], "Linux", 0.192, "", id="duplicate-rows-same-price"),
])
def test_pick_price(items, os, price, why):
    got, reason = pick_price(items, "standard_d4s_v5", "West Europe", os)
    assert got == price and why in reason


def test_the_reference_doc_items_give_no_payg_price():
    doc = json.loads((FIXTURES / "prices" / "retail_prices_example.json").read_text())
    for item in doc["doc_items"]:  # a Spot meter as Dev/Test, a reservation, a Spot meter in EUR
        assert pick_price([item], item["armSkuName"], item["armRegionName"], "Windows")[0] is None
        assert pick_price([item], item["armSkuName"], item["armRegionName"], "Linux")[0] is None


def finding(size="Standard_D4s_v3", repl="Standard_D4s_v5", nodes=3, os="linux", spot=False):
    return factories.finding("aks1", "np1", size=size, replacement=repl, why="successor",
                             cost=Cost("", nodes, os_type=os, spot=spot))


def test_priced_finding_has_monthly_costs_delta_and_says_so():
    book = PriceBook("USD").add("Standard_D4s_v3", "westeurope", "linux", 0.20).add("Standard_D4s_v5", "westeurope", "linux", 0.192)
    (f,) = price_findings([finding()], book)
    assert (f.cost.current_monthly, f.cost.replacement_monthly, f.cost.delta_monthly) == (438.0, 420.48, -17.52)
    assert "USD 438.00/month now, 420.48 on Standard_D4s_v5 (-17.52)" in f.message


def test_a_missing_price_is_said_and_never_blocks_the_finding():
    book = PriceBook("EUR").add("Standard_D4s_v3", "westeurope", "linux", 0.2).missing(
        "Standard_D4s_v5", "westeurope", "linux", "no pay-as-you-go price for Standard_D4s_v5 (Linux) in westeurope")
    (f,) = price_findings([finding()], book)
    assert f.cost.replacement_monthly is None and f.cost.delta_monthly is None
    assert "no pay-as-you-go price for Standard_D4s_v5" in f.cost.note and "EUR 438.00/month now" in f.message
    assert f.replacement.vm_size == "Standard_D4s_v5" and f.commands  # the finding is whole


def test_without_prices_costs_are_left_out_and_spot_is_noted():
    assert price_findings([finding()], None)[0].cost is None
    (f,) = price_findings([finding(spot=True)], PriceBook())
    assert "Spot pool" in f.cost.note


def test_needed_prices_are_distinct_size_region_os():
    fs = [finding(), finding(), finding(os="windows"), factories.finding("vm1", "", size="Standard_B2s", replacement=None)]  # last: no cost
    assert needed_prices(fs) == {("Standard_D4s_v3", "westeurope", "linux"), ("Standard_D4s_v5", "westeurope", "linux"),
                                 ("Standard_D4s_v3", "westeurope", "windows"), ("Standard_D4s_v5", "westeurope", "windows")}
