"""The real Azure CLI against the fake ARM, for tests. Test-only.

    azcli_python() -> Path            the Python of the Azure CLI's virtual environment
    run_az(fake, commands, tmp_path) -> AzRun

`make azcli` (a dependency of `make test`) installs `azure-cli` from PyPI into `.venv-azcli`, apart
from the project's venv (its pins clash with ours). The venv is looked up in this order:
$AZCLI_VENV, `.venv-azcli` in the repository, `.venv-azcli` beside the folder `.venv` links to (git
worktrees share one). A missing CLI is an error, never a skip: a command we print that no test
ran must not look proven.

The commands run in ONE child process (tests/fakes/az_runner.py) through
`get_default_cli().invoke`; the child gets a throwaway AZURE_CONFIG_DIR and HOME, telemetry and
survey off, no extensions, and a proxy that refuses everything but loopback, so nothing it does
can reach the internet.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
RUNNER = Path(__file__).resolve().parent / "az_runner.py"


class AzCliMissing(RuntimeError):
    pass


def azcli_python() -> Path:
    candidates = []
    if os.environ.get("AZCLI_VENV"):
        candidates.append(Path(os.environ["AZCLI_VENV"]))
    candidates.append(ROOT / ".venv-azcli")
    venv = ROOT / ".venv"
    if venv.is_symlink():
        candidates.append(venv.resolve().parent / ".venv-azcli")
    for c in candidates:
        python = c / "bin" / "python"
        if python.exists():
            return python
    raise AzCliMissing(
        "the Azure CLI is not installed for the tests: run `make azcli` (installs azure-cli into .venv-azcli); "
        f"looked in {', '.join(str(c) for c in candidates)}")


@dataclass
class AzRun:
    setup: list[dict]
    results: list[dict]
    stderr: str = ""
    failures: list[dict] = field(default_factory=list)

    @property
    def ran(self) -> list[dict]:
        return [r for r in self.results if not r["skipped"]]


def run_az(fake, groups: list[list[str]], tmp_path: Path, timeout: float = 600) -> AzRun:
    """Run groups of commands (one finding's each) with the real Azure CLI against `fake` (a
    running FakeArm); each group starts from the resources as the fake was given them."""
    python = azcli_python()
    work = Path(tmp_path) / "az"
    (work / "config").mkdir(parents=True, exist_ok=True)
    (work / "home").mkdir(exist_ok=True)
    cert = fake.cert_path  # its own: two fakes may run at once, the environment holds only one
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(work / "home"),
        "AZURE_CONFIG_DIR": str(work / "config"),
        "AZURE_EXTENSION_DIR": str(work / "extensions"),
        "AZURE_CORE_COLLECT_TELEMETRY": "false",
        "AZURE_CORE_SURVEY_MESSAGE": "false",
        "AZURE_CORE_NO_COLOR": "true",
        "AZURE_CORE_LOGIN_EXPERIENCE_V2": "off",
        "IDENTITY_ENDPOINT": fake.msi_url,
        "IDENTITY_HEADER": fake.identity_header,
        "REQUESTS_CA_BUNDLE": cert,
        "SSL_CERT_FILE": cert,
        # anything not on loopback goes to a closed port: the tests never reach the internet
        "HTTPS_PROXY": "http://127.0.0.1:9", "HTTP_PROXY": "http://127.0.0.1:9",
        "NO_PROXY": "127.0.0.1,localhost", "no_proxy": "127.0.0.1,localhost",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    if os.environ.get("AZ_RUNNER_PROFILE"):
        env["AZ_RUNNER_PROFILE"] = os.environ["AZ_RUNNER_PROFILE"]
    request = json.dumps({"arm": fake.base_url, "groups": [list(g) for g in groups]})
    done = subprocess.run([str(python), str(RUNNER)], input=request, capture_output=True, text=True, env=env,
                          cwd=work, timeout=timeout, check=False)
    try:
        report = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        raise AssertionError(f"az runner printed no report (exit {done.returncode}): {done.stderr[-3000:]}") from None
    run = AzRun(report["setup"], report["results"], done.stderr)
    bad_setup = [s for s in run.setup if s["exit"] != 0]
    if bad_setup:
        raise AssertionError(f"az setup failed: {bad_setup}; stderr: {done.stderr[-3000:]}")
    run.failures = [r for r in run.results if r["exit"] != 0]
    return run


if __name__ == "__main__":  # pragma: no cover - `python -m tests.fakes.azcli` says where the CLI is
    try:
        print(azcli_python())
    except AzCliMissing as exc:
        print(exc, file=sys.stderr)
        raise SystemExit(1) from None
