"""Inventory from exported JSON files (`scan --inventory`, SCAN_INVENTORY_FILES).

    load_files(paths, strict=False) -> Inventory
        Files or folders (*.json). Each file is one of the SHAPES below; its rows go through
        resource_graph.to_resources, the one parser of ARM-shaped rows. Nothing is dropped silently:

        * a row that cannot be read (a field of the wrong type, no id, no location) is a
          ScopeError(kind=ROW) naming the file, the row's id (or its place) and the field; the
          other rows are read and the scan goes on (strict=True raises InventoryError instead);
        * rows of types the scanner does not read (storage accounts, disks ...) are counted by
          type in Inventory.unread_types and logged as a warning naming the types;
        * reading no AKS cluster, node pool, VM or scale set at all is an InventoryError (the
          CLI's exit 2) naming the files, what they held, and the shapes accepted, so a CI gate
          never goes green on a file the scanner cannot read.

A file that is not JSON, not UTF-8, nested too deeply or of an unknown document shape is an
InventoryError naming the file.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from scanner.core.model import Inventory
from scanner.errors import InventoryError

log = logging.getLogger("scanner.inventory")

SHAPES = (
    "`az aks list -o json`, `az aks nodepool list -o json`, `az vm list -o json`, `az vmss list -o json`, "
    "`az graph query -q ... -o json` ({\"data\": [...]}), an ARM list ({\"value\": [...]}) or one resource, "
    "of types Microsoft.ContainerService/managedClusters (and .../agentPools), Microsoft.Compute/virtualMachines "
    "and Microsoft.Compute/virtualMachineScaleSets"
)


def rows_from_document(doc: Any, source: str) -> list:
    """The rows of one file: a JSON list, {"data": [...]}, {"value": [...]} or a single resource."""
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
    raise InventoryError(f"{source}: not an inventory export; expected {SHAPES}")


def expand_paths(paths: Iterable[str], pattern: str = "*.json", error_cls: type[Exception] = InventoryError
                 ) -> list[Path]:
    out: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files = sorted(f for f in p.rglob(pattern) if f.is_file())
            if not files:
                raise error_cls(f"{raw}: folder has no {pattern} files")
            out.extend(files)
        elif p.is_file():
            out.append(p)
        else:
            raise error_cls(f"{raw}: no such file or folder")
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
    except RecursionError:
        raise error_cls(f"{path}: JSON nested too deeply to be an inventory export") from None
    except ValueError as exc:  # an integer of more digits than Python converts
        raise error_cls(f"{path}: not valid JSON ({exc})") from None


def load_files(paths: list[str], strict: bool = False) -> Inventory:
    """See the module docstring."""
    from scanner.sources.resource_graph import _get, summary, to_resources

    files = expand_paths(paths)
    rows: list = []
    origin: list[str] = []
    for path in files:
        got = rows_from_document(read_json_file(path), str(path))
        rows.extend(got)
        origin.extend([str(path)] * len(got))
    inv = to_resources(rows)
    if inv.errors:
        # Name the file each problem came from.
        id_to_file: dict[str, str] = {}
        for i, r in enumerate(rows):
            rid = _get(r, "id", "") if isinstance(r, Mapping) else ""
            if isinstance(rid, str) and rid:
                id_to_file.setdefault(rid.lower(), origin[i])
                if "/agentpools/" in rid.lower():  # a cluster built from agentPool rows: their file
                    id_to_file.setdefault(rid.lower().split("/agentpools/")[0], origin[i])
        named = []
        for e in inv.errors:
            if e.name.startswith("row ") and e.name[4:].isdigit():  # a row with no id: name its place
                idx = int(e.name[4:])
                named.append(replace(e, name=f"{origin[idx]}: item {idx}"))
            else:
                named.append(replace(e, name=f"{id_to_file.get(e.name.lower(), '?')}: {e.name}"))
        if strict:
            shown = "; ".join(f"{e.scope}: {e.error}" for e in named[:10])
            more = f" (and {len(named) - 10} more)" if len(named) > 10 else ""
            raise InventoryError(f"inventory: {len(named)} unreadable item(s): {shown}{more}")
        inv = replace(inv, errors=tuple(named))
    if inv.unread_types:
        log.warning("inventory: %d row(s) of types this scanner does not read, skipped: %s",
                    sum(n for _, n in inv.unread_types), unread_text(inv))
    if not (inv.clusters or inv.vms or inv.scale_sets):
        held = [f"{len(rows)} row(s)"]
        if inv.unread_types:
            held.append(f"of types it does not read: {unread_text(inv)}")
        if inv.errors:
            held.append(f"{len(inv.errors)} unreadable: " + "; ".join(f"{e.scope}: {e.error}" for e in inv.errors[:3]))
        raise InventoryError(
            f"--inventory: no AKS cluster, node pool, VM or scale set read from {', '.join(str(f) for f in files)} "
            f"({', '.join(held)}); accepted: {SHAPES}")
    log.info("inventory files: %s", summary(inv))
    return inv


def unread_text(inv: Inventory, limit: int = 8) -> str:
    """"microsoft.storage/storageaccounts (12), microsoft.network/... (3)" for messages."""
    parts = [f"{t} ({n})" for t, n in inv.unread_types[:limit]]
    if len(inv.unread_types) > limit:
        parts.append(f"and {len(inv.unread_types) - limit} more type(s)")
    return ", ".join(parts)
