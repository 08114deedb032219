"""Render the report page: one HTML file, CSS and SVG inline, every name escaped."""

from __future__ import annotations

STATUS_WORDS = {"meets": "Meets", "near": "Near", "below": "Below", "no data": "No data"}

#: The measurement settings shown from each analysis, in this order (others follow).
POLICY_ORDER = ("timezone", "h3_resolution", "max_gap_s", "spike_speed_kmh", "accuracy_limit_m",
                "station_radius_m", "station_margin_m", "transit_speed_kmh", "speed_window",
                "pledge_line", "include_abstracted")


def _env():
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(loader=PackageLoader("visibility", "templates"),
                      autoescape=select_autoescape(["html", "j2"]), trim_blocks=False)
    env.filters["pct"] = lambda v: "–" if v is None else f"{v:.1%}"
    env.filters["pct0"] = lambda v: "–" if v is None else f"{v:.0%}"
    env.filters["policy_value"] = lambda v: (", ".join(map(str, v)) if isinstance(v, list)
                                             else ("yes" if v is True else "no" if v is False
                                                   else v))
    return env


def render(store, data: dict, svgs: dict) -> str:
    keys = []
    for a in data["provenance"]["analyses"]:
        for k in a["policy"]:
            if k not in keys:
                keys.append(k)
    ordered = [k for k in POLICY_ORDER if k in keys] + sorted(k for k in keys if k not in POLICY_ORDER)
    below = {}
    for s in data["officer_shifts"]:
        if s["status"] != "meets":
            below[s["officer"]] = below.get(s["officer"], 0) + 1
    notes = []
    dq = data["data_quality"]
    if dq["rostered_shifts_not_analysed"]:
        notes.append(f"{dq['rostered_shifts_not_analysed']} rostered shifts in the period have no "
                     "results: run visibility analyse over the period before reading the figures")
    if dq["no_signal_share"] is not None and dq["no_signal_share"] > 0.25:
        notes.append(f"{dq['no_signal_share']:.0%} of duty time has no signal: the visible share "
                     "understates presence by up to that much")
    return _env().get_template("report.html.j2").render(
        d=data, page_data={k: v for k, v in data.items() if k != "cells"}, charts=svgs,
        status_words=STATUS_WORDS, policy_keys=ordered,
        below_by_officer=below, shifts_below=sum(below.values()), notes=notes,
        h3_resolution=_resolution(store))


def _resolution(store) -> str:
    row = store.con.execute("SELECT value FROM meta WHERE key = 'h3_resolution'").fetchall()
    return row[0][0] if row else "?"
