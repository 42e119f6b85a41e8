"""`make demo`: the whole offline path on the bundled sample tenant (samples/). No Azure account.

    python -m scanner.demo [--today YYYY-MM-DD] [--format table|json|csv|markdown] [--no-store]

A plain sequence of steps, each a function, so later work can add one without touching the others:

    1. sample_paths()        where the sample tenant's exports live
    2. build_deps(paths)     bootstrap's sources: bundled catalogue, inventory files, SKU files
    3. clean(out)            start from an empty demo-output/ (fresh Azurite data, no old files)
    4. scan(deps, today)     service.run_scan, as the nightly timer does: with the store (Azurite,
                             data kept in demo-output/azurite) and notifications (Teams card JSON
                             and .eml) written to demo-output/notifications; --no-store skips
                             both (and says so); Azurite that cannot start fails the demo (exit 1)
    5. show(report, fmt)     the table grouped by cluster, most urgent first; the scan JSON
                             (retirement-scan/v1) to demo-output/scan.json
    6. write_report(...)     the report page (GET /api/report) to demo-output/report.html
    7. scan again            same tenant, same day: must find 0 new findings and send 0 messages.
                             If it does not, the demo exits 1 (a self-check of the lifecycle).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from scanner.core import schema as output
from scanner.service import ScanDeps, ScanOptions, ScanReport, run_scan

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
OUT = ROOT / "demo-output"
# What the demo writes under OUT (clean() empties OUT before each run).
OUTPUTS = ("azurite", "notifications", "report.html", "scan.json")
# The demo's Teams recipient. The file channel writes the card to a folder and never posts:
# `.invalid` is a reserved top-level domain (RFC 2606), so this URL cannot reach anyone.
DEMO_TEAMS_WEBHOOK_URL = "https://teams-webhook.example.invalid/demo"


def sample_paths(samples: Path = SAMPLES) -> dict[str, list[str]]:
    """Step 1: the sample tenant's exported files."""
    inventory, skus = samples / "inventory", samples / "skus"
    for p in (inventory, skus):
        if not p.is_dir():
            raise SystemExit(f"demo: {p} is missing (run from a full clone of the repository)")
    quotas = samples / "quotas"  # vCPU usages (az vm list-usage exports)
    prices = samples / "prices"  # saved Retail Prices API answers (invented prices)
    return {"inventory": [str(inventory)], "skus": [str(skus)], "quotas": [str(quotas)] if quotas.is_dir() else [],
            "prices": [str(prices)] if prices.is_dir() else []}


def build_deps(paths: dict[str, list[str]]) -> ScanDeps:
    """Step 2: the offline scan's sources (bootstrap wires them as for the CLI): bundled
    catalogue, no feed, files for the rest."""
    from scanner import bootstrap
    from scanner.config import Settings

    settings = Settings()
    quotas = paths.get("quotas") or []
    prices = paths.get("prices") or []
    return ScanDeps(
        load_catalog=bootstrap.catalog_loader(settings, feed="", catalogs=["builtin"], extra_file=""),
        load_inventory=bootstrap.inventory_loader(settings, None, paths["inventory"]),
        load_skus=bootstrap.sku_loader(settings, paths["skus"], offline=True),
        load_quotas=bootstrap.quota_loader(settings, quotas[0] if quotas else "", offline=True),
        load_prices=bootstrap.price_loader(settings, prices, offline=True),
    )


def demo_settings(connection_string: str, out: Path = OUT):
    """Settings for the stored demo: Azurite, notifications written to files (nothing is sent):
    a Teams card (TEAMS_WEBHOOK_URL, never posted to) and an email."""
    from scanner.config import Settings

    return Settings.from_env({
        "AzureWebJobsStorage": connection_string,
        "TABLE_PREFIX": "demo",
        "NOTIFY_DIR": str(out / "notifications"),
        "TEAMS_WEBHOOK_URL": DEMO_TEAMS_WEBHOOK_URL,
        "EMAIL_TO": "platform-team@example.com",
        "EMAIL_FROM": "retirement-scanner@example.com",
    })


def with_store(deps: ScanDeps, settings) -> ScanDeps:
    """Step 3a: the store and the notifier (file channel, sent at once: no queue trigger here)."""
    from scanner import bootstrap
    from scanner.notify import ScanNotifier
    from scanner.service import ScanStore

    storage = bootstrap.storage(settings)
    deps.store = ScanStore(storage.findings, storage.runs, source="demo")
    deps.notifier = ScanNotifier(settings, outbox=storage.outbox, drain=True)
    return deps


def clean(out: Path = OUT) -> None:
    """Step 3: remove everything an earlier demo left in `out` (Azurite data, notifications,
    pages, and any file an older version wrote): what is there afterwards is this run's."""
    if not out.is_dir():
        return
    for path in out.iterdir():
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()


def scan(deps: ScanDeps, today: date, now: datetime | None = None) -> ScanReport:
    """Step 3: run the scan as the timer would (store and notify only when deps carry them)."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    stored = deps.store is not None
    return run_scan(deps, now, ScanOptions(today=today, no_store=not stored, no_notify=deps.notifier is None))


def write_report(deps: ScanDeps, settings, now: datetime, path: Path) -> Path:
    """Step 5: the HTML report page of the stored findings and their history."""
    from scanner import bootstrap
    from scanner.api import report_page

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_page(bootstrap.storage(settings), settings, now), encoding="utf-8")
    return path


def show(report: ScanReport, fmt: str = "table", out=None) -> None:
    """Step 5: print the report."""
    (out or sys.stdout).write(output.render(report, fmt))


def write_json(report: ScanReport, path: Path) -> Path:
    """Step 5b: the scan JSON (schema retirement-scan/v1), as `scan --format json` prints it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(output.render(report, "json"), encoding="utf-8")
    return path


def quiet(report: ScanReport, sent: int) -> list[str]:
    """What makes a repeated run not quiet: any change but 'unchanged', or any message."""
    changes = output.summary(report)["changes"]
    problems = [f"{n} {kind}" for kind, n in changes.items() if kind != "unchanged" and n]
    if report.messages:
        problems.append(f"{len(report.messages)} message(s) rendered")
    if sent:
        problems.append(f"{sent} message(s) sent")
    return problems


def _rel(path: Path) -> str:
    try:
        return str(path.relative_to(ROOT))
    except ValueError:
        return str(path)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD, e.g. 2026-03-01)") from None


def build_parser() -> argparse.ArgumentParser:
    from scanner.cli import lower_choice

    parser = argparse.ArgumentParser(prog="python -m scanner.demo", description=__doc__.split("\n")[0])
    parser.add_argument("--today", type=_day, default=None, metavar="YYYY-MM-DD", help="judge as of this day")
    parser.add_argument("--format", type=lower_choice, choices=output.FORMATS, default="table")
    parser.add_argument("--no-store", action="store_true", help="scan only: no Azurite, no notifications, no page")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    today = args.today or now.date()

    paths = sample_paths()
    deps = build_deps(paths)
    print(f"== sample tenant: {SAMPLES.relative_to(ROOT)}/ (invented; no Azure account needed)\n", file=sys.stderr)
    clean(OUT)  # whatever runs, demo-output/ holds this run's files only
    if args.no_store:
        show(scan(deps, today, now), args.format)
        print(f"\n== --no-store: scanned only; nothing stored or written ({_rel(OUT)}/ is empty)", file=sys.stderr)
        return 0
    from scanner.devtools.azurite import AzuriteError, azurite

    try:
        with azurite(location=OUT / "azurite") as az:
            settings = demo_settings(az.connection_string, OUT)
            deps = with_store(deps, settings)
            report = scan(deps, today, now)
            first_sent = deps.notifier.last.sent if deps.notifier.last else 0
            show(report, args.format)
            scan_json = write_json(report, OUT / "scan.json")
            page = write_report(deps, settings, now, OUT / "report.html")
            # Step 7: the same scan again, a moment later, as tomorrow night's run would be.
            again_at = max(now, datetime.now(timezone.utc).replace(microsecond=0))
            deps.notifier.last = None
            second = scan(deps, today, again_at)
            second_sent = deps.notifier.last.sent if deps.notifier.last else 0
    except AzuriteError as exc:
        # Loud, not a quiet fallback: `make demo` promises the stored run, the alerts and the page.
        clean(OUT)
        print(f"demo: FAILED: Azurite (the storage emulator) could not start: {exc}\n"
              f"demo: nothing was stored, sent or written ({_rel(OUT)}/ is empty). Fix: `make node` "
              "(npm install, needs Node.js 18+), or scan only with `python -m scanner.demo --no-store`.",
              file=sys.stderr)
        return 1
    changes = output.summary(report)["changes"]
    files = sorted(p.name for p in (OUT / "notifications").glob("*") if p.is_file())
    cards = sum(1 for f in files if f.endswith(".teams.json"))
    emails = sum(1 for f in files if f.endswith(".eml"))
    print(f"\n== stored in Azurite ({_rel(OUT / 'azurite')}/): {changes['new']} new, "
          f"{changes['unchanged']} unchanged, {changes['escalated']} escalated, {changes['resolved']} resolved",
          file=sys.stderr)
    print(f"== notifications: {len(report.messages)} written to {_rel(OUT / 'notifications')}/ "
          f"({cards} Teams card(s) .teams.json, {emails} email(s) .eml; {first_sent} sent to the folder)",
          file=sys.stderr)
    print(f"== scan JSON: {_rel(scan_json)}", file=sys.stderr)
    print(f"== report page: {_rel(page)}", file=sys.stderr)
    again = output.summary(second)["changes"]
    problems = quiet(second, second_sent)
    print(f"== second run: {again['new']} new findings, {again['unchanged']} unchanged, "
          f"{len(second.messages)} messages rendered, {second_sent} sent"
          + ("  (quiet, as it should be)" if not problems else ""), file=sys.stderr)
    if problems:
        print("demo: FAILED self-check: a second run over the same tenant must be quiet, but it had "
              + ", ".join(problems), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
