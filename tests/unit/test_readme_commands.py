"""Every command line the README shows runs: `aks-retire ...`, `python -m scanner ...` and
`python -m scanner.demo ...` parse with the real parsers (each flag exists, each value is one it
takes), each documented command's `--help` works and names those flags, and `make` targets exist.
Nothing is executed against Azure or a store: parsing and --help only."""

from __future__ import annotations

import argparse
import importlib.util
import re
import shlex

import pytest

from scanner import cli, demo
from tests.conftest import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")
MAKEFILE = (ROOT / "Makefile").read_text(encoding="utf-8")
PROGRAMS = ("aks-retire", "python -m scanner.demo", "python -m scanner.devtools.readme_images", "python -m scanner",
            "make")
TEMPLATE = re.compile(r"COMMAND|\.\.\.|\[|<")  # usage patterns, not runnable lines


def command_lines() -> list[str]:
    """Shell lines of ```sh blocks and inline code spans that start with one of PROGRAMS."""
    found: list[str] = []
    blocks = re.findall(r"```(?:sh|bash|console)\n(.*?)```", README, re.S)
    rest = re.sub(r"```.*?```", "", README, flags=re.S)
    candidates = [ln for b in blocks for ln in b.splitlines()]
    candidates += [" ".join(span.split()) for span in re.findall(r"`([^`]+)`", rest)]
    for text in candidates:
        for part in re.split(r"\s*(?:&&|;)\s*", text.split(" # ")[0].strip()):
            part = part.strip()
            if part.startswith(PROGRAMS) and not TEMPLATE.search(part) and part not in PROGRAMS:
                found.append(part)  # (a bare program name is a mention, not a command line)
    return sorted(set(found))


LINES = command_lines()


def test_the_readme_shows_command_lines():
    assert len(LINES) >= 10, LINES
    assert any(ln.startswith("aks-retire scan") for ln in LINES)


def _split(line: str) -> tuple[str, list[str]]:
    for prog in PROGRAMS:
        if line == prog or line.startswith(prog + " "):
            return prog, shlex.split(line[len(prog):])
    m = re.match(r"python -m (scanner\.[\w.]+)", line)  # another tool module (devtools)
    assert m, line
    return m.group(0), shlex.split(line[m.end():])


def _parse(parser: argparse.ArgumentParser, argv: list[str], line: str, capsys) -> argparse.Namespace | None:
    try:
        return parser.parse_args(argv)
    except SystemExit as exc:
        err = capsys.readouterr().err
        assert exc.code == 0, f"README line does not parse: {line!r}: {err.strip()}"
        return None


@pytest.mark.parametrize("line", LINES)
def test_readme_command_line_runs(line, capsys):
    prog, argv = _split(line)
    if prog == "make":
        for target in (a for a in argv if "=" not in a):  # PY=python3.12 is a variable
            assert re.search(rf"^{re.escape(target)}:", MAKEFILE, re.M), f"Makefile has no target {target!r}"
        return
    if prog not in ("aks-retire", "python -m scanner", "python -m scanner.demo"):  # a devtools module
        module = prog.removeprefix("python -m ")
        assert importlib.util.find_spec(module) is not None, f"README runs {module}, which does not exist"
        return
    parser = demo.build_parser() if prog == "python -m scanner.demo" else cli.build_parser()
    args = _parse(parser, argv, line, capsys)
    if args is None or prog == "python -m scanner.demo":
        return
    # The command's own --help works and names every flag the README line uses.
    with pytest.raises(SystemExit) as exc:
        cli.build_parser().parse_args([args.command, "--help"])
    assert exc.value.code == 0
    helptext = capsys.readouterr().out
    for flag in (a.split("=")[0] for a in argv if a.startswith("--")):
        assert flag in helptext, f"{args.command} --help does not mention {flag} (README: {line!r})"


def test_readme_describes_the_teams_file_as_written(tmp_path):
    """The demo table's `.teams.json` row names the wrapper's keys that FileChannel writes."""
    import json

    from notifiers import Message, Recipient
    from notifiers.filechannel import FileChannel

    msg = Message("0123456789abcdef0123456789abcdef", Recipient("teams", "TEAMS_WEBHOOK_URL"), "subject",
                  (("f1", "new", "high", 80),), teams_posts=({"type": "message", "attachments": []},))
    FileChannel(tmp_path).send(msg)
    (written,) = tmp_path.glob("*.teams.json")
    keys = list(json.loads(written.read_text(encoding="utf-8")))
    row = next(ln for ln in README.splitlines() if ln.startswith("| `demo-output/notifications/*.teams.json`"))
    assert "{" + ", ".join(f'"{k}"' for k in keys) in row.replace(": [...]", ""), (keys, row)


def test_limits_say_where_an_http_scan_runs():
    limits = README.split("## Limits and known gaps", 1)[1].split("\n## ", 1)[0]
    assert "run_scan_request" in limits and "SCAN_QUEUE" in limits
    assert "visibly in\n  the logs" not in limits and "Delivery problems" in limits
