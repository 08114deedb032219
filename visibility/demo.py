"""The demo: the whole pipeline on the shipped sample borough, in one call."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .analyse import analyse
from .boundaries import load_stations, load_wards
from .errors import InputFileError
from .ingest import IngestReport, ingest_file
from .pages import write_summary_page
from .policy import Policy
from .roster import load_roster
from .store import Store
from .summary import Summary, summarise
from .files import write_text_atomic

WEEK = ("2026-11-16", "2026-11-22")


def sample_dirs() -> tuple[Path, Path]:
    """The sample ``boundaries/`` and ``sample_tracks/`` folders (source checkout or wheel)."""
    here = Path(__file__).resolve().parent
    for root in (here / "_sample", here.parent):
        b, t = root / "boundaries", root / "sample_tracks"
        if (b / "sample_wards.geojson").exists() and (t / "officers.csv").exists():
            return b, t
    raise InputFileError("the sample borough files are missing from this installation")


@dataclass
class DemoResult:
    folder: Path
    store: Path
    summary_csv: Path
    summary_html: Path
    shifts_csv: Path
    report_html: Path
    ingests: list[IngestReport] = field(default_factory=list)
    wards: Summary | None = None
    borough: Summary | None = None


def run_demo(folder: str | Path, progress=None) -> DemoResult:
    """Build a fresh store in ``folder`` from the sample data, analyse the week, and write
    the summaries and the commander's report."""
    from datetime import date

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    bdir, tdir = sample_dirs()
    db = folder / "demo.duckdb"
    for stale in (db, folder / "demo.duckdb.wal"):
        stale.unlink(missing_ok=True)
    result = DemoResult(folder, db, folder / "summary_wards.csv", folder / "summary.html",
                        folder / "summary_officer_shifts.csv", folder / "report.html")
    policy = Policy()
    with Store.create(db) as store:
        load_wards(store, [bdir / "sample_wards.geojson"], "ward_code", "ward_name",
                   borough_code_field="borough_code", borough_name_field="borough_name",
                   h3_resolution=policy.h3_resolution)
        load_stations(store, bdir / "sample_stations.geojson")
        load_roster(store, tdir / "officers.csv", tdir / "shifts.csv")
        for name in ("fixes_2026-11-16.csv", "fixes_2026-W47.parquet"):
            result.ingests.append(ingest_file(store, tdir / name))
        first, last = (date.fromisoformat(d) for d in WEEK)
        analyse(store, policy, first, last, progress=progress)
        result.wards = summarise(store, "ward", policy, first, last)
        result.borough = summarise(store, "borough", policy, first, last)
        shifts = summarise(store, "officer-shift", policy, first, last)
        write_text_atomic(result.summary_csv, result.wards.to_csv())
        write_text_atomic(result.shifts_csv, shifts.to_csv())
        write_summary_page(result.summary_html, store, result.borough, result.wards,
                           title=f"Visible time on patch, week of {WEEK[0]} to {WEEK[1]}")
        # The fuller picture: peak-period coverage and hotspots, then the commander's report.
        from .measures import measure
        from .pseudonym import load_key
        from .report import ReportScope, build_report

        measure(store, policy, first, last)
        borough = result.borough.rows[0][0]
        report = build_report(store, ReportScope(first, last, borough=borough), policy,
                              key=load_key(db), command=f"visibility report --db {db} "
                              f"--borough {borough} --from {WEEK[0]} --to {WEEK[1]}")
        report.write_html(result.report_html)
    return result
