"""End to end: ingest (Parquet) and analyse, against a plain geopandas + pandas job.

    python benchmarks/bench_pipeline.py --fixes 1000000
    python benchmarks/bench_pipeline.py --fixes 10000000

Generates about N fixes for officers spread over the 649 real London wards
(cached under benchmarks/_work/), then in one run:

1. visibility: ingest the Parquet file into a fresh store, analyse the week;
2. the baseline a geopandas user would write: read the Parquet with pandas,
   drop duplicates, attach fixes to shifts, `sjoin` with wards and station
   buffers, and the same ownership/speed/state rules in vectorised pandas;

and prints fixes per second per stage, the ratio, peak memory, and how far
the two agree on each officer-shift's on-patch seconds.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import generate, machine, peak_rss_gib, timed  # noqa: E402

HALF_GAP_S = 60.0
SPIKE_MPS = 200 / 3.6
TRANSIT_MPS = 25 / 3.6
ACC_LIMIT = 100.0
R = 6_371_008.8


def run_visibility(paths, folder: Path) -> tuple[dict, object]:
    from visibility.analyse import analyse
    from visibility.boundaries import load_stations, load_wards
    from visibility.ingest import ingest_file
    from visibility.roster import load_roster
    from visibility.store import Store

    db = folder / "bench.duckdb"
    db.unlink(missing_ok=True)
    times: dict = {}
    with Store.create(db) as store:
        with timed(times, "load wards + H3 index"):
            load_wards(store, [paths["wards"]], "ward_code", "ward_name",
                       borough_code_field="borough_code")
        load_stations(store, paths["stations"])
        load_roster(store, paths["officers"], paths["shifts"])
        with timed(times, "ingest parquet"):
            report = ingest_file(store, paths["fixes"])
        with timed(times, "analyse"):
            analysed = analyse(store)
        per_shift = store.con.execute(
            "SELECT officer_id, epoch(shift_start)::BIGINT AS start_s, on_patch_us / 1e6 AS on_patch_s "
            "FROM shift_results").df()
    times["rows"] = report.rows_read
    times["fixes analysed"] = analysed.fixes
    return times, per_shift


def haversine(lat1, lon1, lat2, lon2):
    p1, p2 = np.radians(lat1), np.radians(lat2)
    a = np.sin((p2 - p1) / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(np.radians(lon2 - lon1) / 2) ** 2
    return 2 * R * np.arcsin(np.minimum(1, np.sqrt(a)))


def run_geopandas(paths) -> tuple[dict, object]:
    """The same measure as a geopandas user would write it: sjoin plus pandas."""
    import geopandas as gpd
    import pandas as pd

    times: dict = {}
    with timed(times, "read + clean"):
        fixes = pd.read_parquet(paths["fixes"]).drop_duplicates()
        fixes = fixes.drop_duplicates(["officer_id", "timestamp"]).sort_values(["officer_id", "timestamp"])
        shifts = pd.read_csv(paths["shifts"])
        shifts["start"] = pd.to_datetime(shifts["start"], utc=True)
        shifts["end"] = pd.to_datetime(shifts["end"], utc=True)
        shifts = shifts.sort_values("start").reset_index(drop=True)
        shifts["shift_id"] = np.arange(len(shifts))
        fixes = pd.merge_asof(fixes.sort_values("timestamp"), shifts[["officer_id", "start", "end", "shift_id"]],
                              left_on="timestamp", right_on="start", by="officer_id")
        fixes = fixes[fixes["timestamp"] < fixes["end"]].sort_values(["shift_id", "timestamp"])
        fixes = fixes.reset_index(drop=True)
    with timed(times, "sjoin wards + stations"):
        wards = gpd.read_file(paths["wards"])
        stations = gpd.read_file(paths["stations"]).to_crs("EPSG:27700")
        stations["geometry"] = stations.buffer(stations["radius_m"])
        points = gpd.GeoDataFrame(fixes[["officer_id"]], geometry=gpd.points_from_xy(fixes["lon"], fixes["lat"]),
                                  crs="EPSG:4326")
        joined = gpd.sjoin(points, wards[["ward_code", "geometry"]], how="left", predicate="within")
        joined = joined[~joined.index.duplicated()]
        in_station = gpd.sjoin(points.to_crs("EPSG:27700"), stations[["geometry"]], how="left",
                               predicate="within")
        in_station = in_station[~in_station.index.duplicated()]["index_right"].notna().to_numpy()
        officers = pd.read_csv(paths["officers"])
        allowed = officers.assign(ward_code=officers["ward_code"].str.split(";")).explode("ward_code")
        key = set(zip(allowed["officer_id"], allowed["ward_code"]))
        on_patch = np.array([k in key for k in zip(fixes["officer_id"], joined["ward_code"])])
    with timed(times, "intervals + states"):
        t = fixes["timestamp"].astype("int64").to_numpy() / 1e6 if fixes["timestamp"].dtype.unit == "us" \
            else fixes["timestamp"].astype("int64").to_numpy() / 1e9
        lat, lon = fixes["lat"].to_numpy(), fixes["lon"].to_numpy()
        sid = fixes["shift_id"].to_numpy()
        start = fixes["start"].astype("int64").to_numpy() / (1e6 if fixes["start"].dtype.unit == "us" else 1e9)
        end = fixes["end"].astype("int64").to_numpy() / (1e6 if fixes["end"].dtype.unit == "us" else 1e9)
        first = np.r_[True, sid[1:] != sid[:-1]]
        last = np.r_[sid[1:] != sid[:-1], True]
        acc = fixes["accuracy_m"].to_numpy()
        bad = acc > ACC_LIMIT
        d = haversine(lat[:-1], lon[:-1], lat[1:], lon[1:])
        dt = np.diff(t)
        v = np.where(dt > 0, d / np.where(dt > 0, dt, 1), 0)
        v_in = np.r_[0, v]
        v_out = np.r_[v, 0]
        bad |= (~first) & (~last) & (v_in > SPIKE_MPS) & (v_out > SPIKE_MPS)
        # speed over reliable neighbours, window 1, not across gaps > max gap
        good = np.flatnonzero(~bad)
        gs = sid[good]
        gt = t[good]
        gd = haversine(lat[good][:-1], lon[good][:-1], lat[good][1:], lon[good][1:])
        gdt = np.diff(gt)
        link = (gs[1:] == gs[:-1]) & (gdt <= 2 * HALF_GAP_S)
        has_prev = np.r_[False, link]
        has_next = np.r_[link, False]
        dist = np.where(has_prev, np.r_[0, gd], 0) + np.where(has_next, np.r_[gd, 0], 0)
        t0 = np.where(has_prev, np.r_[gt[0], gt[:-1]], gt)
        t1 = np.where(has_next, np.r_[gt[1:], gt[-1]], gt)
        speed = np.zeros(len(t))
        speed[good] = np.where(t1 > t0, dist / np.where(t1 > t0, t1 - t0, 1), 0)
        state = np.select([bad, in_station, speed > TRANSIT_MPS, on_patch], [0, 1, 2, 3], 4)
        prev_mid = np.r_[start[0], (t[:-1] + t[1:]) / 2]
        next_mid = np.r_[(t[:-1] + t[1:]) / 2, end[-1]]
        left = np.maximum.reduce([np.where(first, start, prev_mid), t - HALF_GAP_S, start])
        right = np.minimum.reduce([np.where(last, end, next_mid), t + HALF_GAP_S, end])
        owned = np.maximum(right - left, 0)
        result = pd.DataFrame({"shift_id": sid, "on": np.where(state == 3, owned, 0)})
        per_shift = result.groupby("shift_id")["on"].sum()
        per_shift = shifts.set_index("shift_id").join(per_shift).fillna({"on": 0})
        per_shift = pd.DataFrame({"officer_id": per_shift["officer_id"],
                                  "start_s": per_shift["start"].astype("int64") // (10**6 if per_shift["start"].dtype.unit == "us" else 10**9),
                                  "on_patch_s": per_shift["on"]})
    times["fixes analysed"] = len(fixes)
    return times, per_shift


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixes", type=int, default=1_000_000, help="about how many fixes to generate")
    parser.add_argument("--skip-baseline", action="store_true", help="run visibility only")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    t0 = time.perf_counter()
    paths = generate(args.fixes)
    print(f"data: {paths['fixes']} (generated or reused in {time.perf_counter() - t0:.1f} s)")

    ours, ours_shifts = run_visibility(paths, paths["fixes"].parent)
    n = ours["rows"]
    print(f"\nvisibility ({ours['fixes analysed']:,} fixes in shifts, {n:,} rows ingested)")
    for stage in ("load wards + H3 index", "ingest parquet", "analyse"):
        rate = "" if stage.startswith("load") else f"  {n / ours[stage] / 1e6:6.2f} M fixes/s"
        print(f"  {stage:<24} {ours[stage]:7.2f} s{rate}")
    ours_job = ours["ingest parquet"] + ours["analyse"]
    print(f"  {'ingest + analyse':<24} {ours_job:7.2f} s  {n / ours_job / 1e6:6.2f} M fixes/s")
    print(f"  peak RSS so far {peak_rss_gib():.2f} GiB")
    if args.skip_baseline:
        return

    base, base_shifts = run_geopandas(paths)
    print("\ngeopandas sjoin + pandas (same method, vectorised)")
    for stage in ("read + clean", "sjoin wards + stations", "intervals + states"):
        print(f"  {stage:<24} {base[stage]:7.2f} s")
    base_job = sum(base[s] for s in ("read + clean", "sjoin wards + stations", "intervals + states"))
    print(f"  {'whole job':<24} {base_job:7.2f} s  {n / base_job / 1e6:6.2f} M fixes/s")
    print(f"  peak RSS (whole process) {peak_rss_gib():.2f} GiB")
    print(f"\nratio (visibility ingest + analyse vs baseline): {base_job / ours_job:.1f}x faster")

    merged = ours_shifts.merge(base_shifts, on=["officer_id", "start_s"], suffixes=("_ours", "_base"))
    diff = (merged["on_patch_s_ours"] - merged["on_patch_s_base"]).abs()
    total_ours, total_base = merged["on_patch_s_ours"].sum(), merged["on_patch_s_base"].sum()
    print(f"agreement over {len(merged):,} officer-shifts: {(diff <= 1).mean():.2%} within 1 s, "
          f"max difference {diff.max():.1f} s, total on-patch {total_ours / 3600:,.1f} h vs "
          f"{total_base / 3600:,.1f} h ({abs(total_ours - total_base) / max(total_base, 1):.4%} apart)")


if __name__ == "__main__":
    main()
