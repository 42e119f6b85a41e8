"""What a move costs: pay-as-you-go prices per (size, region, OS) and the monthly cost on findings. Pure.

    PriceBook(currency)                       hourly prices read from the Azure Retail Prices API
        .add(size, region, os_type, hourly)   os_type "linux" | "windows"
        .missing(size, region, os_type, why)  a price that was looked for and not found, and why
        .hourly(size, region, os_type) -> (float | None, why)
    pick_price(items, size, region, os_type) -> (float | None, why)
        The pay-as-you-go meter among Retail Prices items: serviceName "Virtual Machines", type
        "Consumption", productName starting "Virtual Machines" (Windows meters end " Windows"),
        never Spot (skuName/meterName " Spot"), Low Priority (meterName " Low Priority"), Dev/Test
        or reservations, primary meter region when the API says. More than one candidate left is
        "ambiguous", never "the first one".
    needed_prices(findings) -> set[(size, region, os_type)]   what the findings with a cost need
    price_findings(findings, book) -> list[Finding]           Cost filled in (a missing price says so)

Facts and sources: /work/shared/reference/prices/notes.md (Retail Prices REST API overview,
https://learn.microsoft.com/rest/api/cost-management/retail-prices/azure-retail-prices; meter
filters as Microsoft's AKS Karpenter provider applies them; 730 hours a month).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace

from scanner.core.model import Finding, region_key


def os_key(os_type: str) -> str:
    return "windows" if (os_type or "").strip().lower() == "windows" else "linux"


def pick_price(items: Iterable[Mapping], size: str, region: str, os_type: str) -> tuple[float | None, str]:
    """The hourly pay-as-you-go price of `size` in `region` for `os_type` (see the module docstring)."""
    want_windows = os_key(os_type) == "windows"
    loc = region_key(region)
    found: list[float] = []
    for it in items:
        if str(it.get("armSkuName", "")).lower() != size.lower() or region_key(str(it.get("armRegionName", ""))) != loc:
            continue
        if it.get("serviceName") != "Virtual Machines" or it.get("type") != "Consumption":
            continue  # DevTestConsumption, Reservation, other services
        product = str(it.get("productName", ""))
        sku_name, meter = str(it.get("skuName", "")), str(it.get("meterName", ""))
        if not product.startswith("Virtual Machines") or "Cloud Services" in product:
            continue
        if sku_name.endswith(" Spot") or meter.endswith(" Spot") or meter.endswith(" Low Priority") \
                or sku_name.endswith(" Low Priority"):
            continue
        if it.get("isPrimaryMeterRegion") is False:
            continue
        if product.endswith(" Windows") != want_windows:
            continue
        if str(it.get("unitOfMeasure", "1 Hour")) != "1 Hour":
            continue
        try:
            found.append(float(it.get("retailPrice")))
        except (TypeError, ValueError):
            continue
    prices = sorted(set(found))
    what = f"{size} ({'Windows' if want_windows else 'Linux'}) in {loc}"
    if not prices:
        return None, f"no pay-as-you-go price for {what}"
    if len(prices) > 1:
        return None, f"{len(prices)} different pay-as-you-go prices for {what}: ambiguous"
    return prices[0], ""


class PriceBook:
    def __init__(self, currency: str = "USD") -> None:
        self.currency = currency
        self._prices: dict[tuple[str, str, str], tuple[float | None, str]] = {}
        self.requests = 0  # HTTP requests made to fill it (0 for files and cache hits)
        self.cached = 0  # (size, region) lists answered from the cache

    def add(self, size: str, region: str, os_type: str, hourly: float | None, why: str = "") -> PriceBook:
        self._prices[(size.lower(), region_key(region), os_key(os_type))] = (hourly, why)
        return self

    def missing(self, size: str, region: str, os_type: str, why: str) -> PriceBook:
        return self.add(size, region, os_type, None, why)

    def hourly(self, size: str, region: str, os_type: str) -> tuple[float | None, str]:
        return self._prices.get((size.lower(), region_key(region), os_key(os_type)),
                                (None, f"no price read for {size} in {region_key(region)}"))

    def __len__(self) -> int:
        return sum(1 for p, _ in self._prices.values() if p is not None)


def needed_prices(findings: Iterable[Finding]) -> set[tuple[str, str, str]]:
    """(size as written, region, os) for every finding with a cost: its size and its replacement."""
    out: dict[tuple[str, str, str], tuple[str, str, str]] = {}
    for f in findings:
        if f.cost is None:
            continue
        loc, os = region_key(f.resource.location), os_key(f.cost.os_type)
        for size in (f.vm_size, f.replacement.vm_size if f.replacement is not None else ""):
            if size:
                out.setdefault((size.lower(), loc, os), (size, loc, os))
    return set(out.values())


def _money(v: float) -> str:
    return f"{v:,.2f}"


def price_findings(findings: Iterable[Finding], book: PriceBook | None) -> list[Finding]:
    """Findings with their Cost priced; without a book, costs are dropped (nothing to show)."""
    out = []
    for f in findings:
        if f.cost is None:
            out.append(f)
            continue
        if book is None:
            out.append(replace(f, cost=None))
            continue
        loc, os = f.resource.location, f.cost.os_type
        now, why_now = book.hourly(f.vm_size, loc, os)
        new, why_new = (book.hourly(f.replacement.vm_size, loc, os) if f.replacement is not None
                        else (None, "no replacement"))
        notes = [w for w in (why_now, why_new if f.replacement is not None else "") if w]
        if f.cost.spot:
            notes.append("Spot pool: pay-as-you-go prices shown, Spot prices are lower and vary")
        cost = replace(f.cost, currency=book.currency, current_hourly=now, replacement_hourly=new,
                       note="; ".join(notes))
        text = ""
        if cost.current_monthly is not None and cost.replacement_monthly is not None:
            sign = "+" if cost.delta_monthly >= 0 else "-"
            text = (f" Cost: {cost.nodes} node(s) x {cost.hours} h at pay-as-you-go prices: {book.currency} "
                    f"{_money(cost.current_monthly)}/month now, {_money(cost.replacement_monthly)} on "
                    f"{f.replacement.vm_size} ({sign}{_money(abs(cost.delta_monthly))}).")
        elif cost.current_monthly is not None:
            text = (f" Cost: {book.currency} {_money(cost.current_monthly)}/month now "
                    f"({cost.nodes} node(s) x {cost.hours} h)" + (f"; {why_new}." if f.replacement is not None else "."))
        out.append(replace(f, cost=cost, message=f.message + text))
    return out
