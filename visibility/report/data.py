"""The figures of the weekly coverage report, read from the store with SQL.

Everything here is plain data (dicts, lists, numbers) so that the page, the
CSV/GeoJSON/JSON exports and the tests all read the same values. Shares are
ratios of summed microseconds (duty-time weighted), exactly as
:mod:`visibility.summary` computes them, so the report's figures equal
``visibility summary`` for the same scope and period.

Who is counted: the officers with a home ward in the borough (``--borough``),
with the ward as a home ward (``--ward``) and/or in the team (``--team``); the
scope's wards are the borough's wards, the given ward, or the team's home
wards. A ward's row covers the scope's officers whose home wards include it
(an officer dedicated to two wards counts in both); the headline total counts
each officer-shift once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from ..analyse import local_range
from ..errors import VisibilityError
from ..policy import Policy
from ..store import Store

#: The states of duty time, in the order the report shows them.
STATE_NAMES = ("on_patch", "off_patch", "in_station", "transit", "no_signal")
#: Weeks in the trend chart unless told otherwise.
TREND_WEEKS = 8
DAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class ReportError(VisibilityError):
    """Raised when a report's scope or period names nothing in the store, or it cannot be written."""


@dataclass(frozen=True)
class ReportScope:
    """Who and when a report covers: a borough, ward and/or team, and local days."""

    date_from: date
    date_to: date
    borough: str | None = None
    ward: str | None = None
    team: str | None = None

    def __post_init__(self):
        if not (self.borough or self.ward or self.team):
            raise ReportError("give the report a --borough, --ward or --team")
        if self.date_to < self.date_from:
            raise ReportError(f"--to {self.date_to} is before --from {self.date_from}")

    @property
    def days(self) -> int:
        return (self.date_to - self.date_from).days + 1

    @property
    def iso_week(self) -> str | None:
        """``2026-W47`` when the period is exactly one ISO week, else None."""
        y, w, d = self.date_from.isocalendar()
        return f"{y}-W{w:02d}" if d == 1 and self.days == 7 else None


def status_of(share: float | None, policy: Policy) -> str:
    """``meets`` (green), ``near`` (amber: within ``amber_band`` below the line) or ``below`` (red)."""
    if share is None:
        return "no data"
    if share >= policy.pledge_line:
        return "meets"
    if share >= policy.pledge_line - policy.amber_band:
        return "near"
    return "below"


def _share(num, den):
    return None if not den else num / den


class _Reader:
    """SQL over the store for one scope (officer list and ward list as parameters)."""

    def __init__(self, store: Store, scope: ReportScope, policy: Policy):
        self.con = store.con
        self.scope = scope
        self.policy = policy
        self.lo, self.hi = local_range(scope.date_from, scope.date_to, policy.timezone)
        self.wards, self.officers, self.area = self._resolve()

    def q(self, sql: str, params: dict | None = None) -> list[dict]:
        cur = self.con.execute(sql, params or {})
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, row)) for row in cur.fetchall()]

    # -- scope ----------------------------------------------------------------------
    def _resolve(self):
        s = self.scope
        con = self.con
        area = {}
        if s.borough:
            rows = con.execute("SELECT DISTINCT borough_name FROM wards WHERE borough_code = ?",
                               [s.borough]).fetchall()
            if not rows:
                known = [r[0] for r in con.execute(
                    "SELECT DISTINCT borough_code FROM wards ORDER BY 1").fetchall()]
                raise ReportError(f"no wards of borough {s.borough!r} are loaded (boroughs: "
                                  f"{', '.join(known) or 'none'})")
            area = {"level": "borough", "code": s.borough, "name": rows[0][0]}
        if s.ward:
            rows = con.execute("SELECT ward_name, borough_code, borough_name FROM wards "
                               "WHERE ward_code = ?", [s.ward]).fetchall()
            if not rows:
                raise ReportError(f"no ward {s.ward!r} is loaded")
            if s.borough and rows[0][1] != s.borough:
                raise ReportError(f"ward {s.ward!r} is not in borough {s.borough!r}")
            area = {"level": "ward", "code": s.ward, "name": rows[0][0],
                    "borough_code": rows[0][1], "borough_name": rows[0][2]}
        if s.team:
            if not con.execute("SELECT count(*) FROM officers WHERE team = ?", [s.team]).fetchall()[0][0]:
                raise ReportError(f"no team {s.team!r} in the roster")
            if not area:
                area = {"level": "team", "code": s.team, "name": s.team}
            area["team"] = s.team
        filters, params = ["true"], {}
        if s.borough:
            filters.append("w.borough_code = $borough")
            params["borough"] = s.borough
        if s.ward:
            filters.append("w.ward_code = $ward")
            params["ward"] = s.ward
        if s.team:
            filters.append("o.team = $team")
            params["team"] = s.team
        where = " AND ".join(filters)
        officers = [r[0] for r in con.execute(
            f"""SELECT DISTINCT ow.officer_id FROM officer_wards ow JOIN wards w USING (ward_code)
                JOIN officers o USING (officer_id) WHERE {where} ORDER BY 1""", params).fetchall()]
        wards = [r[0] for r in con.execute(
            f"""SELECT DISTINCT w.ward_code FROM wards w
                LEFT JOIN officer_wards ow USING (ward_code) LEFT JOIN officers o USING (officer_id)
                WHERE {where} ORDER BY 1""", params).fetchall()]
        if not officers:
            raise ReportError(f"no officers of the roster have a home ward in {_describe(area, s)}")
        return wards, officers, area

    # -- the scope's analysed shifts -------------------------------------------------
    def shifts_sql(self, lo=None, hi=None) -> tuple[str, dict]:
        """The scope's analysed officer-shifts starting in [lo, hi) (the period by default)."""
        params = {"officers": self.officers, "lo": lo or self.lo, "hi": hi or self.hi}
        kind = "" if self.policy.include_abstracted else "AND r.kind = 'neighbourhood'"
        sql = f"""SELECT r.*, o.team FROM shift_results r JOIN officers o USING (officer_id)
                  WHERE list_contains($officers, r.officer_id)
                    AND r.shift_start >= $lo AND r.shift_start < $hi {kind}"""
        return sql, params

    def totals(self, group: str, lo=None, hi=None) -> list[dict]:
        """Summed seconds and shares, grouped by ``total``, ``ward``, ``team`` or ``officer``."""
        base, params = self.shifts_sql(lo, hi)
        sums = """count(DISTINCT r.officer_id) AS officers, count(r.shift_id) AS shifts,
            coalesce(sum(r.duration_us), 0) AS duty_us,
            coalesce(sum(r.on_patch_us), 0) AS on_patch_us,
            coalesce(sum(r.off_patch_us), 0) AS off_patch_us,
            coalesce(sum(r.in_station_us), 0) AS in_station_us,
            coalesce(sum(r.transit_us), 0) AS transit_us,
            coalesce(sum(r.no_signal_us), 0) AS no_signal_us,
            coalesce(sum(r.n_fixes), 0) AS fixes,
            coalesce(sum(r.n_unreliable), 0) AS unreliable_fixes,
            count(r.shift_id) FILTER (WHERE r.n_fixes = 0) AS shifts_without_fixes"""
        if group == "total":
            sql = f"SELECT {sums} FROM ({base}) r"
        elif group == "ward":
            params = {**params, "wards": self.wards}
            sql = f"""SELECT w.ward_code AS code, w.ward_name AS name, {sums}
                      FROM wards w
                      LEFT JOIN officer_wards ow ON ow.ward_code = w.ward_code
                        AND list_contains($officers, ow.officer_id)
                      LEFT JOIN ({base}) r ON r.officer_id = ow.officer_id
                      WHERE list_contains($wards, w.ward_code)
                      GROUP BY w.ward_code, w.ward_name ORDER BY w.ward_code"""
        elif group == "team":
            sql = f"""SELECT r.team AS code, r.team AS name, {sums} FROM ({base}) r
                      GROUP BY r.team ORDER BY r.team"""
        elif group == "officer":
            sql = f"""SELECT r.officer_id AS code, any_value(r.team) AS team, {sums} FROM ({base}) r
                      GROUP BY r.officer_id ORDER BY r.officer_id"""
        else:
            raise ValueError(group)
        return [self._finish(row) for row in self.q(sql, params)]

    def _finish(self, row: dict) -> dict:
        duty = row.pop("duty_us")
        out = {k: v for k, v in row.items() if not k.endswith("_us")}
        out["duty_hours"] = duty / 3.6e9
        for name in STATE_NAMES:
            out[f"{name}_hours"] = row[f"{name}_us"] / 3.6e9
        out["visible_share"] = _share(row["on_patch_us"], duty)
        for name in STATE_NAMES:
            out[f"{name}_share"] = _share(row[f"{name}_us"], duty)
        out["status"] = status_of(out["visible_share"], self.policy)
        return out


def _describe(area: dict, scope: ReportScope) -> str:
    if not area:
        return "the scope"
    text = f"{area['level']} {area['code']}"
    if scope.team and area["level"] != "team":
        text += f" and team {scope.team}"
    return text


# -- the whole report's data -------------------------------------------------------------
def collect(store: Store, scope: ReportScope, policy: Policy | None = None, key: bytes | None = None,
            trend_weeks: int = TREND_WEEKS, command: str | None = None,
            attribution: str | None = None, generated: datetime | None = None) -> dict:
    """Every figure of the report as JSON-ready data.

    ``key`` is the pseudonym key; ``None`` shows officer ids as they are (``--names``).
    """
    from ..pseudonym import pseudonym
    from .. import __version__

    policy = policy or Policy()
    r = _Reader(store, scope, policy)
    con = store.con
    if not con.execute("SELECT count(*) FROM shift_results").fetchall()[0][0]:
        raise ReportError("nothing has been analysed yet; run: visibility analyse")
    label = (lambda o: o) if key is None else (lambda o: pseudonym(o, key))

    total = r.totals("total")[0]
    if not total["shifts"]:
        span = f"{scope.date_from.isoformat()} to {scope.date_to.isoformat()}"
        raise ReportError(f"no analysed shifts of {_describe(r.area, scope)} start from {span}; "
                          f"analyse them first: visibility analyse --from {scope.date_from} "
                          f"--to {scope.date_to}")
    wards = r.totals("ward")
    teams = r.totals("team")
    officers = r.totals("officer")
    for o in officers:
        o["label"] = label(o.pop("code"))
    officers.sort(key=lambda o: o["label"])

    # The previous period of the same length, for the change column.
    span = timedelta(days=scope.days)
    p_lo, p_hi = local_range(scope.date_from - span, scope.date_to - span, policy.timezone)
    prev_total = r.totals("total", p_lo, p_hi)[0]
    prev_wards = {w["code"]: w for w in r.totals("ward", p_lo, p_hi)}
    total["previous_share"] = prev_total["visible_share"]
    total["change_points"] = _change(total["visible_share"], prev_total["visible_share"])
    for w in wards:
        prev = prev_wards.get(w["code"], {}).get("visible_share")
        w["previous_share"] = prev
        w["change_points"] = _change(w["visible_share"], prev)

    shift_rows = _officer_shifts(r, label)
    data = {
        "title": _title(r.area, scope),
        "scope": {**r.area, "date_from": scope.date_from.isoformat(),
                  "date_to": scope.date_to.isoformat(), "iso_week": scope.iso_week,
                  "days": scope.days, "team": scope.team, "officer_count": len(r.officers),
                  "wards": r.wards, "timezone": policy.timezone,
                  "previous_period": [(scope.date_from - span).isoformat(),
                                      (scope.date_to - span).isoformat()]},
        "officer_labels": "officer ids" if key is None else "pseudonyms",
        "settings": {"pledge_line": policy.pledge_line, "amber_band": policy.amber_band,
                     "include_abstracted": policy.include_abstracted,
                     "timezone": policy.timezone},
        "total": total,
        "wards": wards,
        "teams": teams,
        "officers": officers,
        "officer_shifts": shift_rows,
        "status_counts": {s: sum(w["status"] == s for w in wards)
                          for s in ("meets", "near", "below", "no data")},
        "trend": _trend(r, scope, policy, trend_weeks),
        "hour_of_week": _hour_of_week(r, scope, policy),
        "cells": _cells(r),
        "data_quality": _data_quality(r, total),
        "provenance": _provenance(r, policy, command),
        "attribution": attribution if attribution is not None else default_attribution(r.wards),
        "version": __version__,
        "generated": (generated or datetime.now(timezone.utc)).strftime("%Y-%m-%d %H:%M UTC"),
    }
    return data


def _change(now, before):
    return None if now is None or before is None else (now - before) * 100


def _title(area: dict, scope: ReportScope) -> str:
    what = {"borough": "Borough", "ward": "Ward", "team": "Team"}[area["level"]]
    name = area["name"] if area["level"] == "team" else f"{area['name']} ({area['code']})"
    text = f"{what} {name}"
    if scope.team and area["level"] != "team":
        text += f", team {scope.team}"
    when = (f"week {scope.iso_week}" if scope.iso_week
            else f"{scope.date_from.isoformat()} to {scope.date_to.isoformat()}")
    return f"{text} — {when}"


def default_attribution(ward_codes: list[str]) -> str:
    """Made-up sample codes (``X...``) say so; other boundaries are taken to be ONS wards."""
    if ward_codes and all(c.upper().startswith("X") for c in ward_codes):
        return "Sample boundaries: made up"
    return ("Ward boundaries: Office for National Statistics, Open Government Licence v3.0; "
            "contains OS data © Crown copyright and database right")


def _officer_shifts(r: _Reader, label) -> list[dict]:
    base, params = r.shifts_sql()
    rows = r.q(f"""SELECT officer_id, team, kind,
                          strftime(shift_start, '%Y-%m-%dT%H:%M:%SZ') AS shift_start,
                          strftime(shift_end, '%Y-%m-%dT%H:%M:%SZ') AS shift_end,
                          duration_us, on_patch_us, off_patch_us, in_station_us, transit_us,
                          no_signal_us, n_fixes
                   FROM ({base}) r ORDER BY officer_id, r.shift_start""", params)
    out = []
    for row in rows:
        duty = row.pop("duration_us")
        rec = {"officer": label(row.pop("officer_id")), "team": row["team"], "kind": row["kind"],
               "shift_start": row["shift_start"], "shift_end": row["shift_end"],
               "duty_hours": duty / 3.6e9, "fixes": row["n_fixes"]}
        for name in STATE_NAMES:
            rec[f"{name}_hours"] = row[f"{name}_us"] / 3.6e9
        rec["visible_share"] = _share(row["on_patch_us"], duty)
        rec["no_signal_share"] = _share(row["no_signal_us"], duty)
        rec["status"] = status_of(rec["visible_share"], r.policy)
        out.append(rec)
    out.sort(key=lambda x: (x["officer"], x["shift_start"]))
    return out


def _trend(r: _Reader, scope: ReportScope, policy: Policy, n: int) -> list[dict]:
    """Visible share per ISO week (the last ``n`` weeks to the period's end), total and per ward."""
    y, w, _ = scope.date_to.isocalendar()
    last_monday = date.fromisocalendar(y, w, 1)
    weeks = []
    for k in range(n - 1, -1, -1):
        monday = last_monday - timedelta(weeks=k)
        lo, hi = local_range(monday, monday + timedelta(days=6), policy.timezone)
        t = r.totals("total", lo, hi)[0]
        iy, iw, _ = monday.isocalendar()
        weeks.append({
            "week": f"{iy}-W{iw:02d}", "monday": monday.isoformat(),
            "shifts": t["shifts"], "duty_hours": t["duty_hours"],
            "visible_share": t["visible_share"], "status": t["status"],
            "wards": {x["code"]: x["visible_share"] for x in r.totals("ward", lo, hi)},
        })
    prev = None
    for wk in weeks:
        wk["change_points"] = _change(wk["visible_share"], prev)
        if wk["visible_share"] is not None:
            prev = wk["visible_share"]
    return weeks


def _hour_of_week(r: _Reader, scope: ReportScope, policy: Policy) -> dict:
    """Officers visibly on patch, on average, in each local day-of-week and hour."""
    base, params = r.shifts_sql()
    params = {**params, "wards": r.wards}
    rows = r.con.execute(
        f"""SELECT p.hour_utc, sum(p.on_patch_us) FROM presence p
            JOIN ({base}) s USING (shift_id)
            WHERE list_contains($wards, p.ward_code) GROUP BY p.hour_utc""", params).fetchall()
    zone = ZoneInfo(policy.timezone)
    grid = [[0.0] * 24 for _ in range(7)]
    for hour_utc, us in rows:
        local = hour_utc.astimezone(zone)
        grid[local.weekday()][local.hour] += us / 3.6e9
    occurrences = [0] * 7
    for k in range(scope.days):
        occurrences[(scope.date_from + timedelta(days=k)).weekday()] += 1
    mean = [[grid[d][h] / occurrences[d] if occurrences[d] else None for h in range(24)]
            for d in range(7)]
    return {"days": list(DAY_NAMES), "officer_hours": grid, "mean_officers": mean,
            "occurrences": occurrences}


def _cells(r: _Reader) -> list[dict]:
    """Officer-minutes on patch per H3 cell (summed over the scope's wards)."""
    base, params = r.shifts_sql()
    params = {**params, "wards": r.wards}
    rows = r.q(
        f"""SELECT p.cell, sum(p.on_patch_us) AS us, string_agg(DISTINCT p.ward_code, ';'
                   ORDER BY p.ward_code) AS wards
            FROM presence p JOIN ({base}) s USING (shift_id)
            WHERE list_contains($wards, p.ward_code) GROUP BY p.cell ORDER BY p.cell""", params)
    import h3

    return [{"cell": h3.int_to_str(int(row["cell"])), "officer_minutes": row["us"] / 6e7,
             "wards": row["wards"]} for row in rows]


def _data_quality(r: _Reader, total: dict) -> dict:
    con = r.con
    kind = "" if r.policy.include_abstracted else "AND s.kind = 'neighbourhood'"
    params = {"officers": r.officers, "lo": r.lo, "hi": r.hi}
    not_analysed = con.execute(
        f"""SELECT count(*) FROM shifts s WHERE list_contains($officers, s.officer_id)
            AND s.start_ts >= $lo AND s.start_ts < $hi {kind}
            AND s.shift_id NOT IN (SELECT shift_id FROM shift_results)""", params).fetchall()[0][0]
    sources = contributing_sources(r)
    rejects = r.q("SELECT reason, count(*) AS rows FROM rejects WHERE list_contains($s, source_id) "
                  "GROUP BY reason ORDER BY reason", {"s": sources}) if sources else []
    unassigned = con.execute(
        """SELECT count(*), count(DISTINCT device_id) FROM device_pings d
           WHERE ts >= $lo AND ts < $hi AND NOT EXISTS (
               SELECT 1 FROM device_assignments a WHERE a.device_id = d.device_id
               AND d.ts >= a.from_ts AND d.ts < a.to_ts)""", {"lo": r.lo, "hi": r.hi}).fetchall()[0]
    duty_h = total["duty_hours"]
    return {
        "no_signal_share": total["no_signal_share"],
        "fixes": total["fixes"],
        "fixes_per_duty_hour": total["fixes"] / duty_h if duty_h else None,
        "unreliable_fixes": total["unreliable_fixes"],
        "shifts": total["shifts"],
        "shifts_without_fixes": total["shifts_without_fixes"],
        "rostered_shifts_not_analysed": int(not_analysed),
        "rejected_rows": int(sum(x["rows"] for x in rejects)),
        "rejected_by_reason": rejects,
        "unassigned_device_fixes": int(unassigned[0]),
        "unassigned_devices": int(unassigned[1]),
    }


def contributing_sources(r: _Reader) -> list[int]:
    """Sources holding fixes of the scope's shifts (officer-keyed, or device-keyed and assigned)."""
    base, params = r.shifts_sql()
    rows = r.con.execute(
        f"""SELECT DISTINCT p.source_id FROM pings p JOIN ({base}) s
              ON p.officer_id = s.officer_id AND p.ts >= s.shift_start AND p.ts < s.shift_end
            UNION
            SELECT DISTINCT d.source_id FROM device_pings d JOIN device_assignments a
              ON d.device_id = a.device_id AND d.ts >= a.from_ts AND d.ts < a.to_ts
            JOIN ({base}) s ON a.officer_id = s.officer_id AND d.ts >= s.shift_start
              AND d.ts < s.shift_end
            ORDER BY 1""", params).fetchall()
    return [row[0] for row in rows]


def _provenance(r: _Reader, policy: Policy, command: str | None) -> dict:
    base, params = r.shifts_sql()
    runs = r.q(f"""SELECT a.run_id, strftime(a.started_at, '%Y-%m-%d %H:%M UTC') AS analysed_at,
                          a.policy_digest, a.version, a.policy,
                          (SELECT count(*) FROM ({base}) s WHERE s.run_id = a.run_id) AS shifts
                   FROM analyses a WHERE a.run_id IN (SELECT run_id FROM ({base}))
                   ORDER BY a.run_id""", params)
    for run in runs:
        run["policy"] = json.loads(run["policy"])
    sources = contributing_sources(r)
    listed = r.q("""SELECT source_id, path, format, sha256, rows_read, rows_accepted, rows_rejected,
                           rows_duplicate, rows_unassigned,
                           strftime(ingested_at, '%Y-%m-%d %H:%M UTC') AS ingested_at
                    FROM sources WHERE list_contains($s, source_id) ORDER BY source_id""",
                 {"s": sources}) if sources else []
    roster = r.con.execute(
        f"""SELECT sha256(coalesce(string_agg(officer_id || '|' || shift_start::VARCHAR || '|'
                   || shift_end::VARCHAR || '|' || kind, ';' ORDER BY shift_id), ''))
            FROM ({base})""", params).fetchall()[0][0]
    digests = sorted({run["policy_digest"] for run in runs})
    notes = []
    if len(digests) > 1:
        notes.append(f"the figures come from {len(runs)} analyses under {len(digests)} different "
                     "policies; re-run visibility analyse over the period to make them one")
    return {
        "analyses": runs,
        "policy_digests": digests,
        "report_policy": policy.to_dict(),
        "report_policy_digest": policy.digest,
        "sources": listed,
        "roster_sha256": roster,
        "command": command,
        "notes": notes,
    }
