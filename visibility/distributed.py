"""The distributed engine: the same per-batch step, partition by partition, on Dask.

The driver (the machine holding the store) selects the scope exactly as the
single-machine path does, incremental rules included, then writes to a work
folder that the driver and every worker can read (a shared filesystem, or an
object store mounted as one)::

    WORK/manifest.json                  what the folder holds, and a digest of its inputs
    WORK/context/                       policy, ward index (arrays + WKB), stations, home wards
    WORK/context/shifts/date=D/borough=B/   the partition's shifts
    WORK/fixes/date=D/borough=B/        the partition's fixes (shift_id, t, lat, lon, acc)
    WORK/results/date=D/borough=B/      track_runs.parquet, shift_totals.parquet (per task)

Partitions are the local date of the shift's start and the borough of the
officer's first home ward, so each holds whole shifts. One Dask task per
partition runs :func:`visibility.analyse.analyse_batch` over it, batch by
batch, and writes its results; the driver loads them into the store in one
transaction, so every metric and report works unchanged and the numbers are
those of the single-machine path to the microsecond.

Re-running with the same inputs resumes: partitions whose results exist are
skipped. A worker that dies is replaced and its task re-run by Dask.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from typing import Callable

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__
from .analyse import (BASE_BYTES, BATCH_SHARE, BYTES_PER_FIX, DUCKDB_SHARE, AnalyseReport, Fixes,
                      MemoryPlan, Scope, ShiftTotals, Stages, _Context, _seen, _whole_shifts,
                      analyse_batch, format_size, scope_fixes_sql, write_results)
from .errors import MemoryLimitError, PartitionError, StoreError, VisibilityError
from .locate import StationIndex, WardIndex, polygon_index
from .partitions import OFFICER_BOROUGH_SQL, local_date_sql, sql_path
from .policy import Policy
from .store import Store

#: Bumped when the work folder's layout changes; a folder of another layout is rewritten.
LAYOUT = 2
#: Bytes per fix a task holds for its whole partition (the columns read, and their sorted copy).
PARTITION_BYTES_PER_FIX = 100
#: No dashboard, and the scheduler's HTTP endpoint on a free port: the default (8787) may be
#: taken by another cluster on the machine.
LOCAL_QUIET = {"dashboard_address": None,
               "scheduler_kwargs": {"dashboard": False, "dashboard_address": ":0"}}
_RUN_COLUMNS = ("shift_id", "first_ts", "last_ts", "n_fixes", "state", "quality", "ward_code",
                "cell", "own_from", "own_to")


def analyse_distributed(store: Store, policy: Policy, scope: Scope, notes: list[str],
                        plan: MemoryPlan, scheduler: str | None = None,
                        work_dir: str | Path | None = None,
                        progress: Callable[[int], None] | None = None,
                        stages: Stages | None = None) -> AnalyseReport:
    """Analyse ``scope`` on a Dask cluster and write the results into the store.

    ``scheduler`` is ``local:N`` (a LocalCluster of N single-threaded worker
    processes, started and stopped here) or a scheduler address such as
    ``tcp://10.0.0.5:8786``. ``work_dir`` (default: beside the store) must be
    readable and writable at the same path by the driver and every worker.
    """
    stages = Stages() if stages is None else stages
    work = Path(work_dir) if work_dir else Path(f"{store.path}.dask")
    seen = _seen(store.con)
    with stages("driver: write partitions"):
        manifest, resumed = prepare(store, policy, scope, seen, work)
    parts = manifest["partitions"]
    done = [k for k in parts if (work / "results" / k / "shift_totals.parquet").exists()]
    todo = [k for k in parts if k not in set(done)]
    if resumed:
        notes.append(f"resumed from {work}: {len(done)} of {len(parts)} partitions already done")
    if todo:
        with _client(scheduler or "local:2", plan, stages) as client:
            with stages("cluster: partition tasks"):
                retried = _run(client, work, todo, plan, progress, parts)
        if retried:
            notes.append(f"{retried} partition task(s) re-run after their worker was lost")
    notes.append(f"{len(parts)} partitions on {scheduler or 'local:2'}; work folder {work}")
    totals = ShiftTotals.zeros(scope.ctx.shift_id)
    results = work / "results" / "*" / "*"
    with stages("driver: read shift totals"):
        if parts:
            totals.add_table(store.con.sql(
                f"SELECT * FROM read_parquet({sql_path(results / 'shift_totals.parquet')})"
            ).to_arrow_table())
    n_fixes = int(totals.n_fixes.sum())
    select = (f"SELECT {', '.join(_RUN_COLUMNS)} FROM "
              f"read_parquet({sql_path(results / 'track_runs.parquet')})")
    batches = [(n_fixes, select)] if parts else []
    return write_results(store, policy, scope, notes, totals, seen, batches, None, stages)


# -- the driver: the work folder --------------------------------------------------------------
def _digest(store: Store, policy: Policy, scope: Scope, seen: tuple[int, int]) -> str:
    """What the partitions are computed from: shifts, fixes, wards, stations, home wards, policy."""
    con = store.con
    parts = con.execute(
        f"""SELECT (SELECT count(*) || ':' || coalesce(bit_xor(hash(shift_id, officer_id, start_ts,
                           end_ts, kind)), 0) FROM shifts s WHERE {scope.where}),
                   (SELECT count(*) || ':' || coalesce(max(source_id), 0) FROM pings),
                   (SELECT count(*) || ':' || coalesce(max(source_id), 0) FROM device_pings),
                   (SELECT count(*) || ':' || coalesce(bit_xor(hash(device_id, officer_id, from_ts,
                           to_ts)), 0) FROM device_assignments),
                   (SELECT count(*) || ':' || coalesce(bit_xor(hash(ward_code, geometry)), 0) FROM wards),
                   (SELECT count(*) || ':' || coalesce(bit_xor(hash(cell, ward_code, interior)), 0)
                    FROM ward_cells),
                   (SELECT count(*) || ':' || coalesce(bit_xor(hash(station_id, geometry, radius_m)), 0)
                    FROM stations),
                   (SELECT count(*) || ':' || coalesce(bit_xor(hash(officer_id, ward_code)), 0)
                    FROM officer_wards)""", scope.params).fetchall()[0]
    text = json.dumps([LAYOUT, __version__, policy.digest, list(seen), list(parts)])
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def prepare(store: Store, policy: Policy, scope: Scope, seen: tuple[int, int],
            work: Path) -> tuple[dict, bool]:
    """Write (or reuse) the work folder for ``scope``: (its manifest, whether it was reused)."""
    digest = _digest(store, policy, scope, seen)
    manifest_path = work / "manifest.json"
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("digest") == digest:
            for key in manifest["partitions"]:
                if not any((work / "fixes" / key).glob("*.parquet")):
                    _write_fixes(store, policy, scope, work, key)
            return manifest, True
    if work.exists() and any(work.iterdir()) and not manifest_path.exists():
        raise StoreError(f"{work} is not empty and holds no visibility work folder; choose another --work")
    for name in ("manifest.json", "context", "fixes", "results"):
        target = work / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    (work / "context").mkdir(parents=True)
    _write_context(store, policy, scope, work)
    _write_fixes(store, policy, scope, work)
    keys = sorted(str(p.relative_to(work / "fixes")) for p in (work / "fixes").glob("date=*/borough=*"))
    manifest = {"layout": LAYOUT, "digest": digest, "policy_digest": policy.digest,
                "shifts": scope.n_shifts, "partitions": keys}
    tmp = work / "manifest.json.tmp"
    tmp.write_text(json.dumps(manifest, indent=1))
    os.replace(tmp, manifest_path)
    return manifest, False


def _keys_sql(scope: Scope) -> str:
    """Shifts of the scope with their partition keys (date, borough); parameters: the time
    zone, then ``scope.params``."""
    return f"""SELECT s.*, {local_date_sql('s.start_ts', '?')} AS date,
                      coalesce(h.borough, 'none') AS borough
               FROM shifts s LEFT JOIN ({OFFICER_BOROUGH_SQL}) h USING (officer_id)
               WHERE {scope.where}"""


def _copy(con, select: str, params: list, target: Path) -> None:
    con.execute(f"COPY ({select}) TO {sql_path(target)} "
                "(FORMAT parquet, PARTITION_BY (date, borough), OVERWRITE_OR_IGNORE)", params)


def _write_fixes(store: Store, policy: Policy, scope: Scope, work: Path, key: str | None = None) -> None:
    """The scope's fixes by partition (all partitions, or the one named ``key``)."""
    con = store.con
    where, params = "true", []
    if key is not None:
        date_part, borough_part = (p.split("=", 1)[1] for p in key.split("/"))
        where, params = "CAST(date AS VARCHAR) = ? AND borough = ?", [date_part, borough_part]
    con.execute(f"CREATE OR REPLACE TEMP TABLE _dask_keys AS SELECT shift_id, date, borough FROM "
                f"({_keys_sql(scope)}) WHERE {where}", [policy.timezone] + scope.params + params)
    try:
        shifts = "SELECT s.*, k.date, k.borough FROM shifts s JOIN _dask_keys k USING (shift_id)"
        _copy(con, scope_fixes_sql(con, shifts, extra=", s.date, s.borough"), [], work / "fixes")
    finally:
        con.execute("DROP TABLE IF EXISTS _dask_keys")


def _write_context(store: Store, policy: Policy, scope: Scope, work: Path) -> None:
    con = store.con
    ctx_dir = work / "context"
    (ctx_dir / "policy.json").write_text(policy.to_json())
    _copy(con, f"""SELECT shift_id, officer_id, epoch_us(start_ts) AS start_us,
                          epoch_us(end_ts) AS end_us, kind, date, borough
                   FROM ({_keys_sql(scope)})""",
          [policy.timezone] + scope.params, ctx_dir / "shifts")
    con.execute(f"COPY (SELECT officer_id, ward_code FROM officer_wards) TO "
                f"{sql_path(ctx_dir / 'officer_wards.parquet')} (FORMAT parquet)")
    wards = scope.wards
    np.savez(ctx_dir / "wards.npz", codes=np.array(list(wards.codes), dtype=str),
             resolution=np.int64(wards.resolution), cells=wards.cells,
             interior_ward=wards.interior_ward, cand_ptr=wards.cand_ptr, cand_ward=wards.cand_ward)
    import shapely

    pq.write_table(pa.table({"geometry": pa.array(list(shapely.to_wkb(wards.geoms)), pa.binary())}),
                   ctx_dir / "wards_wkb.parquet")
    stations = StationIndex.from_store(store, policy.station_radius_m, policy.station_margin_m)
    np.savez(ctx_dir / "stations.npz", point_lat=stations.point_lat, point_lon=stations.point_lon,
             point_radius_m=stations.point_radius_m)
    pq.write_table(pa.table({"geometry": pa.array([shapely.to_wkb(p) for p in stations.polygons],
                                                  pa.binary())}), ctx_dir / "stations_wkb.parquet")


# -- the cluster ----------------------------------------------------------------------------
@contextmanager
def _client(scheduler: str, plan: MemoryPlan, stages: Stages):
    """A Dask client: a LocalCluster for ``local:N``, else a connection to the scheduler."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise StoreError("the dask engine needs dask.distributed: pip install 'visibility[dask]'") from None
    cluster = None
    with stages("cluster: start"):
        if scheduler.startswith("local:"):
            try:
                n = int(scheduler.split(":", 1)[1])
            except ValueError:
                n = 0
            if n < 1:
                raise StoreError(f"--scheduler {scheduler}: give local:N with N workers, e.g. local:2")
            # Workers' own limit: the plan's, when it leaves room for a worker process at all;
            # each task also checks its partition against it (a clear error, not a kill).
            limit = plan.limit_bytes if plan.limit_bytes and plan.limit_bytes >= 2**30 else "auto"
            cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                                   memory_limit=limit, **LOCAL_QUIET)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise StoreError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _run(client, work: Path, todo: list[str], plan: MemoryPlan,
         progress: Callable[[int], None] | None, parts: list[str]) -> int:
    """Run one task per partition; raise the first failure once all have finished.

    Returns how many tasks Dask re-ran because a worker died under them.
    """
    from distributed import KilledWorker, as_completed

    futures = client.map(run_partition, todo, work=str(work), batch_rows=plan.batch_rows,
                         budget=plan.limit_bytes, pure=False)
    key_of = {f.key: k for f, k in zip(futures, todo)}
    failures = []
    for future in as_completed(futures):
        if future.status == "error":
            failures.append((key_of[future.key], future.exception()))
        elif progress:
            progress(future.result()["fixes"])
    try:
        retried = client.run_on_scheduler(_suspicious, keys=list(key_of))
    except Exception:  # an older scheduler, or it went away: the count is only informative
        retried = 0
    if not failures:
        return retried
    key, exc = failures[0]
    others = f"{len(failures) - 1} other partition(s) failed too; " if len(failures) > 1 else ""
    more = f" ({others}the {len(parts) - len(failures)} finished are kept in {work}: run again to resume)"
    if isinstance(exc, KilledWorker):
        raise MemoryLimitError(
            f"partition {key}: its worker died repeatedly (out of memory?); use a smaller "
            f"--batch-rows or a larger --memory-limit{more}")
    if isinstance(exc, VisibilityError):
        raise type(exc)(f"{exc}{more}")
    raise PartitionError(f"partition {key}: {type(exc).__name__}: {exc}{more}")


def _suspicious(dask_scheduler=None, keys=()) -> int:
    """On the scheduler: how many of ``keys`` were running on a worker that died."""
    count = 0
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        if ts is not None and getattr(ts, "suspicious", 0):
            count += 1
    return count


# -- a task: one partition --------------------------------------------------------------------
@functools.lru_cache(maxsize=2)
def _context(work: str, digest: str):
    """The ward index, stations, home wards and policy of a work folder (cached per worker)."""
    import shapely

    ctx_dir = Path(work) / "context"
    policy = Policy.from_mapping(json.loads((ctx_dir / "policy.json").read_text()))
    with np.load(ctx_dir / "wards.npz", allow_pickle=False) as w:
        arrays = {k: w[k] for k in w.files}
    geoms = np.asarray(shapely.from_wkb(pq.read_table(ctx_dir / "wards_wkb.parquet")
                                        .column("geometry").to_pylist()), dtype=object)
    wards = WardIndex(np.array(arrays["codes"].tolist(), dtype=object), geoms,
                      int(arrays["resolution"]), arrays["cells"], arrays["interior_ward"],
                      arrays["cand_ptr"], arrays["cand_ward"], polygon_index(geoms))
    with np.load(ctx_dir / "stations.npz", allow_pickle=False) as st:
        polys = [shapely.from_wkb(b) for b in
                 pq.read_table(ctx_dir / "stations_wkb.parquet").column("geometry").to_pylist()]
        stations = StationIndex(st["point_lat"], st["point_lon"], st["point_radius_m"], polys)
    pairs = pq.read_table(ctx_dir / "officer_wards.parquet").to_pylist()
    return policy, wards, stations, [(p["officer_id"], p["ward_code"]) for p in pairs]


def _read(path: Path, rows_only: bool = False):
    """A Parquet file (or its row count), or a clear error naming it."""
    try:
        return pq.ParquetFile(path).metadata.num_rows if rows_only else pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise PartitionError(
            f"{path}: unreadable Parquet ({str(exc).splitlines()[0]}); delete it and run again: "
            "the partition is rewritten from the store and finished partitions are kept") from None


def run_partition(key: str, work: str, batch_rows: int, budget: int | None = None) -> dict:
    """Analyse one partition of the work folder and write its results; skip it if they exist.

    ``budget`` is the process's memory limit in bytes: a partition that could
    not fit is refused with a clear error before it is read.
    """
    root = Path(work)
    out = root / "results" / key
    if (out / "shift_totals.parquet").exists():
        return {"key": key, "fixes": 0, "skipped": True}
    # One Dask thread is one core: the kernels run single-threaded inside a task (numba's
    # setting is per thread). Parallel kernel launches on small partitions cost more than they
    # save, and several threads per task would oversubscribe the worker's cores.
    import numba

    numba.set_num_threads(1)
    manifest = json.loads((root / "manifest.json").read_text())
    policy, wards, stations, pairs = _context(work, manifest["digest"])
    if policy.digest != manifest["policy_digest"]:
        raise PartitionError(f"{root / 'context' / 'policy.json'}: policy {policy.digest} is not the "
                             f"run's ({manifest['policy_digest']}); is this visibility the driver's version?")
    files = sorted((root / "fixes" / key).glob("*.parquet"))
    if not files:
        raise PartitionError(f"{root / 'fixes' / key}: the partition's Parquet files are missing; "
                             "run again to rewrite it from the store")
    rows = sum(_read(f, rows_only=True) for f in files)
    if budget is not None:
        need = rows * PARTITION_BYTES_PER_FIX + min(rows, batch_rows) * BYTES_PER_FIX
        room = int(max(budget - BASE_BYTES, 0) * (DUCKDB_SHARE + BATCH_SHARE))
        if need > room:
            raise MemoryLimitError(
                f"partition {key} holds {rows:,} fixes, about {format_size(need)} in memory, more "
                f"than the {format_size(room)} a task may use of --memory-limit {format_size(budget)}; "
                "use a smaller --batch-rows or a larger --memory-limit")
    table = pa.concat_tables([_read(f) for f in files]).select(["shift_id", "t", "lat", "lon", "acc"])
    table = table.sort_by([("shift_id", "ascending"), ("t", "ascending")])
    shift_files = sorted((root / "context" / "shifts" / key).glob("*.parquet"))
    shifts = pa.concat_tables([_read(f) for f in shift_files]).sort_by("shift_id")
    ctx = _Context.build(shifts, pairs, wards)
    scope = Scope("false", [], None, None, ctx, wards, [])
    totals = ShiftTotals.zeros(ctx.shift_id)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / "track_runs.parquet.tmp"
    writer = None
    try:
        for batch in _whole_shifts(table.to_batches(max_chunksize=batch_rows)):
            result = analyse_batch(Fixes.from_table(batch), scope, stations, policy, totals)
            if writer is None:
                writer = pq.ParquetWriter(tmp, result.schema)
            writer.write_table(result)
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, out / "track_runs.parquet")
    pq.write_table(totals.to_table(), out / "shift_totals.parquet.tmp")
    os.replace(out / "shift_totals.parquet.tmp", out / "shift_totals.parquet")
    return {"key": key, "fixes": int(totals.n_fixes.sum()), "skipped": False}
