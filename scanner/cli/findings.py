"""aks-retire findings [--severity ...] [--rule ...] [--status ...] [--subscription ...]
                      [--cluster ...] [--size ...] [--top N] [--format table|json|csv]

The stored findings as of today, with the filters of GET /api/findings (comma lists):
severity, rule, status (new,open,escalated,suppressed by default; resolved, active, all),
subscription, cluster (name or ARM id), size. Everything that matches is listed unless --top
says otherwise. Reads the store named by AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from datetime import datetime, timezone

from scanner.errors import InputError

FILTERS = ("severity", "rule", "status", "subscription", "cluster", "size")


def query_from_args(args):
    """The API's FindingQuery from the flags; a bad value is an InputError naming the flag."""
    from scanner.api import ApiError, parse_findings_query

    params = {name: getattr(args, name) for name in FILTERS if getattr(args, name) is not None}
    try:
        return parse_findings_query(params)
    except ApiError as exc:
        flag = f"--{exc.parameter}" if exc.parameter else "filters"
        message = exc.message.split(": ", 1)[1] if exc.message.startswith(f"{exc.parameter}:") else exc.message
        raise InputError(f"{flag}: {message}") from None


def collect(store, q, now, limit: int | None):
    """Every matching finding (page after page), or the first `limit` and whether more match."""
    from scanner.api import MAX_TOP, query_findings

    out = []
    while True:
        want = MAX_TOP if limit is None else min(MAX_TOP, limit - len(out))
        items, after = query_findings(store, replace(q, top=want), now)
        out += items
        if after is None:
            return out, False
        q = replace(q, after=after)
        if limit is not None and len(out) >= limit:  # a next page may be empty: look at one more
            return out, bool(query_findings(store, replace(q, top=1), now)[0])


def run(args) -> int:
    from scanner import bootstrap
    from scanner.api import FINDINGS_SCHEMA
    from scanner.config import Settings
    from scanner.core import schema

    q = query_from_args(args)
    store = bootstrap.storage(Settings.from_env(os.environ))
    now = datetime.now(timezone.utc).replace(microsecond=0)
    items, more = collect(store, q, now, args.top)
    if more:  # on stderr, so the JSON and CSV stay as they are
        print(f"note: --top {args.top}: more findings match; without --top every one is listed", file=sys.stderr)
    if args.format == "csv":
        schema.write_csv(items, sys.stdout)
    elif args.format == "json":
        doc = {"schema": FINDINGS_SCHEMA, "generated_at": now.isoformat(), "today": now.date().isoformat(),
               "count": len(items), "findings": [schema.finding_to_json(f) for f in items],
               "continuation": None, "nextLink": None}
        print(json.dumps(doc, indent=2))
    else:
        first = f" (the first {len(items)}, --top {args.top}; more match)" if more else ""
        lines = [f"Stored findings on {now.date().isoformat()}: {schema.count_line(items)}{first}", ""]
        if not items:
            lines.append("None match.")
        lines += schema.findings_table(items)
        if items:
            lines.append("One in full: `show ID`.")
        print("\n".join(lines).rstrip())
    return 0


def _top(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not 1 or more")
    return value


def register(sub) -> None:
    from scanner.cli import lower_choice

    p = sub.add_parser("findings", help="list stored findings, with the filters of GET /api/findings",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--severity", metavar="LIST", help="critical,high,medium,low,info")
    from scanner.core.model import Rule

    p.add_argument("--rule", metavar="LIST", help=",".join(r.value for r in Rule))
    p.add_argument("--status", metavar="LIST",
                   help="new,open,escalated,suppressed (default), resolved, active or all")
    p.add_argument("--subscription", metavar="LIST", help="subscription ids")
    p.add_argument("--cluster", metavar="LIST", help="cluster (or VM / scale set) names or ARM ids")
    p.add_argument("--size", metavar="LIST", help="VM sizes, e.g. Standard_D4s_v3")
    p.add_argument("--top", type=_top, metavar="N", help="at most N findings (default: all)")
    p.add_argument("--format", type=lower_choice, choices=("table", "json", "csv"), default="table",
                   help="output format")
    p.set_defaults(func=run)
