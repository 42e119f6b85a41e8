"""python -m scanner scan-iac: find retiring and Generation-1 sizes in Terraform, Bicep and ARM templates.

    python -m scanner scan-iac PATH... [--var-file FILE ...] [--params FILE ...]
        [--skus FILE|DIR ...] [--region NAME] [--catalog builtin|none|FILE ...]
        [--today YYYY-MM-DD] [--format table|json|markdown|sarif] [--output FILE]
        [--fail-on critical|high|medium|low]

Reads .tf, .bicep and ARM .json templates (folders are searched), with .tfvars, .bicepparam and
ARM parameter files for the values. Offline: nothing is read from Azure.
Exit codes: 0 done, 3 findings at or above --fail-on, 2 bad usage or a file that could not be read
or parsed (the report is still written, naming file and line), 1 unexpected.
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import date, datetime, timezone
from pathlib import Path

from scanner.errors import InputError

EXIT_OK, EXIT_USAGE, EXIT_FINDINGS = 0, 2, 3


def register(sub) -> None:
    from scanner.cli import lower_choice

    p = sub.add_parser(
        "scan-iac",
        help="scan Terraform, Bicep and ARM templates for retiring or Gen1-only VM sizes (SARIF for pull requests)",
        description=__doc__.split("\n\n")[2],
    )
    p.add_argument("paths", nargs="+", metavar="PATH",
                   help="folders or files: .tf, .bicep, ARM .json templates; .tfvars, .bicepparam and ARM "
                        "parameter files given here are values, as with --var-file / --params")
    p.add_argument("--var-file", nargs="+", action="extend", default=[], metavar="FILE",
                   help="Terraform .tfvars for the root modules' variables (later files win)")
    p.add_argument("--params", nargs="+", action="extend", default=[], metavar="FILE",
                   help=".bicepparam files (for the template their `using` names) or ARM parameter files")
    p.add_argument("--skus", nargs="+", action="extend", metavar="FILE|DIR",
                   help="SKU facts (az vm list-skus -l REGION -o json): check replacements and Gen1 in that region")
    p.add_argument("--region", metavar="NAME",
                   help="region to judge in when a template's location is not a literal (default: the only "
                        "region of --skus, if it has one)")
    p.add_argument("--catalog", nargs="+", action="extend", metavar="builtin|none|FILE",
                   help="retirement catalogues to use (default: builtin)")
    p.add_argument("--today", metavar="YYYY-MM-DD", type=_date, help="judge as of this day (default: today, UTC)")
    p.add_argument("--format", type=lower_choice, choices=("table", "json", "markdown", "sarif"), default="table")
    p.add_argument("--output", metavar="FILE", help="write the report here instead of stdout")
    p.add_argument("--fail-on", type=lower_choice, choices=("critical", "high", "medium", "low"),
                   help="exit 3 when a finding is at or above this severity")
    p.set_defaults(func=run)


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def run(args) -> int:
    from scanner import __version__, bootstrap
    from scanner.config import Settings
    from scanner.core import iac, iac_schema
    from scanner.core.judge import Thresholds
    from scanner.core.model import Severity, region_key
    from scanner.sources import iac as iac_source
    from scanner.sources import skus as sku_mod

    settings = Settings.from_env(os.environ)  # severity thresholds, as `scan` uses them
    now = datetime.now(timezone.utc).replace(microsecond=0)
    today = args.today or now.date()
    catalogs = args.catalog or ["builtin"]
    for c in catalogs:
        if c not in ("builtin", "none") and not Path(c).is_file():
            raise InputError(f"--catalog: {c!r} is not 'builtin', 'none' or a readable file")
    catalog, _errors = bootstrap.catalog_loader(None, feed="", catalogs=catalogs, extra_file="")()
    skus = sku_mod.load_sku_files(list(args.skus)) if args.skus else sku_mod.SkuIndex()
    region = region_key(args.region) if args.region else ""
    if not region and args.skus:
        regions = sorted({loc for _sub, loc in skus.scopes()})
        if len(regions) == 1:
            region = regions[0]
    templates = iac_source.load(args.paths, args.var_file, args.params)
    if not templates.files and not templates.problems:
        # A mistyped folder must not pass a pull-request gate as "nothing declared".
        named = ", ".join(repr(p) for p in args.paths)
        raise InputError(f"scan-iac: no Terraform (.tf, .tfvars), Bicep (.bicep, .bicepparam) or ARM template "
                         f"(.json) files under {named} (JSON files that are not templates are passed over): "
                         "nothing was scanned")
    result = iac.judge_templates(templates, catalog, skus, today, Thresholds.from_settings(settings), region)
    text = iac_schema.render(result, args.format, today, now, catalog, __version__, region)
    if args.output:
        try:
            Path(args.output).write_text(text, encoding="utf-8")
        except OSError as exc:
            raise InputError(f"--output: cannot write {args.output!r} ({exc.strerror or exc})") from None
    else:
        sys.stdout.write(text)
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    crossed = result.at_or_above(Severity.parse(args.fail_on)) if args.fail_on else []
    if crossed:
        sys.stderr.write(fail_on_text(args.fail_on, crossed))
    if result.problems:
        return EXIT_USAGE  # the scan is incomplete: that outranks findings (exit 3)
    return EXIT_FINDINGS if crossed else EXIT_OK


MAX_FAIL_LINES = 20


def fail_on_text(threshold: str, crossed) -> str:
    """What made --fail-on exit 3, for stderr: one line per finding, where its size is written."""
    from scanner.core.iac_schema import written_at

    lines = [f"--fail-on {threshold}: {len(crossed)} finding(s) at or above {threshold} (exit 3):"]
    for x in crossed[:MAX_FAIL_LINES]:
        f, d = x.finding, x.declaration
        days = "" if f.days_left is None else f", {f.days_left} days left"
        lines.append(f"  {written_at(d)}  {f.severity.value:<8}  {d.address}  {f.vm_size}  {f.rule.value}{days}")
    if len(crossed) > MAX_FAIL_LINES:
        lines.append(f"  ... and {len(crossed) - MAX_FAIL_LINES} more")
    return "\n".join(lines) + "\n"
