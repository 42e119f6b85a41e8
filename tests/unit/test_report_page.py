"""scanner.core.report.render_report: the HTML report page (summary, burn-down chart, findings table).

The page is parsed back with the standard library's HTMLParser, so the tests read what a browser
would show (cards, SVG points, table rows), not exact bytes. Input: the sample tenant's real scan
JSON (tests/fixtures/report/README.md) plus hand-made edge cases.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import date, datetime, timedelta, timezone
from html.parser import HTMLParser

import pytest

from scanner.core.report import CSP, render_report, severity_counts
from scanner.errors import InputError
from tests.conftest import FIXTURES

SCAN = json.loads((FIXTURES / "report" / "scan-sample-tenant.json").read_text())
WHEN = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)


class Page(HTMLParser):
    """Elements with their attributes and the text inside each, enough to query the page."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[dict] = []
        self._open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        el = {"tag": tag, "attrs": dict(attrs), "text": "", "parents": [e["tag"] for e in self._open],
              "ids": [e["attrs"].get("id") for e in self._open]}
        self.elements.append(el)
        if tag not in ("meta", "link", "br", "img", "input", "line", "polygon", "polyline", "rect"):
            self._open.append(el)

    def handle_startendtag(self, tag, attrs):
        self.elements.append({"tag": tag, "attrs": dict(attrs), "text": "", "parents": [e["tag"] for e in self._open],
                              "ids": [e["attrs"].get("id") for e in self._open]})

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i]["tag"] == tag:
                del self._open[i:]
                break

    def handle_data(self, data):
        for el in self._open:
            el["text"] += data

    def find(self, tag: str, cls: str | None = None, within: str | None = None) -> list[dict]:
        out = []
        for el in self.elements:
            if el["tag"] != tag:
                continue
            if cls and cls not in el["attrs"].get("class", "").split():
                continue
            if within and within not in el["ids"]:
                continue
            out.append(el)
        return out


def history(days: int, start: date = date(2026, 2, 1)) -> list[dict]:
    return [{"date": (start + timedelta(days=i)).isoformat(),
             "open": {"critical": max(0, 5 - i), "high": 3, "low": 1}, "resolved": i % 2} for i in range(days)]


def finding(fid: str = "f1", severity: str = "high", **extra) -> dict:
    base = {
        "id": fid, "rule": "retiring-size", "severity": severity, "vm_size": "Standard_D2_v2",
        "resource": {"kind": "aks-nodepool", "id": f"/subscriptions/s1/resourceGroups/rg/providers/"
                     f"Microsoft.ContainerService/managedClusters/c-{fid}", "name": f"c-{fid}", "pool": "np1",
                     "subscription_id": "s1", "resource_group": "rg", "location": "westeurope"},
        "retirement": {"id": "dv2", "title": "Dv2 retire", "retires_on": "2028-05-01", "days_left": 700,
                       "source": "builtin", "urls": ["https://learn.microsoft.com/x"]},
        "replacement": {"vm_size": "Standard_D2s_v5", "why": "same shape", "alternatives": ["Standard_D2as_v5"]},
        "commands": ["az aks nodepool add --name np1v5", "az aks nodepool delete --name np1"],
    }
    base.update(extra)
    return base


# --------------------------------------------------------------------------- the sample tenant


@pytest.fixture(scope="module")
def sample_page() -> Page:
    return Page(render_report(SCAN["findings"], history(30), WHEN, "Sample tenant"))


def test_summary_cards_count_findings_by_severity(sample_page):
    expected = {s: sum(1 for f in SCAN["findings"] if f["severity"] == s)
                for s in ("critical", "high", "medium", "low", "info")}
    cards = {c["attrs"]["data-severity"]: int(c["attrs"]["data-count"]) for c in sample_page.find("li", "card")}
    assert cards == expected
    assert sum(cards.values()) == len(SCAN["findings"])


def test_table_has_one_row_per_finding_most_urgent_first(sample_page):
    rows = sample_page.find("tr", "finding", within="findings-table")
    assert len(rows) == len(SCAN["findings"])
    ranks = {"critical": 4, "high": 3, "medium": 2, "low": 1, "info": 0}
    order = [ranks[r["attrs"]["data-severity"]] for r in rows]
    assert order == sorted(order, reverse=True)
    assert {r["attrs"]["id"] for r in rows} == {"f-" + f["id"] for f in SCAN["findings"]}


def test_table_shows_replacement_and_commands(sample_page):
    with_commands = [f for f in SCAN["findings"] if f["commands"]]
    pres = sample_page.find("pre", within="findings-table")
    # One pool with two findings (e.g. retiring size and Gen1 node image) has one rebuild: its
    # commands are printed once and the other row links to them (issue 15, item 12).
    distinct = {(f["resource"]["id"].lower(), f["resource"]["pool"], tuple(f["commands"])) for f in with_commands}
    assert len(pres) == len(distinct) < len(with_commands)
    same_as = sample_page.find("span", "same-as", within="findings-table")
    assert len(same_as) == len(with_commands) - len(distinct)
    assert all("same rebuild as the" in s["text"] for s in same_as)
    text = " ".join(p["text"] for p in pres)
    assert all(c in text for f in with_commands for c in f["commands"])
    table_text = next(t for t in sample_page.find("table") if t["attrs"].get("id") == "findings-table")["text"]
    assert all(f["replacement"]["vm_size"] in table_text for f in SCAN["findings"] if f["replacement"])


def test_chart_has_one_point_per_day_in_date_order(sample_page):
    points = sample_page.find("circle", "point")
    assert len(points) == 30
    xs = [float(p["attrs"]["cx"]) for p in points]
    assert xs == sorted(xs) and len(set(xs)) == 30
    assert [p["attrs"]["data-date"] for p in points] == [d["date"] for d in history(30)]


def test_page_loads_nothing_and_runs_no_script(sample_page):
    metas = [m for m in sample_page.find("meta") if m["attrs"].get("http-equiv") == "Content-Security-Policy"]
    assert len(metas) == 1 and metas[0]["attrs"]["content"] == CSP
    assert "default-src 'none'" in CSP and "style-src 'unsafe-inline'" in CSP
    assert not sample_page.find("script") and not sample_page.find("link") and not sample_page.find("img")
    assert not any("src" in el["attrs"] for el in sample_page.elements)


# --------------------------------------------------------------------------- chart geometry


@pytest.mark.parametrize(
    ("hist", "expected_points"),
    [([], 0), (history(1), 1), (history(2), 2), (list(reversed(history(7))), 7)],
    ids=["no-history", "one-day", "two-days", "unsorted-week"],
)
def test_chart_points(hist, expected_points):
    page = Page(render_report([finding()], hist, WHEN, "t"))
    points = page.find("circle", "point")
    assert len(points) == expected_points
    if expected_points == 0:
        assert page.find("p", within="burndown")[0]["attrs"]["id"] == "chart-empty"
        assert not page.find("svg")
    dates = [p["attrs"]["data-date"] for p in points]
    assert dates == sorted(dates)


def test_more_open_findings_are_drawn_higher():
    hist = [{"date": "2026-01-01", "open": {"high": 10}}, {"date": "2026-01-02", "open": {"high": 2}}]
    points = Page(render_report([], hist, WHEN, "t")).find("circle", "point")
    assert float(points[0]["attrs"]["cy"]) < float(points[1]["attrs"]["cy"])
    assert [int(p["attrs"]["data-open"]) for p in points] == [10, 2]


def test_gaps_between_days_keep_time_scale():
    hist = [{"date": "2026-01-01", "open": {"low": 1}}, {"date": "2026-01-02", "open": {"low": 1}},
            {"date": "2026-01-11", "open": {"low": 1}}]
    xs = [float(p["attrs"]["cx"]) for p in Page(render_report([], hist, WHEN, "t")).find("circle", "point")]
    assert (xs[2] - xs[1]) == pytest.approx(9 * (xs[1] - xs[0]), rel=0.01)


def test_resolved_bars_only_on_days_with_resolutions():
    page = Page(render_report([], history(6), WHEN, "t"))
    assert len(page.find("rect", "resolved-bar")) == 3  # i % 2 == 1


# --------------------------------------------------------------------------- lifecycle


def test_resolved_and_suppressed_findings_leave_the_summary_and_move_to_their_own_table():
    items = [finding("a", "critical", status="open", first_seen="2026-01-02T02:00:00Z"),
             finding("b", "critical", status="resolved"),
             finding("c", "high", status="suppressed"),
             finding("d", "low")]
    page = Page(render_report(items, [], WHEN, "t"))
    cards = {c["attrs"]["data-severity"]: int(c["attrs"]["data-count"]) for c in page.find("li", "card")}
    assert cards["critical"] == 1 and cards["high"] == 0 and cards["low"] == 1
    assert [r["attrs"]["id"] for r in page.find("tr", "finding", within="findings-table")] == ["f-a", "f-d"]
    assert {r["attrs"]["id"] for r in page.find("tr", "finding", within="closed-table")} == {"f-b", "f-c"}
    assert "since 2026-01-02" in page.find("tr", "finding", within="findings-table")[0]["text"]
    assert severity_counts(items) == {"critical": 1, "high": 0, "medium": 0, "low": 1, "info": 0}


def test_no_findings_says_so():
    page = Page(render_report([], history(3), WHEN, "t"))
    assert page.find("p", within="findings")[0]["attrs"]["id"] == "no-findings"
    assert not page.find("table", "findings")


# --------------------------------------------------------------------------- escaping, links


def test_text_from_inventory_is_escaped():
    evil = finding("x", "high")
    evil["resource"]["name"] = "<script>alert(1)</script>"
    evil["resource"]["pool"] = "p\"><img src=x onerror=alert(1)>"
    evil["commands"] = ["echo '</pre><script>x</script>'"]
    html = render_report([evil], [], WHEN, "Team <b>A</b> & B")
    assert "<script>" not in html and "<img" not in html and "<b>A</b>" not in html
    page = Page(html)
    assert page.find("title")[0]["text"] == "Team <b>A</b> & B"
    assert "<script>alert(1)</script>" in page.find("tr", "finding")[0]["text"]


@pytest.mark.parametrize(
    ("url", "linked"),
    [("https://learn.microsoft.com/azure/x", True), ("http://example.test/a", True),
     ("javascript:alert(1)", False), ("data:text/html,hi", False), ("//evil.test/x", False)],
    ids=["https", "http", "javascript", "data", "scheme-relative"],
)
def test_only_http_links_are_links(url, linked):
    item = finding(retirement={"id": "r", "title": "t", "retires_on": "2027-01-01", "days_left": 5, "urls": [url]})
    page = Page(render_report([item], [], WHEN, "t"))
    hrefs = [a["attrs"]["href"] for a in page.find("a")]
    assert (url in hrefs) is linked
    assert not any(h.lower().startswith(("javascript:", "data:")) for h in hrefs)


def test_portal_links_when_portal_url_given():
    item = finding("p")
    page = Page(render_report([item], [], WHEN, "t", portal_url="https://portal.azure.com"))
    assert f"https://portal.azure.com/#@/resource{item['resource']['id']}" in [a["attrs"]["href"] for a in page.find("a")]
    assert "portal.azure.com" not in render_report([item], [], WHEN, "t")


@pytest.mark.parametrize(
    ("generated_at", "shown"),
    [(WHEN, "2026-03-01 02:00 UTC"), ("2026-03-01T02:00:00Z", "2026-03-01 02:00 UTC"),
     (datetime(2026, 3, 1, 3, 0, tzinfo=timezone(timedelta(hours=1))), "2026-03-01 02:00 UTC"),
     ("last night", "last night")],
    ids=["aware-datetime", "iso-string", "other-offset", "free-text"],
)
def test_generated_at(generated_at, shown):
    page = Page(render_report([], [], generated_at, "t"))
    assert f"Generated {shown}" in page.find("p", "meta")[0]["text"]


def test_days_left_past_and_future():
    past = finding("old", "critical", retirement={"id": "r", "title": "t", "retires_on": "2025-09-30",
                                                   "days_left": -152, "urls": []})
    page = Page(render_report([past, finding("new", "low")], [], WHEN, "t"))
    texts = [r["text"] for r in page.find("tr", "finding")]
    assert "152 days ago" in texts[0] and "in 700 days" in texts[1]


# --------------------------------------------------------------------------- bad input


def _bad(mutate):
    items = [finding("ok"), finding("bad1")]
    mutate(items[1])
    return items


@pytest.mark.parametrize(
    ("findings", "hist", "message"),
    [
        (_bad(lambda f: f.update(severity="urgent")), [], "findings[1] (id 'bad1'): 'severity' 'urgent' is not one of"),
        (_bad(lambda f: f.pop("resource")), [], "findings[1] (id 'bad1'): 'resource' is missing"),
        (_bad(lambda f: f.pop("id")), [], "findings[1]: 'id' is missing"),
        (_bad(lambda f: f.update(commands="az aks ...")), [], "findings[1] (id 'bad1'): 'commands' must be a list"),
        (_bad(lambda f: f["retirement"].update(retires_on="soon")), [], "'retirement.retires_on' 'soon' is not a YYYY"),
        (_bad(lambda f: f.update(id="ok")), [], "findings[1] (id 'ok'): duplicate id (also findings[0])"),
        ("not a list", [], "findings: must be a list"),
        ([], [{"date": "2026-13-01", "open": {}}], "history[0]: 'date' '2026-13-01' is not a YYYY-MM-DD date"),
        ([], [{"open": {}}], "history[0]: 'date' is missing"),
        ([], history(2) + [{"date": history(2)[0]["date"]}], "history[2]: date 2026-02-01 already given at history[0]"),
        ([], [{"date": "2026-01-01", "open": {"urgent": 1}}], "history[0].open: unknown severity 'urgent'"),
        ([], [{"date": "2026-01-01", "open": {"high": -1}}], "history[0].open.high: -1 is not a count"),
        ([], [{"date": "2026-01-01", "open": {"high": 1}, "resolved": "2"}], "history[0].resolved: '2' is not a count"),
        ([], {"date": "2026-01-01"}, "history: must be a list"),
    ],
    ids=["unknown-severity", "no-resource", "no-id", "commands-not-list", "bad-retirement-date", "duplicate-id",
         "findings-not-list", "bad-history-date", "history-no-date", "duplicate-day", "history-unknown-severity",
         "negative-count", "resolved-not-int", "history-not-list"],
)
def test_bad_input_names_item_and_field(findings, hist, message):
    with pytest.raises(InputError) as exc:
        render_report(copy.deepcopy(findings), hist, WHEN, "t")
    assert message in str(exc.value)


def test_input_is_not_modified():
    items = copy.deepcopy(SCAN["findings"])
    hist = list(reversed(history(5)))
    before = (copy.deepcopy(items), copy.deepcopy(hist))
    render_report(items, hist, WHEN, "t")
    assert (items, hist) == before


def test_report_module_is_pure():
    code = "import sys, scanner.core.report; print(sorted(m for m in sys.modules if m.startswith('azure')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


# --------------------------------------------------------------------------- issue 15, item 8


def test_days_before_the_first_run_are_not_drawn_as_zeros():
    """store.history gives `open: None` before the first stored run: those days draw nothing,
    so the line starts at the first run instead of rising from a row of zeros."""
    before = [{"date": (date(2026, 2, 1) + timedelta(days=i)).isoformat(), "runs": 0, "open": None,
               "resolved": 0} for i in range(10)]
    page = Page(render_report([finding()], before + history(5, start=date(2026, 2, 11)), WHEN, "t"))
    points = page.find("circle", "point")
    assert [p["attrs"]["data-date"] for p in points][0] == "2026-02-11"
    assert len(points) == 5 and all(int(p["attrs"]["data-open"]) > 0 for p in points)
    empty = Page(render_report([finding()], before, WHEN, "t"))
    assert not empty.find("circle", "point") and empty.find("p", within="burndown")[0]["attrs"]["id"] == "chart-empty"


def test_gen1_node_image_without_new_size_says_keep_the_size():
    f = finding(rule="gen1-node-image", replacement=None, vm_size="Standard_D4s_v5",
                commands=["az aks nodepool upgrade --name np1 --node-image-only"])
    text = Page(render_report([f], [], WHEN, "t")).find("table")[0]["text"]
    assert "review by hand" not in text
    assert "keep Standard_D4s_v5: move the pool to a Gen2 node image" in text
    other = Page(render_report([finding(replacement=None)], [], WHEN, "t")).find("table")[0]["text"]
    assert "no fitting size found: review by hand" in other


@pytest.mark.parametrize(
    ("url", "label"),
    [("https://azure.microsoft.com/updates?id=500573", "Azure Updates 500573"),
     ("https://learn.microsoft.com/azure/virtual-machines/ncv3-retirement", "Learn: ncv3-retirement"),
     ("https://wiki.example.test/platform/gpu-sizes", "wiki.example.test: gpu-sizes")],
    ids=["azure-updates", "learn", "other"],
)
def test_source_links_say_where_they_go(url, label):
    f = finding(retirement={"id": "x", "title": "X", "retires_on": "2028-05-01", "days_left": 700,
                            "source": "builtin", "urls": [url, "https://learn.microsoft.com/azure/other-page"]})
    links = [a for a in Page(render_report([f], [], WHEN, "t")).find("a") if a["attrs"].get("href") == url]
    assert [a["text"] for a in links] == [label]
    assert "announcement 1" not in render_report([f], [], WHEN, "t")


def test_subscription_ids_do_not_wrap():
    page = render_report([finding()], [], WHEN, "t")
    assert '<span class="guid">s1</span>' in page and ".guid { white-space: nowrap" in page


def test_every_rule_reads_as_words_in_the_table():
    """The capacity-restricted rule showed its raw id in the Why column; a rule added later reads
    as words too, never as `some-rule-id`."""
    from scanner.core.model import Rule

    rules = [r.value for r in Rule] + ["some-future-rule"]
    page = Page(render_report([finding(f"f{i}", rule=r) for i, r in enumerate(rules)], [], WHEN, "Rules"))
    assert {el["attrs"]["data-rule"] for el in page.find("tr", "finding")} == set(rules)
    labels = [el["text"].strip().split("Dv2 retire", 1)[0].strip()
              for el in page.find("td") if "Dv2 retire" in el["text"]]
    assert len(labels) == len(rules)
    assert all(label and label not in rules for label in labels), labels  # never the raw id
    assert "Capacity restricted" in labels and "Some future rule" in labels


def test_retiring_node_os_keeps_the_size_and_names_the_os_sku():
    """A node OS finding has no new size by design: the page said "no fitting size found: review by
    hand" when its commands move the pool to another OS SKU."""
    f = finding("os1", rule="retiring-node-os", replacement=None, vm_size="Standard_B4ms",
                commands=["az aks nodepool update --resource-group rg --cluster-name c --name system "
                          "--os-sku AzureLinux3"])
    bare = finding("os2", rule="retiring-node-os", replacement=None, commands=[])
    page = Page(render_report([f, bare], [], WHEN, "Node OS"))
    cells = [el["text"] for el in page.find("td") if "keep " in el["text"] or "review by hand" in el["text"]]
    assert not any("review by hand" in c for c in cells), cells
    assert any("keep Standard_B4ms: move the pool to OS SKU AzureLinux3" in " ".join(c.split()) for c in cells)
    assert any("move the pool to a supported node OS" in " ".join(c.split()) for c in cells)
