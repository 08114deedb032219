"""Peak-period coverage and hotspot dosage on a big week, against SQL and pandas.

    python benchmarks/bench_coverage.py --copies 38     # about 10M fixes
    python benchmarks/bench_coverage.py --copies 4      # about 1M

Builds the sample borough's week with `visibility demo` (260,000 fixes, 30
officers), then copies its analysed fixes `--copies` more times as further
officers of the same teams (so wards have many officers at once and their
on-patch time overlaps heavily), and loads the 20 cells with the most presence
as hotspots. Then, on the same store:

1. visibility: `measure()` -- presence coverage per ward and team with the
   7 x 24 matrix, hotspot dosage, visits and revisit gaps, abstraction and
   turnover -- one warm-up run (numba cache), then the best of 3;
2. DuckDB SQL, exact: the union of each ward's on-patch intervals with window
   functions (a running max of ends, islands where a start passes it), then
   joined to the same peak windows -- what a SQL user would write;
3. pandas, sampled: the minutes with any on-patch fix of the ward, counted
   inside the peak windows -- the usual shortcut, which counts a minute with a
   second of presence as a whole one.

Prints the time of each, the ratio, and how far each peer's per-ward coverage is
from visibility's (SQL should agree to rounding; sampling should not).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import WORK, machine, peak_rss_gib  # noqa: E402

WEEK = ("2026-11-16", "2026-11-22")


def build(copies: int) -> Path:
    from visibility.demo import run_demo
    from visibility.hotspots import load_hotspots
    from visibility.store import Store

    folder = WORK / f"coverage-{copies}"
    db = folder / "demo.duckdb"
    if db.exists():
        return db
    run_demo(folder)
    with Store.open(db) as store:
        con = store.con
        k = f"range(1, {copies + 1}) r(k)"
        con.execute(f"""INSERT INTO track_runs SELECT * EXCLUDE (k) REPLACE (shift_id + k * 100000
                        AS shift_id) FROM track_runs, {k}""")
        for table in ("shifts", "shift_results"):
            con.execute(f"""INSERT INTO {table} SELECT * EXCLUDE (k) REPLACE (shift_id + k * 100000
                            AS shift_id, officer_id || '_' || k AS officer_id) FROM {table}, {k}""")
        con.execute(f"INSERT INTO officers SELECT officer_id || '_' || k, team, role FROM officers, {k}")
        con.execute(f"INSERT INTO officer_wards SELECT officer_id || '_' || k, ward_code "
                    f"FROM officer_wards, {k}")
        cells = con.execute("SELECT cell FROM presence GROUP BY cell ORDER BY sum(on_patch_us) DESC "
                            "LIMIT 20").fetchall()
        (folder / "hotspots.csv").write_text("cell\n" + "".join(f"{c:x}\n" for (c,) in cells))
        load_hotspots(store, folder / "hotspots.csv")
    return db


def windows_table(con, run_id: int):
    return con.sql(f"SELECT ward_code, window_start, window_end FROM coverage_windows "
                   f"WHERE run_id = {run_id}").to_arrow_table()


SQL_UNION = """
WITH f AS (SELECT ward_code, greatest(own_from, $lo) AS s, least(own_to, $hi) AS e
           FROM track_runs WHERE state = 3 AND own_to > $lo AND own_from < $hi),
m AS (SELECT *, max(e) OVER (PARTITION BY ward_code ORDER BY s, e
                             ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach FROM f),
i AS (SELECT *, sum(CASE WHEN reach IS NULL OR s > reach THEN 1 ELSE 0 END)
                    OVER (PARTITION BY ward_code ORDER BY s, e) AS island FROM m),
u AS (SELECT ward_code, min(s) AS s, max(e) AS e FROM i GROUP BY ward_code, island)
SELECT w.ward_code, sum(epoch(least(u.e, w.window_end) - greatest(u.s, w.window_start)))
       / (SELECT sum(epoch(x.window_end - x.window_start)) FROM _win x
          WHERE x.ward_code = w.ward_code) AS coverage
FROM u JOIN _win w ON u.ward_code = w.ward_code AND u.s < w.window_end AND u.e > w.window_start
GROUP BY w.ward_code
"""


def run_sql(con, windows, lo, hi) -> dict:
    con.register("_win", windows)
    try:
        return dict(con.execute(SQL_UNION, {"lo": lo, "hi": hi}).fetchall())
    finally:
        con.unregister("_win")


def run_pandas(con, windows, lo, hi) -> dict:
    import pandas as pd

    fixes = con.execute("SELECT ward_code, epoch_us(own_from) AS s, epoch_us(own_to) AS e "
                        "FROM track_runs WHERE state = 3 AND own_to > ? AND own_from < ?",
                        [lo, hi]).df()
    first = fixes["s"] // 60_000_000
    last = (fixes["e"] - 1) // 60_000_000
    n = (last - first + 1).to_numpy()
    minutes = pd.DataFrame({"ward_code": np.repeat(fixes["ward_code"].to_numpy(), n),
                            "minute": np.repeat(first.to_numpy(), n)
                            + np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)})
    minutes = minutes.drop_duplicates()
    w = windows.to_pandas()
    w["m0"] = w["window_start"].astype("int64") // 60_000_000
    w["m1"] = w["window_end"].astype("int64") // 60_000_000
    out = {}
    for ward, group in w.groupby("ward_code"):
        mine = minutes["minute"][minutes["ward_code"] == ward].to_numpy()
        inside = np.zeros(len(mine), bool)
        for m0, m1 in zip(group["m0"], group["m1"]):
            inside |= (mine >= m0) & (mine < m1)
        out[ward] = inside.sum() / (group["m1"] - group["m0"]).sum()
    return out


def coverage_only(store, policy, first, last, span) -> dict:
    """visibility's presence coverage per ward alone, through the same library steps."""
    from visibility.coverage import on_patch_intervals, sorted_union
    from visibility.kernels import clip_to_windows
    from visibility.peaks import plan_peaks, ward_windows

    plan = plan_peaks(store.con, policy)
    ww = ward_windows(plan, first, last, policy.timezone, span.lo_us, span.hi_us)
    iv = on_patch_intervals(store.con, span, ww.wards)
    union = sorted_union(iv["ward"], iv["start_us"], iv["end_us"], len(ww.wards), span)
    pieces = clip_to_windows(union["group"], union["start_us"], union["end_us"], ww.ptr,
                             ww.start_us, ww.end_us)
    ward_of = ww.ward_of[pieces["window"]]
    covered = np.bincount(ward_of, pieces["end_us"] - pieces["start_us"], len(ww.wards))
    peak = np.bincount(ww.ward_of, ww.end_us - ww.start_us, len(ww.wards))
    return dict(zip(ww.wards, covered / peak))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=38, help="extra copies of the week's officers")
    args = parser.parse_args()
    from visibility.measures import make_span, measure
    from visibility.policy import Policy
    from visibility.store import Store

    print(machine())
    db = build(args.copies)
    policy = Policy()
    from datetime import date

    first, last = (date.fromisoformat(d) for d in WEEK)
    span = make_span(first, last, policy.timezone)
    with Store.open(db) as store:
        n_fixes, n_runs = store.con.execute(
            "SELECT sum(n_fixes), count(*) FROM track_runs").fetchall()[0]
        print(f"{n_fixes:,} fixes in {n_runs:,} track runs, {store.con.execute('SELECT count(*) FROM officers').fetchall()[0][0]}"
              " officers, one week, 16 wards, 20 hotspots")
        start = time.perf_counter()
        report = measure(store, policy, first, last)
        warm = time.perf_counter() - start
        times = []
        for _ in range(3):
            start = time.perf_counter()
            report = measure(store, policy, first, last)
            times.append(time.perf_counter() - start)
        cov_times = []
        for _ in range(3):
            start = time.perf_counter()
            alone = coverage_only(store, policy, first, last, span)
            cov_times.append(time.perf_counter() - start)
        ours = dict(store.con.execute("SELECT ward_code, coverage FROM coverage_wards WHERE run_id = ?",
                                      [report.run_id]).fetchall())
        windows = windows_table(store.con, report.run_id)
        start = time.perf_counter()
        sql = run_sql(store.con, windows, span.lo, span.hi)
        t_sql = time.perf_counter() - start
        start = time.perf_counter()
        sampled = run_pandas(store.con, windows, span.lo, span.hi)
        t_pandas = time.perf_counter() - start
    best, cov = min(times), min(cov_times)
    assert max(abs(alone[w] - c) for w, c in ours.items()) < 1e-12
    print(f"visibility measure(), everything: {best:.2f} s ({n_fixes / best / 1e6:.1f}M fixes/s; "
          f"first run {warm:.2f} s); {report.visits} visits; coverage "
          f"{report.covered_s / report.peak_s:.1%}")
    print(f"visibility, ward coverage only: {cov:.2f} s")
    print(f"DuckDB SQL union, ward coverage only: {t_sql:.2f} s; visibility {t_sql / cov:.1f}x; "
          f"largest difference {max(abs(sql.get(w, 0) - c) for w, c in ours.items()):.2e}")
    print(f"pandas minute sampling, ward coverage only: {t_pandas:.2f} s; visibility "
          f"{t_pandas / cov:.1f}x; largest difference "
          f"{max(abs(sampled.get(w, 0) - c) for w, c in ours.items()) * 100:.1f} percentage points")
    print(f"peak RSS {peak_rss_gib():.2f} GiB")


if __name__ == "__main__":
    main()
