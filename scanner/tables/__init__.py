"""Azure Table and Queue Storage adapters: the only code importing azure.data.tables / azure.storage.queue.

    open_storage(settings, credential=None, create=True) -> Storage
        every table adapter over one Table service and prefix (bootstrap builds it once per process)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scanner.tables.findings import TableFindings
    from scanner.tables.kit import Tables
    from scanner.tables.outbox import Outbox
    from scanner.tables.runs import ScanRuns, TableRunLog
    from scanner.tables.snapshots import TableSnapshots


@dataclass(frozen=True)
class Storage:
    """The table adapters of one prefix: the ports the service and the API use."""

    tables: Tables
    findings: TableFindings  # the FindingRepo port
    runs: TableRunLog  # the RunLog port
    scan_runs: ScanRuns
    snapshots: TableSnapshots
    outbox: Outbox


def open_storage(settings: Any, credential: Callable[[], Any] | None = None, create: bool = True,
                 **client_kwargs: Any) -> Storage:
    """The tables named by settings (kit.table_service), created if missing unless `create=False`."""
    from scanner.tables.findings import TableFindings
    from scanner.tables.kit import Tables, table_service
    from scanner.tables.outbox import Outbox
    from scanner.tables.runs import ScanRuns, TableRunLog
    from scanner.tables.snapshots import TableSnapshots

    tables = Tables(table_service(settings, credential, **client_kwargs), settings.table_prefix, create=create)
    return Storage(tables, TableFindings(tables), TableRunLog(tables), ScanRuns(tables), TableSnapshots(tables),
                   Outbox(tables.table("notifications")))
