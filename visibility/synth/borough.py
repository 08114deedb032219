"""A made-up sample borough, "Northbrook": 16 wards that tile it exactly, and 3 stations.

How the wards are made (all in metres on a local frame, then to WGS84):

1. An irregular borough outline (an ellipse about 7 km x 6 km with a few smooth
   harmonics), centred near lat 51.565, lon -0.045 in north-east London.
2. 15 well-spread random seeds inside it and their Voronoi cells.
3. Two extra closed curves: a small park ring wholly inside one cell (the
   enclave ward "Northbrook Common", which leaves a hole in its host ward) and a
   ring across the borough edge inside another cell (a detached part of a
   neighbouring ward, so that ward becomes a MultiPolygon).
4. All of that linework is noded once, densified once (at most 80 m between
   vertices) and polygonised, so two neighbouring wards share the very same
   vertices along their common edge.
5. Every vertex is moved by one smooth displacement field (a sum of a few
   sine waves whose total strain stays below 1, so the map is one-to-one and
   cannot make edges cross). Edges wander like streets and rivers.
6. Coordinates go to WGS84 and are rounded to 6 decimals per unique vertex, so
   shared edges stay identical; the result is checked (valid, no gaps, no
   overlaps, exactly one hole and one MultiPolygon) and, should a draw ever fail
   the checks, the next draw from the same seed is used.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import shapely.ops
from shapely.geometry import LineString, MultiPoint, MultiPolygon, Point, Polygon

from visibility.synth._frame import LocalFrame, sample_points_in

BOROUGH_CODE = "X09000001"
BOROUGH_NAME = "Northbrook"
CENTRE_LAT = 51.565
CENTRE_LON = -0.045
N_WARDS = 16
ENCLAVE_NAME = "Northbrook Common"
# Invented place names for the 15 other wards, used in ward-code order.
WARD_NAMES = (
    "Ashcombe",
    "Brackenhurst",
    "Castlemead",
    "Dunmore Heath",
    "Elderwick",
    "Foxley Vale",
    "Gorse Hill",
    "Hollowmere",
    "Ivy Green",
    "Juniper Fields",
    "Kestrel Rise",
    "Larchwood",
    "Millbrook",
    "Netherfold",
    "Oakhanger Wharf",
)
FRAME = LocalFrame(lat0=CENTRE_LAT, lon0=CENTRE_LON)

_MAX_VERTEX_SPACING_M = 80.0
_N_CELLS = N_WARDS - 1


def make_borough(seed: int) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """The sample borough's wards and stations, both in EPSG:4326.

    Wards: ``ward_code``, ``ward_name``, ``borough_code``, ``borough_name``,
    geometry. Stations: ``station_id``, ``name``, ``radius_m`` (NaN for the
    polygon footprint), geometry. Same seed, same result.
    """
    for attempt in range(20):
        rng = np.random.default_rng([seed, attempt])
        built = _try_build(rng)
        if built is not None:
            return built
    raise RuntimeError(f"no valid sample borough from seed {seed} in 20 attempts")


# ---------------------------------------------------------------------------
# Wards


def _outline(rng: np.random.Generator) -> Polygon:
    n = 220
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 9):
        r += rng.uniform(0.02, 0.07) / math.sqrt(k - 1) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    return Polygon(np.column_stack([3500.0 * r * np.cos(theta), 3000.0 * r * np.sin(theta)]))


def _seeds(outline: Polygon, rng: np.random.Generator) -> np.ndarray:
    min_gap = 0.75 * math.sqrt(outline.area / _N_CELLS)
    pts: list[np.ndarray] = []
    candidates = sample_points_in(outline, 4000, rng)
    for c in candidates:
        if all(np.hypot(*(c - p)) >= min_gap for p in pts):
            pts.append(c)
            if len(pts) == _N_CELLS:
                break
    if len(pts) < _N_CELLS:
        raise RuntimeError("could not place ward seeds")
    seeds = np.array(pts)
    # One step of Lloyd relaxation evens the sizes without making them regular.
    cells = _cells(seeds, outline)
    centroids = np.array([[c.centroid.x, c.centroid.y] for c in shapely.intersection(cells, outline)])
    return 0.5 * seeds + 0.5 * centroids


def _cells(seeds: np.ndarray, outline: Polygon) -> np.ndarray:
    vor = shapely.voronoi_polygons(MultiPoint(seeds), extend_to=outline.buffer(3000.0), ordered=True)
    return np.array(list(vor.geoms))


def _wobbly_ring(cx: float, cy: float, radius: float, rng: np.random.Generator, n: int = 48) -> LineString:
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = radius * (
        1.0
        + 0.12 * np.sin(2 * theta + rng.uniform(0, 2 * np.pi))
        + 0.06 * np.sin(3 * theta + rng.uniform(0, 2 * np.pi))
    )
    xy = np.column_stack([cx + r * np.cos(theta), cy + r * np.sin(theta)])
    return LineString(np.vstack([xy, xy[:1]]))


def _enclave(cells_in: np.ndarray, outline: Polygon, rng: np.random.Generator):
    """(host cell index, enclave ring) for the cell with the most room inside."""
    best = None
    for i, cell in enumerate(cells_in):
        if cell.geom_type != "Polygon":
            continue
        centre = shapely.ops.polylabel(cell, tolerance=5.0)
        room = cell.exterior.distance(centre)
        interior = not cell.exterior.intersects(outline.exterior)
        score = room + (1000.0 if interior else 0.0)
        if best is None or score > best[0]:
            best = (score, i, centre, room)
    _, host, centre, room = best
    radius = min(420.0, 0.5 * room)
    return host, _wobbly_ring(centre.x, centre.y, radius, rng)


def _detached(cells_in: np.ndarray, outline: Polygon, host: int, rng: np.random.Generator):
    """(owner index, donor index, ring) for a piece of the donor carved at the borough edge.

    The piece sits on the borough edge inside the donor cell, well away from the
    owner (a neighbour of the donor), so the owner becomes a MultiPolygon.
    """
    radius = 300.0
    edge = outline.exterior
    best = None
    for b, donor in enumerate(cells_in):
        if b == host or donor.geom_type != "Polygon":
            continue
        rim = donor.exterior.intersection(edge)
        if rim.is_empty or rim.length < 3 * radius:
            continue
        others = [c for j, c in enumerate(cells_in) if j != b]
        others_union = shapely.union_all(others)
        for a, owner in enumerate(cells_in):
            if a in (b, host) or not owner.intersection(donor).length > 200.0:
                continue
            for d in np.arange(0.0, rim.length, 25.0):
                p = rim.interpolate(d)
                gap_owner = owner.distance(p)
                gap_others = others_union.distance(p)
                if gap_others < 1.3 * radius + 60.0 or gap_owner < 1.3 * radius + 250.0:
                    continue
                score = gap_others + 0.2 * gap_owner
                if best is None or score > best[0]:
                    best = (score, a, b, p)
    if best is None:
        return None
    _, a, b, p = best
    return a, b, _wobbly_ring(p.x, p.y, radius, rng)


def _meander(arc: LineString, rng: np.random.Generator) -> LineString:
    """The arc with its inner vertices pushed sideways by a smooth random wave.

    The ends (the nodes where arcs meet) stay put and the push fades in over
    the first and last 300 m, so neighbouring arcs do not cross. Each edge is
    one arc, bent once, so both wards along it see the same bent edge.
    """
    xy = shapely.get_coordinates(arc)
    if len(xy) < 3 or arc.is_closed:  # closed rings (the enclave) are wobbly already
        return arc
    step = np.hypot(*np.diff(xy, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(step)])
    length = s[-1]
    tangent = np.gradient(xy, axis=0)
    tangent /= np.maximum(np.hypot(*tangent.T), 1e-9)[:, None]
    normal = np.column_stack([-tangent[:, 1], tangent[:, 0]])
    u = s / length
    offset = np.zeros(len(xy))
    amp = min(0.08 * length, 110.0)
    for k in range(1, 4):
        offset += amp / k * rng.uniform(-1, 1) * np.sin(np.pi * k * u)
    n_wiggle = max(1, int(length / rng.uniform(150.0, 320.0)))
    offset += rng.uniform(5.0, 18.0) * np.sin(np.pi * n_wiggle * u + rng.uniform(0, 2 * np.pi))
    taper = np.minimum(1.0, np.minimum(s, length - s) / 300.0)
    moved = xy + (offset * taper)[:, None] * normal
    moved[0], moved[-1] = xy[0], xy[-1]
    return LineString(moved)


def _displacement(rng: np.random.Generator):
    """A smooth vector field d(x, y) whose total strain stays below 0.7."""
    waves = []
    for wavelength, strain in ((3200.0, 0.10), (2400.0, 0.10), (1500.0, 0.10), (1100.0, 0.09),
                               (700.0, 0.08), (520.0, 0.07), (380.0, 0.06), (260.0, 0.04)):
        k = 2 * np.pi / wavelength
        a = rng.uniform(0, 2 * np.pi)
        b = rng.uniform(0, 2 * np.pi)
        amp = strain / k
        waves.append((k * math.cos(a), k * math.sin(a), rng.uniform(0, 2 * np.pi), amp * math.cos(b), amp * math.sin(b)))

    def field(xy: np.ndarray) -> np.ndarray:
        out = xy.copy()
        for kx, ky, phase, ax, ay in waves:
            s = np.sin(kx * xy[:, 0] + ky * xy[:, 1] + phase)
            out[:, 0] += ax * s
            out[:, 1] += ay * s
        return out

    return field


def _faces_to_lonlat(faces: np.ndarray, field) -> np.ndarray:
    """Displace, convert and round every unique vertex once, so shared edges stay shared."""
    coords = shapely.get_coordinates(faces)
    uniq, inverse = np.unique(coords, axis=0, return_inverse=True)
    moved = field(uniq)
    lon, lat = FRAME.to_lonlat(moved[:, 0], moved[:, 1])
    rounded = np.column_stack([np.round(lon, 6), np.round(lat, 6)])
    return shapely.set_coordinates(faces.copy(), rounded[inverse.ravel()])


def _try_build(rng: np.random.Generator):
    outline = _outline(rng)
    seeds = _seeds(outline, rng)
    cells = _cells(seeds, outline)
    cells_in = shapely.intersection(cells, outline)
    host, enclave_ring = _enclave(cells_in, outline, rng)
    carve = _detached(cells_in, outline, host, rng)
    if carve is None:
        return None
    owner, donor, carve_ring = carve

    lines = [c.exterior for c in cells] + [outline.exterior, enclave_ring, carve_ring]
    noded = shapely.segmentize(shapely.union_all(lines), _MAX_VERTEX_SPACING_M)
    arcs = [_meander(arc, rng) for arc in noded.geoms]
    faces = np.array(list(shapely.polygonize(arcs).geoms))
    reps = shapely.point_on_surface(faces)
    faces = faces[shapely.contains(outline, reps)]
    reps = reps[shapely.contains(outline, reps)]

    enclave_poly = Polygon(enclave_ring.coords)
    carve_poly = Polygon(carve_ring.coords)
    label = np.full(len(faces), -1)
    label[shapely.contains(carve_poly, reps)] = owner
    label[shapely.contains(enclave_poly, reps)] = _N_CELLS
    for i, cell in enumerate(cells):
        label[(label == -1) & shapely.contains(cell, reps)] = i
    counts = np.bincount(label[label >= 0], minlength=N_WARDS)
    expected = np.ones(N_WARDS, dtype=int)
    expected[owner] = 2
    if (label < 0).any() or not np.array_equal(counts, expected):
        return None

    field = _displacement(rng)
    faces_ll = _faces_to_lonlat(faces, field)
    geoms = []
    for w in range(N_WARDS):
        parts = faces_ll[label == w]
        geoms.append(parts[0] if len(parts) == 1 else MultiPolygon(list(parts)))
    geoms = shapely.orient_polygons(np.array(geoms, dtype=object), exterior_cw=False)
    if not _wards_ok(geoms):
        return None

    wards = _name_wards(geoms)
    stations = _make_stations(wards, rng)
    if stations is None:
        return None
    return wards, stations


def _wards_ok(geoms: np.ndarray) -> bool:
    if not shapely.is_valid(geoms).all():
        return False
    union = shapely.union_all(geoms)
    if union.geom_type != "Polygon" or len(union.interiors) != 0:
        return False
    if abs(shapely.area(geoms).sum() - union.area) > 1e-9 * union.area:
        return False
    kinds = shapely.get_type_id(geoms)
    holes = [
        sum(len(p.interiors) for p in (g.geoms if g.geom_type == "MultiPolygon" else [g])) for g in geoms
    ]
    return int((kinds == 6).sum()) == 1 and sum(1 for h in holes if h > 0) == 1 and max(holes) == 1


def _name_wards(geoms: np.ndarray) -> gpd.GeoDataFrame:
    """Codes run north to south in 1.5 km bands, west to east within a band."""
    cent = shapely.centroid(geoms)
    cx, cy = FRAME.to_xy(shapely.get_x(cent), shapely.get_y(cent))
    band = np.floor((cy.max() - cy) / 1500.0)
    order = np.lexsort((cx, band))
    enclave = N_WARDS - 1  # the enclave is always the last face label
    names = iter(WARD_NAMES)
    rows = []
    for rank, w in enumerate(order, start=1):
        rows.append(
            {
                "ward_code": f"X05{rank:06d}",
                "ward_name": ENCLAVE_NAME if w == enclave else next(names),
                "borough_code": BOROUGH_CODE,
                "borough_name": BOROUGH_NAME,
                "geometry": geoms[w],
            }
        )
    return gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")


# ---------------------------------------------------------------------------
# Stations


def _make_stations(wards: gpd.GeoDataFrame, rng: np.random.Generator):
    """A station inside a central ward, a building footprint in another, a hub just outside."""
    local = FRAME.geom_to_xy(wards.geometry.to_numpy())
    borough = shapely.union_all(local)
    plain = [
        i
        for i, g in enumerate(local)
        if g.geom_type == "Polygon" and not g.interiors and wards.ward_name.iloc[i] != ENCLAVE_NAME
    ]
    centre = borough.centroid
    # 1. the main station: in the plain ward nearest the middle of the borough.
    main_ward = min(plain, key=lambda i: local[i].distance(centre) + local[i].centroid.distance(centre) * 0.01)
    main_pt = shapely.ops.polylabel(local[main_ward], tolerance=5.0)
    # 2. a police office building in the plain ward farthest from the main station.
    far_ward = max(plain, key=lambda i: local[i].centroid.distance(main_pt))
    office_pt = shapely.ops.polylabel(local[far_ward], tolerance=5.0)
    angle = rng.uniform(0, np.pi)
    ca, sa = math.cos(angle), math.sin(angle)
    corners = np.array([[-20.0, -15.0], [20.0, -15.0], [20.0, 15.0], [-20.0, 15.0]])
    rect = np.column_stack(
        [office_pt.x + corners[:, 0] * ca - corners[:, 1] * sa, office_pt.y + corners[:, 0] * sa + corners[:, 1] * ca]
    )
    office = Polygon(rect)
    if not local[far_ward].buffer(-10.0).contains(office):
        return None
    # 3. a shared hub 250 m beyond the borough's easternmost point.
    edge_pts = shapely.get_coordinates(borough.exterior)
    east = edge_pts[np.argmax(edge_pts[:, 0])]
    hub_pt = Point(east[0] + 250.0, east[1] + rng.uniform(-50.0, 50.0))
    if borough.distance(hub_pt) < 150.0:
        return None

    def to_ll(geom):
        return shapely.transform(FRAME.geom_to_lonlat(geom), lambda c: np.round(c, 6))

    geoms = [to_ll(main_pt), shapely.orient_polygons(to_ll(office), exterior_cw=False), to_ll(hub_pt)]
    return gpd.GeoDataFrame(
        {
            "station_id": ["STN1", "STN2", "STN3"],
            "name": ["Northbrook Police Station", f"{wards.ward_name.iloc[far_ward]} Police Office", "Eastgate Hub"],
            "radius_m": pd.array([50.0, np.nan, 50.0], dtype="float64"),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
