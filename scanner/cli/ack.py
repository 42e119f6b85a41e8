"""python -m scanner ack FINDING_ID --until YYYY-MM-DD --reason TEXT

Suppress one finding until a date (inclusive): it stays listed (status "suppressed") but is not
notified, and comes back the day after. Stored in the Suppressions table of the store named by
AzureWebJobsStorage or STORAGE_TABLE_ENDPOINT. To suppress everything on a cluster, VM or scale
set instead, tag it `retirement-scanner:ignore-until=YYYY-MM-DD`.
"""

from __future__ import annotations

import argparse
import os
import re
from datetime import date, datetime, timezone

from scanner.errors import InputError

FINDING_ID = re.compile(r"^[0-9A-Za-z_-]{1,128}$")
MAX_REASON = 1000
FULL_ID = 32  # hex characters of a finding id (scanner.core.model.finding_id)
MIN_SHORT_ID = 6  # the tables show 8; fewer than 6 is too easy to mistype into another finding


def parse_finding_id(text: str) -> str:
    value = (text or "").strip()
    if not FINDING_ID.match(value):
        raise InputError(f"FINDING_ID: {text!r} is not a finding id (the 'id' of a finding in `scan` output)")
    return value.lower() if re.fullmatch(r"[0-9A-Fa-f]+", value) else value


def resolve_finding_id(store, text: str) -> str:
    """A full finding id from a full one or a short one (a prefix, as the tables show), read from
    the store; an unknown, too short or ambiguous prefix is an InputError naming the candidates."""
    fid = parse_finding_id(text)
    if len(fid) >= FULL_ID or not re.fullmatch(r"[0-9a-f]+", fid):
        return fid
    if len(fid) < MIN_SHORT_ID:
        raise InputError(f"FINDING_ID: {text!r} is too short; give at least {MIN_SHORT_ID} characters "
                         "(the tables show 8) or the full id")
    matches = sorted(i for i in store.load_records() if i.startswith(fid))
    if not matches:
        raise InputError(f"FINDING_ID: no stored finding id starts with {fid} "
                         "(run `aks-retire scan` first, or give the full id)")
    if len(matches) > 1:
        raise InputError(f"FINDING_ID: {fid} matches {len(matches)} findings ({', '.join(matches[:5])}); "
                         "give more characters")
    return matches[0]


def parse_until(text: str, today: date) -> date:
    raw = (text or "").strip()
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", raw):
            raise ValueError
        until = date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"--until: {text!r} is not a date YYYY-MM-DD") from None
    if until < today:
        raise InputError(f"--until: {raw} is in the past (today is {today.isoformat()} UTC)")
    return until


def parse_reason(text: str) -> str:
    reason = " ".join((text or "").split())
    if not reason:
        raise InputError("--reason: say why this finding is acknowledged (e.g. 'migration booked for May')")
    if len(reason) > MAX_REASON:
        raise InputError(f"--reason: {len(reason)} characters, at most {MAX_REASON}")
    return reason


def _describe(record) -> str:
    f = record.finding
    where = f.resource.name + (f"/{f.resource.pool}" if f.resource.pool else "")
    return f"{where} on {f.vm_size} ({f.rule.value}, {f.severity.value})"


def run(args) -> int:
    from scanner import bootstrap
    from scanner.cli import program_name
    from scanner.config import Settings
    from scanner.core.lifecycle import Suppression

    now = datetime.now(timezone.utc)
    parse_finding_id(args.finding_id)
    until = parse_until(args.until, now.date())
    reason = parse_reason(args.reason)
    store = bootstrap.storage(Settings.from_env(os.environ)).findings
    if args.force:
        fid = parse_finding_id(args.finding_id)
        if len(fid) < FULL_ID:
            raise InputError(f"FINDING_ID: --force needs the full {FULL_ID}-character id, not {fid!r}")
    else:
        fid = resolve_finding_id(store, args.finding_id)
    record = store.get_record(fid)
    if record is None and not args.force:
        raise InputError(
            f"FINDING_ID: {fid} is not in the store (run `{program_name()} scan` first, "
            "or pass --force to acknowledge it anyway)"
        )
    earlier = store.load_suppressions().get(fid)
    store.put_suppression(Suppression(fid, until, reason, "ack", now))
    what = _describe(record) if record is not None else "(not seen yet)"
    print(f"acknowledged {fid} {what} until {until.isoformat()}: {reason}")
    if earlier is not None:
        print(f"note: this replaces the acknowledgement until {earlier.until.isoformat()}: {earlier.reason}")
    return 0


def register(sub) -> None:
    p = sub.add_parser(
        "ack",
        help="suppress a finding until a date (listed as suppressed, not notified)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("finding_id", metavar="FINDING_ID",
                   help="the finding's id, as in `scan` output (the 8-character short form of the table too)")
    p.add_argument("--until", required=True, metavar="YYYY-MM-DD", help="last day of the suppression (UTC)")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why (shown with the finding)")
    p.add_argument("--force", action="store_true", help="acknowledge an id the store has not seen yet")
    p.set_defaults(func=run)

