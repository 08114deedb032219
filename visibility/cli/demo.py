"""``visibility demo``."""

from __future__ import annotations

import click

from . import main
from .options import LazyProgress

#: Roughly how many fixes the sample week holds (for the progress bar only).
SAMPLE_FIXES = 260_000


@main.command()
@click.option("--dir", "folder", type=click.Path(file_okay=False), default="visibility-demo",
              show_default=True, help="Folder for the demo store and summaries.")
def demo(folder):
    """Run the whole pipeline on the shipped sample borough.

    Builds a store, loads the sample wards, stations, roster and a week of
    tracks, analyses the week, measures peak coverage and hotspots, and writes
    a coverage summary (CSV and HTML) and the commander's weekly report.

    \b
    Example:
      visibility demo --dir /tmp/demo
    """
    from ..demo import run_demo
    from .summary import render_table

    click.echo(f"building the demo store in {folder} ...", err=True)
    with LazyProgress(SAMPLE_FIXES, "analysing the sample week") as progress:
        result = run_demo(folder, progress=progress)
    for r in result.ingests:
        click.echo(f"ingested {r.path}: read {r.rows_read}, accepted {r.accepted}, "
                   f"rejected {r.rejected}, duplicate {r.duplicate}")
    click.echo("")
    click.echo(render_table(result.borough), nl=False)
    click.echo("")
    click.echo(render_table(result.wards), nl=False)
    click.echo("")
    click.echo(f"store:             {result.store}")
    click.echo(f"ward summary:      {result.summary_csv}")
    click.echo(f"officer-shifts:    {result.shifts_csv}")
    click.echo(f"summary page:      {result.summary_html}")
    click.echo(f"weekly report:     {result.report_html}")
    click.echo(f"explore further:   visibility summary --db {result.store} --by team")
