"""``visibility roster load``."""

from __future__ import annotations

import click

from . import main
from .options import db_opt, tz_opt


@main.group()
def roster():
    """Officers (team, home wards) and their shifts."""


@roster.command("load")
@click.option("--officers", type=click.Path(dir_okay=False),
              help="CSV: officer_id,team,ward_code[,role]; several wards separated by ';'.")
@click.option("--shifts", type=click.Path(dir_okay=False),
              help="CSV: officer_id,start,end,kind[,reason]; kind neighbourhood or abstracted.")
@tz_opt
@db_opt
def load(officers, shifts, tz, db):
    """Load the roster: officers replace those with the same id; shifts are added.

    \b
    Example:
      visibility roster load --officers sample_tracks/officers.csv \\
          --shifts sample_tracks/shifts.csv
    """
    from ..roster import load_roster
    from ..store import Store

    with Store.open(db) as store:
        report = load_roster(store, officers, shifts, tz=tz)
    msg = f"loaded {report.officers} officers and {report.shifts} shifts into {db}"
    if report.shifts_unchanged:
        msg += f" ({report.shifts_unchanged} shifts were already there)"
    click.echo(msg)
