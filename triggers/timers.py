"""Timer triggers. Schedules come from app settings (NCRONTAB, six fields, UTC):
SCAN_SCHEDULE (default "0 0 2 * * *") and FEED_SCHEDULE (default "0 0 * * * *"). The host resolves
`%SETTING%` itself, so both settings must exist in the app (infra and local.settings set them)."""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import azure.functions as func

from scanner import jobs
from scanner.bootstrap import get_context

bp = func.Blueprint()
log = logging.getLogger("scanner.triggers")


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


@bp.timer_trigger(arg_name="timer", schedule="%SCAN_SCHEDULE%", run_on_startup=False, use_monitor=True)
def nightly_scan(timer: func.TimerRequest) -> None:
    jobs.nightly_scan(get_context(), _now(), past_due=bool(timer.past_due))


@bp.timer_trigger(arg_name="timer", schedule="%FEED_SCHEDULE%", run_on_startup=False, use_monitor=True)
def ingest_feed(timer: func.TimerRequest) -> None:
    if timer.past_due:
        log.warning("ingest_feed: the timer is past due; refreshing now")
    jobs.ingest_feed(get_context(), _now())
