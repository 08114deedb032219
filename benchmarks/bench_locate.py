"""Ward of each point: visibility's WardIndex against geopandas sjoin and DuckDB spatial.

    python benchmarks/bench_locate.py --points 1000000
    python benchmarks/bench_locate.py --points 10000000 --near-edges 0.1

Random points over the Greater London box (seeded; ``--near-edges`` puts that
share of them within metres of ward edges, a tenth of those on the edges),
the 649 real London wards, and in one run, each tool in its own process so
its peak memory can be read:

1. visibility: ``WardIndex.from_store(...).locate(lat, lon)`` on a store made
   with ``load_wards``; one warm-up call, then the best of 3;
2. geopandas: points from ``points_from_xy``, ``sjoin(..., predicate="intersects")``
   with the wards, and the lowest ward code kept where a point touches two;
   best of 3 (single-threaded);
3. DuckDB with the spatial extension: ``JOIN wards ON ST_Intersects(geom,
   ST_Point(lon, lat))`` (the SPATIAL_JOIN operator), ``min(ward_code)`` per
   point, into a table; best of 3, after loading the Parquet files into memory. The extension does not ship with the project's duckdb; the PyPI
   package duckdb-extension-spatial loads offline by path, only with its
   matching duckdb (1.5.5), so both go into benchmarks/_venv_duckdb_spatial/,
   made by this script, never into the project.

Points and wards are handed over as Parquet under benchmarks/_work/locate/.
Prints points per second, the ratio (visibility's rate / the tool's rate),
peak memory, and how far the three assignments agree; a point on an edge two
wards share belongs to the lower ward code in all three, so differences are
expected only for points on an edge to within rounding.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import LONDON, PEAK_GIB_SRC, WORK, london_wards, machine, peak_gib  # noqa: E402
from peers import PeerUnavailable, available_versions, peer_python, ready_peer, run_child  # noqa: E402
from points import london_points, near_edge_points  # noqa: E402
from revision import revision  # noqa: E402

DUCKDB_VERSION = "1.5.5"  # the duckdb that duckdb-extension-spatial's wheels are built for
REPEATS = 3
M_PER_DEG = 111_320.0

DUCKDB_CHILD = r"""
import json, sys, time
from pathlib import Path
import duckdb
import duckdb_extension_spatial

folder, repeats = Path(sys.argv[1]), int(sys.argv[2])
ext = next(Path(duckdb_extension_spatial.__file__).parent.glob("extensions/*/spatial.duckdb_extension"))
con = duckdb.connect()
con.execute(f"LOAD '{ext}'")
start = time.perf_counter()
con.execute("CREATE TABLE wards AS SELECT ward_code, ST_GeomFromWKB(wkb) AS geom FROM read_parquet(?)",
            [str(folder / "wards.parquet")])
con.execute("CREATE TABLE points AS SELECT id, lat, lon FROM read_parquet(?)", [str(folder / "points.parquet")])
load_s = time.perf_counter() - start
query = ("SELECT p.id, min(w.ward_code) AS ward_code FROM points p "
         "JOIN wards w ON ST_Intersects(w.geom, ST_Point(p.lon, p.lat)) GROUP BY p.id")
plan = "\n".join(row[1] for row in con.execute("EXPLAIN " + query).fetchall())
seconds = float("inf")
for _ in range(repeats):
    con.execute("DROP TABLE IF EXISTS joined")
    start = time.perf_counter()
    con.execute("CREATE TABLE joined AS " + query)
    seconds = min(seconds, time.perf_counter() - start)
out = folder / "wards_duckdb.parquet"
con.execute(f"COPY joined TO '{out}' (FORMAT parquet)")
ext_version = con.execute(
    "SELECT extension_version FROM duckdb_extensions() WHERE extension_name = 'spatial'").fetchone()[0]
threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
print(json.dumps({"seconds": seconds, "load_s": load_s, "spatial_join": "SPATIAL_JOIN" in plan,
                  "threads": threads,
                  "duckdb": duckdb.__version__, "spatial": ext_version,
                  "rss_gib": peak_gib()}))
"""


def _peak_gib() -> float:
    return peak_gib()


def _read_points(folder: Path):
    import pyarrow.parquet as pq

    table = pq.read_table(folder / "points.parquet", columns=["lat", "lon"])
    return table["lat"].to_numpy(), table["lon"].to_numpy()


def child_visibility(folder: Path) -> dict:
    """Runs in a child process: WardIndex.locate, warm, best of REPEATS."""
    import numba

    from visibility.locate import WardIndex
    from visibility.store import Store

    lat, lon = _read_points(folder)
    start = time.perf_counter()
    with Store.open(folder / "wards.duckdb", read_only=True) as store:
        index = WardIndex.from_store(store)
    index_s = time.perf_counter() - start
    start = time.perf_counter()
    index.locate(lat[:100_000], lon[:100_000])
    warm_s = time.perf_counter() - start
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        ward = index.locate(lat, lon)
        best = min(best, time.perf_counter() - start)
    np.save(folder / "wards_visibility.npy", ward.astype(np.int32))
    return {"seconds": best, "index_s": index_s, "warm_s": warm_s, "threads": numba.get_num_threads(),
            "rss_gib": _peak_gib()}


def child_geopandas(folder: Path) -> dict:
    """Runs in a child process: points_from_xy + sjoin(intersects), lowest ward code per point."""
    import geopandas as gpd
    import pandas as pd
    import shapely

    table = pd.read_parquet(folder / "wards.parquet")  # sorted by ward code: row number = ward index
    wards = gpd.GeoDataFrame({"ward_code": table["ward_code"]}, geometry=shapely.from_wkb(table["wkb"]),
                             crs="EPSG:4326")
    lat, lon = _read_points(folder)
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        points = gpd.GeoDataFrame(geometry=gpd.points_from_xy(lon, lat), crs="EPSG:4326")
        joined = gpd.sjoin(points, wards, how="left", predicate="intersects")
        ward = joined["index_right"].groupby(level=0).min().reindex(points.index)
        ward = ward.fillna(-1).to_numpy(np.int32)
        best = min(best, time.perf_counter() - start)
        multi = len(joined) - len(points)
        del points, joined
    np.save(folder / "wards_geopandas.npy", ward)
    return {"seconds": best, "threads": 1, "rss_gib": _peak_gib(), "version": gpd.__version__,
            "multi": multi}


def run_duckdb(folder: Path, codes: np.ndarray, n: int) -> tuple[dict, np.ndarray]:
    import pyarrow.parquet as pq

    probe = f"import duckdb, duckdb_extension_spatial; assert duckdb.__version__ == {DUCKDB_VERSION!r}"
    python = ready_peer("duckdb_spatial", probe)
    if python is None:
        versions = available_versions("duckdb-extension-spatial")
        if DUCKDB_VERSION not in versions:
            raise PeerUnavailable(f"duckdb-extension-spatial has no {DUCKDB_VERSION} (offered: "
                                  f"{', '.join(versions[:6])}, ...)")
        python = peer_python(
            "duckdb_spatial", [f"duckdb=={DUCKDB_VERSION}", f"duckdb-extension-spatial=={DUCKDB_VERSION}"],
            probe)
    out = run_child(python, ["-c", PEAK_GIB_SRC + DUCKDB_CHILD, str(folder), str(REPEATS)])
    table = pq.read_table(folder / "wards_duckdb.parquet")
    ward = np.full(n, -1, np.int32)
    ward[table["id"].to_numpy()] = np.searchsorted(
        codes, np.asarray(table["ward_code"].to_numpy(zero_copy_only=False), dtype=str))
    return out, ward


def prepare(folder: Path, n: int, near_share: float, seed: int):
    """Points, the wards store and the Parquet hand-over files; returns (lat, lon, ward codes, wards)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    import shapely

    from visibility.boundaries import load_wards
    from visibility.store import Store

    wards = london_wards().sort_values("ward_code", ignore_index=True)
    n_edge = int(round(n * near_share))
    lat, lon = london_points(n - n_edge, seed)
    if n_edge:
        e_lat, e_lon = near_edge_points(n_edge, wards.geometry.values, seed + 1)
        order = np.random.default_rng(seed + 2).permutation(n)
        lat, lon = np.concatenate([lat, e_lat])[order], np.concatenate([lon, e_lon])[order]
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*"):
        old.unlink()
    with Store.create(folder / "wards.duckdb") as store:
        start = time.perf_counter()
        report = load_wards(store, sorted(LONDON.glob("*.geojson")), "WD13CD", "WD13NM",
                            borough_code="LDN", borough_name="London")
        print(f"store: {report.loaded} wards loaded, {report.cells:,} H3 cells, "
              f"{len(report.repaired)} repaired, in {time.perf_counter() - start:.1f} s")
    pq.write_table(pa.table({"ward_code": wards["ward_code"].to_numpy(),
                             "wkb": shapely.to_wkb(wards.geometry.values)}), folder / "wards.parquet")
    pq.write_table(pa.table({"id": np.arange(n, dtype=np.int64), "lat": lat, "lon": lon}),
                   folder / "points.parquet", compression="zstd")
    return lat, lon, wards["ward_code"].to_numpy(dtype=str), wards


def edge_distance_m(lat, lon, wards) -> np.ndarray:
    """Rough distance in metres (1 degree = 111.32 km) from each point to the nearest ward edge."""
    import shapely

    edges = shapely.boundary(wards.geometry.values)
    tree = shapely.STRtree(edges)
    _, dist = tree.query_nearest(shapely.points(lon, lat), return_distance=True, all_matches=False)
    return dist * M_PER_DEG


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--points", type=int, default=10_000_000, help="how many points")
    parser.add_argument("--near-edges", type=float, default=0.0, metavar="SHARE",
                        help="share of the points put near ward edges (0-1)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--skip-geopandas", action="store_true")
    parser.add_argument("--skip-duckdb", action="store_true", help="do not make or use the DuckDB spatial venv")
    parser.add_argument("--child", choices=["visibility", "geopandas"], help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run = child_visibility if args.child == "visibility" else child_geopandas
        print(json.dumps(run(args.folder)))
        return
    if not 0 <= args.near_edges <= 1:
        parser.error("--near-edges must be between 0 and 1")

    n = args.points
    folder = WORK / "locate"
    print(f"machine: {machine()}")
    print(f"visibility: {revision()}")
    start = time.perf_counter()
    lat, lon, codes, wards = prepare(folder, n, args.near_edges, args.seed)
    print(f"{n:,} points over Greater London (seed {args.seed}), {args.near_edges:.0%} near ward edges; "
          f"prepared in {time.perf_counter() - start:.1f} s\n")

    script = str(Path(__file__).resolve())
    results: dict[str, dict] = {}
    assigned: dict[str, np.ndarray] = {}

    ours = run_child(sys.executable, [script, "--child", "visibility", "--folder", str(folder)])
    print(f"visibility: index from store {ours['index_s']:.2f} s, warm-up {ours['warm_s']:.2f} s, "
          f"locate {ours['seconds']:.3f} s (best of {REPEATS})")
    results["visibility WardIndex.locate"] = ours
    assigned["visibility"] = np.load(folder / "wards_visibility.npy")

    if args.skip_geopandas:
        print("geopandas: skipped (--skip-geopandas)")
    else:
        gpd_out = run_child(sys.executable, [script, "--child", "geopandas", "--folder", str(folder)])
        print(f"geopandas {gpd_out['version']}: sjoin {gpd_out['seconds']:.2f} s (best of {REPEATS}); "
              f"{gpd_out['multi']:,} extra matches (points touching two or more wards)")
        results["geopandas sjoin (intersects)"] = gpd_out
        assigned["geopandas"] = np.load(folder / "wards_geopandas.npy")

    if args.skip_duckdb:
        print("DuckDB spatial: skipped (--skip-duckdb)")
    else:
        try:
            db_out, ward = run_duckdb(folder, codes, n)
        except PeerUnavailable as exc:
            print(f"DuckDB spatial: not measured: {exc}")
        else:
            operator = "SPATIAL_JOIN" if db_out["spatial_join"] else "no SPATIAL_JOIN in the plan"
            print(f"DuckDB {db_out['duckdb']} + spatial {db_out['spatial']}: load {db_out['load_s']:.2f} s, "
                  f"join {db_out['seconds']:.2f} s (best of {REPEATS}, {operator})")
            results[f"DuckDB {db_out['duckdb']} spatial ST_Intersects join"] = db_out
            assigned["DuckDB"] = ward

    print(f"\nagreement over {n:,} points ({np.count_nonzero(assigned['visibility'] >= 0):,} inside a ward "
          f"by visibility):")
    names = list(assigned)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            differ = np.flatnonzero(assigned[a] != assigned[b])
            line = f"  {a} vs {b}: {1 - len(differ) / n:.6%} same, {len(differ):,} differ"
            if len(differ):
                dist = edge_distance_m(lat[differ[:100_000]], lon[differ[:100_000]], wards)
                line += f" (all within {dist.max():.2g} m of a ward edge)"
            print(line)

    ours_rate = n / ours["seconds"]
    print(f"\n{'tool':<40} {'seconds':>8} {'points/s':>13} {'ours/tool':>10} {'peak RSS':>9}  threads")
    for name, out in results.items():
        rate = n / out["seconds"]
        print(f"{name:<40} {out['seconds']:>8.2f} {rate:>13,.0f} {ours_rate / rate:>9.1f}x "
              f"{out['rss_gib']:>7.2f} GiB  {out.get('threads', '')}")
    print("(peak RSS: the whole child process, including the points it read)")


if __name__ == "__main__":
    main()
