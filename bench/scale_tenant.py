"""A big synthetic tenant served by the fake ARM, fast enough to benchmark against. Bench-only.

    python bench/scale_tenant.py --subscriptions 1000 [--clusters-per-sub 10] [--vms-per-sub 20]

Builds the tenant, starts the fake ARM (tests/fakes/arm_server.FakeArm, same wire format: HTTPS,
managed identity endpoint, Resource Graph with $skipToken pages, SKUs with nextLink) and prints
one JSON line: the environment a client process needs. Then it reads commands on stdin, one a
line: `stats` prints the requests served since the last `stats` (by kind, as JSON) and `quit`
stops. The parent (bench_scale.py) runs the scanner and the naive peer in their own processes,
so the fake's CPU and memory are not counted as theirs.

The tenant: subscription j spreads its resources over three of five regions (REGIONS[j % 5],
REGIONS[(j+1) % 5], REGIONS[(j+2) % 5]); per subscription `clusters-per-sub` AKS clusters of
three pools (system + user scale-set pools, each with its AKS scale set, and a VirtualMachines
pool) and `vms-per-sub` standalone VMs. Every region offers the SKUs of samples/skus (the
sample tenant's size facts, about 60 VM sizes a region); one subscription in 50 has a
restriction of its own.

For speed, rows are serialized once (json.dumps per row, at build time) and Resource Graph pages
are joined from those bytes; answers are byte-for-byte what FakeArm would send for them. Besides
FakeArm's endpoints it serves what a naive script calls: managed clusters per subscription,
agent pools per cluster, virtual machines per subscription (ARM list shapes).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.arm_server import (  # noqa: E402
    ARG_PATH,
    FakeArm,
    RawJson,
    aks_scale_set_rows,
    cluster_row,
    sub_id,
    vm_row,
)

REGIONS = ("westeurope", "northeurope", "eastus", "eastus2", "uksouth")
SKU_SOURCE = {"westeurope": "westeurope", "northeurope": "northeurope", "eastus": "eastus",
              "eastus2": "eastus", "uksouth": "westeurope"}


def regions_of(j: int) -> tuple[str, str, str]:
    return REGIONS[j % 5], REGIONS[(j + 1) % 5], REGIONS[(j + 2) % 5]


def build_rows(subscriptions: int, clusters_per_sub: int, vms_per_sub: int):
    """Yields (type, subscription, row) in a deterministic order."""
    n = 0
    for j in range(subscriptions):
        sub = sub_id(j)
        regs = regions_of(j)
        for k in range(clusters_per_sub):
            c = cluster_row(sub, n, pools=3, region=regs[k % 3])
            n += 1
            yield "microsoft.containerservice/managedclusters", sub, c
            for ss in aks_scale_set_rows(c):
                yield "microsoft.compute/virtualmachinescalesets", sub, ss
        for k in range(vms_per_sub):
            yield "microsoft.compute/virtualmachines", sub, vm_row(sub, j * vms_per_sub + k, region=regs[k % 3])


def _kind(method: str, low: str) -> str:
    """What a request is, for the counts: every request the fake answers is counted once."""
    if low == "/msi/token":
        return "token"
    if low == ARG_PATH:
        return "arg"
    if low == "/subscriptions":
        return "subscriptions"
    for suffix, kind in (("/providers/microsoft.compute/skus", "skus"), ("/usages", "usages"),
                         ("/managedclusters", "clusters"), ("/agentpools", "agentpools"),
                         ("/providers/microsoft.compute/virtualmachines", "vms")):
        if low.endswith(suffix):
            return kind
    return f"other {method}"


class ScaleFake(FakeArm):
    """FakeArm over pre-serialized rows, plus the per-resource list endpoints a naive script uses."""

    def __init__(self, subscriptions: int, clusters_per_sub: int, vms_per_sub: int) -> None:
        super().__init__()
        self.sku_page_size = 1000  # Azure answers a region's SKU list in one page
        self.subscriptions_page_size = 1000
        self._raw: dict[str, dict[str, list[bytes]]] = {}  # type -> sub -> rows (sorted by id)
        self._clusters: dict[str, list[dict]] = {}  # sub -> cluster rows (for the naive endpoints)
        self._vms: dict[str, list[bytes]] = {}
        self.rows = 0
        for j in range(subscriptions):
            self.add_subscription(sub_id(j), name=f"sub-{j}", management_groups=("root",))
        for rtype, sub, row in build_rows(subscriptions, clusters_per_sub, vms_per_sub):
            raw = json.dumps(row, separators=(",", ":")).encode()
            self._raw.setdefault(rtype, {}).setdefault(sub, []).append(raw)
            self.rows += 1
            if rtype.endswith("managedclusters"):
                self._clusters.setdefault(sub, []).append(row)
            elif rtype.endswith("virtualmachines"):
                self._vms.setdefault(sub, []).append(raw)
        samples = ROOT / "samples" / "skus"
        for region, source in SKU_SOURCE.items():
            items = json.loads((samples / f"{source}.json").read_text())
            self.add_skus(region, items["value"] if isinstance(items, dict) else items)
        for j in range(0, subscriptions, 50):
            self.sub_restrictions[(sub_id(j), regions_of(j)[0], "standard_d4s_v5")] = [{
                "type": "Location", "values": [regions_of(j)[0]], "reasonCode": "NotAvailableForSubscription",
                "restrictionInfo": {"locations": [regions_of(j)[0]]}}]
        self._sku_pages: dict[str, bytes] = {}
        self._batch_rows: dict[str, list[bytes]] = {}
        self.counts: dict[str, int] = {}

    def count(self, kind: str) -> None:
        with self._lock:
            self.counts[kind] = self.counts.get(kind, 0) + 1

    def take_counts(self) -> dict[str, int]:
        with self._lock:
            out, self.counts = self.counts, {}
            self.log.clear()
            return out

    # ------------------------------------------------------------------ Resource Graph
    def _arg(self, body: dict):
        query = str(body.get("query") or "")
        m = re.search(r"where type =~ '([^']+)'", query)
        rtype = m.group(1).lower() if m else ""
        if rtype not in self._raw:
            return super()._arg(body)  # resourcecontainers: the visibility query (small)
        subs = sorted(str(s).lower() for s in (body.get("subscriptions") or []))
        options = body.get("options") or {}
        top = min(int(options.get("$top") or self.default_top), self.max_top)
        qkey = hashlib.sha256((query + "|" + ",".join(subs)).encode()).hexdigest()[:16]
        with self._lock:
            rows = self._batch_rows.get(qkey)
            if rows is None:
                by_sub = self._raw[rtype]
                rows = self._batch_rows[qkey] = [r for s in subs for r in by_sub.get(s, ())]
        offset = 0
        token = options.get("$skipToken")
        if token:
            decoded = json.loads(base64.b64decode(token))
            offset = int(decoded["o"])
            if decoded["q"] != qkey:
                return 400, {}, {"error": {"code": "BadRequest", "message": "Invalid $skipToken."}}
        page = rows[offset:offset + top]
        head = {"totalRecords": len(rows), "count": len(page), "facets": [], "resultTruncated": "false"}
        if offset + top < len(rows):
            head["$skipToken"] = base64.b64encode(json.dumps({"o": offset + top, "q": qkey}).encode()).decode()
        raw = json.dumps(head)[:-1].encode() + b', "data": [' + b",".join(page) + b"]}"
        return 200, {"x-ms-user-quota-remaining": "14", "x-ms-user-quota-resets-after": "00:00:05"}, RawJson(raw)

    # ------------------------------------------------------------------ SKUs
    def _skus(self, sub_id_: str, query: dict):
        flt = query.get("$filter", "")
        m = re.fullmatch(r"\s*location\s+eq\s+'([^']+)'\s*", flt)
        loc = m.group(1).lower() if m else ""
        if sub_id_ not in self.subscriptions or not loc or any(k[0] == sub_id_ for k in self.sub_restrictions):
            return super()._skus(sub_id_, query)
        with self._lock:
            raw = self._sku_pages.get(loc)
        if raw is None:
            status, headers, doc = super()._skus(sub_id_, query)
            raw = json.dumps(doc).encode()
            with self._lock:
                self._sku_pages[loc] = raw
        return 200, {}, RawJson(raw)

    # ------------------------------------------------------------------ what a naive script calls
    def handle(self, method, path, query, headers, body):
        low = path.lower().rstrip("/")
        self.count(_kind(method, low))
        m = re.fullmatch(r"/subscriptions/([^/]+)/providers/microsoft\.containerservice/managedclusters", low)
        if method == "GET" and m and headers.get("authorization") == f"Bearer {self.token}":
            return 200, {}, RawJson(b'{"value": [' + b",".join(
                json.dumps(c, separators=(",", ":")).encode() for c in self._clusters.get(m.group(1), [])) + b"]}")
        m = re.fullmatch(r"/subscriptions/([^/]+)/resourcegroups/([^/]+)/providers/microsoft\.containerservice/"
                         r"managedclusters/([^/]+)/agentpools", low)
        if method == "GET" and m and headers.get("authorization") == f"Bearer {self.token}":
            cluster = next((c for c in self._clusters.get(m.group(1), []) if c["name"].lower() == m.group(3)), None)
            pools = [] if cluster is None else [
                {"id": f"{cluster['id']}/agentPools/{p['name']}", "name": p["name"],
                 "type": "Microsoft.ContainerService/managedClusters/agentPools",
                 "properties": {k: v for k, v in p.items() if k != "name"}}
                for p in cluster["properties"]["agentPoolProfiles"]]
            return 200, {}, {"value": pools}
        m = re.fullmatch(r"/subscriptions/([^/]+)/providers/microsoft\.compute/virtualmachines", low)
        if method == "GET" and m and headers.get("authorization") == f"Bearer {self.token}":
            return 200, {}, RawJson(b'{"value": [' + b",".join(self._vms.get(m.group(1), [])) + b"]}")
        return super().handle(method, path, query, headers, body)


def main() -> int:
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--subscriptions", type=int, default=1000)
    ap.add_argument("--clusters-per-sub", type=int, default=10)
    ap.add_argument("--vms-per-sub", type=int, default=20)
    args = ap.parse_args()
    fake = ScaleFake(args.subscriptions, args.clusters_per_sub, args.vms_per_sub)
    with tempfile.TemporaryDirectory() as tmp, fake.running(tmp) as env:
        print(json.dumps({"env": env, "rows": fake.rows}), flush=True)
        for line in sys.stdin:
            cmd = line.strip()
            if cmd == "stats":
                print(json.dumps(fake.take_counts()), flush=True)
            elif cmd == "quit":
                break
    return 0


if __name__ == "__main__":
    sys.exit(main())
