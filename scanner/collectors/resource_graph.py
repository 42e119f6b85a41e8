"""Inventory from Azure Resource Graph (live) or from exported JSON files.

Public functions (signatures are a contract):

    to_resources(rows: Iterable[dict]) -> Inventory
        Pure. Rows in the ARM resource shape (`id, name, type, location, subscriptionId,
        resourceGroup, tags, sku, zones, properties`), as returned by our KQL files, by
        `az graph query -o json`, or flattened (no `properties` wrapper) as printed by
        `az aks list -o json`, `az vm list -o json` and `az vmss list -o json`. Key lookups are
        case-insensitive. Rows of other types are ignored; duplicate ids are read once. A row
        that cannot be read becomes a ScopeError (scope = resource id or "row N", error names
        the field) in Inventory.errors; the other rows are still returned.
    load_inventory_files(paths: list[str], strict: bool = True) -> Inventory
        Files or folders (*.json) of the exports above: a JSON list of rows, `{"data": [...]}`
        (az graph query / ARG REST), `{"value": [...]}` (ARM list) or a single resource. Errors
        name the file; with strict=True a bad row raises InventoryError naming file, id, field.
    collect_inventory(settings, scope, clients=None, *, sleep=time.sleep,
                      clock=time.monotonic, batch_size=1000) -> Inventory
        Live. Lists the subscriptions the identity can see (GET /subscriptions, Lighthouse
        delegations included), narrows them to the scope (tenant | mg:... via ResourceContainers
        ancestors | sub:...), then runs queries/*.kql through the ResourceGraphClient's pipeline
        (raw JSON: the generated model is 3x slower on large pages) in batches of at most 1000
        subscriptions, pages of 1000 rows with `$skipToken`. Per batch, queries/subscriptions.kql
        first confirms which subscriptions Resource Graph can read (ARG silently omits the rest).
        Requests = 1 token + subscription-list pages + ARG pages (no per-subscription calls). Never calls ARM per
        subscription or per cluster. Throttling: waits when `x-ms-user-quota-remaining` reaches 0
        (for `x-ms-user-quota-resets-after`), retries 429/5xx with Retry-After or backoff.
        A subscription or management group that cannot be read becomes a ScopeError and the
        rest is scanned; `subscriptions_seen` lists what was read, `requests` counts ARM calls.

AKS plumbing is folded into its pool: scale sets tagged `aks-managed-poolName` in a cluster's
node resource group (or tagged with `aks-managed-cluster-name`/`-rg`) get `aks_cluster_id` and
`aks_pool` and are not returned in `Inventory.scale_sets`; VMs of `VirtualMachines` pools
(same tags, node resource group) are not returned in `Inventory.vms`. AKS-tagged resources whose
cluster is not in the inventory are kept (nothing is dropped unseen).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scanner.core import pool_flags
from scanner.errors import AzureReadError, InventoryError
from scanner.model import Cluster, Inventory, NodePool, ScaleSet, ScopeError, VirtualMachine

log = logging.getLogger("scanner.resource_graph")

QUERY_DIR = Path(__file__).resolve().parent / "queries"

TYPE_CLUSTER = "microsoft.containerservice/managedclusters"
TYPE_AGENTPOOL = "microsoft.containerservice/managedclusters/agentpools"
TYPE_VM = "microsoft.compute/virtualmachines"
TYPE_VMSS = "microsoft.compute/virtualmachinescalesets"

ARG_MAX_SUBSCRIPTIONS = 1000  # subscriptions per Resource Graph request
ARG_PAGE_SIZE = 1000  # rows per page ($top maximum)
SUBSCRIPTIONS_API_VERSION = "2022-12-01"
ARG_API_VERSION = "2021-03-01"  # what azure-mgmt-resourcegraph 8.0.1 sends
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
MAX_RETRIES = 6
MAX_WAIT_SECONDS = 120.0
_GUID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SKIP_STATES = {"disabled", "deleted"}

# --------------------------------------------------------------------------- pure: row access

_MISSING = object()


def _get(obj: Any, path: str, default: Any = None) -> Any:
    """`_get(row, "properties.hardwareProfile.vmSize")`, keys matched case-insensitively."""
    cur = obj
    for key in _split(path):
        if type(cur) is not dict and not isinstance(cur, Mapping):
            return default
        val = cur.get(key, _MISSING)
        if val is _MISSING:
            low = key.lower()
            for k, v in cur.items():
                if isinstance(k, str) and k.lower() == low:
                    val = v
                    break
            else:
                return default
        cur = val
    return default if cur is None else cur


@functools.lru_cache(maxsize=512)
def _split(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


def _lowered(obj: Mapping) -> dict:
    """One level of keys lower-cased, for objects read field by field."""
    return {k.lower() if isinstance(k, str) else k: v for k, v in obj.items()}


class _RowError(Exception):
    """A field of one row cannot be read (becomes a ScopeError / InventoryError)."""


def _props(row: Mapping) -> Mapping:
    """ARG/REST rows keep fields under `properties`; `az ... list -o json` flattens them."""
    props = _get(row, "properties")
    if isinstance(props, Mapping):
        return props
    if props is not None:
        raise _RowError(f"field 'properties' is {type(props).__name__}, expected an object")
    return row


def _str(value: Any, where: str) -> str:
    if value is None:
        return ""
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    raise _RowError(f"field '{where}' is {type(value).__name__}, expected text")


def _int(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _RowError(f"field '{where}' is a boolean, expected a whole number")
    try:
        if isinstance(value, float):
            if value != int(value):
                raise ValueError
            return int(value)
        return int(str(value).strip())
    except ValueError:
        raise _RowError(f"field '{where}' is {value!r}, expected a whole number") from None


def _float(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _RowError(f"field '{where}' is a boolean, expected a number")
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _RowError(f"field '{where}' is {value!r}, expected a number") from None


def _bool(value: Any, where: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _RowError(f"field '{where}' is {value!r}, expected true or false")


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(_str(v, where) for v in value if v is not None)
    raise _RowError(f"field '{where}' is {type(value).__name__}, expected a list")


def _strmap(value: Any, where: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise _RowError(f"field '{where}' is {type(value).__name__}, expected an object")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _state(value: Any) -> str:
    """powerState {"code": "Running"} | "PowerState/deallocated" | "VM running" -> last word."""
    if isinstance(value, Mapping):
        value = _get(value, "code", "")
    text = str(value or "").strip()
    if not text:
        return ""
    return re.split(r"[/ ]", text)[-1]


def _id_parts(resource_id: str) -> dict[str, str]:
    parts = [p for p in resource_id.split("/") if p]
    out: dict[str, str] = {}
    for i in range(0, len(parts) - 1, 2):
        out.setdefault(parts[i].lower(), parts[i + 1])
    return out


def _envelope(row: Mapping) -> tuple[str, str, str, str, str, dict[str, str]]:
    rid = _str(_get(row, "id"), "id")
    if not rid:
        raise _RowError("missing field 'id'")
    parts = _id_parts(rid)
    name = _str(_get(row, "name"), "name") or rid.rstrip("/").rsplit("/", 1)[-1]
    sub = (_str(_get(row, "subscriptionId"), "subscriptionId") or parts.get("subscriptions", "")).lower()
    # The id keeps the group's own casing in every export (ARG lower-cases `resourceGroup`).
    rg = parts.get("resourcegroups", "") or _str(_get(row, "resourceGroup"), "resourceGroup")
    loc = _str(_get(row, "location"), "location").lower().replace(" ", "")
    if not sub:
        raise _RowError("missing field 'subscriptionId' (and the id has no /subscriptions/ segment)")
    if not loc:
        raise _RowError("missing field 'location'")
    return rid, name, sub, rg, loc, _strmap(_get(row, "tags"), "tags")


def _tag(tags: Mapping[str, str], name: str) -> str:
    low = name.lower()
    for k, v in tags.items():
        if k.lower() == low:
            return v
    return ""


# --------------------------------------------------------------------------- pure: parsers


def _parse_pool(p: Mapping, i: int) -> NodePool:
    where = f"properties.agentPoolProfiles[{i}]"
    if not isinstance(p, Mapping):
        raise _RowError(f"field '{where}' is {type(p).__name__}, expected an object")
    q = _lowered(p)
    name = _str(q.get("name"), f"{where}.name")
    if not name:
        raise _RowError(f"missing field '{where}.name'")
    where = f"{where} (pool {name!r})"
    pool_type = _str(q.get("type"), f"{where}.type") or "VirtualMachineScaleSets"
    size_counts: tuple[tuple[str, int], ...] = ()
    if pool_type.lower() == "virtualmachines":
        manual = _get(p, "virtualMachinesProfile.scale.manual") or q.get("virtualmachinenodesstatus") or []
        if not isinstance(manual, list):
            raise _RowError(f"field '{where}.virtualMachinesProfile.scale.manual' is not a list")
        pairs = []
        shared: list[str] = []  # sizes of entries that list several sizes for one count
        total = 0
        for j, m in enumerate(manual):
            at = f"{where}.virtualMachinesProfile.scale.manual[{j}]"
            n = _int(_get(m, "count"), f"{at}.count") or 0
            # GA API versions write one `size` per entry; the preview ones a `sizes` list.
            entry = [s for s in _strs(_get(m, "sizes"), f"{at}.sizes") if s] or [_str(_get(m, "size"), f"{at}.size")]
            if not entry[0]:
                raise _RowError(f"missing field '{at}.size'")
            total += n
            if len(entry) == 1:
                pairs.append((entry[0], n))
            else:
                shared.extend(entry)
        if not pairs and not shared and q.get("vmsize"):
            pairs.append((_str(q.get("vmsize"), f"{where}.vmSize"), _int(q.get("count"), f"{where}.count") or 0))
            total = pairs[0][1]
        if not pairs and not shared:
            raise _RowError(f"missing field '{where}.virtualMachinesProfile.scale.manual' (VirtualMachines pool)")
        size_counts = tuple(pairs)
        vm_sizes = tuple(dict.fromkeys([s for s, _ in pairs] + shared))
        count = total
    else:
        size = _str(q.get("vmsize"), f"{where}.vmSize")
        if not size:
            raise _RowError(f"missing field '{where}.vmSize'")
        vm_sizes = (size,)
        count = _int(q.get("count"), f"{where}.count")
    properties, unknown = pool_flags.read_properties(p)
    return NodePool(
        name=name,
        mode=_str(q.get("mode"), f"{where}.mode") or "User",
        pool_type=pool_type,
        vm_sizes=vm_sizes,
        size_counts=size_counts,
        count=count,
        enable_autoscaling=_bool(q.get("enableautoscaling"), f"{where}.enableAutoScaling"),
        min_count=_int(q.get("mincount"), f"{where}.minCount"),
        max_count=_int(q.get("maxcount"), f"{where}.maxCount"),
        zones=_strs(q.get("availabilityzones"), f"{where}.availabilityZones"),
        os_type=_str(q.get("ostype"), f"{where}.osType") or "Linux",
        os_sku=_str(q.get("ossku"), f"{where}.osSKU"),
        node_image_version=_str(q.get("nodeimageversion"), f"{where}.nodeImageVersion"),
        orchestrator_version=_str(
            q.get("currentorchestratorversion") or q.get("orchestratorversion"), f"{where}.orchestratorVersion"
        ),
        labels=_strmap(q.get("nodelabels"), f"{where}.nodeLabels"),
        taints=_strs(q.get("nodetaints"), f"{where}.nodeTaints"),
        priority=_str(q.get("scalesetpriority"), f"{where}.scaleSetPriority") or "Regular",
        eviction_policy=_str(q.get("scalesetevictionpolicy"), f"{where}.scaleSetEvictionPolicy"),
        spot_max_price=_float(q.get("spotmaxprice"), f"{where}.spotMaxPrice"),
        max_pods=_int(q.get("maxpods"), f"{where}.maxPods"),
        os_disk_size_gb=_int(q.get("osdisksizegb"), f"{where}.osDiskSizeGB"),
        os_disk_type=_str(q.get("osdisktype"), f"{where}.osDiskType"),
        power_state=_state(q.get("powerstate")),
        vnet_subnet_id=_str(q.get("vnetsubnetid"), f"{where}.vnetSubnetID"),
        pod_subnet_id=_str(q.get("podsubnetid"), f"{where}.podSubnetID"),
        properties=properties,
        unknown_properties=unknown,
    )


def _parse_cluster(row: Mapping) -> Cluster:
    rid, name, sub, rg, loc, tags = _envelope(row)
    props = _props(row)
    profiles = _get(props, "agentPoolProfiles") or []
    if not isinstance(profiles, list):
        raise _RowError("field 'properties.agentPoolProfiles' is not a list")
    return Cluster(
        id=rid, name=name, subscription_id=sub, resource_group=rg, location=loc, tags=tags,
        node_resource_group=_str(_get(props, "nodeResourceGroup"), "properties.nodeResourceGroup"),
        kubernetes_version=_str(
            _get(props, "currentKubernetesVersion") or _get(props, "kubernetesVersion"),
            "properties.kubernetesVersion",
        ),
        power_state=_state(_get(props, "powerState")),
        pools=tuple(_parse_pool(p, i) for i, p in enumerate(profiles)),
    )


def _parse_vm(row: Mapping) -> VirtualMachine:
    rid, name, sub, rg, loc, tags = _envelope(row)
    props = _props(row)
    size = _str(_get(props, "hardwareProfile.vmSize"), "properties.hardwareProfile.vmSize")
    if not size:
        raise _RowError("missing field 'properties.hardwareProfile.vmSize'")
    power = _get(props, "extended.instanceView.powerState") or _get(props, "instanceView.statuses") or _get(
        row, "powerState"
    )
    if isinstance(power, list):  # instanceView.statuses: [{code: "PowerState/running"}, ...]
        codes = [_get(s, "code", "") for s in power if str(_get(s, "code", "")).startswith("PowerState/")]
        power = codes[0] if codes else ""
    return VirtualMachine(
        id=rid, name=name, subscription_id=sub, resource_group=rg, location=loc, vm_size=size, tags=tags,
        zones=_strs(_get(row, "zones"), "zones"),
        os_type=_str(_get(props, "storageProfile.osDisk.osType"), "properties.storageProfile.osDisk.osType"),
        security_type=_str(_get(props, "securityProfile.securityType"), "properties.securityProfile.securityType"),
        power_state=_state(power),
        scale_set_id=_str(_get(props, "virtualMachineScaleSet.id"), "properties.virtualMachineScaleSet.id"),
    )


def _parse_vmss(row: Mapping) -> ScaleSet:
    rid, name, sub, rg, loc, tags = _envelope(row)
    props = _props(row)
    mode = _str(_get(props, "orchestrationMode"), "properties.orchestrationMode")
    size = _str(_get(row, "sku.name"), "sku.name")
    if not size and mode.lower() != "flexible":  # a Flexible scale set may have no VM profile
        raise _RowError("missing field 'sku.name' (the VM size)")
    profile = "virtualMachineProfile"
    return ScaleSet(
        id=rid, name=name, subscription_id=sub, resource_group=rg, location=loc, vm_size=size,
        capacity=_int(_get(row, "sku.capacity"), "sku.capacity"), tags=tags,
        zones=_strs(_get(row, "zones"), "zones"),
        os_type=_str(_get(props, f"{profile}.storageProfile.osDisk.osType"),
                     f"properties.{profile}.storageProfile.osDisk.osType"),
        orchestration_mode=mode,
        upgrade_policy=_str(_get(props, "upgradePolicy.mode"), "properties.upgradePolicy.mode"),
        security_type=_str(_get(props, f"{profile}.securityProfile.securityType"),
                           f"properties.{profile}.securityProfile.securityType"),
    )


def _cluster_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"


def _parsed(rows: Iterable[tuple[int, Mapping]], parse: Callable[[Mapping], Any], errors: list[ScopeError]) -> Iterator:
    """parse(row) for each (row number, row); a row that does not parse becomes an error naming its id."""
    for n, row in rows:
        try:
            yield parse(row)
        except _RowError as exc:
            errors.append(ScopeError(str(_get(row, "id", "")) or f"row {n}", str(exc)))


def to_resources(rows: Iterable[Mapping]) -> Inventory:
    """Typed inventory from ARM-shaped rows (see the module docstring). Pure."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise InventoryError(f"inventory rows must be a list of objects, got {type(rows).__name__}")
    seen_ids: set[str] = set()
    clusters: list[Cluster] = []
    vm_rows: list[tuple[int, Mapping]] = []
    vmss_rows: list[tuple[int, Mapping]] = []
    errors: list[ScopeError] = []
    for n, row in enumerate(rows):
        if not isinstance(row, Mapping):
            errors.append(ScopeError(f"row {n}", f"is {type(row).__name__}, expected an object"))
            continue
        rid = str(_get(row, "id", "") or "")
        rtype = str(_get(row, "type", "") or "").lower()
        if not rtype:
            errors.append(ScopeError(rid or f"row {n}", "missing field 'type'"))
            continue
        if rtype not in (TYPE_CLUSTER, TYPE_VM, TYPE_VMSS):
            continue
        if rid:
            if rid.lower() in seen_ids:
                continue
            seen_ids.add(rid.lower())
        if rtype == TYPE_CLUSTER:
            try:
                clusters.append(_parse_cluster(row))
            except _RowError as exc:
                errors.append(ScopeError(rid or f"row {n}", str(exc)))
        elif rtype == TYPE_VM:
            vm_rows.append((n, row))
        else:
            vmss_rows.append((n, row))

    # AKS node resource groups -> cluster (same subscription)
    by_node_rg = {(c.subscription_id, c.node_resource_group.lower()): c for c in clusters if c.node_resource_group}
    by_id = {c.id.lower(): c for c in clusters}

    def owner(sub: str, rg: str, tags: Mapping[str, str]) -> tuple[Cluster | None, str]:
        pool = _tag(tags, "aks-managed-poolName")
        cluster = by_node_rg.get((sub, rg.lower()))
        if cluster is None:
            cname, crg = _tag(tags, "aks-managed-cluster-name"), _tag(tags, "aks-managed-cluster-rg")
            if cname and crg:
                cluster = by_id.get(_cluster_id(sub, crg, cname).lower())
        if cluster is not None and not pool:
            return None, ""  # something else living in the node resource group
        if cluster is not None and not any(p.name.lower() == pool.lower() for p in cluster.pools):
            return None, pool  # pool no longer in the cluster's profile: report it on its own
        return cluster, pool

    scale_sets: list[ScaleSet] = []
    for ss in _parsed(vmss_rows, _parse_vmss, errors):
        cluster, pool = owner(ss.subscription_id, ss.resource_group, ss.tags)
        if cluster is not None:
            continue  # reported through its node pool
        if pool:
            ss = replace(ss, aks_pool=pool)
        scale_sets.append(ss)

    vms: list[VirtualMachine] = []
    for vm in _parsed(vm_rows, _parse_vm, errors):
        cluster, _pool = owner(vm.subscription_id, vm.resource_group, vm.tags)
        if cluster is not None:
            continue  # a node of an AKS VirtualMachines pool
        vms.append(vm)

    return Inventory(clusters=tuple(clusters), vms=tuple(vms), scale_sets=tuple(scale_sets), errors=tuple(errors))


def aks_managed_scale_sets(rows: Iterable[Mapping]) -> list[ScaleSet]:
    """The AKS-managed scale sets in `rows`, with aks_cluster_id/aks_pool set (pure; for reports)."""
    rows = list(rows)
    inv = to_resources(rows)
    by_node_rg = {(c.subscription_id, c.node_resource_group.lower()): c for c in inv.clusters}
    out = []
    for row in rows:
        if str(_get(row, "type", "")).lower() != TYPE_VMSS:
            continue
        try:
            ss = _parse_vmss(row)
        except _RowError:
            continue
        pool = _tag(ss.tags, "aks-managed-poolName")
        cluster = by_node_rg.get((ss.subscription_id, ss.resource_group.lower()))
        if pool and cluster is not None and any(p.name.lower() == pool.lower() for p in cluster.pools):
            out.append(replace(ss, aks_cluster_id=cluster.id, aks_pool=pool))
    return out


# --------------------------------------------------------------------------- files


def _rows_from_document(doc: Any, source: str) -> list:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, Mapping):
        if isinstance(doc.get("data"), list):
            return doc["data"]
        if isinstance(doc.get("data"), Mapping) and "columns" in doc["data"]:
            raise InventoryError(f"{source}: Resource Graph 'table' result format; export with "
                                 "resultFormat objectArray (az graph query -o json does this)")
        if isinstance(doc.get("value"), list):
            return doc["value"]
        if "id" in doc and "type" in doc:
            return [doc]
    raise InventoryError(
        f"{source}: expected a JSON list of resources, {{\"data\": [...]}} or {{\"value\": [...]}}"
    )


def _expand_paths(paths: Iterable[str], pattern: str = "*.json") -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.rglob(pattern) if f.is_file())
            if not files:
                raise InventoryError(f"{raw}: folder has no {pattern} files")
            out.extend(files)
        elif p.is_file():
            out.append(p)
        else:
            raise InventoryError(f"{raw}: no such file or folder")
    return out


def read_json_file(path: Path, error_cls: type[Exception] = InventoryError) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise error_cls(f"{path}: cannot read ({exc.strerror or exc})") from None
    except UnicodeDecodeError:
        raise error_cls(f"{path}: not UTF-8 text") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise error_cls(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None


def load_inventory_files(paths: list[str], strict: bool = True) -> Inventory:
    """Inventory from exported files (see the module docstring). Errors name the file."""
    rows: list = []
    origin: list[str] = []
    for path in _expand_paths(paths):
        got = _rows_from_document(read_json_file(path), str(path))
        rows.extend(got)
        origin.extend([str(path)] * len(got))
    inv = to_resources(rows)
    if inv.errors:
        # Name the file each problem came from.
        id_to_file = {str(_get(r, "id", "")).lower(): origin[i] for i, r in enumerate(rows) if isinstance(r, Mapping)}
        named = []
        for e in inv.errors:
            if e.scope.startswith("row "):
                idx = int(e.scope.split()[1])
                named.append(ScopeError(f"{origin[idx]}: item {idx}", e.error))
            else:
                named.append(ScopeError(f"{id_to_file.get(e.scope.lower(), '?')}: {e.scope}", e.error))
        if strict:
            shown = "; ".join(f"{e.scope}: {e.error}" for e in named[:10])
            more = f" (and {len(named) - 10} more)" if len(named) > 10 else ""
            raise InventoryError(f"inventory: {len(named)} unreadable item(s): {shown}{more}")
        inv = replace(inv, errors=tuple(named))
    log.info("inventory files: %s", summary(inv))
    return inv


def summary(inv: Inventory, pages: int | None = None) -> str:
    pools = sum(len(c.pools) for c in inv.clusters)
    text = (f"{pools} node pools in {len(inv.clusters)} clusters, {len(inv.vms)} VMs, "
            f"{len(inv.scale_sets)} scale sets")
    if pages is not None:
        text += f", {len(inv.subscriptions_seen)} subscriptions, {pages} pages, {inv.requests} requests"
    if inv.errors:
        text += f", {len(inv.errors)} scope errors"
    return text


# --------------------------------------------------------------------------- live (I/O)


def load_query(name: str) -> str:
    """The text of queries/<name>.kql (pasteable into Resource Graph Explorer)."""
    return (QUERY_DIR / f"{name}.kql").read_text(encoding="utf-8")


INVENTORY_QUERIES = ("clusters", "scale_sets", "vms")


def _parse_duration(text: str) -> float | None:
    """'00:00:05' (hh:mm:ss) or '5' -> seconds."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if ":" in text:
            h, m, s = text.split(":")
            return int(h) * 3600 + int(m) * 60 + float(s)
        return float(text)
    except ValueError:
        return None


def retry_wait(headers: Mapping[str, str], attempt: int, base: float = 1.0) -> float:
    """Seconds to wait before retry `attempt` (0-based): the server's word, else backoff."""
    h = {k.lower(): v for k, v in (headers or {}).items()}
    for name, scale in (("retry-after-ms", 0.001), ("x-ms-retry-after-ms", 0.001)):
        val = _parse_duration(h.get(name, ""))
        if val is not None:
            return min(max(val * scale, 0.0), MAX_WAIT_SECONDS)
    val = _parse_duration(h.get("retry-after", ""))
    if val is None and h.get("retry-after"):
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(h["retry-after"])
            val = max(0.0, when.timestamp() - time.time())
        except (TypeError, ValueError):
            val = None
    if val is None:
        val = _parse_duration(h.get("x-ms-user-quota-resets-after", ""))
    if val is None:
        val = base * (2 ** attempt)
    return min(max(val, 0.0), MAX_WAIT_SECONDS)


@dataclass
class _Counters:
    requests: int = 0
    arg_pages: int = 0
    waits: list[float] = field(default_factory=list)


class ArgSession:
    """Pages one query through ResourceGraphClient, throttle-aware. One per run."""

    def __init__(self, client: Any, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, page_size: int = ARG_PAGE_SIZE) -> None:
        self.client = client
        self.sleep = sleep
        self.clock = clock
        self.page_size = page_size
        self.counters = _Counters()
        self._quota_free_at = 0.0

    def _wait(self, seconds: float, why: str) -> None:
        if seconds <= 0:
            return
        log.info("resource_graph: waiting %.1fs (%s)", seconds, why)
        self.counters.waits.append(seconds)
        self.sleep(seconds)

    def _note_quota(self, headers: Mapping[str, str]) -> None:
        h = {k.lower(): v for k, v in (headers or {}).items()}
        remaining = h.get("x-ms-user-quota-remaining")
        if remaining is None:
            return
        try:
            left = int(str(remaining).strip())
        except ValueError:
            return
        if left <= 0:
            resets = _parse_duration(h.get("x-ms-user-quota-resets-after", "")) or 1.0
            self._quota_free_at = self.clock() + min(resets, MAX_WAIT_SECONDS)

    def _post(self, body: dict) -> dict:
        from azure.core.exceptions import HttpResponseError
        from azure.core.rest import HttpRequest
        from azure.mgmt.core.exceptions import ARMErrorFormat

        payload: dict[str, Any] = {"query": body["query"],
                                   "options": {"$top": self.page_size, "resultFormat": "objectArray"}}
        if body.get("subscriptions"):
            payload["subscriptions"] = body["subscriptions"]
        if body.get("management_groups"):
            payload["managementGroups"] = body["management_groups"]
        if body.get("skip_token"):
            payload["options"]["$skipToken"] = body["skip_token"]
        attempt = 0
        while True:
            self._wait(self._quota_free_at - self.clock(), "Resource Graph quota spent")
            self.counters.requests += 1
            # The client's own pipeline (token, TLS, connection retries); the raw JSON is read
            # directly because the generated model walks every row value (3x slower on big pages).
            request = HttpRequest("POST", f"/providers/Microsoft.ResourceGraph/resources?api-version={ARG_API_VERSION}",
                                  json=payload)
            response = self.client._send_request(request)
            self._note_quota(response.headers)
            if response.status_code == 200:
                self.counters.arg_pages += 1
                return response.json()
            if response.status_code in RETRY_STATUSES and attempt < MAX_RETRIES:
                self._wait(retry_wait(response.headers, attempt), f"HTTP {response.status_code}, retry {attempt + 1}")
                attempt += 1
                continue
            raise HttpResponseError(response=response, error_format=ARMErrorFormat)

    def query(self, query: str, subscriptions: list[str] | None = None) -> list[dict]:
        rows: list[dict] = []
        token = None
        while True:
            page = self._post({"query": query, "subscriptions": subscriptions, "skip_token": token})
            data = page.get("data")
            if not isinstance(data, list):
                raise AzureReadError("Resource Graph returned no objectArray 'data' in its response")
            rows.extend(data)
            token = page.get("$skipToken")
            if not token:
                if str(page.get("resultTruncated", "false")).lower() == "true":
                    log.warning("resource_graph: result truncated without $skipToken (%d rows)", len(rows))
                return rows


def _http_error_text(exc: Exception) -> str:
    status = getattr(exc, "status_code", None)
    err = getattr(exc, "error", None)
    code = getattr(err, "code", None) if err is not None else None
    msg = getattr(err, "message", None) if err is not None else None
    if not msg:
        msg = str(getattr(exc, "message", "") or exc).splitlines()[0]
    parts = [f"HTTP {status}" if status else type(exc).__name__]
    if code:
        parts.append(str(code))
    return " ".join(parts) + f": {msg}"


def list_subscriptions(arm_client: Any, counters: _Counters | None = None) -> dict[str, dict]:
    """GET /subscriptions (follows nextLink): lower-case id -> {name, state}."""
    from azure.core.exceptions import HttpResponseError
    from azure.core.rest import HttpRequest

    out: dict[str, dict] = {}
    url = arm_client.format_url(f"/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}")
    while url:
        if counters is not None:
            counters.requests += 1
        resp = arm_client.send_request(HttpRequest("GET", url))
        if resp.status_code != 200:
            from azure.mgmt.core.exceptions import ARMErrorFormat

            raise HttpResponseError(response=resp, error_format=ARMErrorFormat)
        doc = resp.json()
        for item in doc.get("value", []) or []:
            sid = str(item.get("subscriptionId") or "").lower()
            if sid:
                out[sid] = {"name": item.get("displayName", ""), "state": str(item.get("state") or "Enabled")}
        url = doc.get("nextLink") or None
    return out


def _mg_query(names: Iterable[str]) -> str:
    quoted = ", ".join("'" + n.replace("\\", "\\\\").replace("'", "\\'") + "'" for n in names)
    return load_query("subscriptions_in_management_groups").replace("{management_groups}", quoted)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class _BatchRunner:
    """Runs every inventory query for a batch of subscriptions; isolates subscriptions that fail."""

    def __init__(self, session: ArgSession, queries: dict[str, str], bisect_budget: int = 64,
                 check_visible: bool = True) -> None:
        self.session = session
        self.queries = queries
        self.visible_query = load_query("subscriptions") if check_visible else ""
        self.rows: list[dict] = []
        self.seen: set[str] = set()
        self.errors: list[ScopeError] = []
        self.bisect_budget = bisect_budget

    def run(self, batch: list[str]) -> None:
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

        if not batch:
            return
        rows: list[dict] = []
        try:
            if self.visible_query:
                readable = {str(r.get("subscriptionId") or "").lower()
                            for r in self.session.query(self.visible_query, batch)}
                unseen = [s for s in batch if s not in readable]
                for sid in unseen:
                    self.errors.append(ScopeError(f"subscription {sid}", "Resource Graph returned nothing for it "
                                                  "(no read access to the subscription?)"))
                batch = [s for s in batch if s in readable]
                if not batch:
                    return
            for text in self.queries.values():
                rows.extend(self.session.query(text, batch))
        except ClientAuthenticationError:
            raise
        except HttpResponseError as exc:
            text = _http_error_text(exc)
            named = {g.lower() for g in _GUID_RE.findall(str(exc))} & set(batch)
            status = exc.status_code or 0
            if named and len(named) < len(batch):
                for sid in sorted(named):
                    self.errors.append(ScopeError(f"subscription {sid}", text))
                self.run([s for s in batch if s not in named])
                return
            if len(batch) > 1 and status in (400, 403, 404) and self.bisect_budget > 0:
                self.bisect_budget -= 1
                half = len(batch) // 2
                self.run(batch[:half])
                self.run(batch[half:])
                return
            for sid in batch:
                self.errors.append(ScopeError(f"subscription {sid}", text))
            return
        self.rows.extend(rows)
        self.seen.update(batch)


def collect_inventory(settings: Any, scope: Any, clients: Any = None, *,
                      sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic,
                      batch_size: int = ARG_MAX_SUBSCRIPTIONS) -> Inventory:
    """Live inventory through Resource Graph for `scope` (see the module docstring)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    if clients is None:
        from scanner import bootstrap

        clients = bootstrap.clients(settings)
    session = ArgSession(clients.resource_graph, sleep=sleep, clock=clock)
    errors: list[ScopeError] = []
    try:
        visible = list_subscriptions(clients.arm, session.counters)
    except ClientAuthenticationError as exc:
        raise AzureReadError(f"{scope}: could not get an Azure token ({str(exc).splitlines()[0]}); "
                             "check the managed identity or run az login") from None
    except (HttpResponseError, ServiceRequestError) as exc:
        raise AzureReadError(f"{scope}: listing subscriptions failed ({_http_error_text(exc)})") from None

    readable = [s for s, info in visible.items() if info["state"].lower() not in _SKIP_STATES]
    try:
        if scope.kind == "sub":
            subs = []
            for sid in dict.fromkeys(v.lower() for v in scope.values):
                info = visible.get(sid)
                if info is None:
                    errors.append(ScopeError(f"subscription {sid}", "not found, or this identity has no role on it"))
                elif info["state"].lower() in _SKIP_STATES:
                    errors.append(ScopeError(f"subscription {sid}", f"state is {info['state']}: not scanned"))
                else:
                    subs.append(sid)
        elif scope.kind == "mg":
            # Membership is read like the inventory: a subscription Resource Graph refuses is named
            # and left out, never the end of the scan (it may not even be under these groups).
            members = _BatchRunner(session, {"membership": _mg_query(scope.values)}, check_visible=False)
            for batch in _chunks(sorted(readable), batch_size):
                members.run(batch)
            errors.extend(ScopeError(e.scope, f"{e.error} (so it is not known whether it is under {scope})")
                          for e in members.errors)
            subs_set: set[str] = set()
            found: set[str] = set()
            for row in members.rows:
                sid = str(row.get("subscriptionId") or "").lower()
                if sid:
                    subs_set.add(sid)
                    found.update(str(m).lower() for m in row.get("managementGroups") or [])
            for mg in scope.values:
                if mg.lower() not in found:
                    errors.append(ScopeError(f"management group {mg}",
                                             "no readable subscriptions under it (not found, empty, or no access)"))
            subs = sorted(subs_set)
        else:
            subs = sorted(readable)
            if not subs:
                errors.append(ScopeError("tenant", "this identity can read no subscriptions (give it the Reader "
                                                   "role on the subscriptions or management groups to scan)"))

        runner = _BatchRunner(session, {name: load_query(name) for name in INVENTORY_QUERIES})
        for batch in _chunks(subs, batch_size):
            runner.run(batch)
    except ClientAuthenticationError as exc:
        raise AzureReadError(f"{scope}: could not get an Azure token ({str(exc).splitlines()[0]})") from None
    except HttpResponseError as exc:  # the membership query itself failed
        raise AzureReadError(f"{scope}: Resource Graph query failed ({_http_error_text(exc)})") from None

    inv = to_resources(runner.rows)
    inv = replace(
        inv,
        subscriptions_seen=frozenset(runner.seen),
        errors=tuple(errors) + tuple(runner.errors) + inv.errors,
        requests=session.counters.requests,
    )
    log.info("resource_graph: %s", summary(inv, pages=session.counters.arg_pages))
    return inv
