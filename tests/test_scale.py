"""Scale on one machine: bounded memory, clear out-of-memory errors, Parquet export and import."""

from __future__ import annotations

import shutil

import pytest

from visibility.analyse import BATCH_ROWS, MemoryPlan, analyse, open_scope, stream_fixes
from visibility.boundaries import load_stations, load_wards
from builders import run_cli as run
from visibility.demo import run_demo, sample_dirs
from visibility.errors import MemoryLimitError, StoreError
from visibility.partitions import export_store, import_store
from visibility.policy import Policy
from visibility.roster import load_roster
from visibility.store import Store

#: Every result column but the run that made it (and, for shifts, what it had seen): the shifts
#: row by row, the per-fix results and presence as a count and an order-free sum of row hashes.
SHIFTS = ("SELECT * EXCLUDE (run_id, sources_seen, assignments_seen) FROM {}shift_results "
          "ORDER BY shift_id")
FIXES = ("SELECT count(*), sum(hash(shift_id, first_ts, last_ts, n_fixes, state, quality, "
         "ward_code, cell, own_from, own_to)::HUGEINT) FROM {}track_runs")
PRESENCE = ("SELECT count(*), sum(hash(shift_id, ward_code, cell, hour_utc, on_patch_us)::HUGEINT) "
            "FROM {}presence")


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """The sample week analysed on one machine with the defaults: the reference results."""
    folder = tmp_path_factory.mktemp("scale-demo")
    result = run_demo(folder)
    with Store.open(result.store, read_only=True) as store:
        expected = {q: store.con.execute(q.format("")).fetchall() for q in (SHIFTS, FIXES, PRESENCE)}
    return result.store, expected


def copy_store(demo, tmp_path):
    db = tmp_path / "copy.duckdb"
    shutil.copy(demo[0], db)
    return db


def results(store):
    return {q: store.con.execute(q.format("")).fetchall() for q in (SHIFTS, FIXES, PRESENCE)}




# -- bounded memory ----------------------------------------------------------------------------
def test_memory_limit_is_shared_between_duckdb_and_batches():
    assert MemoryPlan.make() == MemoryPlan(None, None, BATCH_ROWS)
    plan = MemoryPlan.make("4GB")  # 400 MB for the program itself, then 60% DuckDB, 30% batches
    assert plan.limit_bytes == 4 * 10**9 and plan.duckdb_bytes == int(0.6 * 3.6 * 10**9)
    assert plan.batch_rows == BATCH_ROWS  # a million fixes fit in the 1.08 GB kept for batches
    small = MemoryPlan.make("500MB")
    assert small.batch_rows == 75_000  # 30 MB at 400 bytes a fix
    assert MemoryPlan.make("2GiB", batch_rows=5000).batch_rows == 5000


def test_a_batch_or_a_limit_that_cannot_fit_is_refused_before_starting():
    with pytest.raises(MemoryLimitError) as err:
        MemoryPlan.make("500MB", batch_rows=10_000_000)
    assert str(err.value) == ("--batch-rows 10,000,000 needs about 4.0 GB, more than the 30.0 MB of "
                              "--memory-limit 500.0 MB kept for batches; use --batch-rows 75,000 or "
                              "less, or a larger --memory-limit")
    with pytest.raises(MemoryLimitError, match=r"^--memory-limit 4\.0 MB is less than the 400\.0 MB "
                                               r"the program needs before any fixes; give at least 1GB$"):
        MemoryPlan.make("4MB")


def test_batches_hold_whole_shifts_and_stay_near_the_batch_size(demo, tmp_path):
    with Store.open(copy_store(demo, tmp_path)) as store:
        scope = open_scope(store, Policy())
        sizes, ids = [], []
        for fixes in stream_fixes(store, scope, batch_rows=5000):
            sizes.append(len(fixes))
            ids.append(set(fixes.shift_id.tolist()))
        biggest_shift = store.con.execute(
            "SELECT max(n_fixes) FROM shift_results").fetchall()[0][0]
    assert sum(sizes) == 260_465
    assert max(sizes) <= 5000 + biggest_shift  # a batch is cut at the first shift edge after 5000
    for a, b in zip(ids, ids[1:]):
        assert not a & b  # no shift is split across two batches


def test_small_batches_within_a_limit_give_identical_results(demo, tmp_path):
    setting = "SELECT current_setting('memory_limit')"
    with Store.open(copy_store(demo, tmp_path)) as store:
        before = store.con.execute(setting).fetchall()
        report = analyse(store, force=True, memory_limit="1GB", batch_rows=20_000)
        assert report.fixes == 260_465
        assert results(store) == demo[1]
        assert store.con.execute(setting).fetchall() == before  # the store's own setting is back


def test_running_out_of_the_limit_is_one_clear_line_and_changes_nothing(demo, tmp_path):
    db = copy_store(demo, tmp_path)
    # 10 MB past what the program itself needs: DuckDB gets 6 MB and runs out mid-analysis.
    result = run("analyse", "--force", "--memory-limit", "410MB", "--db", db)
    assert result.exit_code == 1
    assert result.output == (
        "Error: out of memory while analysing within --memory-limit 410.0 MB (DuckDB 6.0 MB, "
        "batches of 7,500 fixes); use a smaller --batch-rows or a larger --memory-limit\n")
    with Store.open(db) as store:
        assert results(store) == demo[1]
        assert store.con.execute("SELECT count(*) FROM analyses").fetchall()[0][0] == 1


@pytest.mark.parametrize("args, message", [
    (("--memory-limit", "lots"), "is not a size like 4GB"),
    (("--batch-rows", "0"), "0 is not in the range x>=1"),
    (("--scheduler", "local:2"), "--scheduler and --work go with --engine dask"),
])
def test_bad_memory_arguments_exit_2(tmp_path, args, message):
    result = run("analyse", *args, "--db", tmp_path / "none.duckdb")
    assert result.exit_code == 2 and message in result.output


def test_the_cli_analyses_within_a_limit(demo, tmp_path):
    db = copy_store(demo, tmp_path)
    result = run("analyse", "--force", "--memory-limit", "1GB", "--batch-rows", "50000", "--db", db)
    assert result.exit_code == 0, result.output
    assert "analysed 144 shifts" in result.output
    with Store.open(db) as store:
        assert results(store) == demo[1]


# -- export and import --------------------------------------------------------------------------
def fresh_store(path):
    """The sample borough's wards, stations and roster, without fixes or results."""
    bdir, tdir = sample_dirs()
    store = Store.create(path)
    load_wards(store, [bdir / "sample_wards.geojson"], "ward_code", "ward_name",
               borough_code_field="borough_code", borough_name_field="borough_name")
    load_stations(store, bdir / "sample_stations.geojson")
    load_roster(store, tdir / "officers.csv", tdir / "shifts.csv")
    return store


def test_export_is_hive_partitioned_by_local_date_and_borough(demo, tmp_path):
    with Store.open(demo[0], read_only=True) as store:
        report = export_store(store, tmp_path / "out")
        pings = store.count("pings")
    assert report.rows == {"fixes": pings, "shift_results": 144, "track_runs": demo[1][FIXES][0][0],
                           "presence": demo[1][PRESENCE][0][0]}
    days = sorted(p.name for p in (tmp_path / "out" / "fixes").iterdir())
    assert days[0] == "date=2026-11-16" and len(days) == report.partitions["fixes"]
    assert {p.name for p in (tmp_path / "out" / "fixes").glob("*/*")} == {"borough=X09000001"}
    for table in ("shift_results", "track_runs", "presence"):
        assert list((tmp_path / "out" / table).glob("date=*/borough=X09000001/*.parquet"))
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    wrong = con.execute(
        f"SELECT count(*) FROM read_parquet('{tmp_path}/out/fixes/**/*.parquet', hive_partitioning = true) "
        "WHERE CAST(timezone('Europe/London', ts) AS DATE) <> date").fetchall()[0][0]
    assert wrong == 0
    with Store.open(demo[0], read_only=True) as store, pytest.raises(StoreError, match="already holds"):
        export_store(store, tmp_path / "out")


def test_round_trip_through_parquet(demo, tmp_path):
    with Store.open(demo[0], read_only=True) as store:
        export_store(store, tmp_path / "out")
    with fresh_store(tmp_path / "b.duckdb") as store:
        report = import_store(store, tmp_path / "out")
        assert report.fixes["accepted"] == report.fixes["rows_read"] == store.count("pings")
        assert report.rows["track_runs"] == demo[1][FIXES][0][0]
        store.con.execute(f"ATTACH '{demo[0]}' AS a (READ_ONLY)")
        fixes = "SELECT officer_id, ts, lat, lon, accuracy_m FROM {}pings ORDER BY officer_id, ts"
        assert store.con.execute(fixes.format("")).fetchall() == \
            store.con.execute(fixes.format("a.")).fetchall()
        assert results(store) == demo[1]
        # imported results count as up to date; recomputing them here gives the same numbers
        assert "up to date" in analyse(store).notes[0]
        analyse(store, force=True)
        assert results(store) == demo[1]


def test_cli_export_and_import_of_one_day(demo, tmp_path):
    out = tmp_path / "day"
    result = run("export", out, "--what", "fixes", "--from", "2026-11-17", "--to", "2026-11-17",
                 "--db", demo[0])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("fixes: ") and "in 1 partitions" in result.output
    assert [p.name for p in (out / "fixes").iterdir()] == ["date=2026-11-17"]
    assert not (out / "shift_results").exists()
    fresh_store(tmp_path / "b.duckdb").close()
    result = run("import", out, "--db", tmp_path / "b.duckdb")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("fixes: read ")
    again = run("import", out, "--db", tmp_path / "b.duckdb")
    assert "(already ingested)" in again.output


def test_results_for_another_roster_are_refused(demo, tmp_path):
    with Store.open(demo[0], read_only=True) as store:
        export_store(store, tmp_path / "out", what=("results",))
    from builders import tiny_world

    world = tiny_world(tmp_path)
    store = Store.create(tmp_path / "other.duckdb")
    load_wards(store, [world["wards"]], "code", "name", borough_code_field="bcode",
               borough_name_field="bname")
    load_roster(store, world["officers"], world["shifts"])
    with store, pytest.raises(StoreError, match=r"^144 imported shift results name shifts this "
                                                r"store does not have \(e\.g\. shift \d+\); load the "
                                                r"same roster first$"):
        import_store(store, tmp_path / "out")
    result = run("export", tmp_path / "x", "--what", "nothing", "--db", demo[0])
    assert result.exit_code == 2


def test_results_are_committed_in_chunks_and_an_interrupted_run_resumes(demo, tmp_path):
    with Store.open(copy_store(demo, tmp_path)) as store:
        for table in ("track_runs", "presence", "shift_results", "analyses"):
            store.con.execute(f"DELETE FROM {table}")
        plan = MemoryPlan.make("460MB")  # DuckDB 36 MB; chunks of 100,000 fixes
        assert (plan.batch_rows, plan.commit_rows) == (45_000, 100_000)
        seen = []

        def interrupt(n):
            seen.append(n)
            if sum(seen) > 150_000:
                raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            analyse(store, memory_limit="460MB", progress=interrupt)
        kept = store.count("shift_results")
        assert 0 < kept < 144 and store.count("analyses") == 0
        # each kept shift is complete: its track runs add up to its totals
        assert store.con.execute(
            "SELECT count(*) FROM shift_results r JOIN (SELECT shift_id, sum(n_fixes) AS n FROM "
            "track_runs GROUP BY shift_id) f USING (shift_id) WHERE f.n <> r.n_fixes").fetchall() == [(0,)]
        report = analyse(store, memory_limit="460MB")
        assert report.notes[0] == f"redone: {144 - kept} not analysed; {kept} up to date"
        assert results(store) == demo[1]


def test_results_exported_before_track_runs_are_refused_but_the_fixes_import(demo, tmp_path):
    import shutil

    with Store.open(demo[0], read_only=True) as store:
        export_store(store, tmp_path / "out")
    shutil.move(tmp_path / "out" / "track_runs", tmp_path / "out" / "fix_results")  # the old layout
    with fresh_store(tmp_path / "b.duckdb") as store:
        with pytest.raises(StoreError, match=r"exported by an older visibility .*\(--what fixes\)"):
            import_store(store, tmp_path / "out")
        assert store.count("pings") == 0 and store.count("shift_results") == 0
        report = import_store(store, tmp_path / "out", what=("fixes",))
        assert report.fixes["accepted"] > 0 and store.count("shift_results") == 0
