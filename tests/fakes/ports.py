"""In-memory implementations of the service's ports (scanner/ports.py), for unit and service
tests: the same contracts as the Table adapters (ETag-conditional writes, lost records, the duty
to tell) without Azurite.

    MemoryFindingRepo   FindingRepo; `before_write` lets a test act as another run in between
    MemoryRunLog        RunLog
    MemoryNotifier      Notifier: renders with notifiers.render from what it told before, records
                        every message in `outbox` (the told rows with it), sends nothing;
                        `fail_before_record` makes the next send die before recording (a crash)
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from notifiers.render import build_messages
from scanner.config import Settings
from scanner.core.lifecycle import Record, Suppression
from scanner.core.messages import Message, Told
from scanner.core.model import Change, ScopeError
from scanner.ports import WriteResult


class MemoryFindingRepo:
    def __init__(self) -> None:
        self.records: dict[str, Record] = {}
        self.suppressions: dict[str, Suppression] = {}
        self.before_write: Callable[[MemoryFindingRepo], None] | None = None
        self.writes = 0
        self._etags = itertools.count(1)

    def load_records(self) -> dict[str, Record]:
        return dict(self.records)

    def get_record(self, finding_id: str, partition: str | None = None) -> Record | None:
        return self.records.get(finding_id)

    def put(self, record: Record) -> Record:
        """Store a record as another writer would (a new etag)."""
        stored = replace(record, etag=f"e{next(self._etags)}")
        self.records[record.id] = stored
        return stored

    def write_records(self, records: Sequence[Record]) -> WriteResult:
        hook, self.before_write = self.before_write, None
        if hook is not None:
            hook(self)
        out = WriteResult(transactions=1)
        for r in records:
            have = self.records.get(r.id)
            if (have is None and r.etag) or (have is not None and have.etag != r.etag):
                out.lost.add(r.id)
                continue
            self.put(r)
            self.writes += 1
            out.written.add(r.id)
        return out

    def mark_told(self, records: Sequence[Record]) -> None:
        for r in records:
            have = self.records.get(r.id)
            if have is not None:
                self.put(replace(have, tell_pending=False))

    def load_suppressions(self) -> dict[str, Suppression]:
        return dict(self.suppressions)

    def put_suppression(self, suppression: Suppression) -> None:
        self.suppressions[suppression.finding_id] = suppression

    def delete_suppression(self, finding_id: str) -> bool:
        return self.suppressions.pop(finding_id, None) is not None


class MemoryRunLog:
    def __init__(self) -> None:
        self.runs: dict[str, dict[str, Any]] = {}

    def put_run(self, run: Mapping[str, Any]) -> None:
        self.runs[run["run_id"]] = dict(run)

    def list_runs(self, since: datetime) -> list[dict[str, Any]]:
        return sorted((r for r in self.runs.values() if r["started"] >= since), key=lambda r: r["started"])

    def history(self, days: int, today: date) -> list[dict[str, Any]]:
        from scanner.tables.runs import history_from_runs

        since = datetime.combine(today - timedelta(days=days + 90), datetime.min.time(), timezone.utc)
        return history_from_runs(self.list_runs(since), days, today)


class Crash(RuntimeError):
    """The process died here (a test's stand-in for a killed instance)."""


class MemoryNotifier:
    def __init__(self, settings: Settings | None = None, channels: Iterable[str] = ("teams",)) -> None:
        self.settings = settings or Settings.from_env({"TEAMS_WEBHOOK_URL": "https://hook.invalid/x"})
        self.channels = tuple(channels)
        self.told: dict[str, dict[str, Told]] = {}
        self.outbox: list[Message] = []
        self.fail_before_record = False
        self._recorded = False

    def send(self, changes: Iterable[Change], report: Any = None, *, now: datetime,
             dry_run: bool = False) -> list[dict[str, Any]]:
        self._recorded = False
        rendered = build_messages(list(changes), self.told, self.settings, now, self.channels)
        if dry_run:
            return [m.to_dict() for m in rendered.messages]
        if self.fail_before_record:
            self.fail_before_record = False
            raise Crash("the run died before the notification was recorded")
        for m in rendered.messages:
            self.outbox.append(m)
            for fid, stage, severity, days_left in m.stages:
                self.told.setdefault(m.recipient.key, {})[fid] = Told(stage, severity, days_left, m.id)
        self._recorded = True
        return [{"id": m.id, "subject": m.subject, "counts": m.counts} for m in rendered.messages]

    @property
    def recorded(self) -> bool:
        return self._recorded

    def delivery_errors(self) -> list[ScopeError]:
        return []

    def stages(self) -> list[tuple[str, str]]:
        """(finding id, stage) of every message recorded, in order."""
        return [(fid, stage) for m in self.outbox for fid, stage, _, _ in m.stages]
