"""python -m scanner unack FINDING_ID

Remove the acknowledgement made with `ack`: the finding is notified again from the next scan.
(A `retirement-scanner:ignore-until` tag on the resource is removed by editing the tag.)
"""

from __future__ import annotations

import argparse
import os

from scanner.cli.ack import resolve_finding_id
from scanner.errors import InputError


def run(args) -> int:
    from scanner import bootstrap
    from scanner.config import Settings
    from scanner.core.lifecycle import parse_ignore_tag

    store = bootstrap.storage(Settings.from_env(os.environ)).findings
    fid = resolve_finding_id(store, args.finding_id)
    if not store.delete_suppression(fid):
        raise InputError(f"FINDING_ID: {fid} has no acknowledgement to remove")
    print(f"unacknowledged {fid}: it is reported and notified again from the next scan")
    record = store.get_record(fid)
    if record is not None:
        until, _ = parse_ignore_tag(record.finding.resource.tags)
        if until is not None:
            print(f"note: the resource's tag still suppresses it until {until.isoformat()}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("unack", help="remove an acknowledgement made with ack", description=__doc__,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("finding_id", metavar="FINDING_ID", help="the finding's id, or its short form, as in `scan` output")
    p.set_defaults(func=run)
