"""python -m scanner catalog (not built yet)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("catalog", help="(not built yet)")
    p.set_defaults(func=lambda args: (print("catalog: not built yet"), 2)[1])
