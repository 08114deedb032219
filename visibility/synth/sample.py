"""Write the committed sample files: the Northbrook borough and its week 2026-W47.

``write_sample`` regenerates, byte for byte, every file in ``boundaries/`` and
``sample_tracks/`` that the project ships (apart from the READMEs), from one
seed; ``sample_tracks/generate.py`` calls it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from shapely.geometry import mapping

from visibility.synth.borough import make_borough
from visibility.synth.roster import LONDON, make_roster
from visibility.synth.tracks import generate_tracks

WEEK_START = dt.date(2026, 11, 16)  # Monday of ISO week 2026-W47
WEEK_LABEL = "2026-W47"
N_TEAMS = 5
N_OFFICERS = 30

WARDS_FILE = "sample_wards.geojson"
STATIONS_FILE = "sample_stations.geojson"
OFFICERS_FILE = "officers.csv"
SHIFTS_FILE = "shifts.csv"
PARQUET_FILE = f"fixes_{WEEK_LABEL}.parquet"
CSV_FILE = f"fixes_{WEEK_START.isoformat()}.csv"
CSV_HEADER = ("officer", "time", "latitude", "longitude", "accuracy_m")

# Deliberately bad rows in the Monday CSV: (line number in the file, the header
# being line 1; the field spoiled; the text put there). Each is a copy of the
# row before it with one field spoiled, inserted as an extra row.
BAD_ROWS = (
    (120, "time", "2026-11-16T25:07:13Z"),
    (2500, "latitude", "95.000000"),
    (5000, "officer", ""),
    (7500, "longitude", "-0.05O123"),
    (10000, "latitude,longitude", "0.0,0.0"),
    (12500, "time", "yesterday"),
    (15000, "latitude", "95.123456"),
    (17500, "officer", ""),
    (20000, "longitude", "W0.051234"),
    (22500, "latitude,longitude", "0,0"),
)


def write_sample(boundaries_dir, tracks_dir, seed: int = 2026) -> dict[str, int]:
    """Write all sample files; return {file name: data rows (features for GeoJSON)}."""
    boundaries_dir, tracks_dir = Path(boundaries_dir), Path(tracks_dir)
    boundaries_dir.mkdir(parents=True, exist_ok=True)
    tracks_dir.mkdir(parents=True, exist_ok=True)
    wards, stations = make_borough(seed)
    officers, shifts = make_roster(wards, WEEK_START, N_TEAMS, N_OFFICERS, seed)
    table = generate_tracks(wards, stations, officers, shifts, seed, with_shift_index=True)

    write_geojson(wards, boundaries_dir / WARDS_FILE)
    write_geojson(stations, boundaries_dir / STATIONS_FILE)
    write_officers_csv(officers, tracks_dir / OFFICERS_FILE)
    write_shifts_csv(shifts, tracks_dir / SHIFTS_FILE)

    local_day = pd.to_datetime(shifts["start"], utc=True).dt.tz_convert(LONDON).dt.date.to_numpy()
    monday_shifts = np.flatnonzero(local_day == WEEK_START).astype(np.int32)
    on_monday = pc.is_in(table["shift_index"], value_set=pa.array(monday_shifts, type=pa.int32()))
    monday = table.filter(on_monday).drop_columns(["shift_index"])
    rest = table.filter(pc.invert(on_monday)).drop_columns(["shift_index"])
    pq.write_table(rest, tracks_dir / PARQUET_FILE, compression="zstd", compression_level=19)
    n_csv = write_fixes_csv(monday, tracks_dir / CSV_FILE)
    return {
        WARDS_FILE: len(wards),
        STATIONS_FILE: len(stations),
        OFFICERS_FILE: len(officers),
        SHIFTS_FILE: len(shifts),
        PARQUET_FILE: rest.num_rows,
        CSV_FILE: n_csv,
    }


def write_geojson(gdf: gpd.GeoDataFrame, path: Path) -> None:
    """RFC 7946 GeoJSON, one feature per line, coordinates rounded to 6 decimals."""
    if gdf.crs is None or gdf.crs.to_epsg() != 4326:
        raise ValueError("GeoJSON (RFC 7946) needs EPSG:4326 coordinates")
    props = [c for c in gdf.columns if c != gdf.geometry.name]
    lines = []
    for row, geom in zip(gdf[props].itertuples(index=False), gdf.geometry):
        feature = {
            "type": "Feature",
            "properties": {k: _json_value(v) for k, v in zip(props, row)},
            "geometry": _round_coords(mapping(geom)),
        }
        lines.append(json.dumps(feature, separators=(",", ":"), ensure_ascii=False))
    text = '{"type":"FeatureCollection","features":[\n' + ",\n".join(lines) + "\n]}\n"
    path.write_text(text, encoding="utf-8")


def _json_value(v):
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return None
        return int(v) if float(v).is_integer() else float(v)
    if isinstance(v, np.integer):
        return int(v)
    return v


def _round_coords(geo: dict) -> dict:
    def walk(c):
        if isinstance(c[0], (int, float)):
            return [round(float(v), 6) for v in c]
        return [walk(x) for x in c]

    return {"type": geo["type"], "coordinates": walk(geo["coordinates"])}


def write_officers_csv(officers: pd.DataFrame, path: Path) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["officer_id", "team", "ward_code", "role"])
        w.writerows(officers[["officer_id", "team", "ward_code", "role"]].itertuples(index=False))


def write_shifts_csv(shifts: pd.DataFrame, path: Path) -> None:
    start = pd.to_datetime(shifts["start"], utc=True).dt.tz_convert(LONDON)
    end = pd.to_datetime(shifts["end"], utc=True).dt.tz_convert(LONDON)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["officer_id", "start", "end", "kind", "reason"])
        for row in zip(shifts["officer_id"], start, end, shifts["kind"], shifts["reason"]):
            w.writerow([row[0], row[1].isoformat(), row[2].isoformat(), row[3], row[4]])


def write_fixes_csv(fixes: pa.Table, path: Path) -> int:
    """The Monday CSV with its synonym header and the BAD_ROWS spliced in; returns data rows."""
    seconds = fixes["timestamp"].cast(pa.timestamp("s", tz="UTC")).cast(pa.int64()).to_numpy()
    times = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    rows = [
        [o, f"{t}Z", f"{la:.6f}", f"{lo:.6f}", f"{a:.1f}"]
        for o, t, la, lo, a in zip(
            fixes["officer_id"].to_pylist(),
            times.tolist(),
            fixes["lat"].to_numpy().tolist(),
            fixes["lon"].to_numpy().tolist(),
            fixes["accuracy_m"].to_numpy().tolist(),
        )
    ]
    field = {name: i for i, name in enumerate(CSV_HEADER)}
    for line, spoiled, text in BAD_ROWS:  # line numbers ascend, so earlier inserts hold
        at = line - 2  # 0-based data row index once inserted
        if at < 1 or at > len(rows):
            raise ValueError(f"the Monday sample has too few rows for a bad row at line {line}")
        bad = list(rows[at - 1])
        for name, value in zip(spoiled.split(","), text.split(",") if "," in spoiled else [text]):
            bad[field[name]] = value
        rows.insert(at, bad)
    with open(path, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(CSV_HEADER)
        w.writerows(rows)
    return len(rows)
