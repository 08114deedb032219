"""``visibility purge``."""

from __future__ import annotations

import json

import click

from . import main
from .options import _date, db_opt, json_opt, tz_opt


@main.command()
@click.option("--before", required=True, callback=_date, metavar="DATE",
              help="Delete raw fixes, per-fix results and rejected rows from before this local day.")
@tz_opt
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_opt
@json_opt
def purge(before, tz, yes, db, as_json):
    """Delete raw location data older than a date, keeping the aggregated results.

    Deletes fixes, per-fix results and rejected rows (which hold raw text)
    from before the date, keeps per-shift totals and presence, then rewrites
    the store file so the deleted rows cannot be recovered from it.

    \b
    Example:
      visibility purge --before 2026-05-01 --yes
    """
    from ..purge import purge as run

    if not yes and not as_json:
        click.confirm(f"Delete raw location data before {before} from {db}?", abort=True)
    report = run(db, before, tz)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    for table in report.counts_before:
        click.echo(f"{table}: {report.counts_before[table]} -> {report.counts_after[table]} rows")
    click.echo("kept: " + ", ".join(f"{t} {n}" for t, n in report.kept.items()))
    click.echo(f"store rewritten: {report.bytes_before} -> {report.bytes_after} bytes")
