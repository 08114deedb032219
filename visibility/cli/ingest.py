"""``visibility ingest``."""

from __future__ import annotations

import json

import click

from . import main
from .options import db_opt, json_opt


@main.command()
@click.argument("files", nargs=-1, required=True, type=click.Path())
@click.option("--officer-col", help="Column holding the officer id (detected if not given).")
@click.option("--time-col", help="Column holding the fix time.")
@click.option("--lat-col", help="Column holding the latitude (WGS84 degrees).")
@click.option("--lon-col", help="Column holding the longitude (WGS84 degrees).")
@click.option("--accuracy-col", help="Column holding the accuracy in metres (optional).")
@click.option("--delimiter", help="CSV delimiter (detected if not given).")
@click.option("--tz", default="Europe/London", show_default=True,
              help="Time zone of timestamps written without a UTC offset.")
@db_opt
@json_opt
def ingest(files, officer_col, time_col, lat_col, lon_col, accuracy_col, delimiter, tz, db,
           as_json):
    """Ingest GPS fixes from CSV or Parquet files.

    Each file lands in one transaction. Bad rows are kept in the store with
    their line and reason; exact duplicates are counted, not stored twice;
    a file whose content was ingested before changes nothing.

    \b
    Example:
      visibility ingest sample_tracks/fixes_2026-11-16.csv sample_tracks/fixes_2026-W47.parquet
    """
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from ..ingest import IngestOptions, ingest_file
    from ..store import Store

    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {tz!r}", param_hint="--tz") from None
    options = IngestOptions(officer_col, time_col, lat_col, lon_col, accuracy_col, tz, delimiter)
    reports = []
    with Store.open(db, create=True) as store:
        for path in files:
            report = ingest_file(store, path, options)
            reports.append(report)
            if not as_json:
                _print(report)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))


def _print(report) -> None:
    if report.already:
        click.echo(f"{report.path}: {report.notes[0]}")
        return
    cols = ", ".join(f"{k}={v}" for k, v in report.columns.items())
    click.echo(f"{report.path}: read {report.rows_read}, accepted {report.accepted}, "
               f"rejected {report.rejected}, duplicate {report.duplicate} (source {report.source_id})")
    click.echo(f"  columns: {cols}")
    if report.reasons:
        click.echo("  rejected: " + ", ".join(f"{k} {v}" for k, v in report.reasons.items()))
    for note in report.notes:
        click.echo(f"  note: {note}")
