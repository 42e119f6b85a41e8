"""JSON text in and out, fast where it counts: ARM pages, cache entries, the scan report.

    loads(data: bytes | str) -> Any
        orjson when it is installed (a requirement; the stdlib is the fallback), else json.loads.
        A document orjson refuses but the stdlib reads (a lone surrogate escape such as "\\ud800",
        NaN or Infinity, a number too large for a float such as 1e400, a UTF-8 byte order mark) is
        read by the stdlib, so what is accepted is the same either way. One difference: orjson does
        not refuse an integer past 64 bits, it reads it as a float (123456789012345678901234567890
        -> 1.2345678901234568e+29; the stdlib keeps the int): a field the scanner reads holding
        such a number sees a float. Checking every body for such a literal costs more than
        parsing it (a regex scan is 3.5x orjson's parse), so it is not done.
        Malformed JSON raises ValueError (json.JSONDecodeError) as json.loads does.
    dumps(obj) -> str
        Compact JSON (no spaces), ASCII only: the same text json.dumps(obj, separators=(",", ":"))
        writes, except that a float may be spelled differently (0.00001 for 1e-05; the same
        number once parsed) and NaN or Infinity are written as null (json.dumps writes NaN,
        which is not JSON). Text that is not ASCII is written by the stdlib (\\u escapes), so
        the output stays ASCII whatever the console or file encoding.

At 300,000 resources the scan reads about 400 MB of Resource Graph JSON and writes about 800 MB
of report: the stdlib spends 5-10x longer on both (bench/bench_scale.py).
"""

from __future__ import annotations

import json
from typing import Any

try:  # pragma: no cover - which branch runs depends on the environment
    import orjson as _orjson
except ImportError:  # pragma: no cover
    _orjson = None

_COMPACT = (",", ":")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    if _orjson is not None:
        try:
            return _orjson.loads(data)
        except (_orjson.JSONDecodeError, TypeError):
            pass  # the stdlib decides: it accepts a few things orjson refuses, and names the error
    if isinstance(data, memoryview):
        data = data.tobytes()
    return json.loads(data)


def dumps(obj: Any) -> str:
    if _orjson is not None:
        try:
            raw = _orjson.dumps(obj)
        except TypeError:  # a value orjson does not know (or a non-str key): the stdlib's rules
            return json.dumps(obj, separators=_COMPACT)
        if raw.isascii():
            return raw.decode("ascii")
    return json.dumps(obj, separators=_COMPACT)


def fast() -> bool:
    """True when orjson is in use (for the benchmark's report)."""
    return _orjson is not None
