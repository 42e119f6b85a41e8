"""Render speed and size: digests for tenants of 300 / 3,000 / 10,000 findings.

Prints, per tenant size: time to plan + render both channels, Teams posts and their largest
size (limit ~28 KB), email HTML / text / CSV sizes, and peak Python memory. Bounded, no I/O
beyond the packaged templates, no network. Run: .venv/bin/python bench/bench_render.py
"""

from __future__ import annotations

import sys
import time
import tracemalloc
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from notifiers.render import build_messages, payload_bytes  # noqa: E402
from scanner.config import Settings  # noqa: E402
from scanner.core.model import Change, Severity  # noqa: E402
from tests.factories import finding  # noqa: E402

SEVERITIES = [Severity.CRITICAL, Severity.HIGH, Severity.MEDIUM, Severity.LOW]


def tenant(n: int) -> list[Change]:
    return [Change("new", finding(
        f"aks-{i % 400}", f"np{i}", sub=f"{i % 20:08d}-0000-0000-0000-000000000000", rg=f"rg-{i % 60}",
        severity=SEVERITIES[i % 4], size="Standard_D4_v2", days_left=5 + i % 700, replacement="Standard_D4s_v5",
        why="same shape, Gen2",
        commands=(f"az aks nodepool add -g rg-{i % 60} --cluster-name aks-{i % 400} -n np{i}v5 "
                  "--node-vm-size Standard_D4s_v5 --node-count 3",
                  f"az aks nodepool delete -g rg-{i % 60} --cluster-name aks-{i % 400} -n np{i}"),
    )) for i in range(n)]


def main() -> None:
    settings = Settings.from_env({"TEAMS_WEBHOOK_URL": "https://example.invalid/hook", "EMAIL_TO": "ops@example.com",
                                  "REPORT_BASE_URL": "https://scanner.example.net/api/report"})
    now = datetime(2026, 3, 1, tzinfo=timezone.utc)
    build_messages(tenant(10), {}, settings, now)  # warm the template cache
    print(f"{'findings':>9} {'seconds':>8} {'posts':>5} {'max post B':>10} {'html KB':>8} {'text KB':>8} "
          f"{'csv KB':>7} {'peak MB':>8}")
    for n in (300, 3_000, 10_000):
        changes = tenant(n)
        t = time.perf_counter()
        msgs = build_messages(changes, {}, settings, now).messages
        elapsed = time.perf_counter() - t
        tracemalloc.start()  # a second pass for memory: tracing slows the run down
        build_messages(changes, {}, settings, now)
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        teams = next(m for m in msgs if m.recipient.channel == "teams")
        mail = next(m for m in msgs if m.recipient.channel == "email")
        print(f"{n:>9} {elapsed:>8.2f} {len(teams.teams_posts):>5} "
              f"{max(payload_bytes(p) for p in teams.teams_posts):>10} {len(mail.html) / 1024:>8.0f} "
              f"{len(mail.text) / 1024:>8.0f} {len(mail.csv) / 1024:>7.0f} {peak / 2**20:>8.1f}")


if __name__ == "__main__":
    main()
