"""HTTP triggers (auth level FUNCTION): adapt HttpRequest/HttpResponse to scanner.api handlers.

    POST /api/scan   GET /api/scan/{run_id}   GET /api/findings   GET /api/catalog   GET /api/report
"""

from __future__ import annotations

from urllib.parse import urlsplit

import azure.functions as func

from scanner import api
from scanner.bootstrap import get_context
from scanner.errors import ScannerError

bp = func.Blueprint()
AUTH = func.AuthLevel.FUNCTION


def _call(handler, req: func.HttpRequest) -> func.HttpResponse:
    try:
        deps = get_context().api_deps()
    except ScannerError as exc:  # a bad setting: answer 500 naming it (the message is safe to show)
        return _response(*api.ApiError(500, "configuration", str(exc)).response())
    parts = urlsplit(req.url or "")
    base = f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""
    status, headers, body = api.handle(handler, req.method, dict(req.route_params or {}), dict(req.params or {}),
                                       req.get_body() or b"", deps.with_base(base))
    return _response(status, headers, body)


def _response(status: int, headers: dict[str, str], body: bytes) -> func.HttpResponse:
    content_type = headers.get("Content-Type", "application/octet-stream")
    mimetype, _, rest = content_type.partition(";")
    charset = rest.split("charset=", 1)[1].strip() if "charset=" in rest else None
    return func.HttpResponse(body=body, status_code=status, headers=headers, mimetype=mimetype.strip(),
                             charset=charset)


@bp.route(route="scan", methods=["POST"], auth_level=AUTH)
def api_scan(req: func.HttpRequest) -> func.HttpResponse:
    return _call(api.scan_start, req)


@bp.route(route="scan/{run_id}", methods=["GET"], auth_level=AUTH)
def api_scan_status(req: func.HttpRequest) -> func.HttpResponse:
    return _call(api.scan_status, req)


@bp.route(route="findings", methods=["GET"], auth_level=AUTH)
def api_findings(req: func.HttpRequest) -> func.HttpResponse:
    return _call(api.findings, req)


@bp.route(route="catalog", methods=["GET"], auth_level=AUTH)
def api_catalog(req: func.HttpRequest) -> func.HttpResponse:
    return _call(api.catalog, req)


@bp.route(route="report", methods=["GET"], auth_level=AUTH)
def api_report(req: func.HttpRequest) -> func.HttpResponse:
    return _call(api.report, req)
