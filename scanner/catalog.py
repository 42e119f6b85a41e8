"""The retirement catalogue: parse the bundled TOML, merge sources, answer "is this size retiring?".

Pure: no I/O besides reading package data through importlib.resources. CONTRACT:

    @dataclass(frozen=True) class Catalog:
        retirements: tuple[Retirement, ...]
        needs_review: tuple[ReviewItem, ...] = ()
        conflicts: tuple[str, ...] = ()          # human-readable date disagreements between sources
        def retirements_for(self, vm_size: str) -> list[Retirement]   # soonest first; [] if none
        def get(self, retirement_id: str) -> Retirement | None

    parse_catalog(text: str, source: str = "builtin", origin: str = "<text>") -> list[Retirement]
    load_builtin() -> list[Retirement]
    merge(builtin, feed_derived, extra, needs_review=()) -> Catalog
"""
