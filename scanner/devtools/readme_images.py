"""Regenerate the README images from our own rendering. Run deliberately, never in CI:

    .venv/bin/python -m scanner.devtools.readme_images [--out docs/images] [--today 2026-03-01]

What it does: scans the sample tenant (samples/) exactly as `make demo` does (Azurite, store,
file channel) as of a fixed day and time, so the images only change when the rendering does;
then screenshots, with headless Chromium (Debian package `chromium`):

    teams-card.png   the Teams digest card, through scanner.devtools.card_preview (an
                     approximation of how Teams draws an Adaptive Card)
    email.png        the HTML body of the digest email (the .eml the file channel wrote)
    report.png       the report page (GET /api/report)

Each PNG is checked to be under MAX_BYTES (README images stay small). Needs node_modules
(Azurite) and chromium; exits 2 naming what is missing.
"""

from __future__ import annotations

import argparse
import email
import json
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime, time, timezone
from pathlib import Path

from scanner.devtools.card_preview import posts_html

ROOT = Path(__file__).resolve().parents[2]
MAX_BYTES = 300_000
WINDOW = "900,1400"


def chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit("readme_images: chromium is not installed (Debian: apt-get install chromium)")


def screenshot(html_file: Path, png: Path, window: str = WINDOW) -> Path:
    """Headless Chromium, no network beyond the file itself, a throwaway profile."""
    png.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="readme-chromium-") as profile:
        cmd = [chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
               "--disable-background-networking", "--disable-component-update", "--disable-sync",
               "--hide-scrollbars", f"--user-data-dir={profile}", f"--screenshot={png}",
               f"--window-size={window}", html_file.resolve().as_uri()]
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0 or not png.is_file():
        raise SystemExit(f"readme_images: chromium failed on {html_file.name} (exit {done.returncode}): "
                         f"{done.stderr.strip()[-500:]}")
    return png


def html_body(eml: Path) -> str:
    """The text/html part of a MIME message."""
    msg = email.message_from_bytes(eml.read_bytes())
    for part in msg.walk():
        if part.get_content_type() == "text/html":
            return part.get_payload(decode=True).decode(part.get_content_charset() or "utf-8")
    raise SystemExit(f"readme_images: {eml.name} has no text/html part")


def render_sample(work: Path, today: date, now: datetime) -> dict[str, Path]:
    """Scan the sample tenant into `work` as the demo does; return the written files."""
    from scanner import demo
    from scanner.devtools.azurite import azurite

    deps = demo.build_deps(demo.sample_paths())
    with azurite(location=work / "azurite") as az:
        settings = demo.demo_settings(az.connection_string, work)
        deps = demo.with_store(deps, settings)
        report = demo.scan(deps, today, now)
        page = demo.write_report(deps, settings, now, work / "report.html")
    if not report.messages:
        raise SystemExit("readme_images: the sample scan rendered no notification")
    notes = work / "notifications"
    cards, emls = sorted(notes.glob("*.teams.json")), sorted(notes.glob("*.eml"))
    if len(cards) != 1 or len(emls) != 1:
        raise SystemExit(f"readme_images: expected one card and one email in {notes}, got "
                         f"{[p.name for p in notes.iterdir()]}")
    return {"card": cards[0], "eml": emls[0], "report": page}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scanner.devtools.readme_images",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images")
    parser.add_argument("--today", type=date.fromisoformat, default=date(2026, 3, 1))
    args = parser.parse_args(argv)
    now = datetime.combine(args.today, time(2, 0), tzinfo=timezone.utc)  # the nightly timer's hour

    with tempfile.TemporaryDirectory(prefix="readme-images-") as tmp:
        work = Path(tmp)
        files = render_sample(work, args.today, now)
        card = json.loads(files["card"].read_text(encoding="utf-8"))
        card_page = work / "teams-card.html"
        card_page.write_text(posts_html(card["posts"], title=card["subject"],
                                        sender="Workflows · VM size retirements"), encoding="utf-8")
        mail_page = work / "email.html"
        mail_page.write_text(html_body(files["eml"]), encoding="utf-8")
        made = [
            screenshot(card_page, args.out / "teams-card.png"),
            screenshot(mail_page, args.out / "email.png", window="900,1150"),  # dense text: keep it small
            screenshot(files["report"], args.out / "report.png"),
        ]
    too_big = []
    for png in made:
        size = png.stat().st_size
        print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: {size / 1000:.0f} kB")
        if size > MAX_BYTES:
            too_big.append(png.name)
    if too_big:
        print(f"readme_images: over {MAX_BYTES // 1000} kB: {', '.join(too_big)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
