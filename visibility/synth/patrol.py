"""Tracks for a planned patrol: officers following a pattern's beats, visits and station time.

Where :func:`visibility.synth.tracks.generate_tracks` invents how officers
spend their shifts, this module follows a plan. Each shift is given as a
:class:`ShiftTask` (officer, times, station, beats with weights, scheduled
visits) and a :class:`Movement` (the team's patrol style and station time).
Its true path is built leg by leg with the same path machinery as the sample
generator (:class:`visibility.synth.tracks._Plan`):

- briefing at the station at the start and debrief at the end (indoors,
  milling within 10 m); an optional break at the station halfway;
- to and from the beat on foot or cycle, or by car when it is more than
  ``DRIVE_OVER_M`` away (a vehicle leg); vehicle teams always drive;
- patrol in blocks of 40-90 minutes on one beat at a time, each beat drawn by
  its weight: an area beat (a ward or polygon) as a walk between random points
  inside it along a street grid (a car crosses it, between any two of its
  points), a loop beat round its waypoints in order;
  each leg at the officer's own pace (drawn once from the style's speed range)
  varied leg by leg, stopping at waypoints with the style's chance and length;
- each scheduled hotspot visit: leave the beat in time to get there, stay the
  planned minutes within the hotspot, go back to the beat;
- abstracted shifts as the sample generator spends them (aid, court, custody,
  response calls, training).

The path is then observed through a :class:`visibility.synth.gps.GpsModel`.
Every random draw comes from one generator seeded by ``seed``, in task order,
so the same inputs give the same fixes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import shapely

from visibility.synth import gps as gpsmod
from visibility.synth._frame import LocalFrame, sample_points_in
from visibility.synth.tracks import SCHEMA, _abstracted_shift, _Plan

#: Foot and cycle officers are driven when their destination is further than this.
DRIVE_OVER_M = 1500.0
#: Speed of a vehicle leg for officers who do not patrol by car (km/h range).
LEG_KMH = (18.0, 40.0)
#: Length of one patrol block on a beat (minutes).
BLOCK_MIN = (40.0, 90.0)
#: Leg-to-leg variation of pace: each leg's speed is the officer's pace times a
#: lognormal factor with this sd (fitted to the speed spread of real recordings).
LEG_SPEED_SD = 0.25
#: The same for the 120 m pieces of a drive (urban traffic varies more), and the
#: chance of a 10-60 s halt (lights, junctions) at the end of each piece.
DRIVE_SPEED_SD = 0.45
DRIVE_HALT_P = 0.5


@dataclass(frozen=True)
class Movement:
    """A team's patrol style and station time."""

    speed_kmh: tuple[float, float]
    stop_p: float
    stop_min: tuple[float, float]
    vehicle: bool = False
    briefing_s: float = 1200.0
    debrief_s: float = 900.0
    break_s: float = 0.0


@dataclass(frozen=True)
class Beat:
    """A beat in lon/lat: an area (polygon) or a loop (waypoints walked in order)."""

    kind: str  # area | loop
    geom: object  # shapely Polygon/MultiPolygon for an area, LineString for a loop


@dataclass(frozen=True)
class Target:
    """A hotspot in lon/lat: where a visit stays."""

    geom: object  # shapely geometry (a point's circle, a polygon, an H3 cell)
    centre: tuple[float, float]  # lon, lat
    radius_m: float  # how far from the centre the officer wanders during the visit


@dataclass
class ShiftTask:
    officer: str
    start_s: int  # epoch seconds (UTC)
    dur_s: float
    kind: str  # neighbourhood | abstracted
    reason: str
    movement: int  # index into the movements
    station: tuple[float, float]  # lon, lat
    beats: list[int]  # indices into the beats
    weights: list[float]
    visits: list[tuple[float, float, int]] = field(default_factory=list)  # (start s, length s, target)


def patrol_tracks(frame_bounds, beats: list[Beat], targets: list[Target], movements: list[Movement],
                  tasks: list[ShiftTask], gps: gpsmod.GpsModel, seed: int) -> pa.Table:
    """GPS fixes for every task, as an Arrow table (``SCHEMA`` plus an int32 ``task`` column)."""
    rng = np.random.default_rng(seed)
    frame = LocalFrame.around_bounds(frame_bounds)
    areas = [_BeatArea.build(b, frame, rng) for b in beats]
    spots = [_Spot.build(t, frame) for t in targets]
    officers = sorted({t.officer for t in tasks})
    pace = {o: rng.random() for o in officers}  # where in the style's range each officer walks
    sigma = {o: gpsmod.device_sigma(gps, rng) for o in officers}
    parts = []
    for i, task in enumerate(tasks):
        move = movements[task.movement]
        sx, sy = frame.to_xy(task.station[0], task.station[1])
        plan = _PatrolPlan(rng, np.array([float(sx), float(sy)]))
        lo, hi = move.speed_kmh
        speed = (lo + pace[task.officer] * (hi - lo)) / 3.6
        if task.kind == "abstracted":
            _abstracted_shift(plan, None, None, _Walker(min(speed, 1.5)), task.reason, task.dur_s)
        else:
            _neighbourhood(plan, task, move, speed, [areas[b] for b in task.beats], task.weights, spots)
        kt, kx, ky = plan.knots(task.dur_s)
        t, x, y, acc = gpsmod.observe(gps, rng, kt, kx, ky, plan.indoor, int(task.start_s), task.dur_s,
                                      sigma[task.officer])
        parts.append((np.full(len(t), i, dtype=np.int32), t, x, y, acc))
    if parts:
        idx, t, x, y, acc = (np.concatenate([p[k] for p in parts]) for k in range(5))
    else:
        idx, t, x, y, acc = (np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0), np.empty(0),
                             np.empty(0, np.float32))
    lon, lat = frame.to_lonlat(x, y)
    names = pa.array([tasks[i].officer for i in range(len(tasks))], pa.string())
    table = pa.Table.from_arrays(
        [
            names.take(pa.array(idx)) if len(tasks) else pa.array([], pa.string()),
            pa.array(t.astype(np.int64) * 1_000_000, type=pa.timestamp("us", tz="UTC")),
            pa.array(np.round(lat, 7)),
            pa.array(np.round(lon, 7)),
            pa.array(acc.astype(np.float32)),
        ],
        schema=SCHEMA,
    )
    return table.append_column("task", pa.array(idx, pa.int32()))


# ---------------------------------------------------------------------------
# Geometry in local metres


@dataclass
class _BeatArea:
    kind: str
    area: object  # prepared polygon (area beats), or None
    pool: np.ndarray  # (n, 2) points to walk between (the waypoints of a loop)
    knn: np.ndarray  # (n, k) nearest pool points (area beats)
    grid: np.ndarray  # (2, 2) street-grid directions

    @classmethod
    def build(cls, beat: Beat, frame: LocalFrame, rng: np.random.Generator) -> "_BeatArea":
        geom = frame.geom_to_xy(beat.geom)
        angle = rng.uniform(0, np.pi / 2)
        grid = np.array([[np.cos(angle), np.sin(angle)], [-np.sin(angle), np.cos(angle)]])
        if beat.kind == "loop":
            pts = shapely.get_coordinates(geom)
            return cls("loop", None, pts, np.empty((0, 0), np.int64), grid)
        shapely.prepare(geom)
        n = int(np.clip(geom.area / 62_500.0, 24, 300))
        pool = sample_points_in(geom, n, rng)
        k = min(6, len(pool) - 1)
        d = np.hypot(pool[:, None, 0] - pool[None, :, 0], pool[:, None, 1] - pool[None, :, 1])
        np.fill_diagonal(d, np.inf)
        knn = np.argsort(d, axis=1, kind="stable")[:, :k]
        return cls("area", geom, pool, knn, grid)

    def nearest(self, xy) -> int:
        return int(np.argmin(np.hypot(*(self.pool - xy).T)))


@dataclass
class _Spot:
    centre: np.ndarray
    radius_m: float

    @classmethod
    def build(cls, target: Target, frame: LocalFrame) -> "_Spot":
        x, y = frame.to_xy(target.centre[0], target.centre[1])
        return cls(np.array([float(x), float(y)]), target.radius_m)


@dataclass(frozen=True)
class _Walker:
    walk_mps: float


class _PatrolPlan(_Plan):
    """The sample generator's path builder, with cars at a given speed range."""

    def drive_at(self, dest, kmh: tuple[float, float], until: float = np.inf) -> None:
        """By car to ``dest`` along a gently winding route, at a speed drawn from ``kmh``."""
        frame = self.route(dest)
        if frame is None:
            return
        start, vec, dist, u, normal = frame
        n = len(u)
        bend = min(250.0, 0.1 * dist) * np.sin(np.pi * u) * self.rng.uniform(-1, 1)
        pts = start + u[:, None] * vec + bend[:, None] * normal + self.rng.normal(0.0, 8.0, (n, 2))
        pts[-1] = dest
        speed = self.rng.uniform(*kmh) / 3.6 * _leg_factor(self.rng, n, DRIVE_SPEED_SD)
        stops = np.where(self.rng.random(n) < DRIVE_HALT_P, self.rng.uniform(10.0, 60.0, n), 0.0)
        stops[-1] = 0.0
        self.walk(pts, speed, stops, until)


def _leg_factor(rng: np.random.Generator, n: int, sd: float = LEG_SPEED_SD) -> np.ndarray:
    return np.clip(np.exp(rng.normal(0.0, sd, n)), 0.3, 3.0)


# ---------------------------------------------------------------------------
# One neighbourhood shift


def _go(plan: _PatrolPlan, dest, move: Movement, speed: float, grid, until: float = np.inf) -> None:
    """To ``dest``: by car for vehicle teams or far destinations, else on foot/cycle via a corner."""
    dest = np.asarray(dest, dtype=np.float64)
    dist = float(np.hypot(*(dest - plan.pos)))
    if move.vehicle:
        plan.drive_at(dest, move.speed_kmh, until)
    elif dist > DRIVE_OVER_M:
        plan.drive_at(dest, LEG_KMH, until)
    else:
        axis = grid[int(plan.rng.integers(2))]
        corner = plan.pos + np.dot(dest - plan.pos, axis) * axis
        plan.walk(np.vstack([corner, dest]), speed * _leg_factor(plan.rng, 2), 0.0, until)


def _travel_estimate(src, dest, move: Movement, speed: float) -> float:
    """Seconds to get from ``src`` to ``dest`` (grid walking is up to 1.4 times the straight line)."""
    dist = float(np.hypot(*(np.asarray(dest) - np.asarray(src))))
    if move.vehicle or dist > DRIVE_OVER_M:
        kmh = move.speed_kmh if move.vehicle else LEG_KMH
        return 1.3 * dist / (np.mean(kmh) / 3.6) + 60.0
    return 1.3 * dist / speed + 30.0


def _patrol(plan: _PatrolPlan, beat: _BeatArea, move: Movement, speed: float, until: float) -> None:
    """Patrol ``beat`` until ``until``."""
    rng = plan.rng
    while plan.now < until - 1.0:
        m = int((until - plan.now) / 300.0) + 4
        if beat.kind == "loop":
            cur = beat.nearest(plan.pos)
            idx = (cur + 1 + np.arange(m)) % len(beat.pool)
            dest = beat.pool[idx]
            pts = dest
            stops = np.where(rng.random(m) < move.stop_p, rng.uniform(*move.stop_min, m) * 60.0, 0.0)
            speeds = speed * _leg_factor(rng, m)
        else:
            if move.vehicle:  # a car crosses the beat: any point of it, not a neighbouring one
                idx = rng.integers(len(beat.pool), size=m)
            else:
                cur = beat.nearest(plan.pos)
                step = rng.integers(beat.knn.shape[1], size=m)
                idx = np.empty(m, dtype=np.int64)
                for i in range(m):  # one iteration per leg
                    cur = int(beat.knn[cur, step[i]])
                    idx[i] = cur
            dest = beat.pool[idx]
            stop = np.where(rng.random(m) < move.stop_p, rng.uniform(*move.stop_min, m) * 60.0, 0.0)
            if move.vehicle:  # cars go straight between points
                pts, stops, speeds = dest, stop, speed * _leg_factor(rng, m)
            else:
                prev = np.vstack([plan.pos, dest[:-1]])
                axis = beat.grid[rng.integers(2, size=m)]
                corner = prev + np.sum((dest - prev) * axis, axis=1)[:, None] * axis
                straight = ~shapely.contains_xy(beat.area, corner[:, 0], corner[:, 1])
                corner[straight] = 0.5 * (prev[straight] + dest[straight])
                pts = np.empty((2 * m, 2))
                pts[0::2], pts[1::2] = corner, dest
                stops = np.zeros(2 * m)
                stops[1::2] = stop
                speeds = np.repeat(speed * _leg_factor(rng, m), 2)
        before = plan.now
        plan.walk(pts, speeds, stops, until)
        if plan.now <= before:  # nothing fitted before ``until``
            break


class _Patroller:
    """Patrol in blocks, one beat at a time, each beat drawn by its weight."""

    def __init__(self, plan: _PatrolPlan, move: Movement, speed: float, beats: list[_BeatArea],
                 weights: list[float]):
        self.plan, self.move, self.speed, self.beats = plan, move, speed, beats
        p = np.asarray(weights, dtype=np.float64)
        self.p = p / p.sum()
        self.beat = beats[int(plan.rng.choice(len(beats), p=self.p))]
        self.block_end = -np.inf

    def centre(self) -> np.ndarray:
        return self.beat.pool.mean(axis=0)

    def until(self, until: float) -> None:
        plan = self.plan
        while plan.now < until - 1.0:
            if plan.now >= self.block_end - 1.0:
                self.beat = self.beats[int(plan.rng.choice(len(self.beats), p=self.p))]
                self.block_end = plan.now + plan.rng.uniform(*BLOCK_MIN) * 60.0
                self.enter(until)
                continue
            before = plan.now
            _patrol(plan, self.beat, self.move, self.speed, min(until, self.block_end))
            if plan.now <= before:
                break

    def enter(self, until: float = np.inf) -> None:
        """Back onto the current beat, at its point nearest the officer."""
        _go(self.plan, self.beat.pool[self.beat.nearest(self.plan.pos)], self.move, self.speed,
            self.beat.grid, until)


def _neighbourhood(plan: _PatrolPlan, task: ShiftTask, move: Movement, speed: float,
                   beats: list[_BeatArea], weights: list[float], spots: list[_Spot]) -> None:
    dur = task.dur_s
    station = plan.pos.copy()
    plan.stay(move.briefing_s, station, 10.0, 0.4, indoor=True)
    patrol_end = dur - move.debrief_s
    if patrol_end - plan.now < 60.0 or not beats:
        plan.stay(dur, station, 10.0, 0.4, indoor=True)
        return
    events: list[tuple[float, float, object]] = [(s, length, spots[k]) for s, length, k in task.visits]
    if move.break_s > 0:
        events.append((0.5 * (move.briefing_s + patrol_end - move.break_s), move.break_s, None))
    events.sort(key=lambda e: e[0])
    walker = _Patroller(plan, move, speed, beats, weights)
    grid = walker.beat.grid
    for start, length, spot in events:
        dest = station if spot is None else spot.centre
        home_by = patrol_end - _travel_estimate(walker.centre(), station, move, speed)
        walker.until(min(start - _travel_estimate(walker.centre(), dest, move, speed), home_by))
        if plan.now >= home_by:
            break
        _go(plan, dest, move, speed, grid)
        if spot is None:  # the break, at the station
            plan.stay(plan.now + length, station, 10.0, 0.4, indoor=True)
        else:  # a hotspot visit: stay the planned minutes within the hotspot
            plan.stay(plan.now + length, spot.centre, max(3.0, min(0.4 * spot.radius_m, 20.0)),
                      0.5, stop_s=(30.0, 180.0))
        walker.enter()
    walker.until(patrol_end - _travel_estimate(walker.centre(), station, move, speed))
    _go(plan, station, move, speed, grid)
    plan.stay(dur, station, 10.0, 0.4, indoor=True)
