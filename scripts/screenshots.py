"""Screenshots of Tocsin's pages, as its users see them, in headless Chromium.

    .venv/bin/python scripts/screenshots.py http://127.0.0.1:8000/signup/ --out var/shots
    .venv/bin/python scripts/screenshots.py URL... --languages en,es,fr --widths 1280,390 \\
        --cookie sessionid=... --full-page

One PNG per URL, language and width, named <slug>-<lang>-<width>.png. Uses
the machine's Chromium (``apt-get install chromium``); Playwright's own
browser download is not needed. For admin pages, log in in a browser or with
the test client and pass the session cookie.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import urlsplit

from playwright.sync_api import sync_playwright

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _slug(url: str) -> str:
    parts = urlsplit(url)
    return re.sub(r"[^a-zA-Z0-9]+", "-", f"{parts.path}{parts.query}").strip("-") or "home"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("urls", nargs="+")
    parser.add_argument("--out", default="var/shots")
    parser.add_argument("--languages", default="en")
    parser.add_argument("--widths", default="1280,390")
    parser.add_argument("--cookie", action="append", default=[], help="name=value, sent to the URLs' host")
    parser.add_argument("--full-page", action="store_true")
    args = parser.parse_args(argv)

    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if not executable:
        print("Chromium is missing: apt-get install chromium", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        for language in args.languages.split(","):
            for width in (int(w) for w in args.widths.split(",")):
                context = browser.new_context(
                    viewport={"width": width, "height": 900 if width > 600 else 800},
                    locale=language,
                    extra_http_headers={"Accept-Language": language},
                    is_mobile=width <= 600,
                )
                for url in args.urls:
                    host = urlsplit(url).hostname or "127.0.0.1"
                    cookies = [c.split("=", 1) for c in args.cookie]
                    cookies.append(["django_language", language])
                    context.add_cookies([{"name": n, "value": v, "domain": host, "path": "/"} for n, v in cookies])
                    page = context.new_page()
                    page.goto(url, wait_until="networkidle")
                    path = out / f"{_slug(url)}-{language}-{width}.png"
                    page.screenshot(path=str(path), full_page=args.full_page)
                    print(path)
                    page.close()
                context.close()
        browser.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
