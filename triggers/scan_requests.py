"""Queue trigger: run one ad-hoc scan asked for by POST /api/scan (message: run id + options).

Queue name from the SCAN_QUEUE app setting, storage from AzureWebJobsStorage. The scan runs at
most once per run id: a re-delivered message of a finished run is skipped; one whose worker died
takes the run over (scanner.jobs.execute). The result lands on the run record, where
GET /api/scan/{run_id} (and the waiting POST) read it."""

from __future__ import annotations

import azure.functions as func

from scanner import jobs
from scanner.bootstrap import get_context

bp = func.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name="%SCAN_QUEUE%", connection="AzureWebJobsStorage")
def run_scan_request(msg: func.QueueMessage) -> None:
    jobs.run_scan_request(get_context(), msg.get_body())
