"""Write samples/prices/retail-prices.json: Azure Retail Prices API answers for the sample tenant.

INVENTED prices (plausible orders of magnitude, not Microsoft's): the shape is the API's (two pages,
`NextPageLink`, `Items` with currencyCode, retailPrice, armRegionName, armSkuName, productName,
skuName, meterName, serviceName, type, isPrimaryMeterRegion, unitOfMeasure). Each size also gets
the meters a pay-as-you-go price must not be taken from (Spot, Dev/Test, a 1-year reservation), so
the demo shows them skipped. Run: python samples/prices/make_sample_prices.py
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

# size -> Linux price per hour (USD, invented); Windows adds 0.046 per vCPU
LINUX = {
    "Standard_NC6s_v3": (6, 3.06), "Standard_NC24ads_A100_v4": (24, 3.67),
    "Standard_NV12s_v3": (12, 1.14), "Standard_NV36ads_A10_v5": (36, 3.20),
    "Standard_D8s_v3": (8, 0.384), "Standard_D8s_v5": (8, 0.384), "Standard_D8s_v6": (8, 0.376),
    "Standard_D8ds_v5": (8, 0.452), "Standard_DS3_v2": (4, 0.293), "Standard_D4s_v5": (4, 0.192),
    "Standard_D2_v2": (2, 0.146), "Standard_D2ds_v5": (2, 0.113), "Standard_DS2_v2": (2, 0.146),
    "Standard_DS13_v2": (8, 0.598), "Standard_E8ds_v5": (8, 0.576), "Standard_B4ms": (4, 0.166),
    "Standard_F8s_v2": (8, 0.338), "Standard_F4s_v2": (4, 0.169), "Standard_D4ls_v5": (4, 0.170),
    "Standard_A2_v2": (2, 0.091), "Standard_B2ls_v2": (2, 0.042), "Standard_B2s": (2, 0.042),
    "Standard_D4s_v3": (4, 0.192), "Standard_HB120rs_v2": (120, 3.60),
}
REGIONS = {"westeurope": ("EU West", 1.08), "northeurope": ("EU North", 1.0), "eastus": ("US East", 0.92)}


def meter(size: str) -> str:
    core = size.removeprefix("Standard_")
    name, _, ver = core.partition("_")
    return f"{name} {ver}".strip()


def rows(size: str, region: str) -> list[dict]:
    vcpus, base = LINUX[size]
    location, factor = REGIONS[region]
    linux = round(base * factor, 4)
    windows = round(linux + 0.046 * vcpus, 4)
    series = meter(size).split(" ")[-1] if "_v" in size else ""
    product = f"Virtual Machines {meter(size).split(' ')[0].rstrip('0123456789').upper() or 'D'} Series {series}".strip()
    common = {"currencyCode": "USD", "tierMinimumUnits": 0.0, "armRegionName": region, "location": location,
              "effectiveStartDate": "2026-01-01T00:00:00Z", "armSkuName": size, "serviceName": "Virtual Machines",
              "serviceId": "DZH313Z7MMC8", "serviceFamily": "Compute", "unitOfMeasure": "1 Hour",
              "isPrimaryMeterRegion": True}
    m = meter(size)
    return [
        {**common, "retailPrice": linux, "unitPrice": linux, "meterName": m, "skuName": m, "productName": product,
         "type": "Consumption"},
        {**common, "retailPrice": windows, "unitPrice": windows, "meterName": m, "skuName": m,
         "productName": f"{product} Windows", "type": "Consumption"},
        {**common, "retailPrice": round(linux * 0.2, 4), "unitPrice": round(linux * 0.2, 4), "meterName": f"{m} Spot",
         "skuName": f"{m} Spot", "productName": product, "type": "Consumption"},
        {**common, "retailPrice": round(linux * 0.6, 4), "unitPrice": round(linux * 0.6, 4), "meterName": m, "skuName": m,
         "productName": f"{product} Windows", "type": "DevTestConsumption"},
        {**common, "retailPrice": round(linux * 8760 * 0.6, 1), "unitPrice": round(linux * 8760 * 0.6, 1),
         "meterName": m, "skuName": m, "productName": product, "type": "Reservation", "reservationTerm": "1 Year"},
    ]


def main() -> None:
    items = [r for size in LINUX for region in REGIONS for r in rows(size, region)]
    half = len(items) // 2
    pages = [
        {"BillingCurrency": "USD", "CustomerEntityId": "Default", "CustomerEntityType": "Retail", "Items": items[:half],
         "NextPageLink": "https://prices.azure.com/api/retail/prices?$skip=" + str(half), "Count": half},
        {"BillingCurrency": "USD", "CustomerEntityId": "Default", "CustomerEntityType": "Retail", "Items": items[half:],
         "NextPageLink": None, "Count": len(items) - half},
    ]
    (HERE / "retail-prices.json").write_text(json.dumps(pages, indent=1) + "\n", encoding="utf-8")
    print(f"wrote samples/prices/retail-prices.json ({len(items)} items in 2 pages)")


if __name__ == "__main__":
    main()
