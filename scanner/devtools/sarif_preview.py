"""Text preview of how GitHub shows SARIF results as pull-request annotations (the "Check
warning / Code scanning" boxes under a changed line). Used to make the README's example from our
own SARIF output:

    python -m scanner.devtools.sarif_preview tests/fixtures/iac/golden/scan.sarif \\
        --only Standard_DS2_v2 Standard_NC6s_v3 size-not-literal

`--only` keeps results whose vmSize property or ruleId is one of the words (first of each).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path

_LEVEL = {"error": "Check failure", "warning": "Check warning", "note": "Check notice"}


def annotation(result: dict, rules: dict[str, dict], tool: str) -> str:
    loc = result["locations"][0]["physicalLocation"]
    rule = rules.get(result["ruleId"], {})
    title = rule.get("shortDescription", {}).get("text", result["ruleId"])
    body = textwrap.fill(result["message"]["text"], width=96, initial_indent="│ ", subsequent_indent="│ ")
    return "\n".join([
        f"{loc['artifactLocation']['uri']}, line {loc['region']['startLine']}",
        f"┌ {_LEVEL.get(result.get('level', 'warning'), 'Check warning')}: Code scanning / {tool}",
        f"│ {title} ({result['ruleId']})",
        body,
        "└ Show more details",
    ])


def render(doc: dict, only: list[str] | None = None) -> str:
    run = doc["runs"][0]
    rules = {r["id"]: r for r in run["tool"]["driver"]["rules"]}
    tool = run["tool"]["driver"]["name"]
    picked = []
    if only:
        for word in only:
            hit = next((r for r in run["results"]
                        if word in (r.get("properties", {}).get("vmSize"), r["ruleId"])), None)
            if hit is not None and hit not in picked:
                picked.append(hit)
    else:
        picked = run["results"]
    return "\n\n".join(annotation(r, rules, tool) for r in picked) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.devtools.sarif_preview", description=__doc__.split("\n")[0])
    parser.add_argument("sarif")
    parser.add_argument("--only", nargs="+", metavar="WORD")
    args = parser.parse_args(argv)
    try:
        doc = json.loads(Path(args.sarif).read_text(encoding="utf-8"))
        text = render(doc, args.only)
    except OSError as exc:
        print(f"error: {args.sarif}: cannot read it ({exc.strerror or exc})", file=sys.stderr)
        return 2
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        print(f"error: {args.sarif}: not a SARIF log of scan-iac ({type(exc).__name__}: {exc})", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
