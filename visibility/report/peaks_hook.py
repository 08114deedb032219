"""Peak-period coverage and hotspot dosage in the report, when they have been measured.

The measures themselves belong to ``visibility coverage`` (:mod:`visibility.measures`,
:mod:`visibility.coverage`, :mod:`visibility.dosage`), which writes them to the
store as a run over local days (``coverage_runs`` and its result tables). The
report only reads a run whose days are exactly the report's period: coverage
of other days would not describe this week. Without one, the section says how
to measure it.

:func:`collect` returns ``{"available": False, "reason": ...}`` or the figures:
per ward (coverage of the peak windows, empty windows, longest uncovered
stretch, hotspot dosage and visits), the day x hour matrix of each ward (the
share of peak time covered, None outside the peak windows) and the hotspots.
"""

from __future__ import annotations

TABLES = ("coverage_runs", "coverage_wards", "coverage_hours", "hotspot_dosage", "hotspots")


def _command(data: dict) -> str:
    s = data["scope"]
    period = f"--week {s['iso_week']}" if s["iso_week"] else f"--from {s['date_from']} --to {s['date_to']}"
    return f"visibility coverage {period}"


def collect(store, data: dict) -> dict:
    con = store.con
    have = {r[0] for r in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE list_contains(?, table_name)",
        [list(TABLES)]).fetchall()}
    if have != set(TABLES):
        return {"available": False,
                "reason": "this store predates the peak-period measures (visibility coverage); "
                          "a store made with visibility init now has them."}
    s = data["scope"]
    run = con.execute(
        """SELECT run_id, strftime(computed_at, '%Y-%m-%d %H:%M UTC'), policy_digest
           FROM coverage_runs WHERE from_date = ? AND to_date = ? ORDER BY run_id DESC LIMIT 1""",
        [s["date_from"], s["date_to"]]).fetchall()
    if not run:
        return {"available": False,
                "reason": f"not measured for {s['date_from']} to {s['date_to']} yet: run "
                          f"{_command(data)} and write the report again."}
    run_id, computed_at, digest = run[0]
    params = {"run": run_id, "wards": s["wards"]}
    cur = con.execute(
        """WITH dose AS (SELECT ward_code, count(*) AS hotspots, sum(dosage_s) AS dosage_s,
                                sum(visits) AS visits, sum(effective_visits) AS effective_visits,
                                sum(windows) AS hotspot_windows, sum(windows_missed) AS windows_missed
                         FROM hotspot_dosage WHERE run_id = $run GROUP BY 1)
           SELECT c.ward_code AS code, w.ward_name AS name, c.peak_source, c.windows,
                  c.empty_windows, c.peak_s / 3600 AS peak_hours, c.covered_s / 3600 AS covered_hours,
                  c.coverage, c.longest_uncovered_s / 3600 AS longest_uncovered_hours,
                  coalesce(d.hotspots, 0) AS hotspots, coalesce(d.dosage_s, 0) / 60 AS dosage_minutes,
                  coalesce(d.visits, 0) AS visits, coalesce(d.effective_visits, 0) AS effective_visits,
                  d.hotspot_windows, d.windows_missed
           FROM coverage_wards c JOIN wards w USING (ward_code) LEFT JOIN dose d USING (ward_code)
           WHERE c.run_id = $run AND list_contains($wards, c.ward_code) ORDER BY c.ward_code""",
        params)
    wards = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    hours: dict[str, list[list]] = {w["code"]: [[None] * 24 for _ in range(7)] for w in wards}
    for code, dow, hour, peak_s, covered in con.execute(
            """SELECT ward_code, dow, hour, peak_s, covered_peak_s FROM coverage_hours
               WHERE run_id = $run AND list_contains($wards, ward_code)""", params).fetchall():
        if code in hours and peak_s > 0:
            hours[code][(dow - 1) % 7][hour] = covered / peak_s
    cur = con.execute(
        """SELECT h.label, d.ward_code, w.ward_name, d.peak_s / 3600 AS peak_hours,
                  d.dosage_s / 60 AS dosage_minutes, d.visits, d.short_visits, d.effective_visits,
                  d.long_visits, d.windows, d.windows_missed, d.longest_gap_s / 3600 AS longest_gap_hours
           FROM hotspot_dosage d JOIN hotspots h USING (hotspot_id) JOIN wards w ON w.ward_code = d.ward_code
           WHERE d.run_id = $run AND list_contains($wards, d.ward_code)
           ORDER BY d.ward_code, h.label""", params)
    hotspots = [dict(zip([d[0] for d in cur.description], r)) for r in cur.fetchall()]
    peak = sum(w["peak_hours"] for w in wards)
    return {"available": True, "run_id": run_id, "computed_at": computed_at,
            "policy_digest": digest, "wards": wards, "hours": hours, "hotspots": hotspots,
            "coverage": sum(w["covered_hours"] for w in wards) / peak if peak else None,
            "command": _command(data)}
