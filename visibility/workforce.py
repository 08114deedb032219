"""Abstraction and turnover: is the team kept on neighbourhood work, and does it stay?

- **Abstraction rate** per team: abstracted shift hours / rostered shift hours,
  over the shifts starting in the range, with the hours by reason.
- **Where off-patch time went**, per team: the off-patch time of its officers'
  analysed shifts, by the ward each fix was in and what that ward is to the
  team: ``team_ward`` (a ward the team serves, but not the officer's own),
  ``borough`` (another ward of a borough the team serves), ``other_borough``
  or ``outside`` (no loaded ward).
- **Turnover** per team and per ward team, from the team history
  (``memberships``: officer, team, ward, first and last day): leavers (last
  day in the range) / average headcount (member-days / days), and the median
  tenure, in days, of those in post on the last day. An officer's back-to-back
  or overlapping spells in one team count as one. The history is loaded from
  a file, or built up by snapshots of the roster after each roster load.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .coverage import Span
from .errors import InputFileError, RosterError, StoreError
from .store import Store


def measure_abstraction(con, span: Span, policy, run_id: int) -> None:
    """Write abstraction, abstraction_reasons and off_patch_places."""
    params = {"lo": span.lo, "hi": span.hi, "run": run_id}
    con.execute(
        """INSERT INTO abstraction
           SELECT $run, team, officers, shifts, rostered, abstracted, abstracted / rostered
           FROM (SELECT o.team, count(DISTINCT s.officer_id) AS officers, count(*) AS shifts,
                        sum(epoch(s.end_ts - s.start_ts)) AS rostered,
                        coalesce(sum(epoch(s.end_ts - s.start_ts))
                                 FILTER (WHERE s.kind = 'abstracted'), 0) AS abstracted
                 FROM shifts s JOIN officers o USING (officer_id)
                 WHERE s.start_ts >= $lo AND s.start_ts < $hi GROUP BY o.team)
           ORDER BY team""", params)
    con.execute(
        """INSERT INTO abstraction_reasons
           SELECT $run, o.team, coalesce(s.reason, '(no reason given)'), count(*),
                  sum(epoch(s.end_ts - s.start_ts))
           FROM shifts s JOIN officers o USING (officer_id)
           WHERE s.kind = 'abstracted' AND s.start_ts >= $lo AND s.start_ts < $hi
           GROUP BY ALL ORDER BY 2, 5 DESC""", params)
    kinds = "" if policy.include_abstracted else "AND r.kind = 'neighbourhood'"
    con.execute(
        f"""INSERT INTO off_patch_places
            WITH f AS (
                SELECT o.team, f.ward_code, epoch_us(f.own_to) - epoch_us(f.own_from) AS us
                FROM track_runs f JOIN shift_results r USING (shift_id)
                JOIN officers o ON o.officer_id = r.officer_id
                WHERE f.state = 4 AND r.shift_start >= $lo AND r.shift_start < $hi {kinds}),
            team_wards AS (SELECT DISTINCT o.team, ow.ward_code FROM officer_wards ow
                           JOIN officers o USING (officer_id)),
            team_boroughs AS (SELECT DISTINCT t.team, w.borough_code FROM team_wards t
                              JOIN wards w USING (ward_code)),
            placed AS (
                SELECT f.team, f.ward_code, w.borough_code, f.us,
                       CASE WHEN f.ward_code IS NULL THEN 'outside'
                            WHEN t.ward_code IS NOT NULL THEN 'team_ward'
                            WHEN b.borough_code IS NOT NULL THEN 'borough'
                            ELSE 'other_borough' END AS place
                FROM f LEFT JOIN wards w ON w.ward_code = f.ward_code
                LEFT JOIN team_wards t ON t.team = f.team AND t.ward_code = f.ward_code
                LEFT JOIN team_boroughs b ON b.team = f.team AND b.borough_code = w.borough_code)
            SELECT $run, team, place, ward_code, borough_code, sum(us) / 1e6,
                   sum(us) / sum(sum(us)) OVER (PARTITION BY team)
            FROM placed GROUP BY team, place, ward_code, borough_code
            ORDER BY team, 6 DESC""", params)


# -- turnover ------------------------------------------------------------------------------------
_STINTS = """
    WITH m AS (SELECT officer_id, team, {ward} AS ward_code, from_date,
                      coalesce(to_date, DATE '9999-12-30') AS to_date
               FROM memberships {where}),
    o AS (SELECT *, max(to_date) OVER (PARTITION BY officer_id, team, ward_code
                                       ORDER BY from_date, to_date
                                       ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
          FROM m),
    i AS (SELECT *, sum(CASE WHEN prev_end IS NULL OR from_date > prev_end + 1 THEN 1 ELSE 0 END)
                        OVER (PARTITION BY officer_id, team, ward_code ORDER BY from_date, to_date)
                        AS island
          FROM o)
    SELECT officer_id, team, ward_code, min(from_date) AS from_date, max(to_date) AS to_date
    FROM i GROUP BY officer_id, team, ward_code, island
"""


def measure_turnover(con, span: Span, run_id: int) -> bool:
    """Write turnover for the days of the span; False when there is no team history."""
    if not con.execute("SELECT count(*) FROM memberships").fetchall()[0][0]:
        return False
    days = (span.last - span.first).days + 1
    params = {"first": span.first, "last": span.last, "days": days, "run": run_id}
    for ward, where in (("NULL::VARCHAR", ""), ("ward_code", "WHERE ward_code IS NOT NULL")):
        con.execute(
            f"""INSERT INTO turnover
                WITH s AS ({_STINTS.format(ward=ward, where=where)}),
                t AS (
                    SELECT team, ward_code,
                           count(*) FILTER (WHERE from_date <= $first AND to_date >= $first) AS h0,
                           count(*) FILTER (WHERE from_date <= $last AND to_date >= $last) AS h1,
                           sum(greatest(0, least(to_date, $last) - greatest(from_date, $first) + 1))
                               / $days AS avg_h,
                           count(*) FILTER (WHERE from_date BETWEEN $first AND $last) AS joiners,
                           count(*) FILTER (WHERE to_date BETWEEN $first AND $last) AS leavers,
                           median($last - from_date + 1)
                               FILTER (WHERE from_date <= $last AND to_date >= $last) AS tenure
                    FROM s WHERE from_date <= $last AND to_date >= $first
                    GROUP BY team, ward_code)
                SELECT $run, team, ward_code, h0, h1, avg_h, joiners, leavers,
                       CASE WHEN avg_h > 0 THEN leavers / avg_h END,
                       CASE WHEN avg_h > 0 THEN leavers / avg_h * 365.25 / $days END, tenure
                FROM t ORDER BY team, ward_code NULLS FIRST""", params)
    return True


@dataclass
class HistoryReport:
    rows: int = 0
    opened: int = 0
    closed: int = 0
    unchanged: int = 0

    def to_dict(self) -> dict:
        return {"rows": self.rows, "opened": self.opened, "closed": self.closed,
                "unchanged": self.unchanged}


def load_history(store: Store, path: str | Path) -> HistoryReport:
    """Replace the team history with a CSV: officer_id,team,from[,to][,ward_code] (dates;
    ``to`` is the last day in the team, empty while still in it; wards separated by ';')."""
    from .demand import require_tables

    require_tables(store)
    path = Path(path)
    rows = []
    for line, row in _read_rows(path, ("officer_id", "team", "from")):
        where = f"{path} line {line}"
        if not row["officer_id"] or not row["team"]:
            raise RosterError(f"{where}: officer_id and team must not be empty")
        first = _date(row["from"], where)
        last = _date(row["to"], where) if row.get("to") else None
        if last is not None and last < first:
            raise RosterError(f"{where}: the last day {last} is before the first {first}")
        wards = [w.strip() for w in (row.get("ward_code") or "").split(";") if w.strip()] or [None]
        rows += [(row["officer_id"], row["team"], w, first, last) for w in wards]
    known = {r[0] for r in store.con.execute("SELECT ward_code FROM wards").fetchall()}
    unknown = sorted({r[2] for r in rows if r[2] is not None} - known)
    if unknown:
        raise RosterError(f"{path}: ward {unknown[0]!r} is not loaded")
    with store.transaction():
        store.con.execute("DELETE FROM memberships")
        store.con.executemany("INSERT INTO memberships VALUES (?, ?, ?, ?, ?)", rows)
    return HistoryReport(rows=len(rows), opened=len(rows))


def _read_rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty")
    reader = csv.DictReader(text.splitlines())
    header = [(h or "").strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in required if c not in header]
    if missing:
        raise RosterError(f"{path}: missing column {missing[0]!r} (columns are: {', '.join(header)})")
    rows = [(reader.line_num, {(k or "").strip().lower(): (v or "").strip()
                               for k, v in row.items() if isinstance(v, str) or v is None})
            for row in reader]
    if not rows:
        raise RosterError(f"{path}: has a header but no rows")
    return rows


def _date(text: str, where: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise RosterError(f"{where}: {text!r} is not a date like 2026-11-16") from None


def snapshot_history(store: Store, as_of: date) -> HistoryReport:
    """Record the roster as it stands on ``as_of``: memberships that ended close the day
    before, new ones open that day. Run it after each roster load."""
    from .demand import require_tables

    require_tables(store)
    con = store.con
    if not con.execute("SELECT count(*) FROM officers").fetchall()[0][0]:
        raise StoreError("no officers are loaded; load the roster first with: visibility roster load")
    latest = con.execute("SELECT max(from_date) FROM memberships WHERE to_date IS NULL"
                         ).fetchall()[0][0]
    if latest is not None and latest > as_of:
        raise StoreError(f"the team history already has a snapshot on {latest}, after {as_of}")
    current = """SELECT o.officer_id, o.team, ow.ward_code FROM officers o
                 JOIN officer_wards ow USING (officer_id)"""
    gone = f"""to_date IS NULL AND NOT EXISTS (
        SELECT 1 FROM ({current}) c WHERE c.officer_id = memberships.officer_id
        AND c.team = memberships.team AND c.ward_code IS NOT DISTINCT FROM memberships.ward_code)"""
    report = HistoryReport()
    with store.transaction():
        report.closed = con.execute(f"SELECT count(*) FROM memberships WHERE {gone}"
                                    ).fetchall()[0][0]
        con.execute(f"DELETE FROM memberships WHERE {gone} AND from_date = ?", [as_of])
        con.execute(f"UPDATE memberships SET to_date = ?::DATE - 1 WHERE {gone}", [as_of])
        report.opened = con.execute(
            f"""INSERT INTO memberships SELECT c.*, ?::DATE, NULL FROM ({current}) c
                WHERE NOT EXISTS (SELECT 1 FROM memberships m WHERE m.to_date IS NULL
                                  AND m.officer_id = c.officer_id AND m.team = c.team
                                  AND m.ward_code = c.ward_code)""", [as_of]
        ).fetchall()[0][0]
        report.rows = con.execute("SELECT count(*) FROM memberships").fetchall()[0][0]
        report.unchanged = con.execute(f"SELECT count(*) FROM ({current})").fetchall()[0][0] \
            - report.opened
    return report
