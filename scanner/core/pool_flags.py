"""agentPool property -> `az aks nodepool add` flag: the one table the rebuilt pool is made from.

    TABLE: dict[str, Carry]        every writable property of the AKS AgentPool model, by its API
                                   name ("maxPods"; fields of objects as "upgradeSettings.maxSurge")
    canonical(name) -> str | None  the table's spelling of a property name (any case), or None
    read_properties(profile) -> (properties, unknown)
                                   the writable properties a pool profile carries, by API name
                                   (values as JSON), and the keys this table does not know
    add_args(properties, pool_name) -> Carried
                                   the flags that carry them to a new pool, the files those flags
                                   read, and every property not carried with why and what to do

Pure: no I/O. The flags are those of `az aks nodepool add` in azure-cli 2.91 (the version the tests
run, Makefile AZCLI_VERSION); the property list is that of the AgentPool model of
azure-mgmt-containerservice 41.6.0 (pinned in requirements-dev.txt). tests/unit/test_pool_flags.py
fails when the model gains a writable property this table neither maps nor lists as not carried,
and tests/integration/test_az_commands.py runs every command with the real CLI and compares the
PUT it sends with the pool it rebuilds.

Properties are carried, changed on purpose (`CHANGED`: size, Kubernetes version, OS SKU, node
image), decided by the rebuild itself (`RULED`: count and autoscaler, OS type, spot, VM set type;
rendered by guidance), or not carried (`why` says why and what to do instead).
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import shlex
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

# How a property travels. "flag": rendered by this table; "ruled": rendered by the rebuild
# (guidance.rebuild_pool_commands) because several properties decide one set of flags; "changed":
# the rebuild changes it on purpose; "derived": AKS sets it for the new pool; "not": not carried.
FLAG, RULED, CHANGED, DERIVED, NOT = "flag", "ruled", "changed", "derived", "not"


@dataclass(frozen=True)
class Carry:
    prop: str
    how: str
    flag: str = ""
    why: str = ""  # for CHANGED / DERIVED / NOT: why, and what to do
    render: Callable[[object, str], list[str]] | None = field(default=None, compare=False, repr=False)
    file: str = ""  # the flag reads a file: its name pattern ({pool} = the new pool's name)
    default: object = None  # what AKS sets when the property is not sent: a pool on it loses nothing


def _q(value) -> str:
    return shlex.quote(str(value))


def _value(flag: str):
    return lambda v, _pool: [flag, _q(_num(v))]


def _num(v):
    return int(v) if isinstance(v, float) and v.is_integer() else v


def _switch(flag: str):
    return lambda v, _pool: [flag] if v is True or str(v).lower() == "true" else []


def _words(flag: str, each: Callable = str):
    def render(v, _pool):
        items = [each(x) for x in (v or []) if x not in (None, "")]
        return [flag, *(_q(x) for x in items)] if items else []
    return render


def _pairs(flag: str):
    def render(v, _pool):
        items = sorted((v or {}).items())
        return [flag, *(_q(f"{k}={'' if val is None else val}") for k, val in items)] if items else []
    return render


def _port_range(p: Mapping) -> str:
    start, end, proto = p.get("portStart"), p.get("portEnd"), str(p.get("protocol") or "TCP").lower()
    return f"{start}/{proto}" if end in (None, start) else f"{start}-{end}/{proto}"


def _ip_tag(t: Mapping) -> str:
    return f"{t.get('ipTagType')}={t.get('tag')}"


def _json_file(flag: str, name: str):
    def render(v, pool):
        return [flag, _q(name.format(pool=pool))]
    return render


def _dranet(v, _pool):
    return ["--enable-managed-dranet"] if str((v or {}).get("mode", "")).lower() == "managed" else []


def _motd(v, pool):
    return ["--message-of-the-day", _q(f"motd-{pool}.txt")]


def _taints(v, _pool):
    taints = [t for t in (v or []) if t and not str(t).startswith(SPOT_TAINT)]
    return ["--node-taints", _q(",".join(taints))] if taints else []


def _labels(v, _pool):
    labels = {k: val for k, val in (v or {}).items() if not str(k).startswith(RESERVED_LABEL_PREFIXES)}
    return _pairs("--labels")(labels, _pool)


RESERVED_LABEL_PREFIXES = ("kubernetes.azure.com/", "kubernetes.io/", "k8s.io/")
SPOT_TAINT = "kubernetes.azure.com/scalesetpriority"
_NO_FLAG = "az aks nodepool add (azure-cli 2.91) has no flag for it"

_ENTRIES = (
    # -- changed on purpose by the rebuild
    Carry("vmSize", CHANGED, "--node-vm-size", "the point of the rebuild: the replacement size"),
    Carry("orchestratorVersion", CHANGED, "--kubernetes-version",
          "the new pool gets the control plane's current version (AKS refuses new pools on versions out of support)"),
    Carry("osSKU", CHANGED, "--os-sku", "kept, or moved to the OS SKU AKS supports on the cluster's version "
                                        "(Azure Linux 2 -> AzureLinux3, Windows by version)"),
    Carry("nodeImageVersion", CHANGED, "", "the new pool gets the newest node image of its OS SKU and generation "
                                           "(that is what moves it to Gen2)"),
    # -- decided together by the rebuild (guidance.rebuild_pool_commands)
    Carry("count", RULED, "--node-count"),
    Carry("enableAutoScaling", RULED, "--enable-cluster-autoscaler"),
    Carry("minCount", RULED, "--min-count"),
    Carry("maxCount", RULED, "--max-count"),
    Carry("osType", RULED, "--os-type"),
    Carry("mode", RULED, "--mode"),
    Carry("scaleSetPriority", RULED, "--priority"),
    Carry("scaleSetEvictionPolicy", RULED, "--eviction-policy"),
    Carry("spotMaxPrice", RULED, "--spot-max-price"),
    Carry("type", RULED, "--vm-set-type"),
    # -- carried flag for flag
    Carry("availabilityZones", FLAG, "--zones", render=_words("--zones")),
    Carry("nodeLabels", FLAG, "--labels", render=_labels),
    Carry("nodeTaints", FLAG, "--node-taints", render=_taints),
    Carry("tags", FLAG, "--tags", render=_pairs("--tags")),
    Carry("maxPods", FLAG, "--max-pods", render=_value("--max-pods")),
    Carry("osDiskSizeGB", FLAG, "--node-osdisk-size", render=_value("--node-osdisk-size")),
    Carry("osDiskType", FLAG, "--node-osdisk-type", render=_value("--node-osdisk-type")),
    Carry("vnetSubnetID", FLAG, "--vnet-subnet-id", render=_value("--vnet-subnet-id")),
    Carry("podSubnetID", FLAG, "--pod-subnet-id", render=_value("--pod-subnet-id")),
    Carry("podIPAllocationMode", FLAG, "--pod-ip-allocation-mode", render=_value("--pod-ip-allocation-mode")),
    Carry("scaleDownMode", FLAG, "--scale-down-mode", render=_value("--scale-down-mode")),
    Carry("workloadRuntime", FLAG, "--workload-runtime", render=_value("--workload-runtime")),
    Carry("enableNodePublicIP", FLAG, "--enable-node-public-ip",
          render=_switch("--enable-node-public-ip"), default=False),
    Carry("nodePublicIPPrefixID", FLAG, "--node-public-ip-prefix-id", render=_value("--node-public-ip-prefix-id")),
    Carry("proximityPlacementGroupID", FLAG, "--ppg", render=_value("--ppg")),
    Carry("capacityReservationGroupID", FLAG, "--crg-id", render=_value("--crg-id")),
    Carry("hostGroupID", FLAG, "--host-group-id", render=_value("--host-group-id")),
    Carry("enableEncryptionAtHost", FLAG, "--enable-encryption-at-host",
          render=_switch("--enable-encryption-at-host"), default=False),
    Carry("enableUltraSSD", FLAG, "--enable-ultra-ssd", render=_switch("--enable-ultra-ssd"), default=False),
    Carry("enableFIPS", FLAG, "--enable-fips-image", render=_switch("--enable-fips-image"), default=False),
    Carry("gpuInstanceProfile", FLAG, "--gpu-instance-profile", render=_value("--gpu-instance-profile")),
    Carry("kubeletConfig", FLAG, "--kubelet-config", render=_json_file("--kubelet-config", "kubelet-config-{pool}.json"),
          file="kubelet-config-{pool}.json"),
    Carry("linuxOSConfig", FLAG, "--linux-os-config",
          render=_json_file("--linux-os-config", "linux-os-config-{pool}.json"), file="linux-os-config-{pool}.json"),
    Carry("localDNSProfile", FLAG, "--localdns-config",
          render=_json_file("--localdns-config", "localdns-config-{pool}.json"), file="localdns-config-{pool}.json"),
    Carry("messageOfTheDay", FLAG, "--message-of-the-day", render=_motd, file="motd-{pool}.txt"),
    Carry("upgradeSettings.maxSurge", FLAG, "--max-surge", render=_value("--max-surge")),
    Carry("upgradeSettings.maxUnavailable", FLAG, "--max-unavailable", render=_value("--max-unavailable")),
    Carry("upgradeSettings.drainTimeoutInMinutes", FLAG, "--drain-timeout", render=_value("--drain-timeout")),
    Carry("upgradeSettings.nodeSoakDurationInMinutes", FLAG, "--node-soak-duration",
          render=_value("--node-soak-duration")),
    Carry("upgradeSettings.undrainableNodeBehavior", FLAG, "--undrainable-node-behavior",
          render=_value("--undrainable-node-behavior")),
    Carry("networkProfile.allowedHostPorts", FLAG, "--allowed-host-ports",
          render=_words("--allowed-host-ports", _port_range)),
    Carry("networkProfile.applicationSecurityGroups", FLAG, "--asg-ids", render=_words("--asg-ids")),
    Carry("networkProfile.nodePublicIPTags", FLAG, "--node-public-ip-tags",
          render=_words("--node-public-ip-tags", _ip_tag)),
    Carry("networkProfile.dranet", FLAG, "--enable-managed-dranet", render=_dranet),
    Carry("windowsProfile.disableOutboundNat", FLAG, "--disable-windows-outbound-nat",
          render=_switch("--disable-windows-outbound-nat"), default=False),
    Carry("securityProfile.enableVTPM", FLAG, "--enable-vtpm", render=_switch("--enable-vtpm"), default=False),
    Carry("securityProfile.enableSecureBoot", FLAG, "--enable-secure-boot",
          render=_switch("--enable-secure-boot"), default=False),
    Carry("gpuProfile.driver", FLAG, "--gpu-driver", render=_value("--gpu-driver")),
    Carry("gatewayProfile.publicIPPrefixSize", FLAG, "--gateway-prefix-size", render=_value("--gateway-prefix-size")),
    Carry("artifactStreamingProfile.enabled", FLAG, "--enable-artifact-streaming",
          render=_switch("--enable-artifact-streaming"), default=False),
    # -- set by AKS for the new pool
    Carry("powerState.code", DERIVED, "", "the new pool starts Running; stop it afterwards "
                                          "(az aks nodepool stop) if the old one was stopped on purpose"),
    Carry("virtualMachineNodesStatus", DERIVED, "", "AKS reports it; VirtualMachines pools are changed in place, "
                                                    "not rebuilt"),
    Carry("status", DERIVED, "", "AKS reports it (provisioning errors)"),
    Carry("virtualMachinesProfile.scale", DERIVED, "", "VirtualMachines pools are changed in place "
                                                       "(az aks nodepool manual-scale), not rebuilt"),
    # -- not carried: why, and what to do
    Carry("kubeletDiskType", NOT, "", default="OS",
          why=f"{_NO_FLAG}; the new pool gets the default (OS). Set kubeletDiskType Temporary through an "
              "ARM/Bicep agentPools deployment instead of the CLI"),
    Carry("securityProfile.sshAccess", NOT, "", default="LocalUser",
          why=f"{_NO_FLAG}; set it afterwards with az aks nodepool update --ssh-access (aks-preview extension)"),
    Carry("creationData.sourceResourceId", NOT, "--snapshot-id",
          "a node pool snapshot pins the old pool's node image and generation; the new pool takes the newest "
          "image. Take a new snapshot of the new pool (az aks nodepool snapshot create) to pin it again"),
)

TABLE: dict[str, Carry] = {c.prop: c for c in _ENTRIES}
_ORDER = {prop: i for i, prop in enumerate(TABLE)}  # flags come out in the table's order
# Objects whose fields the table lists one by one ("upgradeSettings" -> its fields).
OBJECTS = tuple(sorted({p.split(".", 1)[0] for p in TABLE if "." in p}))
# Properties the API reports but nobody writes: read without a word.
READ_ONLY = frozenset({"name", "eTag", "currentOrchestratorVersion", "provisioningState", "id", "type_",
                       "securityProfile.securityType"})
_CANON = {p.lower(): p for p in TABLE} | {o.lower(): o for o in OBJECTS} | {p.lower(): p for p in READ_ONLY}


def canonical(name: str) -> str | None:
    return _CANON.get(str(name).lower())


_OBJECT_SET = frozenset(OBJECTS)
# Per key as a profile spells it (any case): the table's name and how read_properties treats it,
# so a key seen on the previous 60,000 pools costs one lookup. Bounded: odd inputs stop adding.
_SKIP, _OBJECT, _VALUE = 0, 1, 2
_KEY_CACHE: dict[str, tuple[str | None, int]] = {}
_KEY_CACHE_MAX = 4096


def _key_info(key) -> tuple[str | None, int]:
    name = canonical(key)
    info = (name, _SKIP if name is None or name in READ_ONLY else _OBJECT if name in _OBJECT_SET else _VALUE)
    if type(key) is str and len(_KEY_CACHE) < _KEY_CACHE_MAX:
        _KEY_CACHE[key] = info
    return info


_SUB_CACHE: dict[tuple[str, str], tuple[str | None, int]] = {}


def _sub_info(name: str, sub) -> tuple[str | None, int]:
    full = canonical(f"{name}.{sub}")
    info = (full, _SKIP if full is None or full in READ_ONLY else _VALUE)
    if type(sub) is str and len(_SUB_CACHE) < _KEY_CACHE_MAX:
        _SUB_CACHE[(name, sub)] = info
    return info


def read_properties(profile: Mapping) -> tuple[dict[str, object], tuple[str, ...]]:
    """The writable properties `profile` (one agentPoolProfiles[] entry or an agentPool's
    properties) carries, keyed by the table's names (fields of objects as "object.field"), null and
    empty values left out; and the keys this table does not know (so they are named, not lost)."""
    out: dict[str, object] = {}
    unknown: list[str] = []
    for key, value in profile.items():
        name, how = _KEY_CACHE.get(key) or _key_info(key)
        if name is None:
            unknown.append(str(key))
            continue
        if how == _SKIP or value is None:
            continue
        if how == _OBJECT:
            if type(value) is not dict and not isinstance(value, Mapping):
                unknown.append(str(key))
                continue
            for sub, sub_value in value.items():
                full, sub_how = _SUB_CACHE.get((name, sub)) or _sub_info(name, sub)
                if full is None:
                    unknown.append(f"{name}.{sub}")
                elif sub_how != _SKIP:
                    _keep(out, full, sub_value)
            continue
        # _keep inlined for the common values (hot: a dozen a pool)
        kind = type(value)
        if kind is str:
            if value:
                out[name] = sys.intern(value) if len(value) <= _INTERN_MAX else value
        elif kind is int or kind is bool or kind is float:
            out[name] = value
        elif not _empty(value):
            out[name] = _kept(value)
    return out, tuple(unknown)


def _keep(out: dict[str, object], name: str, value) -> None:
    """out[name] = _kept(value), unless value is empty."""
    if not _empty(value):
        out[name] = _kept(value)


def _kept(value):
    """A property value as the pool keeps it: short text (sizes, modes, versions, zones), which
    thousands of pools repeat, held once (json.loads makes a new string per occurrence: at 180,000
    pools that was about 70 MiB)."""
    kind = type(value)
    if kind is str:
        return sys.intern(value) if len(value) <= _INTERN_MAX else value
    if kind is list and all(type(v) is str for v in value):
        return [sys.intern(v) if len(v) <= _INTERN_MAX else v for v in value]
    if kind is dict and all(type(k) is str and type(v) is str for k, v in value.items()):  # labels, tags
        return {(sys.intern(k) if len(k) <= _INTERN_MAX else k): (sys.intern(v) if len(v) <= _INTERN_MAX else v)
                for k, v in value.items()}
    return value


_INTERN_MAX = 64


def is_default(carry: Carry, value) -> bool:
    """The value is what AKS sets when the property is not sent."""
    if carry.default is None:
        return False
    if isinstance(carry.default, bool):
        return value is carry.default or str(value).lower() == str(carry.default).lower()
    return str(value).lower() == str(carry.default).lower()


def _empty(value) -> bool:
    kind = type(value)
    if kind is str or kind is list or kind is dict:  # JSON's own types, without building [] and {} to compare
        return not value
    if kind is bool or kind is int or kind is float:  # a number is never empty: 0 is a value
        return False
    return value is None or value == "" or value == [] or value == {}


@dataclass(frozen=True)
class Carried:
    args: tuple[str, ...]  # flags for `az aks nodepool add`, quoted
    files: tuple[tuple[str, str], ...] = ()  # (file name, content) the flags read
    not_carried: tuple[tuple[str, str], ...] = ()  # (property, why and what to do)
    unknown: tuple[str, ...] = ()  # keys of the profile this table does not know

    def file_commands(self) -> tuple[str, ...]:
        """`printf` lines that write the files, to paste before the add command. The message of the
        day is written byte for byte (`az` base64-encodes that file as it is, so an added newline
        would change it); the JSON files end with a newline, which JSON ignores."""
        motd = TABLE["messageOfTheDay"].file.split("{", 1)[0]
        return tuple(f"printf '{'%s' if name.startswith(motd) else '%s' + chr(92) + 'n'}' {_q(content)} > {_q(name)}"
                     for name, content in self.files)


@functools.lru_cache(maxsize=64)
def _candidates(skip: frozenset[str]) -> dict[str, int]:
    """Properties add_args renders or names (FLAG, NOT), but for `skip`, with their place in the table."""
    return {prop: i for prop, i in _ORDER.items() if prop not in skip and TABLE[prop].how in (FLAG, NOT)}


# (property, type, value) -> the flags a scalar value renders to (() for AKS's default): the same for
# every pool; bounded (emptied when full: values unique to a pool, like subnet ids, pass through).
_RENDERED: dict[tuple, tuple[str, ...]] = {}
_RENDERED_MAX = 4096


def add_args(properties: Mapping[str, object], pool_name: str, *, skip: frozenset[str] = frozenset(),
             unknown: tuple[str, ...] = ()) -> Carried:
    """The FLAG properties as `az aks nodepool add` flags, in the table's order. `skip`: properties
    the caller renders itself or drops on purpose. Values that cannot be rendered (a base64 message
    of the day that is not base64) are not carried, with the reason."""
    args: list[str] = []
    files: list[tuple[str, str]] = []
    not_carried: list[tuple[str, str]] = []
    order = _candidates(skip)
    rendered = _RENDERED
    for prop in sorted((p for p in properties if p in order), key=order.__getitem__):
        carry = TABLE[prop]
        value = properties[prop]
        kind = type(value)
        if (kind is str or kind is int or kind is bool or kind is float) and carry.how == FLAG and not carry.file:
            # A scalar flag renders the same for every pool that has the value (sizes, modes, counts).
            key = (prop, kind, value)
            flags = rendered.get(key)
            if flags is None:
                if len(rendered) >= _RENDERED_MAX:
                    rendered.clear()
                flags = rendered[key] = () if carry.default is not None and is_default(carry, value) else tuple(
                    carry.render(value, pool_name))
            args.extend(flags)
            continue
        if carry.default is not None and is_default(carry, value):
            continue  # AKS gives the new pool the same value when nothing is sent
        if carry.how == NOT:
            not_carried.append((prop, carry.why))
            continue
        if carry.how != FLAG:
            continue
        if carry.file:
            name = carry.file.format(pool=pool_name)
            if prop == "messageOfTheDay":
                try:
                    content = base64.b64decode(str(value), validate=True).decode("utf-8")
                except (binascii.Error, UnicodeDecodeError):
                    not_carried.append((prop, "not base64 text as the API stores it: set it by hand with "
                                              "--message-of-the-day FILE"))
                    continue
                if not content.isascii():
                    # azure-cli reads the file and encodes it as ASCII (acs agentpool_decorator
                    # get_message_of_the_day: bytes(text, 'ascii')), so non-ASCII text fails there
                    not_carried.append((prop, "holds non-ASCII text, which `az aks nodepool add "
                                              "--message-of-the-day` cannot send (it encodes the file as ASCII): "
                                              "set messageOfTheDay (base64) on the new pool with an ARM/Bicep "
                                              "deployment or `az rest`"))
                    continue
            else:
                content = json.dumps(value, sort_keys=True, separators=(",", ":"))
            files.append((name, content))
        args.extend(carry.render(value, pool_name))
    return Carried(tuple(args), tuple(files), tuple(not_carried), tuple(unknown))


def rows() -> list[tuple[str, str, str]]:
    """(property, flag or "-", how / why) for the README table."""
    out = []
    for c in _ENTRIES:
        if c.how in (FLAG, RULED):
            out.append((c.prop, c.flag, "carried" + (" (a file the command writes first)" if c.file else "")))
        elif c.how == CHANGED:
            out.append((c.prop, c.flag or "-", f"changed: {c.why}"))
        else:
            out.append((c.prop, "-", ("set by AKS: " if c.how == DERIVED else "not carried: ") + c.why))
    return out
