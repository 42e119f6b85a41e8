"""Bulk steps: hundreds of thousands of small values built in one go.

    paused_gc()    context manager: the cyclic garbage collector off for the step, back on after
                   (as it was: nesting and a collector already off are fine)

Those steps (reading 300,000 resources, judging them, writing 430,000 findings) build values
that form no cycles, and each full collection walks every live object again: at 300k resources
that was about a tenth of the run (bench/bench_scale.py). Steps that send many requests keep the
collector on.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
