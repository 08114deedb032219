"""Hostile and broken input: every parser gives rows or one clear error, in bounded time."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builders import TWO_WARDS, write_wards
from visibility.boundaries import load_wards
from visibility.devices import load_assignments
from visibility.errors import VisibilityError
from visibility.policy import Policy
from visibility.roster import load_roster
from visibility.store import Store
from visibility.verify import Claim

FUZZ = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                      HealthCheck.too_slow])
nasty_text = st.text(alphabet=st.sampled_from(list("abc,;\"'\n\r\t =[]{}#:\\/-+.0123456789Z\x00\x1b\u202e\u00e9"
                                                 )), max_size=300)
csv_rows = st.lists(st.lists(st.one_of(nasty_text, st.sampled_from(
    ["O1", "W1", "W2", "2026-11-16T08:00:00Z", "2026-11-16T07:00:00Z", "neighbourhood",
     "abstracted", "", "O1;W2", "2026-13-01T00:00Z"])), min_size=0, max_size=6), max_size=8)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fuzz")
    db = folder / "f.duckdb"
    with Store.create(db) as store:
        load_wards(store, [write_wards(folder / "w.geojson", TWO_WARDS)], "code", "name",
                   borough_code="B", borough_name="B")
    return folder, db


def as_csv(header, rows):
    return "\n".join([",".join(header)] + [",".join(r) for r in rows]) + "\n"


@FUZZ
@given(rows=csv_rows, raw=st.booleans(), junk=nasty_text)
def test_roster_files_never_raise_anything_but_a_clear_error(base, rows, raw, junk):
    folder, db = base
    officers, shifts = folder / "o.csv", folder / "s.csv"
    officers.write_text(junk if raw else as_csv(["officer_id", "team", "ward_code"], rows),
                        encoding="utf-8", errors="surrogatepass")
    shifts.write_text(as_csv(["officer_id", "start", "end", "kind", "reason"], rows))
    with Store.open(db) as store:
        try:
            load_roster(store, officers, shifts)
        except VisibilityError as exc:
            assert "\n" not in str(exc).strip()
        finally:
            store.con.execute("DELETE FROM shifts; DELETE FROM officers; DELETE FROM officer_wards")


@FUZZ
@given(rows=csv_rows)
def test_device_assignment_files(base, rows):
    folder, db = base
    path = folder / "a.csv"
    path.write_text(as_csv(["device_id", "officer_id", "from", "to"], rows))
    with Store.open(db) as store:
        try:
            load_assignments(store, path)
        except VisibilityError:
            pass
        finally:
            store.con.execute("DELETE FROM device_assignments")


@FUZZ
@given(text=nasty_text, key=st.sampled_from(["max_gap_s", "h3_resolution", "timezone", "x", "pledge_line"]),
       value=st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True), st.text(max_size=20),
                       st.booleans()))
def test_policy_files(tmp_path_factory, text, key, value):
    path = tmp_path_factory.mktemp("p") / "p.toml"
    for body in (text, f"{key} = {json.dumps(value) if not isinstance(value, float) or value == value else 'nan'}\n"):
        path.write_text(body)
        try:
            Policy.load(path)
        except VisibilityError as exc:
            assert str(exc).startswith("policy")


@FUZZ
@given(text=nasty_text, claimed=st.one_of(st.floats(allow_nan=False), st.text(max_size=5)),
       scope=st.sampled_from(["team", "ward", "borough", "nope"]))
def test_claim_files(tmp_path_factory, text, claimed, scope):
    path = tmp_path_factory.mktemp("c") / "c.toml"
    for body in (text, f'scope = "{scope}"\nscope_id = "T"\nweek = "2026-W47"\nclaimed = {json.dumps(claimed)}\n'):
        path.write_text(body)
        try:
            Claim.load(path)
        except VisibilityError as exc:
            assert "\n" not in str(exc)


geojson_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.floats(allow_nan=False, allow_infinity=False, width=32),
              st.integers(-1000, 1000), st.text(max_size=5)),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(st.text(max_size=4), children, max_size=3)),
    max_leaves=20)


@FUZZ
@given(coords=st.lists(st.lists(st.tuples(st.floats(-200, 200), st.floats(-100, 100)), min_size=0, max_size=8),
                       max_size=3),
       props=st.dictionaries(st.sampled_from(["code", "name", "x"]), geojson_values, max_size=3),
       kind=st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString", "Nonsense"]))
def test_boundary_files(base, coords, props, kind):
    folder, _ = base
    geometry = {"type": kind, "coordinates": [coords] if kind == "MultiPolygon" else coords}
    path = folder / "fuzz.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection",
                                "features": [{"type": "Feature", "properties": props, "geometry": geometry}]}))
    with Store.create(folder / f"b{time.monotonic_ns()}.duckdb") as store:
        try:
            load_wards(store, [path], "code", "name", borough_code="B", borough_name="B")
        except VisibilityError as exc:
            assert "\n" not in str(exc).strip()


def test_geometry_bombs_are_refused_or_repaired_quickly(tmp_path):
    # A ward with half a million vertices is refused at once.
    n = 500_000
    angle = np.linspace(0, 2 * np.pi, n, endpoint=False)
    ring = np.column_stack([-0.1 + 0.01 * np.cos(angle), 51.5 + 0.01 * np.sin(angle)]).round(9).tolist()
    ring.append(ring[0])
    bomb = tmp_path / "bomb.geojson"
    bomb.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "B1", "name": "Bomb"},
         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}))
    started = time.monotonic()
    with Store.create(tmp_path / "b.duckdb") as store:
        with pytest.raises(VisibilityError, match="has 500,001 vertices"):
            load_wards(store, [bomb], "code", "name", borough_code="B", borough_name="B")
        # A self-intersecting bow-tie is repaired and reported.
        bowtie = tmp_path / "bowtie.geojson"
        bowtie.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "T1", "name": "Tie"},
             "geometry": {"type": "Polygon", "coordinates": [[[-0.1, 51.5], [-0.09, 51.51], [-0.09, 51.5],
                                                              [-0.1, 51.51], [-0.1, 51.5]]]}}]}))
        report = load_wards(store, [bowtie], "code", "name", borough_code="B", borough_name="B")
        assert report.repaired == ["T1"]
        # Metres in a file that claims degrees.
        metres = tmp_path / "metres.geojson"
        metres.write_text(json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {"code": "M1", "name": "M"},
             "geometry": {"type": "Polygon", "coordinates": [[[530000, 180000], [530100, 180000],
                                                              [530100, 180100], [530000, 180000]]]}}]}))
        with pytest.raises(VisibilityError, match="not degrees|CRS is probably wrong"):
            load_wards(store, [metres], "code", "name", borough_code="B", borough_name="B")
    assert time.monotonic() - started < 60


@FUZZ
@given(text=nasty_text,
       shift=st.fixed_dictionaries({"name": st.text(max_size=5), "start": st.sampled_from(["07:00", "25:00", "x", ""]),
                                    "hours": st.one_of(st.integers(-5, 30), st.floats(allow_nan=True), st.text(max_size=3)),
                                    "days": st.lists(st.sampled_from(["mon", "sat", "funday", 3]), max_size=3)}),
       extra=st.dictionaries(st.sampled_from(["name", "bogus", "team", "gps", "beat"]), geojson_values, max_size=3))
def test_pattern_files(tmp_path_factory, text, shift, extra):
    from visibility.plan.pattern import load_pattern

    path = tmp_path_factory.mktemp("pat") / "p.toml"

    def toml_value(v):
        return json.dumps(v) if not isinstance(v, float) or v == v else "nan"

    body = "[[shift]]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in shift.items())
    for content in (text, body):
        path.write_text(content)
        try:
            load_pattern(path)
        except VisibilityError as exc:
            assert "\n" not in str(exc).strip()


@FUZZ
@given(cuts=st.lists(st.tuples(st.integers(0, 10_000), st.binary(min_size=0, max_size=16)), min_size=1, max_size=4))
def test_damaged_parquet_files_are_one_clear_error_or_rows(base, cuts):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from visibility.errors import VisibilityError as Clear
    from visibility.ingest import ingest_file

    folder, db = base
    good = folder / "good.parquet"
    if not good.exists():
        pq.write_table(pa.table({"officer_id": ["O1"] * 50,
                                 "timestamp": [f"2026-11-16T08:{m:02d}:00Z" for m in range(50)],
                                 "lat": [51.505] * 50, "lon": [-0.095] * 50}), good)
    data = bytearray(good.read_bytes())
    for at, junk in cuts:  # overwrite pieces, the footer's metadata included
        at = (at * 7919) % max(len(data), 1)
        data[at:at + len(junk)] = junk
    bad = folder / f"bad{time.monotonic_ns()}.parquet"
    bad.write_bytes(bytes(data))
    with Store.open(db) as store:
        try:
            report = ingest_file(store, bad)
            assert report.rows_read == report.accepted + report.rejected + report.duplicate + report.unassigned
        except Clear as exc:
            assert "\n" not in str(exc).strip()
        finally:
            store.con.execute("DELETE FROM pings; DELETE FROM rejects; DELETE FROM sources")
