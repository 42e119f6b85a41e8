"""The report page in a real browser: headless Chromium (Debian package `chromium`, installed by
`make chromium`) loads the page from a local HTTP server on 127.0.0.1, and we check what it built
and painted: the DOM has the chart points and table rows, the screenshot shows the severity colours
and the chart line, the page prints to PDF, and the browser asked the server for nothing but the
page (no CDN, no fonts, no scripts; nothing leaves the machine).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import threading
import zlib
from datetime import date, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from scanner.core.report import SEVERITY_COLOURS, render_report
from tests.conftest import FIXTURES

pytestmark = pytest.mark.integration

SCAN = json.loads((FIXTURES / "report" / "scan-sample-tenant.json").read_text())
DAYS = 21
HISTORY = [
    {"date": (date(2026, 2, 9) + timedelta(days=i)).isoformat(),
     "open": {"critical": max(1, 6 - i // 3), "high": 4, "medium": 3, "low": 16 - i // 4, "info": 2},
     "resolved": 1 if i % 4 == 0 else 0}
    for i in range(DAYS)
]
WINDOW = (1100, 1000)


def _chromium() -> str | None:
    for name in (os.environ.get("CHROMIUM", ""), "chromium", "chromium-browser", "google-chrome"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    path = _chromium()
    if path is None:
        pytest.skip("chromium is not installed and `make chromium` could not install it "
                    "(needs root or passwordless sudo for apt-get install chromium)")
    return path


class _Server:
    """Serves the rendered page at /api/report and remembers every path asked for."""

    def __init__(self, html: str) -> None:
        self.paths: list[str] = []
        body = html.encode("utf-8")
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server API)
                server.paths.append(self.path)
                if self.path == "/api/report":
                    self.send_response(200)
                    self.send_header("Content-Type", "text/html; charset=utf-8")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                else:
                    self.send_error(404)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/api/report"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def served():
    html = render_report(SCAN["findings"], HISTORY, datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc),
                         "Sample tenant", portal_url="https://portal.azure.com")
    server = _Server(html)
    yield server
    server.close()


def _run(browser: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-extensions", "--hide-scrollbars", f"--user-data-dir={tmp / 'profile'}", *args]
    out = subprocess.run(cmd, capture_output=True, timeout=90, text=True)
    assert out.returncode == 0, f"chromium failed ({out.returncode}): {out.stderr[-2000:]}"
    return out


def test_browser_builds_chart_points_and_table_rows(browser, served, tmp_path):
    dom = _run(browser, tmp_path, "--dump-dom", served.url).stdout
    assert "<title>Sample tenant</title>" in dom
    points = re.findall(r'<circle class="point"[^>]*data-date="(\d{4}-\d\d-\d\d)"', dom)
    assert points == [h["date"] for h in HISTORY]
    rows = re.findall(r'<tr class="finding" id="f-([0-9a-f]+)"', dom)
    assert sorted(rows) == sorted(f["id"] for f in SCAN["findings"])
    cards = dict(re.findall(r'data-severity="(\w+)" data-count="(\d+)"', dom))
    assert sum(int(n) for n in cards.values()) == len(SCAN["findings"])
    assert served.paths and set(served.paths) <= {"/api/report", "/favicon.ico"}


def test_browser_paints_the_page(browser, served, tmp_path):
    shot = tmp_path / "report.png"
    _run(browser, tmp_path, f"--window-size={WINDOW[0]},{WINDOW[1]}", f"--screenshot={shot}", served.url)
    width, height, colours = _png_colours(shot.read_bytes())
    assert (width, height) == WINDOW
    assert len(colours) > 50, "the screenshot is (nearly) blank"

    def present(hex_colour: str) -> bool:
        want = bytes.fromhex(hex_colour.lstrip("#"))
        return want in colours

    assert present(SEVERITY_COLOURS["critical"][0]), "critical severity colour not painted"
    assert present("#202124"), "text / chart line colour not painted"


def test_page_prints(browser, served, tmp_path):
    pdf = tmp_path / "report.pdf"
    _run(browser, tmp_path, "--no-pdf-header-footer", f"--print-to-pdf={pdf}", served.url)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = [int(n) for n in re.findall(rb"/Type\s*/Pages\b[^>]*?/Count (\d+)", data)
             + re.findall(rb"/Count (\d+)[^>]*?/Type\s*/Pages\b", data)]
    assert pages and max(pages) >= 2, "a 20-finding report should span pages when printed"


def test_no_external_resources_even_if_injected(browser, tmp_path):
    """A resource name that tries to pull a remote image stays text: CSP and escaping both hold."""
    evil = json.loads(json.dumps(SCAN["findings"][0]))
    evil["resource"]["name"] = '<img src="http://127.0.0.1:9/x.png">'
    server = _Server(render_report([evil], HISTORY[:3], "2026-03-01", "t"))
    try:
        dom = _run(browser, tmp_path, "--dump-dom", server.url).stdout
    finally:
        server.close()
    assert "<img" not in dom and "&lt;img" in dom
    assert set(server.paths) <= {"/api/report", "/favicon.ico"}


# --------------------------------------------------------------------------- issue 15, item 8

# Screenshots go where people can look at them after a run (gitignored): TEST_OUTPUT_DIR or test-output/.
OUTPUT = Path(os.environ.get("TEST_OUTPUT_DIR") or Path(__file__).resolve().parents[2] / "test-output") / "report"
FIRST_RUN = date(2026, 2, 9)
# Ten days of the window before the first stored run (store.history says open: None), then HISTORY.
WINDOWED = [{"date": (FIRST_RUN - timedelta(days=10 - i)).isoformat(), "runs": 0, "open": None, "resolved": 0}
            for i in range(10)] + HISTORY
CHART_ONLY = ("<style>body > header, body > section:not(#burndown), #burndown h2, #burndown .legend,"
              " #burndown details { display: none !important; }</style></head>")


@pytest.fixture(scope="module")
def windowed_html() -> str:
    return render_report(SCAN["findings"], WINDOWED, datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc),
                         "Sample tenant", portal_url="https://portal.azure.com")


@pytest.mark.parametrize("width", [1400, 390], ids=["desktop-1400px", "phone-390px"])
def test_page_at_desktop_and_phone_widths(browser, windowed_html, tmp_path, width):
    OUTPUT.mkdir(parents=True, exist_ok=True)
    server = _Server(windowed_html)
    try:
        dom = _run(browser, tmp_path, "--dump-dom", server.url).stdout
        shot = OUTPUT / f"report-{width}px.png"
        _run(browser, tmp_path, f"--window-size={width},2400", f"--screenshot={shot}", server.url)
    finally:
        server.close()
    points = re.findall(r'<circle class="point"[^>]*data-date="(\d{4}-\d\d-\d\d)"', dom)
    assert points[0] == FIRST_RUN.isoformat() and len(points) == DAYS
    w, h, colours = _png_colours(shot.read_bytes())
    assert (w, h) == (width, 2400) and len(colours) > 50
    assert bytes.fromhex(SEVERITY_COLOURS["critical"][0].lstrip("#")) in colours
    assert "announcement 1" not in dom and "review by hand" not in dom.split('data-rule="gen1-node-image"', 1)[-1][:3000]


def test_chart_starts_at_the_first_run_in_the_screenshot(browser, windowed_html, tmp_path):
    """Only the chart is shown (the page's other parts hidden by an added stylesheet); the total
    line and points are the only #202124 pixels. Zeros before the first run would pull the line
    down to the axis: the points must instead stay in the band of the real totals."""
    OUTPUT.mkdir(parents=True, exist_ok=True)
    server = _Server(windowed_html.replace("</head>", CHART_ONLY, 1))
    shot = OUTPUT / "chart-1400px.png"
    try:
        _run(browser, tmp_path, "--window-size=1400,400", f"--screenshot={shot}", server.url)
    finally:
        server.close()
    _, _, rows = _png_pixels(shot.read_bytes())
    ink = bytes.fromhex("202124")
    dark = [(x, y) for y, row in enumerate(rows) for x in range(0, len(row), 3) if row[x:x + 3] == ink]
    assert dark, "the chart line was not painted"
    xs, ys = [x // 3 for x, _ in dark], [y for _, y in dark]
    totals = [sum(d["open"].values()) for d in HISTORY]
    top = 10 * -(-max(totals) // 10)  # the chart's rounded top (ticks of 10 for these counts)
    plot_h = 300 - 16 - 40
    allowed = plot_h * (max(totals) - min(totals)) / top + 12  # the real totals' band, plus line and dots
    assert max(ys) - min(ys) <= allowed, f"the line spans {max(ys) - min(ys)} px: it dips towards zero"
    assert min(xs) <= 24 + 48 + 6, "the first point is not at the left edge of the plot (the first run)"


def _png_colours(data: bytes) -> tuple[int, int, set[bytes]]:
    """Width, height and the set of RGB colours of an 8-bit RGB/RGBA, non-interlaced PNG
    (what Chromium writes). Every 2nd pixel of every row is sampled."""
    width, height, rows = _png_pixels(data)
    colours: set[bytes] = set()
    for line in rows:
        for x in range(0, len(line), 6):
            colours.add(bytes(line[x:x + 3]))
    return width, height, colours


def _png_pixels(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB rows (3 bytes a pixel) of an 8-bit RGB/RGBA, non-interlaced PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, bytearray()
    width = height = bpp = 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            assert depth == 8 and ctype in (2, 6) and interlace == 0, "unexpected PNG format"
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows: list[bytes] = []
    i = 0
    for _ in range(height):
        kind, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        if kind == 1:
            for x in range(bpp, stride):
                line[x] = (line[x] + line[x - bpp]) & 255
        elif kind == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev, strict=True))
        elif kind == 3:
            for x in range(stride):
                left = line[x - bpp] if x >= bpp else 0
                line[x] = (line[x] + ((left + prev[x]) >> 1)) & 255
        elif kind == 4:
            for x in range(stride):
                a = line[x - bpp] if x >= bpp else 0
                b = prev[x]
                c = prev[x - bpp] if x >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line) if bpp == 3 else bytes(b for x in range(0, stride, 4) for b in line[x:x + 3]))
        prev = line
    return width, height, rows


LINES_PROBE = """<script>
for (const el of document.querySelectorAll('tr.finding td:last-child .sub')) {
  const range = document.createRange(); range.selectNodeContents(el);
  el.setAttribute('data-lines', new Set([...range.getClientRects()].map(r => Math.round(r.top))).size);
}
</script></body>"""


def test_first_seen_dates_are_not_broken_over_lines(browser, tmp_path):
    """At 1400 px the status column is narrow: "since 2026-12-04" was drawn as "since / 2026-12- /
    04". The page with a probe script (measuring each line box; the CSP meta left out for it)."""
    findings = [{**f, "first_seen": "2026-02-09T02:00:00+00:00"} for f in SCAN["findings"]]
    html = render_report(findings, HISTORY, datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc),
                         "Sample tenant", portal_url="https://portal.azure.com")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace("</body>", LINES_PROBE, 1)
    server = _Server(html)
    try:
        dom = _run(browser, tmp_path, "--window-size=1400,2400", "--dump-dom", server.url).stdout
    finally:
        server.close()
    lines = re.findall(r'<span class="sub" data-lines="(\d+)">since (?:<span class="date">)?\d{4}-\d\d-\d\d', dom)
    assert len(lines) == len(findings), "the probe did not measure every row"
    assert all(n in ("1", "2") for n in lines), lines  # "since" and the date: never the date in two pieces


CHART_PROBE = """<script>
const svg = document.getElementById('burndown-chart');
const shown = [...svg.querySelectorAll('text')].filter(t => getComputedStyle(t).display !== 'none');
const rects = shown.map(t => t.getBoundingClientRect());
const xs = rects.filter((r, i) => /^\\d{4}-\\d\\d-\\d\\d$/.test(shown[i].textContent));
let overlap = 0;
for (let i = 0; i < xs.length; i++) for (let j = i + 1; j < xs.length; j++)
  if (xs[i].left < xs[j].right && xs[j].left < xs[i].right) overlap++;
svg.setAttribute('data-min-text-px', Math.min(...rects.map(r => r.height)).toFixed(1));
svg.setAttribute('data-xtick-overlaps', overlap);
svg.setAttribute('data-xticks-shown', xs.length);
</script></body>"""


@pytest.mark.parametrize("width", [1400, 390], ids=["desktop-1400px", "phone-390px"])
def test_chart_labels_are_readable_and_apart(browser, tmp_path, width):
    """At 390 px the chart is scaled to half size and its 11px labels were drawn about 5px high:
    on a phone the labels must still be text-sized, and the date labels must not overlap."""
    html = render_report(SCAN["findings"], HISTORY, datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc),
                         "Sample tenant", portal_url="https://portal.azure.com")
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", html).replace("</body>", CHART_PROBE, 1)
    server = _Server(html)
    try:
        dom = _run(browser, tmp_path, f"--window-size={width},2400", "--dump-dom", server.url).stdout
    finally:
        server.close()
    probe = dict(re.findall(r'data-(min-text-px|xtick-overlaps|xticks-shown)="([\d.]+)"', dom))
    assert len(probe) == 3, "the probe did not run"
    assert float(probe["min-text-px"]) >= 9, probe
    assert probe["xtick-overlaps"] == "0" and int(probe["xticks-shown"]) >= 2, probe
