"""python -m scanner ack (not built yet)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser("ack", help="(not built yet)")
    p.set_defaults(func=lambda args: (print("ack: not built yet"), 2)[1])
