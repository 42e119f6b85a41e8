"""Benchmark: Catalog.retirements_for over a 10,000-cluster tenant (no I/O, no network).

Run: .venv/bin/python bench/bench_catalog.py
Prints lookups/second for a cold catalogue (every distinct size parsed and matched once) and a warm
one, plus the cost of parsing distinct size names. Bounded: 30,000 pools, a few seconds at most.
"""

from __future__ import annotations

import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner.core import sizes  # noqa: E402
from scanner.core.catalog import load_builtin, merge  # noqa: E402

FAMILIES = [
    ("Standard_D{n}s_v5", [2, 4, 8, 16, 32, 48, 64, 96]), ("Standard_D{n}ds_v5", [2, 4, 8, 16, 32]),
    ("Standard_D{n}as_v5", [2, 4, 8, 16, 32]), ("Standard_E{n}s_v5", [2, 4, 8, 16, 32, 64]),
    ("Standard_DS{n}_v2", [1, 2, 3, 4, 5, 11, 12, 13, 14]), ("Standard_D{n}_v2", [1, 2, 3, 4, 11, 12]),
    ("Standard_D{n}s_v3", [2, 4, 8, 16, 32, 64]), ("Standard_E{n}s_v3", [2, 4, 8, 16, 32, 64]),
    ("Standard_B{n}ms", [1, 2, 4, 8, 12, 16, 20]), ("Standard_B{n}s_v2", [2, 4, 8, 16, 32]),
    ("Standard_F{n}s_v2", [2, 4, 8, 16, 32, 72]), ("Standard_L{n}s_v2", [8, 16, 32, 80]),
    ("Standard_NC{n}ads_A100_v4", [24, 48, 96]), ("Standard_NV{n}s_v3", [12, 24, 48]),
    ("Standard_D{n}s_v6", [2, 4, 8, 16, 32]), ("Standard_DS11-1_v2", [0]),
]


def tenant_sizes(pools: int, seed: int = 7) -> list[str]:
    rnd = random.Random(seed)
    names = [fmt.format(n=n) for fmt, ns in FAMILIES for n in ns]
    return [rnd.choice(names) for _ in range(pools)]


def main() -> None:
    builtin = load_builtin()
    pools = tenant_sizes(30_000)
    distinct = sorted(set(pools))

    sizes.parse_size.cache_clear()
    t0 = time.perf_counter()
    for name in distinct:
        sizes.parse_size(name)
    parse_us = (time.perf_counter() - t0) / len(distinct) * 1e6

    sizes.parse_size.cache_clear()
    catalog = merge(builtin, [], [])
    t0 = time.perf_counter()
    hits = sum(1 for name in pools if catalog.retirements_for(name))
    cold = time.perf_counter() - t0

    t0 = time.perf_counter()
    for _ in range(3):
        for name in pools:
            catalog.retirements_for(name)
    warm = (time.perf_counter() - t0) / 3

    t0 = time.perf_counter()
    fresh = merge(builtin, [], [])
    build_ms = (time.perf_counter() - t0) * 1e3
    del fresh

    print(f"catalogue entries: {len(builtin)}; pools: {len(pools)}; distinct sizes: {len(distinct)}; "
          f"pools on retiring sizes: {hits}")
    print(f"parse_size (uncached): {parse_us:.1f} us per name")
    print(f"merge() of the built-in catalogue: {build_ms:.1f} ms")
    print(f"retirements_for, first pass (cold cache): {cold * 1e3:.1f} ms total, {len(pools) / cold:,.0f} lookups/s")
    print(f"retirements_for, warm cache: {warm * 1e3:.1f} ms total, {len(pools) / warm:,.0f} lookups/s")


if __name__ == "__main__":
    main()
