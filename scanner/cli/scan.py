"""python -m scanner scan: find node pools, VMs and scale sets on retiring or Gen1-only sizes.

    python -m scanner scan [--feed URL|FILE] [--catalog builtin|none|FILE ...]
        [--inventory FILE ...] [--skus FILE|DIR ...] [--quotas DIR] [--prices FILE|DIR ...] [--scope tenant|mg:NAME|sub:ID,...]
        [--today YYYY-MM-DD] [--format table|json|csv|markdown] [--output FILE] [--pretty]
        [--fail-on critical|high|medium|low] [--no-store] [--no-notify] [--dry-run]

With --inventory (and --skus) it runs offline on exported files; without them it reads Azure.
Exit codes: 0 done, 3 findings at or above --fail-on, 2 bad usage or unreadable input, 1 unexpected.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from scanner.errors import InputError

EXIT_OK, EXIT_FINDINGS = 0, 3


def register(sub) -> None:
    from scanner.cli import lower_choice

    p = sub.add_parser(
        "scan",
        help="scan for node pools, VMs and scale sets on retiring or Gen1-only VM sizes",
        description=__doc__.split("\n\n")[2],
    )
    p.add_argument("--feed", metavar="URL|FILE",
                   help="Azure Updates feed (JSON API or RSS) to read retirements from; "
                        "default: FEED_URL when reading Azure, none with --inventory")
    p.add_argument("--catalog", nargs="+", action="extend", metavar="builtin|none|FILE",
                   help="retirement catalogues to use (default: builtin); 'none' for the feed only")
    p.add_argument("--inventory", nargs="+", action="extend", metavar="FILE",
                   help="exported inventory: az aks list / az vm list / az vmss list / az graph query -o json")
    p.add_argument("--skus", nargs="+", action="extend", metavar="FILE|DIR",
                   help="exported SKU facts: az vm list-skus -o json (a file per region or a folder)")
    p.add_argument("--quotas", metavar="DIR",
                   help="vCPU usages exported with az vm list-usage --location REGION -o json, as "
                        "DIR/<subscription-id>/<region>.json or DIR/<region>.json (default: SCAN_QUOTA_DIR; "
                        "live scans read them from Azure)")
    p.add_argument("--prices", nargs="+", action="extend", metavar="FILE|DIR",
                   help="saved Azure Retail Prices API answers (one JSON document with Items, a list of pages, "
                        "or a folder of them) for the monthly cost of each move (default: SCAN_PRICE_FILES; "
                        "live scans ask the API, cached for a day)")
    p.add_argument("--scope", metavar="tenant|mg:NAME|sub:ID,...", help="what to read from Azure (default: SCAN_SCOPE)")
    p.add_argument("--today", metavar="YYYY-MM-DD", type=_date, help="judge as of this day (default: today, UTC)")
    p.add_argument("--format", type=lower_choice, choices=("table", "json", "csv", "markdown"), default="table")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--pretty", action="store_true",
                   help="indent JSON output (by 2); by default it is compact (the same JSON once parsed)")
    p.add_argument("--fail-on", type=lower_choice, choices=("critical", "high", "medium", "low"),
                   help="exit 3 when a finding is at or above this severity")
    p.add_argument("--no-store", action="store_true",
                   help="do not read or write stored findings. By default findings are stored (status, "
                        "first_seen, history) in AzureWebJobsStorage, or STORAGE_TABLE_ENDPOINT with managed "
                        "identity; when neither is set the scan warns and carries on without storing")
    p.add_argument("--no-notify", action="store_true", help="send no notifications")
    p.add_argument("--dry-run", action="store_true", help="store and send nothing; show what would happen")
    p.set_defaults(func=run)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def build_deps(args, settings):
    """Loaders for the scan from the command line: files when given, Azure otherwise
    (built by scanner.bootstrap, shared with the Functions app)."""
    from scanner import bootstrap
    from scanner.config import parse_scope
    from scanner.service import ScanDeps

    offline = bool(args.inventory)
    if args.quotas and not Path(args.quotas).is_dir():
        raise InputError(f"--quotas: {args.quotas!r} is not a folder (DIR/<subscription-id>/<region>.json "
                         "or DIR/<region>.json)")
    catalogs = args.catalog or ["builtin"]
    for c in catalogs:
        if c not in ("builtin", "none") and not Path(c).is_file():
            raise InputError(f"--catalog: {c!r} is not 'builtin', 'none' or a readable file")
    if args.feed is not None:
        from scanner.cli import check_source

        if args.feed:
            check_source("--feed", args.feed)
        feed = args.feed
    else:
        feed = "" if offline else [settings.feed_url, settings.feed_fallback_url]
    scope = parse_scope(args.scope) if args.scope and not offline else None
    return ScanDeps(
        # CATALOG_EXTRA_FILE is merged offline too (a missing file is exit 2, naming it).
        load_catalog=bootstrap.catalog_loader(settings, feed=feed, catalogs=catalogs, extra_file=None),
        load_inventory=bootstrap.inventory_loader(settings, scope, list(args.inventory or ())),
        load_skus=bootstrap.sku_loader(settings, list(args.skus or ()), offline=offline),
        load_quotas=bootstrap.quota_loader(settings, args.quotas or "", offline=offline),
        load_prices=bootstrap.price_loader(settings, list(args.prices or ()), offline=offline),
    )


def scan_store(settings):
    """The store a CLI scan writes to and the tables behind it, or (None, None) (with a warning)
    when none is configured."""
    from scanner import bootstrap
    from scanner.service import ScanStore
    from scanner.tables.kit import storage_configured

    if not storage_configured(settings):
        print("warning: no store configured (set AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT): "
              "findings are not stored, so every one shows as new; --no-store silences this",
              file=sys.stderr)
        return None, None
    storage = bootstrap.storage(settings)
    return ScanStore(storage.findings, storage.runs, source="cli"), storage


def feed_with_snapshot(settings, args, snapshots, now):
    """The catalogue loader for a stored scan of FEED_URL (the default, or --feed naming it): the feed snapshot in the store is the
    baseline (a feed answering with fewer records is an error of kind FEED, and the catalogue keeps
    the stored announcements), and what the feed answered is kept in it (not on --dry-run)."""
    from scanner import bootstrap, feed_ingest

    def remember(items):
        if not args.dry_run:
            feed_ingest.remember(snapshots, items, now)

    return bootstrap.catalog_loader(settings, feed=[settings.feed_url, settings.feed_fallback_url],
                                  catalogs=args.catalog or ["builtin"],
                                  previous=lambda: feed_ingest.stored_items(snapshots), on_items=remember)


def scan_notifier(settings, outbox):
    """The notifier a CLI scan uses, or None when nobody is set up to be told. From the command
    line there is no queue trigger, so the scan sends what it enqueued itself (drain)."""
    from scanner.notify import ScanNotifier, notifications_configured

    if not notifications_configured(settings):
        return None
    from scanner import bootstrap
    from scanner.tables.kit import storage_configured
    from scanner.tables.queues import queue_configured

    if outbox is None and storage_configured(settings):  # --no-store still records what it tells
        outbox = bootstrap.storage(settings).outbox
    open_queue = (lambda: bootstrap.notify_queue(settings)) if queue_configured(settings) else None
    return ScanNotifier(settings, outbox=outbox, open_queue=open_queue, drain=True)


def credential_causes(exc: BaseException) -> str:
    """The reasons DefaultAzureCredential gives per credential it tried ("AzureCliCredential:
    Azure CLI not found on path"), one line each, or the first line of the error."""
    text = str(exc)
    causes = []
    if "Attempted credentials:" in text:
        for line in text.split("Attempted credentials:", 1)[1].splitlines():
            line = " ".join(line.split())
            if not line or line.lower().startswith(("to mitigate", "visit", "for more")):
                continue
            causes.append(line if len(line) <= 200 else line[:199] + "\u2026")
    if causes:
        return "\n" + "\n".join(f"  {c}" for c in causes) + "\n"
    return " " + (text.splitlines()[0] if text else type(exc).__name__) + ". "


def check_credential(settings) -> None:
    """Get one ARM token first, so a live scan without credentials fails at once with the cause
    (e.g. "Azure CLI not found on path") instead of after the feed's retries."""
    from scanner import bootstrap
    from scanner.errors import AzureReadError

    try:
        bootstrap.credential(settings).get_token(settings.arm_scope)
    except Exception as exc:  # noqa: BLE001 - every credential failure is reported the same way
        raise AzureReadError(
            f"no Azure credential could get a token for {settings.arm_endpoint}:{credential_causes(exc)}"
            "Run `az login`, use a managed identity (AZURE_CLIENT_ID for a user-assigned one), "
            "or scan exported files with --inventory"
        ) from None


def run(args) -> int:
    from scanner.config import Settings, parse_scope
    from scanner.core.bulk import paused_gc
    from scanner.core.judge import Thresholds
    from scanner.core.model import Severity
    from scanner.service import ScanOptions, run_scan

    if args.scope:
        parse_scope(args.scope)  # bad usage fails before anything is read
    settings = Settings.from_env(os.environ)  # a malformed setting is named, offline too (exit 2)
    if not args.inventory:
        check_credential(settings)  # before the feed and the inventory: say the real cause at once
    now = datetime.now(timezone.utc).replace(microsecond=0)
    today = args.today or now.date()
    args.today = today
    deps = build_deps(args, settings)
    options = ScanOptions(
        today=today,
        thresholds=Thresholds.from_settings(settings),
        no_store=args.no_store,
        no_notify=args.no_notify,
        dry_run=args.dry_run,
    )
    outbox = None
    if not args.no_store:
        deps.store, storage = scan_store(settings)
        outbox = storage.outbox if storage is not None else None
        reads_feed_url = (args.feed is None and not args.inventory) or (args.feed and args.feed == settings.feed_url)
        if storage is not None and reads_feed_url:
            deps.load_catalog = feed_with_snapshot(settings, args, storage.snapshots, now)
    if not args.no_notify:
        deps.notifier = scan_notifier(settings, outbox)
    report = run_scan(deps, now, options)
    with paused_gc():
        write_report(report, args)
    if args.fail_on:
        crossed = report.at_or_above(Severity.parse(args.fail_on))
        if crossed:
            sys.stderr.write(fail_on_text(args.fail_on, crossed))
            return EXIT_FINDINGS
    return EXIT_OK


def write_report(report, args) -> None:
    """The report to --output (written beside it and renamed into place when whole) or stdout, as it
    is produced: JSON compact unless --pretty."""
    from scanner.core import schema as output

    pretty = bool(getattr(args, "pretty", False))
    if not args.output:
        output.write(report, args.format, sys.stdout, pretty=pretty)
        return
    target = Path(args.output)
    partial = target.with_name(target.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8", newline="") as fh:
            output.write(report, args.format, fh, pretty=pretty)
        os.replace(partial, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise InputError(f"--output: cannot write {args.output!r} ({exc.strerror or exc})") from None


MAX_FAIL_LINES = 20


def fail_on_text(threshold: str, crossed) -> str:
    """What made --fail-on exit 3, for stderr: one line per finding (most urgent first)."""
    from scanner.core.judge import sort_findings
    from scanner.core.schema import short_id

    crossed = list(sort_findings(crossed))
    lines = [f"--fail-on {threshold}: {len(crossed)} finding(s) at or above {threshold} "
             "(exit 3; suppressed ones are not counted):"]
    for f in crossed[:MAX_FAIL_LINES]:
        r = f.resource
        where = r.name + (f"/{r.pool}" if r.pool else "")
        days = "" if f.days_left is None else f", {f.days_left} days left"
        lines.append(f"  {short_id(f.id)}  {f.severity.value:<8}  {where}  {f.vm_size}  {f.rule.value}{days}")
    if len(crossed) > MAX_FAIL_LINES:
        lines.append(f"  ... and {len(crossed) - MAX_FAIL_LINES} more")
    return "\n".join(lines) + "\n"
