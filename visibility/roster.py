"""The roster: officers (team, role, home wards) and their shifts.

Roster files are small, so they are read with the csv module and checked row by
row; every problem names the file and line. Loading is atomic.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from .errors import InputFileError, RosterError
from .store import Store

SHIFT_KINDS = ("neighbourhood", "abstracted")


@dataclass
class RosterReport:
    officers: int = 0
    shifts: int = 0
    shifts_unchanged: int = 0

    def to_dict(self) -> dict:
        return {"officers": self.officers, "shifts": self.shifts,
                "shifts_unchanged": self.shifts_unchanged}


def _read_csv(path: str | Path, required: tuple[str, ...]) -> list[tuple[int, dict]]:
    path = Path(path)
    if not path.exists():
        raise InputFileError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig").replace("\x00", "")
    except UnicodeDecodeError:
        raise InputFileError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if not text.strip():
        raise InputFileError(f"{path}: the file is empty")
    reader = csv.DictReader(text.splitlines(), restval="")
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in required if c not in header]
    if missing:
        raise RosterError(f"{path}: missing column {missing[0]!r} (columns are: {', '.join(header)})")
    rows = []
    for row in reader:
        if None in row:
            raise RosterError(f"{path} line {reader.line_num}: more fields than the header has")
        clean = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items()}
        rows.append((reader.line_num, clean))
    if not rows:
        raise RosterError(f"{path}: has a header but no rows")
    return rows


def parse_instant(text: str, tz: ZoneInfo, where: str) -> datetime:
    """An ISO 8601 instant; a naive one is read in ``tz``."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise RosterError(f"{where}: {text!r} is not an ISO 8601 date-time") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def load_roster(store: Store, officers_csv: str | Path | None, shifts_csv: str | Path | None,
                tz: str = "Europe/London") -> RosterReport:
    """Load officers and/or shifts; officers are replaced by id, shifts added (exact repeats skipped)."""
    if officers_csv is None and shifts_csv is None:
        raise RosterError("give --officers and/or --shifts")
    zone = ZoneInfo(tz)
    con = store.con
    report = RosterReport()
    wards = {r[0] for r in con.execute("SELECT ward_code FROM wards").fetchall()}
    officer_rows = []
    if officers_csv is not None:
        if not wards:
            raise RosterError("no wards are loaded yet; load them first with: visibility boundaries load")
        seen: dict[str, int] = {}
        for line, row in _read_csv(officers_csv, ("officer_id", "team", "ward_code")):
            where = f"{officers_csv} line {line}"
            oid = row["officer_id"]
            if not oid:
                raise RosterError(f"{where}: empty officer_id")
            if oid in seen:
                raise RosterError(f"{where}: officer {oid} already listed on line {seen[oid]}")
            seen[oid] = line
            if not row["team"]:
                raise RosterError(f"{where}: officer {oid} has no team")
            codes = [c.strip() for c in row["ward_code"].split(";") if c.strip()]
            if not codes:
                raise RosterError(f"{where}: officer {oid} has no ward_code")
            unknown = [c for c in codes if c not in wards]
            if unknown:
                raise RosterError(f"{where}: ward {unknown[0]!r} of officer {oid} is not loaded")
            officer_rows.append((oid, row["team"], row.get("role") or None, codes))

    shift_rows = []
    if shifts_csv is not None:
        known = {r[0] for r in con.execute("SELECT officer_id FROM officers").fetchall()}
        known |= {r[0] for r in officer_rows}
        for line, row in _read_csv(shifts_csv, ("officer_id", "start", "end", "kind")):
            where = f"{shifts_csv} line {line}"
            oid = row["officer_id"]
            if oid not in known:
                raise RosterError(f"{where}: officer {oid!r} is not in the roster")
            start = parse_instant(row["start"], zone, where)
            end = parse_instant(row["end"], zone, where)
            if end <= start:
                raise RosterError(f"{where}: shift of {oid} ends ({row['end']}) before it starts ({row['start']})")
            kind = row["kind"].lower()
            if kind not in SHIFT_KINDS:
                raise RosterError(f"{where}: kind {row['kind']!r} must be one of {', '.join(SHIFT_KINDS)}")
            shift_rows.append((line, oid, start, end, kind, row.get("reason") or None))

    with store.transaction():
        for oid, team, role, codes in officer_rows:
            con.execute("DELETE FROM officers WHERE officer_id = ?", [oid])
            con.execute("DELETE FROM officer_wards WHERE officer_id = ?", [oid])
            con.execute("INSERT INTO officers VALUES (?, ?, ?)", [oid, team, role])
            con.executemany("INSERT INTO officer_wards VALUES (?, ?)", [[oid, c] for c in codes])
        report.officers = len(officer_rows)
        if shift_rows:
            _insert_shifts(con, shifts_csv, shift_rows, report)
    return report


def _insert_shifts(con, path, shift_rows, report: RosterReport) -> None:
    existing = con.execute(
        "SELECT officer_id, start_ts, end_ts, kind FROM shifts"
    ).fetchall()
    exact = {(o, s, e) for o, s, e, _ in existing}
    spans: dict[str, list[tuple[datetime, datetime, str]]] = {}
    for o, s, e, _ in existing:
        spans.setdefault(o, []).append((s, e, "the store"))
    new = []
    for line, oid, start, end, kind, reason in shift_rows:
        if (oid, start, end) in exact:
            report.shifts_unchanged += 1
            continue
        for s, e, origin in spans.get(oid, []):
            if start < e and s < end:
                raise RosterError(
                    f"{path} line {line}: shift of {oid} {start.isoformat()} to {end.isoformat()} "
                    f"overlaps another shift ({origin}: {s.isoformat()} to {e.isoformat()})"
                )
        spans.setdefault(oid, []).append((start, end, f"line {line}"))
        exact.add((oid, start, end))
        new.append((oid, start, end, kind, reason))
    next_id = con.execute("SELECT coalesce(max(shift_id), 0) + 1 FROM shifts").fetchall()[0][0]
    if new:
        con.executemany(
            "INSERT INTO shifts VALUES (?, ?, ?, ?, ?, ?)",
            [[next_id + i, *row] for i, row in enumerate(new)],
        )
    report.shifts = len(new)
