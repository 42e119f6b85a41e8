"""Azure VM size names: parse "Standard_D4s_v3" into parts; match series as announcements write them.

Pure: no I/O. CONTRACT (other modules rely on these names; implementation owned by the sizes work):

    parse_size(name: str) -> SizeName            raises SizeNameError naming the input
    parse_series(text: str) -> Series            "Dsv2", "DSv2-series", "D-series", "B series",
                                                 "Basic A", "Av1", "H_Promo", "cc_v5", "NVv3" ...
    Series.matches(size: SizeName | str) -> bool exactly the sizes that series covers
    covers(series_text: str, vm_size: str) -> bool   convenience: parse_series(...).matches(...)
    series_name(size: SizeName | str) -> str     canonical series of a size: "DSv2", "Dsv5",
                                                 "Dv2", "B", "Bsv2", "NCadsA100v4", "HBv2" ...
"""
