"""The fault suite's ledger: every row records the counts it must keep at zero.

Each test in tests/faults injects one fault at one boundary, runs the real path, measures what a
user would notice and records it:

    def test_x(fault_ledger):
        ...
        fault_ledger.record("arg: resultTruncated without $skipToken", false_resolutions=n, ...)
        assert ...  # the test asserts its own zeros too

The session ends with one summary line (always printed when a fault test ran), e.g.

    faults: 23 rows; findings lost 0, false resolutions 0, messages lost 0, messages duplicated 0,
    secrets leaked 0, unexpected exits 0, 5xx 0
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

COUNTS = ("findings_lost", "false_resolutions", "messages_lost", "messages_duplicated",
          "secrets_leaked", "unexpected_exits", "http_5xx")
LABELS = {"http_5xx": "5xx"}


@dataclass
class Ledger:
    rows: dict[str, dict[str, int]] = field(default_factory=dict)

    def record(self, row: str, **counts: int) -> None:
        unknown = set(counts) - set(COUNTS)
        if unknown:
            raise ValueError(f"fault ledger: unknown count(s) {sorted(unknown)}; known: {COUNTS}")
        entry = self.rows.setdefault(row, dict.fromkeys(COUNTS, 0))
        for k, v in counts.items():
            entry[k] += int(v)

    def totals(self) -> dict[str, int]:
        return {k: sum(r[k] for r in self.rows.values()) for k in COUNTS}

    def summary(self) -> str:
        t = self.totals()
        parts = ", ".join(f"{LABELS.get(k, k.replace('_', ' '))} {t[k]}" for k in COUNTS)
        return f"faults: {len(self.rows)} rows; {parts}"


LEDGER = Ledger()


@pytest.fixture
def fault_ledger() -> Ledger:
    return LEDGER


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    if LEDGER.rows:
        terminalreporter.write_sep("-", "fault suite")
        for row, counts in sorted(LEDGER.rows.items()):
            bad = {k: v for k, v in counts.items() if v}
            terminalreporter.write_line(f"  {'FAIL' if bad else 'ok  '} {row}" + (f"  {bad}" if bad else ""))
        terminalreporter.write_line(LEDGER.summary())
