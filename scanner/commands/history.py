"""python -m scanner history (not built yet)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("history", help="(not built yet)")
    p.set_defaults(func=lambda args: (print("history: not built yet"), 2)[1])
