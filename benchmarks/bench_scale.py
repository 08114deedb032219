"""Scale: analyse N generated London fixes on one machine in bounded memory, and on Dask.

    python benchmarks/bench_scale.py --fixes 10000000 --memory-limit 4GB
    python benchmarks/bench_scale.py --fixes 100000000 --memory-limit 6GB --skip-dask

Generates about N fixes for officers spread over the 649 real London wards
(cached under benchmarks/_work/<N>/, see common.generate), builds a store from
them once (cached as scale.duckdb there), then times `analyse --force` in a
fresh child process per engine, so that each peak RSS is that run's own:

1. one machine (`analyse(memory_limit=...)`);
2. Dask with 1 and with 2 worker processes (`engine="dask"`, a LocalCluster of
   single-threaded workers started by the child; the driver's peak RSS and the
   largest worker's are reported separately; cluster start-up is included).

Prints fixes/second, seconds, peak RSS and where the time went (the stages the
analysis reports), and checks that every run gives identical per officer-shift
seconds and per-fix results.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import generate, machine, peak_rss_gib  # noqa: E402

CHECK = {
    "shifts": "SELECT count(*), sum(hash(shift_id, on_patch_us, off_patch_us, in_station_us, "
              "transit_us, no_signal_us, n_fixes, n_unreliable)::HUGEINT) FROM shift_results",
    "runs": "SELECT count(*), sum(hash(shift_id, first_ts, last_ts, n_fixes, state, quality, "
            "ward_code, cell, own_from, own_to)::HUGEINT) FROM track_runs",
    "presence": "SELECT count(*), sum(hash(shift_id, ward_code, cell, hour_utc, on_patch_us)::HUGEINT) "
                "FROM presence",
}


def build_store(paths, folder: Path) -> Path:
    """The store for these fixes (made once: wards, stations, roster, fixes ingested)."""
    from visibility.boundaries import load_stations, load_wards
    from visibility.ingest import ingest_file
    from visibility.roster import load_roster
    from visibility.store import Store

    db = folder / "scale.duckdb"
    if db.exists():
        return db
    tmp = folder / "scale.duckdb.building"
    tmp.unlink(missing_ok=True)
    start = time.perf_counter()
    with Store.create(tmp) as store:
        load_wards(store, [paths["wards"]], "ward_code", "ward_name", borough_code_field="borough_code")
        load_stations(store, paths["stations"])
        load_roster(store, paths["officers"], paths["shifts"])
        ingest_file(store, paths["fixes"])
    tmp.rename(db)
    print(f"store built in {time.perf_counter() - start:.0f} s: {db}")
    return db


def child(args) -> None:
    """One measured run, in its own process; prints one JSON line."""
    from visibility.analyse import analyse
    from visibility.store import Store

    out: dict = {"engine": args.child}
    cluster = client = None
    if args.child.startswith("dask"):
        from distributed import Client, LocalCluster

        from visibility.distributed import LOCAL_QUIET

        n = int(args.child.split(":")[1])
        t0 = time.perf_counter()
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                               **LOCAL_QUIET)
        client = Client(cluster)
        out["cluster_start_s"] = time.perf_counter() - t0
    with Store.open(args.db) as store:
        start = time.perf_counter()
        if client is None:
            report = analyse(store, force=True, memory_limit=args.memory_limit,
                             batch_rows=args.batch_rows)
        else:
            report = analyse(store, force=True, memory_limit=args.memory_limit,
                             batch_rows=args.batch_rows, engine="dask",
                             scheduler=cluster.scheduler_address, work_dir=args.work)
        out["seconds"] = time.perf_counter() - start
        out["peak_rss_gib"] = peak_rss_gib()  # before the checks below, which are not bounded
        out["fixes"] = report.fixes
        out["shifts"] = report.shifts
        out["stages"] = report.stages
        out["check"] = {k: [str(v) for v in store.con.execute(q).fetchall()[0]] for k, q in CHECK.items()}
    if client is not None:
        import resource

        rss = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20)
        out["worker_peak_rss_gib"] = max(rss.values())
        client.close()
        cluster.close()
    print("RESULT " + json.dumps(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fixes", type=int, default=10_000_000)
    parser.add_argument("--memory-limit", default="4GB")
    parser.add_argument("--batch-rows", type=int, default=None)
    parser.add_argument("--workers", default="1,2", help="Dask worker counts to run (comma-separated)")
    parser.add_argument("--skip-dask", action="store_true")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    print(machine())
    paths = generate(args.fixes)
    folder = paths["fixes"].parent
    db = build_store(paths, folder)
    engines = ["local"] + ([] if args.skip_dask else [f"dask:{n}" for n in args.workers.split(",")])
    runs = []
    for engine in engines:
        run_db = folder / "scale-run.duckdb"
        shutil.copy(db, run_db)
        work = folder / "dask-work"
        shutil.rmtree(work, ignore_errors=True)
        cmd = [sys.executable, __file__, "--child", engine, "--db", str(run_db), "--work", str(work),
               "--memory-limit", args.memory_limit]
        if args.batch_rows:
            cmd += ["--batch-rows", str(args.batch_rows)]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
        if proc.returncode or not line:
            print(f"{engine}: failed\n{proc.stderr[-3000:]}")
            continue
        result = json.loads(line[0][len("RESULT "):])
        runs.append(result)
        rss = f"{result['peak_rss_gib']:.2f} GiB"
        if "worker_peak_rss_gib" in result:
            rss += f" (largest worker {result['worker_peak_rss_gib']:.2f} GiB)"
        print(f"\n{engine}: {result['fixes']:,} fixes, {result['shifts']:,} shifts in "
              f"{result['seconds']:.1f} s = {result['fixes'] / result['seconds']:,.0f} fixes/s; "
              f"peak RSS {rss}")
        if "cluster_start_s" in result:
            print(f"  (cluster start, not in the time: {result['cluster_start_s']:.1f} s)")
        for stage, seconds in sorted(result["stages"].items(), key=lambda kv: -kv[1]):
            print(f"  {stage:<32} {seconds:7.1f} s")
        run_db.unlink(missing_ok=True)
        shutil.rmtree(work, ignore_errors=True)
    if runs:
        same = all(r["check"] == runs[0]["check"] for r in runs)
        print(f"\nidentical results across engines: {same}")


if __name__ == "__main__":
    main()
