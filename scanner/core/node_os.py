"""Node OS retirements: which OS version an AKS pool runs, and when AKS stops supporting it. Pure.

    parse_node_os(text, origin="<text>") -> list[NodeOs]     TOML text -> entries; CatalogError names the entry
    load_builtin() -> NodeOsCatalog                          scanner/data/node_os.toml
    NodeOsCatalog(entries)
        .match(pool, cluster_version="") -> (NodeOs, how) | None
        .get(id) -> NodeOs | None
    NodeOs.as_retirement() -> Retirement                     the value a finding carries (retires_on = end of support)
    move_commands(cluster, pool, entry) -> (commands, note)  how to move the pool off the OS version

File format (scanner/data/node_os.toml)::

    [[node_os]]
    id = "aks-ubuntu-2204"                    # stable, unique
    title = "Ubuntu 22.04 node images retire on AKS"
    os_type = "Linux"                         # "Linux" | "Windows"
    os_version = "Ubuntu 22.04"
    image_prefixes = ["AKSUbuntu-2204"]       # nodeImageVersion prefixes of this OS version
    os_skus = ["Ubuntu2204"]                  # OS SKUs that always run it
    default_for = [{ os_sku = "Ubuntu", from = "1.25", to = "1.34" }]   # version-less SKUs, by Kubernetes minor
    end_of_support = 2027-06-30               # required
    images_removed = 2028-04-30               # required
    move_os_sku = "Ubuntu2404"                # required
    move_min_kubernetes = "1.32"
    move_how = "update"                       # "update" (az aks nodepool update --os-sku) | "new-pool"
    urls = ["https://..."]
    notes = ""

How a pool's OS version is recognised, best signal first (aks-node-os-lifecycle.md): the
`nodeImageVersion` prefix (the image actually in use); then an OS SKU that names a version
(Ubuntu2204, Windows2019, CBLMariner); then a version-less OS SKU (Ubuntu, AzureLinux, empty) by the
pool's Kubernetes version (else the cluster's). Windows pools without an OS SKU use
`guidance.windows_os_sku` (one rule for the Windows default, shared with the replacement logic).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from datetime import date
from importlib import resources

from scanner.core.model import Cluster, NodePool, Retirement
from scanner.errors import CatalogError

try:  # Python 3.11+
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

ALLOWED_KEYS = ("id", "title", "os_type", "os_version", "names", "image_prefixes", "os_skus", "default_for",
                "end_of_support", "images_removed", "move_os_sku", "move_min_kubernetes", "move_how", "urls", "notes")
_REQUIRED = ("id", "title", "os_type", "os_version", "end_of_support", "images_removed", "move_os_sku")
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_VERSION_RE = re.compile(r"^\d+\.\d+$")


@functools.lru_cache(maxsize=256)
def _minor(text: str) -> tuple[int, ...]:
    """'1.30.5' / 'v1.30' -> (1, 30); () when unreadable."""
    parts = []
    for p in str(text or "").strip().lstrip("vV").split(".")[:2]:
        if not p.isdigit():
            break
        parts.append(int(p))
    return tuple(parts) if len(parts) == 2 else ()


@dataclass(frozen=True)
class NodeOs:
    id: str
    title: str
    os_type: str
    os_version: str
    end_of_support: date
    images_removed: date
    move_os_sku: str
    move_min_kubernetes: str = ""
    move_how: str = "update"
    image_prefixes: tuple[str, ...] = ()
    os_skus: tuple[str, ...] = ()
    # (version-less OS SKU, first minor, last minor) this OS version is the default for
    default_for: tuple[tuple[str, str, str], ...] = ()
    urls: tuple[str, ...] = ()
    notes: str = ""
    names: tuple[str, ...] = ()  # how notices write it ("CBL-Mariner 2.0")

    def as_retirement(self) -> Retirement:
        return Retirement(id=self.id, title=self.title, retires_on=self.end_of_support, source="builtin",
                          urls=self.urls, notes=self.notes)


def _strings(raw, where: str, key: str) -> tuple[str, ...]:
    value = raw.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise CatalogError(f"{where}: {key} must be a list of non-empty strings, got {value!r}")
    return tuple(v.strip() for v in value)


def _date(raw, where: str, key: str) -> date:
    value = raw.get(key)
    if isinstance(value, date) and not hasattr(value, "hour"):
        return value
    raise CatalogError(f"{where}: {key} = {value!r} is not a date (YYYY-MM-DD)")


def _text(raw, where: str, key: str, default: str = "") -> str:
    value = raw.get(key, default)
    if not isinstance(value, str):
        raise CatalogError(f"{where}: {key} must be a string, got {value!r}")
    return value.strip()


def _entry(raw: dict, origin: str, index: int) -> NodeOs:
    rid = raw.get("id")
    where = f"{origin}: node_os #{index}" + (f" (id {rid!r})" if isinstance(rid, str) else "")
    unknown = [k for k in raw if k not in ALLOWED_KEYS]
    if unknown:
        raise CatalogError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))} (allowed: {', '.join(ALLOWED_KEYS)})")
    missing = [k for k in _REQUIRED if k not in raw]
    if missing:
        raise CatalogError(f"{where}: missing {', '.join(map(repr, missing))}")
    if not isinstance(rid, str) or not _ID_RE.match(rid):
        raise CatalogError(f"{where}: id {rid!r} must be letters, digits, '.', '_' or '-'")
    os_type = _text(raw, where, "os_type")
    if os_type not in ("Linux", "Windows"):
        raise CatalogError(f"{where}: os_type {os_type!r} must be 'Linux' or 'Windows'")
    how = _text(raw, where, "move_how", "update")
    if how not in ("update", "new-pool"):
        raise CatalogError(f"{where}: move_how {how!r} must be 'update' or 'new-pool'")
    min_k8s = _text(raw, where, "move_min_kubernetes")
    if min_k8s and not _VERSION_RE.match(min_k8s):
        raise CatalogError(f"{where}: move_min_kubernetes {min_k8s!r} must be MAJOR.MINOR (e.g. '1.32')")
    defaults = []
    for d in raw.get("default_for", []):
        if not isinstance(d, dict) or set(d) != {"os_sku", "from", "to"} or not all(isinstance(v, str) for v in d.values()) \
                or not (_VERSION_RE.match(d["from"]) and _VERSION_RE.match(d["to"])):
            raise CatalogError(f"{where}: default_for entries are {{ os_sku = \"Ubuntu\", from = \"1.25\", to = \"1.34\" }}, "
                               f"got {d!r}")
        defaults.append((d["os_sku"], d["from"], d["to"]))
    urls = _strings(raw, where, "urls")
    for url in urls:
        if not re.match(r"^https?://\S+$", url):
            raise CatalogError(f"{where}: url {url!r} is not an http(s) URL")
    entry = NodeOs(
        id=rid, title=_text(raw, where, "title"), os_type=os_type, os_version=_text(raw, where, "os_version"),
        end_of_support=_date(raw, where, "end_of_support"), images_removed=_date(raw, where, "images_removed"),
        move_os_sku=_text(raw, where, "move_os_sku"), move_min_kubernetes=min_k8s, move_how=how,
        image_prefixes=_strings(raw, where, "image_prefixes"), os_skus=_strings(raw, where, "os_skus"),
        default_for=tuple(defaults), urls=urls, notes=_text(raw, where, "notes"), names=_strings(raw, where, "names"),
    )
    if entry.images_removed < entry.end_of_support:
        raise CatalogError(f"{where}: images_removed {entry.images_removed} is before end_of_support {entry.end_of_support}")
    if not (entry.image_prefixes or entry.os_skus or entry.default_for):
        raise CatalogError(f"{where}: names no image_prefixes, os_skus or default_for: no pool could match it")
    return entry


def parse_node_os(text: str, origin: str = "<text>") -> list[NodeOs]:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{origin}: not valid TOML ({exc})") from None
    extra = [k for k in data if k != "node_os"]
    if extra:
        raise CatalogError(f"{origin}: unknown top-level key(s) {', '.join(map(repr, extra))} (expected [[node_os]] tables)")
    entries = data.get("node_os", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise CatalogError(f"{origin}: 'node_os' must be an array of tables ([[node_os]])")
    out: list[NodeOs] = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(entries, start=1):
        e = _entry(raw, origin, i)
        if e.id in seen:
            raise CatalogError(f"{origin}: duplicate node_os id {e.id!r} (entries #{seen[e.id]} and #{i})")
        seen[e.id] = i
        out.append(e)
    return out


class NodeOsCatalog:
    def __init__(self, entries) -> None:
        self.entries = tuple(entries)
        self._by_id = {e.id: e for e in self.entries}

    def get(self, entry_id: str) -> NodeOs | None:
        return self._by_id.get(entry_id)

    def __len__(self) -> int:
        return len(self.entries)

    def match(self, pool: NodePool, cluster_version: str = "") -> tuple[NodeOs, str] | None:
        """The retiring OS version the pool runs and how that was read; None when it runs none."""
        windows = pool.os_type.lower() == "windows"
        image = pool.node_image_version.strip()
        if image:
            for e in self.entries:
                if any(image.lower().startswith(p.lower()) for p in e.image_prefixes):
                    return e, f"nodeImageVersion {image}"
            if image.lower().startswith(("aksubuntu", "akscblmariner", "aksazurelinux", "akswindows")):
                return None  # a known image family of a version not in the catalogue: not retiring
        sku = pool.os_sku.strip()
        version = pool.orchestrator_version or cluster_version
        if windows and not sku:
            from scanner.core.guidance import windows_os_sku  # one rule for the Windows default

            sku = windows_os_sku(pool, cluster_version)
            how = f"osSKU empty, {sku} by default on Kubernetes {version}" if version else f"osSKU empty ({sku})"
        else:
            sku = sku or ("Ubuntu" if not windows else "")
            how = ""
        for e in self.entries:
            if (e.os_type == "Windows") != windows:
                continue
            if any(sku.lower() == s.lower() for s in e.os_skus):
                return e, how or f"osSKU {sku}"
        minor = _minor(version)
        if not minor:
            return None  # a version-less OS SKU on an unknown version: not guessed
        for e in self.entries:
            for name, lo, hi in e.default_for:
                if sku.lower() == name.lower() and _minor(lo) <= minor <= _minor(hi):
                    return e, f"osSKU {pool.os_sku or sku} on Kubernetes {version}"
        return None


_AKS = re.compile(r"\bAKS\b|\bAzure Kubernetes Service\b|\bKubernetes\b|\bnode (?:pools?|images?)\b", re.I)
# AKS on Azure Local / Arc / Azure Stack runs its own node images: not these entries.
_NOT_AKS_IN_AZURE = re.compile(r"\bAzure Arc\b|\bAzure Local\b|\bAzure Stack\b|\bAKS hybrid\b", re.I)
_ANY_OS = re.compile(r"\b(?:Ubuntu\s?\d{2}\.\d{2}|Azure Linux\s?\d(?:\.\d)?|CBL-Mariner\s?\d(?:\.\d)?"
                     r"|Windows Server\s?(?:\d{4}|Annual Channel)|Flatcar|Azure Container Linux)\b", re.I)


def notice_subject(catalog: NodeOsCatalog, title: str, text: str = "") -> tuple[str, NodeOs | None] | None:
    """An AKS notice about a node OS version: (the OS as written, the entry it maps to or None).
    None when the notice is not about an AKS node OS (no AKS context, or no OS version named)."""
    if not (_AKS.search(title) or _AKS.search(text[:600])) or _NOT_AKS_IN_AZURE.search(title):
        return None
    for where in (title, text[:600]):
        for e in catalog.entries:
            for name in (e.os_version, *e.names):
                if re.search(r"\b" + re.escape(name).replace("\\ ", r"\s?") + r"\b", where, re.I):
                    return name, e
    m = _ANY_OS.search(title)
    return (m.group(0), None) if m else None


@functools.lru_cache(maxsize=1)
def load_builtin() -> NodeOsCatalog:
    text = resources.files("scanner.data").joinpath("node_os.toml").read_text(encoding="utf-8")
    return NodeOsCatalog(parse_node_os(text, origin="scanner/data/node_os.toml"))


@functools.cache
def _guidance():
    from scanner.core import guidance  # not at import: the feed reads this module without the commands

    return guidance


def move_commands(cluster: Cluster, pool: NodePool, entry: NodeOs, pool_names=(),
                  size: str = "") -> tuple[tuple[str, ...], str]:
    """The move off `entry` for `pool`: commands that work when pasted, and a sentence. `size`: the
    replacement the pool's size findings recommend (its size retires), for a move that rebuilds the pool."""
    guidance = _guidance()
    version = pool.orchestrator_version or cluster.kubernetes_version
    minor, need = _minor(version), _minor(entry.move_min_kubernetes)
    scope = guidance._aks_scope(cluster)
    upgrade_first = bool(need and minor and minor < need)
    first: tuple[str, ...] = ()  # every command names this pool: a cluster-wide step is said in the note
    note = f"Move to OS SKU {entry.move_os_sku}"
    if entry.move_min_kubernetes:
        note += f" (Kubernetes {entry.move_min_kubernetes} or later)"
    if upgrade_first:
        note += (f"; the pool runs {version}: upgrade the cluster and the pool to {entry.move_min_kubernetes} or later "
                 f"first (az aks get-upgrades --resource-group {cluster.resource_group} --name {cluster.name} lists "
                 "the versions)")
    if (entry.move_how == "update" and entry.move_os_sku.lower() == "ubuntu2404"
            and pool.properties.get("enableFIPS") is True):
        # "Ubuntu with containerd and FIPS ... Not yet supported for Ubuntu 24.04+" while Azure Linux has
        # FIPS images (azure-aks-docs node-images.md @ 48d78c92): AKS refuses the update, so it is not printed
        return first, ("The pool uses a FIPS image and Ubuntu 24.04 has none yet (Ubuntu2404 would drop FIPS, so AKS "
                       "refuses it): keep the pool on Ubuntu 22.04 until AKS ships a FIPS Ubuntu 24.04 image, or "
                       "move the workloads to a new Azure Linux 3.0 pool, which has FIPS images (az aks nodepool add "
                       "... --os-sku AzureLinux3 --enable-fips-image).")
    if entry.move_how == "update":
        update = " ".join(["az aks nodepool update", *scope, "--name", guidance._q(pool.name),
                           "--os-sku", guidance._q(entry.move_os_sku)])
        if upgrade_first:
            # AKS refuses the OS SKU below its first Kubernetes version (Ubuntu2404: 1.32 to 1.38,
            # azure-aks-docs upgrade-os-version.md @ d91258ba), so the update is not printed as a command
            # that fails when pasted: it is said, to run after the upgrade
            return first, note + f"; then: {update} (it changes the OS SKU in place, reimaging the nodes)."
        return (*first, update), note + " (az aks nodepool update changes the OS SKU in place, reimaging the nodes)."
    # A Windows version change is always a new pool (upgrade-windows-os.md). The pool rebuild picks the
    # new pool's OS SKU for the control plane's version (guidance.new_pool_os, one rule for it): when
    # that is a move off this OS, its commands are the move; otherwise the move is said, not guessed.
    current = guidance.windows_os_sku(pool, cluster.kubernetes_version)
    target = guidance.new_pool_os(pool, cluster.kubernetes_version).os_sku
    if pool.vm_sizes and target and target.lower() != current.lower():
        on = f"on {size} (its size {pool.vm_sizes[0]} retires: one rebuild for both)" if size else "on the same size"
        return (*first, *guidance.rebuild_pool_commands(cluster, pool, size or pool.vm_sizes[0], pool_names)), \
            (f"Move to OS SKU {target}: a new Windows pool {on}, then cordon, drain and delete this "
             "one (a Windows Server version change is always a new pool).")
    return first, (note + f": add a Windows node pool with --os-sku {entry.move_os_sku}"
                   + (" --enable-fips-image" if entry.move_os_sku.lower() == "windows2025" else "")
                   + ", move the workloads, then delete this pool.")
