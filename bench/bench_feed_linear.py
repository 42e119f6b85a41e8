"""Benchmark: the feed reader on pathological text grows linearly (issue 12: a 16k-letter word
containing "vm" made a scan take 40 s).

Runnable as a plain script: `python bench/bench_feed_linear.py [MAX_CHARS]` (default 64,000).
For each shape it reads one announcement (html_to_text + read_announcement) at 4k, 16k and
MAX_CHARS characters and prints the time and the ratio between the largest and the 16k run
(linear: about MAX/16k; quadratic: its square). No network; each run is bounded by its size.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scanner.sources.feed import announcement_from_record, read_announcement  # noqa: E402

SHAPES = {
    "long word containing 'vm'": lambda n: "<p>The A" + "Vm" * (n // 2) + " retires on May 1, 2028.</p>",
    "long word, capitals": lambda n: "<p>Dv2 " + "Ab1" * (n // 3) + " series will be retired.</p>",
    "series list without anchor": lambda n: "<p>" + ", ".join(["Dv2"] * (n // 5)) + " foo VMs retire.</p>",
    "unclosed tags": lambda n: "<p>Dv2-series VMs retire on May 1, 2028.</p>" + "<a " * (n // 3),
    "unclosed comments": lambda n: "<p>Dv2-series VMs retire on May 1, 2028.</p>" + "<!-- x" * (n // 6),
}


def run(text: str) -> float:
    record = {"id": "1", "title": "Retirement: Dv2-series VMs", "tags": ["Retirements"], "description": text}
    t0 = time.perf_counter()
    read_announcement(announcement_from_record(record, "bench"))
    return time.perf_counter() - t0


def main(argv: list[str]) -> None:
    top = int(argv[1]) if len(argv) > 1 else 64_000
    sizes = [4_000, 16_000, top]
    print(f"{'shape':<30}" + "".join(f"{n:>12,}" for n in sizes) + f"   ratio {top // 1000}k/16k (linear ~{top / 16_000:.0f})")
    for name, make in SHAPES.items():
        times = [run(make(n)) for n in sizes]
        ratio = times[-1] / times[1] if times[1] > 0 else float("nan")
        print(f"{name:<30}" + "".join(f"{t * 1000:>10.1f}ms" for t in times) + f"   {ratio:8.1f}")


if __name__ == "__main__":
    main(sys.argv)
