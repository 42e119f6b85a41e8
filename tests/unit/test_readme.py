"""The README tells the truth about the code: its settings table is the list of settings
scanner/config.py reads (with the right defaults, working examples and the right secret flags),
its command table has every flag of `--help`, its routes, queries, schemas, exit codes, links and
images exist. And the card preview that draws the README's Teams picture escapes what it shows."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from scanner import config
from scanner.config import Secret, Settings
from scanner.devtools import card_preview
from scanner.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
MAX_IMAGE_BYTES = 300_000


# --------------------------------------------------------------------------- README parsing


def section(title: str) -> str:
    """The text of a `## title` section (up to the next `## `)."""
    m = re.search(rf"^## {re.escape(title)}\s*$(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert m, f"README has no '## {title}' section"
    return m.group(1)


def table_rows(text: str) -> list[list[str]]:
    """Body rows of the first Markdown table in `text`, cells stripped (escaped pipes kept)."""
    rows, started = [], False
    for line in text.splitlines():
        if not line.startswith("|"):
            if started:
                break
            continue
        cells = [c.strip().replace("\\|", "|") for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
        if not started:
            started = True  # header
            continue
        if all(set(c) <= set("-: ") for c in cells):
            continue
        rows.append(cells)
    return rows


def code(cell: str) -> str | None:
    """The text of a cell that is one `code span`, else None (prose such as 'empty' or 'derived')."""
    m = re.fullmatch(r"`([^`]*)`", cell)
    return m.group(1) if m else None


@dataclasses.dataclass(frozen=True)
class Row:
    name: str
    default: str
    example: str
    secret: str
    what: str

    @property
    def wildcard(self) -> bool:
        return "<" in self.name


def settings_rows() -> list[Row]:
    rows = [Row(*cells) for cells in table_rows(section("Settings"))]
    assert rows, "the Settings table is empty"
    out = []
    for r in rows:
        name = code(r.name)
        assert name, f"settings table: first cell {r.name!r} is not a `SETTING` code span"
        out.append(dataclasses.replace(r, name=name))
    return out


ROWS = settings_rows()
PLAIN = [r for r in ROWS if not r.wildcard]


# --------------------------------------------------------------------------- what config.py reads


class Recorder(Mapping):
    """An empty environment that remembers every name asked for, and whether it was listed."""

    def __init__(self) -> None:
        self.asked: set[str] = set()
        self.listed = False

    def __getitem__(self, key: str) -> str:
        self.asked.add(key)
        raise KeyError(key)

    def get(self, key, default=None):
        self.asked.add(key)
        return default

    def __contains__(self, key) -> bool:
        self.asked.add(key)
        return False

    def __iter__(self) -> Iterator[str]:
        self.listed = True
        return iter(())

    def items(self):
        self.listed = True
        return iter(())

    def __len__(self) -> int:
        return 0


_READERS = {"get", "_int", "_bool", "_ncrontab"}
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def names_in_source() -> set[str]:
    """Setting names passed to get()/env.get()/_int()/_bool()/_ncrontab() anywhere in config.py
    (catches reads a value-dependent branch would hide from the recorder)."""
    tree = ast.parse(Path(config.__file__).read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        fn = node.func
        name = fn.id if isinstance(fn, ast.Name) else fn.attr if isinstance(fn, ast.Attribute) else ""
        if name not in _READERS:
            continue
        for arg in node.args[:2]:
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _NAME.match(arg.value) \
                    and any(ch.isupper() for ch in arg.value):
                found.add(arg.value)
                break
    return found


def names_read() -> tuple[set[str], bool]:
    env = Recorder()
    Settings.from_env(env)
    return env.asked | names_in_source(), env.listed


def test_the_recorder_sees_what_from_env_reads():
    """The derivation itself works: known settings are found, and the prefix scan is noticed."""
    names, listed = names_read()
    assert {"SCAN_SCOPE", "SMTP_PORT", "AzureWebJobsStorage", "SEVERITY_HIGH_DAYS"} <= names
    assert listed, "from_env lists the environment for TEAMS_WEBHOOK_* settings"


def test_every_setting_config_reads_is_in_the_table():
    names, _ = names_read()
    missing = sorted(names - {r.name for r in PLAIN})
    assert not missing, f"README Settings table lacks settings config.py reads: {missing}"


def test_the_table_lists_only_settings_config_reads():
    names, listed = names_read()
    extra = sorted({r.name for r in PLAIN} - names)
    assert not extra, f"README Settings table lists settings config.py does not read: {extra}"
    prefixes = {r.name.split("<")[0] for r in ROWS if r.wildcard}
    assert prefixes == ({config.WEBHOOK_SETTING_PREFIX} if listed else set()), \
        f"wildcard rows {sorted(prefixes)} vs prefix settings read by config.py"


def test_each_setting_is_listed_once():
    names = [r.name for r in ROWS]
    assert len(names) == len(set(names)), sorted({n for n in names if names.count(n) > 1})


# --------------------------------------------------------------------------- defaults, examples, secrets


def example_env(row: Row) -> dict[str, str]:
    value = code(row.example)
    assert value is not None, f"{row.name}: example {row.example!r} is not a `code span`"
    if row.wildcard:
        name, sep, value = value.partition("=")
        prefix = row.name.split("<")[0]
        assert sep and name.startswith(prefix) and name != prefix, \
            f"{row.name}: example must read `{prefix}NAME=value`, got {row.example!r}"
        return {name: value}
    env = {row.name: value}
    # A route may name only a webhook setting that is set (config refuses the others): give the
    # NOTIFY_ROUTES example the settings it names, as its README row says to.
    for name in re.findall(r"TEAMS_WEBHOOK_[A-Z0-9_]+", value if row.name == "NOTIFY_ROUTES" else ""):
        env[name] = "https://example.environment.api.powerplatform.com/powerautomate/automations/direct/workflows/x"
    return env


def changed_fields(env: Mapping[str, str]) -> dict[str, object]:
    base, got = Settings.from_env({}), Settings.from_env(env)
    return {f.name: getattr(got, f.name) for f in dataclasses.fields(Settings)
            if getattr(got, f.name) != getattr(base, f.name)}


@pytest.mark.parametrize("row", [r for r in PLAIN if code(r.default) is not None], ids=lambda r: r.name)
def test_documented_default_is_the_default(row):
    """Setting a setting to its documented default changes nothing."""
    assert changed_fields({row.name: code(row.default)}) == {}, \
        f"{row.name}: README default {row.default} is not what config.py uses"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_documented_example_is_accepted_and_takes_effect(row):
    env = example_env(row)
    try:
        changed = changed_fields(env)
    except ConfigError as exc:
        pytest.fail(f"README example for {row.name} is refused: {exc}")
    assert changed, f"{row.name}: the README example {row.example} changes no setting"


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.name)
def test_secret_column_matches_the_code(row):
    assert row.secret in ("yes", "no"), f"{row.name}: secret column must be yes or no, got {row.secret!r}"

    def hidden(v: object) -> bool:
        return isinstance(v, Secret) or (isinstance(v, dict) and bool(v) and all(isinstance(x, Secret)
                                                                                 for x in v.values()))

    changed = changed_fields(example_env(row))
    is_secret = all(hidden(v) for v in changed.values())
    assert is_secret == (row.secret == "yes"), \
        f"{row.name}: README says secret={row.secret}, config.py keeps {sorted(changed)} " \
        f"{'hidden' if is_secret else 'in plain text'}"


def test_all_examples_together_make_valid_settings():
    env: dict[str, str] = {}
    for row in ROWS:
        env.update(example_env(row))
    settings = Settings.from_env(env)
    assert settings.scan_scope.kind == "mg" and settings.webhook("TEAMS_WEBHOOK_PAYMENTS")


# --------------------------------------------------------------------------- CLI, API, queries, schemas


def _subparsers():
    import argparse

    from scanner.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_command_table_has_every_command_and_flag_of_help():
    rows = {code(cells[0]): " ".join(cells[1:]) for cells in table_rows(section("Command line"))}
    subs = _subparsers()
    assert set(rows) == set(subs), f"README commands {sorted(rows)} vs CLI {sorted(subs)}"
    for name, sub in subs.items():
        # --help and --verbose (-v) are global: the README says so once, above the table.
        flags = {o for a in sub._actions for o in a.option_strings
                 if o.startswith("--") and o not in ("--help", "--verbose")}
        documented = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", rows[name]))
        assert flags == documented, f"{name}: --help has {sorted(flags)}, README has {sorted(documented)}"
        for a in sub._actions:
            if a.choices and a.option_strings and a.option_strings[0] != "--help":
                for choice in a.choices:
                    assert choice in rows[name], f"{name} {a.option_strings[0]}: choice {choice!r} not in README"


def test_exit_codes_are_the_cli_ones():
    from scanner import cli

    m = re.search(r"Exit codes \(a contract\):(.*?)\n\n", section("Command line"), re.S)
    assert m, "README Command line section states no exit codes"
    documented = {int(n) for n in re.findall(r"`(\d+)`", m.group(1))}
    assert documented == {cli.EXIT_OK, cli.EXIT_UNEXPECTED, cli.EXIT_USAGE, cli.EXIT_FINDINGS}


def test_every_http_route_is_documented():
    source = (ROOT / "triggers" / "http_api.py").read_text(encoding="utf-8")
    routes = re.findall(r'route="([^"]+)"', source)
    assert routes
    for route in routes:
        assert f"/api/{route}" in README, f"README does not document /api/{route}"


def test_every_query_file_is_linked_and_the_cluster_query_is_shown_as_it_is():
    queries = sorted((ROOT / "scanner" / "sources" / "queries").glob("*.kql"))
    assert queries
    for q in queries:
        assert f"(scanner/sources/queries/{q.name})" in README, f"README does not link {q.name}"
    shown = re.search(r"```kusto\n(.*?)```", README, re.S).group(1)
    kql = "\n".join(line for line in (ROOT / "scanner/sources/queries/clusters.kql")
                    .read_text(encoding="utf-8").splitlines() if not line.startswith("//"))
    assert shown.strip() == kql.strip(), "the cluster query in the README differs from clusters.kql"


def test_schema_names_are_the_code_ones():
    from scanner import api
    from scanner.cli import catalog
    from scanner.core import schema as output

    for schema in (output.SCHEMA, catalog.SCHEMA, api.FINDINGS_SCHEMA):
        assert f"`{schema}`" in README, f"README does not name schema {schema}"


def _json_blocks() -> list[dict]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", README, re.S)]


def test_scan_example_has_the_shape_a_scan_produces():
    """The README's scan JSON has the keys an offline scan of the sample tenant produces today."""
    from scanner import demo
    from scanner.core import schema as output
    from scanner.service import ScanOptions, run_scan

    example = next(b for b in _json_blocks() if b.get("schema") == output.SCHEMA)
    report = run_scan(demo.build_deps(demo.sample_paths()), datetime(2026, 3, 1, tzinfo=timezone.utc),
                      ScanOptions(today=date(2026, 3, 1), no_store=True, no_notify=True))
    real = output.report_to_json(report)
    assert set(example) - {"notifications"} == set(real) - {"notifications"}
    assert set(example["summary"]) == set(real["summary"])
    real_finding = next(f for f in real["findings"] if f["id"] == example["findings"][0]["id"])
    assert set(example["findings"][0]) - {"first_seen"} == set(real_finding) - {"first_seen"}
    for key in ("rule", "severity", "vm_size", "commands", "replacement", "resource"):
        assert example["findings"][0][key] == real_finding[key], f"README example finding: {key} is stale"


def test_catalog_example_has_the_shape_of_the_catalog_json():
    from scanner.cli.catalog import to_json
    from scanner.core import catalog as catalog_module

    example = next(b for b in _json_blocks() if "series" in b and "retires_on" in b)
    cat = catalog_module.merge(catalog_module.load_builtin(), [], [])
    doc = to_json(cat, date(2026, 3, 1), [])
    real = next(r for r in doc["retirements"] if r["id"] == example["id"])
    assert set(example) == set(real)
    assert example["retires_on"] == real["retires_on"] and example["region_dates"] == real["region_dates"]


# --------------------------------------------------------------------------- links and images


def test_local_links_and_images_exist():
    targets = re.findall(r"\]\(((?!https?://|#)[^)\s]+)\)", README)
    assert targets
    missing = [t for t in targets if not (ROOT / t.split("#")[0]).exists()]
    assert not missing, f"README links to missing files: {missing}"


def test_readme_images_are_small_pngs():
    images = re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", README)
    assert {"docs/images/teams-card.png", "docs/images/email.png"} <= set(images)
    for rel in images:
        data = (ROOT / rel).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{rel} is not a PNG"
        assert len(data) <= MAX_IMAGE_BYTES, f"{rel} is {len(data)} bytes (keep README images under 300 kB)"


# --------------------------------------------------------------------------- card preview


CARD = {
    "type": "AdaptiveCard", "version": "1.4",
    "body": [
        {"type": "TextBlock", "text": "**NEW** · CRITICAL <script>alert(1)</script>", "color": "Attention"},
        {"type": "Container", "separator": True, "items": [
            {"type": "FactSet", "facts": [{"title": "Move to", "value": "Standard_D4s_v5 & more"}]},
            {"type": "TextBlock", "text": "[Announcement](https://learn.microsoft.com/x?a=1&b=2) · "
                                          "[bad](javascript:alert(1))"},
            {"type": "TextBlock", "text": "az aks nodepool add --name pool_a_v5", "fontType": "Monospace"},
            {"type": "Media", "sources": []},
        ]},
    ],
    "actions": [{"type": "Action.OpenUrl", "title": "Open the report", "url": "https://example.net/api/report"}],
}


def test_card_preview_shows_the_card_and_escapes_its_text():
    page = card_preview.posts_html([{"type": "message", "attachments": [
        {"contentType": "application/vnd.microsoft.card.adaptive", "content": CARD}]}])
    assert page.startswith("<!DOCTYPE html>")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "<strong>NEW</strong>" in page and "Standard_D4s_v5 &amp; more" in page
    assert '<a href="https://learn.microsoft.com/x?a=1&amp;b=2">Announcement</a>' in page
    assert 'href="javascript' not in page, "only http(s) links become anchors"
    assert "pool_a_v5" in page, "underscores inside words are not italics"
    assert "[unsupported: Media]" in page, "an unknown element is shown, not dropped"
    assert 'class="btn" href="https://example.net/api/report">Open the report</a>' in page


def test_card_preview_refuses_what_is_not_a_card():
    with pytest.raises(ValueError, match="expected an AdaptiveCard object, got 'message'"):
        card_preview.card_html({"type": "message"})
    with pytest.raises(ValueError, match="no Adaptive Card"):
        card_preview.posts_html([{"type": "message", "attachments": []}])
