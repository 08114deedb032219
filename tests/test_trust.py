"""Trust: crashes, concurrent use, versions, permissions, retention and hostile names."""

from __future__ import annotations

import io
import json
import signal
import stat
import subprocess
import sys
import textwrap
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from builders import tiny_world
from visibility.cli import main
from visibility.errors import StoreBusyError, StoreError
from visibility.store import Store

ROOT = Path(__file__).resolve().parents[1]


def run(*args, db):
    return CliRunner().invoke(main, [str(a) for a in args] + ["--db", str(db)])


def loaded_store(tmp_path, world=None):
    world = world or tiny_world(tmp_path)
    db = tmp_path / "t.duckdb"
    for step in (("boundaries", "load", world["wards"], "--code-field", "code", "--name-field", "name",
                  "--borough-code-field", "bcode", "--borough-name-field", "bname"),
                 ("stations", "load", world["stations"]),
                 ("roster", "load", "--officers", world["officers"], "--shifts", world["shifts"])):
        result = run(*step, db=db)
        assert result.exit_code == 0, result.output
    return db, world


@contextmanager
def hold_store(db: Path, seconds: float):
    """Another process that opens the store for writing and keeps it for a while."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(ROOT)!r})
        from visibility.store import Store
        s = Store.open({str(db)!r})
        print("held", flush=True)
        time.sleep({seconds})
        s.close()
    """)
    with subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True) as proc:
        assert proc.stdout.readline().strip() == "held"
        yield proc
        proc.wait(timeout=60)


def test_a_second_writer_gets_a_clear_line_and_can_wait(tmp_path):
    db, world = loaded_store(tmp_path)
    with hold_store(db, 3):
        result = run("ingest", world["fixes"], db=db)
        assert result.exit_code == 1
        assert result.output.startswith(f"Error: the store {db} is in use by another process")
        assert result.output.count("\n") == 1
        reader = run("summary", db=db)
        assert "in use by another process" in reader.output
        started = time.monotonic()
        waited = CliRunner().invoke(main, ["--wait", "30", "ingest", str(world["fixes"]), "--db", str(db)])
        assert waited.exit_code == 0, waited.output
        assert time.monotonic() - started > 0.5
    with hold_store(db, 2):
        with pytest.raises(StoreBusyError):
            Store.open(db, wait_s=0.3)


def test_killed_ingest_leaves_all_or_nothing_and_a_rerun_completes(tmp_path):
    db, world = loaded_store(tmp_path)
    big = tmp_path / "big.csv"
    lines = ["officer_id,timestamp,lat,lon"]
    for k in range(300_000):
        t = 1795334400 + k
        lines.append(f"O{k % 7},{t},{51.5 + (k % 100) * 1e-5:.6f},-0.095")
    big.write_text("\n".join(lines) + "\n")
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from visibility.store import Store
        from visibility.ingest import ingest_file
        with Store.open({str(db)!r}) as s:
            ingest_file(s, {str(big)!r})
    """)
    for delay in (0.3, 0.8, 1.5):
        proc = subprocess.Popen([sys.executable, "-c", code])
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        with Store.open(db, read_only=True) as store:
            sources, pings = store.count("sources"), store.count("pings")
            accepted = store.con.execute("SELECT coalesce(sum(rows_accepted), 0) FROM sources").fetchall()[0][0]
        assert pings == accepted  # either the whole file landed, or none of it
        assert (sources, pings) in ((0, 0), (1, 300_000))
    result = run("ingest", big, db=db)
    assert result.exit_code == 0
    with Store.open(db, read_only=True) as store:
        assert store.count("pings") == 300_000 and store.count("sources") == 1


@pytest.mark.parametrize("version, message", [
    ("99", "was made by a newer visibility (store schema 99"),
    ("0", "has no store schema version; it was not made by visibility"),
])
def test_stores_of_unknown_versions_are_refused(tmp_path, version, message):
    db = tmp_path / "v.duckdb"
    Store.create(db).close()
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", [version])
    con.close()
    with pytest.raises(StoreError, match=message.replace("(", r"\(")):
        Store.open(db)


def test_a_plain_duckdb_file_is_not_a_store(tmp_path):
    import duckdb

    db = tmp_path / "other.duckdb"
    duckdb.connect(str(db)).execute("CREATE TABLE x (a INT)").close()
    result = run("summary", db=db)
    assert result.output == f"Error: {db} is a DuckDB file but not a visibility store\n"


def test_store_and_key_files_are_readable_by_the_owner_only(tmp_path):
    from visibility.pseudonym import load_key, pseudonym

    db = tmp_path / "p.duckdb"
    Store.create(db).close()
    key = load_key(db)
    for path in (db, Path(str(db) + ".key")):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_key(db) == key
    assert pseudonym("PC1", key) == pseudonym("PC1", key) != pseudonym("PC2", key)


def test_a_store_where_nothing_can_be_written_is_one_line(tmp_path):
    result = run("init", db="/proc/visibility.duckdb")
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1


def test_purge_deletes_raw_data_keeps_aggregates_and_leaves_nothing_to_recover(tmp_path):
    world = tiny_world(tmp_path)
    marker = "PURGE-ME-" + "Q" * 40
    text = world["fixes"].read_text().replace("\nO1,", f"\n{marker},")
    world["fixes"].write_text(text + f"{marker},not-a-time,51.5,-0.1,5\n")
    world["officers"].write_text(f"officer_id,team,ward_code\n{marker},T,W1\n")
    world["shifts"].write_text(f"officer_id,start,end,kind\n{marker},2026-11-16T08:00:00Z,2026-11-16T09:00:00Z,neighbourhood\n")
    db, _ = loaded_store(tmp_path, world)
    assert run("ingest", world["fixes"], db=db).exit_code == 0
    assert run("analyse", db=db).exit_code == 0
    import duckdb

    con = duckdb.connect(str(db))
    con.execute("DELETE FROM officers")  # leave the marker only in raw data and results
    con.execute("DELETE FROM officer_wards")
    con.execute("DELETE FROM shifts")
    con.execute("UPDATE shift_results SET officer_id = 'X'")
    con.execute("UPDATE sources SET path = 'x.csv'")
    con.execute("CHECKPOINT")
    con.close()
    result = CliRunner().invoke(main, ["purge", "--before", "2026-11-17", "--yes", "--json", "--db", str(db)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["counts_before"]["pings"] == 240 and report["counts_after"]["pings"] == 0
    assert report["counts_before"]["rejects"] == 1 and report["counts_after"]["rejects"] == 0
    assert report["kept"]["shift_results"] == 1
    assert marker.encode() not in db.read_bytes()
    assert stat.S_IMODE(db.stat().st_mode) == 0o600
    with Store.open(db, read_only=True) as store:
        assert store.count("track_runs") == 0 and store.count("presence") > 0


HOSTILE = ["O'Brien; DROP TABLE pings; --", "<script>alert(1)</script>", "tab\there\x1b[31m",
           "\u202eevil\u200f", "x" * 10_000]


def test_hostile_names_are_stored_and_shown_literally(tmp_path):
    world = tiny_world(tmp_path)
    db, _ = loaded_store(tmp_path, world)
    import csv as csvmod

    officers = tmp_path / "hostile_officers.csv"
    with officers.open("w", newline="") as fh:
        w = csvmod.writer(fh)
        w.writerow(["officer_id", "team", "ward_code"])
        for i, name in enumerate(HOSTILE):
            w.writerow([name, name, "W1"])
    assert run("roster", "load", "--officers", officers, db=db).exit_code == 0
    with Store.open(db, read_only=True) as store:
        stored = sorted(r[0] for r in store.con.execute("SELECT team FROM officers").fetchall())
    assert set(HOSTILE) <= set(stored)
    shifts = tmp_path / "hostile_shifts.csv"
    with shifts.open("w", newline="") as fh:
        w = csvmod.writer(fh)
        w.writerow(["officer_id", "start", "end", "kind"])
        for name in HOSTILE:
            w.writerow([name, "2026-11-16T08:00:00Z", "2026-11-16T09:00:00Z", "neighbourhood"])
    assert run("roster", "load", "--shifts", shifts, db=db).exit_code == 0
    assert run("analyse", db=db).exit_code == 0
    table = run("summary", "--by", "team", db=db).output
    assert "\x1b" not in table and "\u202e" not in table and "\\x1b" in table
    data = json.loads(run("summary", "--by", "team", "--format", "json", db=db).output)
    assert set(HOSTILE) <= {r["team"] for r in data["rows"]}
    csv_text = run("summary", "--by", "team", "--format", "csv", db=db).output
    teams = {r["team"] for r in csvmod.DictReader(io.StringIO(csv_text))}
    assert set(HOSTILE) <= teams


def test_small_groups_are_marked_and_can_be_blanked_for_sharing(tmp_path):
    db, world = loaded_store(tmp_path)
    assert run("ingest", world["fixes"], db=db).exit_code == 0
    assert run("analyse", db=db).exit_code == 0
    rows = json.loads(run("summary", "--by", "ward", "--format", "json", db=db).output)["rows"]
    assert rows[0]["small_group"] is True and rows[0]["visible_share"] > 0
    shared = json.loads(run("summary", "--by", "ward", "--format", "json", "--suppress-small",
                            db=db).output)["rows"]
    assert shared[0]["visible_share"] is None and shared[0]["officers"] == 1
    assert "(small group)" in run("summary", "--suppress-small", db=db).output
    policy = tmp_path / "p.toml"
    policy.write_text("min_group_officers = 1\n")
    one = json.loads(run("summary", "--by", "ward", "--format", "json", "--policy", policy,
                         db=db).output)["rows"]
    assert one[0]["small_group"] is False


def test_a_store_made_by_schema_1_still_opens_and_reads_the_same(tmp_path):
    """tests/data/store-v1.duckdb.gz was made by schema version 1 (the tiny world, analysed).

    When the schema moves on, opening it must migrate it (MIGRATIONS) and keep its results.
    """
    import gzip
    import shutil

    from visibility.summary import summarise

    db = tmp_path / "old.duckdb"
    with gzip.open(ROOT / "tests" / "data" / "store-v1.duckdb.gz", "rb") as src, db.open("wb") as dst:
        shutil.copyfileobj(src, dst)
    with Store.open(db) as store:
        version = store.con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
        from visibility.store import SCHEMA_VERSION

        assert version == [(str(SCHEMA_VERSION),)]
        rec = summarise(store, "officer-shift").records()[0]
        assert (rec["officer_id"], rec["duty_s"]) == ("O1", 3600.0)
        assert rec["on_patch_s"] + rec["off_patch_s"] + rec["transit_s"] + rec["in_station_s"] \
            + rec["no_signal_s"] == 3600.0
        assert store.count("pings") == 240
        # schema 2 keeps the track as runs: the migrated runs are those analysis makes now
        runs = "SELECT * FROM track_runs ORDER BY shift_id, first_ts"
        presence = "SELECT * FROM presence ORDER BY ALL"
        migrated = store.con.execute(runs).fetchall(), store.con.execute(presence).fetchall()
        assert sum(r[3] for r in migrated[0]) == 240 and len(migrated[0]) < 240
        from visibility.analyse import analyse

        analyse(store, force=True)
        assert (store.con.execute(runs).fetchall(), store.con.execute(presence).fetchall()) == migrated


def test_killed_analyse_and_report_leave_all_or_nothing_and_a_rerun_completes(tmp_path):
    import shutil

    import duckdb

    from visibility.demo import run_demo

    done = run_demo(tmp_path / "demo")
    with Store.open(done.store, read_only=True) as store:
        want = store.con.execute("SELECT sum(on_patch_us), count(*) FROM shift_results").fetchall()[0]
        fixes = store.count("track_runs")
    db = tmp_path / "again.duckdb"
    shutil.copy(done.store, db)
    con = duckdb.connect(str(db))
    for table in ("shift_results", "track_runs", "presence", "analyses"):
        con.execute(f"DELETE FROM {table}")
    con.close()
    code = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from visibility.cli import main
        main([sys.argv[1], "--db", {str(db)!r}] + sys.argv[2:])
    """)
    page = tmp_path / "report.html"
    for delay in (0.8, 1.6, 2.4):
        for args in (["analyse"], ["report", "--borough", "X09000001", "--week", "2026-W47",
                                   "--out", str(page)]):
            proc = subprocess.Popen([sys.executable, "-c", code, *args],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            with Store.open(db, read_only=True) as store:
                shifts, results = store.count("shift_results"), store.count("track_runs")
            assert (shifts, results) in ((0, 0), (want[1], fixes))
            if page.exists():  # a report is there whole, or not at all
                assert page.read_text().rstrip().endswith("</html>")
    result = run("analyse", db=db)
    assert result.exit_code == 0
    with Store.open(db, read_only=True) as store:
        got = store.con.execute("SELECT sum(on_patch_us), count(*) FROM shift_results").fetchall()[0]
    assert got == want


def test_a_full_disk_is_one_line_and_nothing_half_written(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here to fill up: {made.stderr.strip()}")
    try:
        db = mount / "s.duckdb"
        assert run("init", db=db).exit_code == 0
        assert run("boundaries", "load", ROOT / "boundaries" / "sample_wards.geojson", "--code-field",
                   "ward_code", "--name-field", "ward_name", "--borough-code", "X", db=db).exit_code == 0
        result = run("ingest", ROOT / "sample_tracks" / "fixes_2026-W47.parquet", db=db)
        assert result.exit_code == 1
        assert result.output.startswith("Error: the disk is full (")
        assert result.output.count("\n") == 1
        with Store.open(db, read_only=True) as store:
            assert (store.count("pings"), store.count("sources"), store.count("wards")) == (0, 0, 16)
    finally:
        subprocess.run(["umount", str(mount)], capture_output=True)
