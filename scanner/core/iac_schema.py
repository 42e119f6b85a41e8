"""scan-iac results as text: JSON (`retirement-scan-iac/v1`), table, markdown and SARIF 2.1.0.
Pure: values in, strings out.

    render(result, fmt, today, generated_at, catalog=None, tool_version="") -> str
        fmt: table | json | markdown | sarif
    result_to_json(result, today, generated_at, catalog=None) -> dict
    result_to_sarif(result, tool_version="") -> dict

Findings are the scanner's own (scanner.core.schema.finding_to_json for the shared fields) plus
where they are written. A finding's location is where the size is *written* (the literal: a
variable default, a .tfvars line, a parameter file, or the attribute itself), because that is
the line a pull request changes; `declared_at` is the resource attribute that uses it.

SARIF (OASIS SARIF 2.1.0, the subset GitHub code scanning and Azure DevOps read:
https://docs.github.com/en/code-security/code-scanning/integrating-with-code-scanning/sarif-support-for-code-scanning):
one run; `tool.driver.rules` are our rules (retiring-size, gen1-only-size, gen1-node-image, and
size-not-literal for sizes that could not be checked); each result has `ruleId`, `level`,
`message.text` (with the replacement), one `physicalLocation` (`artifactLocation.uri` relative
to the scanned root, `region.startLine` / `startColumn`), the resource as a `logicalLocation`,
the using attribute as a `relatedLocation`, and `partialFingerprints` from the finding id. Files
that could not be parsed are `toolExecutionNotifications` (level error) with
`executionSuccessful: false`.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from scanner.core import schema
from scanner.core.iac import Declaration, IacFinding, IacResult, Spot
from scanner.core.model import Rule, Severity

SCHEMA = "retirement-scan-iac/v1"
FORMATS = ("table", "json", "markdown", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
NOT_LITERAL_RULE = "size-not-literal"
INFORMATION_URI = "https://github.com/aks-retirement-scanner/aks-retirement-scanner#scan-terraform-bicep-and-arm-templates"


def _where(spot: Spot) -> dict:
    return {"file": spot.file, "line": spot.line, "column": spot.column}


def written_at(d: Declaration) -> Spot:
    return d.size.source or d.size.spot


# --------------------------------------------------------------------------- JSON


def finding_to_json(x: IacFinding) -> dict:
    d = x.declaration
    out = schema.finding_to_json(x.finding)
    out.pop("status", None)  # nothing is stored: every finding of a template scan is what it is now
    out["location"] = _where(written_at(d))
    out["declared_at"] = _where(d.size.spot)
    out["value_from"] = d.size.via or "the attribute itself"
    out["resource"].update({
        "address": d.address,
        "type": d.resource_type,
        "attribute": d.attribute,
        "language": d.language,
        "location": d.location or None,
    })
    out["region_checked"] = x.region or None
    return out


def not_literal_to_json(d: Declaration) -> dict:
    return {
        **_where(d.size.spot),
        "resource": d.address,
        "type": d.resource_type,
        "attribute": d.attribute,
        "expression": d.size.text,
        "reason": d.size.reason,
    }


def summary(result: IacResult, region: str = "") -> dict:
    by_rule = {r.value: 0 for r in Rule}
    by_severity = {s.value: 0 for s in Severity}
    for x in result.findings:
        by_rule[x.finding.rule.value] += 1
        by_severity[x.finding.severity.value] += 1
    checked = sorted({x.region for x in result.findings if x.region})
    return {
        "files": len(result.files),
        "declarations": result.declarations,
        "findings": len(result.findings),
        "by_rule": by_rule,
        "by_severity": by_severity,
        "not_literal": len(result.not_literal),
        "errors": len(result.problems),
        "region": region or None,
        "regions_checked": checked,
        "regions_without_sku_facts": list(result.regions_without_facts),
    }


def result_to_json(result: IacResult, today: date, generated_at: datetime, catalog=None, region: str = "") -> dict:
    return {
        "schema": SCHEMA,
        "generated_at": generated_at.isoformat(),
        "today": today.isoformat(),
        "summary": summary(result, region),
        "findings": [finding_to_json(x) for x in result.findings],
        "not_literal": [not_literal_to_json(d) for d in result.not_literal],
        "errors": [{**_where(p.spot), "error": p.message} for p in result.problems],
        "needs_review": [{"id": r.id, "title": r.title, "url": r.url, "reason": r.reason}
                         for r in (getattr(catalog, "needs_review", ()) or ())],
        "conflicts": list(getattr(catalog, "conflicts", ()) or ()),
    }


# --------------------------------------------------------------------------- table / markdown


def _replacement_text(x: IacFinding) -> str:
    f = x.finding
    if f.replacement is None:
        return "-"
    return f.replacement.vm_size + ("" if x.region else " (region not checked)")


def _row(x: IacFinding) -> list[str]:
    f = x.finding
    spot = written_at(x.declaration)
    return [
        f"{spot.line}:{spot.column}",
        f.severity.value + ("!" if f.restricted else ""),
        "" if f.days_left is None else str(f.days_left),
        f.rule.value,
        x.declaration.address + (f" pool {x.declaration.pool}" if x.declaration.pool else ""),
        f.vm_size,
        f.retirement.retires_on.isoformat() if f.retirement else "-",
        _replacement_text(x),
    ]


_HEADER = ["LINE:COL", "SEVERITY", "DAYS", "RULE", "RESOURCE", "SIZE", "RETIRES", "MOVE TO"]


def _by_file(findings) -> dict[str, list[IacFinding]]:
    out: dict[str, list[IacFinding]] = {}
    for x in findings:
        out.setdefault(written_at(x.declaration).file, []).append(x)
    return dict(sorted(out.items()))


def _headline(result: IacResult, today: date) -> str:
    s = summary(result)
    sev = ", ".join(f"{n} {k}" for k, n in s["by_severity"].items() if n)
    return (f"IaC scan for {today.isoformat()}: {s['findings']} findings" + (f" ({sev})" if sev else "")
            + f" in {s['declarations']} declared sizes, {s['files']} files read; "
            f"{s['not_literal']} not literal, {s['errors']} errors")


def render_table(result: IacResult, today: date) -> str:
    lines = [_headline(result, today), ""]
    if not result.findings:
        lines.append("No retiring or Generation-1 sizes declared.")
    for file, items in _by_file(result.findings).items():
        rows = [_HEADER] + [_row(x) for x in items]
        widths = [max(len(r[i]) for r in rows) for i in range(len(_HEADER))]
        lines.append(file)
        for r in rows:
            lines.append("  " + "  ".join(c.ljust(widths[i]) for i, c in enumerate(r)).rstrip())
        lines.append("")
    if result.findings and all(not x.region for x in result.findings if x.finding.replacement):
        lines.append("Replacements are the successor line's size with the same vCPUs, region not checked: "
                     "give --skus (az vm list-skus exports) and --region to check them.")
    if result.findings:
        lines.append("Why, and where each value comes from: --format markdown, json or sarif.")
    if result.not_literal:
        lines += ["", f"Not literal ({len(result.not_literal)}): sizes not checked, the value is known only at deployment:"]
        for d in result.not_literal:
            lines.append(f"  - {d.size.spot} {d.address} {d.attribute} = {d.size.text or '(unset)'}: {d.size.reason}")
    if result.problems:
        lines += ["", f"Errors ({len(result.problems)}): files not read completely:"]
        lines += [f"  - {p}" for p in result.problems]
    return "\n".join(lines).rstrip() + "\n"


def _md(text: str) -> str:
    return schema._md(text)


def render_markdown(result: IacResult, today: date) -> str:
    out = [f"# {_headline(result, today)}", ""]
    for file, items in _by_file(result.findings).items():
        out += [f"## {_md(file)}", ""]
        out += ["| " + " | ".join(h.lower() for h in _HEADER) + " |", "|" + "---|" * len(_HEADER)]
        out += ["| " + " | ".join(_md(c) for c in _row(x)) + " |" for x in items]
        out.append("")
        for x in items:
            f, d = x.finding, x.declaration
            spot = written_at(d)
            out += [f"### {_md(f'{spot.line}:{spot.column} {f.rule.value}: {f.vm_size} in {d.address}')}", ""]
            out += [_md(f.message), ""]
            if d.size.source is not None:
                out += [f"Written at `{spot}` ({_md(d.size.via)}), used by `{d.size.spot}` ({_md(d.attribute)}).", ""]
            if f.retirement and f.retirement.urls:
                out += ["Source: " + ", ".join(f.retirement.urls), ""]
            if f.replacement:
                alt = ", ".join(f.replacement.alternatives) or "none"
                out += [f"Move to **{f.replacement.vm_size}**: {_md(f.replacement.why)}. Alternatives: {alt}.", ""]
    if result.not_literal:
        out += ["## Not literal", "", "| where | resource | attribute | expression | why |", "|---|---|---|---|---|"]
        out += [f"| {_md(str(d.size.spot))} | {_md(d.address)} | {_md(d.attribute)} | `{_md(d.size.text)}` | {_md(d.size.reason)} |"
                for d in result.not_literal]
        out.append("")
    if result.problems:
        out += ["## Errors", ""]
        out += [f"- `{_md(str(p.spot))}`: {_md(p.message)}" for p in result.problems]
        out.append("")
    return "\n".join(out).rstrip() + "\n"


# --------------------------------------------------------------------------- SARIF

_RULES = {
    Rule.RETIRING_SIZE.value: (
        "RetiringVmSize",
        "A declared VM size is retiring",
        "The template declares a VM size that Azure retires. Existing VMs and node pools on it stop, "
        "scale-outs fail, and new deployments are refused after the date.",
        "Change the size to the replacement named in the result (the successor line, same vCPUs; "
        "checked against a region's SKU list when the scan had one). For an AKS pool, add a new pool on "
        "the new size and delete the old one: a pool's size cannot change in place.",
    ),
    Rule.GEN1_ONLY_SIZE.value: (
        "Gen1OnlyVmSize",
        "A declared VM size runs Generation 1 VMs only",
        "The region's SKU facts say the size supports Hyper-V Generation 1 only: no Trusted Launch, "
        "no v6 sizes or NVMe without changing size.",
        "Change the size to the Gen2-capable replacement named in the result.",
    ),
    Rule.GEN1_NODE_IMAGE.value: (
        "WindowsPoolWithoutGen2Path",
        "A Windows node pool is declared without a Generation 2 path",
        "Windows Server 2019 pools run Generation 1 VMs; Windows Server 2022 pools run Gen1 on sizes that "
        "offer both generations unless created with the UseWindowsGen2VM header, which a template cannot send.",
        "Declare the pool as Windows2022 and create it with `az aks nodepool add --aks-custom-headers "
        "UseWindowsGen2VM=true`, or use a Gen2-only size.",
    ),
    NOT_LITERAL_RULE: (
        "VmSizeNotLiteral",
        "A VM size could not be checked",
        "The size is an expression known only at deployment (a function, another resource's attribute, a "
        "variable without a default), so it was not checked.",
        "Give the value: a .tfvars / .bicepparam / parameter file on the command line, or a literal default.",
    ),
}
_RULE_IDS = list(_RULES)


def _level(severity: Severity) -> str:
    if severity in (Severity.CRITICAL, Severity.HIGH):
        return "error"
    if severity in (Severity.MEDIUM, Severity.LOW):
        return "warning"
    return "note"


def _location(spot: Spot, address: str = "", message: str = "", ident: int | None = None) -> dict:
    loc: dict = {
        "physicalLocation": {
            "artifactLocation": {"uri": spot.file, "uriBaseId": "%SRCROOT%"},
            "region": {"startLine": spot.line, "startColumn": spot.column},
        }
    }
    if ident is not None:
        loc = {"id": ident, **loc}
    if address:
        loc["logicalLocations"] = [{"fullyQualifiedName": address, "kind": "resource"}]
    if message:
        loc["message"] = {"text": message}
    return loc


def _message(x: IacFinding) -> str:
    f, d = x.finding, x.declaration
    text = f"{d.address}{' pool ' + d.pool if d.pool else ''}: {f.message}"
    if d.size.via:
        text += f" The value comes from {d.size.via}, used by {d.attribute} at {d.size.spot}."
    if f.replacement is not None:
        checked = f"checked in {x.region}: " if x.region else ""
        text += f" Replace with {f.replacement.vm_size} ({checked}{f.replacement.why})."
        if f.replacement.alternatives:
            text += f" Alternatives: {', '.join(f.replacement.alternatives)}."
    return text


def result_to_sarif(result: IacResult, tool_version: str = "") -> dict:
    rules = []
    for rid, (name, short, full, help_text) in _RULES.items():
        level = "note" if rid in (NOT_LITERAL_RULE, Rule.GEN1_NODE_IMAGE.value) else (
            "warning" if rid == Rule.GEN1_ONLY_SIZE.value else "error")
        rules.append({
            "id": rid,
            "name": name,
            "shortDescription": {"text": short},
            "fullDescription": {"text": full},
            "help": {"text": f"{full} {help_text}", "markdown": f"{full}\n\n**Fix:** {help_text}"},
            "helpUri": INFORMATION_URI,
            "defaultConfiguration": {"level": level},
            "properties": {"tags": ["azure", "vm-size", "retirement"], "precision": "high",
                           "problem.severity": {"error": "error", "warning": "warning"}.get(level, "recommendation")},
        })
    results = []
    for x in result.findings:
        f, d = x.finding, x.declaration
        spot = written_at(d)
        res = {
            "ruleId": f.rule.value,
            "ruleIndex": _RULE_IDS.index(f.rule.value),
            "level": _level(f.severity),
            "message": {"text": _message(x)},
            "locations": [_location(spot, d.address)],
            "partialFingerprints": {"retirementScannerFindingId/v1": f.id},
            "properties": {
                "severity": f.severity.value,
                "vmSize": f.vm_size,
                "resource": d.address,
                "resourceType": d.resource_type,
                "attribute": d.attribute,
                "retiresOn": f.retirement.retires_on.isoformat() if f.retirement else None,
                "daysLeft": f.days_left,
                "replacement": f.replacement.vm_size if f.replacement else None,
                "regionChecked": x.region or None,
            },
        }
        if spot != d.size.spot:
            res["relatedLocations"] = [_location(d.size.spot, d.address, f"used by {d.address} {d.attribute}", 1)]
        results.append(res)
    for d in result.not_literal:
        results.append({
            "ruleId": NOT_LITERAL_RULE,
            "ruleIndex": _RULE_IDS.index(NOT_LITERAL_RULE),
            "level": "note",
            "message": {"text": f"{d.address} {d.attribute} = {d.size.text or '(unset)'} was not checked: {d.size.reason}."},
            "locations": [_location(d.size.spot, d.address)],
            "partialFingerprints": {"retirementScannerFindingId/v1": f"{d.size.spot.file}#{d.address}#{d.attribute}"},
        })
    notifications = [{
        "level": "error",
        "message": {"text": p.message},
        "locations": [_location(p.spot)],
        "descriptor": {"id": "unreadable-file"},
    } for p in result.problems]
    driver = {
        "name": "aks-retirement-scanner",
        "informationUri": INFORMATION_URI,
        "rules": rules,
    }
    if tool_version:
        driver["semanticVersion"] = tool_version
        driver["version"] = tool_version
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": driver},
            "automationDetails": {"id": "scan-iac/"},
            "invocations": [{"executionSuccessful": not result.problems,
                             "toolExecutionNotifications": notifications}],
            "results": results,
            "columnKind": "unicodeCodePoints",
        }],
    }


def render(result: IacResult, fmt: str, today: date, generated_at: datetime, catalog=None,
           tool_version: str = "", region: str = "") -> str:
    if fmt == "json":
        return json.dumps(result_to_json(result, today, generated_at, catalog, region), indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(result_to_sarif(result, tool_version), indent=2) + "\n"
    if fmt == "markdown":
        return render_markdown(result, today)
    if fmt == "table":
        return render_table(result, today)
    raise ValueError(f"--format: {fmt!r} is not one of {', '.join(FORMATS)}")
