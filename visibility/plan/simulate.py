"""Simulate a pattern for a week into a scenario store, through the same pipeline as real tracks.

A scenario is its own store file (for instance ``plan-A.duckdb``), so
simulated fixes can never mix with real ones: the real store is only read, for
its wards, ward cells and stations, which are copied across. The pattern's
week is then written as ordinary files beside the scenario store (in
``<store>.files/``: ``officers.csv``, ``shifts.csv``, ``fixes.parquet`` and
``visits.csv``, the planned hotspot visits) and loaded exactly as real data
would be: :func:`~visibility.roster.load_roster`,
:func:`~visibility.ingest.ingest_file`, :func:`~visibility.analyse.analyse`.
Every measure, summary and report then works on the scenario store as on a
real one. The store's ``meta`` table carries the scenario tag (key
``scenario``: pattern, digest, seed, week, base store, GPS model), which needs
no change to the schema.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from .. import __version__
from ..analyse import AnalyseReport, analyse
from ..errors import StoreError
from ..ingest import ingest_file
from ..policy import Policy
from ..roster import load_roster
from ..store import Store
from .pattern import Pattern
from .rota import Rota, expand

#: Tables copied from the real store into a scenario store.
COPIED_TABLES = ("wards", "ward_cells", "stations")
#: ``meta`` keys copied with them.
COPIED_META = ("h3_resolution", "ward_bbox")
SCENARIO_KEY = "scenario"


@dataclass
class Scenario:
    """What a simulation made, and where."""

    pattern: str
    digest: str
    week: date
    seed: int
    store: Path
    files: Path
    officers: int
    shifts: int
    fixes: int
    visits_planned: int
    visits_dropped: int
    analysis: AnalyseReport | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "pattern": self.pattern, "digest": self.digest, "week": week_label(self.week),
            "seed": self.seed, "store": str(self.store), "files": str(self.files),
            "officers": self.officers, "shifts": self.shifts, "fixes": self.fixes,
            "visits_planned": self.visits_planned, "visits_dropped": self.visits_dropped,
            "analysis": self.analysis.to_dict() if self.analysis else None, "notes": list(self.notes),
        }


def week_label(monday: date) -> str:
    y, w, _ = monday.isocalendar()
    return f"{y}-W{w:02d}"


def scenario_tag(store: Store) -> dict | None:
    """The scenario tag of a store, or None for a store of real data."""
    row = store.con.execute("SELECT value FROM meta WHERE key = ?", [SCENARIO_KEY]).fetchall()
    return json.loads(row[0][0]) if row else None


def simulate(pattern: Pattern, base_db: str | Path, out_db: str | Path, monday: date, seed: int = 0,
             policy: Policy | None = None, overwrite: bool = False, progress=None) -> Scenario:
    """Simulate ``pattern`` for the week starting ``monday`` into a new scenario store ``out_db``."""
    policy = policy or Policy()
    out_db = Path(out_db)
    files = out_db.with_name(out_db.name + ".files")
    if Path(base_db).resolve() == out_db.resolve():
        raise StoreError(f"the scenario store must not be the real store {base_db}; give another --out-db")
    with Store.open(base_db, read_only=True) as base:
        if scenario_tag(base) is not None:
            raise StoreError(f"{base_db} is a scenario store; give the real store with --db")
        world = World.from_store(base)
        pattern.check_store(world.ward_codes, world.station_ids)
        if out_db.exists():
            if not overwrite:
                raise StoreError(f"{out_db} already exists; choose another --out-db or pass --force")
            out_db.unlink()
            Path(str(out_db) + ".wal").unlink(missing_ok=True)
        if files.exists():
            shutil.rmtree(files)
        store = Store.create(out_db)
        try:
            _copy_world(base, store)
        except BaseException:
            store.close()
            raise
    with store:
        rota = expand(pattern, monday, seed)
        table = world.tracks(pattern, rota, seed)
        files.mkdir(parents=True, exist_ok=True)
        _write_files(files, rota, table, pattern)
        load_roster(store, files / "officers.csv", files / "shifts.csv", tz="UTC")
        ingest_file(store, files / "fixes.parquet")
        tag = {
            "pattern": pattern.name, "source": pattern.source, "digest": pattern.digest,
            "seed": seed, "week": week_label(monday), "base_store": str(base_db),
            "gps": pattern.gps.to_dict(), "visibility": __version__,
        }
        store.con.execute("INSERT INTO meta VALUES (?, ?)", [SCENARIO_KEY, json.dumps(tag)])
        report = analyse(store, policy, monday, monday + timedelta(days=6), progress=progress)
    return Scenario(
        pattern=pattern.name, digest=pattern.digest, week=monday, seed=seed, store=out_db, files=files,
        officers=len(rota.officers), shifts=len(rota.shifts), fixes=table.num_rows,
        visits_planned=len(rota.visits), visits_dropped=rota.dropped, analysis=report,
        notes=list(rota.notes) + world.notes,
    )


def _copy_world(base: Store, store: Store) -> None:
    with store.transaction() as con:
        for table in COPIED_TABLES:
            data = base.con.sql(f"SELECT * FROM {table}").to_arrow_table()
            con.register("_copy", data)
            con.execute(f"INSERT INTO {table} SELECT * FROM _copy")
            con.unregister("_copy")
        rows = base.con.execute(
            "SELECT key, value FROM meta WHERE list_contains(?, key)", [list(COPIED_META)]).fetchall()
        con.executemany("INSERT INTO meta VALUES (?, ?)", [list(r) for r in rows])


def _write_files(folder: Path, rota: Rota, table, pattern: Pattern) -> None:
    rota.officers.to_csv(folder / "officers.csv", index=False)
    rota.shifts_frame().to_csv(folder / "shifts.csv", index=False)
    pq.write_table(table.drop_columns(["task"]), folder / "fixes.parquet", compression="zstd")
    with open(folder / "visits.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["officer_id", "visit", "start", "end", "minutes"])
        for v in rota.visits:
            s = rota.shifts[v.shift]
            start = s.start + timedelta(seconds=v.start_s)
            end = start + timedelta(seconds=v.length_s)
            w.writerow([s.officer_id, pattern.visits[v.visit].name, start.isoformat(), end.isoformat(),
                        f"{v.length_s / 60:g}"])


# ---------------------------------------------------------------------------
# The map the simulation runs on


class World:
    """Wards and stations of a real store, and how a pattern's places map onto them."""

    def __init__(self, wards, stations: list[tuple[str, object]]):
        self.wards = wards  # GeoDataFrame, ward_code + geometry (lon/lat)
        self.stations = stations  # (station_id, shapely geometry)
        self.notes: list[str] = []

    @classmethod
    def from_store(cls, store: Store) -> "World":
        import shapely

        from ..boundaries import stored_wards

        wards = stored_wards(store)
        if not len(wards):
            raise StoreError(f"no wards are loaded in {store.path}; load them first with: "
                             "visibility boundaries load")
        rows = store.con.execute("SELECT station_id, geometry FROM stations ORDER BY station_id").fetchall()
        return cls(wards, [(r[0], shapely.from_wkb(r[1])) for r in rows])

    @property
    def ward_codes(self) -> list[str]:
        return list(self.wards["ward_code"])

    @property
    def station_ids(self) -> list[str]:
        return [s for s, _ in self.stations]

    def ward_geom(self, code: str):
        return self.wards.geometry.iloc[self.ward_codes.index(code)]

    def team_area(self, team):
        import shapely

        return shapely.union_all([self.ward_geom(w) for w in team.wards])

    def station_of(self, team) -> tuple[float, float]:
        """The team's station (or the one nearest its wards); a point on the patch without stations."""
        import shapely

        area = self.team_area(team)
        points = [(sid, g if g.geom_type == "Point" else g.centroid) for sid, g in self.stations]
        if team.station is not None:
            p = dict(points)[team.station]
            return (p.x, p.y)
        if not points:
            self.notes.append(f"the store has no stations: team {team.name!r} starts and ends on its patch")
            p = shapely.point_on_surface(area)
            return (p.x, p.y)
        c = area.centroid
        best = min(points, key=lambda sp: (sp[1].x - c.x) ** 2 + (sp[1].y - c.y) ** 2)
        return (best[1].x, best[1].y)

    def beat_geom(self, pattern: Pattern, name: str):
        """A beat's geometry in lon/lat: a ward's polygon, a polygon, or a loop's line."""
        from shapely.geometry import LineString, Polygon

        b = pattern.beat(name)
        if b is None:  # a ward code used as a beat
            return self.ward_geom(name)
        if b.kind == "ward":
            return self.ward_geom(b.ward)
        return Polygon(b.coords) if b.kind == "polygon" else LineString(b.coords)

    def beat_wards(self, pattern: Pattern, name: str, wards) -> dict[str, float]:
        """The share of a beat in each of ``wards`` (by area for areas, by length for loops)."""
        geom = self.beat_geom(pattern, name)
        size = geom.length if geom.geom_type == "LineString" else geom.area
        out = {}
        for w in wards:
            part = geom.intersection(self.ward_geom(w))
            share = (part.length if geom.geom_type == "LineString" else part.area) / size if size else 0.0
            if share > 1e-6:
                out[w] = share
        return out

    def _touches(self, pattern: Pattern, name: str, wards) -> bool:
        return bool(self.beat_wards(pattern, name, wards))

    def tracks(self, pattern: Pattern, rota: Rota, seed: int):
        """The fixes of every planned shift (an Arrow table with a ``task`` column)."""
        from ..synth.patrol import Beat, Movement, ShiftTask, Target, patrol_tracks

        beats: list[Beat] = []
        beat_index: dict[str, int] = {}

        def beat_of(name: str) -> int:
            if name not in beat_index:
                geom = self.beat_geom(pattern, name)
                beat_index[name] = len(beats)
                beats.append(Beat("loop" if geom.geom_type == "LineString" else "area", geom))
            return beat_index[name]

        movements, stations = [], {}
        for team in pattern.teams:
            st = team.style
            movements.append(Movement(st.speed_kmh, st.stop_p, st.stop_min, st.name == "vehicle",
                                      team.briefing_min * 60.0, team.debrief_min * 60.0,
                                      team.break_min * 60.0))
            stations[team.name] = self.station_of(team)
        officer_beats = {}
        for oid, team_name, codes in zip(rota.officers["officer_id"], rota.officers["team"],
                                         rota.officers["ward_code"]):
            team = pattern.team(team_name)
            own = tuple(codes.split(";"))
            if set(own) == set(team.wards):
                pairs = list(zip(team.beats, team.beat_weights))
            else:  # dedicated officers patrol the team's beats that touch their own wards
                pairs = [(b, w) for b, w in zip(team.beats, team.beat_weights)
                         if w > 0 and self._touches(pattern, b, own)] or [(c, 1.0) for c in own]
            officer_beats[oid] = ([beat_of(b) for b, _ in pairs], [w for _, w in pairs])
        targets = [target_of(v) for v in pattern.visits]
        tasks = []
        team_pos = {t.name: i for i, t in enumerate(pattern.teams)}
        visits_of: dict[int, list] = {}
        for v in rota.visits:
            visits_of.setdefault(v.shift, []).append((v.start_s, v.length_s, v.visit))
        for i, s in enumerate(rota.shifts):
            b, w = officer_beats[s.officer_id]
            tasks.append(ShiftTask(
                officer=s.officer_id, start_s=int(s.start.timestamp()),
                dur_s=(s.end - s.start).total_seconds(), kind=s.kind, reason=s.reason,
                movement=team_pos[s.team], station=stations[s.team], beats=b, weights=w,
                visits=sorted(visits_of.get(i, []))))
        bounds = np.array(self.wards.total_bounds)
        return patrol_tracks(bounds, beats, [Target(t.geom, t.centre, t.radius_m) for t in targets],
                             movements, tasks, pattern.gps, seed)


@dataclass(frozen=True)
class Hotspot:
    """A visit's place as geometry in lon/lat."""

    name: str
    geom: object
    centre: tuple[float, float]
    radius_m: float


def target_of(v) -> Hotspot:
    """The hotspot of a ``[[visit]]``: an H3 cell, a circle round a point, or a polygon."""
    import h3
    import shapely
    from shapely.geometry import Point, Polygon

    from ..synth._frame import LocalFrame

    if v.kind == "cell":
        geom = Polygon([(lng, lat) for lat, lng in h3.cell_to_boundary(v.cell)])
        lat, lng = h3.cell_to_latlng(v.cell)
        centre = (lng, lat)
    elif v.kind == "point":
        centre = v.point
        frame = LocalFrame(lat0=centre[1], lon0=centre[0])
        geom = frame.geom_to_lonlat(Point(0.0, 0.0).buffer(v.radius_m, quad_segs=16))
        return Hotspot(v.name, geom, centre, v.radius_m)
    else:
        geom = Polygon(v.polygon)
        p = shapely.point_on_surface(geom)
        centre = (p.x, p.y)
    frame = LocalFrame(lat0=centre[1], lon0=centre[0])
    local = frame.geom_to_xy(geom)
    radius = float(shapely.distance(shapely.get_exterior_ring(local), Point(0.0, 0.0)))
    return Hotspot(v.name, geom, centre, radius)
