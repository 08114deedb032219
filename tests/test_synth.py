"""The sample generator: borough, roster, tracks, and the committed sample files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest
import shapely
from shapely.geometry import MultiPoint, Polygon, box

from visibility.errors import RosterError
from visibility.synth import generate_tracks, make_borough, make_roster, write_sample
from visibility.synth._frame import LocalFrame
from visibility.synth.roster import ward_adjacency, ward_teams
from visibility.synth.sample import BAD_ROWS, CSV_FILE, CSV_HEADER, PARQUET_FILE, WEEK_START
from visibility.synth.tracks import SCHEMA, ward_hotspots

ROOT = Path(__file__).resolve().parent.parent
SEED = 2026
WEEK = dt.date(2026, 11, 16)


@pytest.fixture(scope="module")
def borough():
    return make_borough(SEED)


@pytest.fixture(scope="module")
def wards(borough):
    return borough[0]


@pytest.fixture(scope="module")
def stations(borough):
    return borough[1]


@pytest.fixture(scope="module")
def roster(wards):
    return make_roster(wards, WEEK, 5, 30, SEED)


@pytest.fixture(scope="module")
def tracks(wards, stations, roster):
    officers, shifts = roster
    return generate_tracks(wards, stations, officers, shifts, SEED, with_shift_index=True)


@pytest.fixture(scope="module")
def fixes(tracks):
    """The tracks as a DataFrame with epoch seconds, local metres and the shift's fields."""
    df = tracks.to_pandas()
    df["t"] = tracks["timestamp"].cast(pa.int64()).to_numpy() / 1e6
    return df


@pytest.fixture(scope="module")
def frame(wards):
    return LocalFrame.around_bounds(wards.total_bounds)


def _local(frame, geoms):
    return frame.geom_to_xy(np.asarray(geoms, dtype=object))


# ---------------------------------------------------------------------------
# Borough


def test_borough_is_deterministic_and_seeded(wards, stations):
    w2, s2 = make_borough(SEED)
    assert shapely.equals_exact(wards.geometry.to_numpy(), w2.geometry.to_numpy(), tolerance=0).all()
    assert shapely.equals_exact(stations.geometry.to_numpy(), s2.geometry.to_numpy(), tolerance=0).all()
    pd.testing.assert_frame_equal(wards.drop(columns="geometry"), w2.drop(columns="geometry"))
    w3, _ = make_borough(SEED + 1)
    assert not shapely.equals_exact(wards.geometry.to_numpy(), w3.geometry.to_numpy(), tolerance=0).all()


def test_wards_tile_the_borough_without_gaps_or_overlaps(wards):
    assert wards.crs.to_epsg() == 4326
    geoms = wards.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    union = shapely.union_all(geoms)
    assert union.geom_type == "Polygon" and len(union.interiors) == 0
    assert abs(shapely.area(geoms).sum() - union.area) <= 1e-9 * union.area
    # neighbours share edges: the total boundary is far shorter than the sum of the rings
    assert shapely.length(geoms).sum() > 1.7 * union.length


def test_ward_fields_and_codes(wards):
    assert list(wards.columns) == ["ward_code", "ward_name", "borough_code", "borough_name", "geometry"]
    assert wards.ward_code.tolist() == [f"X05{i:06d}" for i in range(1, 17)]
    assert wards.ward_name.is_unique and "Northbrook Common" in set(wards.ward_name)
    assert set(wards.borough_code) == {"X09000001"} and set(wards.borough_name) == {"Northbrook"}


def test_one_enclave_hole_and_one_detached_part(wards):
    geoms = wards.geometry.to_numpy()
    multi = [g for g in geoms if g.geom_type == "MultiPolygon"]
    assert len(multi) == 1 and len(multi[0].geoms) == 2
    holed = [g for g in geoms if g.geom_type == "Polygon" and len(g.interiors) > 0]
    assert len(holed) == 1 and len(holed[0].interiors) == 1
    assert not any(len(p.interiors) for g in multi for p in g.geoms)
    hole = Polygon(holed[0].interiors[0])
    enclave = wards.geometry[wards.ward_name == "Northbrook Common"].iloc[0]
    assert hole.equals(enclave)
    # the detached part touches no other part of its own ward
    a, b = multi[0].geoms
    assert a.distance(b) > 0


def test_borough_size_place_and_vertex_spacing(wards, frame):
    local = _local(frame, wards.geometry)
    minx, miny, maxx, maxy = shapely.union_all(local).bounds
    assert 6000 < maxx - minx < 8000 and 5000 < maxy - miny < 7000
    c = shapely.union_all(wards.geometry.to_numpy()).centroid
    assert abs(c.y - 51.565) < 0.01 and abs(c.x + 0.045) < 0.015
    xy = shapely.get_coordinates(wards.geometry.to_numpy())
    assert np.array_equal(np.round(xy, 6), xy)
    rings = shapely.get_rings(shapely.get_parts(local))
    steps = np.concatenate([np.hypot(*np.diff(shapely.get_coordinates(r), axis=0).T) for r in rings])
    assert 30 < np.median(steps) < 100 and steps.max() < 200


def test_stations(wards, stations, frame):
    assert list(stations.columns) == ["station_id", "name", "radius_m", "geometry"]
    kinds = stations.geometry.geom_type.tolist()
    assert sorted(kinds) == ["Point", "Point", "Polygon"]
    points = stations[stations.geometry.geom_type == "Point"]
    assert (points.radius_m == 50).all()
    assert stations.loc[stations.geometry.geom_type == "Polygon", "radius_m"].isna().all()
    footprint = _local(frame, stations.geometry[stations.geometry.geom_type == "Polygon"])[0]
    assert 1000 < footprint.area < 1400
    borough = shapely.union_all(_local(frame, wards.geometry))
    gaps = shapely.distance(borough, _local(frame, stations.geometry))
    assert (gaps == 0).sum() == 2
    assert 100 < gaps.max() < 1000  # the shared hub just outside


# ---------------------------------------------------------------------------
# Roster


def test_roster_shape_and_determinism(wards, roster):
    officers, shifts = roster
    assert list(officers.columns) == ["officer_id", "team", "ward_code", "role"]
    assert list(shifts.columns) == ["officer_id", "start", "end", "kind", "reason"]
    assert len(officers) == 30 and officers.officer_id.is_unique
    assert officers.officer_id.str.fullmatch(r"PC\d{4}").all()
    assert set(officers.role) <= {"PC", "PCSO"}
    o2, s2 = make_roster(wards, WEEK, 5, 30, SEED)
    pd.testing.assert_frame_equal(officers, o2)
    pd.testing.assert_frame_equal(shifts, s2)
    _, s3 = make_roster(wards, WEEK, 5, 30, SEED + 1)
    assert not shifts.equals(s3)


def test_roster_wards_exist_and_teams_are_adjacent(wards, roster):
    officers, _ = roster
    codes = set(wards.ward_code)
    per_officer = officers.ward_code.str.split(";")
    assert all(set(c) <= codes for c in per_officer)
    assert (per_officer.str.len() == 1).any()  # some dedicated to one ward
    adj = ward_adjacency(wards)
    index = {c: i for i, c in enumerate(wards.ward_code)}
    teams = officers.groupby("team").ward_code.apply(lambda s: set(";".join(s).split(";")))
    assert len(teams) == 5
    assert set().union(*teams) == codes  # every ward has a team
    for team_codes in teams:
        members = {index[c] for c in team_codes}
        assert 2 <= len(members) <= 4
        seen, todo = set(), [min(members)]
        while todo:
            w = todo.pop()
            seen.add(w)
            todo += [int(j) for j in adj[w] if int(j) in members and int(j) not in seen]
        assert seen == members


def test_shifts_do_not_overlap_and_follow_the_patterns(roster):
    officers, shifts = roster
    assert set(shifts.officer_id) <= set(officers.officer_id)
    assert set(shifts.kind) <= {"neighbourhood", "abstracted"}
    assert ((shifts.kind == "neighbourhood") == (shifts.reason == "")).all()
    assert 0.05 <= (shifts.kind == "abstracted").mean() <= 0.12
    assert 4.5 <= shifts.groupby("officer_id").size().mean() <= 5.5
    start = shifts.start.dt.tz_convert("Europe/London")
    end = shifts.end.dt.tz_convert("Europe/London")
    assert set(zip(start.dt.hour, (end - start) / pd.Timedelta(hours=1))) <= {(7, 8.0), (14, 8.0), (22, 9.0)}
    assert start.dt.date.min() == WEEK and start.dt.date.max() == WEEK + dt.timedelta(days=6)
    assert (start.astype(str).str.endswith("+00:00")).all()  # GMT in November
    for _, g in shifts.sort_values(["officer_id", "start"]).groupby("officer_id"):
        assert (g.start.to_numpy()[1:] >= g.end.to_numpy()[:-1]).all()


def test_roster_spreads_over_a_large_ward_set():
    rng = np.random.default_rng(3)
    area = box(-15000, -12000, 15000, 12000)
    cells = shapely.voronoi_polygons(MultiPoint(rng.uniform([-15000, -12000], [15000, 12000], (300, 2))),
                                     extend_to=area, ordered=True)
    frame = LocalFrame(51.5, -0.1)
    geoms = frame.geom_to_lonlat(shapely.intersection(np.array(list(cells.geoms)), area))
    wards = gpd.GeoDataFrame({"ward_code": [f"E05{i:06d}" for i in range(300)]}, geometry=geoms, crs=4326)
    officers, shifts = make_roster(wards, WEEK, 100, 400, 1)
    covered = set(";".join(officers.ward_code).split(";"))
    assert covered == set(wards.ward_code)
    sizes = np.array([len(t) for t in ward_teams(wards, 100)])
    assert ((sizes >= 2) & (sizes <= 4)).mean() > 0.9
    assert len(officers) == 400 and officers.team.nunique() == 100


# ---------------------------------------------------------------------------
# Tracks


def test_tracks_schema(tracks):
    assert tracks.drop_columns(["shift_index"]).schema.equals(SCHEMA)
    assert 150_000 < tracks.num_rows < 400_000


def test_tracks_are_deterministic_and_seeded(wards, stations, roster):
    officers, shifts = roster
    few = officers.head(4)
    their = shifts[shifts.officer_id.isin(few.officer_id)]
    a = generate_tracks(wards, stations, few, their, 7)
    b = generate_tracks(wards, stations, few, their, 7)
    c = generate_tracks(wards, stations, few, their, 8)
    assert a.equals(b)
    assert not a.equals(c)


def test_tracks_from_the_roster_files_match(wards, stations, roster):
    officers, shifts = roster
    few = officers.head(3)
    their = shifts[shifts.officer_id.isin(few.officer_id)].reset_index(drop=True)
    as_text = their.assign(start=their.start.map(pd.Timestamp.isoformat), end=their.end.map(pd.Timestamp.isoformat),
                           reason=their.reason.replace("", np.nan))
    a = generate_tracks(wards, stations, few, their, 5)
    b = generate_tracks(wards, stations, few, as_text, 5)
    assert a.equals(b)


def test_fixes_fall_within_their_shifts(fixes, roster):
    _, shifts = roster
    start = shifts.start.astype("int64").to_numpy() / 1e6
    end = shifts.end.astype("int64").to_numpy() / 1e6
    s = fixes.shift_index.to_numpy()
    assert (fixes.officer_id.to_numpy() == shifts.officer_id.to_numpy()[s]).all()
    assert (fixes.t.to_numpy() >= start[s] - 30).all() and (fixes.t.to_numpy() <= end[s] + 30).all()
    assert (fixes.t % 1 == 0).all()  # whole seconds
    ordered = fixes.drop_duplicates().sort_values(["shift_index", "t"])
    steps = ordered.groupby("shift_index").t.diff()
    cadence = steps.groupby(ordered.shift_index).median()
    assert set(cadence) == {15.0, 30.0}  # most devices at 15 s, some at 30 s
    assert (steps >= 120).sum() > 50  # dropouts


def test_file_level_mess(fixes):
    dup_share = fixes.drop(columns=["t"]).duplicated().mean()
    assert 0.0015 < dup_share < 0.005
    back = fixes.groupby("officer_id").t.diff() < 0
    assert back.sum() > 5


def test_gps_quality_mix(fixes, wards, frame):
    acc = fixes.accuracy_m.to_numpy()
    assert ((acc >= 3) & (acc <= 20)).mean() > 0.8
    assert 0.001 < (acc > 100).mean() < 0.01
    x, y = frame.to_xy(fixes.lon.to_numpy(), fixes.lat.to_numpy())
    far = shapely.distance(shapely.union_all(_local(frame, wards.geometry)), shapely.points(x, y)) > 2000
    assert far.sum() > 0  # spikes (and abstracted trips)


def _share_on_patch(fixes, wards, stations, roster, frame):
    """Per fix, whether it is inside the officer's own wards and outside every station geofence."""
    officers, shifts = roster
    x, y = frame.to_xy(fixes.lon.to_numpy(), fixes.lat.to_numpy())
    geoms = dict(zip(wards.ward_code, _local(frame, wards.geometry)))
    st = _local(frame, stations.geometry)
    fence = shapely.union_all([g.buffer(50) if g.geom_type == "Point" else g for g in st])
    on = np.zeros(len(x), dtype=bool)
    for oid, codes in zip(officers.officer_id, officers.ward_code):
        m = (fixes.officer_id == oid).to_numpy()
        patch = shapely.union_all([geoms[c] for c in codes.split(";")])
        on[m] = shapely.contains_xy(patch, x[m], y[m])
    on &= ~shapely.contains_xy(fence, x, y)
    kind = shifts.kind.to_numpy()[fixes.shift_index.to_numpy()]
    return on, kind


def test_fixes_mostly_on_the_officers_own_wards(fixes, wards, stations, roster, frame):
    on, kind = _share_on_patch(fixes, wards, stations, roster, frame)
    neighbourhood = kind == "neighbourhood"
    assert on[neighbourhood].mean() > 0.7
    assert on[~neighbourhood].mean() < 0.2  # abstracted shifts are spent elsewhere
    per_officer = pd.Series(on[neighbourhood]).groupby(fixes.officer_id.to_numpy()[neighbourhood]).mean()
    assert (per_officer > 0.85).sum() >= 3  # some clearly over the 80% line
    assert (per_officer < 0.70).sum() >= 3  # and some clearly under it


def test_shifts_start_at_the_station(fixes, stations, roster, frame):
    _, shifts = roster
    start = shifts.start.astype("int64").to_numpy() / 1e6
    early = (fixes.t.to_numpy() - start[fixes.shift_index.to_numpy()] < 600) & (fixes.accuracy_m < 100).to_numpy()
    x, y = frame.to_xy(fixes.lon.to_numpy()[early], fixes.lat.to_numpy()[early])
    st = _local(frame, shapely.centroid(stations.geometry.to_numpy()))
    d = np.min([np.hypot(x - p.x, y - p.y) for p in st], axis=0)
    assert np.mean(d < 25) > 0.9


def test_unknown_ward_is_a_roster_error(wards, stations, roster):
    officers, shifts = roster
    bad = officers.head(1).assign(ward_code="X05999999")
    with pytest.raises(RosterError):
        generate_tracks(wards, stations, bad, shifts[shifts.officer_id == bad.officer_id.iloc[0]], 1)


def test_hotspots_are_inside_their_wards(wards):
    hot = ward_hotspots(wards, SEED)
    assert len(hot) == 3 * len(wards)
    geoms = dict(zip(wards.ward_code, wards.geometry))
    assert all(geoms[c].contains(shapely.Point(lon, lat)) or geoms[c].distance(shapely.Point(lon, lat)) < 1e-5
               for c, lat, lon in hot.itertuples(index=False))


# ---------------------------------------------------------------------------
# The committed sample files


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    out = tmp_path_factory.mktemp("sample")
    counts = write_sample(out / "boundaries", out / "sample_tracks", seed=SEED)
    return out, counts


@pytest.mark.parametrize(
    "rel",
    [
        "boundaries/sample_wards.geojson",
        "boundaries/sample_stations.geojson",
        "sample_tracks/officers.csv",
        "sample_tracks/shifts.csv",
        f"sample_tracks/{CSV_FILE}",
    ],
)
def test_committed_text_files_are_current(regenerated, rel):
    out, _ = regenerated
    assert (ROOT / rel).read_bytes() == (out / rel).read_bytes(), f"{rel} is stale: run sample_tracks/generate.py"


def test_committed_parquet_is_current(regenerated):
    out, counts = regenerated
    committed = pq.read_table(ROOT / "sample_tracks" / PARQUET_FILE)
    fresh = pq.read_table(out / "sample_tracks" / PARQUET_FILE)
    assert committed.schema.equals(SCHEMA)
    assert committed.equals(fresh), "the parquet sample is stale: run sample_tracks/generate.py"
    assert committed.num_rows == counts[PARQUET_FILE]
    meta = pq.ParquetFile(ROOT / "sample_tracks" / PARQUET_FILE).metadata
    assert meta.row_group(0).column(0).compression == "ZSTD"


def test_sample_split_by_local_day():
    wk = pq.read_table(ROOT / "sample_tracks" / PARQUET_FILE)
    mon = pd.read_csv(ROOT / "sample_tracks" / CSV_FILE, dtype=str, keep_default_na=False)
    shifts = pd.read_csv(ROOT / "sample_tracks" / "shifts.csv")
    first_day = pd.to_datetime(shifts.start, utc=True).dt.tz_convert("Europe/London").dt.date
    assert list(mon.columns) == list(CSV_HEADER)
    assert len(mon) > 20_000
    monday_start = pd.Timestamp(WEEK_START.isoformat(), tz="Europe/London")
    first = pc.min(wk["timestamp"]).as_py()
    assert first >= (monday_start + pd.Timedelta(days=1) - pd.Timedelta(seconds=30)).to_pydatetime()  # Tuesday on
    assert (first_day == WEEK_START).sum() > 0
    times = pd.to_datetime(mon.time, format="%Y-%m-%dT%H:%M:%SZ", errors="coerce", utc=True)
    assert times.isna().sum() == 2  # the two unreadable times
    # every Monday fix belongs to a shift that started on Monday (nights run into Tuesday)
    assert times.min() >= pd.Timestamp("2026-11-16T06:59:30Z")
    assert times.max() <= pd.Timestamp("2026-11-17T07:00:30Z")


def test_bad_rows_in_the_monday_csv_are_where_the_readme_says():
    lines = (ROOT / "sample_tracks" / CSV_FILE).read_text().splitlines()
    assert lines[0] == ",".join(CSV_HEADER)
    readme = (ROOT / "sample_tracks" / "README.md").read_text()
    for line, spoiled, text in BAD_ROWS:
        fields = dict(zip(CSV_HEADER, lines[line - 1].split(",")))
        values = text.split(",") if "," in spoiled else [text]
        assert [fields[f] for f in spoiled.split(",")] == values
        assert f"| {line} |" in readme


def test_committed_geojson_reads_back_as_the_generated_borough(wards, stations):
    w = gpd.read_file(ROOT / "boundaries" / "sample_wards.geojson")
    s = gpd.read_file(ROOT / "boundaries" / "sample_stations.geojson")
    assert w.crs.to_epsg() == 4326
    assert shapely.equals_exact(w.geometry.to_numpy(), wards.geometry.to_numpy(), tolerance=0).all()
    assert shapely.equals_exact(s.geometry.to_numpy(), stations.geometry.to_numpy(), tolerance=0).all()
    assert w.ward_code.tolist() == wards.ward_code.tolist()
    assert s.radius_m.isna().sum() == 1


def test_committed_files_are_small():
    files = list((ROOT / "boundaries").glob("sample_*")) + [
        p for p in (ROOT / "sample_tracks").iterdir() if p.suffix in {".csv", ".parquet"}
    ]
    assert sum(p.stat().st_size for p in files) < 6 * 1024 * 1024
