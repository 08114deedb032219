"""Synthetic GPS tracks for a roster, shift by shift.

Each shift is first planned as a true path: a list of knots (time, x, y) in
local metres that the officer passes through, built leg by leg:

- time at the station at the start and end of the shift (a slow shuffle
  within about 10 m of it, indoors);
- a drive to the patch and back when the station is more than 1.2 km away
  (20-45 km/h along a gently winding route), otherwise a walk;
- a walking patrol: a random walk over points scattered inside the officer's
  wards, each leg turned into an L-shaped walk along a street grid where the
  corner stays on the patch, at 1.1-1.6 m/s, with stops of 1-10 minutes and
  10-15 minute stops at each ward's few fixed hotspots;
- excursions (30-90 minutes) into a neighbouring ward on foot, or to a call
  elsewhere by car, more of them for less diligent officers;
- abstracted shifts spent mostly elsewhere: an aid or court location in
  another part of London, a run of response calls, or the station itself.

The GPS device then samples that path at its cadence (15 s by default, some
devices 30 s, +-2 s jitter, whole seconds) with Gaussian position noise,
reported accuracy, dropouts (outdoors and, more often, indoors), a few fixes
with accuracy over 100 m and rare single-fix spikes kilometres away. Finally
the file gets its mess: about 0.3% exact duplicate rows and a few blocks of
rows out of time order.

Everything is vectorised with numpy per leg and per shift (no loop per fix)
and every random draw comes from one ``numpy.random.Generator`` seeded from
``seed``, in a fixed order, so the same inputs give the same table.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from visibility.errors import RosterError
from visibility.synth._frame import LocalFrame, sample_points_in
from visibility.synth.gps import spoil_poor, throw_spikes

SCHEMA = pa.schema(
    [
        ("officer_id", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("accuracy_m", pa.float32()),
    ]
)
HOTSPOTS_PER_WARD = 3
DUPLICATE_SHARE = 0.003
SLOW_CADENCE_S = 30.0
STATION_REASONS = ("custody cover", "station reception cover", "training")


@dataclass(frozen=True)
class Diligence:
    """How an officer spends a neighbourhood shift."""

    name: str
    station_min: tuple[float, float]  # minutes at the station, at each end
    excursion_p: tuple[float, float, float]  # chance of 0, 1 or 2 excursions
    excursion_min: tuple[float, float]  # length of one excursion, minutes
    stop_p: float  # chance of a 1-10 minute stop at a patrol waypoint


DILIGENCE = (
    Diligence("keen", (10.0, 18.0), (0.85, 0.15, 0.0), (30.0, 45.0), 0.35),
    Diligence("steady", (15.0, 28.0), (0.35, 0.55, 0.10), (30.0, 70.0), 0.35),
    Diligence("drifting", (25.0, 40.0), (0.0, 0.4, 0.6), (50.0, 90.0), 0.45),
)
DILIGENCE_SHARES = (0.4, 0.3, 0.3)


def generate_tracks(
    wards: gpd.GeoDataFrame,
    stations: gpd.GeoDataFrame | None,
    officers: pd.DataFrame,
    shifts: pd.DataFrame,
    seed: int,
    interval_s: float = 15.0,
    *,
    slow_device_share: float = 0.2,
    mess: bool = True,
    with_shift_index: bool = False,
) -> pa.Table:
    """GPS fixes for every shift in ``shifts``, as an Arrow table (see ``SCHEMA``).

    ``wards`` need ``ward_code`` and EPSG:4326 geometry; ``officers`` need
    ``officer_id`` and ``ward_code`` (codes joined by ``;``); ``shifts`` need
    ``officer_id``, ``start``, ``end`` (tz-aware or ISO 8601 text with
    offset), ``kind`` and ``reason``. Each officer starts and ends a shift at
    the station nearest their patch; with ``stations`` None or empty, at a
    made-up point on the patch. ``slow_device_share`` of the officers carry a
    device that reports every 30 s. ``mess`` adds duplicate and out-of-order
    rows; ``with_shift_index`` adds an int32 ``shift_index`` column (the row
    position in ``shifts``) to each fix.
    """
    if interval_s < 5.0:
        raise ValueError("interval_s must be at least 5 seconds")
    rng = np.random.default_rng(seed)
    frame = LocalFrame.around_bounds(wards.total_bounds)
    world = _World.build(wards, stations, frame, rng)
    officer_ids = officers["officer_id"].astype(str).to_numpy()
    officer_pos = {o: i for i, o in enumerate(officer_ids)}
    profiles = _profiles(len(officer_ids), interval_s, slow_device_share, rng)
    patches = [world.patch(_ward_indices(world, codes)) for codes in officers["ward_code"].astype(str)]

    shift_officer = shifts["officer_id"].astype(str).to_numpy()
    unknown = sorted(set(shift_officer) - set(officer_pos))
    if unknown:
        raise RosterError(f"shifts name officers not in the officer list: {', '.join(unknown[:5])}")
    off_idx = np.array([officer_pos[o] for o in shift_officer], dtype=np.int64)
    start_s = _epoch_seconds(shifts["start"])
    end_s = _epoch_seconds(shifts["end"])
    if (end_s <= start_s).any():
        raise RosterError("a shift ends before it starts")
    kinds = shifts["kind"].astype(str).to_numpy()
    reasons = shifts["reason"].fillna("").astype(str).to_numpy()

    parts: list[tuple] = []
    for s in np.lexsort((start_s, off_idx)):
        o = off_idx[s]
        patch, prof = patches[o], profiles[o]
        home = world.home(patch)
        plan = _Plan(rng, home)
        dur = float(end_s[s] - start_s[s])
        if kinds[s] == "abstracted":
            _abstracted_shift(plan, world, patch, prof, reasons[s], dur)
        else:
            _neighbourhood_shift(plan, patch, prof, dur)
        t, x, y, acc = _observe(rng, plan, int(start_s[s]), dur, prof)
        parts.append((np.full(len(t), o, dtype=np.int32), np.full(len(t), s, dtype=np.int32), t, x, y, acc))

    cols = [np.concatenate([p[k] for p in parts]) if parts else np.empty(0) for k in range(6)]
    off_col, shift_col, t, x, y, acc = cols
    lon, lat = frame.to_lonlat(x, y)
    lat, lon = np.round(lat, 6), np.round(lon, 6)
    if mess and len(t):
        order = _messy_order(rng, off_col.astype(np.int64))
        off_col, shift_col, t, lat, lon, acc = (a[order] for a in (off_col, shift_col, t, lat, lon, acc))
    arrays = [
        pc.take(pa.array(officer_ids, type=pa.string()), pa.array(off_col.astype(np.int32))),
        pa.array(t.astype(np.int64) * 1_000_000, type=pa.timestamp("us", tz="UTC")),
        pa.array(lat.astype(np.float64)),
        pa.array(lon.astype(np.float64)),
        pa.array(acc.astype(np.float32)),
    ]
    table = pa.Table.from_arrays(arrays, schema=SCHEMA)
    if with_shift_index:
        table = table.append_column("shift_index", pa.array(shift_col.astype(np.int32)))
    return table


def ward_hotspots(wards: gpd.GeoDataFrame, seed: int) -> pd.DataFrame:
    """The fixed hotspot points per ward that ``generate_tracks`` uses with this seed.

    Columns ``ward_code``, ``lat``, ``lon`` (HOTSPOTS_PER_WARD rows per ward).
    """
    rng = np.random.default_rng(seed)
    frame = LocalFrame.around_bounds(wards.total_bounds)
    pools = _ward_pools(frame.geom_to_xy(wards.geometry.to_numpy()), rng)
    codes = wards["ward_code"].astype(str).to_numpy()
    rows = []
    for code, pool in zip(codes, pools):
        lon, lat = frame.to_lonlat(pool[:HOTSPOTS_PER_WARD, 0], pool[:HOTSPOTS_PER_WARD, 1])
        rows += [(code, float(a), float(b)) for a, b in zip(np.round(lat, 6), np.round(lon, 6))]
    return pd.DataFrame(rows, columns=["ward_code", "lat", "lon"])


# ---------------------------------------------------------------------------
# The map: ward point pools, patches, stations


@dataclass
class _Patch:
    """An officer's set of wards in local metres, with points to walk between."""

    key: tuple[int, ...]
    area: object  # shapely geometry, prepared
    pool: np.ndarray  # (n, 2) points inside the wards
    knn: np.ndarray  # (n, k) indices of each point's nearest pool points
    hotspots: np.ndarray  # indices into pool
    grid: np.ndarray  # (2, 2) unit vectors of the local street grid
    centre: np.ndarray


def _ward_pools(geoms: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
    """Random points inside each ward, about one per 250 m x 250 m; the first few are its hotspots."""
    pools = []
    for g in geoms:
        n = int(np.clip(g.area / 62_500.0, 24, 300))
        pools.append(sample_points_in(g, n, rng))
    return pools


class _World:
    def __init__(self, geoms, pools, codes, station_xy, rng):
        self.geoms = geoms
        self.pools = pools
        self.code_index = {c: i for i, c in enumerate(codes)}
        self.station_xy = station_xy
        self.rng = rng
        self._patches: dict[tuple[int, ...], _Patch] = {}

    @classmethod
    def build(cls, wards, stations, frame: LocalFrame, rng: np.random.Generator) -> "_World":
        geoms = frame.geom_to_xy(wards.geometry.to_numpy())
        pools = _ward_pools(geoms, rng)
        codes = wards["ward_code"].astype(str).to_list()
        station_xy = np.empty((0, 2))
        if stations is not None and len(stations):
            sgeoms = frame.geom_to_xy(stations.geometry.to_numpy())
            sgeoms = np.where(shapely.get_type_id(sgeoms) == 0, sgeoms, shapely.centroid(sgeoms))
            station_xy = np.column_stack([shapely.get_x(sgeoms), shapely.get_y(sgeoms)])
        return cls(geoms, pools, codes, station_xy, rng)

    def patch(self, key: tuple[int, ...]) -> _Patch:
        if key not in self._patches:
            area = shapely.union_all(self.geoms[list(key)]) if len(key) > 1 else self.geoms[key[0]]
            shapely.prepare(area)
            pools = [self.pools[i] for i in key]
            pool = np.concatenate(pools)
            offsets = np.cumsum([0] + [len(p) for p in pools[:-1]])
            hot = np.concatenate([o + np.arange(min(HOTSPOTS_PER_WARD, len(p))) for o, p in zip(offsets, pools)])
            k = min(6, len(pool) - 1)
            d = np.hypot(pool[:, None, 0] - pool[None, :, 0], pool[:, None, 1] - pool[None, :, 1])
            np.fill_diagonal(d, np.inf)
            knn = np.argsort(d, axis=1, kind="stable")[:, :k]
            angle = self.rng.uniform(0, np.pi / 2)
            grid = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
            c = area.centroid
            self._patches[key] = _Patch(key, area, pool, knn, hot.astype(np.int64), grid, np.array([c.x, c.y]))
        return self._patches[key]

    def home(self, patch: _Patch) -> np.ndarray:
        """The station nearest the patch, or a point on the patch when there are none."""
        if len(self.station_xy):
            d = np.hypot(*(self.station_xy - patch.centre).T)
            return self.station_xy[int(np.argmin(d))]
        d = np.hypot(*(patch.pool - patch.centre).T)
        return patch.pool[int(np.argmin(d))]


def _ward_indices(world: _World, codes: str) -> tuple[int, ...]:
    out = []
    for code in (c.strip() for c in codes.split(";")):
        if code not in world.code_index:
            raise RosterError(f"officer ward {code!r} is not among the wards")
        out.append(world.code_index[code])
    return tuple(sorted(set(out)))


@dataclass(frozen=True)
class _Profile:
    diligence: Diligence
    cadence_s: float
    walk_mps: float
    sigma_m: float  # typical GPS position error of the device


def _profiles(n: int, interval_s: float, slow_share: float, rng: np.random.Generator) -> list[_Profile]:
    level = rng.choice(len(DILIGENCE), size=n, p=DILIGENCE_SHARES)
    slow = rng.random(n) < slow_share
    walk = rng.uniform(1.1, 1.6, n)
    sigma = rng.uniform(3.0, 8.0, n)
    cadence = np.where(slow & (interval_s < SLOW_CADENCE_S), SLOW_CADENCE_S, interval_s)
    return [_Profile(DILIGENCE[level[i]], float(cadence[i]), float(walk[i]), float(sigma[i])) for i in range(n)]


def _epoch_seconds(values: pd.Series) -> np.ndarray:
    ts = pd.to_datetime(values, utc=True)
    return ts.dt.tz_convert(None).to_numpy().astype("datetime64[s]").astype(np.int64)


# ---------------------------------------------------------------------------
# The true path of one shift


class _Plan:
    """Knots of the true path (seconds from shift start, x, y) and indoor windows."""

    def __init__(self, rng: np.random.Generator, start_xy: np.ndarray):
        self.rng = rng
        self.t = [np.array([0.0])]
        self.xy = [np.asarray(start_xy, dtype=np.float64).reshape(1, 2)]
        self.indoor: list[tuple[float, float]] = []

    @property
    def now(self) -> float:
        return float(self.t[-1][-1])

    @property
    def pos(self) -> np.ndarray:
        return self.xy[-1][-1]

    def walk(self, pts: np.ndarray, speeds, stops, until: float = np.inf) -> None:
        """Through ``pts`` at ``speeds`` (m/s per leg), pausing ``stops`` seconds at each; cut at ``until``."""
        if len(pts) == 0 or self.now >= until:
            return
        speeds = np.broadcast_to(np.asarray(speeds, dtype=np.float64), (len(pts),))
        stops = np.broadcast_to(np.asarray(stops, dtype=np.float64), (len(pts),))
        legs = np.diff(np.vstack([self.pos, pts]), axis=0)
        travel = np.maximum(np.hypot(legs[:, 0], legs[:, 1]) / speeds, 1.0)
        arrive = self.now + np.cumsum(travel) + np.cumsum(stops) - stops
        leave = arrive + stops
        t = np.column_stack([arrive, leave]).ravel()
        xy = np.repeat(pts, 2, axis=0)
        keep = np.column_stack([np.ones(len(pts), bool), stops > 0]).ravel()
        t, xy = t[keep], xy[keep]
        if t[-1] > until:
            n = int(np.searchsorted(t, until, side="right"))
            prev_t = self.now if n == 0 else t[n - 1]
            prev_xy = self.pos if n == 0 else xy[n - 1]
            f = (until - prev_t) / (t[n] - prev_t)
            cut_xy = prev_xy + f * (xy[n] - prev_xy)
            t = np.append(t[:n], until)
            xy = np.vstack([xy[:n], cut_xy])
            if len(t) > 1 and t[-2] >= until:
                t, xy = t[:-1], xy[:-1]
        self.t.append(t)
        self.xy.append(xy)

    def stay(self, until: float, centre, radius: float, speed: float, stop_s=(30.0, 240.0), indoor=False) -> None:
        """Mill about within ``radius`` m of ``centre`` until ``until``."""
        t0 = self.now
        while self.now < until:
            m = int((until - self.now) / (np.mean(stop_s) + radius / speed)) + 4
            r = radius * np.sqrt(self.rng.random(m))
            a = self.rng.uniform(0, 2 * np.pi, m)
            pts = np.asarray(centre) + np.column_stack([r * np.cos(a), r * np.sin(a)])
            self.walk(pts, speed, self.rng.uniform(*stop_s, m), until)
        if indoor and self.now > t0:
            self.indoor.append((t0, self.now))

    def route(self, dest):
        """The straight line from here to ``dest`` as a car route's frame: (start, vector,
        length, fractions along it every ~120 m, unit normal); ``None`` when already there."""
        start = self.pos
        vec = np.asarray(dest, dtype=np.float64) - start
        dist = float(np.hypot(*vec))
        if dist < 1.0:
            return None
        n = max(2, int(dist / 120.0))
        return start, vec, dist, np.linspace(0.0, 1.0, n + 1)[1:], np.array([-vec[1], vec[0]]) / dist

    def drive(self, dest, until: float = np.inf) -> None:
        """By car to ``dest`` at 20-45 km/h along a gently winding route."""
        frame = self.route(dest)
        if frame is None:
            return
        start, vec, dist, u, normal = frame
        n = len(u)
        bend = min(250.0, 0.1 * dist) * np.sin(np.pi * u) * (
            self.rng.uniform(-1, 1) + 0.4 * np.sin(2 * np.pi * self.rng.integers(1, 4) * u + self.rng.uniform(0, 6.3))
        )
        jitter = self.rng.normal(0.0, 8.0, (n, 2))
        jitter[-1] = 0.0
        pts = start + u[:, None] * vec + bend[:, None] * normal + jitter
        speed = self.rng.uniform(20.0, 45.0) / 3.6 * self.rng.uniform(0.8, 1.2, n)
        stops = np.where(self.rng.random(n) < 0.08, self.rng.uniform(10.0, 40.0, n), 0.0)
        stops[-1] = 0.0
        self.walk(pts, speed, stops, until)

    def stroll_to(self, dest, speed: float, grid: np.ndarray, until: float = np.inf) -> None:
        """On foot to ``dest`` along the street grid (one corner)."""
        dest = np.asarray(dest, dtype=np.float64)
        axis = grid[int(self.rng.integers(2))]
        corner = self.pos + np.dot(dest - self.pos, axis) * axis
        self.walk(np.vstack([corner, dest]), speed, 0.0, until)

    def knots(self, dur: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        t = np.concatenate(self.t)
        xy = np.concatenate(self.xy)
        if t[-1] < dur:  # hold the last position to the end
            t = np.append(t, dur + 1.0)
            xy = np.vstack([xy, xy[-1]])
        return t, xy[:, 0], xy[:, 1]


def _patrol(plan: _Plan, patch: _Patch, prof: _Profile, until: float) -> None:
    """Walk the patch until ``until``: a random walk over its pool points, via street corners."""
    rng = plan.rng
    cur = int(np.argmin(np.hypot(*(patch.pool - plan.pos).T)))
    while plan.now < until:
        m = int((until - plan.now) / 300.0) + 4
        step = rng.integers(patch.knn.shape[1], size=m)
        to_hot = rng.random(m) < 0.08
        hot_pick = rng.integers(len(patch.hotspots), size=m)
        idx = np.empty(m, dtype=np.int64)
        for i in range(m):  # one iteration per leg
            cur = int(patch.hotspots[hot_pick[i]]) if to_hot[i] else int(patch.knn[cur, step[i]])
            idx[i] = cur
        dest = patch.pool[idx]
        prev = np.vstack([plan.pos, dest[:-1]])
        axis = patch.grid[rng.integers(2, size=m)]
        corner = prev + np.sum((dest - prev) * axis, axis=1)[:, None] * axis
        straight = ~shapely.contains_xy(patch.area, corner[:, 0], corner[:, 1])
        corner[straight] = 0.5 * (prev[straight] + dest[straight])
        stop = np.where(rng.random(m) < prof.diligence.stop_p, rng.uniform(60.0, 600.0, m), 0.0)
        stop = np.where(to_hot, rng.uniform(600.0, 900.0, m), stop)
        pts = np.empty((2 * m, 2))
        pts[0::2], pts[1::2] = corner, dest
        stops = np.zeros(2 * m)
        stops[1::2] = stop
        speed = np.repeat(prof.walk_mps * rng.uniform(0.9, 1.1, m), 2)
        plan.walk(pts, speed, stops, until)


def _excursion(plan: _Plan, patch: _Patch, prof: _Profile, minutes: float, by_car: bool) -> None:
    """Leave the patch for ``minutes``: on foot to a neighbouring ward, or by car to a call."""
    rng = plan.rng
    back = plan.pos.copy()
    if by_car:
        a = rng.uniform(0, 2 * np.pi)
        dest = back + rng.uniform(2000.0, 6000.0) * np.array([np.cos(a), np.sin(a)])
        plan.drive(dest)
        plan.stay(plan.now + minutes * 60.0, dest, 80.0, 0.8, (60.0, 600.0))
        plan.drive(back)
        return
    dest = None
    for reach in ((300.0, 900.0), (900.0, 2500.0)):
        a = rng.uniform(0, 2 * np.pi, 24)
        r = rng.uniform(*reach, 24)
        cand = back + np.column_stack([r * np.cos(a), r * np.sin(a)])
        outside = ~shapely.contains_xy(patch.area, cand[:, 0], cand[:, 1])
        if outside.any():
            dest = cand[int(np.argmax(outside))]
            break
    if dest is None:
        return
    plan.stroll_to(dest, prof.walk_mps, patch.grid)
    plan.stay(plan.now + minutes * 60.0, dest, 150.0, prof.walk_mps * 0.8, (60.0, 600.0))
    plan.stroll_to(back, prof.walk_mps, patch.grid)


def _travel(plan: _Plan, dest, by_car: bool, prof: _Profile, patch: _Patch) -> None:
    if by_car:
        plan.drive(dest)
    else:
        plan.stroll_to(dest, prof.walk_mps, patch.grid)


def _neighbourhood_shift(plan: _Plan, patch: _Patch, prof: _Profile, dur: float) -> None:
    rng, dil = plan.rng, prof.diligence
    home = plan.pos.copy()
    plan.stay(rng.uniform(*dil.station_min) * 60.0, home, 10.0, 0.4, indoor=True)
    dist_home = np.hypot(*(patch.pool - home).T)
    by_car = bool(dist_home.min() > 1200.0)
    entry = patch.pool[int(rng.integers(len(patch.pool)))] if by_car else patch.pool[int(np.argmin(dist_home))]
    _travel(plan, entry, by_car, prof, patch)

    end_station = rng.uniform(*dil.station_min) * 60.0
    back_est = float(np.hypot(*(patch.centre - home))) / (30.0 / 3.6 if by_car else prof.walk_mps)
    patrol_end = dur - end_station - back_est
    n_exc = int(rng.choice(3, p=dil.excursion_p))
    minutes = rng.uniform(*dil.excursion_min, n_exc)
    by_car_exc = rng.random(n_exc) < 0.4
    travel_est = np.where(by_car_exc, 25.0, 20.0)
    while n_exc and (minutes + travel_est)[:n_exc].sum() * 60.0 > 0.6 * (patrol_end - plan.now):
        n_exc -= 1
    free = patrol_end - plan.now - (minutes + travel_est)[:n_exc].sum() * 60.0
    pieces = rng.dirichlet(np.ones(n_exc + 1)) * max(free, 0.0)
    for i in range(n_exc):
        _patrol(plan, patch, prof, plan.now + pieces[i])
        _excursion(plan, patch, prof, float(minutes[i]), bool(by_car_exc[i]))
    _patrol(plan, patch, prof, patrol_end)
    _travel(plan, home, by_car, prof, patch)
    plan.stay(dur, home, 10.0, 0.4, indoor=True)


def _abstracted_shift(plan: _Plan, world: _World, patch: _Patch, prof: _Profile, reason: str, dur: float) -> None:
    rng = plan.rng
    home = plan.pos.copy()
    if reason in STATION_REASONS:
        plan.stay(dur, home, 12.0, 0.4, indoor=True)
        return
    plan.stay(rng.uniform(15.0, 30.0) * 60.0, home, 10.0, 0.4, indoor=True)
    end_station = rng.uniform(15.0, 30.0) * 60.0
    if reason == "response team cover":  # a run of calls around the area
        while plan.now < dur - end_station - 1800.0:
            a = rng.uniform(0, 2 * np.pi)
            dest = home + rng.uniform(800.0, 4000.0) * np.array([np.cos(a), np.sin(a)])
            plan.drive(dest)
            plan.stay(plan.now + rng.uniform(15.0, 45.0) * 60.0, dest, 60.0, 0.8, (60.0, 600.0))
    else:  # aid, court, escort: somewhere else in London
        a = rng.uniform(0, 2 * np.pi)
        away = home + rng.uniform(5000.0, 15000.0) * np.array([np.cos(a), np.sin(a)])
        plan.drive(away)
        back_est = float(np.hypot(*(away - home))) / (30.0 / 3.6)
        indoor = reason in ("court", "prisoner escort")
        radius, speed = (15.0, 0.4) if indoor else (300.0, prof.walk_mps * 0.7)
        plan.stay(dur - end_station - back_est, away, radius, speed, (60.0, 900.0), indoor=indoor)
    plan.drive(home)
    plan.stay(dur, home, 10.0, 0.4, indoor=True)


# ---------------------------------------------------------------------------
# The GPS device and the file's mess


def _observe(rng: np.random.Generator, plan: _Plan, start: int, dur: float, prof: _Profile):
    """Sample the plan as the device would: times (epoch s), x, y (m), accuracy (m)."""
    cad = prof.cadence_s
    n = int(dur // cad) + 1
    rel = np.round(np.arange(n) * cad + rng.uniform(-2.0, 2.0, n))
    kt, kx, ky = plan.knots(dur)
    x = np.interp(rel, kt, kx)
    y = np.interp(rel, kt, ky)

    indoor = np.zeros(n, dtype=bool)
    keep = np.ones(n, dtype=bool)
    for a, b in plan.indoor:
        lo, hi = np.searchsorted(rel, [a, b])
        indoor[lo:hi] = True
        if rng.random() < 0.6 and b - a > 120.0:  # signal lost inside the building
            g0 = rng.uniform(a, b - 60.0)
            g1 = g0 + rng.uniform(60.0, min(900.0, 0.6 * (b - a)))
            keep[slice(*np.searchsorted(rel, [g0, g1]))] = False
    for _ in range(int(rng.poisson(0.8))):  # outdoor dropouts of 2-20 minutes
        g0 = rng.uniform(0.0, dur)
        g1 = g0 + rng.uniform(120.0, 1200.0)
        keep[slice(*np.searchsorted(rel, [g0, g1]))] = False

    sigma = np.where(indoor, rng.uniform(4.0, 7.0), prof.sigma_m * rng.uniform(0.7, 1.3, n))
    x += rng.normal(0.0, 1.0, n) * sigma
    y += rng.normal(0.0, 1.0, n) * sigma
    acc = np.where(
        indoor,
        rng.uniform(12.0, 40.0, n),
        np.clip(sigma * np.exp(rng.normal(0.35, 0.3, n)), 3.0, 25.0),
    )
    poor = rng.random(n) < np.where(indoor, 0.01, 0.003)  # a few fixes with accuracy over 100 m
    spoil_poor(rng, x, y, acc, poor)
    throw_spikes(rng, x, y, int(rng.poisson(0.3)))  # now and then a fix kilometres away
    t = start + rel.astype(np.int64)
    return t[keep], x[keep], y[keep], np.round(acc[keep], 1).astype(np.float32)


def _messy_order(rng: np.random.Generator, officer: np.ndarray) -> np.ndarray:
    """Row order with ~0.3% exact duplicates and a few blocks moved earlier.

    Rows come in sorted by officer and time. Duplicates mostly follow their
    original (a fix sent twice), some turn up a few hundred rows later; blocks
    of 1-20 rows are moved up to 400 rows earlier within the same officer (a
    late batch), which puts them out of time order.
    """
    n = len(officer)
    keys = np.arange(n, dtype=np.float64)
    first_row = np.searchsorted(officer, officer)  # officer is sorted
    for _ in range(int(rng.poisson(n / 20_000.0)) + 1):
        s = int(rng.integers(n))
        length = int(rng.integers(1, 21))
        block = np.arange(s, min(n, s + length))
        block = block[officer[block] == officer[s]]
        back = min(float(rng.integers(20, 401)), s - first_row[s])
        keys[block] -= back + 0.25
    k = int(rng.binomial(n, DUPLICATE_SHARE))
    dup = np.sort(rng.choice(n, k, replace=False))
    dup_keys = keys[dup] + np.where(rng.random(k) < 0.7, 0.5, rng.uniform(1.0, 300.0, k))
    order = np.argsort(np.concatenate([keys, dup_keys]), kind="stable")
    return np.concatenate([np.arange(n), dup])[order]
