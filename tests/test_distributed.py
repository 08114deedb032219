"""The Dask engine: the same results as one machine, resumable, and clear when things go wrong.

Runs LocalClusters of two single-threaded worker processes on the sample week
and on a generated day over the real London wards.
"""

from __future__ import annotations

import os
import shutil
import signal
import time

import pytest

pytest.importorskip("distributed")

from conftest import shared_path  # noqa: E402
from test_scale import copy_store, demo, results  # noqa: E402,F401
from visibility.analyse import analyse  # noqa: E402
from visibility.distributed import run_partition  # noqa: E402
from visibility.errors import MemoryLimitError, PartitionError  # noqa: E402
from visibility.partitions import OFFICER_BOROUGH_SQL  # noqa: E402
from visibility.store import Store  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """Two worker processes of one thread each, shared by the tests that pass its address."""
    from distributed import Client, LocalCluster

    from visibility.distributed import LOCAL_QUIET

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      **LOCAL_QUIET) as lc, Client(lc) as client:
        yield lc.scheduler_address, client


def test_sample_week_on_a_local_cluster_is_identical(demo, tmp_path):
    with Store.open(copy_store(demo, tmp_path)) as store:
        report = analyse(store, force=True, engine="dask", scheduler="local:2",
                         work_dir=tmp_path / "work")
        assert (report.shifts, report.fixes) == (144, 260_465)
        assert results(store) == demo[1]
        assert report.notes[-1] == f"7 partitions on local:2; work folder {tmp_path / 'work'}"
        assert "cluster: partition tasks" in report.stages
        # incremental: nothing is out of date, so nothing is sent to a cluster
        again = analyse(store, engine="dask", scheduler="tcp://127.0.0.1:1")
        assert again.run_id == 0 and "up to date" in again.notes[0]
    parts = sorted(p.relative_to(tmp_path / "work" / "fixes").as_posix()
                   for p in (tmp_path / "work" / "fixes").glob("*/*"))
    assert parts[0] == "date=2026-11-16/borough=X09000001" and len(parts) == 7
    for key in parts:
        assert (tmp_path / "work" / "results" / key / "track_runs.parquet").exists()


def test_a_worker_dying_mid_run_is_replaced_and_the_results_are_identical(demo, cluster, tmp_path):
    address, client = cluster
    before = sorted(client.run(os.getpid).values())
    killed = []

    def kill_a_worker(_fixes):
        # Only plain os calls here: this runs inside the engine's own client loop, and
        # using the fixture's client from it races the two clients' event loops.
        if not killed:
            os.kill(before[0], signal.SIGKILL)
            killed.append(before[0])

    with Store.open(copy_store(demo, tmp_path)) as store:
        report = analyse(store, force=True, engine="dask", scheduler=address,
                         work_dir=tmp_path / "work", batch_rows=5000, progress=kill_a_worker)
        assert results(store) == demo[1]
    assert killed
    # When the killed worker was busy, its task ran again elsewhere and the run says so.
    retried = [n for n in report.notes if "re-run after their worker was lost" in n]
    assert len(retried) <= 1
    deadline = time.monotonic() + 30
    while len(client.scheduler_info()["workers"]) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    after = set(client.run(os.getpid).values())
    assert killed[0] not in after and len(after) == 2


def test_a_corrupt_partition_names_the_file_and_a_rerun_resumes(demo, cluster, tmp_path):
    address, _ = cluster
    db, work = copy_store(demo, tmp_path), tmp_path / "work"
    with Store.open(db) as store:
        analyse(store, force=True, engine="dask", scheduler=address, work_dir=work)
        first_run = store.con.execute("SELECT max(run_id) FROM analyses").fetchall()[0][0]
    # Two partitions lose their results, and one of them its input is damaged.
    good, bad = "date=2026-11-17/borough=X09000001", "date=2026-11-18/borough=X09000001"
    for key in (good, bad):
        shutil.rmtree(work / "results" / key)
    broken = sorted((work / "fixes" / bad).glob("*.parquet"))[0]
    broken.write_bytes(broken.read_bytes()[: broken.stat().st_size // 2])
    with Store.open(db) as store:
        with pytest.raises(PartitionError) as err:
            analyse(store, force=True, engine="dask", scheduler=address, work_dir=work)
        assert str(err.value).startswith(f"{broken}: unreadable Parquet (")
        assert str(err.value).endswith(
            "; delete it and run again: the partition is rewritten from the store and finished "
            f"partitions are kept (the 6 finished are kept in {work}: run again to resume)")
        assert "\n" not in str(err.value)
        # the other partition finished; the store still holds the first run's results only
        assert (work / "results" / good / "shift_totals.parquet").exists()
        assert not (work / "results" / bad).exists() or \
            not (work / "results" / bad / "shift_totals.parquet").exists()
        assert store.con.execute("SELECT max(run_id) FROM analyses").fetchall()[0][0] == first_run
        assert results(store) == demo[1]
        broken.unlink()
        report = analyse(store, force=True, engine="dask", scheduler=address, work_dir=work)
        assert f"resumed from {work}: 6 of 7 partitions already done" in report.notes
        assert results(store) == demo[1]


def test_running_out_of_the_memory_limit_is_a_clear_error(demo, tmp_path):
    db = copy_store(demo, tmp_path)
    with Store.open(db) as store:
        with pytest.raises(MemoryLimitError, match=r"^out of memory while analysing within "
                                                   r"--memory-limit 410\.0 MB .*--batch-rows"):
            analyse(store, force=True, engine="dask", scheduler="local:2", memory_limit="410MB",
                    work_dir=tmp_path / "work")
        assert results(store) == demo[1]


def test_a_task_refuses_a_partition_larger_than_its_budget(demo, cluster, tmp_path):
    address, _ = cluster
    work = tmp_path / "work"
    with Store.open(copy_store(demo, tmp_path)) as store:
        analyse(store, force=True, engine="dask", scheduler=address, work_dir=work)
    key = "date=2026-11-16/borough=X09000001"
    shutil.rmtree(work / "results" / key)
    with pytest.raises(MemoryLimitError, match=rf"^partition {key} holds [\d,]+ fixes, about "
                                               r"[\d.]+ MB in memory, more than the 1\.8 MB a task "
                                               r"may use of --memory-limit 402\.0 MB"):
        run_partition(key, str(work), batch_rows=1000, budget=402_000_000)
    assert run_partition(key, str(work), batch_rows=1000, budget=2_000_000_000)["fixes"] > 30_000


# -- a generated day over the real London wards -------------------------------------------------
@pytest.fixture(scope="module")
def london_day(tmp_path_factory):
    """Real London wards (all 33 boroughs), a generated roster and one Monday of tracks."""
    import datetime as dt

    import geopandas as gpd
    import pandas as pd
    import pyarrow.parquet as pq

    from visibility.boundaries import load_stations, load_wards
    from visibility.ingest import ingest_file
    from visibility.roster import load_roster
    from visibility.synth.roster import make_roster
    from visibility.synth.tracks import generate_tracks

    folder = shared_path("london_wards_2013")
    tmp = tmp_path_factory.mktemp("london-day")
    frames = []
    for path in sorted(folder.glob("*.geojson")):
        frame = gpd.read_file(path)
        frame["borough_code"] = path.stem
        frames.append(frame)
    wards = gpd.GeoDataFrame(pd.concat(frames, ignore_index=True), crs="EPSG:4326").rename(
        columns={"WD13CD": "ward_code", "WD13NM": "ward_name"})[
        ["ward_code", "ward_name", "borough_code", "geometry"]]
    officers, shifts = make_roster(wards, dt.date(2026, 11, 16), 40, 120, seed=3)
    shifts = shifts[pd.to_datetime(shifts["start"]).dt.date == dt.date(2026, 11, 16)]
    stations = gpd.GeoDataFrame(
        [{"station_id": f"ST-{code}", "name": code, "radius_m": 50.0,
          "geometry": group.geometry.iloc[0].representative_point()}
         for code, group in wards.groupby("borough_code")], crs="EPSG:4326")
    fixes = generate_tracks(wards, stations, officers, shifts, seed=3)
    wards.to_file(tmp / "wards.geojson", driver="GeoJSON")
    stations.to_file(tmp / "stations.geojson", driver="GeoJSON")
    officers.to_csv(tmp / "officers.csv", index=False)
    out = shifts.copy()
    for col in ("start", "end"):
        out[col] = pd.to_datetime(out[col]).map(lambda t: t.isoformat())
    out.to_csv(tmp / "shifts.csv", index=False)
    pq.write_table(fixes, tmp / "fixes.parquet")
    db = tmp / "london.duckdb"
    with Store.create(db) as store:
        load_wards(store, [tmp / "wards.geojson"], "ward_code", "ward_name",
                   borough_code_field="borough_code")
        load_stations(store, tmp / "stations.geojson")
        load_roster(store, tmp / "officers.csv", tmp / "shifts.csv")
        ingest_file(store, tmp / "fixes.parquet")
        analyse(store)
        expected = results(store)
        boroughs = store.con.execute(
            f"SELECT count(DISTINCT h.borough) FROM shift_results r JOIN ({OFFICER_BOROUGH_SQL}) h "
            "USING (officer_id) WHERE r.n_fixes > 0").fetchall()[0][0]
    return db, expected, boroughs


def test_a_generated_london_day_is_identical_on_the_cluster(london_day, cluster, tmp_path):
    address, _ = cluster
    db = tmp_path / "london.duckdb"
    shutil.copy(london_day[0], db)
    with Store.open(db) as store:
        report = analyse(store, force=True, engine="dask", scheduler=address,
                         work_dir=tmp_path / "work")
        assert report.fixes > 50_000
        assert results(store) == london_day[1]
    parts = list((tmp_path / "work" / "fixes").glob("date=*/borough=*"))
    assert len(parts) == london_day[2] > 10  # one partition per (day,) borough with fixes


def test_the_command_line_runs_the_dask_engine(demo, cluster, tmp_path):
    from click.testing import CliRunner

    from visibility.cli import main

    address, _ = cluster
    db = copy_store(demo, tmp_path)
    result = CliRunner().invoke(main, ["analyse", "--force", "--engine", "dask", "--scheduler", address,
                                       "--work", str(tmp_path / "work"), "--db", str(db)],
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "analysed 144 shifts (0 without fixes), 260465 fixes" in result.output
    assert f"note: 7 partitions on {address}; work folder {tmp_path / 'work'}" in result.output
    with Store.open(db) as store:
        assert results(store) == demo[1]
