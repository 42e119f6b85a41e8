"""python -m scanner unack (not built yet)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("unack", help="(not built yet)")
    p.set_defaults(func=lambda args: (print("unack: not built yet"), 2)[1])
