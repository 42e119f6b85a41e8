"""Inventory from Azure Resource Graph (live) or from exported JSON files.

Public functions (signatures are a contract):

    to_resources(rows: Iterable[dict]) -> Inventory
        Pure. Rows in the ARM resource shape (`id, name, type, location, subscriptionId,
        resourceGroup, tags, sku, zones, properties`), as returned by our KQL files, by
        `az graph query -o json`, or flattened (no `properties` wrapper) as printed by
        `az aks list -o json`, `az vm list -o json` and `az vmss list -o json`, and the agentPool
        rows of `az aks nodepool list -o json` (grouped into their cluster by id; that export has
        no location, so an `az aks list` row of the same cluster wins). Key lookups are
        case-insensitive. Rows of other types are counted by type (Inventory.unread_types);
        duplicate ids are read once. A row
        that cannot be read becomes a ScopeError (scope = resource id or "row N", error names
        the field) in Inventory.errors; the other rows are still returned.
    load_inventory_files(paths: list[str], strict: bool = False) -> Inventory
        Files or folders (*.json) of the exports above (scanner.sources.inventory_files): a row
        that cannot be read is a ScopeError naming file, id and field and the rest is read (with
        strict=True it raises InventoryError); reading no resource at all is an InventoryError
        naming the files and the shapes accepted.
    collect_inventory(settings, scope, clients=None, *, sleep=time.sleep,
                      clock=time.monotonic, batch_size=1000) -> Inventory
        Live. Lists the subscriptions the identity can see (GET /subscriptions, Lighthouse
        delegations included), narrows them to the scope (tenant | mg:... via ResourceContainers
        ancestors | sub:...), then runs queries/*.kql through the shared ARM JSON client
        (sources/arm.py: raw JSON parsed once; the generated model is 3x slower on large pages)
        in batches of at most 1000 subscriptions, pages of 1000 rows with `$skipToken`. Per
        batch, queries/subscriptions.kql first confirms which subscriptions Resource Graph can
        read (ARG silently omits the rest). Streamed: each page becomes model values as it
        arrives (clusters first, so AKS scale sets and VMs fold into their pools) and its rows
        are dropped. Requests = 1 token + subscription-list pages + ARG pages (no per-subscription
        calls). Throttling: waits when `x-ms-user-quota-remaining` reaches 0 (for
        `x-ms-user-quota-resets-after`), retries 429/5xx with Retry-After or backoff, and a
        connection reset or a body cut short like a 5xx. Bounded: a `$skipToken` or subscriptions
        `nextLink` that repeats, or more pages than `totalRecords` could need, stops that listing
        with an error naming the scope. A 200 that is not JSON (an HTML page) is retried once,
        then fails its batch, not the run. `resultTruncated: "true"` without a `$skipToken` keeps
        the rows read but names every subscription of the batch as not read completely
        (ScopeKind.SUBSCRIPTION), so nothing there is resolved. A subscription listing that stops
        after its first page keeps what it listed and adds a ScopeKind.TENANT error.
        A subscription or management group that cannot be read becomes a ScopeError and the
        rest is scanned; `subscriptions_seen` lists what was read, `requests` counts ARM calls.

AKS plumbing is folded into its pool: scale sets tagged `aks-managed-poolName` in a cluster's
node resource group (or tagged with `aks-managed-cluster-name`/`-rg`) get `aks_cluster_id` and
`aks_pool` and are not returned in `Inventory.scale_sets`; VMs of `VirtualMachines` pools
(same tags, node resource group) are not returned in `Inventory.vms`. Such an owned row is read
only as far as its envelope (id, name, subscription, group, location, tags: a broken one is still a
ScopeError); the rest of it is not used, so it is not read and cannot fail the row. AKS-tagged
resources whose cluster is not in the inventory are kept and read in full (nothing is dropped unseen).

Speed: rows are read through fast paths (exact-case keys as Resource Graph returns them, plain values)
that fall back to the careful readers (any key case, conversions, errors naming the field) and give
the same values and the same messages; tests/unit/test_to_resources.py holds them to that.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import re
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from scanner.core import pool_flags
from scanner.core.model import Cluster, Inventory, NodePool, ScaleSet, ScopeError, ScopeKind, VirtualMachine
from scanner.errors import AzureReadError, InventoryError
from scanner.sources.arm import MAX_WAIT_SECONDS, ArmJson, ArmPagingError, ArmReadError, retry_wait  # noqa: F401
from scanner.sources.arm import parse_duration as _parse_duration

log = logging.getLogger("scanner.resource_graph")

QUERY_DIR = Path(__file__).resolve().parent / "queries"

TYPE_CLUSTER = "microsoft.containerservice/managedclusters"
TYPE_AGENTPOOL = "microsoft.containerservice/managedclusters/agentpools"
TYPE_VM = "microsoft.compute/virtualmachines"
TYPE_VMSS = "microsoft.compute/virtualmachinescalesets"
_READ_TYPES = frozenset((TYPE_CLUSTER, TYPE_VM, TYPE_VMSS))

ARG_MAX_SUBSCRIPTIONS = 1000  # subscriptions per Resource Graph request
ARG_PAGE_SIZE = 1000  # rows per page ($top maximum)
ARG_MAX_PAGES = 5000  # per query and batch, whatever totalRecords says (5 million rows)
SUBSCRIPTIONS_API_VERSION = "2022-12-01"
ARG_API_VERSION = "2021-03-01"  # what azure-mgmt-resourcegraph 8.0.1 sends
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


class _RowError(Exception):
    """A field of one row cannot be read (becomes a ScopeError / InventoryError)."""


def _props(row: Mapping) -> Mapping:
    """ARG/REST rows keep fields under `properties`; `az ... list -o json` flattens them."""
    props = _at(row, "properties")
    if type(props) is dict or isinstance(props, Mapping):
        return props
    if props is not None:
        raise _RowError(f"field 'properties' is {type(props).__name__}, expected an object")
    return row


INTERN_MAX = 64  # text this short is interned: sizes, regions, modes, versions repeat across rows


def _short(text: str) -> str:
    """One object for each short value however many rows repeat it (json.loads makes a new string
    per occurrence: 300k rows of "Linux", "westeurope", "Standard_D4s_v5" ... add up)."""
    return sys.intern(text) if len(text) <= INTERN_MAX else text


def _str(value: Any, where: str) -> str:
    if type(value) is str and value.isascii():  # the common case, without the calls below (hot: 18 a row)
        return sys.intern(value) if len(value) <= INTERN_MAX else value
    if value is None:
        return ""
    if isinstance(value, str):
        return _short(_unicode(value, where))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _short(str(value))
    raise _RowError(f"field '{where}' is {type(value).__name__}, expected text")


def _unicode(text: str, where: str) -> str:
    """Text that can be written anywhere (store, JSON, email): a lone surrogate ("\ud800") cannot."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise _RowError(f"field '{where}' is not valid Unicode text (a lone surrogate)") from None
    return text


# Larger than any count, size or price a resource has (node counts stop at 1,000, disks at 65,536
# GiB); a bigger value is a broken export, not a resource.
_MAX_NUMBER = 10 ** 9


def _int(value: Any, where: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _RowError(f"field '{where}' is a boolean, expected a whole number")
    try:
        if isinstance(value, float):
            if value != int(value):
                raise ValueError
            number = int(value)
        else:
            number = int(str(value).strip())
    except (ValueError, OverflowError, TypeError):  # "3.5", Infinity, 5000 digits, a list
        raise _RowError(f"field '{where}' is {_shown(value)}, expected a whole number") from None
    if abs(number) > _MAX_NUMBER:
        raise _RowError(f"field '{where}' is {_shown(value)}, out of range for a resource")
    return number


def _float(value: Any, where: str) -> float | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise _RowError(f"field '{where}' is a boolean, expected a number")
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        raise _RowError(f"field '{where}' is {_shown(value)}, expected a number") from None
    if not (abs(number) <= _MAX_NUMBER):  # NaN and Infinity too
        raise _RowError(f"field '{where}' is {_shown(value)}, out of range for a resource")
    return number


def _shown(value: Any) -> str:
    """A value for an error message: short, and never the whole of a big or nested value."""
    if isinstance(value, (str, int, float, bool)) and len(text := repr(value)) <= 60:
        return text
    return f"a {type(value).__name__}" if not isinstance(value, str) else repr(value[:40] + "...")


def _bool(value: Any, where: str) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise _RowError(f"field '{where}' is {_shown(value)}, expected true or false")


def _strs(value: Any, where: str) -> tuple[str, ...]:
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list):
        return tuple(_str(v, where) for v in value if v is not None)
    raise _RowError(f"field '{where}' is {type(value).__name__}, expected a list")


def _texts(value: Any, where: str) -> tuple[str, ...]:
    """A list of strings and nothing else (taints are carried into commands as they are)."""
    if isinstance(value, list) and any(not isinstance(v, str) for v in value if v is not None):
        raise _RowError(f"field '{where}' holds a {next(type(v).__name__ for v in value if v is not None and not isinstance(v, str))}"
                        ", expected a list of text")
    return _strs(value, where)


def _strmap(value: Any, where: str) -> dict[str, str]:
    if value is None or value == "":
        return {}
    if not isinstance(value, Mapping):
        raise _RowError(f"field '{where}' is {type(value).__name__}, expected an object")
    return {_short(_unicode(str(k), where)): "" if v is None else _short(_unicode(str(v), where))
            for k, v in value.items()}


def _state(value: Any) -> str:
    """powerState {"code": "Running"} | "PowerState/deallocated" | "VM running" -> last word."""
    if type(value) is dict and type(code := value.get("code")) is str:  # the common shape, without _get
        text = code.strip()
    else:
        if isinstance(value, Mapping):
            value = _get(value, "code", "")
        text = str(value or "").strip()
    text = text[max(text.rfind("/"), text.rfind(" ")) + 1:]  # the last word; "" stays ""
    return sys.intern(text) if len(text) <= INTERN_MAX else text


# Fast readers: the common value (plain ASCII text, a whole number, a bool, null) is read inline and
# the field's location ("where.field") is only composed when the careful reader above must name it
# in an error. Same results and messages as _str/_int/... on the composed location.


def _at(obj: Any, key: str) -> Any:
    """`_get(obj, key)` for one key: the exact spelling first (how every export spells it)."""
    if type(obj) is dict:
        value = obj.get(key, _MISSING)
        if value is not _MISSING:
            return value
    elif obj is None:
        return None
    return _get(obj, key)


def _text_at(value: Any, where: str, name: str) -> str:
    if type(value) is str:
        if value.isascii():
            return sys.intern(value) if len(value) <= INTERN_MAX else value
    elif value is None:
        return ""
    return _str(value, f"{where}.{name}")


def _int_at(value: Any, where: str, name: str) -> int | None:
    if type(value) is int and -_MAX_NUMBER <= value <= _MAX_NUMBER:
        return value
    if value is None:
        return None
    return _int(value, f"{where}.{name}")


def _bool_at(value: Any, where: str, name: str) -> bool:
    if value is True or value is False:
        return value
    if value is None:
        return False
    return _bool(value, f"{where}.{name}")


def _ascii_texts(value: list) -> tuple[str, ...] | None:
    """A list of plain ASCII text, each short one interned; None when it holds anything else."""
    out = []
    for v in value:
        if type(v) is not str or not v.isascii():
            return None
        out.append(sys.intern(v) if len(v) <= INTERN_MAX else v)
    return tuple(out)


def _strs_at(value: Any, where: str, name: str, careful: Callable[[Any, str], tuple[str, ...]] = _strs
             ) -> tuple[str, ...]:
    """A list of text: plain ASCII lists read at once, anything else by `careful` (which names
    what is wrong)."""
    if value is None:
        return ()
    if type(value) is list and (out := _ascii_texts(value)) is not None:
        return out
    return careful(value, f"{where}.{name}")


def _texts_at(value: Any, where: str, name: str) -> tuple[str, ...]:
    return _strs_at(value, where, name, _texts)


def _ascii_map(value: dict) -> dict[str, str] | None:
    """_strmap of a dict of plain ASCII text (null values read as ""); None for anything else."""
    out = {}
    for k, v in value.items():
        if type(k) is not str or not k.isascii():
            return None
        if type(v) is str and v.isascii():
            out[sys.intern(k) if len(k) <= INTERN_MAX else k] = sys.intern(v) if len(v) <= INTERN_MAX else v
        elif v is None:
            out[sys.intern(k) if len(k) <= INTERN_MAX else k] = ""
        else:
            return None
    return out


def _strmap_at(value: Any, where: str, name: str = "") -> dict[str, str]:
    if value is None:
        return {}
    if type(value) is dict and (out := _ascii_map(value)) is not None:
        return out
    return _strmap(value, f"{where}.{name}" if name else where)


def _id_parts(resource_id: str) -> dict[str, str]:
    parts = [p for p in resource_id.split("/") if p]
    out: dict[str, str] = {}
    for i in range(0, len(parts) - 1, 2):
        out.setdefault(parts[i].lower(), parts[i + 1])
    return out


def _sub_and_group(resource_id: str) -> tuple[str, str]:
    """_id_parts(id)'s "subscriptions" and "resourcegroups", read straight off an id that starts
    /subscriptions/<s>/resourceGroups/<g> (any case), else through _id_parts."""
    segs = resource_id.split("/", 5)
    if (len(segs) >= 5 and not segs[0] and segs[2] and segs[4] and segs[1].lower() == "subscriptions"
            and segs[3].lower() == "resourcegroups"):
        return segs[2], segs[4]
    parts = _id_parts(resource_id)
    return parts.get("subscriptions", ""), parts.get("resourcegroups", "")


def _envelope(row: Mapping) -> tuple[str, str, str, str, str, dict[str, str]]:
    rid = _str(_at(row, "id"), "id")
    if not rid:
        raise _RowError("missing field 'id'")
    id_sub, id_rg = _sub_and_group(rid)
    name = _str(_at(row, "name"), "name") or rid.rstrip("/").rsplit("/", 1)[-1]
    sub = _short((_str(_at(row, "subscriptionId"), "subscriptionId") or id_sub).lower())
    # The id keeps the group's own casing in every export (ARG lower-cases `resourceGroup`).
    rg = _short(id_rg or _str(_at(row, "resourceGroup"), "resourceGroup"))
    loc = _short(_str(_at(row, "location"), "location").lower().replace(" ", ""))
    if not sub:
        raise _RowError("missing field 'subscriptionId' (and the id has no /subscriptions/ segment)")
    if not loc:
        raise _RowError("missing field 'location'")
    return rid, name, sub, rg, loc, _strmap_at(_at(row, "tags"), "tags")


def _tag(tags: Mapping[str, str], name: str) -> str:
    low = name.lower()
    for k, v in tags.items():
        if k.lower() == low:
            return v
    return ""


# --------------------------------------------------------------------------- pure: parsers


# The agentPoolProfiles[] keys the parser reads, as ARM spells them. Keys are case-insensitive: a
# profile spelled otherwise is first re-keyed onto these spellings (_pool_keys).
_POOL_KEYS = ("name", "type", "vmSize", "count", "mode", "enableAutoScaling", "minCount", "maxCount",
              "availabilityZones", "osType", "osSKU", "nodeImageVersion", "currentOrchestratorVersion",
              "orchestratorVersion", "nodeLabels", "nodeTaints", "scaleSetPriority", "scaleSetEvictionPolicy",
              "spotMaxPrice", "maxPods", "osDiskSizeGB", "osDiskType", "powerState", "vnetSubnetID",
              "podSubnetID", "upgradeSettings", "virtualMachineNodesStatus")
_POOL_SPELLING = {k.lower(): k for k in _POOL_KEYS}
# Keys a profile may carry as they are: the ones read, and the other properties AKS writes (none of
# them another spelling of a key read).
_POOL_AS_IS = frozenset(_POOL_KEYS) | frozenset(
    k for k in (*pool_flags.TABLE, *pool_flags.OBJECTS, *pool_flags.READ_ONLY)
    if "." not in k and k.lower() not in _POOL_SPELLING)


def _pool_keys(p: Mapping) -> Mapping:
    """`p` when every key the parser reads is spelled as ARM spells it (what Resource Graph and the
    az CLI return), else a copy re-keyed onto those spellings (the last of two spellings wins)."""
    if type(p) is dict:
        if p.keys() <= _POOL_AS_IS:
            return p
        if all(type(k) is str and (k in _POOL_AS_IS or k.lower() not in _POOL_SPELLING) for k in p):
            return p
    return {_POOL_SPELLING.get(k.lower(), k) if isinstance(k, str) else k: v for k, v in p.items()}


def _parse_pool(p: Mapping, i: int) -> NodePool:
    where = f"properties.agentPoolProfiles[{i}]"
    if type(p) is not dict and not isinstance(p, Mapping):
        raise _RowError(f"field '{where}' is {type(p).__name__}, expected an object")
    q = _pool_keys(p)
    name = _text_at(q.get("name"), where, "name")
    if not name:
        raise _RowError(f"missing field '{where}.name'")
    where = f"{where} (pool {name!r})"
    pool_type = _text_at(q.get("type"), where, "type") or "VirtualMachineScaleSets"
    size_counts: tuple[tuple[str, int], ...] = ()
    if pool_type != "VirtualMachineScaleSets" and pool_type.lower() == "virtualmachines":
        size_counts, vm_sizes, count = _vm_pool_sizes(p, q, where)
    else:
        size = _text_at(q.get("vmSize"), where, "vmSize")
        if not size:
            raise _RowError(f"missing field '{where}.vmSize'")
        vm_sizes = (size,)
        count = _int_at(q.get("count"), where, "count")
    properties, unknown = pool_flags.read_properties(p)
    return _NEW_POOL(  # NodePool's fields in order (_POOL_FIELDS)
        name,
        _text_at(q.get("mode"), where, "mode") or "User",
        pool_type,
        vm_sizes,
        size_counts,
        count,
        _bool_at(q.get("enableAutoScaling"), where, "enableAutoScaling"),
        _int_at(q.get("minCount"), where, "minCount"),
        _int_at(q.get("maxCount"), where, "maxCount"),
        _strs_at(q.get("availabilityZones"), where, "availabilityZones"),
        _text_at(q.get("osType"), where, "osType") or "Linux",
        _text_at(q.get("osSKU"), where, "osSKU"),
        _text_at(q.get("nodeImageVersion"), where, "nodeImageVersion"),
        _text_at(q.get("currentOrchestratorVersion") or q.get("orchestratorVersion"), where, "orchestratorVersion"),
        _strmap_at(q.get("nodeLabels"), where, "nodeLabels"),
        _texts_at(q.get("nodeTaints"), where, "nodeTaints"),
        _text_at(q.get("scaleSetPriority"), where, "scaleSetPriority") or "Regular",
        _text_at(q.get("scaleSetEvictionPolicy"), where, "scaleSetEvictionPolicy"),
        _float(spot, f"{where}.spotMaxPrice") if (spot := q.get("spotMaxPrice")) is not None else None,
        _int_at(q.get("maxPods"), where, "maxPods"),
        _int_at(q.get("osDiskSizeGB"), where, "osDiskSizeGB"),
        _text_at(q.get("osDiskType"), where, "osDiskType"),
        _state(q.get("powerState")),
        _text_at(q.get("vnetSubnetID"), where, "vnetSubnetID"),
        _text_at(q.get("podSubnetID"), where, "podSubnetID"),
        _surge(q.get("upgradeSettings"), where),
        properties,
        unknown,
    )


def _positional(cls: type, names: tuple[str, ...]) -> Callable[..., Any]:
    """A constructor taking `names` positionally: `cls` itself when its __init__ takes exactly these
    fields in this order (a call by position skips matching 28 keywords: 2 us a node pool), else one
    that passes them by name (right whatever the model's order, only slower)."""
    init = tuple(f.name for f in dataclasses.fields(cls) if f.init and not f.kw_only)
    if init == names:
        return cls
    return lambda *values: cls(**dict(zip(names, values, strict=True)))


_POOL_FIELDS = ("name", "mode", "pool_type", "vm_sizes", "size_counts", "count", "enable_autoscaling", "min_count",
                "max_count", "zones", "os_type", "os_sku", "node_image_version", "orchestrator_version", "labels",
                "taints", "priority", "eviction_policy", "spot_max_price", "max_pods", "os_disk_size_gb",
                "os_disk_type", "power_state", "vnet_subnet_id", "pod_subnet_id", "max_surge", "properties",
                "unknown_properties")
_NEW_POOL = _positional(NodePool, _POOL_FIELDS)
_NEW_VM = _positional(VirtualMachine, ("id", "name", "subscription_id", "resource_group", "location", "vm_size", "tags",
                                       "zones", "os_type", "security_type", "power_state", "scale_set_id"))


# Keys of virtualMachinesProfile.scale and of its entries: an object with no other key is read with
# exact lookups (a key it lacks is missing in any spelling), anything else through _at.
_SCALE_KEYS = frozenset({"manual", "autoscale"})
_ENTRY_KEYS = frozenset({"size", "sizes", "count", "minCount", "maxCount"})


def _fields(obj: Any, names: tuple[str, ...], known: frozenset[str]) -> list[Any]:
    """[_get(obj, name) for name in names]; one dict lookup each when every key of obj is in `known`
    (one spelling per key, `names` among them: a key obj lacks is then missing in any spelling)."""
    if type(obj) is dict and obj.keys() <= known:
        return [obj.get(name) for name in names]
    return [_at(obj, name) for name in names]


def _vm_pool_sizes(p: Mapping, q: Mapping, where: str) -> tuple[tuple[tuple[str, int], ...], tuple[str, ...], int]:
    """A VirtualMachines pool's (size, count) pairs, its sizes and its node count; no pairs when it
    has only vmSize/count (read then as a scale-set pool's)."""
    manual, autoscale = _fields(_at(_at(p, "virtualMachinesProfile"), "scale"), ("manual", "autoscale"), _SCALE_KEYS)
    manual = manual or q.get("virtualMachineNodesStatus") or []
    if not isinstance(manual, list):
        raise _RowError(f"field '{where}.virtualMachinesProfile.scale.manual' is not a list")
    pairs = []
    shared: list[str] = []  # sizes of entries that list several sizes for one count
    total = 0
    for j, m in enumerate(manual):
        at = f"{where}.virtualMachinesProfile.scale.manual[{j}]"
        count, sizes, size = _fields(m, ("count", "sizes", "size"), _ENTRY_KEYS)
        n = _int_at(count, at, "count") or 0
        # GA API versions write one `size` per entry; the preview ones a `sizes` list.
        entry = [s for s in _strs_at(sizes, at, "sizes") if s] or [_text_at(size, at, "size")]
        if not entry[0]:
            raise _RowError(f"missing field '{at}.size'")
        total += n
        if len(entry) == 1:
            pairs.append((entry[0], n))
        else:
            shared.extend(entry)
    # Autoscale profiles (GA API): one size each, with its own min and max count.
    autoscale = autoscale or []
    if not isinstance(autoscale, list):
        raise _RowError(f"field '{where}.virtualMachinesProfile.scale.autoscale' is not a list")
    for j, a in enumerate(autoscale):
        at = f"{where}.virtualMachinesProfile.scale.autoscale[{j}]"
        size, low, high = _fields(a, ("size", "minCount", "maxCount"), _ENTRY_KEYS)
        size = _text_at(size, at, "size")
        if not size:
            raise _RowError(f"missing field '{at}.size'")
        _int_at(low, at, "minCount")
        _int_at(high, at, "maxCount")
        shared.append(size)
    if not pairs and not shared and q.get("vmSize"):
        pairs.append((_text_at(q.get("vmSize"), where, "vmSize"), _int_at(q.get("count"), where, "count") or 0))
        total = pairs[0][1]
    if not pairs and not shared:
        raise _RowError(f"missing field '{where}.virtualMachinesProfile.scale.manual' (VirtualMachines pool, "
                        "and no scale.autoscale either)")
    return tuple(pairs), tuple(dict.fromkeys([s for s, _ in pairs] + shared)), total


def _surge(settings, where: str) -> str:
    """upgradeSettings.maxSurge ("5", "33%"; empty when unset)."""
    if settings is None:
        return ""
    if not isinstance(settings, Mapping):
        raise _RowError(f"field '{where}.upgradeSettings' is not an object")
    value = {str(k).lower(): v for k, v in settings.items()}.get("maxsurge")
    return "" if value is None else str(value).strip()


def _parse_cluster(row: Mapping) -> Cluster:
    rid, name, sub, rg, loc, tags = _envelope(row)
    props = _props(row)
    profiles = _at(props, "agentPoolProfiles") or []
    if not isinstance(profiles, list):
        raise _RowError("field 'properties.agentPoolProfiles' is not a list")
    return Cluster(
        id=rid, name=name, subscription_id=sub, resource_group=rg, location=loc, tags=tags,
        node_resource_group=_str(_at(props, "nodeResourceGroup"), "properties.nodeResourceGroup"),
        kubernetes_version=_str(
            _at(props, "currentKubernetesVersion") or _at(props, "kubernetesVersion"),
            "properties.kubernetesVersion",
        ),
        power_state=_state(_at(props, "powerState")),
        pools=tuple([_parse_pool(p, i) for i, p in enumerate(profiles)]),
    )


# The `properties` keys of a VM row as queries/vms.kql packs them (see _fields).
_VM_PROPS = frozenset({"hardwareProfile", "storageProfile", "securityProfile", "virtualMachineScaleSet", "extended"})


def _vm_body(row: Mapping, rid: str, name: str, sub: str, rg: str, loc: str, tags: dict[str, str]) -> VirtualMachine:
    props = _props(row)
    hardware, storage, security, scale_set, extended = _fields(props, (
        "hardwareProfile", "storageProfile", "securityProfile", "virtualMachineScaleSet", "extended"), _VM_PROPS)
    size = _str(_at(hardware, "vmSize"), "properties.hardwareProfile.vmSize")
    if not size:
        raise _RowError("missing field 'properties.hardwareProfile.vmSize'")
    power = (_at(_at(extended, "instanceView"), "powerState")
             or _at(_at(props, "instanceView"), "statuses") or _at(row, "powerState"))
    if isinstance(power, list):  # instanceView.statuses: [{code: "PowerState/running"}, ...]
        codes = [_get(s, "code", "") for s in power if str(_get(s, "code", "")).startswith("PowerState/")]
        power = codes[0] if codes else ""
    return _NEW_VM(  # VirtualMachine's fields in order
        rid, name, sub, rg, loc, size, tags,
        _strs(_at(row, "zones"), "zones"),
        _str(_at(_at(storage, "osDisk"), "osType"), "properties.storageProfile.osDisk.osType"),
        _str(_at(security, "securityType"), "properties.securityProfile.securityType"),
        _state(power),
        _str(_at(scale_set, "id"), "properties.virtualMachineScaleSet.id"),
    )


def _parse_vmss(row: Mapping) -> ScaleSet:
    return _vmss_body(row, *_envelope(row))


def _vmss_body(row: Mapping, rid: str, name: str, sub: str, rg: str, loc: str, tags: dict[str, str],
               aks_pool: str = "") -> ScaleSet:
    props = _props(row)
    mode = _str(_at(props, "orchestrationMode"), "properties.orchestrationMode")
    sku = _at(row, "sku")
    size = _str(_at(sku, "name"), "sku.name")
    if not size and mode.lower() != "flexible":  # a Flexible scale set may have no VM profile
        raise _RowError("missing field 'sku.name' (the VM size)")
    profile = _at(props, "virtualMachineProfile")
    return ScaleSet(
        id=rid, name=name, subscription_id=sub, resource_group=rg, location=loc, vm_size=size,
        capacity=_int(_at(sku, "capacity"), "sku.capacity"), tags=tags,
        zones=_strs(_at(row, "zones"), "zones"),
        os_type=_str(_at(_at(_at(profile, "storageProfile"), "osDisk"), "osType"),
                     "properties.virtualMachineProfile.storageProfile.osDisk.osType"),
        orchestration_mode=mode,
        upgrade_policy=_str(_at(_at(props, "upgradePolicy"), "mode"), "properties.upgradePolicy.mode"),
        security_type=_str(_at(_at(profile, "securityProfile"), "securityType"),
                           "properties.virtualMachineProfile.securityProfile.securityType"),
        aks_pool=aks_pool,
    )


def _row_error(label: str, detail: str, index: int | None = None) -> ScopeError:
    """An inventory row that could not be read, named by its id (or `row N`); the subscription in
    its id, when it has one, is the scope left unread."""
    m = _GUID_RE.search(label) if index is None else None
    return ScopeError(ScopeKind.ROW, detail=detail, name=_printable(label),
                      subscription=m.group(0).lower() if m else None)


def _printable(text: str, limit: int = 400) -> str:
    """A label from the input, fit for any output: lone surrogates and control characters escaped, cut short."""
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if not text.isprintable():
        text = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)
    return text if len(text) <= limit else text[:limit] + "..."


def _sub_error(sid: str, detail: str) -> ScopeError:
    return ScopeError(ScopeKind.SUBSCRIPTION, detail=detail, subscription=sid.lower())


def _cluster_id(sub: str, rg: str, name: str) -> str:
    return f"/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.ContainerService/managedClusters/{name}"


def _owned(owners: list[_Owners], sub: str, rg: str, tags: Mapping[str, str]) -> tuple[bool, str]:
    """(a cluster of `owners` owns this scale set or VM, the pool name from its tag)."""
    for owner in owners:
        cluster, pool = owner(sub, rg, tags)
        if cluster is not None:
            return True, pool
    return False, _tag(tags, "aks-managed-poolName")


class _Owners:
    """owner(subscription, resource group, tags) -> (the AKS cluster whose node pool this scale set
    or VM is, or None; the pool name from its tag). add() takes more clusters: a later cluster with
    the same node resource group or id wins, as in an index rebuilt over all of them."""

    def __init__(self, clusters: Iterable[Cluster] = ()) -> None:
        # AKS node resource groups (same subscription) and cluster ids -> (cluster, its pool names
        # lower-cased: a few per cluster, each name held once for all clusters)
        self.by_node_rg: dict[tuple[str, str], tuple[Cluster, tuple[str, ...]]] = {}
        self.by_id: dict[str, tuple[Cluster, tuple[str, ...]]] = {}
        self.add(clusters)

    def add(self, clusters: Iterable[Cluster]) -> None:
        for c in clusters:
            entry = (c, tuple([_short(p.name.lower()) for p in c.pools]))
            if c.node_resource_group:
                self.by_node_rg[(c.subscription_id, c.node_resource_group.lower())] = entry
            self.by_id[c.id.lower()] = entry

    def __bool__(self) -> bool:
        return bool(self.by_id)

    def __call__(self, sub: str, rg: str, tags: Mapping[str, str]) -> tuple[Cluster | None, str]:
        pool = _tag(tags, "aks-managed-poolName")
        entry = self.by_node_rg.get((sub, rg.lower()))
        if entry is None:
            cname, crg = _tag(tags, "aks-managed-cluster-name"), _tag(tags, "aks-managed-cluster-rg")
            if cname and crg:
                entry = self.by_id.get(_cluster_id(sub, crg, cname).lower())
        if entry is None:
            return None, pool
        if not pool:
            return None, ""  # something else living in the node resource group
        if pool.lower() not in entry[1]:
            return None, pool  # pool no longer in the cluster's profile: report it on its own
        return entry[0], pool


def _agent_pool_clusters(rows: list[tuple[int, Mapping]], errors: list[ScopeError]) -> list[tuple[int, dict]]:
    """`az aks nodepool list -o json` rows (one agentPool each, properties flattened, no location)
    -> one managedCluster row per cluster their ids name, its pools in agentPoolProfiles. The
    location is not in that export: "unknown" until an `az aks list` row of the same cluster gives
    it (that row then wins, see to_resources)."""
    by_cluster: dict[str, tuple[int, dict]] = {}
    for n, row in rows:
        rid = str(_get(row, "id", "") or "")
        m = re.match(r"^(/subscriptions/[^/]+/resourcegroups/[^/]+/providers/microsoft\.containerservice/"
                     r"managedclusters/[^/]+)/agentpools/([^/]+)$", rid, re.I)
        if not m:
            errors.append(_row_error(rid or f"row {n}", "an agentPool row whose id does not name its cluster "
                                     "(/subscriptions/../managedClusters/<name>/agentPools/<pool>)", index=None if rid else n))
            continue
        cid = m.group(1)
        parts = _id_parts(cid)
        if isinstance(_get(row, "properties"), Mapping):  # REST shape: the pool's type is properties.type
            pool = dict(_get(row, "properties"))
        else:  # az CLI shape: flattened, the pool's type renamed typePropertiesType (`type` is the resource's)
            pool = {k: v for k, v in row.items() if not (isinstance(k, str) and k.lower() == "type")}
            ptype = _get(row, "typePropertiesType")
            if ptype is not None:
                pool["type"] = ptype
        pool.setdefault("name", m.group(2))
        entry = by_cluster.get(cid.lower())
        if entry is None:
            entry = (n, {"id": cid, "name": parts.get("managedclusters", ""), "type": TYPE_CLUSTER,
                         "subscriptionId": parts.get("subscriptions", ""), "resourceGroup": parts.get("resourcegroups", ""),
                         "location": _str(_get(row, "location"), "location") or UNKNOWN_LOCATION,
                         "properties": {"agentPoolProfiles": []}})
            by_cluster[cid.lower()] = entry
        entry[1]["properties"]["agentPoolProfiles"].append(pool)
    return list(by_cluster.values())


UNKNOWN_LOCATION = "unknown"


def to_resources(rows: Iterable[Mapping]) -> Inventory:
    """Typed inventory from ARM-shaped rows (see the module docstring). Pure."""
    return _read(rows)


def _read(rows: Iterable[Mapping], more: _Owners | None = None) -> Inventory:
    """to_resources(rows); scale sets and VMs owned by a cluster of `more` are left out too (and
    the clusters read are added to `more`)."""
    if isinstance(rows, (str, bytes)) or not isinstance(rows, Iterable):
        raise InventoryError(f"inventory rows must be a list of objects, got {type(rows).__name__}")
    seen_ids: set[str] = set()
    clusters: list[Cluster] = []
    vm_rows: list[tuple[int, Mapping]] = []
    vmss_rows: list[tuple[int, Mapping]] = []
    pool_rows: list[tuple[int, Mapping]] = []
    unread: dict[str, int] = {}
    errors: list[ScopeError] = []
    for n, row in enumerate(rows):
        if type(row) is not dict and not isinstance(row, Mapping):
            errors.append(_row_error(f"row {n}", f"is {type(row).__name__}, expected an object", index=n))
            continue
        rid = _at(row, "id")
        if type(rid) is not str:
            rid = rid if isinstance(rid, str) else ""
        rtype = _at(row, "type")
        rtype = rtype.lower() if isinstance(rtype, str) else ""
        if not rtype:
            errors.append(_row_error(rid or f"row {n}", "missing field 'type'", index=None if rid else n))
            continue
        if rtype == TYPE_AGENTPOOL:
            pool_rows.append((n, row))
            continue
        if rtype not in _READ_TYPES:
            label = _printable(rtype, 120)
            unread[label] = unread.get(label, 0) + 1
            continue
        if rid:
            low = rid.lower()
            if low in seen_ids:
                continue
            seen_ids.add(low)
        if rtype == TYPE_CLUSTER:
            try:
                clusters.append(_parse_cluster(row))
            except _RowError as exc:
                errors.append(_row_error(rid or f"row {n}", str(exc), index=None if rid else n))
        elif rtype == TYPE_VM:
            vm_rows.append((n, row))
        else:
            vmss_rows.append((n, row))

    for _n, row in _agent_pool_clusters(pool_rows, errors):
        if row["id"].lower() in seen_ids:
            continue  # the cluster's own row (az aks list) was read: it has every pool and its location
        seen_ids.add(row["id"].lower())
        try:
            cluster = _parse_cluster(row)
        except _RowError as exc:
            errors.append(_row_error(row["id"], f"agentPool row: {exc}"))
            continue
        clusters.append(cluster)
        if cluster.location == UNKNOWN_LOCATION:
            errors.append(ScopeError(ScopeKind.ROW, name=cluster.id, subscription=cluster.subscription_id or None,
                                     detail="az aks nodepool list gives no location: the cluster's region is unknown, "
                                            "so its SKU facts (Gen1, restrictions, replacements) were not read; add "
                                            "`az aks list -o json` to --inventory"))

    # A scale set or VM of an AKS pool is reported through the pool. Live, the clusters of earlier
    # pages of the batch (`more`) own them too: the clusters of these rows are added to it.
    if more is not None:
        more.add(clusters)
    owners = [o for o in (_Owners(clusters) if clusters and (vmss_rows or vm_rows) else None, more) if o]
    # Ownership needs only the envelope (subscription, group, tags): an owned row is not read further.
    scale_sets: list[ScaleSet] = []
    for n, row in vmss_rows:
        try:
            env = _envelope(row)
            owned, pool = _owned(owners, env[2], env[3], env[5])
            if not owned:
                scale_sets.append(_vmss_body(row, *env, aks_pool=pool))
        except _RowError as exc:
            errors.append(_row_error(str(_get(row, "id", "")) or f"row {n}", str(exc)))

    vms: list[VirtualMachine] = []
    for n, row in vm_rows:
        try:
            env = _envelope(row)
            if not _owned(owners, env[2], env[3], env[5])[0]:  # else a node of an AKS VirtualMachines pool
                vms.append(_vm_body(row, *env))
        except _RowError as exc:
            errors.append(_row_error(str(_get(row, "id", "")) or f"row {n}", str(exc)))

    return Inventory(clusters=tuple(clusters), vms=tuple(vms), scale_sets=tuple(scale_sets), errors=tuple(errors),
                     unread_types=tuple(sorted(unread.items(), key=lambda kv: (-kv[1], kv[0]))))


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


# The file loaders live in scanner.sources.inventory_files; these names stay for their callers.
def _expand_paths(paths: Iterable[str], pattern: str = "*.json") -> list[Path]:
    from scanner.sources.inventory_files import expand_paths

    return expand_paths(paths, pattern)


def read_json_file(path: Path, error_cls: type[Exception] = InventoryError) -> Any:
    from scanner.sources.inventory_files import read_json_file as read

    return read(path, error_cls)


def load_inventory_files(paths: list[str], strict: bool = False) -> Inventory:
    """Inventory from exported files (see scanner.sources.inventory_files). Errors name the file."""
    from scanner.sources.inventory_files import load_files

    return load_files(paths, strict=strict)


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


@dataclass
class _Counters:
    requests: int = 0
    arg_pages: int = 0
    waits: list[float] = field(default_factory=list)


class ArgTruncated(ArmReadError):
    """Resource Graph said `resultTruncated: "true"` and gave no `$skipToken`: the rows are incomplete."""


class ArgSession:
    """Pages Resource Graph queries through the shared ARM client (raw JSON), throttle-aware. One per run.

    pages(query, subscriptions) yields each page's rows as it arrives. Bounded: a `$skipToken` seen
    before, or more pages than `totalRecords` rows could need (plus one), raises ArmPagingError; a
    truncated result with no token raises ArgTruncated after its rows were yielded."""

    def __init__(self, arm: ArmJson, sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic, page_size: int = ARG_PAGE_SIZE) -> None:
        self.arm = arm
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

    # Throttle protocol (sources.arm): wait out a spent per-user quota before each request.
    def before(self) -> None:
        self.counters.requests += 1
        self._wait(self._quota_free_at - self.clock(), "Resource Graph quota spent")

    def after(self, headers: Mapping[str, str]) -> None:
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

    def _post(self, body: dict, what: str) -> dict:
        payload: dict[str, Any] = {"query": body["query"],
                                   "options": {"$top": self.page_size, "resultFormat": "objectArray"}}
        if body.get("subscriptions"):
            payload["subscriptions"] = body["subscriptions"]
        if body.get("skip_token"):
            payload["options"]["$skipToken"] = body["skip_token"]
        # Raw JSON, parsed once: the generated model walks every row value (3x slower on big pages).
        page = self.arm.post(f"/providers/Microsoft.ResourceGraph/resources?api-version={ARG_API_VERSION}",
                             payload, "arg", scope=what, throttle=self)
        self.counters.arg_pages += 1
        return page

    def pages(self, query: str, subscriptions: list[str] | None = None, name: str = "query") -> Iterator[list]:
        what = f"Resource Graph {name} query over {len(subscriptions or [])} subscription(s)"
        token = None
        tokens: set[str] = set()
        pages = rows = 0
        limit = ARG_MAX_PAGES
        while True:
            page = self._post({"query": query, "subscriptions": subscriptions, "skip_token": token}, what)
            pages += 1
            data = page.get("data")
            if not isinstance(data, list):
                raise ArmReadError(f"{what}: no objectArray 'data' in the response (page {pages})", status_code=200)
            rows += len(data)
            total = page.get("totalRecords")
            if isinstance(total, int) and not isinstance(total, bool) and total >= 0:
                limit = min(limit, -(-total // self.page_size) + 1)
            yield data
            token = page.get("$skipToken")
            if not token:
                if str(page.get("resultTruncated", "false")).lower() == "true":
                    raise ArgTruncated(f"{what}: Resource Graph truncated the result ({rows} rows"
                                       + (f" of {total}" if isinstance(total, int) else "")
                                       + ") and gave no $skipToken to read the rest", status_code=200)
                return
            token = str(token)
            if token in tokens:
                raise ArmPagingError(f"{what}: a $skipToken came back a second time after {pages} pages "
                                     "(stopped: the paging would never end)", status_code=200)
            if pages >= limit:
                raise ArmPagingError(f"{what}: more than {limit} pages for {total if total is not None else '?'} "
                                     "rows (stopped: more pages than the rows could need)", status_code=200)
            tokens.add(token)

    def query(self, query: str, subscriptions: list[str] | None = None) -> list[dict]:
        """Every row of a query (small results only: membership, visibility)."""
        return [row for page in self.pages(query, subscriptions) for row in page]


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


def list_subscriptions(arm: ArmJson) -> tuple[dict[str, dict], ScopeError | None]:
    """GET /subscriptions (follows nextLink): lower-case id -> {name, state}, and an error when the
    listing stopped early (a repeated nextLink, too many pages, a page that cannot be read after
    the first): what was listed is kept, the error says the rest was not."""
    out: dict[str, dict] = {}
    pages = 0
    try:
        for doc in arm.pages(f"/subscriptions?api-version={SUBSCRIPTIONS_API_VERSION}", "subscriptions",
                             scope="subscription listing"):
            pages += 1
            for item in doc.get("value", []) or []:
                if not isinstance(item, Mapping):
                    continue
                sid = str(item.get("subscriptionId") or "").lower()
                if sid:
                    out[sid] = {"name": item.get("displayName", ""), "state": str(item.get("state") or "Enabled")}
    except ArmReadError as exc:
        if not pages:
            raise
        return out, ScopeError(ScopeKind.TENANT, detail=(
            f"the subscription listing stopped after {pages} page(s) and {len(out)} subscriptions: {exc.reason}; "
            "subscriptions beyond them were not scanned"))
    return out, None


def _mg_query(names: Iterable[str]) -> str:
    quoted = ", ".join("'" + n.replace("\\", "\\\\").replace("'", "\\'") + "'" for n in names)
    return load_query("subscriptions_in_management_groups").replace("{management_groups}", quoted)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


class _Fold:
    """Model values from Resource Graph pages as they arrive; the raw rows of a page are dropped once
    it is parsed. Queries run clusters first, so a scale set or VM of an AKS pool finds its cluster
    (they share the subscription, and a batch holds whole subscriptions)."""

    def __init__(self) -> None:
        self.clusters: list[Cluster] = []
        self.vms: list[VirtualMachine] = []
        self.scale_sets: list[ScaleSet] = []
        self.errors: list[ScopeError] = []
        self._owners = _Owners()  # every cluster read so far, kept up to date page by page

    def add(self, name: str, rows: list) -> None:
        inv = _read(rows, self._owners)
        self.errors.extend(inv.errors)
        self.clusters.extend(inv.clusters)
        self.scale_sets.extend(inv.scale_sets)
        self.vms.extend(inv.vms)

    def extend(self, other: _Fold) -> None:
        self.clusters.extend(other.clusters)
        self.vms.extend(other.vms)
        self.scale_sets.extend(other.scale_sets)
        self.errors.extend(other.errors)


class _Rows:
    """Keeps the rows themselves (small results: management group membership)."""

    def __init__(self) -> None:
        self.rows: list[dict] = []

    def add(self, name: str, rows: list) -> None:
        self.rows.extend(rows)

    def extend(self, other: _Rows) -> None:
        self.rows.extend(other.rows)


class _BatchRunner:
    """Runs every inventory query for a batch of subscriptions; isolates subscriptions that fail.

    What a batch read is kept only when the batch ends: a batch that fails and is split is read
    again, never counted twice. A truncated result keeps what was read and names every
    subscription of the batch as not read completely."""

    def __init__(self, session: ArgSession, queries: dict[str, str], bisect_budget: int = 64,
                 check_visible: bool = True, sink: Callable[[], Any] = _Fold) -> None:
        self.session = session
        self.queries = queries
        self.visible_query = load_query("subscriptions") if check_visible else ""
        self.sink = sink
        self.out = sink()
        self.seen: set[str] = set()
        self.errors: list[ScopeError] = []
        self.bisect_budget = bisect_budget

    def run(self, batch: list[str]) -> None:
        from azure.core.exceptions import ClientAuthenticationError, HttpResponseError

        if not batch:
            return
        got = self.sink()
        try:
            if self.visible_query:
                readable = {str(r.get("subscriptionId") or "").lower()
                            for r in self.session.query(self.visible_query, batch)}
                unseen = [s for s in batch if s not in readable]
                for sid in unseen:
                    self.errors.append(_sub_error(sid, "Resource Graph returned nothing for it "
                                                  "(no read access to the subscription?)"))
                batch = [s for s in batch if s in readable]
                if not batch:
                    return
            for name, text in self.queries.items():
                for rows in self.session.pages(text, batch, name):
                    got.add(name, rows)
        except ClientAuthenticationError:
            raise
        except ArgTruncated as exc:
            self.out.extend(got)  # real rows, but not all of them: nothing here may be resolved
            for sid in batch:
                self.errors.append(_sub_error(sid, exc.reason))
            return
        except (HttpResponseError, ArmReadError) as exc:
            text = exc.reason if isinstance(exc, ArmReadError) else _http_error_text(exc)
            named = {g.lower() for g in _GUID_RE.findall(str(exc))} & set(batch)
            status = exc.status_code or 0
            if named and len(named) < len(batch):
                for sid in sorted(named):
                    self.errors.append(_sub_error(sid, text))
                self.run([s for s in batch if s not in named])
                return
            if len(batch) > 1 and status in (400, 403, 404) and self.bisect_budget > 0:
                self.bisect_budget -= 1
                half = len(batch) // 2
                self.run(batch[:half])
                self.run(batch[half:])
                return
            for sid in batch:
                self.errors.append(_sub_error(sid, text))
            return
        self.out.extend(got)
        self.seen.update(batch)


def collect_inventory(settings: Any, scope: Any, clients: Any = None, *,
                      sleep: Callable[[float], None] = time.sleep,
                      clock: Callable[[], float] = time.monotonic,
                      batch_size: int = ARG_MAX_SUBSCRIPTIONS) -> Inventory:
    """Live inventory through Resource Graph for `scope` (see the module docstring)."""
    from azure.core.exceptions import ClientAuthenticationError, HttpResponseError, ServiceRequestError

    if clients is None:
        from scanner.sources.clients import clients as process_clients

        clients = process_clients(settings)
    arm = ArmJson(clients.arm_pipeline, sleep=sleep, clock=clock)
    session = ArgSession(arm, sleep=sleep, clock=clock)
    errors: list[ScopeError] = []
    try:
        visible, listing_error = list_subscriptions(arm)
    except ClientAuthenticationError as exc:
        raise AzureReadError(f"{scope}: could not get an Azure token ({str(exc).splitlines()[0]}); "
                             "check the managed identity or run az login") from None
    except (HttpResponseError, ServiceRequestError, ArmReadError) as exc:
        text = exc.reason if isinstance(exc, ArmReadError) else _http_error_text(exc)
        raise AzureReadError(f"{scope}: listing subscriptions failed ({text})") from None
    if listing_error is not None:
        errors.append(listing_error)

    readable = [s for s, info in visible.items() if info["state"].lower() not in _SKIP_STATES]
    try:
        if scope.kind == "sub":
            subs = []
            for sid in dict.fromkeys(v.lower() for v in scope.values):
                info = visible.get(sid)
                if info is None:
                    errors.append(_sub_error(sid, "not found, or this identity has no role on it"))
                elif info["state"].lower() in _SKIP_STATES:
                    errors.append(_sub_error(sid, f"state is {info['state']}: not scanned"))
                else:
                    subs.append(sid)
        elif scope.kind == "mg":
            # Membership is read like the inventory: a subscription Resource Graph refuses is named
            # and left out, never the end of the scan (it may not even be under these groups).
            members = _BatchRunner(session, {"membership": _mg_query(scope.values)}, check_visible=False,
                                   sink=_Rows)
            for batch in _chunks(sorted(readable), batch_size):
                members.run(batch)
            errors.extend(replace(e, detail=f"{e.error} (so it is not known whether it is under {scope})")
                          for e in members.errors)
            subs_set: set[str] = set()
            found: set[str] = set()
            for row in members.out.rows:
                sid = str(row.get("subscriptionId") or "").lower()
                if sid:
                    subs_set.add(sid)
                    found.update(str(m).lower() for m in row.get("managementGroups") or [])
            for mg in scope.values:
                if mg.lower() not in found:
                    errors.append(ScopeError(ScopeKind.MANAGEMENT_GROUP, name=mg, detail=
                                             "no readable subscriptions under it (not found, empty, or no access)"))
            subs = sorted(subs_set)
        else:
            subs = sorted(readable)
            if not subs:
                errors.append(ScopeError(ScopeKind.TENANT, detail="this identity can read no subscriptions (give it the Reader "
                                                   "role on the subscriptions or management groups to scan)"))

        runner = _BatchRunner(session, {name: load_query(name) for name in INVENTORY_QUERIES})
        for batch in _chunks(subs, batch_size):
            runner.run(batch)
    except ClientAuthenticationError as exc:
        raise AzureReadError(f"{scope}: could not get an Azure token ({str(exc).splitlines()[0]})") from None
    except (HttpResponseError, ArmReadError) as exc:  # the membership query itself failed
        text = exc.reason if isinstance(exc, ArmReadError) else _http_error_text(exc)
        raise AzureReadError(f"{scope}: Resource Graph query failed ({text})") from None

    fold = runner.out
    inv = Inventory(
        clusters=tuple(fold.clusters),
        vms=tuple(fold.vms),
        scale_sets=tuple(fold.scale_sets),
        subscriptions_seen=frozenset(runner.seen),
        errors=tuple(errors) + tuple(runner.errors) + tuple(fold.errors),
        requests=arm.requests,
    )
    log.info("resource_graph: %s", summary(inv, pages=session.counters.arg_pages))
    return inv
