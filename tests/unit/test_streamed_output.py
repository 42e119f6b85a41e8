"""Scan output written as it is produced: the same JSON as report_to_json, compact or indented."""

from __future__ import annotations

import io
import json

import pytest

from scanner import cli
from scanner.core import schema
from tests.conftest import ROOT

TODAY = "2026-09-10"


def scan(tmp_path, *extra: str) -> str:
    out = tmp_path / "scan.out"
    rc = cli.main(["scan", "--inventory", str(ROOT / "samples" / "inventory"), "--skus", str(ROOT / "samples" / "skus"),
                   "--catalog", "builtin", "--today", TODAY, "--output", str(out), "--no-store", "--no-notify",
                   *extra])
    assert rc == 0
    assert not list(tmp_path.glob("*.partial"))  # renamed into place once whole
    return out.read_text(encoding="utf-8")


def test_json_is_compact_by_default_and_indented_with_pretty(tmp_path):
    compact = scan(tmp_path, "--format", "json")
    pretty = scan(tmp_path, "--format", "json", "--pretty")

    a, b = json.loads(compact), json.loads(pretty)
    a.pop("generated_at"), b.pop("generated_at")
    assert a == b and len(a["findings"]) > 10
    assert compact.count("\n") == 1 and ", " not in compact.split('"findings"')[0]  # one line, no padding
    assert pretty.startswith('{\n  "schema": "retirement-scan/v1"')
    assert len(compact) < 0.9 * len(pretty)


def report_of(tmp_path):
    from datetime import date, datetime, timezone

    from scanner.bootstrap import inventory_loader, sku_loader
    from scanner.config import Settings
    from scanner.core.catalog import Catalog, load_builtin
    from scanner.service import ScanDeps, ScanOptions, run_scan

    settings = Settings.from_env({})
    deps = ScanDeps(load_catalog=lambda: (Catalog(retirements=tuple(load_builtin())), []),
                    load_inventory=inventory_loader(settings, None, [str(ROOT / "samples" / "inventory")]),
                    load_skus=sku_loader(settings, [str(ROOT / "samples" / "skus")]))
    return run_scan(deps, datetime(2026, 9, 10, tzinfo=timezone.utc), ScanOptions(today=date(2026, 9, 10)))


@pytest.mark.parametrize("empty", [False, True], ids=["findings", "no-findings"])
def test_pieces_parse_to_the_document_and_pretty_is_json_dumps_indent_2(tmp_path, empty):
    from dataclasses import replace

    report = report_of(tmp_path)
    if empty:
        report = replace(report, findings=())
    doc = schema.report_to_json(report)

    pieces = list(schema.iter_json(report))
    assert json.loads("".join(pieces)) == doc
    assert "".join(schema.iter_json(report, pretty=True)) == json.dumps(doc, indent=2) + "\n"
    assert len(pieces) == len(doc["findings"]) + 2  # one piece per finding: never one big string
    buf = io.StringIO()
    schema.write(report, "csv", buf)
    assert buf.getvalue() == schema.render_csv(report)


class _Pieces(io.StringIO):
    def __init__(self) -> None:
        super().__init__()
        self.pieces = 0

    def write(self, s: str) -> int:
        self.pieces += 1
        return super().write(s)


@pytest.mark.parametrize("fmt", ["table", "markdown"])
@pytest.mark.parametrize("empty", [False, True], ids=["findings", "no-findings"])
def test_table_and_markdown_are_written_a_group_at_a_time_and_read_as_rendered(tmp_path, fmt, empty):
    from dataclasses import replace

    report = report_of(tmp_path)
    if empty:
        report = replace(report, findings=())
    buf = _Pieces()
    schema.write(report, fmt, buf)
    assert buf.getvalue() == schema.render(report, fmt)
    groups = len(schema.group_findings(report.findings))
    assert buf.pieces >= groups  # at least one write per cluster/VM group: never one big string
    assert buf.getvalue().endswith("\n") and not buf.getvalue().endswith("\n\n")


def test_text_pieces_join_as_join_rstrip():
    from hypothesis import given
    from hypothesis import strategies as st

    line = st.sampled_from(["", " ", "  x", "x", "a b ", "\t", "y  \n  ", "z\n"])

    @given(st.lists(line, max_size=12))
    def check(lines):
        assert "".join(schema._text(lines)) == "\n".join(lines).rstrip() + "\n"

    check()
