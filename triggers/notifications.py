"""Queue trigger: send one recorded notification per message (`{"id": "<32 hex>"}`).

Queue name from the NOTIFY_QUEUE app setting, storage from AzureWebJobsStorage (connection
string or identity-based `AzureWebJobsStorage__accountName`). A retryable send failure raises, so
the host retries and, past maxDequeueCount, moves the message to `<queue>-poison`."""

from __future__ import annotations

import azure.functions as func

from scanner import jobs
from scanner.bootstrap import get_context

bp = func.Blueprint()


@bp.queue_trigger(arg_name="msg", queue_name="%NOTIFY_QUEUE%", connection="AzureWebJobsStorage")
def send_notifications(msg: func.QueueMessage) -> None:
    jobs.send_notification(get_context(), msg.get_body())
