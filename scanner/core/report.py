"""The HTML report page (`GET /api/report`, `make demo`): pure, self-contained, printable.

`render_report(findings, history, generated_at, title)` takes the scan JSON findings (schema
`retirement-scan/v1`, with the optional `status` / `first_seen` keys the store adds) and a per-day
history of open findings, and returns one HTML document:

- a summary of active findings by severity,
- a burn-down chart of open findings over time, drawn here as inline SVG (no script, no CDN),
- the findings table with the replacement size and the commands to run.

The page loads nothing from anywhere: a Content-Security-Policy meta tag forbids every fetch
(`default-src 'none'`) and allows only the inline stylesheet. All text goes through Jinja2
autoescaping; links are kept only when they are http(s) URLs.

Bad input raises `InputError` naming the item and the field (`findings[3] (id 'ab12'): ...`,
`history[0].date: ...`). No I/O, no clock, no environment: `generated_at` is an argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from jinja2 import Environment, StrictUndefined

from scanner.errors import InputError

SCHEMA = "retirement-scan/v1"
SEVERITIES = ("critical", "high", "medium", "low", "info")
INACTIVE_STATUSES = frozenset({"resolved", "suppressed"})
CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"

RULE_LABELS = {
    "retiring-size": "Retiring size",
    "gen1-only-size": "Gen1-only size",
    "gen1-node-image": "Gen1 node image",
    "capacity-restricted": "Capacity restricted",
    "retiring-node-os": "Retiring node OS",
}
KIND_LABELS = {"aks-nodepool": "AKS node pool", "vm": "Virtual machine", "vmss": "Scale set"}
# Colours per severity (fill, text on fill): readable in print (greyscale) and on screen.
SEVERITY_COLOURS = {
    "critical": ("#b3261e", "#ffffff"),
    "high": ("#e8710a", "#000000"),
    "medium": ("#f9ab00", "#000000"),
    "low": ("#1a73e8", "#ffffff"),
    "info": ("#80868b", "#ffffff"),
}

# Chart geometry (SVG user units).
CHART_W, CHART_H = 760, 300
PAD_L, PAD_R, PAD_T, PAD_B = 48, 16, 16, 40


# --------------------------------------------------------------------------- input checks


def _err(where: str, message: str) -> InputError:
    return InputError(f"{where}: {message}")


def _where_finding(i: int, item: Mapping[str, Any]) -> str:
    fid = item.get("id") if isinstance(item, Mapping) else None
    return f"findings[{i}] (id {fid!r})" if isinstance(fid, str) and fid else f"findings[{i}]"


def _text(value: Any, where: str, field: str, *, required: bool = False) -> str:
    if value is None or value == "":
        if required:
            raise _err(where, f"'{field}' is missing")
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise _err(where, f"'{field}' must be text, got {type(value).__name__}")
    return str(value)


def _opt_int(value: Any, where: str, field: str) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _err(where, f"'{field}' must be a whole number, got {value!r}")
    return value


def _iso_date(value: Any, where: str, field: str) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            pass
    raise _err(where, f"'{field}' {value!r} is not a YYYY-MM-DD date")


def _str_list(value: Any, where: str, field: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise _err(where, f"'{field}' must be a list of text")
    out = []
    for j, item in enumerate(value):
        if not isinstance(item, str):
            raise _err(where, f"'{field}[{j}]' must be text, got {type(item).__name__}")
        out.append(item)
    return tuple(out)


def _safe_url(url: str) -> str:
    """Keep only absolute http(s) URLs as links; anything else (javascript:, data:) is not a link."""
    low = url.strip().lower()
    return url.strip() if low.startswith(("https://", "http://")) else ""


def link_label(url: str) -> str:
    """A readable name for a source link: "Azure Updates 500573", "Learn: ncv3-retirement",
    else the host and the last path segment (never "announcement 2")."""
    from urllib.parse import parse_qs, urlsplit

    parts = urlsplit(url)
    host = parts.netloc.lower().removeprefix("www.")
    segments = [seg for seg in parts.path.split("/") if seg]
    if host == "azure.microsoft.com" and "updates" in segments:
        ids = parse_qs(parts.query).get("id")
        tail = ids[0] if ids else (segments[-1] if segments[-1] != "updates" else "")
        return f"Azure Updates {tail}".strip()
    if host == "learn.microsoft.com":
        return f"Learn: {segments[-1]}" if segments else "Microsoft Learn"
    return f"{host}: {segments[-1]}" if segments else host


# --------------------------------------------------------------------------- view model


@dataclass(frozen=True)
class _Row:
    id: str
    severity: str
    rule: str
    rule_label: str
    vm_size: str
    kind: str
    kind_label: str
    name: str
    pool: str
    resource_id: str
    resource_url: str
    subscription_id: str
    resource_group: str
    location: str
    retirement_title: str
    retirement_id: str
    retires_on: str
    days_left: int | None
    retirement_urls: tuple[str, ...]
    replacement: str
    replacement_why: str
    alternatives: tuple[str, ...]
    commands: tuple[str, ...]
    status: str
    first_seen: str
    restricted: bool
    message: str
    same_as: str = ""  # id of an earlier finding on the same pool with the same commands
    same_as_rule: str = ""

    @property
    def links(self) -> tuple[tuple[str, str], ...]:
        return tuple((u, link_label(u)) for u in self.retirement_urls)

    @property
    def active(self) -> bool:
        return self.status not in INACTIVE_STATUSES

    @property
    def os_sku_target(self) -> str:
        """The OS SKU a retiring-node-os finding's commands move the pool to ("" if none says)."""
        for command in self.commands:
            m = re.search(r"--os-sku (\S+)", command)
            if m:
                return m.group(1)
        return ""

    def sort_key(self) -> tuple:
        return (
            -SEVERITIES[::-1].index(self.severity),
            self.days_left if self.days_left is not None else math.inf,
            self.subscription_id.lower(),
            self.name.lower(),
            self.pool.lower(),
            self.id,
        )


def _row(i: int, item: Any, portal_url: str) -> _Row:
    if not isinstance(item, Mapping):
        raise _err(f"findings[{i}]", f"must be an object, got {type(item).__name__}")
    where = _where_finding(i, item)
    fid = _text(item.get("id"), where, "id", required=True)
    severity = _text(item.get("severity"), where, "severity", required=True).strip().lower()
    if severity not in SEVERITIES:
        raise _err(where, f"'severity' {item.get('severity')!r} is not one of {'|'.join(SEVERITIES)}")
    rule = _text(item.get("rule"), where, "rule", required=True)
    resource = item.get("resource")
    if not isinstance(resource, Mapping):
        raise _err(where, "'resource' is missing or not an object")
    kind = _text(resource.get("kind"), where, "resource.kind")
    name = _text(resource.get("name"), where, "resource.name", required=True)
    resource_id = _text(resource.get("id"), where, "resource.id")
    resource_url = ""
    base = _safe_url(portal_url).rstrip("/")
    if base and resource_id.startswith("/subscriptions/"):
        resource_url = f"{base}/#@/resource{resource_id}"

    retirement = item.get("retirement")
    r_title = r_id = r_on = ""
    r_urls: tuple[str, ...] = ()
    days_left = _opt_int(item.get("days_left"), where, "days_left")
    if retirement is not None:
        if not isinstance(retirement, Mapping):
            raise _err(where, "'retirement' must be an object or null")
        r_title = _text(retirement.get("title"), where, "retirement.title")
        r_id = _text(retirement.get("id"), where, "retirement.id")
        on = _iso_date(retirement.get("retires_on"), where, "retirement.retires_on")
        r_on = on.isoformat() if on else ""
        days = _opt_int(retirement.get("days_left"), where, "retirement.days_left")
        days_left = days if days is not None else days_left
        r_urls = tuple(u for u in (_safe_url(u) for u in _str_list(retirement.get("urls"), where,
                                                                     "retirement.urls")) if u)

    replacement = item.get("replacement")
    rep = rep_why = ""
    alternatives: tuple[str, ...] = ()
    if replacement is not None:
        if not isinstance(replacement, Mapping):
            raise _err(where, "'replacement' must be an object or null")
        rep = _text(replacement.get("vm_size"), where, "replacement.vm_size")
        rep_why = _text(replacement.get("why"), where, "replacement.why")
        alternatives = _str_list(replacement.get("alternatives"), where, "replacement.alternatives")

    status = _text(item.get("status"), where, "status").strip().lower() or "open"
    first = item.get("first_seen")
    first_seen = ""
    if first not in (None, ""):
        if isinstance(first, datetime):
            first_seen = first.date().isoformat()
        else:
            first_seen = _text(first, where, "first_seen")[:10]

    return _Row(
        id=fid,
        severity=severity,
        rule=rule,
        rule_label=RULE_LABELS.get(rule) or rule.replace("-", " ").capitalize(),  # a new rule reads as words
        vm_size=_text(item.get("vm_size"), where, "vm_size"),
        kind=kind,
        kind_label=KIND_LABELS.get(kind, kind),
        name=name,
        pool=_text(resource.get("pool"), where, "resource.pool"),
        resource_id=resource_id,
        resource_url=resource_url,
        subscription_id=_text(resource.get("subscription_id"), where, "resource.subscription_id"),
        resource_group=_text(resource.get("resource_group"), where, "resource.resource_group"),
        location=_text(resource.get("location"), where, "resource.location"),
        retirement_title=r_title,
        retirement_id=r_id,
        retires_on=r_on,
        days_left=days_left,
        retirement_urls=r_urls,
        replacement=rep,
        replacement_why=rep_why,
        alternatives=alternatives,
        commands=_str_list(item.get("commands"), where, "commands"),
        status=status,
        first_seen=first_seen,
        restricted=bool(item.get("restricted", False)),
        message=_text(item.get("message"), where, "message"),
    )


@dataclass(frozen=True)
class _Day:
    day: date
    open: dict[str, int]
    resolved: int

    @property
    def total(self) -> int:
        return sum(self.open.values())


def _days(history: Any) -> list[_Day]:
    if history is None:
        return []
    if isinstance(history, (str, bytes)) or not isinstance(history, Sequence):
        raise _err("history", "must be a list of {date, open, resolved} objects")
    seen: dict[date, int] = {}
    out = []
    for i, item in enumerate(history):
        where = f"history[{i}]"
        if not isinstance(item, Mapping):
            raise _err(where, f"must be an object, got {type(item).__name__}")
        day = _iso_date(item.get("date"), where, "date")
        if day is None:
            raise _err(where, "'date' is missing")
        if day in seen:
            raise _err(where, f"date {day.isoformat()} already given at history[{seen[day]}]")
        seen[day] = i
        if "open" in item and item["open"] is None:
            continue  # before the first stored run: nothing was known, so nothing is drawn (not 0)
        raw_open = item.get("open", {})
        if not isinstance(raw_open, Mapping):
            raise _err(f"{where}.open", "must be an object of severity -> count")
        counts = {s: 0 for s in SEVERITIES}
        for sev, n in raw_open.items():
            key = str(sev).strip().lower()
            if key not in counts:
                raise _err(f"{where}.open", f"unknown severity {sev!r} (expected {'|'.join(SEVERITIES)})")
            if isinstance(n, bool) or not isinstance(n, int) or n < 0:
                raise _err(f"{where}.open.{key}", f"{n!r} is not a count (whole number >= 0)")
            counts[key] = n
        resolved = item.get("resolved", 0)
        if resolved is None:
            resolved = 0
        if isinstance(resolved, bool) or not isinstance(resolved, int) or resolved < 0:
            raise _err(f"{where}.resolved", f"{resolved!r} is not a count (whole number >= 0)")
        out.append(_Day(day, counts, resolved))
    out.sort(key=lambda d: d.day)
    return out


def _nice_step(top: int, ticks: int = 5) -> int:
    """A round tick step (1, 2, 5 x 10^n) so that about `ticks` steps cover `top`."""
    if top <= ticks:
        return 1
    raw = top / ticks
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return int(m * mag)
    return int(10 * mag)  # pragma: no cover


def _chart(days: list[_Day]) -> dict[str, Any]:
    """Geometry for the burn-down chart: stacked areas by severity, total line, points, resolved bars."""
    if not days:
        return {"empty": True}
    plot_w = CHART_W - PAD_L - PAD_R
    plot_h = CHART_H - PAD_T - PAD_B
    first, last = days[0].day, days[-1].day
    span = (last - first).days
    peak = max(max(d.total for d in days), max(d.resolved for d in days), 1)
    step = _nice_step(peak)
    top = step * math.ceil(peak / step)

    def x(day: date) -> float:
        return round(PAD_L + (plot_w / 2 if span == 0 else plot_w * (day - first).days / span), 1)

    def y(value: float) -> float:
        return round(PAD_T + plot_h - plot_h * value / top, 1)

    base_y = y(0)
    areas = []
    below = [0] * len(days)
    for sev in SEVERITIES:
        above = [b + d.open[sev] for b, d in zip(below, days, strict=True)]
        if any(d.open[sev] for d in days):
            upper = [(x(d.day), y(v)) for d, v in zip(days, above, strict=True)]
            lower = [(x(d.day), y(v)) for d, v in zip(days, below, strict=True)][::-1]
            if span == 0:  # one day: a visible band instead of a zero-width polygon
                (ux, uy), (lx, ly) = upper[0], lower[0]
                upper = [(ux - 6, uy), (ux + 6, uy)]
                lower = [(lx + 6, ly), (lx - 6, ly)]
            pts = " ".join(f"{px},{py}" for px, py in upper + lower)
            areas.append({"severity": sev, "points": pts, "fill": SEVERITY_COLOURS[sev][0]})
        below = above

    points = []
    for d in days:
        detail = ", ".join(f"{d.open[s]} {s}" for s in SEVERITIES if d.open[s])
        label = f"{d.day.isoformat()}: {d.total} open" + (f" ({detail})" if detail else "")
        label += f", {d.resolved} resolved"
        points.append({"x": x(d.day), "y": y(d.total), "date": d.day.isoformat(),
                       "open": d.total, "resolved": d.resolved, "label": label})
    line = " ".join(f"{p['x']},{p['y']}" for p in points)

    bar_w = max(2.0, min(14.0, plot_w / max(len(days), 1) * 0.4))
    bars = [{"x": round(p["x"] - bar_w / 2, 1), "y": y(p["resolved"]), "w": round(bar_w, 1),
             "h": round(base_y - y(p["resolved"]), 1), "label": f"{p['date']}: {p['resolved']} resolved"}
            for p in points if p["resolved"]]

    yticks = [{"y": y(v), "label": str(v)} for v in range(0, top + 1, step)]
    n_labels = min(len(days), 6)
    if n_labels == 1:
        xticks = [{"x": points[0]["x"], "label": points[0]["date"], "anchor": "middle"}]
    else:
        idx = sorted({round(k * (len(days) - 1) / (n_labels - 1)) for k in range(n_labels)})
        xticks = [{"x": points[k]["x"], "label": points[k]["date"],
                   "anchor": "start" if k == 0 else "end" if k == len(days) - 1 else "middle"} for k in idx]

    return {
        "empty": False, "width": CHART_W, "height": CHART_H, "left": PAD_L, "right": CHART_W - PAD_R,
        "top": PAD_T, "base": base_y, "areas": areas, "line": line, "points": points, "bars": bars,
        "yticks": yticks, "xticks": xticks, "first": first.isoformat(), "last": last.isoformat(),
        "latest": days[-1].total, "peak": max(d.total for d in days),
    }


def _generated(generated_at: Any) -> str:
    if isinstance(generated_at, datetime):
        if generated_at.tzinfo is not None:
            generated_at = generated_at.astimezone(timezone.utc)
            return generated_at.strftime("%Y-%m-%d %H:%M UTC")
        return generated_at.strftime("%Y-%m-%d %H:%M")
    if isinstance(generated_at, date):
        return generated_at.isoformat()
    text = _text(generated_at, "generated_at", "generated_at").strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text  # shown as given (escaped)
    return _generated(parsed) if "T" in text or " " in text else text


def severity_counts(findings: Sequence[Mapping[str, Any]]) -> dict[str, int]:
    """Active (not resolved, not suppressed) findings by severity: one history point's `open`."""
    counts = {s: 0 for s in SEVERITIES}
    for i, item in enumerate(findings):
        row = _row(i, item, "")
        if row.active:
            counts[row.severity] += 1
    return counts


# --------------------------------------------------------------------------- render


def render_report(
    findings: list[dict],
    history: list[dict],
    generated_at: datetime | str,
    title: str = "VM size retirement report",
    *,
    portal_url: str = "",
    delivery_problems: Sequence[Mapping[str, Any]] = (),
) -> str:
    """One self-contained HTML page; see the module docstring. `portal_url` (optional, e.g.
    "https://portal.azure.com") turns resource names into portal links. `delivery_problems`
    (optional, `{"scope", "error"}` as in the scan JSON "errors") puts a "Delivery problems" box
    at the top: alerts that could not be sent and are retried on every run."""
    if findings is None:
        findings = []
    if isinstance(findings, (str, bytes, Mapping)) or not isinstance(findings, Sequence):
        raise _err("findings", "must be a list of finding objects (the scan JSON 'findings')")
    rows = _same_commands(sorted((_row(i, f, portal_url) for i, f in enumerate(findings)), key=_Row.sort_key))
    ids: dict[str, int] = {}
    for i, item in enumerate(findings):
        fid = item["id"]
        if fid in ids:
            raise _err(_where_finding(i, item), f"duplicate id (also findings[{ids[fid]}])")
        ids[fid] = i
    active = [r for r in rows if r.active]
    inactive = [r for r in rows if not r.active]
    counts = {s: sum(1 for r in active if r.severity == s) for s in SEVERITIES}
    days = _days(history)
    soonest = min((r for r in active if r.retires_on), key=lambda r: r.retires_on, default=None)
    context = {
        "title": _text(title, "title", "title") or "VM size retirement report",
        "generated": _generated(generated_at),
        "csp": CSP,
        "schema": SCHEMA,
        "severities": SEVERITIES,
        "colours": SEVERITY_COLOURS,
        "counts": counts,
        "total_active": len(active),
        "active": active,
        "inactive": inactive,
        "subscriptions": len({r.subscription_id.lower() for r in active if r.subscription_id}),
        "resources": len({(r.resource_id.lower() or r.name, r.pool) for r in active}),
        "soonest": soonest,
        "chart": _chart(days),
        "days": days,
        "delivery_problems": _delivery_problems(delivery_problems),
    }
    return _TEMPLATE.render(**context)


def _same_commands(rows: list[_Row]) -> list[_Row]:
    """A pool with two findings (retiring size and Gen1 node image) has one rebuild: the later
    row points at the first one instead of printing the same commands again."""
    from dataclasses import replace

    first: dict[tuple, _Row] = {}
    out = []
    for r in rows:
        key = (r.resource_id.lower() or r.name, r.pool, r.commands)
        earlier = first.get(key) if r.commands else None
        if earlier is not None and earlier.active == r.active:
            r = replace(r, same_as=earlier.id, same_as_rule=earlier.rule_label)
        else:
            first.setdefault(key, r)
        out.append(r)
    return out


def _delivery_problems(items: Sequence[Mapping[str, Any]] | None) -> list[dict[str, str]]:
    if items is None:
        return []
    if isinstance(items, (str, bytes, Mapping)) or not isinstance(items, Sequence):
        raise _err("delivery_problems", "must be a list of {scope, error} objects")
    out = []
    for i, item in enumerate(items):
        where = f"delivery_problems[{i}]"
        if not isinstance(item, Mapping):
            raise _err(where, f"must be an object with 'scope' and 'error', got {type(item).__name__}")
        out.append({"scope": _text(item.get("scope"), where, "scope", required=True),
                    "error": _text(item.get("error"), where, "error", required=True)})
    return out


_ENV = Environment(autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)

_TEMPLATE = _ENV.from_string("""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ csp }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="aks-retirement-scanner ({{ schema }})">
<title>{{ title }}</title>
<style>
  :root { --ink:#202124; --muted:#5f6368; --line:#dadce0; --soft:#f8f9fa; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
         color: var(--ink); margin: 0 auto; padding: 24px; max-width: 1400px; }
  h1 { font-size: 24px; margin: 0 0 4px; }
  h2 { font-size: 18px; margin: 28px 0 8px; border-bottom: 1px solid var(--line); padding-bottom: 4px; }
  .meta { color: var(--muted); margin: 0 0 16px; }
  .cards { display: flex; flex-wrap: wrap; gap: 12px; margin: 0; padding: 0; list-style: none; }
  .card { border: 1px solid var(--line); border-left-width: 8px; border-radius: 6px; padding: 8px 14px;
          min-width: 120px; background: #fff; }
  .card .n { font-size: 28px; font-weight: 700; display: block; }
  .card .k { color: var(--muted); text-transform: capitalize; }
  .facts { margin: 12px 0 0; color: var(--muted); }
  .sev { display: inline-block; border-radius: 4px; padding: 1px 6px; font-weight: 600; font-size: 12px;
         text-transform: uppercase; letter-spacing: .03em; }
  table { border-collapse: collapse; width: 100%; }
  th, td { border-bottom: 1px solid var(--line); padding: 6px 8px; text-align: left; vertical-align: top; }
  th { background: var(--soft); font-weight: 600; }
  tbody tr.finding td { border-bottom: none; }
  td.num { text-align: right; white-space: nowrap; }
  .sub { color: var(--muted); font-size: 12px; display: block; overflow-wrap: anywhere; }
  code, pre { font: 12px/1.4 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
  pre { background: var(--soft); border: 1px solid var(--line); border-radius: 4px; padding: 6px 8px;
        margin: 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  tr.commands td { padding-top: 0; }
  .restricted { color: #b3261e; font-weight: 600; }
  .inactive { color: var(--muted); }
  figure { margin: 0; }
  svg.chart { width: 100%; max-width: 760px; height: auto; display: block; }
  svg.chart text { font: 11px system-ui, sans-serif; fill: #5f6368; }
  .legend { display: flex; flex-wrap: wrap; gap: 12px; margin: 6px 0 0; padding: 0; list-style: none;
            color: var(--muted); font-size: 12px; }
  .swatch { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin-right: 4px; }
  .empty { color: var(--muted); font-style: italic; }
  details summary { cursor: pointer; color: var(--muted); margin-top: 8px; }
  .problems { border: 1px solid #b3261e; border-left-width: 8px; border-radius: 6px; padding: 8px 14px;
              margin: 16px 0 0; background: #fce8e6; }
  .problems h2 { border: none; margin: 0 0 4px; color: #b3261e; }
  .problems ul { margin: 4px 0; padding-left: 20px; }
  .guid { white-space: nowrap; font-variant-numeric: tabular-nums; }
  .date { white-space: nowrap; }  /* "2026-12-" above "04" in the narrow status column */
  @media (max-width: 700px) {
    body { padding: 12px; }
    table.findings thead { display: none; }
    table.findings, table.findings tbody, table.findings tr, table.findings td { display: block; width: 100%; }
    table.findings tr.finding { border-top: 1px solid var(--line); padding-top: 6px; }
    table.findings td { padding: 2px 0; }
    table.findings td.num { text-align: left; }
    table.findings tr.commands td:first-child { display: none; }
    .guid { font-size: 11px; }
    /* The chart is drawn at half size on a phone: its 11px labels would read as 5px. */
    svg.chart text { font-size: 22px; }
    svg.chart text.mid { display: none; }  /* first and last dates only: the middle ones would overlap */
  }
  @media print {
    body { padding: 0; max-width: none; font-size: 11px; }
    a { color: inherit; text-decoration: none; }
    h2 { break-after: avoid; }
    tr { break-inside: avoid; }
    thead { display: table-header-group; }
    .card, pre { background: none; }
    details { display: none; }
    * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  }
  @page { margin: 12mm; }
</style>
</head>
<body>
<header>
  <h1>{{ title }}</h1>
  <p class="meta">Generated {{ generated }} &middot; {{ total_active }} active finding{{ "" if total_active == 1 else "s" }}
    {%- if inactive %} &middot; {{ inactive|length }} resolved or suppressed{% endif %}</p>
</header>
{% if delivery_problems %}

<section id="delivery-problems" class="problems" role="alert" aria-labelledby="delivery-problems-h">
  <h2 id="delivery-problems-h">Delivery problems</h2>
  <p>These alerts could not be sent. They are kept and retried on every run; fix the setting or the
    recipient and they go out on the next one.</p>
  <ul>
  {% for p in delivery_problems %}
    <li data-scope="{{ p.scope }}"><code>{{ p.scope }}</code>: {{ p.error }}</li>
  {% endfor %}
  </ul>
</section>
{% endif %}

<section id="summary" aria-labelledby="summary-h">
  <h2 id="summary-h">Summary by severity</h2>
  <ul class="cards">
  {% for s in severities %}
    <li class="card severity-{{ s }}" data-severity="{{ s }}" data-count="{{ counts[s] }}"
        style="border-left-color: {{ colours[s][0] }}"><span class="n">{{ counts[s] }}</span><span class="k">{{ s }}</span></li>
  {% endfor %}
  </ul>
  <p class="facts">
    {{ resources }} resource{{ "" if resources == 1 else "s" }} / pool{{ "" if resources == 1 else "s" }} affected
    in {{ subscriptions }} subscription{{ "" if subscriptions == 1 else "s" }}.
    {% if soonest %}Soonest retirement: <strong>{{ soonest.retires_on }}</strong>
      ({{ soonest.retirement_title or soonest.retirement_id or soonest.vm_size }}).{% endif %}
  </p>
</section>

<section id="burndown" aria-labelledby="burndown-h">
  <h2 id="burndown-h">Open findings over time</h2>
{% if chart.empty %}
  <p class="empty" id="chart-empty">No history yet: the chart fills in once scans have been stored on at least one day.</p>
{% else %}
  <figure>
  <svg class="chart" id="burndown-chart" xmlns="http://www.w3.org/2000/svg" role="img"
       viewBox="0 0 {{ chart.width }} {{ chart.height }}" aria-labelledby="chart-title chart-desc">
    <title id="chart-title">Open findings per day, {{ chart.first }} to {{ chart.last }}</title>
    <desc id="chart-desc">Stacked by severity. {{ days|length }} day{{ "" if days|length == 1 else "s" }}; latest {{ chart.latest }} open, peak {{ chart.peak }}.</desc>
    <g class="grid">
    {% for t in chart.yticks %}
      <line x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ t.y }}" y2="{{ t.y }}" stroke="#e8eaed" stroke-width="1"/>
      <text x="{{ chart.left - 6 }}" y="{{ t.y + 4 }}" text-anchor="end">{{ t.label }}</text>
    {% endfor %}
    {% for t in chart.xticks %}
      <text class="xtick{{ ' mid' if t.anchor == 'middle' and chart.xticks|length > 1 else '' }}" x="{{ t.x }}" y="{{ chart.base + 18 }}" text-anchor="{{ t.anchor }}">{{ t.label }}</text>
    {% endfor %}
    </g>
    <g class="areas">
    {% for a in chart.areas %}
      <polygon class="area severity-{{ a.severity }}" points="{{ a.points }}" fill="{{ a.fill }}" fill-opacity="0.55"/>
    {% endfor %}
    </g>
    <g class="resolved">
    {% for b in chart.bars %}
      <rect class="resolved-bar" x="{{ b.x }}" y="{{ b.y }}" width="{{ b.w }}" height="{{ b.h }}" fill="#188038" fill-opacity="0.8"><title>{{ b.label }}</title></rect>
    {% endfor %}
    </g>
    <polyline class="total" points="{{ chart.line }}" fill="none" stroke="#202124" stroke-width="2"/>
    <g class="points">
    {% for p in chart.points %}
      <circle class="point" cx="{{ p.x }}" cy="{{ p.y }}" r="3.5" fill="#202124" data-date="{{ p.date }}" data-open="{{ p.open }}" data-resolved="{{ p.resolved }}"><title>{{ p.label }}</title></circle>
    {% endfor %}
    </g>
    <line x1="{{ chart.left }}" x2="{{ chart.right }}" y1="{{ chart.base }}" y2="{{ chart.base }}" stroke="#5f6368" stroke-width="1"/>
  </svg>
  <ul class="legend">
    <li><span class="swatch" style="background:#202124"></span>total open</li>
    {% for a in chart.areas %}<li><span class="swatch" style="background: {{ a.fill }}"></span>{{ a.severity }}</li>{% endfor %}
    {% if chart.bars %}<li><span class="swatch" style="background:#188038"></span>resolved that day</li>{% endif %}
  </ul>
  </figure>
  <details>
    <summary>Chart data</summary>
    <table class="chart-data">
      <thead><tr><th>Date</th>{% for s in severities %}<th>{{ s }}</th>{% endfor %}<th>Open</th><th>Resolved</th></tr></thead>
      <tbody>
      {% for d in days %}
        <tr><td>{{ d.day.isoformat() }}</td>{% for s in severities %}<td class="num">{{ d.open[s] }}</td>{% endfor %}<td class="num">{{ d.total }}</td><td class="num">{{ d.resolved }}</td></tr>
      {% endfor %}
      </tbody>
    </table>
  </details>
{% endif %}
</section>

{% macro finding_table(rows, table_id) %}
  <table id="{{ table_id }}" class="findings">
    <thead><tr>
      <th scope="col">Severity</th><th scope="col">Resource</th><th scope="col">Size</th>
      <th scope="col">Why</th><th scope="col">Retires</th><th scope="col">Move to</th><th scope="col">Status</th>
    </tr></thead>
    <tbody>
    {% for r in rows %}
      <tr class="finding{{ '' if r.active else ' inactive' }}" id="f-{{ r.id }}" data-severity="{{ r.severity }}" data-rule="{{ r.rule }}">
        <td><span class="sev" style="background: {{ colours[r.severity][0] }}; color: {{ colours[r.severity][1] }}">{{ r.severity }}</span></td>
        <td>
          {% if r.resource_url %}<a href="{{ r.resource_url }}">{{ r.name }}</a>{% else %}<strong>{{ r.name }}</strong>{% endif %}
          {% if r.pool %} / pool <strong>{{ r.pool }}</strong>{% endif %}
          <span class="sub">{{ r.kind_label }}{% if r.location %} &middot; {{ r.location }}{% endif %}{% if r.resource_group %} &middot; {{ r.resource_group }}{% endif %}</span>
          {% if r.subscription_id %}<span class="sub">subscription <span class="guid">{{ r.subscription_id }}</span></span>{% endif %}
        </td>
        <td><code>{{ r.vm_size }}</code>{% if r.restricted %}<span class="sub restricted">restricted in region</span>{% endif %}</td>
        <td>{{ r.rule_label }}{% if r.retirement_title %}<span class="sub">{{ r.retirement_title }}</span>{% endif %}
          {% for u, label in r.links %}<span class="sub"><a href="{{ u }}" rel="noreferrer noopener">{{ label }}</a></span>{% endfor %}
          {% if r.message %}<span class="sub">{{ r.message }}</span>{% endif %}
        </td>
        <td class="num">{% if r.retires_on %}{{ r.retires_on }}{% else %}&mdash;{% endif %}
          {% if r.days_left is not none %}<span class="sub">{% if r.days_left < 0 %}{{ -r.days_left }} days ago{% else %}in {{ r.days_left }} day{{ '' if r.days_left == 1 else 's' }}{% endif %}</span>{% endif %}</td>
        <td>{% if r.replacement %}<code>{{ r.replacement }}</code>{% if r.replacement_why %}<span class="sub">{{ r.replacement_why }}</span>{% endif %}
          {% if r.alternatives %}<span class="sub">or {{ r.alternatives|join(', ') }}</span>{% endif %}
          {% elif r.rule == "gen1-node-image" %}<span class="sub">keep {{ r.vm_size }}: move the pool to a Gen2 node image (commands below)</span>
          {% elif r.rule == "retiring-node-os" %}<span class="sub">keep {{ r.vm_size }}: move the pool to {% if r.os_sku_target %}OS SKU <code>{{ r.os_sku_target }}</code>{% else %}a supported node OS{% endif %} (commands below)</span>
          {% else %}<span class="sub">no fitting size found: review by hand</span>{% endif %}</td>
        <td>{{ r.status }}{% if r.first_seen %}<span class="sub">since <span class="date">{{ r.first_seen }}</span></span>{% endif %}</td>
      </tr>
      <tr class="commands{{ '' if r.active else ' inactive' }}">
        <td></td>
        <td colspan="6">{% if r.same_as %}<span class="sub same-as">same rebuild as the <a href="#f-{{ r.same_as }}">{{ r.same_as_rule|lower }} finding</a> of this pool: one set of commands fixes both</span>{% elif r.commands %}<pre>{{ r.commands|join('\\n') }}</pre>{% else %}<span class="sub">no commands</span>{% endif %}</td>
      </tr>
    {% endfor %}
    </tbody>
  </table>
{% endmacro %}

<section id="findings" aria-labelledby="findings-h">
  <h2 id="findings-h">Findings ({{ active|length }})</h2>
{% if active %}
{{ finding_table(active, "findings-table") }}
{% else %}
  <p class="empty" id="no-findings">No active findings: nothing runs on a retiring or Generation-1-only size.</p>
{% endif %}
</section>
{% if inactive %}

<section id="closed" aria-labelledby="closed-h">
  <h2 id="closed-h">Resolved or suppressed ({{ inactive|length }})</h2>
{{ finding_table(inactive, "closed-table") }}
</section>
{% endif %}
</body>
</html>
""")
