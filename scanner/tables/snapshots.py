"""Named snapshots in the Catalog table (the feed-derived catalogue): a body, a watermark, the
feed's ETag, each write ETag-conditional so two instances never lose each other's items.

    PartitionKey "snapshot", RowKey <name>: Body (kit.pack_text), Watermark, FeedETag, Updated.
    snapshot_to_text(items) / snapshot_from_text(text, item_type)   the body's JSON (pure)
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from azure.core import MatchConditions
from azure.core.exceptions import (
    AzureError,
    ResourceExistsError,
    ResourceModifiedError,
    ResourceNotFoundError,
)

from scanner.errors import StoreError
from scanner.tables.kit import Tables, from_jsonable, pack_text, to_jsonable, unpack_text, utc

FORMAT = 1


def snapshot_to_text(items: Iterable[Any]) -> str:
    ordered = sorted(items, key=lambda a: a.id)
    return json.dumps({"format": FORMAT, "items": [to_jsonable(a) for a in ordered]},
                      separators=(",", ":"), sort_keys=True)


def snapshot_from_text(text: str, item_type: type, where: str = "feed snapshot") -> list[Any]:
    """The items of a stored snapshot, each decoded as `item_type` (feed: sources.feed.Announcement)."""
    try:
        doc = json.loads(text)
    except ValueError:
        raise StoreError(f"{where}: stored JSON is not readable") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT or not isinstance(doc.get("items"), list):
        raise StoreError(f"{where}: not a format-{FORMAT} snapshot (keys 'format' and 'items')")
    out = []
    for i, item in enumerate(doc["items"]):
        try:
            out.append(from_jsonable(item_type, item, f"{where}.items[{i}]"))
        except (ValueError, TypeError, KeyError) as exc:
            raise StoreError(f"{where}: items[{i}] is not readable ({exc})") from None
    return out


class TableSnapshots:
    """Named snapshots in the Catalog table."""

    def __init__(self, tables: Tables) -> None:
        self.tables = tables

    @property
    def table_name(self) -> str:
        return self.tables.table_name("catalog")


    def get_snapshot(self, name: str) -> dict[str, Any] | None:
        """{"name", "body", "watermark", "feed_etag", "updated", "etag"} or None."""
        try:
            self.tables.requests["read"] += 1
            e = self.tables.table("catalog").get_entity("snapshot", name)
        except ResourceNotFoundError:
            return None
        except AzureError as exc:
            raise self.tables.fail(f"reading snapshot {name}", "catalog", exc) from None
        return {
            "name": name,
            "body": unpack_text(e, "Body", f"snapshot {name}"),
            "watermark": e.get("Watermark", ""),
            "feed_etag": e.get("FeedETag", ""),
            "updated": utc(e.get("Updated")),
            "etag": (getattr(e, "metadata", None) or {}).get("etag", ""),
        }

    def put_snapshot(self, name: str, body: str, *, watermark: str = "", feed_etag: str = "",
                     now: datetime, if_match: str | None = None) -> bool:
        """Store a snapshot. With `if_match` (the etag read), only if nobody wrote it since:
        returns False when someone did (or, with if_match="", when it already exists)."""
        from azure.data.tables import UpdateMode

        entity = {"PartitionKey": "snapshot", "RowKey": name, "Watermark": watermark,
                  "FeedETag": feed_etag, "Updated": utc(now)}
        entity.update(pack_text("Body", body, f"snapshot {name}"))
        table = self.tables.table("catalog")
        try:
            self.tables.requests["write"] += 1
            if if_match is None:
                table.upsert_entity(entity, mode=UpdateMode.REPLACE)
            elif if_match == "":
                table.create_entity(entity)
            else:
                table.update_entity(entity, mode=UpdateMode.REPLACE, etag=if_match,
                                    match_condition=MatchConditions.IfNotModified)
        except (ResourceExistsError, ResourceModifiedError, ResourceNotFoundError):
            return False
        except AzureError as exc:
            raise self.tables.fail(f"writing snapshot {name}", "catalog", exc) from None
        return True
