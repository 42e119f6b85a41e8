"""python -m scanner history [--days N] [--format table|json|csv]

Per day (UTC), from the stored scan-run records: open findings by severity after the day's last
run (carried over days without a run; empty before the first run), suppressed findings, and the
day's new, escalated, resolved and reopened counts: the data of a burn-down chart. Reads the
store named by AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
from datetime import datetime, timezone

from scanner.errors import InputError

SEVERITIES = ("critical", "high", "medium", "low", "info")
COLUMNS = ("date", "runs", *SEVERITIES, "open", "suppressed", "new", "escalated", "resolved", "reopened")
MAX_DAYS = 3660


def flat(row: dict) -> dict:
    """One history row as flat columns (None where nothing was known yet)."""
    opened = row.get("open")
    out = {"date": row["date"], "runs": row["runs"]}
    for s in SEVERITIES:
        out[s] = None if opened is None else opened.get(s, 0)
    out["open"] = row.get("open_total")
    out["suppressed"] = row.get("suppressed")
    for k in ("new", "escalated", "resolved", "reopened"):
        out[k] = row.get(k, 0)
    return out


def to_table(rows: list[dict]) -> str:
    cells = [[("-" if v is None else str(v)) for v in (flat(r)[c] for c in COLUMNS)] for r in rows]
    widths = [max(len(c), *(len(line[i]) for line in cells)) if cells else len(c) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(COLUMNS, widths, strict=True)))]
    for line in cells:
        lines.append("  ".join(v.ljust(w) if i == 0 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(line, widths, strict=True))))
    return "\n".join(lines) + "\n"


def to_csv(rows: list[dict]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: ("" if v is None else v) for k, v in flat(r).items()})
    return buf.getvalue()


def to_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2) + "\n"


def _days(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of days") from None
    if not 1 <= value <= MAX_DAYS:
        raise argparse.ArgumentTypeError(f"{value} is not between 1 and {MAX_DAYS}")
    return value


def run(args) -> int:
    from scanner import bootstrap
    from scanner.config import Settings

    if args.format not in ("table", "json", "csv"):
        raise InputError(f"--format: {args.format!r} is not table, json or csv")
    runs = bootstrap.storage(Settings.from_env(os.environ)).runs
    rows = runs.history(args.days, datetime.now(timezone.utc).date())
    render = {"table": to_table, "json": to_json, "csv": to_csv}[args.format]
    print(render(rows), end="")
    return 0


def register(sub) -> None:
    from scanner.cli import lower_choice

    p = sub.add_parser("history", help="open findings by severity per day, from stored runs",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--days", type=_days, default=30, metavar="N", help="how many days, ending today (default 30)")
    p.add_argument("--format", type=lower_choice, choices=("table", "json", "csv"), default="table", help="output format")
    p.set_defaults(func=run)
