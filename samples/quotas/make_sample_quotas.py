"""Write the sample tenant's vCPU usages as `az vm list-usage --location REGION -o json` prints them
(currentValue and limit as strings, localName added). Invented numbers; edit the tables, then run:

    python samples/quotas/make_sample_quotas.py

What they show (with the inventory in ../inventory):
- 5f1c...e01/westeurope: aks-payments-prod `apps` (Standard_D8s_v3, 3 nodes, autoscaler max 10) sits
  at its standardDSv3Family ceiling (24/24) on a capacity-restricted series: `capacity-restricted`,
  high. Its replacement's family (standardDSv5Family, 92/100) has no room for the new pool (14 x 8
  vCPUs), so an alternative that fits (Standard_D8s_v6) is proposed instead.
- 5f1c...e01/northeurope: aks-legacy-win `win19` (Standard_D4s_v3, Windows Server 2019) has no quota
  for any replacement (DSv5 16/20, DSv6 0/0, DDSv5 0/8): the finding says so, with `az quota create`.
- <region>.json at the top: roomy usages for every other subscription in that region.
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
E01 = "5f1c2a3e-9b4d-4c6a-8e2f-1a2b3c4d5e01"

LABELS = {"cores": "Total Regional vCPUs", "virtualMachines": "Virtual Machines",
          "lowPriorityCores": "Total Regional Low-priority vCPUs"}

ROOMY = {"cores": (40, 350), "virtualMachines": (20, 25000), "lowPriorityCores": (0, 200),
         "standardBSFamily": (6, 100), "standardAv2Family": (2, 100), "standardDSv2Family": (12, 100),
         "standardDv2Family": (0, 100), "standardDSv3Family": (8, 100), "standardDSv5Family": (0, 100),
         "standardDDSv5Family": (12, 100), "standardDASv5Family": (0, 100), "standardDPSv5Family": (8, 100),
         "standardDSv6Family": (0, 100), "standardBsv2Family": (0, 100), "standardDLSv5Family": (0, 100),
         "standardFSv2Family": (4, 100), "standardNCSv3Family": (6, 24), "standardNCADSA100v4Family": (0, 48),
         "standardNVADSA10v5Family": (0, 144), "standardHBrsv2Family": (120, 240), "standardESv5Family": (0, 100)}

FILES = {
    "westeurope.json": ROOMY,
    "eastus.json": ROOMY,
    f"{E01}/westeurope.json": {**ROOMY, "cores": (70, 350), "standardDSv3Family": (24, 24),
                               "standardDSv5Family": (92, 100), "standardDSv6Family": (0, 200),
                               "standardDSv2Family": (10, 20), "standardNVSv3Family": (24, 24)},
    f"{E01}/northeurope.json": {**ROOMY, "cores": (40, 100), "standardDv2Family": (6, 10),
                                "standardDSv3Family": (8, 12), "standardDSv5Family": (16, 20),
                                "standardDSv6Family": (0, 0), "standardDDSv5Family": (0, 8),
                                "standardDSv2Family": (8, 20)},
}


def label(name: str) -> str:
    if name in LABELS:
        return LABELS[name]
    core = name[len("standard"):-len("Family")] if name.startswith("standard") else name
    return f"Standard {core} Family vCPUs"


def main() -> None:
    for rel, table in FILES.items():
        rows = [{"currentValue": str(cur), "limit": str(lim), "localName": label(n),
                 "name": {"localizedValue": label(n), "value": n}, "unit": "Count"}
                for n, (cur, lim) in table.items()]
        path = HERE / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {path.relative_to(HERE.parent.parent)} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
