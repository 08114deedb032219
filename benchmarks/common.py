"""Shared set-up for the benchmarks: generated fixes on the real London wards.

Not part of the package. Run from the repository root with the project
installed; the London ward boundaries are read from ../shared/data/.
"""

from __future__ import annotations

import datetime as dt
import inspect
import os
import platform
import time
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT.parent / "shared" / "data" / "london_wards_2013"
WORK = ROOT / "benchmarks" / "_work"
WEEK_START = dt.date(2026, 11, 16)
FIXES_PER_OFFICER_WEEK = 9_000  # about 5 shifts of 8 h at one fix per 15-30 s


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def peak_gib() -> float:
    """This process's peak resident memory so far, GiB (VmHWM). Unlike ``ru_maxrss``, which
    keeps the parent's peak across fork and exec, it is the child's own."""
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM")) / 2**20


#: ``peak_gib`` as source, for child scripts run with ``python -c``.
PEAK_GIB_SRC = "\n".join(inspect.getsource(peak_gib).splitlines()) + "\n"
peak_rss_gib = peak_gib


@contextmanager
def timed(results: dict, name: str):
    start = time.perf_counter()
    yield
    results[name] = time.perf_counter() - start


def london_wards():
    """The 649 real London wards (2013) with borough codes from the file names."""
    import geopandas as gpd
    import pandas as pd

    if not LONDON.exists():
        raise SystemExit(f"London ward boundaries not found at {LONDON}")
    frames = []
    for path in sorted(LONDON.glob("*.geojson")):
        frame = gpd.read_file(path)
        frame["borough_code"] = path.stem
        frames.append(frame)
    wards = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326")
    wards = wards.rename(columns={"WD13CD": "ward_code", "WD13NM": "ward_name"})
    return wards[["ward_code", "ward_name", "borough_code", "geometry"]]


def borough_stations(wards):
    """One point station per borough, at a point inside its largest ward."""
    import geopandas as gpd

    rows = []
    for code, group in wards.groupby("borough_code"):
        biggest = group.to_crs("EPSG:27700").area.idxmax()
        point = wards.geometry[biggest].representative_point()
        rows.append({"station_id": f"ST-{code}", "name": f"{code} station", "radius_m": 50.0,
                     "geometry": point})
    return gpd.GeoDataFrame(rows, crs="EPSG:4326")


def generate(n_fixes: int, seed: int = 1):
    """Wards, stations, roster and about ``n_fixes`` fixes spread over all of London.

    Writes (and reuses) files under benchmarks/_work/<n_fixes>/.
    """
    import geopandas as gpd
    import pandas as pd
    import pyarrow.parquet as pq

    from visibility.synth.roster import make_roster
    from visibility.synth.tracks import generate_tracks

    folder = WORK / str(n_fixes)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {k: folder / v for k, v in (("wards", "wards.geojson"), ("stations", "stations.geojson"),
                                        ("officers", "officers.csv"), ("shifts", "shifts.csv"),
                                        ("fixes", "fixes.parquet"))}
    if all(p.exists() for p in paths.values()):
        return paths
    wards = london_wards()
    stations = borough_stations(wards)
    n_officers = max(len(wards) // 4, n_fixes // FIXES_PER_OFFICER_WEEK)
    n_teams = min(len(wards) // 2, max(1, n_officers // 6))
    officers, shifts = make_roster(wards, WEEK_START, n_teams, n_officers, seed)
    fixes = generate_tracks(wards, stations, officers, shifts, seed, interval_s=15.0)
    wards.to_file(paths["wards"], driver="GeoJSON")
    stations.to_file(paths["stations"], driver="GeoJSON")
    officers.to_csv(paths["officers"], index=False)
    out = shifts.copy()
    out["start"] = pd.to_datetime(out["start"]).map(lambda t: t.isoformat())
    out["end"] = pd.to_datetime(out["end"]).map(lambda t: t.isoformat())
    out.to_csv(paths["shifts"], index=False)
    pq.write_table(fixes, paths["fixes"], compression="zstd")
    del gpd
    return paths
