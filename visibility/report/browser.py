"""Headless Chromium: print the report to PDF, take screenshots, dump the rendered DOM.

Chromium is optional. :func:`find_chromium` looks for it on the PATH (Debian's
``chromium``, or ``chromium-browser`` / ``google-chrome``) or at ``$CHROMIUM``;
each run uses a fresh throw-away profile and no network services.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from .data import ReportError

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
#: Flags that let Chromium run headless as root in a container, offline and quietly.
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-default-apps", "--mute-audio", "--hide-scrollbars")
TIMEOUT_S = 120


def find_chromium() -> str | None:
    """The Chromium executable, or None when none is installed."""
    env = os.environ.get("CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def run_chromium(url_or_path: str | Path, *extra: str,
                 timeout_s: float = TIMEOUT_S) -> subprocess.CompletedProcess:
    """Run headless Chromium on a page with ``extra`` flags; raise ReportError if it fails."""
    exe = find_chromium()
    if exe is None:
        raise ReportError("no Chromium to print with: install it (Debian: apt-get install chromium) "
                          "or set $CHROMIUM")
    target = str(url_or_path)
    if "://" not in target:
        target = Path(target).resolve().as_uri()
    with tempfile.TemporaryDirectory(prefix="visibility-chromium-") as profile:
        argv = [exe, *FLAGS, f"--user-data-dir={profile}", *extra, target]
        try:
            proc = subprocess.run(argv, capture_output=True, text=True, timeout=timeout_s,
                                  stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise ReportError(f"Chromium did not finish within {timeout_s:.0f} s") from None
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
        raise ReportError(f"Chromium failed (exit {proc.returncode}): {last}")
    return proc


def print_to_pdf(html_path: str | Path, pdf_path: str | Path) -> Path:
    """Print the page to an A4 PDF (the page's own ``@page`` rule sets the size)."""
    pdf_path = Path(pdf_path).resolve()
    pdf_path.unlink(missing_ok=True)
    run_chromium(html_path, f"--print-to-pdf={pdf_path}", "--no-pdf-header-footer")
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise ReportError(f"Chromium wrote no PDF at {pdf_path}")
    return pdf_path


def screenshot(html_path: str | Path, png_path: str | Path, width: int = 800,
               height: int = 4800) -> Path:
    png_path = Path(png_path).resolve()
    run_chromium(html_path, f"--screenshot={png_path}", f"--window-size={width},{height}")
    return png_path


def dump_dom(html_path: str | Path) -> subprocess.CompletedProcess:
    """The DOM after loading (stdout), with the browser's console log on stderr."""
    return run_chromium(html_path, "--dump-dom", "--enable-logging=stderr", "--v=0")
