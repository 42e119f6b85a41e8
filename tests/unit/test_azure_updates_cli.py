"""`python -m scanner catalog` and `load_catalog`: offline sources only (files, a closed port)."""

from __future__ import annotations

import json
import socket
from datetime import date

import pytest

from scanner.cli import main
from scanner.config import Settings
from scanner.sources.feed import load_catalog
from tests.conftest import FIXTURES

API = str(FIXTURES / "feed" / "api-v2-retirements-2025-08-to-2026-08.json")
RSS = str(FIXTURES / "feed" / "rss-v2-reconstructed-retirements.xml")

EXTRA = """
[[retirement]]
id = "hb-2024-08-31"
title = "HB-series retire"
series = ["HB"]
retires_on = 2024-08-31
urls = ["https://example.invalid/hb"]

[[retirement]]
id = "nvv3-local"
title = "NVv3 (operator's entry)"
series = ["NVv3"]
retires_on = 2026-09-30
"""


@pytest.fixture
def extra_toml(tmp_path):
    path = tmp_path / "extra.toml"
    path.write_text(EXTRA, encoding="utf-8")
    return str(path)


@pytest.fixture
def dead_url():
    """A loopback URL nothing listens on (the port was free a moment ago)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/api/v2/azure"


def run(capsys, *argv):
    code = main(["catalog", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_table_lists_entries_days_left_sources_and_review(capsys, extra_toml):
    code, out, err = run(capsys, "--catalog", extra_toml, "--feed", API, "--today", "2026-01-01")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "Retirement catalogue on 2026-01-01: 7 retirement(s)"
    hb = next(line for line in lines if line.startswith("hb-2024-08-31"))
    assert hb.split()[1:5] == ["HB", "2024-08-31", "-488", "extra"]
    nv3 = next(line for line in lines if line.startswith("nvv3-local"))
    # the feed's NVv3 announcement and its Batch reminder fold into the operator's entry
    # (the table shows the first source and how many more; --format json lists them all)
    assert nv3.endswith("https://azure.microsoft.com/updates?id=500573 (+1 more)")
    assert "azure-updates-500578" in out and "NVv4: 8 sizes" in out
    assert "Needs review: 0" in out


def test_json_contract(capsys, extra_toml):
    code, out, _ = run(capsys, "--catalog", extra_toml, "--feed", RSS, "--format", "json", "--today", "2026-09-01")
    doc = json.loads(out)
    assert code == 0 and doc["schema"] == "retirement-catalog/v1"
    assert set(doc) >= {"retirements", "needs_review", "conflicts"}
    keys = {"id", "title", "series", "retires_on", "announced_on", "source", "urls", "replacement_series",
            "sizes", "days_left"}
    assert all(keys <= set(r) for r in doc["retirements"])
    assert [r["retires_on"] for r in doc["retirements"]] == sorted(r["retires_on"] for r in doc["retirements"])
    nv4 = next(r for r in doc["retirements"] if r["id"] == "azure-updates-500578")
    assert nv4["days_left"] == 29 and nv4["source"] == "feed" and nv4["series"] == []
    assert len(nv4["sizes"]) == 8


def test_needs_review_and_conflicts_are_printed(capsys, tmp_path):
    feed = {"value": [
        {"id": "1", "title": "Retirement: H-series VMs", "tags": ["Retirements"],
         "description": "<p>H-series VMs retire in September 2026.</p>", "modified": "2025-01-01T00:00:00Z"},
        {"id": "2", "title": "Retirement: NC-series VMs", "tags": ["Retirements"],
         "description": "<p>NC-series VMs retire on August 31, 2023.</p>", "modified": "2022-09-01T00:00:00Z"},
        {"id": "3", "title": "Retirement: NC-series VMs (date update)", "tags": ["Retirements"],
         "description": "<p>NC-series VMs retire on September 6, 2023.</p>", "modified": "2023-05-01T00:00:00Z"},
    ]}
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(feed), encoding="utf-8")
    code, out, _ = run(capsys, "--catalog", "none", "--feed", str(path), "--today", "2023-01-01")
    assert code == 0
    assert "Needs review: 1\n  1  Retirement: H-series VMs\n      reason: the text gives only a month " \
           "(September 2026), not a day (sizes: H)\n      https://azure.microsoft.com/updates?id=1" in out
    assert "Conflicts: 1\n  NC: announcement 3 says 2023-09-06, announcement 2 says 2023-08-31" in out
    assert "azure-updates-2  NC" in out and "2023-09-06" in out


def test_feed_failure_keeps_the_catalogue_and_says_so(capsys, extra_toml, dead_url):
    code, out, err = run(capsys, "--catalog", extra_toml, "--feed", dead_url, "--today", "2026-01-01",
                         "--retries", "0")
    assert code == 0
    assert "2 retirement(s)" in out.splitlines()[0]
    assert f"warning: {dead_url}: ConnectionError after 1 attempt" in err
    assert "printing the catalogue without it" in err


def test_fallback_source_is_used(capsys, dead_url):
    code, out, err = run(capsys, "--catalog", "none", "--feed", dead_url, "--feed-fallback", RSS, "--today", "2026-01-01",
                         "--retries", "0")
    assert code == 0 and "6 retirement(s)" in out and "ConnectionError" in err


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--today", "2026-02-30"], "'2026-02-30' is not a date (YYYY-MM-DD)"),
        (["--catalog", "none", "builtin"], "--catalog none cannot be combined"),
        (["--feed-fallback", "x.xml"], "--feed-fallback needs --feed"),
        (["--catalog", "none", "--feed", "/nonexistent/feed.json"], "/nonexistent/feed.json: no such file"),
        (["--format", "yaml"], "invalid choice: 'yaml'"),
    ],
    ids=["bad-today", "none-plus-builtin", "fallback-alone", "missing-feed-file", "bad-format"],
)
def test_bad_usage_exits_2_naming_the_input(capsys, argv, message):
    with pytest.raises(SystemExit) if argv[0] in ("--today", "--format") else _no_raise() as caught:
        code = main(["catalog", *argv])
    code = caught.value.code if isinstance(caught, pytest.ExceptionInfo) else code
    assert code == 2 and message in capsys.readouterr().err


class _no_raise:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


def test_load_catalog_from_settings_keeps_builtin_when_feed_fails(dead_url, extra_toml):
    from scanner.core.catalog import load_builtin

    settings = Settings.from_env({"FEED_URL": dead_url, "FEED_FALLBACK_URL": dead_url + "/rss",
                                  "CATALOG_EXTRA_FILE": extra_toml})
    catalog, errors = load_catalog(settings, date(2026, 1, 1), fetch_options={"retries": 0})
    assert [e.scope for e in errors] == [f"feed:{dead_url}", f"feed:{dead_url}/rss"]
    ids = {r.id for r in catalog.retirements}
    assert {r.id for r in load_builtin()} <= ids and {"hb-2024-08-31", "nvv3-local"} <= ids


def test_load_catalog_from_settings_with_feed_file(extra_toml):
    settings = Settings.from_env({"FEED_URL": API, "FEED_FALLBACK_URL": "", "CATALOG_EXTRA_FILE": extra_toml})
    catalog, errors = load_catalog(settings, date(2026, 1, 1))
    assert errors == []
    # the feed's NVv3 notice and its Batch reminder fold into the catalogue entries that cover NVv3
    nv3 = catalog.retirements_for("Standard_NV12s_v3")
    assert nv3 and all(r.source in ("builtin", "extra") for r in nv3)
    urls = {u for r in nv3 for u in r.urls}
    assert {"https://azure.microsoft.com/updates?id=500573", "https://azure.microsoft.com/updates?id=516070"} <= urls
    assert all(r.retires_on == date(2026, 9, 30) for r in nv3)
    assert catalog.retirements_for("Standard_NP20s")  # NP: at least as the feed's entry
