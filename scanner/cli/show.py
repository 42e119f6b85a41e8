"""aks-retire show FINDING_ID [--format text|json]

One stored finding in full: its facts, the replacement and why, the commands to rebuild, its
history (first seen, last changed, resolved, acknowledged) and links (announcements, portal).
FINDING_ID is the id of `scan` / `findings` output, or its short form (the table's 8 characters).
Reads the store named by AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import datetime, timezone

from scanner.core.model import Finding, ResourceKind

FORMATS = ("text", "json")


def portal_link(portal_url: str, f: Finding) -> str:
    base = (portal_url or "https://portal.azure.com").rstrip("/")
    suffix = "/nodePools" if f.resource.kind is ResourceKind.AKS_NODEPOOL else "/overview"
    return f"{base}/#resource{f.resource.id}{suffix}"


def _days_text(days: int | None) -> str:
    if days is None:
        return "no retirement date"
    if days > 0:
        return f"{days} day{'s' if days != 1 else ''} left"
    if days == 0:
        return "retires today"
    return f"retired {-days} day{'s' if days != -1 else ''} ago"


def _when(value) -> str:
    return value.isoformat().replace("+00:00", "Z") if value is not None else "-"


def to_json(f: Finding, record, portal: str) -> dict:
    from scanner.core.schema import finding_to_json

    doc = finding_to_json(f)
    doc["history"] = {
        "state": record.state,
        "first_seen": _when(record.first_seen),
        "last_changed": _when(record.last_changed),
        "resolved_at": _when(record.resolved_at) if record.resolved_at else None,
    }
    doc["links"] = {"announcements": list(f.retirement.urls) if f.retirement else [], "portal": portal}
    return doc


def to_text(f: Finding, record, portal: str) -> str:
    from scanner.core.schema import short_id

    r = f.resource
    where = r.name + (f" / pool {r.pool}" if r.pool else "")
    status = f.status.value
    if f.suppressed_until is not None:
        status += f" until {f.suppressed_until.isoformat()} ({f.suppression_reason})"
    rows = [
        ("id", f"{f.id} (short: {short_id(f.id)})"),
        ("status", status),
        ("severity", f.severity.value + (" (not counted while suppressed)" if f.suppressed_until else "")),
        ("rule", f.rule.value),
        ("resource", f"{r.kind.value} {where}"),
        ("where", f"resource group {r.resource_group} · {r.location} · subscription {r.subscription_id}"),
        ("arm id", r.id),
        ("size", f.vm_size + ("  (restricted here: the autoscaler cannot add nodes)" if f.restricted else "")),
    ]
    if f.retirement is not None:
        ret = f.retirement
        rows.append(("retirement", f"{ret.id}: {ret.title}"))
        rows.append(("retires on", f"{ret.retires_on.isoformat()} ({_days_text(f.days_left)}); source {ret.source}"))
    rows.append(("finding", f.message))
    width = max(len(k) for k, _ in rows)
    out = [f"{k.ljust(width)}  {v}" for k, v in rows]
    out += ["", "Replacement:"]
    if f.replacement is not None:
        out.append(f"  {f.replacement.vm_size}: {f.replacement.why}")
        if f.replacement.alternatives:
            out.append(f"  alternatives: {', '.join(f.replacement.alternatives)}")
    else:
        out.append("  none proposed (see the finding above)")
    if f.commands:
        out += ["", "Commands:"]
        out += [f"  {c}" for c in f.commands]
    out += ["", "History:",
            f"  first seen    {_when(record.first_seen)}",
            f"  last changed  {_when(record.last_changed)}"]
    if record.resolved_at is not None:
        out.append(f"  resolved      {_when(record.resolved_at)}")
    out += ["", "Links:"]
    out += [f"  {u}" for u in (f.retirement.urls if f.retirement else ())]
    out.append(f"  portal: {portal}")
    return "\n".join(out) + "\n"


def run(args) -> int:
    from scanner import bootstrap
    from scanner.api import _latest_run_start, show_record
    from scanner.cli import program_name
    from scanner.cli.ack import resolve_finding_id
    from scanner.config import Settings
    from scanner.errors import InputError

    settings = Settings.from_env(os.environ)
    store = bootstrap.storage(settings)
    fid = resolve_finding_id(store.findings, args.finding_id)
    record = store.findings.get_record(fid)
    if record is None:
        raise InputError(f"FINDING_ID: {fid} is not in the store (run `{program_name()} scan` first)")
    now = datetime.now(timezone.utc)
    f = show_record(record, store.findings.load_suppressions(), now.date(), _latest_run_start(store, now))
    portal = portal_link(settings.portal_url, f)
    if args.format == "json":
        print(json.dumps(to_json(f, record, portal), indent=2))
    else:
        print(to_text(f, record, portal), end="")
    return 0


def register(sub) -> None:
    from scanner.cli import lower_choice

    p = sub.add_parser("show", help="one stored finding in full: facts, replacement, commands, history, links",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("finding_id", metavar="FINDING_ID", help="the finding's id or its short form")
    p.add_argument("--format", type=lower_choice, choices=FORMATS, default="text", help="output format")
    p.set_defaults(func=run)
