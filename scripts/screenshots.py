"""Regenerate the documentation's screenshots from the example shop in headless Chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/_static/screenshots]

Starts example_shop with its demo data on a throwaway SQLite file, logs in as the demo
customer and the demo admin, and saves small PNGs of the pages the docs show.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from example_shop.live import demo_app, serving  # noqa: E402

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def log_in(page: Page, base: str, email: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]:has-text('Log in')")
    page.wait_for_load_state()


def shoot(base: str, out: Path) -> list[Path]:
    saved: list[Path] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        try:
            customer = browser.new_page(viewport={"width": 1100, "height": 760})
            log_in(customer, base, "anna@example.com", "anna")
            customer.goto(f"{base}/loyalty/")
            disabled = customer.locator(".lr-redeem[data-reason=not_enough_points] .lr-tip").first
            disabled.scroll_into_view_if_needed()
            disabled.hover()
            customer.wait_for_timeout(300)
            saved.append(out / "rewards-disabled-tooltip.png")
            customer.screenshot(path=str(saved[-1]), full_page=True)
            customer.goto(f"{base}/loyalty/my-rewards")
            saved.append(out / "my-rewards.png")
            customer.screenshot(path=str(saved[-1]))

            admin = browser.new_page(viewport={"width": 1800, "height": 1000})
            log_in(admin, base, "admin@example.com", "admin")
            admin.goto(f"{base}/admin/loyalty/redeemed/")
            saved.append(out / "admin-redeemed-grid.png")
            admin.screenshot(path=str(saved[-1]))
        finally:
            browser.close()
    return saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "_static" / "screenshots")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = demo_app(f"sqlite:///{tmp}/shop.sqlite")
        with serving(app) as base:
            for path in shoot(base, args.out):
                print(f"saved {path.relative_to(ROOT)} ({path.stat().st_size // 1024} KiB)")


if __name__ == "__main__":
    main()
