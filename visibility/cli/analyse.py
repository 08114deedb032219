"""``visibility analyse``."""

from __future__ import annotations

import json

import click

from . import main
from .options import LazyProgress, date_span, db_opt, from_opt, json_opt, policy_opt, to_opt, week_opt


@main.command()
@from_opt
@to_opt
@week_opt
@click.option("--force", is_flag=True,
              help="Redo every shift in the range, not only those whose results are out of date.")
@db_opt
@policy_opt
@json_opt
def analyse(date_from, date_to, week, force, db, policy_path, as_json):
    """Work out every fix's state and each shift's time on patch.

    Analyses the shifts that start on the given local days (all shifts when
    no days are given). Shifts already analysed are redone only when their
    results are out of date: another policy, new fixes inside them, or changed
    device assignments (--force redoes all). It says what was redone.

    \b
    Example:
      visibility analyse --week 2026-W47
      visibility analyse --from 2026-11-16 --to 2026-11-22 --policy strict.toml
    """
    from ..analyse import analyse as run
    from ..policy import Policy
    from ..store import Store

    date_from, date_to = date_span(date_from, date_to, week)
    policy = Policy.load(policy_path)
    with Store.open(db) as store:
        total = store.con.execute("SELECT count(*) FROM pings").fetchall()[0][0]
        with LazyProgress(total, "analysing fixes") as progress:
            report = run(store, policy, date_from, date_to, progress=progress, force=force)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(f"analysed {report.shifts} shifts ({report.shifts_without_fixes} without fixes), "
               f"{report.fixes} fixes ({report.unreliable} unreliable); run {report.run_id}, "
               f"policy {report.policy_digest}")
    for note in report.notes:
        click.echo(f"note: {note}")
