"""``visibility analyse``."""

from __future__ import annotations

import json

import click

from . import main
from .options import (LazyProgress, date_span, db_opt, echo_notes, from_opt, json_opt, policy_opt,
                      to_opt, week_opt)


def _size(ctx, param, value):
    if value is None:
        return None
    from ..analyse import parse_size
    from ..errors import MemoryLimitError

    try:
        return parse_size(value)
    except MemoryLimitError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command()
@from_opt
@to_opt
@week_opt
@click.option("--force", is_flag=True,
              help="Redo every shift in the range, not only those whose results are out of date.")
@click.option("--memory-limit", callback=_size, metavar="SIZE",
              help="Bound the run's memory, e.g. 4GB: past 400 MB for the program, DuckDB gets "
                   "60% (spilling to disk beside the store) and batches of fixes 30%. Running out "
                   "is a clear error.")
@click.option("--batch-rows", type=click.IntRange(min=1), metavar="N",
              help="Fixes per batch (whole shifts; default 1,048,576, or less to fit --memory-limit).")
@click.option("--engine", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="local: this process; dask: one task per partition on a Dask cluster.")
@click.option("--scheduler", metavar="local:N|ADDRESS",
              help="With --engine dask: local:N starts N worker processes here (default local:2); "
                   "or a scheduler address such as tcp://10.0.0.5:8786.")
@click.option("--work", "work_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="With --engine dask: the Parquet work folder every worker can read "
                   "(default: beside the store). A rerun resumes from it.")
@db_opt
@policy_opt
@json_opt
def analyse(date_from, date_to, week, force, memory_limit, batch_rows, engine, scheduler, work_dir,
            db, policy_path, as_json):
    """Work out every fix's state and each shift's time on patch.

    Analyses the shifts that start on the given local days (all shifts when
    no days are given). Shifts already analysed are redone only when their
    results are out of date: another policy, new fixes inside them, or changed
    device assignments (--force redoes all). It says what was redone.

    Memory stays within --memory-limit whatever the number of fixes. With
    --engine dask the same computation runs partition by partition (local day
    x borough) on a Dask cluster, with identical results (docs/scale.md).

    \b
    Example:
      visibility analyse --week 2026-W47
      visibility analyse --from 2026-11-16 --to 2026-11-22 --policy strict.toml
      visibility analyse --memory-limit 4GB
      visibility analyse --engine dask --scheduler local:2
      visibility analyse --engine dask --scheduler tcp://10.0.0.5:8786 --work /shared/vis-work
    """
    from ..analyse import analyse as run
    from ..policy import Policy
    from ..store import Store

    date_from, date_to = date_span(date_from, date_to, week)
    if engine != "dask" and (scheduler or work_dir):
        raise click.UsageError("--scheduler and --work go with --engine dask")
    policy = Policy.load(policy_path)
    with Store.open(db) as store:
        total = store.con.execute("SELECT count(*) FROM pings").fetchall()[0][0]
        with LazyProgress(total, "analysing fixes") as progress:
            report = run(store, policy, date_from, date_to, progress=progress, force=force,
                         memory_limit=memory_limit, batch_rows=batch_rows, engine=engine,
                         scheduler=scheduler, work_dir=work_dir)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(f"analysed {report.shifts} shifts ({report.shifts_without_fixes} without fixes), "
               f"{report.fixes} fixes ({report.unreliable} unreliable); run {report.run_id}, "
               f"policy {report.policy_digest}")
    echo_notes(report.notes)
