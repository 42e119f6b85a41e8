"""Writes samples/skus/<region>.json: SKU facts for the invented sample tenant, in the shape
`az vm list-skus --location <region> -o json` prints. Run it only to change the sample on purpose:

    .venv/bin/python samples/make_sample_skus.py

Sizes, vCPUs, memory, GPU counts and Hyper-V generations follow the Azure size documentation;
which region offers what, and the restrictions, are invented for the demo.
"""

from __future__ import annotations

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent

# name: (vCPUs, memory GB, HyperVGenerations, CPU architecture, GPUs, PremiumIO, family)
SIZES = {
    # Dv2 (Gen1 only) and DSv2: retiring
    "Standard_D1_v2": (1, 3.5, "V1", "x64", 0, False, "standardDv2Family"),
    "Standard_D2_v2": (2, 7, "V1", "x64", 0, False, "standardDv2Family"),
    "Standard_D3_v2": (4, 14, "V1", "x64", 0, False, "standardDv2Family"),
    "Standard_D4_v2": (8, 28, "V1", "x64", 0, False, "standardDv2Family"),
    "Standard_D11_v2": (2, 14, "V1", "x64", 0, False, "standardDv2Family"),
    "Standard_DS1_v2": (1, 3.5, "V1,V2", "x64", 0, True, "standardDSv2Family"),
    "Standard_DS2_v2": (2, 7, "V1,V2", "x64", 0, True, "standardDSv2Family"),
    "Standard_DS3_v2": (4, 14, "V1,V2", "x64", 0, True, "standardDSv2Family"),
    "Standard_DS4_v2": (8, 28, "V1,V2", "x64", 0, True, "standardDSv2Family"),
    "Standard_DS12_v2": (4, 28, "V1,V2", "x64", 0, True, "standardDSv2Family"),
    "Standard_DS13_v2": (8, 56, "V1,V2", "x64", 0, True, "standardDSv2Family"),
    # Dsv3 (retires 2029)
    "Standard_D2s_v3": (2, 8, "V1,V2", "x64", 0, True, "standardDSv3Family"),
    "Standard_D4s_v3": (4, 16, "V1,V2", "x64", 0, True, "standardDSv3Family"),
    "Standard_D8s_v3": (8, 32, "V1,V2", "x64", 0, True, "standardDSv3Family"),
    # v5 and v6 general purpose
    "Standard_D2s_v5": (2, 8, "V1,V2", "x64", 0, True, "standardDSv5Family"),
    "Standard_D4s_v5": (4, 16, "V1,V2", "x64", 0, True, "standardDSv5Family"),
    "Standard_D8s_v5": (8, 32, "V1,V2", "x64", 0, True, "standardDSv5Family"),
    "Standard_D16s_v5": (16, 64, "V1,V2", "x64", 0, True, "standardDSv5Family"),
    "Standard_D2ds_v5": (2, 8, "V1,V2", "x64", 0, True, "standardDDSv5Family"),
    "Standard_D4ds_v5": (4, 16, "V1,V2", "x64", 0, True, "standardDDSv5Family"),
    "Standard_D8ds_v5": (8, 32, "V1,V2", "x64", 0, True, "standardDDSv5Family"),
    "Standard_D2as_v5": (2, 8, "V1,V2", "x64", 0, True, "standardDASv5Family"),
    "Standard_D4as_v5": (4, 16, "V1,V2", "x64", 0, True, "standardDASv5Family"),
    "Standard_D8as_v5": (8, 32, "V1,V2", "x64", 0, True, "standardDASv5Family"),
    "Standard_D2s_v6": (2, 8, "V2", "x64", 0, True, "standardDSv6Family"),
    "Standard_D4s_v6": (4, 16, "V2", "x64", 0, True, "standardDSv6Family"),
    "Standard_D8s_v6": (8, 32, "V2", "x64", 0, True, "standardDSv6Family"),
    "Standard_E2s_v5": (2, 16, "V1,V2", "x64", 0, True, "standardESv5Family"),
    "Standard_E4s_v5": (4, 32, "V1,V2", "x64", 0, True, "standardESv5Family"),
    "Standard_E8s_v5": (8, 64, "V1,V2", "x64", 0, True, "standardESv5Family"),
    "Standard_E16s_v5": (16, 128, "V1,V2", "x64", 0, True, "standardESv5Family"),
    "Standard_E2ds_v5": (2, 16, "V1,V2", "x64", 0, True, "standardEDSv5Family"),
    "Standard_E4ds_v5": (4, 32, "V1,V2", "x64", 0, True, "standardEDSv5Family"),
    "Standard_E8ds_v5": (8, 64, "V1,V2", "x64", 0, True, "standardEDSv5Family"),
    # compute optimised
    "Standard_F2s_v2": (2, 4, "V1,V2", "x64", 0, True, "standardFSv2Family"),
    "Standard_F4s_v2": (4, 8, "V1,V2", "x64", 0, True, "standardFSv2Family"),
    "Standard_F8s_v2": (8, 16, "V1,V2", "x64", 0, True, "standardFSv2Family"),
    "Standard_F16s_v2": (16, 32, "V1,V2", "x64", 0, True, "standardFSv2Family"),
    "Standard_F2als_v6": (2, 4, "V2", "x64", 0, True, "standardFalsv6Family"),
    "Standard_F4als_v6": (4, 8, "V2", "x64", 0, True, "standardFalsv6Family"),
    "Standard_F8als_v6": (8, 16, "V2", "x64", 0, True, "standardFalsv6Family"),
    "Standard_F16als_v6": (16, 32, "V2", "x64", 0, True, "standardFalsv6Family"),
    "Standard_D2ls_v5": (2, 4, "V1,V2", "x64", 0, True, "standardDLSv5Family"),
    "Standard_D4ls_v5": (4, 8, "V1,V2", "x64", 0, True, "standardDLSv5Family"),
    "Standard_D8ls_v5": (8, 16, "V1,V2", "x64", 0, True, "standardDLSv5Family"),
    # burstable
    "Standard_B1s": (1, 1, "V1,V2", "x64", 0, True, "standardBSFamily"),
    "Standard_B2s": (2, 4, "V1,V2", "x64", 0, True, "standardBSFamily"),
    "Standard_B2ms": (2, 8, "V1,V2", "x64", 0, True, "standardBSFamily"),
    "Standard_B4ms": (4, 16, "V1,V2", "x64", 0, True, "standardBSFamily"),
    "Standard_B2s_v2": (2, 8, "V1,V2", "x64", 0, True, "standardBsv2Family"),
    "Standard_B4s_v2": (4, 16, "V1,V2", "x64", 0, True, "standardBsv2Family"),
    "Standard_B2ls_v2": (2, 4, "V1,V2", "x64", 0, True, "standardBsv2Family"),
    # Av2 (Gen1 only)
    "Standard_A1_v2": (1, 2, "V1", "x64", 0, False, "standardAv2Family"),
    "Standard_A2_v2": (2, 4, "V1", "x64", 0, False, "standardAv2Family"),
    "Standard_A4_v2": (4, 8, "V1", "x64", 0, False, "standardAv2Family"),
    "Standard_A2m_v2": (2, 16, "V1", "x64", 0, False, "standardAv2Family"),
    # Arm64
    "Standard_D2ps_v5": (2, 8, "V2", "Arm64", 0, True, "standardDPSv5Family"),
    "Standard_D4ps_v5": (4, 16, "V2", "Arm64", 0, True, "standardDPSv5Family"),
    "Standard_D8ps_v5": (8, 32, "V2", "Arm64", 0, True, "standardDPSv5Family"),
    "Standard_D2pls_v5": (2, 4, "V2", "Arm64", 0, True, "standardDPLSv5Family"),
    # GPU
    "Standard_NV12s_v3": (12, 112, "V1,V2", "x64", 1, True, "standardNVSv3Family"),
    "Standard_NV24s_v3": (24, 224, "V1,V2", "x64", 2, True, "standardNVSv3Family"),
    "Standard_NV36ads_A10_v5": (36, 440, "V2", "x64", 1, True, "StandardNVADSA10v5Family"),
    "Standard_NV72ads_A10_v5": (72, 880, "V2", "x64", 2, True, "StandardNVADSA10v5Family"),
    "Standard_NC6s_v3": (6, 112, "V1,V2", "x64", 1, True, "standardNCSv3Family"),
    "Standard_NC4as_T4_v3": (4, 28, "V1,V2", "x64", 1, True, "standardNCASv3_T4Family"),
    "Standard_NC16as_T4_v3": (16, 110, "V1,V2", "x64", 1, True, "standardNCASv3_T4Family"),
    "Standard_NC64as_T4_v3": (64, 440, "V1,V2", "x64", 4, True, "standardNCASv3_T4Family"),
    "Standard_NC24ads_A100_v4": (24, 220, "V2", "x64", 1, True, "StandardNCADSA100v4Family"),
    # HPC
    "Standard_HB120rs_v2": (120, 456, "V1,V2", "x64", 0, True, "standardHBrsv2Family"),
    "Standard_HB120rs_v3": (120, 448, "V1,V2", "x64", 0, True, "standardHBrsv3Family"),
    "Standard_HB176rs_v4": (176, 768, "V2", "x64", 0, True, "standardHBv4Family"),
    "Standard_HX176rs": (176, 1408, "V2", "x64", 0, True, "standardHXFamily"),
}

# Local storage and disk controller by family: (temp disk GiB per vCPU, cache GiB per vCPU,
# DiskControllerTypes, ephemeral OS disk supported). From the size pages of learn.microsoft.com
# (azure/virtual-machines/sizes/...: "Temp storage (SSD) GiB", "Max cached ... storage", "Ephemeral OS
# Disk", NVMe interface): sizes without a 'd' in v5/v6 have no local disk at all, so no ephemeral OS
# disk (Dsv5, Dasv5, Esv5, Dlsv5, Bsv2, Dpsv5, Falsv6); v6 sizes attach disks over NVMe only; a 'd'
# size places an ephemeral OS disk on its temp disk. Per-vCPU sizes round the tables' figures.
LOCAL = {
    "standardDv2Family": (50, 0, "SCSI", False),  # D2_v2: 100 GiB temp, no premium storage
    "standardDSv2Family": (7, 43, "SCSI", True),  # DS2_v2: 14 GiB temp, 86 GiB cache
    "standardDSv3Family": (8, 25, "SCSI", True),  # D2s_v3: 16 GiB temp, 50 GiB cache
    "standardDSv5Family": (0, 0, "SCSI", False),
    "standardDDSv5Family": (37.5, 0, "SCSI", True),  # D2ds_v5: 75 GiB temp
    "standardDASv5Family": (0, 0, "SCSI", False),
    "standardDSv6Family": (0, 0, "NVMe", False),
    "standardESv5Family": (0, 0, "SCSI", False),
    "standardEDSv5Family": (37.5, 0, "SCSI", True),  # E2ds_v5: 75 GiB temp
    "standardFSv2Family": (8, 16, "SCSI", True),  # F2s_v2: 16 GiB temp, 32 GiB cache
    "standardFalsv6Family": (0, 0, "NVMe", False),  # the fact: F8als_v6 has no ephemeral OS disk
    "standardDLSv5Family": (0, 0, "SCSI", False),
    "standardBSFamily": (4, 0, "SCSI", False),  # B2s: 8 GiB temp
    "standardBsv2Family": (0, 0, "SCSI", False),
    "standardAv2Family": (10, 0, "SCSI", False),  # A2_v2: 20 GiB temp
    "standardDPSv5Family": (0, 0, "SCSI", False),
    "standardDPLSv5Family": (0, 0, "SCSI", False),
    "standardNVSv3Family": (28, 0, "SCSI", True),  # NV12s_v3: 320 GiB temp
    "StandardNVADSA10v5Family": (10, 0, "SCSI", True),  # NV36ads_A10_v5: 360 GiB temp
    "standardNCSv3Family": (123, 0, "SCSI", True),  # NC6s_v3: 736 GiB temp
    "standardNCASv3_T4Family": (44, 0, "SCSI", True),  # NC4as_T4_v3: 176 GiB temp
    "StandardNCADSA100v4Family": (40, 0, "SCSI", True),  # NC24ads_A100_v4: 958 GiB NVMe local
    "standardHBrsv2Family": (6, 0, "SCSI", True),  # HB120rs_v2: 480 + 960 GiB local
    "standardHBrsv3Family": (6, 0, "SCSI", True),
    "standardHBv4Family": (0, 0, "SCSI", True),
    "standardHXFamily": (0, 0, "SCSI", True),
}

GENERAL = [n for n, v in SIZES.items() if v[4] == 0 and not n.startswith("Standard_H")]
REGIONS = {
    # region: (sizes, zones per size (None = no zones), restrictions {size: ("Location"|"Zone", zones)})
    "westeurope": (
        GENERAL + ["Standard_NV12s_v3", "Standard_NV24s_v3", "Standard_NV36ads_A10_v5", "Standard_NV72ads_A10_v5",
                   "Standard_NC6s_v3", "Standard_NC4as_T4_v3", "Standard_NC16as_T4_v3", "Standard_NC64as_T4_v3",
                   "Standard_NC24ads_A100_v4", "Standard_HB120rs_v2", "Standard_HB120rs_v3"],
        {"Standard_NV36ads_A10_v5": ["1", "2"], "Standard_NV72ads_A10_v5": ["1", "2"],
         "Standard_HB120rs_v2": None, "Standard_HB120rs_v3": None},
        {"Standard_D2s_v5": ("Zone", ["3"])},
    ),
    "northeurope": (GENERAL, {}, {"Standard_D2s_v6": ("Location", [])}),
    "eastus": (
        GENERAL + ["Standard_HB120rs_v2", "Standard_HB176rs_v4", "Standard_HX176rs"],
        {"Standard_HB120rs_v2": None, "Standard_HB176rs_v4": None, "Standard_HX176rs": None},
        {"Standard_DS3_v2": ("Location", [])},
    ),
}


def _num(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else str(v)


def sku(name: str, region: str, zones, restriction) -> dict:
    vcpus, mem, gens, arch, gpus, premium, family = SIZES[name]
    temp_per_vcpu, cache_per_vcpu, controllers, ephemeral = LOCAL[family]
    caps = [
        {"name": "MaxResourceVolumeMB", "value": str(int(vcpus * temp_per_vcpu * 1024))},
        {"name": "OSVhdSizeMB", "value": "1047552"},
        {"name": "vCPUs", "value": str(vcpus)},
        {"name": "MemoryPreservingMaintenanceSupported", "value": "True"},
        {"name": "HyperVGenerations", "value": gens},
        {"name": "MemoryGB", "value": _num(mem)},
        {"name": "MaxDataDiskCount", "value": str(min(64, max(4, vcpus * 2)))},
        {"name": "CpuArchitectureType", "value": arch},
        {"name": "LowPriorityCapable", "value": "True"},
        {"name": "PremiumIO", "value": "True" if premium else "False"},
        {"name": "VMDeploymentTypes", "value": "IaaS"},
        {"name": "vCPUsAvailable", "value": str(vcpus)},
        {"name": "EphemeralOSDiskSupported", "value": "True" if ephemeral and premium else "False"},
        {"name": "DiskControllerTypes", "value": "NVMe" if controllers == "NVMe" else "SCSI"},
        {"name": "AcceleratedNetworkingEnabled", "value": "True" if vcpus >= 2 else "False"},
        {"name": "vCPUsPerCore", "value": "1" if arch == "Arm64" or name.startswith("Standard_H") else "2"},
    ]
    if cache_per_vcpu:
        caps.append({"name": "CachedDiskBytes", "value": str(int(vcpus * cache_per_vcpu * 1024 ** 3))})
    if gens == "V1":  # Trusted Launch needs Generation 2
        caps.append({"name": "TrustedLaunchDisabled", "value": "True"})
    if gpus:
        caps.append({"name": "GPUs", "value": str(gpus)})
    restrictions = []
    if restriction:
        kind, rzones = restriction
        info = {"locations": [region]}
        if kind == "Zone":
            info["zones"] = rzones
        restrictions.append({"reasonCode": "NotAvailableForSubscription", "restrictionInfo": info,
                             "type": kind, "values": [region]})
    size_part = name.split("_", 1)[1]
    return {
        "apiVersions": None,
        "capabilities": caps,
        "capacity": None,
        "costs": None,
        "family": family,
        "kind": None,
        "locationInfo": [{"location": region, "zoneDetails": [], "zones": zones if zones is not None else []}],
        "locations": [region],
        "name": name,
        "resourceType": "virtualMachines",
        "restrictions": restrictions,
        "size": size_part,
        "tier": "Standard",
    }


def main() -> None:
    for region, (names, zone_map, restrictions) in REGIONS.items():
        items = [sku(n, region, zone_map.get(n, ["1", "2", "3"]), restrictions.get(n)) for n in sorted(names)]
        path = HERE / "skus" / f"{region}.json"
        path.write_text(json.dumps(items, indent=2) + "\n", encoding="utf-8")
        print(f"{path.relative_to(HERE.parent)}: {len(items)} sizes")


if __name__ == "__main__":
    main()
