"""Retention: delete raw location data older than a date, keep the aggregates, compact.

Raw fixes (``pings``, ``device_pings``), the track runs that repeat their times
and cells (``track_runs``) and rejected rows (which hold raw text) are personal data of
employees; ``shift_results`` and ``presence`` are aggregates and stay. After
deleting, the store is rewritten into a fresh file so deleted rows cannot be
recovered from the old file's free blocks.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from .errors import StoreError
from .store import Store, _owner_only

RAW_TABLES = ("pings", "device_pings", "track_runs", "rejects")


@dataclass
class PurgeReport:
    before: str
    cutoff_utc: str
    counts_before: dict[str, int] = field(default_factory=dict)
    counts_after: dict[str, int] = field(default_factory=dict)
    kept: dict[str, int] = field(default_factory=dict)
    bytes_before: int = 0
    bytes_after: int = 0

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def purge(path: str | Path, before: date, tz: str = "Europe/London") -> PurgeReport:
    """Delete raw data from before local midnight starting ``before``; then compact the file."""
    path = Path(path)
    cutoff = datetime.combine(before, time(0), ZoneInfo(tz))
    report = PurgeReport(before=before.isoformat(), cutoff_utc=cutoff.astimezone(ZoneInfo("UTC")).isoformat(),
                         bytes_before=path.stat().st_size if path.exists() else 0)
    with Store.open(path) as store:
        con = store.con
        report.counts_before = {t: store.count(t) for t in RAW_TABLES}
        with store.transaction():
            # A source's rejects go once none of its fixes is as new as the cutoff.
            con.execute(
                """DELETE FROM rejects WHERE source_id IN (
                       SELECT source_id FROM sources s
                       WHERE NOT EXISTS (SELECT 1 FROM pings p WHERE p.source_id = s.source_id AND p.ts >= $c)
                         AND NOT EXISTS (SELECT 1 FROM device_pings d WHERE d.source_id = s.source_id
                                         AND d.ts >= $c)
                         AND (EXISTS (SELECT 1 FROM pings p WHERE p.source_id = s.source_id)
                              OR EXISTS (SELECT 1 FROM device_pings d WHERE d.source_id = s.source_id)
                              OR s.ingested_at < $c))""", {"c": cutoff})
            for table in ("pings", "device_pings"):
                con.execute(f"DELETE FROM {table} WHERE ts < $c", {"c": cutoff})
            # a run that starts before the cutoff goes whole: its first fix is purged data
            con.execute("DELETE FROM track_runs WHERE first_ts < $c", {"c": cutoff})
            con.execute("DELETE FROM meta WHERE key = 'purged_before'")
            con.execute("INSERT INTO meta VALUES ('purged_before', ?)", [cutoff.isoformat()])
        report.counts_after = {t: store.count(t) for t in RAW_TABLES}
        report.kept = {t: store.count(t) for t in ("shift_results", "presence", "sources")}
    compact(path)
    report.bytes_after = path.stat().st_size
    return report


def compact(path: str | Path) -> None:
    """Rewrite the store into a new file and swap it in, leaving no deleted rows behind."""
    path = Path(path)
    fresh = path.with_name(path.name + ".compacting")
    fresh.unlink(missing_ok=True)
    try:
        con = duckdb.connect(str(path))
    except duckdb.Error as exc:
        raise StoreError(f"cannot compact {path}: {str(exc).splitlines()[0]}") from None
    try:
        name = con.execute("SELECT current_database()").fetchall()[0][0]
        con.execute("ATTACH ? AS compacted", [str(fresh)])
        con.execute(f'COPY FROM DATABASE "{name}" TO compacted')
        con.execute("DETACH compacted")
    except BaseException:
        con.close()
        fresh.unlink(missing_ok=True)
        raise
    con.close()
    _owner_only(fresh)
    os.replace(fresh, path)
    Path(str(path) + ".wal").unlink(missing_ok=True)
