"""Azure Functions entry point (Python v2 programming model). Triggers stay thin.

    nightly_scan        timer  %SCAN_SCHEDULE%   ingest the feed, scan, store, enqueue notifications
    ingest_feed         timer  %FEED_SCHEDULE%   refresh the feed snapshot; new retirement -> scan
    send_notifications  queue  %NOTIFY_QUEUE%    send one recorded notification
    run_scan_request    queue  %SCAN_QUEUE%      run one ad-hoc scan asked for by POST /api/scan
    api_scan, api_scan_status, api_findings, api_catalog, api_report   HTTP (auth level FUNCTION)

The settings are validated at import (`build`): a bad one stops indexing with a message naming
the setting and the expected form, instead of failing at 2 a.m.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import azure.functions as func

from scanner.bootstrap import get_context
from triggers import http_api, notifications, scan_requests, timers

# One line per stage is ours; the SDKs' per-request INFO lines (which carry URLs) are not.
logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
logging.getLogger("azure.identity").setLevel(logging.WARNING)


def build(env: Mapping[str, str] | None = None) -> func.FunctionApp:
    """The app with every blueprint registered, after validating the settings (ConfigError)."""
    get_context(env)
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    for blueprint in (timers.bp, notifications.bp, scan_requests.bp, http_api.bp):
        app.register_functions(blueprint)
    return app


app = build()
