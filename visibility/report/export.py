"""``--export DIR``: the report's figures as CSV, GeoJSON/GeoParquet and JSON.

The files hold exactly the values the page shows (before rounding for
display). Shares are fractions (0-1), times are hours, changes are percentage
points. Map layers are in WGS84 longitude/latitude (EPSG:4326): GeoJSON says so
(CRS84, RFC 7946) and GeoParquet carries the CRS in its metadata, so QGIS and
other GIS tools place them without asking.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from .data import STATE_NAMES

AREA_COLUMNS = (["level", "code", "name", "officers", "shifts", "duty_hours"]
                + [f"{s}_hours" for s in STATE_NAMES] + ["visible_share"]
                + [f"{s}_share" for s in STATE_NAMES if s != "on_patch"]
                + ["status", "previous_share", "change_points", "fixes", "unreliable_fixes",
                   "shifts_without_fixes"])
OFFICER_COLUMNS = (["officer", "team", "shifts", "duty_hours"] + [f"{s}_hours" for s in STATE_NAMES]
                   + ["visible_share", "no_signal_share", "status"])
SHIFT_COLUMNS = (["officer", "team", "kind", "shift_start", "shift_end", "duty_hours"]
                 + [f"{s}_hours" for s in STATE_NAMES]
                 + ["visible_share", "no_signal_share", "status", "fixes"])

#: Every file :func:`write_exports` writes, and what it holds.
FILES = {
    "report.json": "every figure of the report (what the page shows), for automation",
    "headline.csv": "one row per ward and one for the whole scope: shares, hours, status, change",
    "teams.csv": "one row per team",
    "officers.csv": "one row per officer (pseudonyms unless --names)",
    "officer_shifts.csv": "one row per officer-shift",
    "trend.csv": "visible share per ISO week, for the scope and each ward",
    "hour_of_week.csv": "officer-hours on patch and average officers per local day and hour",
    "cells.csv": "officer-minutes on patch per H3 cell",
    "data_quality.csv": "the data-quality measures",
    "sources.csv": "the ingested files the fixes came from, with SHA-256",
    "wards.geojson": "ward polygons with their figures (EPSG:4326)",
    "cells.geojson": "H3 cell polygons with officer-minutes (EPSG:4326)",
    "stations.geojson": "station geofences shown on the map (EPSG:4326)",
    "wards.parquet": "the ward layer as GeoParquet",
    "cells.parquet": "the cell layer as GeoParquet",
}
#: Written only when the period's peak coverage has been measured (visibility coverage).
PEAK_FILES = {
    "peak_wards.csv": "per ward: peak hours, coverage, empty windows, longest uncovered stretch, "
                      "hotspot dosage and visits",
    "peak_hours.csv": "per ward, local day and hour: the share of peak time covered",
    "hotspots.csv": "per hotspot: dosage, visits (10-15 min ones apart), windows missed, longest gap",
}


def _csv(path: Path, columns, rows) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row.get(c) is None else row.get(c) for c in columns])
    return path


def write_exports(report, folder: str | Path) -> list[Path]:
    """Write every file of :data:`FILES` (and :data:`PEAK_FILES` when measured) into ``folder``."""
    d = report.data
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    with open(folder / "report.json", "w", encoding="utf-8") as fh:
        json.dump(d, fh, indent=1, default=str)
        fh.write("\n")
    written.append(folder / "report.json")
    area = [{"level": "ward", **w} for w in d["wards"]]
    area.append({"level": d["scope"]["level"], "code": d["scope"]["code"],
                 "name": d["scope"]["name"], **d["total"]})
    written.append(_csv(folder / "headline.csv", AREA_COLUMNS, area))
    written.append(_csv(folder / "teams.csv", ["team"] + AREA_COLUMNS[3:],
                        [{"team": t["code"], **t} for t in d["teams"]]))
    written.append(_csv(folder / "officers.csv", OFFICER_COLUMNS,
                        [{"officer": o["label"], **o} for o in d["officers"]]))
    written.append(_csv(folder / "officer_shifts.csv", SHIFT_COLUMNS, d["officer_shifts"]))
    trend = []
    for wk in d["trend"]:
        trend.append({"week": wk["week"], "monday": wk["monday"], "level": d["scope"]["level"],
                      "code": d["scope"]["code"], "visible_share": wk["visible_share"],
                      "shifts": wk["shifts"], "duty_hours": wk["duty_hours"],
                      "change_points": wk["change_points"]})
        for code, share in wk["wards"].items():
            trend.append({"week": wk["week"], "monday": wk["monday"], "level": "ward",
                          "code": code, "visible_share": share})
    written.append(_csv(folder / "trend.csv", ["week", "monday", "level", "code", "visible_share",
                                                "shifts", "duty_hours", "change_points"], trend))
    how = d["hour_of_week"]
    written.append(_csv(folder / "hour_of_week.csv", ["day", "hour", "officer_hours", "mean_officers"],
                        [{"day": how["days"][i], "hour": h, "officer_hours": how["officer_hours"][i][h],
                          "mean_officers": how["mean_officers"][i][h]}
                         for i in range(7) for h in range(24)]))
    written.append(_csv(folder / "cells.csv", ["cell", "officer_minutes", "wards"], d["cells"]))
    dq = d["data_quality"]
    written.append(_csv(folder / "data_quality.csv", ["measure", "value"],
                        [{"measure": k, "value": v} for k, v in dq.items() if k != "rejected_by_reason"]
                        + [{"measure": f"rejected_{r['reason']}", "value": r["rows"]}
                           for r in dq["rejected_by_reason"]]))
    written.append(_csv(folder / "sources.csv",
                        ["source_id", "path", "format", "sha256", "rows_read", "rows_accepted",
                         "rows_rejected", "rows_duplicate", "rows_unassigned", "ingested_at"],
                        d["provenance"]["sources"]))
    pk = d.get("peaks") or {}
    if pk.get("available"):
        written.append(_csv(folder / "peak_wards.csv", list(pk["wards"][0]) if pk["wards"] else
                            ["code"], pk["wards"]))
        written.append(_csv(folder / "peak_hours.csv", ["ward_code", "day", "hour", "covered_share"],
                            [{"ward_code": code, "day": d["hour_of_week"]["days"][i], "hour": h,
                              "covered_share": grid[i][h]}
                             for code, grid in pk["hours"].items() for i in range(7)
                             for h in range(24) if grid[i][h] is not None]))
        written.append(_csv(folder / "hotspots.csv", list(pk["hotspots"][0]) if pk["hotspots"]
                            else ["label"], pk["hotspots"]))
    for name, layer in (("wards", report.wards), ("cells", report.cells),
                        ("stations", report.stations)):
        written.append(_geojson(layer, folder / f"{name}.geojson"))
    for name, layer in (("wards", report.wards), ("cells", report.cells)):
        layer.to_parquet(folder / f"{name}.parquet")
        written.append(folder / f"{name}.parquet")
    return written


def _geojson(layer, path: Path) -> Path:
    path.unlink(missing_ok=True)  # the GeoJSON driver will not overwrite
    if len(layer):
        layer.to_file(path, driver="GeoJSON")
    else:  # an empty layer still opens, with its CRS
        path.write_text(json.dumps({
            "type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
            "features": []}) + "\n", encoding="utf-8")
    return path
