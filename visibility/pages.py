"""Plain HTML pages rendered with jinja2 (every value from the data is escaped)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from . import __version__
from .store import Store
from .summary import Summary
from .files import write_text_atomic


def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("visibility", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    env.filters["pct"] = lambda v: "" if v is None else f"{v:.1%}"
    env.filters["hours"] = lambda s: "" if s is None else f"{s / 3600:.1f}"
    return env


def write_summary_page(path: str | Path, store: Store, borough: Summary, wards: Summary,
                       title: str) -> Path:
    """A short coverage summary: borough headline and one row per ward."""
    sources = store.con.execute(
        "SELECT path, sha256, rows_read, rows_accepted, rows_rejected, rows_duplicate "
        "FROM sources ORDER BY source_id"
    ).fetchall()
    html = _env().get_template("summary.html.j2").render(
        title=title, boroughs=borough.records(), wards=wards.records(),
        line=wards.pledge_line, sources=sources, version=__version__,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = Path(path)
    write_text_atomic(path, html)
    return path


def write_evidence_page(path: str | Path, evidence: dict) -> Path:
    """The inspector's evidence page: claim, verdict, interval, sensitivity, quality, sample, audit."""
    rows = [("base policy", evidence["measured"]["value"])]
    rows += [(f"{v['setting']} = {v['value']:g}", v["measured"]) for v in evidence["sensitivity"]["settings"]]
    rows += [(f"one fix per {t['interval_s']:g} s (max gap {t['max_gap_s_widened']:g} s)",
              t["measured_widened_gap"]) for t in evidence["sensitivity"]["thinning"]]
    html = _env().get_template("evidence.html.j2").render(
        e=evidence, chart=rows, claimed=evidence["claim"]["claimed"], version=__version__)
    path = Path(path)
    write_text_atomic(path, html)
    return path
