"""aks-retire COMMAND ... (or python -m scanner COMMAND ...)

Each command lives in scanner/cli/<name>.py and exposes `register(subparsers)`, which adds
its parser and sets `func(args) -> int` as the default. Exit codes (a public contract):

    0  done
    1  unexpected error
    2  bad usage or unreadable input (the message names it)
    3  findings at or above --fail-on (scan, scan-iac)
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from scanner import __version__
from scanner.errors import ScannerError

COMMANDS = ("catalog", "scan", "scan-iac", "findings", "show", "ack", "unack", "history")

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, EXIT_FINDINGS = 0, 1, 2, 3


def lower_choice(text: str) -> str:
    """argparse `type` for case-blind choices: `--format JSON` is `--format json`."""
    return text.strip().lower()


def check_source(flag: str, value: str) -> None:
    """A --feed style value: an http(s) URL, or a file that exists, can be read and is a feed (JSON
    or RSS; else exit 2 naming the flag and the file; a URL that cannot be fetched is the run's
    problem, reported by it)."""
    from pathlib import Path

    from scanner.errors import InputError

    if "://" in value:
        if not value.lower().startswith(("https://", "http://")):
            raise InputError(f"{flag}: {value!r} is not an http(s) URL or a file")
        return
    path = Path(value)
    if not path.is_file():
        raise InputError(f"{flag}: {value}: no such file (give a feed URL or an existing JSON/RSS file)")
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(f"{flag}: {value}: cannot read it ({exc.strerror or exc})") from None
    # A file the user named must be a feed: read it now (a local file, no network), so a file that
    # is not Azure Updates JSON or RSS is exit 2 naming it, not a warning and a run without the feed.
    from scanner.errors import FeedError
    from scanner.sources.feed.fetch import fetch

    try:
        fetch(value)
    except FeedError as exc:
        detail = str(exc)
        detail = detail[len(value) + 2:] if detail.startswith(f"{value}: ") else detail
        raise InputError(f"{flag}: {value}: not an Azure Updates feed file ({detail})") from None


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse exits 2 too; keep its message short
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def program_name(argv0: str | None = None) -> str:
    """How the user ran us: the console script's name, or `python -m scanner`."""
    base = os.path.basename(argv0 if argv0 is not None else (sys.argv[0] if sys.argv else ""))
    if not base or base in ("__main__.py", "-c", "-m") or base.startswith("python"):
        return "python -m scanner"
    return base.removesuffix(".exe")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=program_name(), description=__doc__.split("\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log progress to stderr")
    parser.add_argument("--version", action="version", version=f"aks-retirement-scanner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    seen = set()
    for name in COMMANDS:
        module = importlib.import_module(f"scanner.cli.{name.replace('-', '_')}")
        if module in seen:
            continue
        seen.add(module)
        module.register(sub)
    for command in sub.choices.values():  # -v works after the command too: `scan ... -v`
        command.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                             help="log progress to stderr (as before the command)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if not args.verbose:
        # The Azure SDKs log every failed credential attempt and retry at WARNING; our own error
        # message says what failed and what to do. -v shows them.
        logging.getLogger("azure").setLevel(logging.ERROR)
    else:
        # -v is one line per stage: not azure-core's dump of every storage request's headers
        # (hundreds of lines per scan with a store); SDK warnings and retries still show.
        logging.getLogger("azure.core.pipeline.policies.http_logging_policy").setLevel(logging.WARNING)
    try:
        return int(args.func(args) or 0)
    except ScannerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # noqa: BLE001 - last line of defence, exit 1 with the type
        logging.getLogger("scanner").debug("unexpected", exc_info=True)
        print(f"unexpected error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_UNEXPECTED
