"""Start the pinned Azurite (node_modules/.bin/azurite) on loopback, for tests and `make demo`.

    with azurite() as az:
        az.connection_string      # account key connection string for blob, queue and table
        az.table_endpoint         # http://127.0.0.1:<port>/devstoreaccount1

Free ports, a temporary data directory (removed after unless `location` is given), access log
off, telemetry off, stopped (and the data directory removed) on exit. Not shipped: the Function
App never imports this module.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# The well-known development account (documented publicly; not a secret).
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_BINARY = REPO_ROOT / "node_modules" / ".bin" / "azurite"


class AzuriteError(RuntimeError):
    """Azurite could not be started (not installed, or it did not open its ports in time)."""


@dataclass(frozen=True)
class Azurite:
    host: str
    blob_port: int
    queue_port: int
    table_port: int
    location: str
    pid: int

    @property
    def blob_endpoint(self) -> str:
        return f"http://{self.host}:{self.blob_port}/{ACCOUNT}"

    @property
    def queue_endpoint(self) -> str:
        return f"http://{self.host}:{self.queue_port}/{ACCOUNT}"

    @property
    def table_endpoint(self) -> str:
        return f"http://{self.host}:{self.table_port}/{ACCOUNT}"

    @property
    def account_name(self) -> str:
        return ACCOUNT

    @property
    def account_key(self) -> str:
        return ACCOUNT_KEY

    @property
    def connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;"
            f"AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={self.blob_endpoint};"
            f"QueueEndpoint={self.queue_endpoint};"
            f"TableEndpoint={self.table_endpoint};"
        )


def _free_ports(host: str, n: int) -> list[int]:
    socks = []
    try:
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _die_with_parent() -> None:  # runs in the child before exec (Linux): no orphaned Azurite
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@contextlib.contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """While Azurite runs, SIGTERM unwinds the `with` block (so Azurite is stopped) when we can."""
    if threading.current_thread() is not threading.main_thread() or \
            signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        yield
        return

    def _exit(signum, frame):  # noqa: ARG001
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, _exit)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _accepting(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


@contextlib.contextmanager
def azurite(
    binary: str | os.PathLike | None = None,
    host: str = "127.0.0.1",
    location: str | os.PathLike | None = None,
    start_timeout: float = 30.0,
    in_memory: bool = False,
    attempts: int = 3,
) -> Iterator[Azurite]:
    """Run Azurite for the duration of the `with` block and yield its endpoints."""
    exe = Path(binary) if binary else DEFAULT_BINARY
    if not exe.exists():
        raise AzuriteError(f"azurite not found at {exe}: run `make node` (npm install) first")
    own_dir = location is None
    data_dir = Path(tempfile.mkdtemp(prefix="azurite-")) if own_dir else Path(location)
    data_dir.mkdir(parents=True, exist_ok=True)
    proc: subprocess.Popen | None = None
    try:
        last_error = ""
        for _ in range(attempts):
            blob, queue, table = _free_ports(host, 3)
            cmd = [
                str(exe),
                "--blobHost", host, "--blobPort", str(blob),
                "--queueHost", host, "--queuePort", str(queue),
                "--tableHost", host, "--tablePort", str(table),
                "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry",
            ]
            # Azurite refuses --location together with --inMemoryPersistence.
            cmd += ["--inMemoryPersistence"] if in_memory else ["--location", str(data_dir)]
            with tempfile.TemporaryFile() as log:
                proc = subprocess.Popen(
                    cmd, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True, cwd=str(data_dir),
                    preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
                )
                deadline = time.monotonic() + start_timeout
                while time.monotonic() < deadline and proc.poll() is None:
                    if all(_accepting(host, p) for p in (blob, queue, table)):
                        break
                    time.sleep(0.1)
                started = proc.poll() is None and all(_accepting(host, p) for p in (blob, queue, table))
                if not started:
                    _stop(proc)
                    log.seek(0)
                    last_error = log.read().decode("utf-8", "replace")[-2000:]
            if started:
                with _sigterm_as_exit():
                    yield Azurite(host, blob, queue, table, str(data_dir), proc.pid)
                return
            proc = None
        raise AzuriteError(f"azurite did not start on {host} within {start_timeout:.0f}s: {last_error.strip()}")
    finally:
        if proc is not None:
            _stop(proc)
        if own_dir:
            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":  # python -m scanner.devtools.azurite: run until Ctrl-C
    with azurite() as az:
        print(az.connection_string, flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
