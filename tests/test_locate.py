"""Ward location: the H3 index plus exact tests agree with brute-force shapely."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from builders import TWO_WARDS, write_wards
from conftest import shared_path
from visibility.boundaries import load_wards, stored_wards
from visibility.kernels import latlng_to_cells
from visibility.locate import NO_WARD, StationIndex, WardIndex
from visibility.store import Store


def brute_force(geoms, lat, lon):
    """The first ward (in code order) whose closed polygon holds each point."""
    out = np.full(len(lat), NO_WARD, np.int32)
    for w in range(len(geoms) - 1, -1, -1):  # last wins, so iterate backwards
        shapely.prepare(geoms[w])
        out[shapely.intersects_xy(geoms[w], lon, lat)] = w
    return out


def points_near_edges(geoms, n, rng, spread_deg=3e-4):
    """Points on and near ward boundaries: vertices, points along edges, small offsets."""
    rings = shapely.get_coordinates(shapely.boundary(np.asarray(geoms, dtype=object)))
    pick = rings[rng.integers(0, len(rings), n)]
    nxt = rings[np.minimum(rng.integers(0, len(rings), n) , len(rings) - 1)]
    kind = rng.integers(0, 3, n)
    pts = pick.copy()
    along = kind == 1
    pts[along] = pick[along] + (nxt[along] - pick[along]) * rng.random((along.sum(), 1)) * 1e-3
    jitter = kind == 2
    pts[jitter] = pick[jitter] + rng.normal(0, spread_deg, (jitter.sum(), 2))
    return pts[:, 1], pts[:, 0]


@pytest.fixture(scope="module")
def london(tmp_path_factory):
    folder = shared_path("london_wards_2013")
    files = sorted(folder.glob("*.geojson"))
    path = tmp_path_factory.mktemp("london") / "london.duckdb"
    with Store.create(path) as store:
        load_wards(store, files, "WD13CD", "WD13NM", borough_code="LDN", borough_name="London")
        yield store


def test_every_fix_gets_the_brute_force_ward_on_real_london_wards(london):
    index = WardIndex.from_store(london)
    assert len(index.codes) == 649
    rng = np.random.default_rng(7)
    lat_e, lon_e = points_near_edges(index.geoms, 60_000, rng)
    minx, miny, maxx, maxy = shapely.total_bounds(index.geoms)
    lat_r = rng.uniform(miny - 0.02, maxy + 0.02, 40_000)
    lon_r = rng.uniform(minx - 0.02, maxx + 0.02, 40_000)
    lat, lon = np.concatenate([lat_e, lat_r]), np.concatenate([lon_e, lon_r])
    got = index.locate(lat, lon)
    want = brute_force(index.geoms, lat, lon)
    mismatch = np.flatnonzero(got != want)
    assert len(mismatch) == 0, (f"{len(mismatch)} mismatches, e.g. lat={lat[mismatch[0]]!r} "
                                f"lon={lon[mismatch[0]]!r} got {got[mismatch[0]]} want {want[mismatch[0]]}")
    assert (want == NO_WARD).any() and (want != NO_WARD).sum() > 50_000


def test_interior_cells_lie_wholly_inside_their_ward(london):
    from visibility.boundaries import cell_polygons

    rows = london.con.execute(
        "SELECT c.cell, c.ward_code FROM ward_cells c WHERE interior USING SAMPLE 2000 ROWS"
    ).fetchall()
    wards = stored_wards(london).set_index("ward_code")
    polys = cell_polygons(np.array([r[0] for r in rows], np.uint64))
    for (cell, code), poly in zip(rows, polys):
        assert wards.geometry[code].contains(poly), (cell, code)


def test_points_on_a_shared_edge_belong_to_the_lower_code(tmp_path):
    with Store.create(tmp_path / "e.duckdb") as store:
        load_wards(store, [write_wards(tmp_path / "w.geojson", TWO_WARDS)], "code", "name",
                   borough_code="B", borough_name="B")
        index = WardIndex.from_store(store)
    lat = np.linspace(51.5001, 51.5099, 50)
    lon = np.full(50, -0.10 + 0.01)  # the edge between W1 (west) and W2 (east)
    got = index.locate(lat, lon)
    assert set(index.codes[got]) == {"W1"}
    east = index.locate(lat, lon + 1e-9)
    assert set(index.codes[east]) == {"W2"}


def test_cells_come_from_the_index_resolution(tmp_path):
    with Store.create(tmp_path / "e.duckdb") as store:
        load_wards(store, [write_wards(tmp_path / "w.geojson", TWO_WARDS)], "code", "name",
                   borough_code="B", borough_name="B", h3_resolution=9)
        index = WardIndex.from_store(store)
    assert index.resolution == 9
    lat, lon = np.array([51.505]), np.array([-0.095])
    assert index.locate(lat, lon, latlng_to_cells(lat, lon, 9))[0] == 0


def test_station_geofences_points_and_polygons():
    poly = shapely.Polygon([(-0.1, 51.5), (-0.099, 51.5), (-0.099, 51.501), (-0.1, 51.501)])
    stations = StationIndex(np.array([51.51]), np.array([-0.12]), np.array([50.0]), [poly])
    lat = np.array([51.51, 51.51 + 45 / 111_195, 51.51 + 55 / 111_195, 51.5005, 51.6])
    lon = np.array([-0.12, -0.12, -0.12, -0.0995, -0.1])
    assert list(stations.contains(lat, lon)) == [True, True, False, True, False]


def test_within_radius_matches_haversine_near_the_circle():
    rng = np.random.default_rng(3)
    plat, plon = np.array([51.5, 60.0, -33.9]), np.array([-0.1, 5.3, 151.2])
    radius = np.array([50.0, 120.0, 10.0])
    k = rng.integers(0, 3, 20_000)
    lat = plat[k] + rng.normal(0, radius[k] / 111_000, len(k))
    lon = plon[k] + rng.normal(0, radius[k] / 60_000, len(k))
    assert_within_radius_matches_haversine(lat, lon, plat, plon, radius)


def assert_within_radius_matches_haversine(lat, lon, plat, plon, radius):
    from reference import haversine_m
    from visibility.kernels import within_radius

    got = within_radius(lat, lon, plat, plon, radius)
    want = [any(haversine_m(a, b, c, d) <= r for c, d, r in zip(plat, plon, radius))
            for a, b in zip(lat, lon)]
    assert got.tolist() == want
    assert 0 < got.sum() < len(got)


def test_within_radius_with_many_overlapping_geofences_of_different_sizes():
    """Each point looks only at geofences in its latitude band, which the widest sets."""
    rng = np.random.default_rng(8)
    plat = 51.5 + rng.uniform(0, 0.02, 150)
    plon = -0.1 + rng.uniform(0, 0.03, 150)
    radius = rng.choice([5.0, 40.0, 600.0], 150, p=[0.5, 0.45, 0.05])
    lat = 51.5 + rng.uniform(-0.01, 0.03, 1500)
    lon = -0.1 + rng.uniform(-0.01, 0.04, 1500)
    assert_within_radius_matches_haversine(lat, lon, plat, plon, radius)


def test_polygon_stations_grow_by_the_margin_in_metres():
    from visibility.locate import grow_m

    poly = shapely.box(-0.1, 51.5, -0.0995, 51.5003)
    grown = grow_m(poly, 20.0)
    stations = StationIndex(np.empty(0), np.empty(0), np.empty(0), [grown])
    north_edge = 51.5003
    lat = np.array([north_edge + 15 / 111_195, north_edge + 25 / 111_195])
    lon = np.array([-0.09975, -0.09975])
    assert list(stations.contains(lat, lon)) == [True, False]


def test_find_sorted_matches_numpy():
    from visibility.kernels.lookup import find_sorted

    rng = np.random.default_rng(11)
    table = np.unique(rng.integers(0, 2**63, 5000, dtype=np.uint64))
    queries = np.concatenate([rng.choice(table, 3000), rng.integers(0, 2**63, 3000, dtype=np.uint64),
                              np.array([0, 2**64 - 1], np.uint64)])
    pos = np.searchsorted(table, queries)
    want = np.where((pos < len(table)) & (table[np.minimum(pos, len(table) - 1)] == queries), pos, -1)
    assert find_sorted(table, queries).tolist() == want.tolist()
    assert find_sorted(np.empty(0, np.uint64), queries[:3]).tolist() == [-1, -1, -1]
