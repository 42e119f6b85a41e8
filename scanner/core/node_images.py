"""AKS node image families: what a `nodeImageVersion` says about the node's OS and VM generation.

    family_of(node_image_version) -> ImageFamily | None     None for "" or a name that is not AKS's
    ImageFamily.generation -> 1 | 2 | None                  None: unknown (never guessed as Gen1)

A node image's generation is a fact about its family, from a table, not a substring. Names are
`AKS<family>-<variant>-<version>`; the variant's tokens (gen2, arm64, CVM, TL, fips, kata) are read
per family:

| family (prefix)                    | OS SKU          | generation                                   |
|------------------------------------|-----------------|----------------------------------------------|
| AKSUbuntu-<1804/2004/2204/2404>    | Ubuntu (by ver) | 2 with `gen2`, `arm64`, `CVM`/`cvm`, `TL`; else 1 |
| AKSUbuntuEdgeZone-                 | Ubuntu          | same as Ubuntu                               |
| AKSCBLMariner-V1/V2                | Mariner         | 2 with `gen2`/`arm64`; else 1                |
| AKSAzureLinux-V2/V3                | AzureLinux      | 2 with `gen2`/`arm64`/`CVM`/`TL`; else 1     |
| AKSFlatcar-                        | Flatcar         | 2 with `gen2`/`arm64`; else 1                |
| AKSAzureContainerLinux-            | AzureContainerLinux | 2 (Gen2-only images)                     |
| AKSWindows-2019-                   | Windows2019     | 1 (Windows Server 2019 has no Gen2 AKS image)|
| AKSWindows-2022-                   | Windows2022     | 2 with `gen2`; else 1                        |
| AKSWindows-2025-                   | Windows2025     | 2 with `gen2`; else 1 (Gen2 is its default)  |
| AKSWindows-23H2-, -24H2-           | WindowsAnnual   | 2 with `gen2`; else 1                        |

Arm64, confidential (CVM) and Trusted Launch (TL) VMs are Generation 2 only, so their images are.
Sources (stored in /work/shared/reference/docs): azure-aks-docs articles/aks/node-images.md @ 48d78c92,
generation-2-vms.md @ fb060abe ("Windows Server 2025+ uses the Gen 2 node image by default"),
use-cvm.md @ 07d3d421 (CVM image names), windows-annual-channel.md @ 46eb06d8 (23H2 names), and the
image names collected in aks-node-os-lifecycle.md.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageFamily:
    family: str  # "Ubuntu", "AzureLinux", "Windows2022", ...
    os_sku: str  # the osSKU a pool on this image has (or would have)
    windows: bool
    generation: int | None  # 1, 2 or None (unknown)
    arm64: bool = False
    cvm: bool = False
    trusted_launch: bool = False
    fips: bool = False


# prefix (lower-case, without "AKS") -> (family, OS SKU, Windows, Gen2 only, Gen1 only)
_FAMILIES: dict[str, tuple[str, str, bool, bool, bool]] = {
    "ubuntu": ("Ubuntu", "Ubuntu", False, False, False),
    "ubuntuedgezone": ("Ubuntu", "Ubuntu", False, False, False),
    "cblmariner": ("Mariner", "CBLMariner", False, False, False),
    "azurelinux": ("AzureLinux", "AzureLinux", False, False, False),
    "flatcar": ("Flatcar", "Flatcar", False, False, False),
    "azurecontainerlinux": ("AzureContainerLinux", "AzureContainerLinux", False, True, False),
    "windows-2019": ("Windows2019", "Windows2019", True, False, True),
    "windows-2022": ("Windows2022", "Windows2022", True, False, False),
    "windows-2025": ("Windows2025", "Windows2025", True, False, False),
    "windows-23h2": ("WindowsAnnual", "WindowsAnnual", True, False, False),
    "windows-24h2": ("WindowsAnnual", "WindowsAnnual", True, False, False),
}
_NAME = re.compile(r"^aks(windows-(?:2019|2022|2025|23h2|24h2)|[a-z]+)-(.*)$")
_GEN2 = re.compile(r"gen2")
_ARM = re.compile(r"arm64")
_CVM = re.compile(r"cvm")
_TL = re.compile(r"gen2tl|(?:^|[-_])tl(?:$|[-_])")
_FIPS = re.compile(r"fips")


@functools.lru_cache(maxsize=1024)
def family_of(node_image_version: str) -> ImageFamily | None:
    """The family of an AKS node image name; None for "" or a name outside the table."""
    text = str(node_image_version or "").strip().lower()
    m = _NAME.match(text)
    if not m or m.group(1) not in _FAMILIES:
        return None
    family, os_sku, windows, gen2_only, gen1_only = _FAMILIES[m.group(1)]
    variant = m.group(2)
    arm, cvm, tl = bool(_ARM.search(variant)), bool(_CVM.search(variant)), bool(_TL.search(variant))
    if gen1_only:
        generation = 1
    elif gen2_only or arm or cvm or tl or _GEN2.search(variant):
        generation = 2
    else:
        generation = 1
    return ImageFamily(family, os_sku, windows, generation, arm, cvm, tl, bool(_FIPS.search(variant)))


def is_gen1(node_image_version: str) -> bool:
    """True only when the image is known to be Generation 1 (unknown names are not guessed)."""
    family = family_of(node_image_version)
    return family is not None and family.generation == 1
