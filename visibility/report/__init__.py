"""The borough commander's weekly coverage report.

:func:`build_report` reads the figures from the store (:mod:`.data`), draws the
charts and the map as inline SVG (:mod:`.charts`, :mod:`.maps`) and renders one
self-contained HTML page; :func:`write_exports` writes the same figures as CSV,
GeoJSON/GeoParquet and JSON; :func:`.browser.print_to_pdf` prints the page with
headless Chromium where it is installed.

    from datetime import date
    from visibility.report import ReportScope, build_report, write_exports
    with Store.open("force.duckdb", read_only=True) as store:
        report = build_report(store, ReportScope(date(2026, 11, 16), date(2026, 11, 22),
                                                 borough="E09000007"))
    report.write_html("report.html")
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .data import ReportError, ReportScope, collect, status_of  # noqa: F401
from ..files import write_text_atomic

__all__ = ["Report", "ReportError", "ReportScope", "build_report", "status_of"]


@dataclass
class Report:
    """A built report: its figures (JSON-ready), map layers and the HTML page."""

    data: dict
    html: str
    wards: object      # GeoDataFrame, EPSG:4326
    cells: object      # GeoDataFrame, EPSG:4326
    stations: object   # GeoDataFrame, EPSG:4326

    def write_html(self, path: str | Path) -> Path:
        path = Path(path)
        write_text_atomic(path, self.html)
        return path

    def write_exports(self, folder: str | Path) -> list[Path]:
        from .export import write_exports

        return write_exports(self, folder)


def build_report(store, scope: ReportScope, policy=None, key: bytes | None = None,
                 trend_weeks: int = 8, command: str | None = None,
                 attribution: str | None = None, generated=None) -> Report:
    """Collect the figures of ``scope`` and render the page.

    ``key`` is the pseudonym key (officers appear as keyed-hash labels); ``None``
    shows officer ids. ``attribution`` is the boundary data's credit line (a
    default is chosen from the ward codes).
    """
    from ..policy import Policy
    from . import charts, maps
    from .page import render
    from .peaks_hook import collect as collect_peaks

    policy = policy or Policy()
    data = collect(store, scope, policy, key=key, trend_weeks=trend_weeks, command=command,
                   attribution=attribution, generated=generated)
    data["peaks"] = collect_peaks(store, data)
    wards = maps.ward_layer(store, data)
    cells = maps.cell_layer(data)
    stations = maps.station_layer(store, maps.padded_bounds(wards, 0.01) if len(wards) else None)
    line, amber = policy.pledge_line, policy.amber_band
    svgs = {
        "trend": charts.trend_chart(data["trend"], line, amber, data["scope"]["level"]),
        "histogram": charts.histogram_chart(
            [s["visible_share"] for s in data["officer_shifts"] if s["visible_share"] is not None],
            line, amber),
        "breakdown": charts.breakdown_chart(data["wards"], line),
        "map": maps.static_map(wards, cells, stations, line, amber, data["attribution"]),
        "hours": charts.hour_heatmap(data["hour_of_week"]),
    }
    if data["peaks"]["available"] and data["peaks"]["wards"]:
        svgs["peaks"] = charts.peak_heatmaps(data["peaks"])
    html = render(store, data, svgs)
    return Report(data=data, html=html, wards=wards, cells=cells, stations=stations)
