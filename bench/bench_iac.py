"""scan-iac on a large synthetic repository: copies of the fixture modules (tests/fixtures/iac).

    .venv/bin/python bench/bench_iac.py [--copies N]

Writes N copies of the Terraform, Bicep and ARM fixtures to a temporary folder and times
sources.iac.load (read + parse + evaluate, after one warm-up that builds the parsers) and
core.iac.judge_templates, then the SARIF rendering; prints files, declarations, findings, seconds and peak memory. No network.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner.core import catalog, iac, iac_schema  # noqa: E402
from scanner.sources import iac as iac_source  # noqa: E402
from scanner.sources.skus import SkuIndex  # noqa: E402

FIX = ROOT / "tests" / "fixtures" / "iac"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--copies", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        for i in range(args.copies):
            for part in ("terraform", "bicep", "arm"):
                shutil.copytree(FIX / part, base / f"repo{i:03d}" / part)
        paths = [str(base)]
        params = [str(p) for p in sorted(base.glob("repo*/bicep/main.bicepparam"))]
        cat = catalog.load_catalog()
        iac_source.load([str(FIX / "terraform" / "modules" / "vm")], cwd=tmp)  # parsers built once per process
        t0 = time.perf_counter()
        templates = iac_source.load(paths, param_files=params, cwd=tmp)
        t1 = time.perf_counter()
        result = iac.judge_templates(templates, cat, SkuIndex(), date(2026, 3, 1))
        t2 = time.perf_counter()
        sarif = iac_schema.render(result, "sarif", date(2026, 3, 1), datetime.now(timezone.utc))
        t3 = time.perf_counter()
        tracemalloc.start()  # a second, traced run for memory only (tracing slows the parsers several times)
        iac.judge_templates(iac_source.load(paths, param_files=params, cwd=tmp), cat, SkuIndex(), date(2026, 3, 1))
        _cur, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    print(f"copies {args.copies}: {len(templates.files)} files, {len(templates.declarations)} declared sizes, "
          f"{len(result.findings)} findings, {len(result.not_literal)} not literal, {len(result.problems)} errors")
    print(f"load (read+parse+evaluate) {t1 - t0:.2f} s ({len(templates.files) / (t1 - t0):.0f} files/s); "
          f"judge {t2 - t1:.2f} s; SARIF {t3 - t2:.2f} s ({len(sarif) // 1024} KiB); peak {peak / 2**20:.0f} MiB")


if __name__ == "__main__":
    main()
