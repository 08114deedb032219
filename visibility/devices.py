"""Device assignments: which officer carried which radio, phone or vehicle box, and when.

Feeds keyed by device land in ``device_pings``; the analysis maps them to
officers through these assignments at run time, so an assignment loaded after
the fixes is picked up by the next ``analyse``. A device is with at most one
officer at a time; an officer may carry several devices.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from .errors import RosterError
from .roster import _read_csv, parse_instant
from .store import Store

#: An assignment with no end runs until this instant.
OPEN_END = datetime(9999, 1, 1, tzinfo=timezone.utc)


@dataclass
class AssignmentReport:
    assignments: int = 0
    unchanged: int = 0
    device_fixes_now_assigned: int = 0
    device_fixes_unassigned: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def load_assignments(store: Store, path: str | Path, tz: str = "Europe/London") -> AssignmentReport:
    """Add device assignments from CSV ``device_id,officer_id,from,to`` (``to`` may be empty)."""
    zone = ZoneInfo(tz)
    con = store.con
    officers = {r[0] for r in con.execute("SELECT officer_id FROM officers").fetchall()}
    rows = []
    for line, row in _read_csv(path, ("device_id", "officer_id", "from")):
        where = f"{path} line {line}"
        device, officer = row["device_id"], row["officer_id"]
        if not device:
            raise RosterError(f"{where}: empty device_id")
        if officer not in officers:
            raise RosterError(f"{where}: officer {officer!r} is not in the roster")
        start = parse_instant(row["from"], zone, where)
        end = parse_instant(row["to"], zone, where) if row.get("to") else OPEN_END
        if end <= start:
            raise RosterError(f"{where}: assignment of {device} ends before it starts")
        rows.append((line, device, officer, start, end))

    existing = con.execute("SELECT device_id, officer_id, from_ts, to_ts FROM device_assignments").fetchall()
    spans: dict[str, list] = {}
    for device, officer, start, end in existing:
        spans.setdefault(device, []).append((start, end, officer, "the store"))
    report = AssignmentReport()
    new = []
    for line, device, officer, start, end in rows:
        if (device, officer, start, end) in {(d, o, s, e) for d, o, s, e in existing}:
            report.unchanged += 1
            continue
        for s, e, other, origin in spans.get(device, []):
            if start < e and s < end:
                raise RosterError(
                    f"{path} line {line}: device {device} is assigned to {officer} from "
                    f"{start.isoformat()} while assigned to {other} ({origin}: {s.isoformat()} "
                    f"to {e.isoformat()})")
        spans.setdefault(device, []).append((start, end, officer, f"line {line}"))
        new.append([device, officer, start, end])
    with store.transaction():
        if new:
            con.executemany("INSERT INTO device_assignments VALUES (?, ?, ?, ?)", new)
            bump_assignments_version(con)
        report.assignments = len(new)
        report.device_fixes_now_assigned, report.device_fixes_unassigned = device_fix_counts(store)
    return report


def device_fix_counts(store: Store) -> tuple[int, int]:
    """(device fixes covered by an assignment, device fixes not covered)."""
    assigned, total = store.con.execute(
        """SELECT (SELECT count(*) FROM device_pings d WHERE EXISTS (
                      SELECT 1 FROM device_assignments a WHERE a.device_id = d.device_id
                      AND d.ts >= a.from_ts AND d.ts < a.to_ts)),
                  (SELECT count(*) FROM device_pings)"""
    ).fetchall()[0]
    return assigned, total - assigned


def unassigned_by_device(store: Store) -> list[tuple]:
    """Devices with fixes no assignment covers: (device, fixes, first, last)."""
    return store.con.execute(
        """SELECT device_id, count(*), min(ts), max(ts) FROM device_pings d
           WHERE NOT EXISTS (SELECT 1 FROM device_assignments a WHERE a.device_id = d.device_id
                             AND d.ts >= a.from_ts AND d.ts < a.to_ts)
           GROUP BY device_id ORDER BY device_id"""
    ).fetchall()


def assignments_version(con) -> int:
    """A counter that changes whenever device assignments change (results depend on it)."""
    row = con.execute("SELECT value FROM meta WHERE key = 'assignments_version'").fetchall()
    return int(row[0][0]) if row else 0


def bump_assignments_version(con) -> None:
    version = assignments_version(con) + 1
    con.execute("DELETE FROM meta WHERE key = 'assignments_version'")
    con.execute("INSERT INTO meta VALUES ('assignments_version', ?)", [str(version)])
