"""Fixtures for the Functions app: the real function objects, Azurite, a feed server on loopback.

    app_env        environment for the app: Azurite storage (fresh table prefix and queue), the
                   sample tenant's exported inventory and SKU files (SCAN_INVENTORY_FILES /
                   SCAN_SKU_FILES), the feed from `feed` below, notifications written to a folder.
                   Applied to os.environ (what the triggers read); everything else the app reads
                   is cleared first.
    fn             {function name: the user function} from function_app.build().get_functions()
    scan_host      what the Functions host does for SCAN_QUEUE: a thread handing each message to
                   run_scan_request (then deleting it), so POST /api/scan finds its scan run
    feed           FeedServer: the Azure Updates API fixture served over HTTP with ETag,
                   `modified ge` filtering and an optional delay; `add(record)` publishes a record.
"""

from __future__ import annotations

import copy
import json
import os
import threading
import time
from datetime import datetime

import pytest

from tests.conftest import FIXTURES, ROOT
from tests.fakes.azurite import unique_name
from tests.fakes.loopback import LoopbackServer

API_FIXTURE = FIXTURES / "feed" / "api-v2-retirements-2025-08-to-2026-08.json"
SETTING_NAMES = set(json.loads((ROOT / "local.settings.example.json").read_text())["Values"]) | {
    "SCAN_INVENTORY_FILES", "SCAN_SKU_FILES", "STORAGE_TABLE_ENDPOINT", "STORAGE_QUEUE_ENDPOINT",
    "AzureWebJobsStorage__accountName", "HTTP_SCAN_TIMEOUT_SECONDS", "NOTIFY_DIR",
}


class FeedServer(LoopbackServer):
    """The JSON API at /api/v2/azure (RSS fallback at /rss answers 503 unless `rss` is set)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[dict] = copy.deepcopy(json.loads(API_FIXTURE.read_text(encoding="utf-8"))["value"])
        self.delay = 0.0
        self.down = False
        self.url = f"{self.base}/releasecommunications/api/v2/azure"
        self.rss_url = f"{self.base}/rss"

    @property
    def etag(self) -> str:
        stamp = max((r.get("modified") or "") for r in self.records)
        return f'"{len(self.records)}-{stamp}"'

    def respond(self, req: dict) -> tuple[int, dict, bytes]:
        if self.delay:
            time.sleep(self.delay)
        if self.down or not req["path"].endswith("/api/v2/azure"):
            return 503, {"Retry-After": "0"}, b"unavailable"
        if req["headers"].get("If-None-Match") == self.etag:
            return 304, {"ETag": self.etag}, b""
        records = self.records
        flt = req["query"].get("$filter", "")
        if " modified ge " in f" {flt} ":
            since = datetime.fromisoformat(flt.split("modified ge ")[1].split()[0].replace("Z", "+00:00"))
            records = [r for r in records
                       if datetime.fromisoformat(r["modified"].replace("Z", "+00:00")) >= since]
        body = json.dumps({"value": records}).encode()
        return 200, {"Content-Type": "application/json; charset=utf-8", "ETag": self.etag}, body

    def add(self, record: dict) -> None:
        self.records.append(record)


def new_retirement_record(record_id: str = "990001", series: str = "Ddsv5",
                          modified: str = "2026-09-01T10:00:00Z") -> dict:
    """A synthetic record in the API's real shape (keys as in the fixture) announcing a retirement
    of a series the built-in catalogue does not retire (the sample tenant runs Standard_D4ds_v5)."""
    return {
        "id": record_id,
        "productCategories": ["Compute"],
        "tags": ["Retirements", "Compute"],
        "products": ["Virtual Machines"],
        "generalAvailabilityDate": None, "previewAvailabilityDate": None, "privatePreviewAvailabilityDate": None,
        "title": f"Retirement: {series}-series virtual machines will be retired on March 31, 2031",
        "description": (f"On March 31, 2031 we will retire the {series}-series Azure virtual machines. "
                        "Resize your VMs before that date.<br>"),
        "status": None, "created": modified, "modified": modified, "locale": None,
        "availabilities": [{"ring": "Retirement", "year": 2031, "month": "March"}],
    }


@pytest.fixture
def feed():
    with FeedServer() as server:
        yield server


@pytest.fixture
def app_env(azurite_env, feed, tmp_path, monkeypatch) -> dict[str, str]:
    from scanner import bootstrap

    env = {
        **azurite_env,
        "NOTIFY_QUEUE": unique_name("q"),
        "SCAN_QUEUE": unique_name("s"),
        "SCAN_INVENTORY_FILES": str(ROOT / "samples" / "inventory"),
        "SCAN_SKU_FILES": str(ROOT / "samples" / "skus"),
        "FEED_URL": feed.url,
        "FEED_FALLBACK_URL": feed.rss_url,
        "NOTIFY_DIR": str(tmp_path / "outbox"),
        "EMAIL_TO": "platform@example.com",
        "EMAIL_FROM": "scanner@example.com",
        "REPORT_BASE_URL": "http://127.0.0.1:7071",
        "SCAN_SCHEDULE": "0 0 2 * * *",
        "FEED_SCHEDULE": "0 0 * * * *",
    }
    apply_env(monkeypatch, env)
    bootstrap.reset()
    yield env
    bootstrap.reset()


def apply_env(monkeypatch, env: dict[str, str]) -> None:
    """Clear every setting the app reads, then set `env`."""
    for name in list(os.environ):
        if name in SETTING_NAMES or name.startswith("TEAMS_WEBHOOK_"):
            monkeypatch.delenv(name, raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)


@pytest.fixture
def fn():
    import function_app

    app = function_app.build()
    return {f.get_function_name(): f.get_user_function() for f in app.get_functions()}


class QueueHost:
    """Stands in for the Functions host on one queue: receive, call the trigger, delete on
    success; a raising trigger leaves the message to come back (as the host's retry does)."""

    def __init__(self, function, queue_client, visibility: int = 2) -> None:
        self.function, self.client, self.visibility = function, queue_client, visibility
        self.outcomes: list[str] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="queue-host", daemon=True)

    def _loop(self) -> None:
        import azure.functions as func

        while not self._stop.is_set():
            got = False
            for m in self.client.receive_messages(max_messages=4, visibility_timeout=self.visibility):
                got = True
                try:
                    self.function(func.QueueMessage(id=m.id, body=m.content.encode()))
                except Exception as exc:  # noqa: BLE001 - the host logs and retries
                    self.errors.append(exc)
                    continue
                self.client.delete_message(m)
                self.outcomes.append(m.id)
            if not got:
                self._stop.wait(0.1)

    def __enter__(self) -> QueueHost:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


@pytest.fixture
def scan_host(fn, app_env):
    from scanner import bootstrap
    from scanner.config import Settings

    queue = bootstrap.scan_request_queue(Settings.from_env(app_env))
    with QueueHost(fn["run_scan_request"], queue.client) as host:
        yield host
    assert host.errors == [], "run_scan_request raised"
