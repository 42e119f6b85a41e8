"""Formatting a ScanReport: JSON (the versioned contract), table, CSV, markdown. Pure: no I/O.

    report_to_json(report) -> dict          "schema": "retirement-scan/v1" (reused by the HTTP API)
    finding_to_json(finding) -> dict
    iter_json(report, pretty=False) -> Iterator[str]   the same JSON in pieces, one finding at a time;
                                            compact, or indented by 2 (pretty)
    write(report, fmt, out, pretty=False)   to a text stream, every format as it is produced
    render(report, fmt) -> str              fmt: table | json (indented) | csv | markdown
    group_findings(findings) -> [(label, [Finding])]   by cluster (or VM / scale set), most urgent first
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import Any, TextIO

from scanner.core import jsontext
from scanner.core.catalog import retirement_to_dict
from scanner.core.model import Finding, ResourceKind, Rule, ScopeKind, Severity, Status

SCHEMA = "retirement-scan/v1"
CATALOG_SCHEMA = "retirement-catalog/v1"
FORMATS = ("table", "json", "csv", "markdown")


# --------------------------------------------------------------------------- JSON


def finding_to_json(f: Finding, parts: dict | None = None) -> dict:
    """`parts`: a memo for one report (iter_json): the retirement and replacement parts, which many
    findings share, built once and the same dicts reused (read-only use only)."""
    r = f.resource
    out = {
        "id": f.id,
        "rule": f.rule.value,
        "severity": f.severity.value,
        "vm_size": f.vm_size,
        "resource": {
            "kind": r.kind.value,
            "id": r.id,
            "name": r.name,
            "pool": r.pool or "",
            "subscription_id": r.subscription_id,
            "resource_group": r.resource_group,
            "location": r.location,
        },
        "retirement": None,
        "replacement": None,
        "commands": list(f.commands),
        "restricted": f.restricted,
        "message": f.message,
        "status": f.status.value,
    }
    if f.retirement is not None:
        key = (id(f.retirement), f.days_left)
        part = parts.get(key) if parts is not None else None
        if part is None:
            part = _retirement_json(f.retirement, f.days_left)
            if parts is not None:
                parts[key] = part
        out["retirement"] = part
    if f.replacement is not None:
        key = id(f.replacement)
        part = parts.get(key) if parts is not None else None
        if part is None:
            part = _replacement_json(f.replacement)
            if parts is not None:
                parts[key] = part
        out["replacement"] = part
    # Issue 13, additive: present only when known.
    if f.capacity is not None:
        out["capacity"] = {
            "restricted_from": f.capacity.restricted_from.isoformat(),
            "source": f.capacity.source,
            "headroom": headroom_to_json(f.capacity.headroom),
        }
    if f.replacement_quota is not None:
        out["replacement_quota"] = headroom_to_json(f.replacement_quota, f.resource)
    if f.cost is not None:
        out["cost"] = cost_to_json(f.cost)
    if f.first_seen is not None:
        out["first_seen"] = f.first_seen.isoformat()
    if f.suppressed_until is not None:
        out["suppressed_until"] = f.suppressed_until.isoformat()
        out["suppression_reason"] = f.suppression_reason
    return out


def _retirement_json(ret, days_left) -> dict:
    return {
        "id": ret.id,
        "title": ret.title,
        "retires_on": ret.retires_on.isoformat(),
        "days_left": days_left,
        "source": ret.source,
        "urls": list(ret.urls),
    }


def _replacement_json(rep) -> dict:
    return {
        "vm_size": rep.vm_size,
        "why": rep.why,
        "alternatives": list(rep.alternatives),
        # additive (issue 10): successor-line sizes turned down, each with its reason
        "rejected": [{"vm_size": size, "reason": reason} for size, reason in rep.rejected],
        "turned_down": dict(rep.turned_down),
    }


def headroom_to_json(h, resource=None) -> dict | None:
    """vCPU room of one family (and the regional total) for `needed` vCPUs; with `resource`, the
    `az quota create` command that asks for what is missing."""
    if h is None:
        return None
    out = {
        "family": h.family, "nodes": h.nodes, "vcpus_per_node": h.vcpus_per_node, "needed_vcpus": h.needed,
        "free_vcpus": h.free, "fits": h.fits, "family_used": h.family_used, "family_limit": h.family_limit,
        "regional_used": h.regional_used, "regional_limit": h.regional_limit,
    }
    if resource is not None:
        from scanner.core.headroom import SPOT_ROW, quota_request

        spot = h.family.lower() == SPOT_ROW.lower()  # Spot quota is asked for in the portal
        out["request_command"] = (None if h.fits or spot
                                  else quota_request(resource.subscription_id, resource.location, h)[0])
    return out


def cost_to_json(c) -> dict:
    return {
        "currency": c.currency, "nodes": c.nodes, "os_type": c.os_type, "hours_per_month": c.hours,
        "current_hourly": c.current_hourly, "replacement_hourly": c.replacement_hourly,
        "current_monthly": c.current_monthly, "replacement_monthly": c.replacement_monthly,
        "delta_monthly": c.delta_monthly, "note": c.note,
    }


def summary(report) -> dict:
    by_rule = {r.value: 0 for r in Rule}
    by_severity = {s.value: 0 for s in Severity}
    for f in report.findings:
        by_rule[f.rule.value] += 1
        by_severity[f.severity.value] += 1
    return {
        "findings": len(report.findings),
        "by_rule": by_rule,
        "by_severity": by_severity,
        "restricted": sum(1 for f in report.findings if f.restricted),
        "scanned": dict(report.scanned),
        "needs_review": len(report.needs_review),
        "errors": len(report.errors),
        # Lifecycle (from the store): findings by status, and this run's changes by kind.
        "stored": bool(getattr(report, "stored", False)),
        "by_status": _by_status(report),
        "changes": _change_counts(report),
    }


def _by_status(report) -> dict:
    out = {s.value: 0 for s in Status}
    for f in report.findings:
        out[f.status.value] += 1
    out[Status.RESOLVED.value] = sum(1 for c in getattr(report, "changes", ()) if c.kind == "resolved")
    return out


def _change_counts(report) -> dict:
    out = {k: 0 for k in ("new", "escalated", "reopened", "resolved", "unchanged")}
    for c in getattr(report, "changes", ()):
        out[c.kind] = out.get(c.kind, 0) + 1
    return out


def _resolved(report) -> list[Finding]:
    """Findings this run resolved (from the store's changes): listed with status "resolved"."""
    return [c.finding for c in getattr(report, "changes", ()) if c.kind == "resolved"]


def report_to_json(report) -> dict:
    doc = report_to_json_head(report)
    doc["findings"] = [finding_to_json(f) for f in (*report.findings, *_resolved(report))]
    return doc


def report_to_json_head(report) -> dict:
    """report_to_json without the findings' content (the key is there, in its place, as None)."""
    doc = {
        "schema": SCHEMA,
        "generated_at": report.generated_at.isoformat(),
        "today": report.today.isoformat(),
        "summary": summary(report),
        "findings": None,
        "needs_review": [
            {"id": r.id, "title": r.title, "url": r.url, "reason": r.reason} for r in report.needs_review
        ],
        "errors": [{"scope": e.scope, "error": e.error} for e in report.errors],
        "conflicts": list(report.conflicts),
    }
    messages = list(getattr(report, "messages", ()) or ())
    if messages:  # notifications this run rendered (--dry-run: the full messages) or recorded and sent
        doc["notifications"] = messages
    return doc


_FINDINGS_SLOT = "\u0000findings\u0000"


def iter_json(report, pretty: bool = False) -> Iterator[str]:
    """The report as JSON text, in pieces, findings encoded one at a time (never the whole document
    as one string nor every finding dict at once). Parsed, it is exactly report_to_json(report).
    Compact (no spaces) by default; pretty: indented by 2, as json.dumps(doc, indent=2) writes it."""
    doc = report_to_json_head(report)
    doc["findings"] = _FINDINGS_SLOT
    text = json.dumps(doc, indent=2) if pretty else json.dumps(doc, separators=(",", ":"))
    before, after = text.split(json.dumps(_FINDINGS_SLOT), 1)
    yield before
    parts: dict = {}  # shared retirement/replacement parts; the report holds their objects alive meanwhile
    findings = (finding_to_json(f, parts) for f in (*report.findings, *_resolved(report)))
    first = True
    for item in findings:
        if pretty:
            body = json.dumps(item, indent=2).replace("\n", "\n    ")
            yield ("[\n    " if first else ",\n    ") + body
        else:
            yield ("[" if first else ",") + jsontext.dumps(item)
        first = False
    yield ("[]" if first else ("\n  ]" if pretty else "]")) + after + "\n"


def write_json(report, out: TextIO, pretty: bool = False) -> None:
    """Write iter_json(report) to `out` as it is produced, a few hundred findings a write."""
    batch: list[str] = []
    for piece in iter_json(report, pretty):
        batch.append(piece)
        if len(batch) >= 256:
            out.write("".join(batch))
            batch.clear()
    out.write("".join(batch))


def write(report, fmt: str, out: TextIO, pretty: bool = False) -> None:
    """Write the report in `fmt` to `out` as it is produced (one finding, or one cluster's lines, at
    a time): the same text render(report, fmt) returns (JSON compact unless `pretty`)."""
    if fmt == "json":
        write_json(report, out, pretty)
    elif fmt == "csv":
        write_csv(report.findings, out)
    elif fmt in ("table", "markdown"):
        for piece in _text(_table_lines(report) if fmt == "table" else _markdown_lines(report)):
            out.write(piece)
    else:
        out.write(render(report, fmt))


# --------------------------------------------------------------------------- grouping


def _group_key(f: Finding) -> tuple[str, str]:
    r = f.resource
    if r.kind is ResourceKind.AKS_NODEPOOL:
        return r.id.lower(), f"cluster {r.name}"
    kind = "vm" if r.kind is ResourceKind.VM else "scale set"
    return r.id.lower(), f"{kind} {r.name}"


def _urgency(f: Finding) -> tuple:
    days = f.days_left if f.days_left is not None else 10**9
    return (-f.severity.rank, days)


def group_findings(findings: Iterable[Finding]) -> list[tuple[str, list[Finding]]]:
    """Groups (one per cluster, VM or scale set), most urgent group first; inside a group the
    most urgent finding first."""
    groups: dict[str, tuple[str, list[Finding]]] = {}
    for f in findings:
        key, label = _group_key(f)
        r = f.resource
        label = f"{label}  ({r.resource_group} / {r.location} / subscription {r.subscription_id})"
        groups.setdefault(key, (label, []))[1].append(f)
    out = []
    for label, items in groups.values():
        items.sort(key=lambda f: (*_urgency(f), f.resource.pool.lower(), f.rule.value, f.vm_size.lower()))
        out.append((label, items))
    out.sort(key=lambda g: (*_urgency(g[1][0]), g[0].lower()))
    return out


# --------------------------------------------------------------------------- table


def _days(f: Finding) -> str:
    return "" if f.days_left is None else str(f.days_left)


SHORT_ID = 8  # characters of a finding id shown in tables; `ack`, `unack` and `show` accept them


def short_id(finding_id: str) -> str:
    return finding_id[:SHORT_ID]


def _row(f: Finding) -> list[str]:
    repl = f.replacement.vm_size if f.replacement else "-"
    suppressed = f.status is Status.SUPPRESSED
    severity = f.severity.value + ("!" if f.restricted else "")
    return [
        short_id(f.id),
        f.status.value,
        f"({severity})" if suppressed else severity,  # not counted, not --fail-on
        _days(f),
        f.resource.pool or "-",
        f.rule.value,
        f.vm_size,
        f.retirement.retires_on.isoformat() if f.retirement else "-",
        repl,
    ]


_HEADER = ["ID", "STATUS", "SEVERITY", "DAYS", "POOL", "RULE", "SIZE", "RETIRES", "MOVE TO"]
_DAYS_COLUMN = _HEADER.index("DAYS")


def count_line(findings) -> str:
    """"12 findings (1 critical, 3 high, ...)" over the findings that count (not suppressed), and
    ", 2 suppressed (not counted)" apart."""
    findings = list(findings)
    active = [f for f in findings if f.status is not Status.SUPPRESSED]
    by_severity = {s.value: 0 for s in Severity}
    for f in active:
        by_severity[f.severity.value] += 1
    sev = ", ".join(f"{n} {k}" for k, n in by_severity.items() if n)
    text = f"{len(active)} finding{'s' if len(active) != 1 else ''}" + (f" ({sev})" if sev else "")
    suppressed = len(findings) - len(active)
    if suppressed:
        text += f", {suppressed} suppressed (acknowledged or tagged; not counted)"
    return text


def _headline(report) -> str:
    sc = report.scanned
    scanned = (f"{sc.get('clusters', 0)} clusters ({sc.get('node_pools', 0)} pools), {sc.get('vms', 0)} VMs, "
               f"{sc.get('scale_sets', 0)} scale sets")
    return f"Retirement scan for {report.today.isoformat()}: {count_line(report.findings)} in {scanned}"


def findings_table(findings) -> list[str]:
    """The grouped table lines (one block per cluster, VM or scale set), for scan and findings."""
    return [line for label, items in group_findings(findings) for line in _group_lines(label, items)]


def _group_lines(label: str, items: list[Finding]) -> Iterator[str]:
    rows = [_HEADER] + [_row(f) for f in items]
    widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
    yield label
    for r in rows:
        cells = [c.rjust(widths[i]) if i == _DAYS_COLUMN else c.ljust(widths[i]) for i, c in enumerate(r)]
        yield "  " + "  ".join(cells).rstrip()
    yield ""


def _table_lines(report) -> Iterator[str]:
    yield _headline(report)
    yield ""
    if not report.findings:
        yield "No retiring or Generation-1-only sizes found."
    for label, items in group_findings(report.findings):
        yield from _group_lines(label, items)
    lines: list[str] = []
    if any(f.restricted for f in report.findings):
        lines.append("! the size is restricted for the subscription in that region: no scale-out on it.")
    if report.findings:
        # `show ID` reads the store: offer it only when this run's findings are in it.
        show = "`show ID`, " if getattr(report, "stored", False) else ""
        lines.append(f"Replacement reasons and ready-to-paste commands: {show}--format markdown or --format json.")
    if report.needs_review:
        lines.append("")
        lines.append(f"Needs review ({len(report.needs_review)} announcements the scanner could not read with confidence):")
        for item in report.needs_review:
            lines.append(f"  - {item.title} ({item.url}): {item.reason}")
    not_scanned, undelivered = split_errors(report.errors)
    if not_scanned:
        lines.append("")
        lines.append(f"Not scanned ({len(not_scanned)}):")
        for e in not_scanned:
            lines.append(f"  - {e.scope}: {e.error}")
    if undelivered:
        lines.append("")
        lines.append(f"Delivery problems ({len(undelivered)}; kept and retried on every run):")
        for e in undelivered:
            lines.append(f"  - {e.scope}: {e.error}")
    yield from lines


def render_table(report) -> str:
    return "".join(_text(_table_lines(report)))


def _text(lines: Iterable[str]) -> Iterator[str]:
    """"\n".join(lines).rstrip() + "\n", in pieces as the lines come (a report of 430,000 findings is
    written as it is produced, never held as one string). A line is let out once a later line with
    text follows it; the last line with text is right-stripped and the blank ones after it dropped."""
    pending: list[str] = []  # lines not let out yet: pending[0] is the last with text (or all are blank)
    for line in lines:
        if line.strip():
            if pending:
                yield "".join(p + "\n" for p in pending)
            pending = [line]
        else:
            pending.append(line)
    yield (pending[0].rstrip() if pending and pending[0].strip() else "") + "\n"


def split_errors(errors) -> tuple[list, list]:
    """(scopes not scanned, notifications not delivered): the latter have scope "notify:..."."""
    errors = list(errors)
    undelivered = [e for e in errors if e.kind is ScopeKind.NOTIFY]
    return [e for e in errors if e.kind is not ScopeKind.NOTIFY], undelivered


# --------------------------------------------------------------------------- CSV
# One layout and one writer for every CSV of findings: `scan --format csv`, `findings --format csv`,
# GET /api/findings?format=csv and the email attachment. The first 18 columns are the original
# `scan --format csv` ones, in their order; later columns are appended, never inserted.

CSV_COLUMNS = ["severity", "days_left", "rule", "kind", "subscription_id", "resource_group", "location",
               "name", "pool", "vm_size", "retires_on", "retirement_id", "replacement", "alternatives",
               "restricted", "id", "resource_id", "message",
               "status", "first_seen", "suppressed_until", "announcement", "commands"]
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def csv_cell(value) -> str:
    """A cell as text; a text that a spreadsheet would run as a formula (= + - @ first) gets a
    leading apostrophe (numbers are left alone)."""
    text = "" if value is None else str(value)
    if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _NUMBER.fullmatch(text):
        text = "'" + text
    return text


def csv_row(f: Finding) -> list[str]:
    """One finding in CSV_COLUMNS order (commands one per line inside their cell)."""
    r = f.resource
    ret = f.retirement
    announcement = next((u for u in (ret.urls if ret else ()) if u.startswith(("https://", "http://"))), "")
    values = [
        f.severity.value, _days(f), f.rule.value, r.kind.value, r.subscription_id, r.resource_group,
        r.location, r.name, r.pool, f.vm_size,
        ret.retires_on.isoformat() if ret else "",
        ret.id if ret else "",
        f.replacement.vm_size if f.replacement else "",
        " ".join(f.replacement.alternatives) if f.replacement else "",
        "yes" if f.restricted else "no", f.id, r.id, f.message,
        f.status.value,
        f.first_seen.isoformat() if f.first_seen else "",
        f.suppressed_until.isoformat() if f.suppressed_until else "",
        announcement,
        "\n".join(f.commands),
    ]
    return [csv_cell(v) for v in values]


def write_csv(findings: Iterable[Finding], out: TextIO, header: bool = True) -> int:
    """Write findings as CSV rows to `out` as they come (streams); returns how many were written."""
    w = csv.writer(out, lineterminator="\n")
    if header:
        w.writerow(CSV_COLUMNS)
    n = 0
    for f in findings:
        w.writerow(csv_row(f))
        n += 1
    return n


def findings_csv(findings: Iterable[Finding]) -> str:
    buf = io.StringIO()
    write_csv(findings, buf)
    return buf.getvalue()


def render_csv(report) -> str:
    return findings_csv(report.findings)


# --------------------------------------------------------------------------- markdown


def _md(text: str) -> str:
    return str(text).replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def render_markdown(report) -> str:
    return "".join(_text(_markdown_lines(report)))


def _markdown_lines(report) -> Iterator[str]:
    out = [f"# {_headline(report)}", ""]
    s = summary(report)
    out += ["| severity | findings |", "|---|---:|"]
    out += [f"| {k} | {n} |" for k, n in s["by_severity"].items()]
    out.append("")
    printed: dict[tuple, str] = {}
    for label, items in group_findings(report.findings):
        yield from out
        out = []
        out += [f"## {_md(label)}", ""]
        out += ["| " + " | ".join(_HEADER).lower() + " |", "|" + "---|" * len(_HEADER)]
        out += ["| " + " | ".join(_md(c) for c in _row(f)) + " |" for f in items]
        out.append("")
        for f in items:
            title = f"{f.rule.value}: {f.vm_size}" + (f" in pool {f.resource.pool}" if f.resource.pool else "")
            out += [f"### {_md(title)}", "", _md(f.message), ""]
            if f.retirement and f.retirement.urls:
                out += ["Source: " + ", ".join(f.retirement.urls), ""]
            if f.replacement:
                alt = ", ".join(f.replacement.alternatives) or "none"
                out += [f"Move to **{f.replacement.vm_size}**: {_md(f.replacement.why)}. Alternatives: {alt}.", ""]
            key = (f.resource.id.lower(), f.resource.pool, tuple(f.commands))
            if f.commands and key in printed:  # one pool, two rules, one rebuild: print it once
                out += [f"Same commands as the {printed[key]} finding above: one rebuild fixes both.", ""]
            elif f.commands:
                printed[key] = f.rule.value
                out += ["```bash", *f.commands, "```", ""]
    if report.needs_review:
        out += ["## Needs review", ""]
        out += [f"- [{_md(i.title)}]({i.url}): {_md(i.reason)}" for i in report.needs_review]
        out.append("")
    not_scanned, undelivered = split_errors(report.errors)
    if not_scanned:
        out += ["## Not scanned", ""]
        out += [f"- `{_md(e.scope)}`: {_md(e.error)}" for e in not_scanned]
        out.append("")
    if undelivered:
        out += ["## Delivery problems", ""]
        out += [f"- `{_md(e.scope)}`: {_md(e.error)}" for e in undelivered]
        out.append("")
    yield from out


def render(report, fmt: str = "table") -> str:
    if fmt == "json":
        return "".join(iter_json(report, pretty=True))
    if fmt == "csv":
        return render_csv(report)
    if fmt == "markdown":
        return render_markdown(report)
    if fmt == "table":
        return render_table(report)
    raise ValueError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")


def catalog_to_json(catalog: Any, today: date, errors: Iterable[Any] = ()) -> dict[str, Any]:
    """The documented JSON document for a Catalog (pure)."""
    rets = sorted(catalog.retirements, key=lambda r: (r.retires_on, r.id))
    return {
        "schema": CATALOG_SCHEMA,
        "today": today.isoformat(),
        "retirements": [{**retirement_to_dict(r), "days_left": r.days_left(today)} for r in rets],
        "needs_review": [
            {"id": i.id, "title": i.title, "url": i.url, "reason": i.reason} for i in catalog.needs_review
        ],
        "conflicts": list(catalog.conflicts),
        "errors": [{"scope": e.scope, "error": e.error} for e in errors],
        # issue 13, additive: the built-in node OS retirements (scanner/data/node_os.toml)
        "node_os": node_os_to_json(today),
    }


def node_os_to_json(today: date) -> list[dict[str, Any]]:
    from scanner.core.node_os import load_builtin

    return [{"id": e.id, "title": e.title, "os_type": e.os_type, "os_version": e.os_version,
             "end_of_support": e.end_of_support.isoformat(), "images_removed": e.images_removed.isoformat(),
             "days_left": (e.end_of_support - today).days, "move_os_sku": e.move_os_sku,
             "move_min_kubernetes": e.move_min_kubernetes or None, "move_how": e.move_how,
             "os_skus": list(e.os_skus), "image_prefixes": list(e.image_prefixes), "urls": list(e.urls),
             "notes": e.notes}
            for e in sorted(load_builtin().entries, key=lambda e: (e.end_of_support, e.id))]
