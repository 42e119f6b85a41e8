"""The pure core must not pull Azure SDKs or do I/O at import (ARCHITECTURE.md)."""

import subprocess
import sys

PURE = ["scanner.core.model", "scanner.core.sizes", "scanner.core.catalog", "scanner.core.judge", "scanner.core.guidance",
        "notifiers.render"]


def test_pure_modules_import_no_azure_sdk():
    code = (
        "import importlib, sys\n"
        f"for m in {PURE!r}:\n"
        "    try:\n        importlib.import_module(m)\n"
        "    except ModuleNotFoundError as e:\n"
        "        if e.name != m: raise\n"
        "bad = sorted(k for k in sys.modules if k.startswith('azure'))\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"pure core imported Azure modules: {out.stdout.strip()}"
