"""python -m scanner catalog: print the merged retirement catalogue and what needs review.

    python -m scanner catalog [--feed URL|FILE] [--feed-fallback URL|FILE]
                              [--catalog builtin|none|FILE ...] [--format table|json]
                              [--retries N]
                              [--today YYYY-MM-DD]

Offline by default: without --feed only the catalogues are read (the built-in one unless
--catalog says otherwise). --feed reads the Azure Updates JSON API or RSS feed (a URL or a saved
file); a feed that cannot be read is reported on stderr and the catalogues are still printed.

The JSON form is a contract (schema "retirement-catalog/v1"):

    {"schema": "retirement-catalog/v1", "today": "YYYY-MM-DD",
     "retirements": [{"id", "title", "series": [...], "sizes": [...], "retires_on": "YYYY-MM-DD",
                      "days_left", "announced_on", "source": "builtin|feed|extra", "urls": [...],
                      "replacement_series": [...], "region_exceptions": [...],
                      "region_dates": {"<region>": "YYYY-MM-DD"}, "notes", "modified"}],
     "needs_review": [{"id", "title", "url", "reason"}],
     "conflicts": [str], "errors": [{"scope", "error"}]}

`retires_on` and `days_left` are the general date; `region_dates` lists the regions (ARM names)
or clouds ("usgov", "china") where the retirement happens on another date.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date
from typing import Any

from scanner.core.schema import CATALOG_SCHEMA as SCHEMA  # noqa: F401  (named by the README test)
from scanner.core.schema import catalog_to_json as to_json  # the document is a schema value (API and CLI)
from scanner.errors import FeedError


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from None


def register(sub: Any) -> None:
    from scanner.cli import lower_choice

    p = sub.add_parser(
        "catalog",
        help="print the retirement catalogue (built-in, feed, extra files) and what needs review",
        description="Print the merged retirement catalogue and the announcements that need review.",
    )
    p.add_argument("--feed", metavar="URL|FILE",
                   help="read Azure Updates from this JSON API / RSS URL or saved file (default: no feed)")
    p.add_argument("--feed-fallback", metavar="URL|FILE",
                   help="source to try when --feed cannot be read (e.g. the RSS feed)")
    p.add_argument("--catalog", metavar="builtin|none|FILE", action="extend", nargs="+",
                   help="catalogues to merge: 'builtin' (default), 'none' (the feed alone) or TOML files")
    p.add_argument("--retries", type=int, default=3, metavar="N",
                   help="retries per feed request on 429/5xx/connection errors (default 3)")
    p.add_argument("--format", type=lower_choice, choices=("table", "json"), default="table")
    p.add_argument("--today", type=_day, default=None, metavar="YYYY-MM-DD",
                   help="the day 'days left' counts from (default: today)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import logging
    import os

    from scanner.cli import check_source
    from scanner.config import Settings
    from scanner.sources.feed import load_catalog

    settings = Settings.from_env(os.environ)  # CATALOG_EXTRA_FILE is merged, as in a scan
    today = args.today or date.today()
    catalogs = list(args.catalog or ["builtin"])
    if "none" in catalogs and len(catalogs) > 1:
        print("error: --catalog none cannot be combined with other catalogues", file=sys.stderr)
        return 2
    feed = [s for s in (args.feed, args.feed_fallback) if s]
    if args.feed_fallback and not args.feed:
        print("error: --feed-fallback needs --feed", file=sys.stderr)
        return 2
    if args.retries < 0:
        print("error: --retries must be 0 or more", file=sys.stderr)
        return 2
    for flag, value in (("--feed", args.feed), ("--feed-fallback", args.feed_fallback)):
        if value:
            check_source(flag, value)
    # This command says on stderr what the feed reader logs: once, not twice (-v shows the log).
    feed_log = logging.getLogger("scanner.feed")
    quiet = not getattr(args, "verbose", False) and feed_log.level < logging.ERROR
    level = feed_log.level
    if quiet:
        feed_log.setLevel(logging.ERROR)
    try:
        catalog, errors = load_catalog(None, today, feed=feed, catalogs=catalogs,
                                       extra_file=settings.catalog_extra_file,
                                       fetch_options={"retries": args.retries, "backoff": 0.5})
    finally:
        feed_log.setLevel(level)
    for err in errors:
        print(f"warning: {err.error}", file=sys.stderr)
    if feed and len(errors) == len(feed):
        if catalogs == ["none"]:
            raise FeedError("no feed source could be read and --catalog none leaves nothing to print")
        print("warning: the feed could not be read; printing the catalogue without it", file=sys.stderr)

    doc = to_json(catalog, today, errors)
    if args.format == "json":
        json.dump(doc, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        sys.stdout.write(to_table(doc))
    return 0


def _names(series: list[str], sizes: list[str], width: int = 48) -> str:
    """Series as written; explicit sizes summarised per series ("NVv3: 6 sizes") when long."""
    from scanner.core.sizes import series_name

    text = ", ".join(series + sizes)
    if len(text) > width and sizes:
        groups: dict[str, int] = {}
        for size in sizes:
            try:
                key = series_name(size)
            except ValueError:
                key = size
            groups[key] = groups.get(key, 0) + 1
        text = ", ".join(series + [f"{k}: {n} size{'s' if n > 1 else ''}" for k, n in groups.items()])
    return text if len(text) <= width else text[: width - 1] + "\u2026"


MAX_URL = 110  # the table keeps lines readable; every URL is in --format json


def _first_url(urls: list[str]) -> str:
    """The first source URL (whole when it fits, so it stays clickable) and how many more."""
    if not urls:
        return "-"
    first = urls[0] if len(urls[0]) <= MAX_URL else urls[0][: MAX_URL - 1] + "\u2026"
    return first + (f" (+{len(urls) - 1} more)" if len(urls) > 1 else "")


def to_table(doc: dict[str, Any]) -> str:
    """Plain-text rendering of the JSON document (pure)."""
    header = ("ID", "SERIES / SIZES", "RETIRES ON", "DAYS LEFT", "SOURCE", "SOURCES")
    rows = [header]
    for r in doc["retirements"]:
        rows.append((r["id"], _names(r["series"], r["sizes"]), r["retires_on"], str(r["days_left"]), r["source"],
                     _first_url(r["urls"])))
    widths = [max(len(row[i]) for row in rows) for i in range(len(header) - 1)]
    lines = []
    for row in rows:
        cells = [row[i].ljust(widths[i]) if i != 3 else row[i].rjust(widths[i]) for i in range(len(widths))]
        lines.append("  ".join(cells + [row[-1]]).rstrip())
    out = [f"Retirement catalogue on {doc['today']}: {len(doc['retirements'])} retirement(s)", *lines, ""]
    regional = [(r["id"], r.get("region_dates") or {}) for r in doc["retirements"]]
    regional = [(rid, dates) for rid, dates in regional if dates]
    if regional:
        out.append("Regional dates:")
        for rid, dates in regional:
            out.append(f"  {rid}: " + ", ".join(f"{name} {when}" for name, when in dates.items()))
        out.append("")
    review = doc["needs_review"]
    out.append(f"Needs review: {len(review)}")
    for item in review:
        out.append(f"  {item['id']}  {item['title']}")
        out.append(f"      reason: {item['reason']}")
        if item["url"]:
            out.append(f"      {item['url']}")
    if doc["conflicts"]:
        out += ["", f"Conflicts: {len(doc['conflicts'])}"]
        out += [f"  {c}" for c in doc["conflicts"]]
    return "\n".join(out) + "\n"
