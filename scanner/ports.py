"""The typed ports the service depends on (Protocols). Adapters live in tables/, sources/ and
scanner.notify; in-memory implementations for tests live in tests/fakes/ports.py.

    CatalogSource     () -> (Catalog, [ScopeError])          the catalogue and what could not be read
    InventorySource   () -> Inventory                         resources (carrying their own errors)
    SkuSource         (Inventory) -> (SkuIndex, [ScopeError]) SKU facts for the inventory's regions
    FindingRepo       findings and their acks: read all, read one, write ETag-conditionally,
                      clear the duty to tell
    RunLog            one record per scan run, and the history drawn from them
    Notifier          renders, records (the outbox) and sends what a plan says must be told
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol

from scanner.core.catalog import Catalog
from scanner.core.lifecycle import Record, Suppression
from scanner.core.model import Change, Inventory, ScopeError


class CatalogSource(Protocol):
    def __call__(self) -> tuple[Catalog, Sequence[ScopeError]]: ...


class InventorySource(Protocol):
    def __call__(self) -> Inventory: ...


class SkuSource(Protocol):
    def __call__(self, inventory: Inventory, /) -> tuple[Any, Sequence[ScopeError]]:
        """(SkuIndex, errors): facts for the (subscription, region) pairs the inventory uses."""
        ...


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

    def mark_told(self, records: Sequence[Record]) -> None:
        """Clear `tell_pending` on these records: what they must tell is in the outbox."""
        ...

    def load_suppressions(self) -> dict[str, Suppression]: ...

    def put_suppression(self, suppression: Suppression) -> None: ...

    def delete_suppression(self, finding_id: str) -> bool: ...


class RunLog(Protocol):
    def put_run(self, run: Mapping[str, Any]) -> None: ...

    def list_runs(self, since: datetime) -> list[dict[str, Any]]: ...

    def history(self, days: int, today: date) -> list[dict[str, Any]]: ...


class Notifier(Protocol):
    def send(self, changes: Iterable[Change], report: Any = None, *, now: datetime,
             dry_run: bool = False) -> list[dict[str, Any]]:
        """Render what `changes` make due, record it in the outbox, send (or enqueue) it; the
        messages as JSON-able dicts. A dry run renders only."""
        ...

    @property
    def recorded(self) -> bool:
        """The latest `send` recorded everything due in the outbox (the duty to tell is done)."""
        ...

    def delivery_errors(self) -> list[ScopeError]:
        """Recipient sets whose messages are still undeliverable (kept, retried, never dropped)."""
        ...
