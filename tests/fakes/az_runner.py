"""Runs Azure CLI commands in one process, for tests. Test-only; executed by the Python of the
Azure CLI's own virtual environment (.venv-azcli), never imported by the scanner.

    <.venv-azcli>/bin/python tests/fakes/az_runner.py < request.json > results.json

request.json: {"arm": "https://127.0.0.1:PORT", "groups": [["az aks nodepool add ...", ...], ...]}
Before each group it calls POST {arm}/_fake/group?index=N: the fake starts that group from the
resources as first added (each finding's commands run as if they were the only ones).
The environment carries IDENTITY_ENDPOINT / IDENTITY_HEADER (the fake's managed identity),
REQUESTS_CA_BUNDLE (its self-signed certificate), AZURE_CONFIG_DIR (a throwaway folder) and
HOME (where `az aks get-credentials` writes its kubeconfig).

First it registers the fake as a cloud (`az cloud register --skip-endpoint-discovery`), selects
it and logs in with `az login --identity`; then it runs each command through
`azure.cli.core.get_default_cli().invoke` (40-80 ms each once the modules are loaded).
`printf ... > file` lines (files the commands read, such as --kubelet-config) are run by bash in
the working directory; other non-az lines (kubectl) are reported as skipped.

Prints one JSON document: {"setup": [...], "results": [{"command", "exit", "error", "skipped"}]}.
"""

from __future__ import annotations

import io
import json
import os
import shlex
import subprocess
import sys
import time

# The CLI's log handlers keep the stream they were made with: one buffer for the whole run, read
# per command from its offset.
_ERR = io.StringIO()
sys.stderr = _ERR


def _invoke(args: list[str]) -> tuple[int, str]:
    from azure.cli.core import get_default_cli

    out = io.StringIO()
    start = _ERR.tell()
    cli = get_default_cli()
    try:
        code = cli.invoke(args, out_file=out)
    except SystemExit as exc:  # argparse errors exit
        code = exc.code if isinstance(exc.code, int) else 2
    except Exception as exc:  # noqa: BLE001 - reported, never raised
        code = 1
        _ERR.write(f"{type(exc).__name__}: {exc}")
    text = _ERR.getvalue()[start:].strip()
    result = getattr(cli, "result", None)
    if code and getattr(result, "error", None) is not None:
        text = f"{type(result.error).__name__}: {result.error}" + (f" | {text}" if text else "")
    return int(code or 0), text


def _no_poll_delay() -> None:
    """The CLI sleeps 500 ms between `poller.done()` checks of a long-running operation; the fake
    finishes every operation in its first answer, so the wait only slows the tests."""
    from azure.cli.core.commands import LongRunningOperation

    LongRunningOperation._delay = lambda self: time.sleep(0.005)


def _aks_commands_only() -> None:
    """`az aks ...` loads two command modules: acs (every command we print) and serviceconnector
    (`az aks connection ...`, 50 ms of command registration per call). Load only acs."""
    from azure.cli.core import CommandIndex

    original = CommandIndex.get

    def get(self, args):
        found = original(self, args)
        if found and args and args[0] == "aks" and found[0]:
            return [m for m in found[0] if m != "serviceconnector"], found[1]
        return found

    CommandIndex.get = get


def main() -> int:
    request = json.load(sys.stdin)
    _no_poll_delay()
    _aks_commands_only()
    arm = request["arm"].rstrip("/") + "/"
    setup = [
        ["cloud", "register", "--name", "FakeArm", "--endpoint-resource-manager", arm,
         "--endpoint-active-directory", arm, "--endpoint-active-directory-resource-id",
         "https://management.core.windows.net/", "--endpoint-management", "https://management.core.windows.net/",
         "--skip-endpoint-discovery"],
        ["cloud", "set", "--name", "FakeArm"],
        ["login", "--identity", "--output", "none"],
    ]
    report: dict = {"setup": [], "results": []}
    for args in setup:
        code, error = _invoke(args)
        report["setup"].append({"command": "az " + " ".join(args), "exit": code, "error": error})
        if code != 0:
            print(json.dumps(report))
            return 1
    profile = None
    if os.environ.get("AZ_RUNNER_PROFILE"):  # a cProfile of the commands, to see where time goes
        import cProfile

        profile = cProfile.Profile()
        profile.enable()
    for index, group in enumerate(request["groups"]):
        _start_group(arm, index)
        for line in group:
            report["results"].append(dict(_run_line(line), group=index))
    if profile is not None:
        profile.disable()
        profile.dump_stats(os.environ["AZ_RUNNER_PROFILE"])
    print(json.dumps(report))
    return 0


def _start_group(arm: str, index: int) -> None:
    import requests

    requests.post(f"{arm}_fake/group", params={"index": index}, timeout=30,
                  proxies={"https": None, "http": None}).raise_for_status()


def _run_line(line: str) -> dict:
    started = time.perf_counter()
    out = _run_words(line)
    out["ms"] = round((time.perf_counter() - started) * 1000, 1)
    return out


def _run_words(line: str) -> dict:
    words = shlex.split(line)
    if words[:1] == ["az"]:
        code, error = _invoke(words[1:] + ["--only-show-errors"])
        return {"command": line, "exit": code, "error": error, "skipped": False}
    if words[:1] == ["printf"]:
        done = subprocess.run(["bash", "-c", line], capture_output=True, text=True, check=False)
        return {"command": line, "exit": done.returncode, "error": done.stderr.strip(), "skipped": False}
    return {"command": line, "exit": 0, "error": "", "skipped": True}


if __name__ == "__main__":
    raise SystemExit(main())
