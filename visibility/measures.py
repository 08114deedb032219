"""The rest of the pledge, measured over a range of local days: one call, one run.

:func:`measure` works out the peak windows of every ward, then presence
coverage (:mod:`.coverage`), hotspot dosage and visits (:mod:`.dosage`),
abstraction, off-patch destinations and turnover (:mod:`.workforce`), and
writes them to the store as one run (``coverage_runs`` and the result tables,
keyed by ``run_id``). Measuring the same days again replaces their run.
:func:`coverage_summary` reads a run back per ward and per team, and
:func:`export_table` writes any result table as CSV, Parquet or JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from . import __version__
from .coverage import Span, measure_coverage
from .demand import require_tables
from .dosage import measure_dosage
from .errors import StoreError
from .peaks import plan_peaks, ward_windows
from .policy import Policy
from .store import Store
from .workforce import measure_abstraction, measure_turnover
from .files import write_text_atomic

#: Tables a run writes (all keyed by run_id).
RESULT_TABLES = ("coverage_wards", "coverage_teams", "coverage_windows", "coverage_hours",
                 "hotspot_dosage", "hotspot_visits", "hotspot_windows", "abstraction",
                 "abstraction_reasons", "off_patch_places", "turnover")
#: Tables :func:`export_table` writes.
EXPORTABLE = RESULT_TABLES + ("coverage_runs", "demand", "hotspots", "memberships")
EXPORT_FORMATS = ("csv", "parquet", "json")


@dataclass
class MeasureReport:
    run_id: int
    first: date
    last: date
    wards: int
    windows: int
    peak_s: float
    covered_s: float
    hotspots: int
    visits: int
    seconds: float
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"run_id": self.run_id, "from": self.first.isoformat(),
                "to": self.last.isoformat(), "wards": self.wards, "windows": self.windows,
                "peak_s": self.peak_s, "covered_s": self.covered_s,
                "coverage": self.covered_s / self.peak_s if self.peak_s else None,
                "hotspots": self.hotspots, "visits": self.visits, "seconds": self.seconds,
                "notes": list(self.notes)}


def resolve_days(store: Store, policy: Policy, first: date | None,
                 last: date | None) -> tuple[date, date]:
    """The days to measure: as given, else the ISO week of the latest analysed shift."""
    if first is not None and last is not None:
        if last < first:
            raise StoreError(f"--to {last} is before --from {first}")
        return first, last
    if first is not None or last is not None:
        raise StoreError("give both --from and --to, or --week, or neither (the latest week)")
    row = store.con.execute("SELECT max(shift_start) FROM shift_results").fetchall()[0][0]
    if row is None:
        raise StoreError("nothing has been analysed yet; run: visibility analyse")
    from zoneinfo import ZoneInfo

    day = row.astimezone(ZoneInfo(policy.timezone)).date()
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def make_span(first: date, last: date, tz: str) -> Span:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(tz)
    lo = datetime.combine(first, datetime.min.time(), zone)
    hi = datetime.combine(last + timedelta(days=1), datetime.min.time(), zone)
    as_us = lambda t: int(t.timestamp()) * 1_000_000  # noqa: E731 (whole seconds)
    return Span(first, last, lo, hi, as_us(lo), as_us(hi), tz)


def measure(store: Store, policy: Policy | None = None, date_from: date | None = None,
            date_to: date | None = None) -> MeasureReport:
    """Measure coverage, dosage, abstraction and turnover for local days ``date_from..date_to``."""
    import time

    started = time.perf_counter()
    policy = policy or Policy()
    require_tables(store)
    con = store.con
    if not con.execute("SELECT count(*) FROM shift_results").fetchall()[0][0]:
        raise StoreError("nothing has been analysed yet; run: visibility analyse")
    first, last = resolve_days(store, policy, date_from, date_to)
    span = make_span(first, last, policy.timezone)
    notes = _analysis_notes(con, span, policy)
    plan = plan_peaks(con, policy)
    notes += plan.notes
    ww = ward_windows(plan, first, last, policy.timezone, span.lo_us, span.hi_us)
    with store.transaction():
        run_id = con.execute("SELECT coalesce(max(run_id), 0) + 1 FROM coverage_runs"
                             ).fetchall()[0][0]
        for old in [r[0] for r in con.execute(
                "SELECT run_id FROM coverage_runs WHERE from_date = ? AND to_date = ?",
                [first, last]).fetchall()]:
            for table in RESULT_TABLES + ("coverage_runs",):
                con.execute(f"DELETE FROM {table} WHERE run_id = ?", [old])
        cov = measure_coverage(con, span, ww, plan, run_id)
        dose = measure_dosage(store, span, ww, policy, run_id)
        if not dose["hotspots"]:
            notes.append("no hotspots: load them (visibility hotspots load) or derive them from "
                         "demand (visibility hotspots derive)")
        measure_abstraction(con, span, policy, run_id)
        if not measure_turnover(con, span, run_id):
            notes.append("no team history: turnover needs visibility history load, or "
                         "visibility history snapshot after each roster load")
        con.execute("INSERT INTO coverage_runs VALUES (?, now(), ?, ?, ?, ?, ?, ?, ?, ?)",
                    [run_id, first, last, span.lo, span.hi, policy.to_json(), policy.digest,
                     __version__, json.dumps(notes)])
    return MeasureReport(run_id, first, last, len(ww.wards), cov["windows"], cov["peak_s"],
                         cov["covered_s"], dose["hotspots"], dose.get("visits", 0),
                         time.perf_counter() - started, notes)


def _analysis_notes(con, span: Span, policy: Policy) -> list[str]:
    missing = con.execute(
        """SELECT count(*) FROM shifts s WHERE s.end_ts > $lo AND s.start_ts < $hi
           AND s.shift_id NOT IN (SELECT shift_id FROM shift_results)""",
        {"lo": span.lo, "hi": span.hi}).fetchall()[0][0]
    if missing:
        return [f"{missing} shifts in the range have not been analysed: their presence is "
                "missing (run visibility analyse for these days)"]
    return []


# -- reading back ------------------------------------------------------------------------------
def latest_run(store: Store, run_id: int | None = None) -> tuple:
    require_tables(store)
    if run_id is None:
        row = store.con.execute("SELECT max(run_id) FROM coverage_runs").fetchall()[0][0]
        if row is None:
            raise StoreError("nothing has been measured yet; run: visibility coverage")
        run_id = row
    found = store.con.execute(
        "SELECT run_id, from_date, to_date, notes FROM coverage_runs WHERE run_id = ?",
        [run_id]).fetchall()
    if not found:
        raise StoreError(f"no coverage run {run_id}; list them with: visibility coverage-export coverage_runs")
    return found[0]


def coverage_summary(store: Store, run_id: int | None = None, ward: str | None = None) -> dict:
    """A run per ward (coverage, empty windows, hotspot dosage, the team's abstraction) and per
    team (coverage, abstraction, turnover); with ``ward``, also its 7 x 24 hour matrix."""
    run_id, first, last, notes = latest_run(store, run_id)
    con = store.con
    params = {"run": run_id, "ward": ward}
    cur = con.execute(
        """
        WITH dose AS (SELECT ward_code, count(*) AS hotspots, sum(dosage_s) AS dosage_s,
                             sum(visits) AS visits, sum(effective_visits) AS effective_visits,
                             sum(windows) AS hotspot_windows, sum(windows_missed) AS windows_missed
                      FROM hotspot_dosage WHERE run_id = $run GROUP BY 1),
             team_abs AS (SELECT ow.ward_code, sum(a.abstracted_s) / sum(a.rostered_s) AS rate
                          FROM (SELECT DISTINCT ow.ward_code, o.team FROM officer_wards ow
                                JOIN officers o USING (officer_id)) ow
                          JOIN abstraction a ON a.team = ow.team AND a.run_id = $run GROUP BY 1)
        SELECT c.ward_code, w.ward_name, c.teams, c.officers, c.peak_source, c.windows,
               c.empty_windows, round(c.peak_s / 3600, 2) AS peak_hours,
               round(c.covered_s / 3600, 2) AS covered_hours, c.coverage,
               round(c.longest_uncovered_s / 3600, 2) AS longest_uncovered_hours,
               coalesce(d.hotspots, 0) AS hotspots, round(coalesce(d.dosage_s, 0) / 60, 1)
                   AS dosage_min, coalesce(d.visits, 0) AS visits,
               coalesce(d.effective_visits, 0) AS effective_visits,
               d.hotspot_windows, d.windows_missed, t.rate AS abstraction_rate
        FROM coverage_wards c JOIN wards w USING (ward_code)
        LEFT JOIN dose d USING (ward_code) LEFT JOIN team_abs t USING (ward_code)
        WHERE c.run_id = $run AND ($ward IS NULL OR c.ward_code = $ward)
        ORDER BY c.ward_code""", params)
    wards = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    if ward and not wards:
        raise StoreError(f"ward {ward!r} is not in coverage run {run_id}")
    cur = con.execute(
        """SELECT c.team, c.wards, c.windows, c.empty_windows, c.coverage,
                  a.officers, a.shifts, round(a.rostered_s / 3600, 1) AS rostered_hours,
                  round(a.abstracted_s / 3600, 1) AS abstracted_hours, a.abstraction_rate,
                  (SELECT string_agg(reason || ' ' || round(abstracted_s / 3600, 1) || 'h', ', '
                                     ORDER BY abstracted_s DESC)
                   FROM abstraction_reasons r WHERE r.run_id = $run AND r.team = c.team) AS reasons,
                  (SELECT sum(share) FROM off_patch_places p WHERE p.run_id = $run
                   AND p.team = c.team AND p.place IN ('other_borough', 'outside'))
                      AS off_patch_beyond_borough,
                  t.leavers, t.avg_headcount, t.turnover, t.median_tenure_days
           FROM coverage_teams c LEFT JOIN abstraction a ON a.run_id = $run AND a.team = c.team
           LEFT JOIN turnover t ON t.run_id = $run AND t.team = c.team AND t.ward_code IS NULL
           WHERE c.run_id = $run AND ($ward IS NULL OR c.team IN (
               SELECT o.team FROM officer_wards ow JOIN officers o USING (officer_id)
               WHERE ow.ward_code = $ward))
           ORDER BY c.team""", params)
    teams = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    out = {"run_id": run_id, "from": first.isoformat(), "to": last.isoformat(),
           "notes": json.loads(notes), "wards": wards, "teams": teams}
    if ward:
        rows = con.execute(
            """SELECT dow, hour, peak_s, covered_s, covered_peak_s, hours_s FROM coverage_hours
               WHERE run_id = ? AND ward_code = ? ORDER BY dow, hour""", [run_id, ward]).fetchall()
        out["hours"] = [{"dow": d, "hour": h, "peak_s": p, "covered_s": c, "covered_peak_s": cp,
                         "hours_s": hs} for d, h, p, c, cp, hs in rows]
        out["empty"] = [r[0] for r in con.execute(
            """SELECT label FROM coverage_windows WHERE run_id = ? AND ward_code = ?
               AND covered_s = 0 ORDER BY window_start""", [run_id, ward]).fetchall()]
    return out


def export_table(store: Store, table: str, fmt: str = "csv", out: str | Path | None = None,
                 run_id: int | None = None):
    """A result table (of one run: the latest unless ``run_id``) as CSV or JSON text, or written
    to ``out`` (Parquet needs ``out``). Returns (rows, text or None)."""
    from .tables import Table

    require_tables(store)
    if table not in EXPORTABLE:
        raise StoreError(f"cannot export {table!r}; choose one of {', '.join(EXPORTABLE)}")
    if fmt not in EXPORT_FORMATS:
        raise StoreError(f"unknown format {fmt!r}; choose one of {', '.join(EXPORT_FORMATS)}")
    if fmt == "parquet" and out is None:
        raise StoreError("Parquet is binary: name a file with --out")
    where, params = "", []
    if table in RESULT_TABLES:
        run_id = latest_run(store, run_id)[0]
        where, params = "WHERE run_id = ?", [run_id]
    columns = "*"
    if table == "hotspots" and fmt != "parquet":
        columns = "* REPLACE (hex(geometry) AS geometry)"  # WKB as hex text
    sql = f"SELECT {columns} FROM {table} {where}"
    if fmt == "parquet":
        import pyarrow.parquet as pq

        data = store.con.sql(sql, params=params).to_arrow_table()
        pq.write_table(data, str(out))
        return data.num_rows, None
    cur = store.con.execute(sql, params)
    result = Table([d[0] for d in cur.description], cur.fetchall())
    text = result.to_csv() if fmt == "csv" else result.to_json()
    if out is not None:
        write_text_atomic(out, text)
        return len(result.rows), None
    return len(result.rows), text
