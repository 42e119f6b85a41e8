"""Scale: a live scan of a big tenant against the fake ARM, cold and warm, beside a naive peer.

    python bench/bench_scale.py                      # 1,000 subscriptions (with the peer), then the
                                                     # growth table at 10%, 30%, 100% of 300k
    python bench/bench_scale.py --sizes 100:10:20 --peer 100:10:20   # quick look
    python bench/bench_scale.py --code /tmp/old-tree # the same runs with another checkout's scanner
    python bench/bench_scale.py --sizes 1000:20:40 --peer "" --profile /tmp/prof   # py-spy stacks of each run

A size is SUBSCRIPTIONS:CLUSTERS_PER_SUB:VMS_PER_SUB (three pools a cluster). The defaults are
issue 14's two tenants: 1000:10:20 (10k clusters, 30k pools, 20k VMs) and 3000:20:40 (60k
clusters, 180k pools, 120k VMs: 300k resources), the latter also at 10% and 30% of its
subscriptions for the growth table; every subscription spreads over three regions.

Every run is its own process (so peak RSS is the run's own): the fake ARM (bench/scale_tenant.py),
Azurite for the SKU cache, and each client:

  ours cold   `python -m scanner scan --scope tenant --feed "" --catalog builtin --format json
               --output F --no-store --no-notify --today 2026-06-01` with an empty SKU cache
  ours warm   the same again the same day (SKU facts and quota usages from the caches)
  peer        a naive script: cluster list per subscription, agent pool list per cluster, VM list
              per subscription, SKU list per subscription and region (a Compute client per
              subscription, SDK models turned into dicts), 8 threads

It prints requests by kind (counted by the fake), wall, peak RSS, the ratios against the peer and
the targets of issue 14, a digest of the findings (cold and warm must agree), and how long
`import function_app` takes in a fresh process. The machine's other load counts in wall times.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TODAY = "2026-06-01"
KEEP = ""  # --keep DIR: copy each run's output there
PROFILE = ""  # --profile DIR: py-spy collapsed stacks of each run there


# --------------------------------------------------------------------------- child processes


def child_ours(out: str) -> dict:
    from scanner.cli import main

    argv = ["scan", "--scope", "tenant", "--feed", "", "--catalog", "builtin", "--format", "json",
            "--output", out, "--no-store", "--no-notify", "--today", TODAY]
    t0 = time.perf_counter()
    rc = main(argv)
    return {"rc": rc, "wall": time.perf_counter() - t0}


def child_peer() -> dict:
    from concurrent.futures import ThreadPoolExecutor

    from azure.core.rest import HttpRequest

    from scanner import bootstrap
    from scanner.config import Settings

    t0 = time.perf_counter()
    settings = Settings.from_env(os.environ)
    arm = bootstrap.arm_client(settings)

    def get(url: str) -> dict:
        resp = arm.send_request(HttpRequest("GET", arm.format_url(url) if url.startswith("/") else url))
        resp.raise_for_status()
        return resp.json()

    subs: list[str] = []
    url: str | None = "/subscriptions?api-version=2022-12-01"
    while url:
        doc = get(url)
        subs += [s["subscriptionId"] for s in doc["value"]]
        url = doc.get("nextLink")

    def per_sub(sub: str) -> tuple[int, int, int, int]:
        clusters = get(f"/subscriptions/{sub}/providers/Microsoft.ContainerService/managedClusters"
                       "?api-version=2024-09-01")["value"]
        pools = [p for c in clusters for p in get(f"{c['id']}/agentPools?api-version=2024-09-01")["value"]]
        vms = get(f"/subscriptions/{sub}/providers/Microsoft.Compute/virtualMachines?api-version=2024-07-01")["value"]
        regions = sorted({c["location"] for c in clusters} | {v["location"] for v in vms})
        compute = bootstrap.compute_client(settings, sub)
        skus = [s.as_dict() for r in regions for s in compute.resource_skus.list(filter=f"location eq '{r}'")]
        kept.append((clusters, pools, vms, skus))  # a naive script keeps what it read
        return len(clusters), len(pools), len(vms), len(skus)

    kept: list = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        totals = [sum(x) for x in zip(*pool.map(per_sub, subs), strict=True)]
    return {"rc": 0, "wall": time.perf_counter() - t0, "clusters": totals[0], "pools": totals[1],
            "vms": totals[2]}


def child_main(kind: str, out: str) -> int:
    import resource

    result = child_ours(out) if kind == "ours" else child_peer()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # VmHWM: this process's own peak. ru_maxrss survives exec on Linux, so a child forked from a
    # parent holding a big parsed report would report the parent's peak instead.
    status = Path("/proc/self/status")
    hwm = [ln for ln in status.read_text().splitlines() if ln.startswith("VmHWM:")] if status.exists() else []
    result["rss_mib"] = int(hwm[0].split()[1]) / 1024 if hwm else usage.ru_maxrss / 1024
    result["cpu"] = usage.ru_utime + usage.ru_stime  # the process's own CPU seconds: less noisy than wall
    print("RESULT " + json.dumps(result), flush=True)
    return 0


# --------------------------------------------------------------------------- parent


class Tenant:
    def __init__(self, subscriptions: int, clusters: int, vms: int) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "scale_tenant.py"), "--subscriptions", str(subscriptions),
             "--clusters-per-sub", str(clusters), "--vms-per-sub", str(vms)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        first = json.loads(self.proc.stdout.readline())
        self.env, self.rows = first["env"], first["rows"]

    def stats(self) -> dict:
        self.proc.stdin.write("stats\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def run_child(kind: str, env: dict, code: Path, out: str) -> dict:
    full = {**os.environ, **env, "PYTHONPATH": str(code), "PYTHONHASHSEED": "0"}
    argv = [sys.executable, str(ROOT / "bench" / "bench_scale.py"), "--child", kind, "--out", out]
    if PROFILE:  # --profile DIR: sample the run with py-spy (collapsed stacks, one file a run)
        Path(PROFILE).mkdir(parents=True, exist_ok=True)
        label = f"{kind}-{Path(out).stem or 'peer'}-{env.get('TABLE_PREFIX', '')}"
        argv = ["py-spy", "record", "--format", "raw", "--rate", "100", "--nonblocking",
                "-o", str(Path(PROFILE) / f"{label}.txt"), "--", *argv]
    proc = subprocess.run(argv, env=full, cwd=code, capture_output=True, text=True)
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"{kind} run failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len("RESULT "):])


def findings_digest(path: str) -> tuple[int, str, int]:
    doc = json.loads(Path(path).read_text())
    findings = sorted(doc["findings"], key=lambda f: f["id"])
    digest = hashlib.sha256(json.dumps(findings, sort_keys=True).encode()).hexdigest()[:12]
    return len(findings), digest, len(doc.get("errors", []))


def import_time(code: Path) -> tuple[float, float, float]:
    """(wall added, CPU added, wall total) of `import function_app` in a fresh process, best of 5.
    "Added" is over `import azure.functions`, which the Functions host has loaded before it
    imports the app; CPU is steadier than wall on a loaded machine."""
    snippet = ("import time; w = time.perf_counter(); c = time.process_time(); import azure.functions; "
               "w1 = time.perf_counter(); c1 = time.process_time(); import function_app; "
               "print(time.perf_counter() - w1, time.process_time() - c1, time.perf_counter() - w)")
    runs = []
    for _ in range(5):
        out = subprocess.run([sys.executable, "-c", snippet], cwd=code, capture_output=True, text=True,
                             env={**os.environ, "PYTHONPATH": str(code)})
        if out.returncode == 0:
            runs.append(tuple(float(x) for x in out.stdout.strip().splitlines()[-1].split()))
    if not runs:
        return float("nan"), float("nan"), float("nan")
    return min(r[0] for r in runs), min(r[1] for r in runs), min(r[2] for r in runs)


def fmt_counts(c: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in sorted(c.items()) if k != "token") + f" (total {requests(c)})"


def requests(c: dict) -> int:
    return sum(v for k, v in c.items() if k != "token")


def bench_size(size: tuple[int, int, int], code: Path, with_peer: bool, storage: str) -> dict:
    subs, cps, vps = size
    tenant = Tenant(subs, cps, vps)
    pairs = subs * 3
    resources = subs * (cps * 3 + vps)  # node pools + standalone VMs
    print(f"\n== {subs} subscriptions: {subs * cps} clusters, {subs * cps * 3} node pools, {subs * vps} VMs "
          f"({resources} resources, {tenant.rows} ARG rows, {pairs} subscription/region pairs)", flush=True)
    env = {**tenant.env, "AzureWebJobsStorage": storage, "TABLE_PREFIX": f"bench{os.getpid()}x{subs}",
           "AZURE_CLIENT_ID": ""}
    res: dict = {"subs": subs, "cps": cps, "vps": vps, "resources": resources, "rows": tenant.rows,
                 "pairs": pairs}
    try:
        tenant.stats()  # start counting now
        with tempfile.TemporaryDirectory() as tmp:
            for label in ("cold", "warm"):
                out = str(Path(tmp) / f"{label}.json")
                r = run_child("ours", env, code, out)
                r["counts"] = tenant.stats()
                r["findings"], r["digest"], r["errors"] = findings_digest(out)
                r["json_mib"] = Path(out).stat().st_size / 2**20
                res[label] = r
                if KEEP:
                    import shutil

                    shutil.copy(out, Path(KEEP) / f"{code.name}-{subs}-{label}.json")
                print(f"ours {label}: {r['wall']:6.1f} s wall ({r['cpu']:.1f} s CPU), {r['rss_mib']:6.0f} MiB peak RSS, "
                      f"{fmt_counts(r['counts'])}; {r['findings']} findings ({r['digest']}), {r['errors']} errors, "
                      f"{r['json_mib']:.0f} MiB of JSON", flush=True)
        if with_peer:
            r = run_child("peer", env, ROOT, "")
            r["counts"] = tenant.stats()
            res["peer"] = r
            print(f"peer:      {r['wall']:6.1f} s wall ({r['cpu']:.1f} s CPU), {r['rss_mib']:6.0f} MiB peak RSS, "
                  f"{fmt_counts(r['counts'])}",
                  flush=True)
    finally:
        tenant.close()
    return res


def report(results: list[dict], import_s: tuple[float, float, float]) -> None:
    print("\n== targets (issue 14)")
    for res in results:
        cold, warm = res["cold"], res["warm"]
        arg = warm["counts"].get("arg", 0)
        # ceil(rows / 1000) per query and batch of 1000 subscriptions, plus one visibility query per batch
        minimum = 0
        for start in range(0, res["subs"], 1000):
            n = min(1000, res["subs"] - start)
            minimum += 1 + sum(-(-rows // 1000) for rows in (n * res["cps"], n * res["cps"] * 2, n * res["vps"]))
        print(f"{res['subs']} subscriptions:")
        print(f"  ARG requests {arg} vs minimum {minimum}: {arg / minimum:.3f}x (target <= 1.05x)")
        print(f"  SKU requests cold {cold['counts'].get('skus', 0)} (pairs {res['pairs']}), "
              f"warm {warm['counts'].get('skus', 0)} (target <= pairs cold, 0 warm)")
        print(f"  quota usages requests cold {cold['counts'].get('usages', 0)}, warm {warm['counts'].get('usages', 0)} "
              "(one per subscription/region with findings cold, 0 warm: QUOTA_CACHE_HOURS)")
        print(f"  wall cold {cold['wall']:.1f} s ({cold['cpu']:.1f} s CPU), warm {warm['wall']:.1f} s "
              f"({warm['cpu']:.1f} s CPU); peak RSS cold {cold['rss_mib']:.0f} MiB, "
              f"warm {warm['rss_mib']:.0f} MiB" + ("  (targets at 300k resources: <= 60 s cold, <= 30 s warm, "
                                                    "<= 1024 MiB)" if res["resources"] >= 150_000 else ""))
        print(f"  findings cold == warm: {cold['digest'] == warm['digest']} ({cold['findings']} findings)")
        if "peer" in res:
            peer = res["peer"]
            no_quota = requests(warm["counts"]) - warm["counts"].get("usages", 0)
            print(f"  vs peer: {requests(peer['counts']) / max(1, requests(warm['counts'])):.0f}x fewer requests "
                  f"({requests(peer['counts']) / max(1, no_quota):.0f}x without the quota usages, which the peer "
                  f"does not read) (target >= 100x), {peer['wall'] / warm['wall']:.1f}x less wall (target >= 5x; CPU "
                  f"{peer['cpu'] / warm['cpu']:.1f}x), "
                  f"memory {warm['rss_mib'] / peer['rss_mib']:.2f}x the peer's (target <= 2x)")
    if len(results) > 1:
        print("\n== growth")
        print("  subs  resources  cold s (CPU)    warm s (CPU)    cold MiB  warm MiB  requests cold/warm")
        for res in results:
            print(f"  {res['subs']:4d}  {res['resources']:9d}  {res['cold']['wall']:6.1f} ({res['cold']['cpu']:5.1f})  "
                  f"{res['warm']['wall']:6.1f} ({res['warm']['cpu']:5.1f})  "
                  f"{res['cold']['rss_mib']:8.0f}  {res['warm']['rss_mib']:8.0f}  "
                  f"{requests(res['cold']['counts'])}/{requests(res['warm']['counts'])}")
    added, added_cpu, total = import_s
    print(f"\nimport function_app: adds {added * 1000:.0f} ms wall / {added_cpu * 1000:.0f} ms CPU over "
          f"azure.functions ({total * 1000:.0f} ms in all, fresh process, best of 5; target <= 150 ms added)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--child", choices=("ours", "peer"), help=argparse.SUPPRESS)
    ap.add_argument("--out", default="", help=argparse.SUPPRESS)
    ap.add_argument("--sizes", default="1000:10:20,300:20:40,900:20:40,3000:20:40",
                    help="SUBS:CLUSTERS_PER_SUB:VMS_PER_SUB,... (default: issue 14's 1,000-subscription tenant, "
                         "then 10%%, 30%%, 100%% of its 300k-resource one)")
    ap.add_argument("--peer", default="1000:10:20",
                    help="sizes (as in --sizes) at which the naive peer runs too (default: the 1,000-subscription one)")
    ap.add_argument("--peer-max", type=int, default=None,
                    help="instead of --peer: run the peer at every size up to this many subscriptions")
    ap.add_argument("--code", default=str(ROOT), help="checkout whose scanner runs (default: this one)")
    ap.add_argument("--keep", default="", help="copy each run's JSON output into this folder")
    ap.add_argument("--profile", default="",
                    help="sample each run with py-spy (pip install py-spy) into this folder, as collapsed stacks")
    args = ap.parse_args()
    global KEEP, PROFILE
    KEEP, PROFILE = args.keep, args.profile
    if args.child:
        return child_main(args.child, args.out)

    sys.path.insert(0, str(ROOT))
    from scanner.devtools.azurite import azurite

    code = Path(args.code).resolve()
    try:
        sizes = [tuple(int(x) for x in (s.split(":") + ["10", "20"])[:3]) for s in args.sizes.split(",") if s.strip()]
    except ValueError:
        ap.error(f"--sizes: {args.sizes!r} is not SUBS[:CLUSTERS_PER_SUB[:VMS_PER_SUB]],...")
    if any(not (1 <= s <= 5000 and 0 <= c <= 50 and 0 <= v <= 100) for s, c, v in sizes):
        ap.error("--sizes: at most 5000 subscriptions, 50 clusters and 100 VMs per subscription")
    print(f"scanner code: {code}; {os.cpu_count()} CPUs; load average {os.getloadavg()[0]:.1f} "
          "(wall times include the machine's other load; CPU seconds are the client's own)")
    results = []
    peer_sizes = {tuple(int(x) for x in (p.split(":") + ["10", "20"])[:3]) for p in args.peer.split(",") if p.strip()}
    with azurite() as az:
        for size in sizes:
            with_peer = size[0] <= args.peer_max if args.peer_max is not None else size in peer_sizes
            results.append(bench_size(size, code, with_peer, az.connection_string))
    report(results, import_time(code))
    return 0


if __name__ == "__main__":
    sys.exit(main())
