"""The rebuilt pool's OS (guidance.new_pool_os) and node image families (core/node_images.py).

Rules from MicrosoftDocs/azure-aks-docs (stored in /work/shared/reference/docs): upgrade-os-version.md
@ d91258ba (OS SKU x Kubernetes version), azure-linux-retirement.md @ 6262afe3, windows-server-2019-
retirement.md @ 61b373f2, upgrade-windows-os.md @ cfccec22 (Windows2025 needs --enable-fips-image),
generation-2-vms.md (UseWindowsGen2VM for Windows2022), windows-annual-channel-retirement.md @ 769df1f5.
"""

from __future__ import annotations

import pytest

from scanner.core.guidance import new_pool_os
from scanner.core.model import NodePool
from scanner.core.node_images import family_of, is_gen1

HEADER = ("--aks-custom-headers", "UseWindowsGen2VM=true")


def linux(sku):
    return NodePool("p", os_sku=sku)


def windows(sku="", image="", version=""):
    return NodePool("w", os_type="Windows", os_sku=sku, node_image_version=image, orchestrator_version=version)


@pytest.mark.parametrize(("pool", "cluster", "sku", "extra", "fips"), [
    (linux("AzureLinux"), "1.31.1", "AzureLinux3", (), False),  # Azure Linux 2.0 images are gone
    (linux("AzureLinux"), "1.32.0", "AzureLinux", (), False),  # 3.0 by default from 1.32
    (linux("CBLMariner"), "1.30.5", "AzureLinux3", (), False),
    (linux("Mariner"), "1.33.2", "AzureLinux", (), False),
    (linux("AzureLinux3"), "1.37.0", "AzureLinux", (), False),  # AzureLinux3 only to 1.36
    (linux("Ubuntu2204"), "1.37.0", "Ubuntu", (), False),
    (linux("Ubuntu2204"), "1.33.0", "Ubuntu2204", (), False),
    (linux("Ubuntu"), "1.33.0", "Ubuntu", (), False),
    (linux(""), "1.33.0", "", (), False),
    (windows("Windows2019"), "1.31.2", "Windows2022", HEADER, False),  # 2019 has no Gen2
    (windows("Windows2019"), "1.36.0", "Windows2025", (), True),
    (windows("Windows2022"), "1.33.0", "Windows2022", HEADER, False),  # Gen2 needs the header
    (windows("Windows2022"), "1.37.0", "Windows2025", (), True),  # 2022 only to 1.36
    (windows("Windows2025"), "1.33.0", "Windows2025", (), True),  # never downgraded; FIPS image required
    (windows("WindowsAnnual"), "1.33.0", "Windows2025", (), True),  # no new Annual pools since 2026-05-15
    (windows("WindowsAnnual"), "1.31.0", "Windows2022", HEADER, False),
    (windows("", image="AKSWindows-2025-gen2-26100.4061.250518"), "1.33.0", "Windows2025", (), True),
    (windows("", version="1.24.9"), "1.29.8", "Windows2022", HEADER, False),  # default 2019 before 1.25
    (windows("", version="1.36.1"), "1.36.1", "Windows2025", (), True),  # default 2025 from 1.36
])
def test_new_pool_os(pool, cluster, sku, extra, fips):
    got = new_pool_os(pool, cluster)
    assert got.os_sku == sku
    assert got.fips is fips
    assert tuple(a for a in got.args if a not in ("--os-sku", sku)) == extra
    if pool.os_sku:  # a move away from the pool's own OS SKU is explained in the finding
        assert (got.note != "") == (pool.os_sku.lower() != sku.lower())


@pytest.mark.parametrize(("image", "family", "generation"), [
    ("AKSUbuntu-2204gen2containerd-202409.23.0", "Ubuntu", 2),
    ("AKSUbuntu-2204containerd-202401.09.0", "Ubuntu", 1),
    ("AKSUbuntu-2204gen2TLcontainerd-202409.23.0", "Ubuntu", 2),
    ("AKSUbuntu-2204gen2arm64containerd-202409.23.0", "Ubuntu", 2),
    ("AKSUbuntu-2004cvmcontainerd-202507.02.0", "Ubuntu", 2),  # CVM is Gen2 only, without "gen2" in the name
    ("AKSUbuntuEdgeZone-2204gen2containerd-202505.27.0", "Ubuntu", 2),
    ("AKSCBLMariner-V2-202406.25.0", "Mariner", 1),
    ("AKSCBLMariner-V2gen2arm64-202406.25.0", "Mariner", 2),
    ("AKSAzureLinux-V3gen2-202602.13.5", "AzureLinux", 2),
    ("AKSAzureLinux-V2-202502.26.0", "AzureLinux", 1),
    ("AKSAzureContainerLinux-202606.01.0", "AzureContainerLinux", 2),  # Gen2-only images
    ("AKSFlatcar-flatcargen2-202508.06.0", "Flatcar", 2),
    ("AKSWindows-2019-containerd-17763.7314.250518", "Windows2019", 1),
    ("AKSWindows-2022-containerd-20348.3207.250214", "Windows2022", 1),
    ("AKSWindows-2022-containerd-gen2-20348.3692.250518", "Windows2022", 2),
    ("AKSWindows-2025-gen2-26100.4061.250518", "Windows2025", 2),
    ("AKSWindows-23H2-gen2-25398.1611.250518", "WindowsAnnual", 2),
])
def test_node_image_families(image, family, generation):
    got = family_of(image)
    assert got is not None and got.family == family and got.generation == generation
    assert is_gen1(image) is (generation == 1)


@pytest.mark.parametrize("image", ["", "custom-image-v1", "AKSSomethingNew-1.0"])
def test_unknown_images_are_not_guessed_gen1(image):
    assert family_of(image) is None and not is_gen1(image)
