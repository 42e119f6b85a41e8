"""Golden JSON for the bundled sample tenant (samples/), scanned offline as of a fixed day.

The expected file is tests/fixtures/golden/sample_scan.json. When a deliberate change alters the
output (catalogue entry, rule, guidance), regenerate it and review the diff:

    UPDATE_GOLDEN=1 .venv/bin/python -m pytest -q tests/unit/test_golden_sample.py

CI never sets UPDATE_GOLDEN, so there the test only compares.
"""

from __future__ import annotations

import json
import os

from scanner import cli
from tests.conftest import FIXTURES, ROOT

GOLDEN = FIXTURES / "golden" / "sample_scan.json"
TODAY = "2026-09-10"  # NVv3 retires in 20 days, NCv3 already retired: every severity band shows


def scan_json(tmp_path) -> dict:
    out = tmp_path / "scan.json"
    rc = cli.main(["scan", "--inventory", str(ROOT / "samples" / "inventory"), "--skus", str(ROOT / "samples" / "skus"),
                   "--quotas", str(ROOT / "samples" / "quotas"), "--prices", str(ROOT / "samples" / "prices"),
                   "--catalog", "builtin", "--today", TODAY, "--format", "json", "--output", str(out),
                   "--no-store", "--no-notify"])
    assert rc == 0
    doc = json.loads(out.read_text(encoding="utf-8"))
    doc.pop("generated_at")
    return doc


def test_sample_tenant_matches_golden(tmp_path, monkeypatch):
    for name in ("CATALOG_EXTRA_FILE", "SEVERITY_CRITICAL_DAYS", "SEVERITY_HIGH_DAYS", "SEVERITY_MEDIUM_DAYS"):
        monkeypatch.delenv(name, raising=False)
    doc = scan_json(tmp_path)
    if os.environ.get("UPDATE_GOLDEN") == "1":
        GOLDEN.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert doc["schema"] == "retirement-scan/v1"
    # Compare finding by finding first, for a readable failure.
    got = {f["id"]: f for f in doc["findings"]}
    want = {f["id"]: f for f in expected["findings"]}
    assert sorted(got) == sorted(want)
    for fid, f in want.items():
        assert got[fid] == f, f"finding {fid} ({f['resource']['name']} {f['resource']['pool']} {f['rule']}) differs"
    assert doc == expected


def test_sample_tenant_covers_every_rule_and_kind(tmp_path):
    doc = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert {f["rule"] for f in doc["findings"]} >= {"retiring-size", "gen1-only-size", "gen1-node-image",
                                                    "capacity-restricted"}
    assert {f["resource"]["kind"] for f in doc["findings"]} == {"aks-nodepool", "vm", "vmss"}
    assert {"critical", "medium", "low", "info"} <= {f["severity"] for f in doc["findings"]}
    assert any(f["restricted"] for f in doc["findings"])
    assert any(f["replacement"] is None and f["rule"] == "retiring-size" for f in doc["findings"])
