"""Azure VM size names: parse "Standard_D4s_v3" into parts; match series as announcements write them.

Pure: no I/O. CONTRACT (other modules rely on these names; implementation owned by the sizes work):

    parse_size(name: str) -> SizeName            raises SizeNameError naming the input
    parse_series(text: str) -> Series            "Dsv2", "DSv2-series", "D-series", "B series",
                                                 "Basic A", "Av1", "H_Promo", "cc_v5", "NVv3" ...
    Series.matches(size: SizeName | str) -> bool exactly the sizes that series covers
    covers(series_text: str, vm_size: str) -> bool   convenience: parse_series(...).matches(...)
    series_name(size: SizeName | str) -> str     canonical series of a size: "DSv2", "Dsv5",
                                                 "Dv2", "B", "Bsv2", "NCadsA100v4", "HBv2" ...

Also provided:

    split_series(text: str) -> list[str]         "F, Fs, Fsv2 and B series" -> ["F", "Fs", "Fsv2", "B"]
    parse_series_list(text: str) -> list[Series] split_series + parse_series (errors name the part)
    FAMILIES                                     the family letters parse_size accepts

Size names
----------
Azure writes a size as ``<Tier>_<Family><vCPUs>[-<active vCPUs>]<features>[_<qualifier>...][_v<N>][_Promo]``:
``Standard_DS11-1_v2``, ``Basic_A2``, ``Standard_NC24ads_A100_v4``, ``Standard_DC4as_cc_v5``,
``Standard_M416s_8_v2``, ``Standard_D2_v2_Promo``. Matching is case-insensitive. The family is the
upper-case letters before the number and must be a known family (``FAMILIES``), so that strings
such as ``Standard_LRS`` or ``Standard_V2`` (storage and load-balancer SKUs) are refused instead of
being read as sizes. The number is the vCPU count for current sizes; for legacy names (A, D, DS, G,
GS, H v1) it is just the size number (``Standard_D11`` has 2 vCPUs).

Series names (``series_name``)
------------------------------
A size's canonical series is ``<family><significant features><qualifiers>v<N>`` with ``v1``
omitted, e.g. ``Standard_DS3_v2`` -> ``DSv2``, ``Standard_D4s_v5`` -> ``Dsv5``,
``Standard_NC24ads_A100_v4`` -> ``NCadsA100v4``, ``Standard_DC4as_cc_v5`` -> ``DCas_cc_v5``
(lower-case qualifiers, or more than one qualifier, are joined with ``_``). Feature letters that
only mark a variant inside a series are dropped: ``i`` (isolated) and ``r`` (RDMA) everywhere;
all of them for H/HB/HC/HX/NP, A v1, B v1, M v1, and N-series (NC/ND/NV/NG) without an accelerator
up to v4 (``Standard_NV12s_v3`` -> ``NVv3``, ``Standard_NC24rs_v3`` -> ``NCv3``); ``t``/``l`` for
B v2 (``Standard_B2ts_v2`` -> ``Bsv2``); ``m``/``l``/``t``/``x`` for M (``Standard_M208ms_v2`` ->
``Mv2``, ``Standard_M32ms_v2`` -> ``Msv2``). DCsv2 includes ``Standard_DC8_v2``. Constrained
(``-1``), promo and tier (Basic/Standard) never change the series. Numeric qualifiers (the M-series
memory multiplier in ``Standard_M416s_8_v2``) are not part of the series.

Series text (``parse_series``)
------------------------------
Accepts the forms announcements and docs use: ``Dsv2``, ``DSv2-series``, ``D-series``, ``Ls``,
``B series``, ``B-series (V1)``, ``Bs``, ``NVv3``, ``Basic A``, ``Av1``, ``H_Promo``, ``cc_v5``,
``HBv2``, ``HC``, ``NC A100 v4``, ``NCads_H100_v5``, ``NVadsA10_v5``, ``NCasT4_v3``,
``NCv3-NC24rs`` (one size of a series) and full size names (``Standard_M192ids_v2``: that size
only). A series without a version is v1. ``Ds``/``Dsv2``/``Gs`` mean the DS/GS families (the
legacy spelling); ``Dsv3`` and later mean D sizes with the ``s`` feature. A series that names an
accelerator but no features (``NC A100 v4``) covers every feature variant with that accelerator.
``cc_v5`` covers DCas/DCads/ECas/ECads ``_cc_v5``. Promo sizes belong to their series; ``H_Promo``
covers only the promo ones. Anything else raises SizeNameError naming the text: never a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from scanner.errors import SizeNameError

__all__ = [
    "FAMILIES",
    "Series",
    "SizeName",
    "covers",
    "parse_series",
    "parse_series_list",
    "parse_size",
    "series_name",
    "split_series",
]

# Family letters of Azure VM sizes, past and present. Extend when Azure adds a family.
FAMILIES = frozenset({
    "A", "B", "D", "DC", "DS", "E", "EC", "F", "FX", "G", "GS", "H", "HB", "HC", "HX",
    "L", "M", "NC", "NCC", "ND", "NG", "NP", "NV", "PB",
})
# GPU/FPGA families whose early generations name no accelerator in the size.
_N_FAMILIES = frozenset({"NC", "NCC", "ND", "NG", "NV"})
# Families whose feature letters never change the series (H16mr is H; HC44rs is HC).
_NO_FEATURE_FAMILIES = frozenset({"H", "HB", "HC", "HX", "NP", "PB"})
# Accelerator names, used only when a series text gives no case boundary ("NCA100v4", "nc a100").
_KNOWN_ACCELERATORS = (
    "RTXPRO6000BSE", "MI300X", "GB200", "GB300", "B200", "H100", "H200", "A100", "V100",
    "V620", "V710", "A10", "T4", "NDR",
)
# Lower-case qualifiers that may stand alone in a series text.
_LOWER_QUALIFIERS = frozenset({"cc", "xl"})

_SIZE_RE = re.compile(
    r"""^(?P<tier>standard|basic)_
        (?P<family>[a-z]{1,4}?)
        (?P<number>\d+)
        (?:-(?P<constrained>\d+))?
        (?P<features>[a-z]*)
        (?P<quals>(?:_(?!v\d+(?:_promo)?$)(?!promo$)[a-z0-9]+)*)
        (?:_v(?P<version>\d+))?
        (?:_(?P<promo>promo))?$""",
    re.IGNORECASE | re.VERBOSE,
)


def _canon_qualifier(token: str) -> str:
    if token.isdigit():
        return token
    if token.isalpha() and len(token) <= 2:
        return token.lower()
    return token.upper()


@dataclass(frozen=True)
class SizeName:
    """One parsed VM size name. Compare sizes with `.key` (case and promo-insensitive identity)."""

    raw: str
    tier: str  # "Standard" | "Basic"
    family: str  # "DS", "NC", "HB" (upper case)
    vcpus: int  # the number after the family (vCPUs for current sizes; a size number for legacy ones)
    constrained: int | None  # active vCPUs of a constrained size: Standard_DS11-1_v2 -> 1
    features: str  # lower-case feature letters: "ads", "s", "" ...
    qualifiers: tuple[str, ...]  # tokens between features and version: ("A100",), ("cc",), ("8",)
    version: int | None  # None when the name has no _vN suffix (a v1 size)
    promo: bool

    @property
    def accelerator(self) -> str:
        """Qualifier tokens joined with "_": "A100", "cc", "NDR_GB200"; "" when none."""
        return "_".join(self.qualifiers)

    @property
    def effective_version(self) -> int:
        return self.version or 1

    @property
    def name(self) -> str:
        """Canonical spelling: Standard_DS11-1_v2, Standard_NC24ads_A100_v4, Standard_H8_Promo."""
        out = f"{self.tier}_{self.family}{self.vcpus}"
        if self.constrained is not None:
            out += f"-{self.constrained}"
        out += self.features
        for q in self.qualifiers:
            out += "_" + q
        if self.version is not None:
            out += f"_v{self.version}"
        if self.promo:
            out += "_Promo"
        return out

    @property
    def key(self) -> tuple:
        """Identity of the size ignoring case and promo: a promo size is the same hardware."""
        return (self.tier, self.family, self.vcpus, self.constrained, self.features,
                tuple(q.lower() for q in self.qualifiers), self.effective_version)

    @property
    def series(self) -> str:
        return series_name(self)

    def __str__(self) -> str:
        return self.name


@lru_cache(maxsize=8192)
def parse_size(name: str) -> SizeName:
    """Parse a VM size name (case-insensitive). Raises SizeNameError naming the input."""
    if not isinstance(name, str):
        raise SizeNameError(f"VM size {name!r} is not a string")
    text = name.strip()
    m = _SIZE_RE.match(text)
    if not m:
        raise SizeNameError(
            f"VM size {name!r} is not an Azure VM size name "
            "(expected Tier_FamilyNumber[-active][features][_accelerator][_vN][_Promo], e.g. Standard_D4s_v5)"
        )
    family = m["family"].upper()
    if family not in FAMILIES:
        raise SizeNameError(f"VM size {name!r}: unknown size family {family!r}")
    quals = tuple(_canon_qualifier(q) for q in m["quals"].split("_") if q)
    version = int(m["version"]) if m["version"] is not None else None
    if version == 0:
        raise SizeNameError(f"VM size {name!r}: version v0 does not exist")
    return SizeName(
        raw=name,
        tier="Basic" if m["tier"].lower() == "basic" else "Standard",
        family=family,
        vcpus=int(m["number"]),
        constrained=int(m["constrained"]) if m["constrained"] is not None else None,
        features=m["features"].lower(),
        qualifiers=quals,
        version=version,
        promo=m["promo"] is not None,
    )


def _as_size(size: SizeName | str) -> SizeName:
    return size if isinstance(size, SizeName) else parse_size(size)


# --------------------------------------------------------------------------- series identity


def _strip(features: str, letters: str) -> str:
    return "".join(c for c in features if c not in letters)


def _significant_features(family: str, version: int, features: str, quals: tuple[str, ...],
                          vcpus: int | None = None) -> str:
    """The feature letters that tell one series of a family from another (see module docstring)."""
    accel = [q for q in quals if not q.isdigit()]
    f = _strip(features, "ir")
    if family in _NO_FEATURE_FAMILIES:
        return ""
    if family in ("A", "B") and version == 1:
        return ""
    if family in _N_FAMILIES and not accel and version <= 4:
        return ""
    if family == "B":
        return _strip(f, "tl")
    if family == "M":
        if version == 1:
            return ""
        f = _strip(f, "mltx")
        if version == 2 and "d" not in f and vcpus is not None and vcpus >= 208:
            return ""
        return f
    if family == "DC" and version == 2:
        return "s"
    if family == "NV":
        # NVadsA10_v5 / NVads_V710_v5 include their 'm' (more memory) sizes: Standard_NV36adms_A10_v5.
        return _strip(f, "m")
    return f


def _render(family: str, features: str, quals: tuple[str, ...], version: int) -> str:
    quals = tuple(q for q in quals if not q.isdigit())
    vtxt = f"v{version}" if version != 1 else ""
    if not quals:
        return family + features + vtxt
    if len(quals) == 1 and quals[0][0].isupper() and features:
        # One accelerator after feature letters: written together, "NCadsA100v4".
        return family + features + quals[0] + vtxt
    return family + features + "_" + "_".join(quals) + ("_" + vtxt if vtxt else "")


def series_name(size: SizeName | str) -> str:
    """Canonical series of a size ("DSv2", "Dsv5", "B", "Bsv2", "NCadsA100v4", "HBv2").

    Raises SizeNameError when `size` is not a VM size name.
    """
    s = _as_size(size)
    return _series_name_cached(s.family, s.features, s.qualifiers, s.effective_version, s.vcpus)


@lru_cache(maxsize=4096)
def _series_name_cached(family, features, quals, version, vcpus) -> str:
    sig = _significant_features(family, version, features, quals, vcpus)
    return _render(family, sig, quals, version)


# --------------------------------------------------------------------------- series values


@dataclass(frozen=True)
class _Pattern:
    families: frozenset[str]
    version: int
    features: str | None  # significant features; None = any
    qualifiers: tuple[str, ...]  # lower-case, non-numeric
    promo_only: bool = False
    size_key: tuple | None = None  # one exact size

    def matches(self, s: SizeName) -> bool:
        if self.size_key is not None:
            return s.key == self.size_key and (s.promo or not self.promo_only)
        if s.family not in self.families or s.effective_version != self.version:
            return False
        if self.promo_only and not s.promo:
            return False
        quals = tuple(q.lower() for q in s.qualifiers if not q.isdigit())
        if quals != self.qualifiers:
            return False
        if self.features is None:
            return True
        return _significant_features(s.family, self.version, s.features, s.qualifiers, s.vcpus) == self.features


@dataclass(frozen=True)
class Series:
    """A set of VM sizes as an announcement names it. `name` is canonical (equal names: same set)."""

    text: str
    name: str
    patterns: tuple[_Pattern, ...]

    def matches(self, size: SizeName | str) -> bool:
        """True when `size` belongs to this series. A string that is not a VM size is not in it."""
        if not isinstance(size, SizeName):
            try:
                size = parse_size(size)
            except SizeNameError:
                return False
        return any(p.matches(size) for p in self.patterns)

    def __str__(self) -> str:
        return self.name


def covers(series_text: str, vm_size: str) -> bool:
    """parse_series(series_text).matches(vm_size). Raises SizeNameError for unknown series text."""
    return parse_series(series_text).matches(vm_size)


_SUFFIX_WORDS = re.compile(
    r"[\s_-]+(?:series|family|sizes?|vms?|\(vms?\)|virtual\s+machines?|virtual\s+machine\s+sizes|skus?"
    # descriptive words Microsoft writes after a series name: "Msv2 Medium Memory", "Mv2 Very High Memory"
    r"|(?:(?:very\s+)?high|medium|large|small)\s+memory|(?:memory|storage|compute)[\s-]+optimi[sz]ed"
    r"|general[\s-]+purpose|gpu(?:[\s-]+accelerated)?)\s*$",
    re.IGNORECASE,
)
# Feature letters Azure uses in size names (a AMD, b block storage, c confidential, d local disk,
# e encryption, g, h, i isolated, l low memory, m memory, n network, p Arm, r RDMA, s premium
# storage, t tiny memory, x); a series text with any other letter ("Memory", "Medium") is not a series.
_FEATURE_LETTERS = frozenset("abcdeghilmnprstx")
_PROMO = re.compile(r"[\s_-]*promo\s*$", re.IGNORECASE)
_V1_PAREN = re.compile(r"\s*\(\s*v(\d{1,2})\s*\)\s*$", re.IGNORECASE)
_VERSION_TOKEN = re.compile(r"^[vV](\d{1,2})$")
_VERSION_SUFFIX = re.compile(r"(?<=[A-Za-z0-9])[vV](\d{1,2})$")
_ACCEL_SUFFIX = re.compile(r"(?<=[a-z])([A-Z][A-Z0-9]*\d[A-Z0-9]*)$")


def _is_qualifier(tok: str) -> bool:
    """An accelerator ("A100", "T4", "V710"), "cc"/"xl", or a known accelerator name ("NDR")."""
    if tok.lower() in _LOWER_QUALIFIERS or tok.upper() in _KNOWN_ACCELERATORS:
        return True
    return bool(re.fullmatch(r"[A-Za-z]+\d[A-Za-z0-9]*", tok))


def _fail(text: str, why: str) -> SizeNameError:
    return SizeNameError(f"series {text!r}: {why}")


def _features(text: str, letters: str) -> str:
    """Feature letters of a series text, checked: known letters, none repeated."""
    odd = sorted(set(letters) - _FEATURE_LETTERS)
    if odd:
        raise _fail(text, f"{letters!r} are not VM size feature letters ({', '.join(odd)} never are)")
    if len(set(letters)) != len(letters):
        raise _fail(text, f"{letters!r} repeats a feature letter")
    return letters


def _split_family(text: str, token: str) -> tuple[str, str]:
    """'NCads' -> ('NC', 'ads'); 'DSv'... ; all-one-case tokens use the longest known family prefix."""
    upper_run = re.match(r"^[A-Z]*", token).group(0)
    rest = token[len(upper_run):]
    if upper_run and upper_run in FAMILIES and (rest == "" or rest.islower()):
        return upper_run, _features(text, rest)
    # Longest known family that prefixes the token (case-insensitive); the rest are feature letters.
    for n in range(min(4, len(token)), 0, -1):
        fam = token[:n].upper()
        tail = token[n:]
        if fam in FAMILIES and (tail == "" or tail.isalpha()):
            # Mixed case must still read as FAMILY + lower-case features ("NCads", not "NcADS").
            if upper_run and len(upper_run) > n and not tail.isupper():
                continue
            return fam, _features(text, tail.lower())
    raise _fail(text, f"{token!r} does not start with a known VM size family ({', '.join(sorted(FAMILIES))})")


@lru_cache(maxsize=2048)
def parse_series(text: str) -> Series:
    """Parse a series as announcements write it. Raises SizeNameError naming the text."""
    if not isinstance(text, str) or not text.strip():
        raise SizeNameError(f"series {text!r}: empty")
    original = text
    t = " ".join(text.strip().split())

    # Full size names: exactly that size (and its promo variant).
    if re.match(r"^(standard|basic)_", t, re.IGNORECASE) and not re.fullmatch(r"basic_a", t, re.IGNORECASE):
        return _size_series(original, t)

    version_hint = None
    m = _V1_PAREN.search(t)
    if m:
        version_hint = int(m.group(1))
        t = t[: m.start()]
    promo_only = False
    for _ in range(5):  # trailing words come in any order: "HBv2-series virtual machines (VMs)"
        before = t
        if _PROMO.search(t):
            promo_only = True
            t = _PROMO.sub("", t)
        t = _SUFFIX_WORDS.sub("", t)
        m = _V1_PAREN.search(t)
        if m:
            version_hint = int(m.group(1))
            t = t[: m.start()]
        if t == before:
            break
    t = re.sub(r"^(?:azure|standard)\s+", "", t, flags=re.IGNORECASE).strip(" -_")
    if not t:
        raise _fail(original, "no series name in it")

    if _LIST_SPLIT.search(t):
        raise _fail(original, "names more than one series (use parse_series_list)")
    # Marketing names whose sizes do not carry the accelerator: "ND A100 v4" is Standard_ND96asr_v4
    # (the NDm A100 v4 sizes, Standard_ND96amsr_A100_v4, do carry it and are another series).
    t = _ALIASES.get(re.sub(r"[\s_-]", "", t).lower(), t)
    if re.fullmatch(r"basic[\s_-]*a", t, re.IGNORECASE):
        t = "A"
    # "NCv3-NC24rs": one size of a series.
    if "-" in t:
        left, _, right = t.partition("-")
        return _series_member(original, left.strip(), right.strip(), promo_only)
    # Bare size names with a version ("NC24rs_v3", "M192ids_v2"): that size.
    if re.match(r"^[A-Za-z]{1,4}\d+", t) and re.search(r"_v\d+$", t, re.IGNORECASE):
        return _size_series(original, "Standard_" + t)

    tokens = [tok for tok in re.split(r"[\s_]+", t) if tok]
    version: int | None = None
    quals: list[str] = []
    head = tokens[0]
    for tok in tokens[1:]:
        vm = _VERSION_TOKEN.match(tok)
        if vm:
            if version is not None:
                raise _fail(original, "more than one version")
            version = int(vm.group(1))
        elif version is None and _is_qualifier(tok):
            quals.append(_canon_qualifier(tok))
        else:
            raise _fail(original, f"unexpected {tok!r}")

    families: frozenset[str]
    if head.lower() in _LOWER_QUALIFIERS:
        # "cc_v5": the confidential-child sizes of the DC and EC families.
        if head.lower() != "cc":
            raise _fail(original, f"{head!r} names no family")
        quals.insert(0, "cc")
        families, features = frozenset({"DC", "EC"}), None
    else:
        vm = _VERSION_SUFFIX.search(head)
        if vm:
            if version is not None:
                raise _fail(original, "more than one version")
            version = int(vm.group(1))
            head = head[: vm.start()]
        am = _ACCEL_SUFFIX.search(head)
        if am and _try_family(head[: am.start()]):
            quals.insert(0, am.group(1))
            head = head[: am.start()]
        elif not head.isalpha():
            for acc in _KNOWN_ACCELERATORS:
                if head.upper().endswith(acc) and head[: -len(acc)].isalpha():
                    quals.insert(0, acc)
                    head = head[: -len(acc)]
                    break
        if not head.isalpha():
            raise _fail(original, f"{head!r} is not family and feature letters")
        family, features = _split_family(original, head)
        families = frozenset({family})

    if version is None:
        version = version_hint or 1
    elif version_hint is not None and version_hint != version:
        raise _fail(original, f"says both v{version} and (v{version_hint})")
    if version == 0:
        raise _fail(original, "version v0 does not exist")

    qual_key = tuple(q.lower() for q in quals if not q.isdigit())
    if len(families) == 1:
        family = next(iter(families))
        # Legacy spellings: "Ds"/"Dsv2" are the DS family, "Gs" is GS; "DSv3" is D + s.
        if family == "D" and features == "s" and version <= 2:
            family, features = "DS", ""
        elif family == "G" and features == "s" and version == 1:
            family, features = "GS", ""
        elif family == "DS" and version >= 3:
            family, features = "D", "s" + features
        families = frozenset({family})
        if features == "" and qual_key:
            features = None  # "NC A100 v4": every feature variant with that accelerator
        else:
            features = _significant_features(family, version, features, tuple(quals))
    pattern = _Pattern(families, version, features, qual_key, promo_only)
    return Series(original, _pattern_name(pattern, quals), (pattern,))


def _try_family(token: str) -> bool:
    try:
        _split_family(token, token)
        return True
    except SizeNameError:
        return False


def _pattern_name(p: _Pattern, quals: list[str]) -> str:
    quals_t = tuple(q for q in quals if not q.isdigit())
    if len(p.families) > 1:
        name = "_".join(quals_t) + f"_v{p.version}"
    else:
        family = next(iter(p.families))
        name = _render(family, p.features or "", quals_t, p.version)
    return name + ("_Promo" if p.promo_only else "")


def _size_series(original: str, size_text: str) -> Series:
    try:
        s = parse_size(size_text)
    except SizeNameError as exc:
        raise _fail(original, str(exc)) from None
    pattern = _Pattern(frozenset({s.family}), s.effective_version, None, (), s.promo, s.key)
    return Series(original, s.name, (pattern,))


def _series_member(original: str, left: str, right: str, promo_only: bool) -> Series:
    try:
        series = parse_series(left)
    except SizeNameError:
        raise _fail(original, f"{left!r} is not a series") from None
    if len(series.patterns) != 1 or series.patterns[0].size_key is not None:
        raise _fail(original, f"{left!r} is not a series")
    version = series.patterns[0].version
    size_text = right if re.match(r"^(standard|basic)_", right, re.IGNORECASE) else "Standard_" + right
    if not re.search(r"_v\d+(_promo)?$", size_text, re.IGNORECASE) and version != 1:
        size_text += f"_v{version}"
    try:
        s = parse_size(size_text)
    except SizeNameError:
        raise _fail(original, f"{right!r} is not a size of {left!r}") from None
    if not series.matches(s):
        raise _fail(original, f"{s.name} is not in the {series.name} series")
    pattern = _Pattern(frozenset({s.family}), s.effective_version, None, (), promo_only, s.key)
    return Series(original, s.name + ("_Promo" if promo_only and not s.promo else ""), (pattern,))


_ALIASES = {"nda100v4": "NDv4", "ndma100v4": "NDamsA100v4"}

_LIST_SPLIT = re.compile(r"\s*(?:,|/|;|\band\b|&|\bor\b)\s*", re.IGNORECASE)


def split_series(text: str) -> list[str]:
    """Split a list of series as announcements write it; a shared trailing word stays with each.

    "F, Fs, Fsv2, Lsv2, G, Gs, Av2, Amv2, and B series" -> ["F", "Fs", ..., "Amv2", "B"]
    "Av2/Amv2-series" -> ["Av2", "Amv2"];  "NVv3 and NVv4-series" -> ["NVv3", "NVv4"]
    """
    t = " ".join((text or "").split())
    parts = []
    for part in _LIST_SPLIT.split(t):
        # "Ds-series Dv2-series" (a list that lost its commas): each "-series" ends a name.
        parts.extend(re.split(r"(?<=-series)\s+(?=\S+-series\b)", part, flags=re.IGNORECASE))
    out = []
    for p in parts:
        p = re.sub(r"[\s-]*series$", "", p.strip(" -"), flags=re.IGNORECASE).strip(" -")
        if p:
            out.append(p)
    return out


def parse_series_list(text: str) -> list[Series]:
    """split_series + parse_series; raises SizeNameError naming the part it could not read."""
    parts = split_series(text)
    if not parts:
        raise SizeNameError(f"series list {text!r}: no series in it")
    out = []
    for part in parts:
        try:
            out.append(parse_series(part))
        except SizeNameError as exc:
            raise SizeNameError(f"series list {text!r}: {exc}") from None
    return out
