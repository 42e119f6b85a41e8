"""The typed ports the service depends on (Protocols). Adapters live in tables/ and sources/;
in-memory implementations for tests live in tests/fakes/ports.py.

    FindingRepo   findings and their acks: read all, read one, write ETag-conditionally
    RunLog        one record per scan run, and the history drawn from them
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from scanner.core.lifecycle import Record, Suppression


@dataclass
class WriteResult:
    """What one `FindingRepo.write_records` call did."""

    written: set[str] = field(default_factory=set)  # finding ids this writer stored
    lost: set[str] = field(default_factory=set)  # someone else changed them first (not written)
    transactions: int = 0
    single_writes: int = 0


class FindingRepo(Protocol):
    def load_records(self) -> dict[str, Record]: ...

    def get_record(self, finding_id: str, partition: str | None = None) -> Record | None: ...

    def write_records(self, records: Sequence[Record]) -> WriteResult:
        """Create (etag "") or replace-if-unchanged (etag) each record; a record someone else
        changed first is reported in `lost`, never overwritten."""
        ...

    def load_suppressions(self) -> dict[str, Suppression]: ...

    def put_suppression(self, suppression: Suppression) -> None: ...

    def delete_suppression(self, finding_id: str) -> bool: ...


class RunLog(Protocol):
    def put_run(self, run: Mapping[str, Any]) -> None: ...

    def list_runs(self, since: datetime) -> list[dict[str, Any]]: ...

    def history(self, days: int, today: date) -> list[dict[str, Any]]: ...
