"""Compute resource SKUs: what every VM size is, per subscription and region.

Pure part: `SkuIndex` (lookups) and `parse_skus`. I/O part: listing SKUs as raw JSON
through the shared ARM client (sources/arm.py), or reading exported files.

Public functions (signatures are a contract):

    parse_skus(items: Iterable[dict], subscription_id=ANY_SUBSCRIPTION) -> list[Sku]
        Pure. Items in the REST shape (`value[]` of GET .../providers/Microsoft.Compute/skus) or
        as printed by `az vm list-skus -o json`; only resourceType virtualMachines; one Sku per
        location. Capability values are strings and are parsed (vCPUs, MemoryGB, GPUs,
        HyperVGenerations "V1,V2", CpuArchitectureType). Restrictions: type Location ->
        `restricted`, type Zone -> `restricted_zones`. A value that cannot be used (a field of the
        wrong type, a capability that is not a finite number >= 0, a name that is not a string)
        raises InputError naming the item's index and SKU name (and the location and capability);
        files prefix the path (CLI exit 2), live listings make it a REGION_SKUS scope error.
    load_sku_files(paths: list[str]) -> SkuIndex
        Files or folders (*.json): a JSON list of SKUs, `{"value": [...]}` pages, or a folder of
        them. Filed under ANY_SUBSCRIPTION. Errors name the file.
    fetch_skus(settings, pairs, clients=None, *, workers=8, arm=None, cache=None, sku_scope=None)
            -> tuple[SkuIndex, list[ScopeError]]
        Live. One listing per distinct (subscription, region) with `$filter=location eq '...'`,
        following nextLink (bounded: a repeated link is an error for that pair), as raw JSON through
        sources.arm.ArmJson: one pipeline and connection pool for every subscription, each body
        parsed once, no SDK models; a body that repeats byte for byte (the same list for another
        subscription) is parsed once per run and its Sku values reused. Sizes are interned per
        (region, size) (SharedFacts): the capabilities are parsed and held once, only
        restrictions differ between subscriptions.
        `cache` (tables.cache.SkuCache) answers fresh pairs without a request and keeps what was
        read; SKU_SCOPE=region (settings.sku_scope) lists each region once and files it for every
        subscription. A pair that fails (forbidden, not found, throttled past retries)
        becomes a ScopeError("skus <sub>/<region>", ...) and the rest are fetched.
    needed_pairs(inventory) -> list[tuple[str, str]]
        Pure. The (subscription, region) pairs an inventory needs, sorted, lower-case.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

from scanner.core.model import Inventory, ScopeError, ScopeKind, Sku
from scanner.errors import InputError

ANY_SUBSCRIPTION = "*"

log = logging.getLogger("scanner.skus")


class SkuIndex:
    """Answers questions about sizes per (subscription, region).

    SKU facts read from files usually carry no subscription: they are filed under
    ANY_SUBSCRIPTION and answer for every subscription that has no list of its own.
    """

    def __init__(self) -> None:
        self._by_scope: dict[tuple[str, str], dict[str, Sku]] = {}  # never mutated once filed: shared
        self._shared: dict[tuple[int, ...], tuple[dict[str, Sku], dict[str, Sku]]] = {}
        self._facts: dict[str, Sku] | None = None  # size -> facts (built on first use, reset by add)
        self._sorted: dict[int, list[Sku]] = {}  # id(filed dict) -> its sizes by name (cleared by add)
        self.requests = 0  # ARM requests made to build it (fetch_skus); 0 for files
        self.cached_pairs = 0  # (subscription, region) pairs taken from the SKU cache (fetch_skus)

    def add(self, subscription_id: str, skus: Iterable[Sku]) -> SkuIndex:
        by_loc: dict[tuple[str, str], dict[str, Sku]] = {}
        for sku in skus:
            by_loc.setdefault((subscription_id.lower(), sku.location.lower()), {})[sku.name.lower()] = sku
        for key, sizes in by_loc.items():
            have = self._by_scope.get(key)
            if have:  # more for a scope already known: a merged dict of its own
                self._by_scope[key] = {**have, **sizes}
            else:  # most subscriptions see the very same Sku values in a region: hold that dict once
                sig = tuple(map(id, sizes.values()))
                shared = self._shared.get(sig)
                if shared is None or shared[0] != sizes:
                    shared = self._shared[sig] = (sizes, sizes)
                self._by_scope[key] = shared[1]
        self._facts = None
        self._sorted.clear()
        return self

    def ensure_scope(self, subscription_id: str, location: str) -> SkuIndex:
        """Make (subscription, region) known, even with no VM sizes offered there."""
        self._by_scope.setdefault((subscription_id.lower(), location.lower().replace(" ", "")), {})
        # (an empty dict of its own: `add` replaces rather than mutates a filed dict)
        return self

    @classmethod
    def from_skus(cls, skus: Iterable[Sku], subscription_id: str = ANY_SUBSCRIPTION) -> SkuIndex:
        return cls().add(subscription_id, skus)

    def _region(self, subscription_id: str, location: str) -> dict[str, Sku] | None:
        loc = location.lower().replace(" ", "")
        own = self._by_scope.get((subscription_id.lower(), loc))
        if own is not None:
            return own
        return self._by_scope.get((ANY_SUBSCRIPTION, loc))

    def has_region(self, subscription_id: str, location: str) -> bool:
        return self._region(subscription_id, location) is not None

    def get(self, subscription_id: str, location: str, vm_size: str) -> Sku | None:
        region = self._region(subscription_id, location)
        return None if region is None else region.get(vm_size.lower())

    def sizes(self, subscription_id: str, location: str) -> list[Sku]:
        region = self._region(subscription_id, location)
        if region is None:
            return []
        listed = self._sorted.get(id(region))  # filed dicts are shared and never mutated (see add)
        if listed is None:
            listed = self._sorted[id(region)] = sorted(region.values(), key=lambda s: s.name.lower())
        return list(listed)

    def facts(self, vm_size: str) -> Sku | None:
        """The size as any region of the index lists it (vCPUs, memory, GPUs and generations are
        facts of the size, not of the region): for a size a region no longer offers. None when
        no region lists it. Regions where it is restricted are used only when no other lists it."""
        if self._facts is None:  # one pass over every scope, in scope order, for all sizes
            first: dict[str, Sku] = {}
            for _scope, region in sorted(self._by_scope.items()):
                for name, sku in region.items():
                    have = first.get(name)
                    if have is None or (have.restricted and not sku.restricted):
                        first[name] = sku
            self._facts = first
        return self._facts.get(vm_size.lower())

    def scopes(self) -> list[tuple[str, str]]:
        return sorted(self._by_scope)

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_scope.values())

    def is_restricted(self, subscription_id: str, location: str, vm_size: str,
                      zones: Iterable[str] = ()) -> bool | None:
        """True when the size cannot be deployed for this subscription in the region (or in any of
        `zones`); None when the region or size is unknown to the index."""
        sku = self.get(subscription_id, location, vm_size)
        if sku is None:
            return None
        return not sku.available_in_zones(tuple(str(z) for z in zones))


# --------------------------------------------------------------------------- pure: parsing


def _list(value: Any, where: str, field: str) -> list:
    """A list field of a SKU item: absent/null is empty; anything else not a list is bad input."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InputError(f"{where}: field {field!r} is {type(value).__name__}, expected a list")
    return value


def _text(value: Any, where: str, field: str) -> str:
    """A name-like value: a string (or a whole number, as zones sometimes are)."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise InputError(f"{where}: {field} is {type(value).__name__} {value!r:.40}, expected a string")


def _objects(value: Any, where: str, field: str) -> list[Mapping]:
    items = _list(value, where, field)
    for i, x in enumerate(items):
        if not isinstance(x, Mapping):
            raise InputError(f"{where}: {field}[{i}] is {type(x).__name__}, expected an object")
    return items


def _cap_map(item: Mapping, where: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for i, c in enumerate(_objects(item.get("capabilities"), where, "capabilities")):
        if c.get("name") is None:
            continue  # a capability without a name says nothing (the REST schema allows it)
        value = c.get("value")
        if isinstance(value, (list, Mapping)):
            raise InputError(f"{where}: capabilities[{i}] ({c['name']!r:.40}) value is {type(value).__name__}, "
                             "expected a string")
        out[_text(c["name"], where, f"capabilities[{i}].name")] = "" if value is None else str(value)
    return out


def _num(caps: Mapping[str, str], name: str, where: str, kind: type) -> Any:
    raw = caps.get(name, "").strip()
    if raw == "":
        return kind(0)
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"{where}: capability {name!r} is {raw!r}, expected a number") from None
    if not math.isfinite(value) or value < 0 or (kind is int and not value.is_integer()):
        raise InputError(f"{where}: capability {name!r} is {raw!r}, expected a "
                         f"{'whole ' if kind is int else ''}number >= 0")
    return int(value) if kind is int else value


def _zones_in(infos: list, loc: str, where: str) -> frozenset[str]:
    zones: set[str] = set()
    for i, li in enumerate(infos):
        if _region(li.get("location"), where, f"locationInfo[{i}].location") == loc:
            zones.update(_text(z, where, f"locationInfo[{i}].zones") for z in _list(li.get("zones"), where,
                                                                                      f"locationInfo[{i}].zones"))
    return frozenset(zones)


def _region(value: Any, where: str, field: str) -> str:
    return "" if value is None else _text(value, where, field).lower().replace(" ", "")


def _restrictions_in(restrictions: list, loc: str, where: str) -> tuple[bool, frozenset[str]]:
    restricted = False
    restricted_zones: set[str] = set()
    for i, r in enumerate(restrictions):
        at = f"restrictions[{i}]"
        info = r.get("restrictionInfo") or {}
        if not isinstance(info, Mapping):
            raise InputError(f"{where}: {at}.restrictionInfo is {type(info).__name__}, expected an object")
        r_locs = {_region(x, where, f"{at} location")
                  for x in _list(info.get("locations"), where, f"{at}.restrictionInfo.locations")
                  + _list(r.get("values"), where, f"{at}.values")}
        if r_locs and loc not in r_locs:
            continue
        rtype_r = str(r.get("type") or "").lower()
        if rtype_r == "location":
            restricted = True
        elif rtype_r == "zone":
            restricted_zones.update(_text(z, where, f"{at}.restrictionInfo.zones")
                                    for z in _list(info.get("zones"), where, f"{at}.restrictionInfo.zones"))
    return restricted, frozenset(restricted_zones)


def _facts(item: Mapping, name: str, loc: str, zones: frozenset[str], caps: dict[str, str],
           subscription_id: str, item_where: str = "") -> Sku:
    """The unrestricted Sku of a size in a region: what every subscription shares."""
    where = f"{item_where or f'SKU {name}'} in {loc} (subscription {subscription_id})"
    gens = frozenset(g.strip().upper() for g in caps.get("HyperVGenerations", "").split(",") if g.strip())
    return Sku(
        name=name,
        location=loc,
        vcpus=_num(caps, "vCPUs", where, int),
        memory_gb=_num(caps, "MemoryGB", where, float),
        hyperv_generations=gens,
        cpu_architecture=caps.get("CpuArchitectureType", "").strip() or "x64",
        gpus=_num(caps, "GPUs", where, int),
        zones=zones,
        family=str(item.get("family") or ""),
        capabilities=caps,
    )


class SharedFacts:
    """Sku values shared between subscriptions: one per (region, size, zones), so capabilities are
    parsed and held once however many subscriptions list the size; a subscription's own
    restrictions make a copy (one per distinct restriction, shared by the subscriptions that have
    it) that still shares the capabilities dict. Thread-safe enough: a race
    builds an equal value twice and keeps one."""

    def __init__(self) -> None:
        self._by_key: dict[tuple[str, str, frozenset[str]], Sku] = {}
        self._variants: dict[tuple, Sku] = {}

    def __len__(self) -> int:
        return len(self._by_key)

    def variant(self, base: Sku, restricted: bool, restricted_zones: frozenset[str]) -> Sku:
        """`base` with these restrictions, one value per distinct restriction: subscriptions with
        the same restrictions share values (and so share guidance answers), others never mix."""
        if not restricted and not restricted_zones:
            return base
        key = (base.location, base.name.lower(), base.zones, restricted, restricted_zones)
        sku = self._variants.get(key)
        if sku is None:
            sku = self._variants.setdefault(key, replace(base, restricted=restricted,
                                                         restricted_zones=restricted_zones))
        return sku

    def put(self, sku: Sku) -> Sku:
        """The shared value equal in key to this (unrestricted) one, kept if it is the first."""
        return self._by_key.setdefault((sku.location, sku.name.lower(), sku.zones), sku)

    def get(self, item: Mapping, name: str, loc: str, zones: frozenset[str], subscription_id: str,
            where: str = "") -> Sku:
        key = (loc, name.lower(), zones)
        sku = self._by_key.get(key)
        if sku is None:
            where = where or f"SKU {name}"
            sku = self._by_key.setdefault(key, _facts(item, name, loc, zones, _cap_map(item, where),
                                                      subscription_id, where))
        return sku


def parse_skus(items: Iterable[Mapping], subscription_id: str = ANY_SUBSCRIPTION,
               shared: SharedFacts | None = None, only_location: str = "") -> list[Sku]:
    """Sku values from REST / `az vm list-skus` items (see the module docstring). Pure.

    `shared` reuses the facts of sizes already parsed (capabilities are read once per region and
    size); `only_location` keeps one region (a listing filtered by location)."""
    out: list[Sku] = []
    for n, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise InputError(f"SKU item {n}: is {type(item).__name__}, expected an object")
        rtype = str(item.get("resourceType") or "")
        if rtype and rtype.lower() != "virtualmachines":
            continue
        raw_name = item.get("name")
        if raw_name is None or raw_name == "":
            raise InputError(f"SKU item {n}: missing field 'name'")
        if not isinstance(raw_name, str):
            raise InputError(f"SKU item {n}: field 'name' is {type(raw_name).__name__}, expected a string")
        name = raw_name
        where = f"SKU item {n}, {name}"
        family = item.get("family")
        if family is not None and not isinstance(family, str):
            raise InputError(f"{where}: field 'family' is {type(family).__name__}, expected a string")
        caps = None if shared is not None else _cap_map(item, where)
        infos = _objects(item.get("locationInfo"), where, "locationInfo")
        locations = [_region(x, where, "locations[]") for x in _list(item.get("locations"), where, "locations")]
        locations += [_region(li.get("location"), where, "locationInfo[].location") for li in infos]
        restrictions = _objects(item.get("restrictions"), where, "restrictions")
        for loc in dict.fromkeys(x for x in locations if x):
            if only_location and loc != only_location:
                continue
            zones = _zones_in(infos, loc, where)
            if shared is not None:
                base = shared.get(item, name, loc, zones, subscription_id, where)
            else:
                base = _facts(item, name, loc, zones, caps, subscription_id, where)
            restricted, restricted_zones = (_restrictions_in(restrictions, loc, where) if restrictions
                                            else (False, frozenset()))
            if shared is not None:
                base = shared.variant(base, restricted, restricted_zones)
            elif restricted or restricted_zones:
                base = replace(base, restricted=restricted, restricted_zones=restricted_zones)
            out.append(base)
    return out


def needed_pairs(inventory: Inventory) -> list[tuple[str, str]]:
    """(subscription, region) pairs the inventory's resources live in. Pure."""
    pairs = {(r.subscription_id.lower(), r.location.lower().replace(" ", ""))
             for group in (inventory.clusters, inventory.vms, inventory.scale_sets) for r in group}
    return sorted(p for p in pairs if p[0] and p[1])


# --------------------------------------------------------------------------- files


def load_sku_files(paths: list[str]) -> SkuIndex:
    """SkuIndex from `az vm list-skus -o json` output, REST pages, or folders of them."""
    from scanner.sources.resource_graph import _expand_paths, read_json_file

    index = SkuIndex()
    try:
        files = _expand_paths(paths)
    except InputError as exc:
        raise InputError(f"SKU files: {exc}") from None
    for path in files:
        doc = read_json_file(path, InputError)
        if isinstance(doc, Mapping) and isinstance(doc.get("value"), list):
            items = doc["value"]
        elif isinstance(doc, list):
            items = doc
        else:
            raise InputError(f"{path}: expected a JSON list of SKUs or {{\"value\": [...]}}")
        try:
            index.add(ANY_SUBSCRIPTION, parse_skus(items))
        except InputError as exc:
            raise InputError(f"{path}: {exc}") from None
    log.info("skus: %d sizes in %d regions from %d files", len(index), len(index.scopes()), len(files))
    return index


# --------------------------------------------------------------------------- live (I/O)


SKU_API_VERSION = "2021-07-01"  # what azure-mgmt-compute 39.0.0 sends for resource_skus.list
SKU_SCOPES = ("subscription", "region")


def sku_url(subscription_id: str, location: str) -> str:
    from urllib.parse import quote

    flt = quote(f"location eq '{location}'", safe="")
    return (f"/subscriptions/{subscription_id}/providers/Microsoft.Compute/skus"
            f"?api-version={SKU_API_VERSION}&$filter={flt}")


class _Page(dict):
    """A decoded SKU page; `key` is (region, digest of its body), `skus` its Sku values once read."""

    __slots__ = ("key", "skus")


class _Pages:
    """What a run has parsed: a SKU page that repeats byte for byte (every subscription without
    restrictions of its own gets the same list for a region) is parsed into Sku values once.

    Only a 20-byte digest of each body and a small page (its nextLink and its Sku values, which
    share SharedFacts) are kept, never a body or its parsed JSON: when subscriptions have
    restrictions of their own every body differs, and a region's list is megabytes parsed."""

    def __init__(self) -> None:
        self.hits = 0
        self._done: dict[tuple[str, bytes], _Page] = {}  # (region, body digest) -> page read before

    def decoder(self, loc: str) -> Callable[[bytes], Any]:
        """ArmJson's `decode` for one region's listing: a body read before answers its small page."""
        import hashlib

        from scanner.core import jsontext

        def decode(raw: bytes) -> Any:
            key = (loc, hashlib.blake2b(raw, digest_size=20).digest())
            done = self._done.get(key)
            if done is not None:
                self.hits += 1
                return done
            doc = jsontext.loads(raw)
            if not isinstance(doc, dict):
                return doc
            page = _Page(doc)
            page.key, page.skus = key, None
            return page

        return decode

    def skus(self, page: Mapping, n: int, scope: str, sub: str, loc: str, shared: SharedFacts) -> list[Sku]:
        """The Sku values of page `n` of a listing (parsed once per distinct body and region)."""
        done = getattr(page, "skus", None)
        if done is not None:
            return done
        items = page.get("value")
        if not isinstance(items, list):
            raise InputError(f"{scope}: page {n} has no 'value' list")
        out = parse_skus(items, sub, shared=shared, only_location=loc)
        key = getattr(page, "key", None)
        if key is not None:
            small = _Page({"nextLink": page["nextLink"]} if "nextLink" in page else {})
            small.key, small.skus = key, out
            self._done.setdefault(key, small)
        return out


def _fetch_one(arm: Any, shared: SharedFacts, sub: str, loc: str,
               memo: _Pages | None = None) -> tuple[list[Sku], int]:
    """One (subscription, region) listing as raw JSON through the shared client, nextLink followed."""
    skus: list[Sku] = []
    pages = 0
    scope = f"skus {sub}/{loc}"
    memo = memo or _Pages()
    for page in arm.pages(sku_url(sub, loc), "skus", scope=scope, decode=memo.decoder(loc)):
        pages += 1
        skus.extend(memo.skus(page, pages, scope, sub, loc, shared))
    return skus, pages


def fetch_skus(settings: Any, pairs: Iterable[tuple[str, str]], clients: Any = None, *,
               workers: int = 8, arm: Any = None, cache: Any = None,
               sku_scope: str | None = None) -> tuple[SkuIndex, list[ScopeError]]:
    """SKU facts for each distinct (subscription, region), fetched once (see the module docstring).

    `arm`: an ArmJson (default: one over the process's pipeline); `cache`: a SkuCache (tables.cache)
    whose fresh entries are used instead of requests and which gets what was fetched;
    `sku_scope` "region" (default settings.sku_scope) reads each region once, through the first
    subscription that has it, and files the facts under every subscription."""
    from azure.core.exceptions import AzureError

    from scanner.sources.arm import ArmJson, ArmReadError

    if arm is None:
        if clients is None:
            from scanner.sources.clients import clients as process_clients

            clients = process_clients(settings)
        arm = ArmJson(clients.arm_pipeline)
    scope_mode = sku_scope or getattr(settings, "sku_scope", "subscription") or "subscription"
    wanted = sorted({(s.lower(), loc.lower().replace(" ", "")) for s, loc in pairs if s and loc})
    if scope_mode == "region":
        first: dict[str, str] = {}
        for sub, loc in wanted:
            first.setdefault(loc, sub)
        to_read = sorted((sub, loc) for loc, sub in first.items())
    else:
        to_read = wanted
    index = SkuIndex()
    errors: list[ScopeError] = []
    shared = SharedFacts()
    cached: dict[tuple[str, str], list[Sku]] = {}
    if cache is not None:
        cached = cache.load(to_read, shared)
    missing = [p for p in to_read if p not in cached]
    memo = _Pages()

    def job(pair: tuple[str, str]) -> tuple[tuple[str, str], list[Sku] | None, int, str]:
        sub, loc = pair
        try:
            skus, pages = _fetch_one(arm, shared, sub, loc, memo)
            return pair, skus, pages, ""
        except ArmReadError as exc:
            return pair, None, 1, exc.reason
        except AzureError as exc:
            from scanner.sources.resource_graph import _http_error_text

            return pair, None, 1, _http_error_text(exc)
        except InputError as exc:
            return pair, None, 1, str(exc)

    results: list = []
    if missing:
        with ThreadPoolExecutor(max_workers=max(1, min(workers, len(missing)))) as pool:
            results = list(pool.map(job, missing))
    fetched: dict[tuple[str, str], list[Sku]] = {}
    for (sub, loc), skus, _pages, err in results:
        if skus is None:
            errors.append(ScopeError(ScopeKind.REGION_SKUS, subscription=sub, region=loc, detail=err))
            continue
        fetched[(sub, loc)] = skus
    if cache is not None:
        if fetched:
            cache.save(fetched)
        errors.extend(cache.errors)  # kind STORE: named, never a reason to keep or resolve a finding
    for (sub, loc), skus in (*cached.items(), *fetched.items()):
        owner = ANY_SUBSCRIPTION if scope_mode == "region" else sub
        index.ensure_scope(owner, loc)  # known region, even with no VM sizes offered
        index.add(owner, skus)
    index.requests = sum(pages for _p, _s, pages, _e in results)
    index.cached_pairs = len(cached)
    log.info("skus: %d sizes for %d subscription/region pairs (%d read, %d from the cache, %s scope), "
             "%d shared size facts, %d requests, %d errors",
             len(index), len(to_read) - len(errors), len(fetched), len(cached), scope_mode, len(shared),
             index.requests, len(errors))
    return index, errors
