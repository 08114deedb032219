"""Summaries of analysed shifts: per officer-shift, ward, team or borough.

Every figure is computed in SQL from ``shift_results``. A ward's figures cover
the officers whose home wards include it (an officer with two home wards counts
in both); a borough's cover each officer-shift once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date

from .analyse import local_range
from .errors import StoreError
from .policy import Policy
from .store import Store
from .tables import Table

GROUPINGS = ("officer-shift", "ward", "team", "borough")
STATE_COLUMNS = ("on_patch_s", "off_patch_s", "in_station_s", "transit_s", "no_signal_s")


@dataclass
class Summary(Table):
    """A result table (column names and rows of plain values) with its grouping and line."""

    by: str = "ward"
    pledge_line: float = 0.8

    def to_json(self) -> str:
        return json.dumps({"by": self.by, "pledge_line": self.pledge_line,
                           "rows": self.records()}, indent=2, default=str)


_SECONDS = """
    sum(on_patch_us) / 1e6 AS on_patch_s, sum(off_patch_us) / 1e6 AS off_patch_s,
    sum(in_station_us) / 1e6 AS in_station_s, sum(transit_us) / 1e6 AS transit_s,
    sum(no_signal_us) / 1e6 AS no_signal_s,
    sum(duration_us) / 1e6 AS duty_s,
    round(sum(duration_us) / 3.6e9, 2) AS duty_hours,
    sum(on_patch_us) / sum(duration_us) AS visible_share,
    sum(no_signal_us) / sum(duration_us) AS no_signal_share,
    sum(on_patch_us) / sum(duration_us) >= $line AS meets_line,
    count(DISTINCT officer_id) < $min_group AS small_group
"""


def summarise(store: Store, by: str = "ward", policy: Policy | None = None,
              date_from: date | None = None, date_to: date | None = None,
              ward: str | None = None, team: str | None = None,
              borough: str | None = None, suppress_small: bool = False) -> Summary:
    """Summarise analysed shifts that start on local days ``date_from`` to ``date_to``.

    Group rows carry ``small_group`` when built from fewer officers than the
    policy's ``min_group_officers``; ``suppress_small`` blanks their figures.
    """
    if by not in GROUPINGS:
        raise StoreError(f"cannot summarise by {by!r}; choose one of {', '.join(GROUPINGS)}")
    policy = policy or Policy()
    con = store.con
    if not con.execute("SELECT count(*) FROM shift_results").fetchall()[0][0]:
        raise StoreError("nothing has been analysed yet; run: visibility analyse")
    lo, hi = local_range(date_from, date_to, policy.timezone)
    params: dict = {"line": policy.pledge_line}
    if by != "officer-shift":
        params["min_group"] = policy.min_group_officers
    filters = ["true"]
    if lo is not None:
        filters.append("r.shift_start >= $lo")
        params["lo"] = lo
    if hi is not None:
        filters.append("r.shift_start < $hi")
        params["hi"] = hi
    if not policy.include_abstracted:
        filters.append("r.kind = 'neighbourhood'")
    if team:
        filters.append("o.team = $team")
        params["team"] = team
    if ward:
        filters.append("r.officer_id IN (SELECT officer_id FROM officer_wards WHERE ward_code = $ward)")
        params["ward"] = ward
    if borough:
        filters.append("r.officer_id IN (SELECT ow.officer_id FROM officer_wards ow JOIN wards w "
                       "USING (ward_code) WHERE w.borough_code = $borough)")
        params["borough"] = borough
    base = f"""
        SELECT r.*, o.team FROM shift_results r JOIN officers o USING (officer_id)
        WHERE {' AND '.join(filters)}
    """
    if by == "officer-shift":
        sql = f"""
            SELECT officer_id, team, kind,
                   strftime(shift_start, '%Y-%m-%dT%H:%M:%SZ') AS shift_start,
                   strftime(shift_end, '%Y-%m-%dT%H:%M:%SZ') AS shift_end,
                   on_patch_us / 1e6 AS on_patch_s, off_patch_us / 1e6 AS off_patch_s,
                   in_station_us / 1e6 AS in_station_s, transit_us / 1e6 AS transit_s,
                   no_signal_us / 1e6 AS no_signal_s, duration_us / 1e6 AS duty_s,
                   on_patch_us / duration_us AS visible_share,
                   no_signal_us / duration_us AS no_signal_share,
                   on_patch_us / duration_us >= $line AS meets_line,
                   n_fixes
            FROM ({base}) r ORDER BY officer_id, r.shift_start
        """
    elif by == "ward":
        sql = f"""
            SELECT w.ward_code, w.ward_name, w.borough_code,
                   count(DISTINCT r.officer_id) AS officers, count(*) AS shifts, {_SECONDS}
            FROM ({base}) r JOIN officer_wards ow USING (officer_id)
            JOIN wards w USING (ward_code)
            {"WHERE ow.ward_code = $ward" if ward else ""}
            GROUP BY ALL ORDER BY w.ward_code
        """
    elif by == "team":
        sql = f"""
            SELECT team, count(DISTINCT officer_id) AS officers, count(*) AS shifts, {_SECONDS}
            FROM ({base}) r GROUP BY team ORDER BY team
        """
    else:
        sql = f"""
            SELECT borough_code, borough_name, count(DISTINCT officer_id) AS officers,
                   count(*) AS shifts, {_SECONDS}
            FROM (SELECT DISTINCT r.*, w.borough_code, w.borough_name
                  FROM ({base}) r JOIN officer_wards ow USING (officer_id)
                  JOIN wards w USING (ward_code)
                  {"WHERE w.borough_code = $borough" if borough else ""})
            GROUP BY ALL ORDER BY borough_code
        """
    cur = con.execute(sql, params)
    columns = [d[0] for d in cur.description]
    rows = cur.fetchall()
    if suppress_small and "small_group" in columns:
        keep = {c for c in columns if not c.endswith(("_s", "_share", "_hours")) and c != "meets_line"}
        flag = columns.index("small_group")
        rows = [tuple(v if (c in keep or not row[flag]) else None for c, v in zip(columns, row))
                for row in rows]
    return Summary(by=by, columns=columns, rows=rows, pledge_line=policy.pledge_line)
