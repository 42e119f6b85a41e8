"""`make demo`: the whole offline path on the bundled sample tenant (samples/). No Azure account.

    python -m scanner.demo [--today YYYY-MM-DD] [--format table|json|csv|markdown]

A plain sequence of steps, each a function, so later work can add one (Azurite and stored
findings, notifications, the report page) without touching the others:

    1. sample_paths()        where the sample tenant's exports live
    2. build_deps(paths)     loaders: bundled catalogue, inventory files, SKU files
    3. scan(deps, today)     service.run_scan (no store, no notifier yet)
    4. show(report, fmt)     the table grouped by cluster, most urgent first
"""

from __future__ import annotations

import argparse
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from scanner import output
from scanner.service import ScanDeps, ScanOptions, ScanReport, run_scan

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"


def sample_paths(samples: Path = SAMPLES) -> dict[str, list[str]]:
    """Step 1: the sample tenant's exported files."""
    inventory, skus = samples / "inventory", samples / "skus"
    for p in (inventory, skus):
        if not p.is_dir():
            raise SystemExit(f"demo: {p} is missing (run from a full clone of the repository)")
    return {"inventory": [str(inventory)], "skus": [str(skus)]}


def build_deps(paths: dict[str, list[str]]) -> ScanDeps:
    """Step 2: loaders for the offline scan: bundled catalogue, no feed, files for the rest."""
    from scanner import catalog
    from scanner.collectors.resource_graph import load_inventory_files
    from scanner.collectors.skus import load_sku_files

    return ScanDeps(
        load_catalog=lambda: (catalog.merge(catalog.load_builtin(), [], []), []),
        load_inventory=lambda: load_inventory_files(paths["inventory"]),
        load_skus=lambda inventory: (load_sku_files(paths["skus"]), []),
    )


def scan(deps: ScanDeps, today: date, now: datetime | None = None) -> ScanReport:
    """Step 3: run the scan as the timer would, minus the store and notifications."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    return run_scan(deps, now, ScanOptions(today=today, no_store=True, no_notify=True))


def show(report: ScanReport, fmt: str = "table", out=sys.stdout) -> None:
    """Step 4: print the report."""
    out.write(output.render(report, fmt))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--today", type=date.fromisoformat, default=None, help="judge as of this day")
    parser.add_argument("--format", choices=output.FORMATS, default="table")
    args = parser.parse_args(argv)
    today = args.today or datetime.now(timezone.utc).date()

    paths = sample_paths()
    deps = build_deps(paths)
    report = scan(deps, today)
    print(f"== sample tenant: {SAMPLES.relative_to(ROOT)}/ (invented; no Azure account needed)\n", file=sys.stderr)
    show(report, args.format)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
