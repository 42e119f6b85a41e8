"""Requests for quota and prices (issue 13): usages per (subscription, region) with findings, prices per
distinct (size, region, OS), and none for prices on a second run the same day.

Run: .venv/bin/python bench/bench_quotas_prices.py [SUBSCRIPTIONS] [CLUSTERS]   (default 40 200)

A synthetic tenant (tests/fakes/arm_server.synthetic_tenant: three pools a cluster over five
regions, some on retiring sizes, some not) is judged offline against the sample SKU facts; then the
service's steps run against loopback fakes with the real clients:

    quotas   fetch_quotas for the (subscription, region) pairs that have findings (the fake ARM over
             HTTPS, managed identity token, the shared ARM JSON client)
    prices   fetch_prices for core.costs.needed_prices(findings) (the fake Retail Prices API over
             HTTP), twice with the same day cache: the second run must send 0 requests

It prints the pairs in the inventory, the pairs with findings, the usages requests, the distinct
(size, region, OS) prices needed, the price requests of each run, and wall times. No internet.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scanner import bootstrap  # noqa: E402
from scanner.config import Settings  # noqa: E402
from scanner.core import costs, judge  # noqa: E402
from scanner.core.catalog import load_catalog  # noqa: E402
from scanner.sources.prices import fetch_prices  # noqa: E402
from scanner.sources.quotas import fetch_quotas  # noqa: E402
from scanner.sources.resource_graph import load_inventory_files  # noqa: E402
from scanner.sources.skus import load_sku_files  # noqa: E402
from tests.fakes.arm_server import FakeArm, cluster_row, sub_id, synthetic_tenant, usage_row  # noqa: E402
from tests.fakes.prices_server import FakePrices  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main(subs: int = 40, clusters: int = 200) -> None:
    fake = FakeArm()
    fake.usages_page_size = 1000  # ARM answers a region's usages in one page
    rows = synthetic_tenant(fake, subscriptions=subs, clusters=clusters)
    # a quarter more subscriptions whose clusters run current sizes only: no findings, no usages read
    for i in range(subs, subs + max(1, subs // 4)):
        sub = sub_id(i)
        fake.add_subscription(sub)
        c = cluster_row(sub, 100_000 + i, pools=2, region="northeurope")
        for p in c["properties"]["agentPoolProfiles"]:
            p["vmSize"] = "Standard_D4s_v5"
        rows.append(c)
    with tempfile.TemporaryDirectory() as tmp:
        inv_file = Path(tmp) / "inventory.json"
        inv_file.write_text(json.dumps(rows))
        inventory = load_inventory_files([str(inv_file)])
        skus = load_sku_files([str(ROOT / "samples" / "skus")])
        catalog = load_catalog()
        today = __import__("datetime").date(2026, 12, 4)
        first = judge.evaluate(inventory, catalog, skus, today, guide=False)
        inv_pairs = {(r["subscriptionId"].lower(), r["location"].lower()) for r in rows}
        pairs = sorted({(f.resource.subscription_id.lower(), f.resource.location.lower()) for f in first})
        for sub, loc in inv_pairs:
            fake.usages[(sub, loc)] = [usage_row("cores", 40, 350), usage_row("standardDSv3Family", 24, 24),
                                       usage_row("standardDSv5Family", 0, 100), usage_row("standardDDSv5Family", 0, 100)]

        bootstrap.reset()
        t = time.perf_counter()
        with fake.running(tmp) as env:
            book, errors = fetch_quotas(Settings.from_env(env), pairs)
        quota_wall = time.perf_counter() - t
        bootstrap.reset()
        usages = len(fake.requests_to("/usages"))
        print(f"quotas: {len(inv_pairs)} subscription/region pairs in the inventory, {len(pairs)} with findings, "
              f"{usages} usages requests ({book.requests} counted by the client), {len(errors)} errors, "
              f"{quota_wall:.2f} s")
        assert usages <= len(pairs), "more usages requests than pairs with findings"

        findings = judge.evaluate(inventory, catalog, skus, today, quotas=book, costed=True)
        needs = costs.needed_prices(findings)
        items = [i for p in json.loads((ROOT / "samples" / "prices" / "retail-prices.json").read_text())
                 for i in p["Items"]]
        # the synthetic tenant's regions beyond the sample's: the same invented prices there
        extra = [{**i, "armRegionName": r} for i in items if i["armRegionName"] == "westeurope"
                 for r in ("eastus2", "uksouth")]
        prices = FakePrices(items + extra, page_size=100)
        cache_dir = Path(tmp) / "price-cache"
        with prices.running() as url:
            s = Settings.from_env({"PRICES_URL": url, "PRICE_CACHE_DIR": str(cache_dir)})
            t = time.perf_counter()
            run1, e1 = fetch_prices(s, needs)
            w1 = time.perf_counter() - t
            t = time.perf_counter()
            run2, e2 = fetch_prices(s, needs)
            w2 = time.perf_counter() - t
        priced = costs.price_findings(findings, run1)
        with_cost = sum(1 for f in priced if f.cost is not None and f.cost.current_monthly is not None)
        print(f"prices: {len(findings)} findings, {len(needs)} distinct (size, region, OS) needed, "
              f"run 1: {run1.requests} requests ({len(e1)} errors, {w1:.2f} s), "
              f"run 2 the same day: {run2.requests} requests ({run2.cached} lists from the cache, {w2:.3f} s); "
              f"{with_cost} findings priced")
        assert run1.requests <= len(needs) and run2.requests == 0


if __name__ == "__main__":
    args = [int(a) for a in sys.argv[1:3]]
    main(*args)
