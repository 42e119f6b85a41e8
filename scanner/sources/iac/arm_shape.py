"""The ARM resource shape that Bicep and ARM JSON templates share: where a resource writes its VM
size, pool name, OS and location. Pure.

Templates are first turned into a *structure*: dicts and lists as written, whose leaves are
`Value`s (a literal with where it is written and where it came from, or why it is not literal).
This module reads the declarations out of such a structure.

Property paths (ARM template reference, checked against learn.microsoft.com/azure/templates:
Microsoft.ContainerService/managedClusters, managedClusters/agentPools, Microsoft.Compute/virtualMachines,
Microsoft.Compute/virtualMachineScaleSets):
    managedClusters               properties.agentPoolProfiles[].vmSize (name, osType, osSKU, mode,
                                  orchestratorVersion, availabilityZones), properties.kubernetesVersion
    managedClusters/agentPools    properties.vmSize (same pool properties)
    virtualMachines               properties.hardwareProfile.vmSize, properties.storageProfile.osDisk.osType
    virtualMachineScaleSets       sku.name, properties.virtualMachineProfile.storageProfile.osDisk.osType
"""

from __future__ import annotations

import re
from dataclasses import replace
from typing import Any

from scanner.core.iac import Declaration, Spot, Value
from scanner.core.model import ResourceKind

CLUSTER = "microsoft.containerservice/managedclusters"
AGENT_POOL = "microsoft.containerservice/managedclusters/agentpools"
VM = "microsoft.compute/virtualmachines"
VMSS = "microsoft.compute/virtualmachinescalesets"
TYPES = (CLUSTER, AGENT_POOL, VM, VMSS)

# A module that is not read (a registry, git or template-spec module) is handed sizes by argument:
# an argument or property whose name ends in "size" / "sku" / "skuName" (agents_size, vm_size,
# vmSize, skuName), not a disk's or a storage account's, holding what looks like a VM size
# ("Standard_..." / "Basic_...", not a storage redundancy such as Standard_LRS).
_NOT_SIZE_KEY = re.compile(r"(?i)disk|storage|volume|publicip|gb$")
_VM_SIZE = re.compile(r"(?i)^(standard|basic)_[a-z][a-z0-9_-]*$")
_NOT_VM_SIZE = re.compile(r"(?i)_(lrs|grs|zrs|ragrs|gzrs|ragzrs)$")


def size_key(key: str) -> bool:
    k = key.lower().replace("_", "")
    return k.endswith(("size", "sku", "skuname")) and not _NOT_SIZE_KEY.search(key)


def looks_like_size(value: str) -> bool:
    return bool(_VM_SIZE.match(value)) and not _NOT_VM_SIZE.search(value)


def get(struct: Any, *keys: str | int) -> Any:
    """Walk a structure; keys match case-insensitively (ARM property names do). Returns None when
    a key is absent, or the unknown Value that stopped the walk (its reason then applies)."""
    for key in keys:
        if struct is None:
            return None
        if isinstance(struct, Value):
            if not struct.known:
                return struct
            plain = _plain_get(struct.value, key)
            if plain is _MISSING:
                return None
            struct = Value(spot=struct.spot, known=True, value=plain, text=struct.text,
                           source=struct.source, via=struct.via)
            continue
        if isinstance(struct, dict):
            if isinstance(key, int):
                return None
            match = next((k for k in struct if str(k).lower() == key.lower()), None)
            struct = struct.get(match) if match is not None else None
        elif isinstance(struct, list):
            if not isinstance(key, int) or not 0 <= key < len(struct):
                return None
            struct = struct[key]
        else:
            return None
    return struct


_MISSING = object()


def _plain_get(value: Any, key: str | int) -> Any:
    if isinstance(value, dict) and isinstance(key, str):
        match = next((k for k in value if str(k).lower() == key.lower()), None)
        return value[match] if match is not None else _MISSING
    if isinstance(value, list) and isinstance(key, int) and 0 <= key < len(value):
        return value[key]
    return _MISSING


def items(struct: Any) -> list[Any] | Value | None:
    """The elements of a list structure (a known list Value gives Values), or the unknown Value."""
    if isinstance(struct, list):
        return struct
    if isinstance(struct, Value):
        if not struct.known:
            return struct
        if isinstance(struct.value, list):
            return [Value(spot=struct.spot, known=True, value=v, text=struct.text, source=struct.source, via=struct.via)
                    for v in struct.value]
    return None


def text(struct: Any) -> str:
    """A literal scalar as text, "" otherwise."""
    if isinstance(struct, Value) and struct.known and isinstance(struct.value, (str, int, float)) \
            and not isinstance(struct.value, bool):
        return str(struct.value)
    return ""


def _zones(struct: Any) -> tuple[str, ...]:
    elems = items(struct)
    if not isinstance(elems, list):
        return ()
    return tuple(text(z) for z in elems if text(z))


def _size(struct: Any, where: Spot, attribute: str) -> Value:
    if struct is None:
        return Value(spot=where, known=False, reason=f"{attribute} is not set")
    if isinstance(struct, Value):
        if struct.known and not isinstance(struct.value, str):
            return Value(spot=struct.spot, known=False, text=struct.text, reason=f"not a string ({struct.value!r})")
        return struct
    return Value(spot=where, known=False, reason=f"{attribute} is an object or array, not a size")


def declarations(rtype: str, body: Any, address: str, where: Spot, language: str,
                 parent: Any = None) -> list[Declaration]:
    """Declarations of one resource. `body` is its structure; `parent` the parent cluster's
    (agentPools declared as children or with `parent:`)."""
    t = rtype.lower()
    location = text(get(body, "location")) or (text(get(parent, "location")) if parent is not None else "")
    if t == CLUSTER:
        version = text(get(body, "properties", "kubernetesVersion"))
        pools = items(get(body, "properties", "agentPoolProfiles"))
        if isinstance(pools, Value):  # the whole list is not literal
            return [Declaration(ResourceKind.AKS_NODEPOOL, address, rtype, "properties.agentPoolProfiles",
                                Value(spot=pools.spot, known=False, text=pools.text, reason=pools.reason),
                                location=location, language=language)]
        out = []
        for i, pool in enumerate(pools or []):
            attribute = f"properties.agentPoolProfiles[{i}].vmSize"
            out.append(_pool(pool, address, rtype, attribute, _size(get(pool, "vmSize"), _where(pool, where), attribute),
                             location, version, language))
        return out
    if t == AGENT_POOL:
        props = get(body, "properties")
        version = text(get(props, "orchestratorVersion")) or text(get(parent, "properties", "kubernetesVersion"))
        attribute = "properties.vmSize"
        name = text(get(body, "name")).rsplit("/", 1)[-1]
        decl = _pool(props, address, rtype, attribute, _size(get(props, "vmSize"), where, attribute), location,
                     version, language)
        return [replace(decl, pool=decl.pool or name)]
    if t == VM:
        attribute = "properties.hardwareProfile.vmSize"
        return [Declaration(ResourceKind.VM, address, rtype, attribute,
                            _size(get(body, "properties", "hardwareProfile", "vmSize"), where, attribute),
                            location=location,
                            os_type=text(get(body, "properties", "storageProfile", "osDisk", "osType")),
                            zones=_zones(get(body, "zones")), language=language)]
    if t == VMSS:
        attribute = "sku.name"
        decl = Declaration(ResourceKind.VMSS, address, rtype, attribute, _size(get(body, "sku", "name"), where, attribute),
                           location=location,
                           os_type=text(get(body, "properties", "virtualMachineProfile", "storageProfile", "osDisk",
                                            "osType")),
                           zones=_zones(get(body, "zones")), language=language)
        if not (decl.size.known and str(decl.size.value).lower() == "mix"):
            return [decl]
        # Instance mix: sku.name "Mix", the sizes in properties.skuProfile.vmSizes[].name
        # (https://learn.microsoft.com/azure/virtual-machine-scale-sets/instance-mix-create).
        sizes = items(get(body, "properties", "skuProfile", "vmSizes"))
        if not isinstance(sizes, list):
            return [replace(decl, attribute="properties.skuProfile.vmSizes", size=Value(
                spot=sizes.spot if isinstance(sizes, Value) else decl.size.spot, known=False,
                text=sizes.text if isinstance(sizes, Value) else "",
                reason=sizes.reason if isinstance(sizes, Value) else 'sku.name "Mix" without properties.skuProfile.vmSizes'))]
        return [replace(decl, attribute=f"properties.skuProfile.vmSizes[{i}].name",
                        size=_size(get(entry, "name"), _where(entry, where), f"properties.skuProfile.vmSizes[{i}].name"))
                for i, entry in enumerate(sizes)]
    return []


def _where(struct: Any, default: Spot) -> Spot:
    if isinstance(struct, Value):
        return struct.spot
    if isinstance(struct, dict):
        for v in struct.values():
            w = _where(v, None)
            if w is not None:
                return w
    return default


def _pool(pool: Any, address: str, rtype: str, attribute: str, size: Value, location: str, version: str,
          language: str) -> Declaration:
    unresolved = []
    os_type = text(get(pool, "osType"))
    for name in ("osType", "osSKU"):
        v = get(pool, name)
        if isinstance(v, Value) and not v.known and not (name == "osSKU" and os_type.lower() == "linux"):
            unresolved.append((f"{attribute.rsplit('.', 1)[0]}.{name}", Value(
                spot=v.spot, known=False, text=v.text,
                reason=f"{v.reason}; {name} decides whether this is a Windows pool on Generation 1: "
                       "the gen1-node-image check is not made for it")))
    if not os_type and not any(n.endswith("osType") for n, _ in unresolved):
        os_type = "Linux"
    return Declaration(
        kind=ResourceKind.AKS_NODEPOOL,
        address=address,
        resource_type=rtype,
        attribute=attribute,
        size=size,
        pool=text(get(pool, "name")),
        location=location,
        os_type=os_type,
        os_sku=text(get(pool, "osSKU")),
        kubernetes_version=text(get(pool, "orchestratorVersion")) or version,
        mode=text(get(pool, "mode")) or "User",
        zones=_zones(get(pool, "availabilityZones")),
        language=language,
        unresolved=tuple(unresolved),
    )
