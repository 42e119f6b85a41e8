"""`make demo` runs the app's path on the sample tenant: stored in Azurite, the page written, and
a second run finds nothing new."""

from __future__ import annotations

import re

import pytest

from scanner import demo

pytestmark = pytest.mark.integration


def test_demo_stores_writes_the_page_and_a_second_run_reports_nothing_new(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(demo, "OUT", tmp_path)
    assert demo.main(["--today", "2026-03-01"]) == 0
    first = capsys.readouterr()
    new = int(re.search(r"stored in Azurite .*: (\d+) new", first.err).group(1))
    assert new > 0 and "run `make demo` again: nothing new" in first.err
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "aks-ml-weu" in page
    assert list((tmp_path / "notifications").glob("*.eml")), "the email was written to the folder"

    assert demo.main(["--today", "2026-03-01"]) == 0
    second = capsys.readouterr()
    assert f": 0 new, {new} unchanged" in second.err
    assert "== notifications: 0 written" in second.err
