"""Benchmark: storing one scan's findings in Table Storage (Azurite on loopback, no internet).

Run: .venv/bin/python bench/bench_store.py [N]   (default 10,000 findings over 20 subscriptions)

Starts the pinned Azurite (node_modules/.bin/azurite) on free loopback ports with a temporary data
directory, then times four runs through apply_scan:

    1. first run        N new findings: N creates in transactions of 100 per subscription
    2. quiet night      the same N findings a day later: N read, 0 written (only the run record)
    3. 1% changed       N/100 escalated, N/100 gone (resolved): 2% of N written
    4. history          store.runs.history(30 days)

and prints seconds, findings/second, writes and transactions for each, and the peak RSS. Bounded: N is
capped at 50,000; Azurite is stopped at the end.
"""

from __future__ import annotations

import resource
import sys
import time
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from azure.data.tables import TableServiceClient  # noqa: E402

from scanner.core.model import Finding, Severity  # noqa: E402
from scanner.devtools.azurite import azurite  # noqa: E402
from scanner.service import apply_scan  # noqa: E402
from scanner.tables.findings import TableFindings  # noqa: E402
from scanner.tables.kit import Tables  # noqa: E402
from scanner.tables.runs import TableRunLog  # noqa: E402
from tests.factories import finding, retirement  # noqa: E402

RET = retirement(title="Dv2/DSv2 retirement", series=("Dv2", "DSv2"))
T0 = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


def findings(n: int, subs: int = 20) -> list[Finding]:
    out = []
    for i in range(n):
        name, pool, rg = f"aks-{i // 5}", f"np{i % 5}", f"rg-{i % 50}"
        out.append(finding(
            name, pool, sub=f"{i % subs:08x}-0000-4000-8000-000000000000", rg=rg, tags={"owner": f"team-{i % 40}"},
            size="Standard_DS3_v2", retirement=RET, replacement="Standard_D4s_v5",
            why="same vCPU and memory, Gen2, premium storage", alternatives=("Standard_D4as_v5", "Standard_D4ds_v5"),
            commands=(
                f"az aks nodepool add -g {rg} --cluster-name {name} -n {pool}v5 -s Standard_D4s_v5 "
                "--node-count 3 --zones 1 2 3",
                f"az aks nodepool update -g {rg} --cluster-name {name} -n {pool} --disable-cluster-autoscaler",
                f"kubectl cordon -l agentpool={pool} && kubectl drain -l agentpool={pool} --ignore-daemonsets",
                f"az aks nodepool delete -g {rg} --cluster-name {name} -n {pool}",
            ),
            message="Node pool on Standard_DS3_v2, which retires on 2028-05-01.",
        ))
    return out


def timed(label: str, n: int, fn):
    t = time.perf_counter()
    result = fn()
    secs = time.perf_counter() - t
    rate = f"{n / secs:,.0f} findings/s" if n else ""
    extra = ""
    if isinstance(getattr(result, "run", None), dict):
        r = result.run
        changed = {k: v for k, v in r["changes"].items() if v}
        extra = f"  writes={r['writes']} transactions={r['transactions']} changes={changed}"
    print(f"{label:<12} {secs:7.2f} s  {rate:>18}{extra}", flush=True)
    return result


def main(n: int) -> None:
    n = max(100, min(n, 50_000))
    fs = findings(n)
    print(f"bench_store: {n:,} findings over 20 subscriptions, Azurite on 127.0.0.1 (temporary data dir)")
    with azurite() as az:
        tables = Tables(TableServiceClient.from_connection_string(az.connection_string), "bench")
        store = SimpleNamespace(findings=TableFindings(tables), runs=TableRunLog(tables))
        first = timed("first run", n, lambda: apply_scan(store.findings, store.runs, fs, now=T0))
        assert first.run["writes"] == n
        quiet = timed("quiet night", n, lambda: apply_scan(
            store.findings, store.runs, [replace(f, days_left=699) for f in fs], now=T0 + timedelta(days=1)))
        assert quiet.run["writes"] == 0
        k = n // 100
        changed = [replace(f, severity=Severity.HIGH) for f in fs[:k]] + fs[k:n - k]
        third = timed("1% changed", n, lambda: apply_scan(store.findings, store.runs, changed, now=T0 + timedelta(days=2)))
        assert third.run["changes"]["escalated"] == k and third.run["changes"]["resolved"] == k
        rows = timed("history 30d", 0, lambda: store.runs.history(30, date(2026, 3, 10)))
        assert rows[-1]["open_total"] == n - k
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS of this process: {peak:.0f} MB (Azurite runs in its own process)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
