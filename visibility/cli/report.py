"""``visibility report``."""

from __future__ import annotations

import click

from . import main
from .options import date_span, db_opt, from_opt, json_opt, policy_opt, to_opt, week_opt


@main.command()
@click.option("--borough", metavar="CODE", help="The borough's code: its wards and their officers.")
@click.option("--ward", metavar="CODE", help="One ward: the officers with it as a home ward.")
@click.option("--team", metavar="NAME", help="One team (alone, or within --borough).")
@week_opt
@from_opt
@to_opt
@click.option("--out", type=click.Path(dir_okay=False), default="report.html", show_default=True,
              help="The HTML file to write.")
@click.option("--pdf", is_flag=True,
              help="Also print it to PDF (beside --out, .pdf) with headless Chromium.")
@click.option("--export", "export_dir", type=click.Path(file_okay=False), metavar="DIR",
              help="Also write the figures as CSV, GeoJSON/GeoParquet (EPSG:4326) and JSON here.")
@click.option("--names", is_flag=True, help="Show real officer ids instead of pseudonyms.")
@click.option("--attribution", metavar="TEXT",
              help="Credit line for the boundary data under the map. Default: 'Sample boundaries: "
                   "made up' for the made-up sample codes (X...), else the ONS/OS credit.")
@click.option("--weeks", "trend_weeks", type=click.IntRange(2, 104), default=8, show_default=True,
              help="Weeks in the week-on-week trend, ending with the report's last week.")
@db_opt
@policy_opt
@json_opt
def report(borough, ward, team, week, date_from, date_to, out, pdf, export_dir, names,
           attribution, trend_weeks, db, policy_path, as_json):
    """Write the weekly coverage report: one self-contained HTML page.

    Per ward and for the whole scope: the share of rostered duty time visibly
    on patch against the pledge line with a status (meets / near / below, in
    words and colour), the trend over recent weeks, the breakdown of the rest,
    the spread of officer-shifts, a map of the wards and of presence per H3
    cell, presence by hour of the week, data quality, the settings and source
    hashes, and the command that reproduces it. Officers appear as pseudonyms
    unless --names is given. Without a period it covers last week (Monday to
    Sunday, local time).

    \b
    Example:
      visibility report --borough X09000001 --week 2026-W47 --out report.html
      visibility report --ward X05000003 --from 2026-11-01 --to 2026-11-30 --export figures/
      visibility report --borough X09000001 --team SNT02 --week 2026-W47 --pdf
    """
    import json
    import shlex
    from datetime import datetime, timedelta
    from pathlib import Path
    from zoneinfo import ZoneInfo

    from ..policy import Policy
    from ..pseudonym import load_key
    from ..report import ReportScope, build_report

    if not (borough or ward or team):
        raise click.UsageError("give --borough, --ward or --team")
    first, last = date_span(date_from, date_to, week)
    policy = Policy.load(policy_path)
    if first is None and last is None:
        today = datetime.now(ZoneInfo(policy.timezone)).date()
        first = today - timedelta(days=today.weekday() + 7)
        last = first + timedelta(days=6)
    elif first is None or last is None:
        raise click.UsageError("give both --from and --to (or --week)")
    scope = ReportScope(first, last, borough=borough, ward=ward, team=team)

    argv = ["visibility", "report", "--db", str(db)]
    for flag, value in (("--borough", borough), ("--ward", ward), ("--team", team)):
        if value:
            argv += [flag, value]
    argv += (["--week", scope.iso_week] if scope.iso_week
             else ["--from", first.isoformat(), "--to", last.isoformat()])
    argv += ["--out", str(out)]
    if policy_path:
        argv += ["--policy", str(policy_path)]
    if names:
        argv.append("--names")
    if attribution is not None:
        argv += ["--attribution", attribution]
    if trend_weeks != 8:
        argv += ["--weeks", str(trend_weeks)]
    command = " ".join(shlex.quote(a) for a in argv)

    from ..store import Store

    with Store.open(db, read_only=True) as store:
        key = None if names else load_key(db)
        result = build_report(store, scope, policy, key=key, trend_weeks=trend_weeks,
                              command=command, attribution=attribution)
    written = {"html": str(result.write_html(out))}
    if export_dir:
        written["exports"] = [str(p) for p in result.write_exports(export_dir)]
    if pdf:
        from ..report.browser import print_to_pdf

        written["pdf"] = str(print_to_pdf(out, Path(out).with_suffix(".pdf")))
    t = result.data["total"]
    if as_json:
        click.echo(json.dumps({"written": written, "title": result.data["title"],
                               "total": t, "status_counts": result.data["status_counts"]},
                              indent=2, default=str))
        return
    from ..tables import clean

    share = "no analysed shifts" if t["visible_share"] is None else f"{t['visible_share']:.1%}"
    click.echo(f"{clean(result.data['title'])}: {share} visibly on patch "
               f"({t['status']}; line {policy.pledge_line:.0%}), {t['shifts']} shifts")
    click.echo(f"wrote {written['html']}")
    if "pdf" in written:
        click.echo(f"wrote {written['pdf']}")
    if export_dir:
        click.echo(f"wrote {len(written['exports'])} files to {export_dir}")
