"""``visibility export`` and ``visibility import``: hive-partitioned Parquet."""

from __future__ import annotations

import json

import click

from . import main
from .options import (date_span, db_opt, echo_notes, from_opt, json_opt, to_opt, tz_opt,
                      week_opt)


def _what(ctx, param, value):
    from ..partitions import WHAT

    parts = tuple(p.strip() for p in value.split(",") if p.strip())
    bad = [p for p in parts if p not in WHAT]
    if bad or not parts:
        raise click.BadParameter(f"{value!r}: give one or more of {', '.join(WHAT)}, comma-separated")
    return parts


@main.command()
@click.argument("folder", type=click.Path(file_okay=False))
@click.option("--what", default="fixes,results", show_default=True, callback=_what,
              help="fixes, results (shift_results, track_runs, presence), or both.")
@from_opt
@to_opt
@week_opt
@tz_opt
@db_opt
@json_opt
def export(folder, what, date_from, date_to, week, tz, db, as_json):
    """Export fixes and results as Parquet partitioned by local date and borough.

    Writes FOLDER/fixes/date=YYYY-MM-DD/borough=CODE/*.parquet (by the fix's
    local date) and FOLDER/shift_results, track_runs and presence (by the
    local date of the shift's start); the borough is that of the officer's
    first home ward ('none' if unknown). Read it with DuckDB, Spark, pandas or
    `visibility import`.

    \b
    Example:
      visibility export exports/ --week 2026-W47
      visibility export exports/ --what fixes --from 2026-11-16 --to 2026-11-22
    """
    from ..partitions import export_store
    from ..store import Store

    date_from, date_to = date_span(date_from, date_to, week)
    with Store.open(db, read_only=True) as store:
        report = export_store(store, folder, what, date_from, date_to, tz=tz)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    for name, rows in report.rows.items():
        click.echo(f"{name}: {rows} rows in {report.partitions.get(name, 0)} partitions")
    echo_notes(report.notes)


@main.command("import")
@click.argument("folder", type=click.Path(exists=True, file_okay=False))
@click.option("--what", default="fixes,results", show_default=True, callback=_what,
              help="fixes, results, or both.")
@db_opt
@json_opt
def import_(folder, what, db, as_json):
    """Import a `visibility export` folder: fixes through ingest, then results.

    Fixes are ingested like any hive-partitioned Parquet folder (deduplicated,
    reconciled, recorded as one source). Results replace those of the same
    shifts, which must be in this store's roster (load the same roster first).

    \b
    Example:
      visibility import exports/
      visibility import exports/ --what results
    """
    from ..partitions import import_store
    from ..store import Store

    with Store.open(db, create=True) as store:
        report = import_store(store, folder, what)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    if report.fixes:
        f = report.fixes
        click.echo(f"fixes: read {f['rows_read']}, accepted {f['accepted']}, rejected {f['rejected']}, "
                   f"duplicate {f['duplicate']}" + (" (already ingested)" if f["already_ingested"] else ""))
    for name, rows in report.rows.items():
        click.echo(f"{name}: {rows} rows")
    echo_notes(report.notes)
