"""python -m scanner scan (not built yet)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("scan", help="(not built yet)")
    p.set_defaults(func=lambda args: (print("scan: not built yet"), 2)[1])
