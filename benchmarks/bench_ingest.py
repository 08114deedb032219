"""Ingest: visibility (CSV and Parquet, validated and reconciled) against pandas + DuckDB.

    python benchmarks/bench_ingest.py --fixes 10000000

Uses the fixes generated for bench_pipeline.py (benchmarks/_work/<N>/), writes a
CSV copy once, and in one run times, each in its own child process so peak
memory is its own:

1. visibility `ingest_file` of the CSV and of the Parquet into fresh stores
   (parsing, validation, duplicates, rejects, reconciliation, all in DuckDB);
2. the plain baseline: pandas `read_csv` / `read_parquet`, then the frame
   appended to a DuckDB table (no validation at all).

Prints rows/second, peak memory and the ratio.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import PEAK_GIB_SRC, generate, machine  # noqa: E402

CHILD = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
tool, path, db = sys.argv[1:4]
Path(db).unlink(missing_ok=True)
t0 = time.perf_counter()
if tool == "visibility":
    from visibility.ingest import ingest_file
    from visibility.store import Store
    with Store.create(db) as store:
        rows = ingest_file(store, path).rows_read
else:
    import duckdb, pandas as pd
    frame = pd.read_csv(path) if path.endswith(".csv") else pd.read_parquet(path)
    con = duckdb.connect(db)
    con.execute("CREATE TABLE pings AS SELECT * FROM frame")
    rows = len(frame)
    con.close()
print(json.dumps({{"rows": rows, "seconds": time.perf_counter() - t0,
                  "rss_gib": peak_gib()}}))
"""


def child(tool: str, path: Path, db: Path) -> dict:
    root = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-c", PEAK_GIB_SRC + CHILD.format(root=root), tool, str(path), str(db)],
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fixes", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    paths = generate(args.fixes)
    parquet = paths["fixes"]
    csv = parquet.with_suffix(".csv")
    if not csv.exists():
        import duckdb

        duckdb.execute(f"COPY (SELECT officer_id, strftime(timestamp AT TIME ZONE 'UTC', "
                       f"'%Y-%m-%dT%H:%M:%SZ') AS timestamp, lat, lon, accuracy_m FROM '{parquet}') "
                       f"TO '{csv}' (HEADER)")
    work = parquet.parent
    print(f"{'source':<8} {'tool':<34} {'rows':>11} {'seconds':>8} {'rows/s':>12} {'peak RSS':>9}")
    for source in (csv, parquet):
        kind = source.suffix.lstrip(".")
        ours = child("visibility", source, work / "ingest_ours.duckdb")
        base = child("pandas", source, work / "ingest_base.duckdb")
        for name, r in (("visibility ingest (validated)", ours), ("pandas read + DuckDB append", base)):
            print(f"{kind:<8} {name:<34} {r['rows']:>11,} {r['seconds']:>8.2f} "
                  f"{r['rows'] / r['seconds']:>12,.0f} {r['rss_gib']:>7.2f} GiB")
        print(f"{kind:<8} ratio: visibility is {base['seconds'] / ours['seconds']:.1f}x the baseline's speed")


if __name__ == "__main__":
    main()
