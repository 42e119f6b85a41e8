"""Inventory of a synthetic tenant (1,000 subscriptions, 10,000 AKS clusters) through the fake ARM.

Runs the production path unchanged (DefaultAzureCredential -> fake managed identity, GET
/subscriptions, ResourceGraphClient over HTTPS on 127.0.0.1) and prints request counts, pages and
wall time, then the same for to_resources alone (the pure parse). No internet; bounded in size.
The fake runs in the same process (same GIL), so wall times are an upper bound.

    python bench/bench_inventory.py [--subscriptions 1000] [--clusters 10000] [--vms 5000] [--memory]
    python bench/bench_inventory.py --parse-only [--tenant 1000:20:40] [--repeat 3]

--parse-only times the parse alone, as a live scan does it: the bench tenant of bench/scale_tenant.py
(SUBS:CLUSTERS-PER-SUB:VMS-PER-SUB; 1000:20:40 = 100k resources, 60k node pools) in Resource Graph
pages of 1000 rows in the queries' order, each page decoded from JSON (not timed) and folded into
the model (timed, CPU seconds: the machine is shared) with the cyclic GC paused as the scan pauses
it for the stage (service.paused_gc; --gc keeps it on); prints the best of --repeat runs in rows/s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner import bootstrap  # noqa: E402
from scanner.config import Settings, parse_scope  # noqa: E402
from scanner.sources.resource_graph import collect_inventory, to_resources  # noqa: E402
from tests.fakes.arm_server import FakeArm, synthetic_tenant  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--subscriptions", type=int, default=1000)
    ap.add_argument("--clusters", type=int, default=10000)
    ap.add_argument("--vms", type=int, default=5000)
    ap.add_argument("--pools", type=int, default=3)
    ap.add_argument("--memory", action="store_true", help="also trace peak memory of to_resources (slow)")
    ap.add_argument("--parse-only", action="store_true", help="time the parse of live pages alone (no fake ARM)")
    ap.add_argument("--tenant", default="1000:20:40", help="with --parse-only: SUBS:CLUSTERS-PER-SUB:VMS-PER-SUB")
    ap.add_argument("--repeat", type=int, default=3, help="with --parse-only: runs (the best is printed)")
    ap.add_argument("--gc", action="store_true", help="with --parse-only: keep the cyclic GC on")
    args = ap.parse_args()
    if args.parse_only:
        return parse_only(args.tenant, args.repeat, args.gc)
    if args.clusters > 50000 or args.subscriptions > 5000 or args.vms > 50000:
        ap.error("bounded benchmark: at most 5000 subscriptions, 50000 clusters, 50000 VMs")

    fake = FakeArm()
    t0 = time.perf_counter()
    rows = synthetic_tenant(fake, args.subscriptions, args.clusters, vms=args.vms, pools=args.pools)
    build_s = time.perf_counter() - t0
    print(f"tenant: {args.subscriptions} subscriptions, {args.clusters} clusters x {args.pools} pools, "
          f"{args.vms} VMs, {len(rows)} ARG rows (built in {build_s:.1f}s)")

    with tempfile.TemporaryDirectory() as tmp, fake.running(tmp) as env:
        bootstrap.reset()
        settings = Settings.from_env(env)
        t0 = time.perf_counter()
        inv = collect_inventory(settings, parse_scope("tenant"))
        wall = time.perf_counter() - t0
        bootstrap.reset()

    arg = fake.arg_requests
    pools = sum(len(c.pools) for c in inv.clusters)
    by_path: dict[str, int] = {}
    for r in fake.log:
        key = "ARG POST" if r in arg else f"{r.method} {r.path.split('?')[0]}"
        by_path[key] = by_path.get(key, 0) + 1
    print(f"collect_inventory: {wall:.2f}s wall, {inv.requests} ARM requests counted by the client")
    print(f"  fake saw: {len(fake.log)} requests " + ", ".join(f"{k}={v}" for k, v in sorted(by_path.items())))
    print(f"  ARG pages: {len(arg)} (max rows/page {max(r.body['options']['$top'] for r in arg)}, "
          f"max subscriptions/request {max(len(r.body.get('subscriptions') or []) for r in arg)})")
    print(f"  result: {len(inv.clusters)} clusters, {pools} node pools, {len(inv.vms)} VMs, "
          f"{len(inv.scale_sets)} standalone scale sets, {len(inv.subscriptions_seen)} subscriptions seen, "
          f"{len(inv.errors)} errors")
    assert len(inv.clusters) == args.clusters and len(inv.vms) == args.vms and not inv.errors

    t0 = time.perf_counter()
    again = to_resources(rows)
    parse_s = time.perf_counter() - t0
    print(f"to_resources alone: {parse_s:.2f}s for {len(rows)} rows ({len(rows) / parse_s:,.0f} rows/s)")
    if args.memory:
        tracemalloc.start()
        to_resources(rows)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        print(f"  peak {peak / 1e6:.0f} MB traced while parsing")
    assert sorted(again.clusters, key=lambda c: c.id) == sorted(inv.clusters, key=lambda c: c.id)
    return 0


def parse_only(tenant: str, repeat: int, keep_gc: bool = False) -> int:
    """Resource Graph pages of the bench tenant folded into the model (_Fold, as collect_inventory
    does): CPU seconds and rows/s, best of `repeat`."""
    import gc
    import json

    from bench.scale_tenant import build_rows
    from scanner.sources.resource_graph import _Fold

    subs, clusters, vms = (int(x) for x in tenant.split(":"))
    if subs * (clusters * 3 + vms) > 600_000:
        raise SystemExit("bounded benchmark: at most 600,000 rows")
    by_type: dict[str, list[str]] = {}
    for rtype, _sub, row in build_rows(subs, clusters, vms):
        by_type.setdefault(rtype, []).append(json.dumps(row, separators=(",", ":")))
    pages = [f"[{','.join(rows[i:i + 1000])}]" for rtype in ("microsoft.containerservice/managedclusters",
                                                             "microsoft.compute/virtualmachinescalesets",
                                                             "microsoft.compute/virtualmachines")
             for rows in [by_type.get(rtype, [])] for i in range(0, len(rows), 1000)]
    total = sum(len(rows) for rows in by_type.values())
    best = float("inf")
    for _ in range(repeat):
        decoded = [json.loads(page) for page in pages]
        gc.collect()
        fold = _Fold()
        if not keep_gc:
            gc.disable()
        t0 = time.process_time()
        for rows in decoded:
            fold.add("page", rows)
        best = min(best, time.process_time() - t0)
        gc.enable()
        del decoded
    pools = sum(len(c.pools) for c in fold.clusters)
    print(f"parse: {total:,} rows ({len(fold.clusters):,} clusters, {pools:,} pools, {len(fold.scale_sets):,} scale sets "
          f"and {len(fold.vms):,} VMs kept, {len(fold.errors)} errors) in {len(pages)} pages: "
          f"{best:.2f} s CPU, {total / best:,.0f} rows/s (best of {repeat}, GC {'on' if keep_gc else 'paused'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
