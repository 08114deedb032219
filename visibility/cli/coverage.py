"""``visibility demand``, ``peaks``, ``hotspots``, ``history``, ``coverage`` and
``coverage-export``."""

from __future__ import annotations

import json
from datetime import date

import click

from . import main
from .options import (_date, date_span, db_opt, echo_notes, from_opt, json_opt, policy_opt,
                      to_opt, tz_opt, week_opt)


# -- demand --------------------------------------------------------------------------------------
@main.group()
def demand():
    """Incidents and calls for service: where and when the public needs officers."""


@demand.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(["incidents", "police"]),
              help="incidents (time, position, category, priority) or police (data.police.uk "
                   "street-level crimes); detected from the header otherwise.")
@click.option("--crs", help="Coordinates are x/y in this CRS, e.g. EPSG:27700 (the default for "
                            "easting/northing columns).")
@click.option("--time-col", help="Column holding the time (optional; an instant, a day or a month).")
@click.option("--lat-col", help="Column holding the latitude (or the northing with --crs).")
@click.option("--lon-col", help="Column holding the longitude (or the easting with --crs).")
@click.option("--category-col", help="Column holding the category or crime type.")
@click.option("--priority-col", help="Column holding the priority or grade.")
@tz_opt
@db_opt
@json_opt
def demand_load(path, fmt, crs, time_col, lat_col, lon_col, category_col, priority_col, tz, db,
                as_json):
    """Load incidents or calls (CSV), each located in its ward.

    Bad rows are kept with their line and reason; loading the same content
    again changes nothing. A file without a time of day (data.police.uk gives
    the month only) still locates hotspots; peak windows then come from the
    policy.

    \b
    Example:
      visibility demand load calls_2026-11.csv
      visibility demand load 2023-01-metropolitan-street.csv --format police
      visibility demand load incidents.csv --crs EPSG:27700 --time-col created
    """
    from ..demand import DemandOptions, load_demand
    from ..store import Store

    options = DemandOptions(format=fmt, time_col=time_col, lat_col=lat_col, lon_col=lon_col,
                            category_col=category_col, priority_col=priority_col, crs=crs, tz=tz)
    with Store.open(db) as store:
        report = load_demand(store, path, options)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    if report.already:
        click.echo(f"{path}: {report.notes[0]}")
        return
    click.echo(f"{path} ({report.format}): {report.rows_read} rows read, {report.accepted} "
               f"accepted, {report.rejected} rejected; {report.timed} with a time of day; "
               f"{report.in_wards} in loaded wards")
    for reason, n in report.reasons.items():
        click.echo(f"  rejected {n}: {reason}")
    echo_notes(report.notes)


# -- peaks ---------------------------------------------------------------------------------------
@main.command()
@click.option("--ward", help="Only this ward code.")
@db_opt
@policy_opt
@json_opt
def peaks(ward, db, policy_path, as_json):
    """Show the peak windows of each ward and where they come from.

    Windows are configured in the policy (peak_windows, e.g.
    "Fri-Sat 20:00-03:00"), or derived from timed demand with
    peak_source = "demand" (see docs/peaks.md).

    \b
    Example:
      visibility peaks
      visibility peaks --policy from-demand.toml --ward E05000026
    """
    from ..peaks import plan_peaks
    from ..policy import Policy
    from ..store import Store
    from ..tables import Table

    policy = Policy.load(policy_path)
    with Store.open(db, read_only=True) as store:
        plan = plan_peaks(store.con, policy)
    records = [r for r in plan.records() if ward is None or r["ward_code"] == ward]
    if ward and not records:
        raise click.ClickException(f"ward {ward!r} is not loaded")
    if as_json:
        click.echo(json.dumps({"wards": records, "notes": plan.notes}, indent=2))
        return
    click.echo(Table(["ward_code", "source", "windows"],
                     [tuple(r.values()) for r in records]).to_text(width=200), nl=False)
    echo_notes(plan.notes)


# -- hotspots ------------------------------------------------------------------------------------
@main.group()
def hotspots():
    """Hotspots: H3 cells, points with a radius or polygons, given or derived from demand."""


@hotspots.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@click.option("--radius-m", type=click.FloatRange(min=0, min_open=True, max=5000),
              help="Radius of point hotspots that give none of their own.")
@db_opt
def hotspots_load(path, radius_m, db):
    """Load the given hotspots, replacing those loaded before.

    A CSV lists H3 cells (column cell) or points (lat, lon, radius_m), with
    an optional label and ward_code; any GIS file gives points (with a
    radius_m property or --radius-m) or polygons. Each hotspot belongs to the
    ward holding its centre unless it names one.

    \b
    Example:
      visibility hotspots load hotspots.csv
      visibility hotspots load town_centre.geojson --radius-m 100
    """
    from ..hotspots import load_hotspots
    from ..store import Store

    with Store.open(db) as store:
        report = load_hotspots(store, path, radius_m)
    kinds = ", ".join(f"{n} {k}" for k, n in sorted(report.by_kind.items()))
    click.echo(f"loaded {report.loaded} hotspots ({kinds}); replaced {report.replaced}")


@hotspots.command("derive")
@db_opt
@policy_opt
def hotspots_derive(db, policy_path):
    """Derive hotspots from demand: the busiest cells of each ward.

    Up to hotspot_top_cells cells per ward, each with at least
    hotspot_min_demand incidents, at the analysis's H3 resolution; replaces
    the hotspots derived before (given ones stay).

    \b
    Example:
      visibility hotspots derive
      visibility hotspots derive --policy hotspots.toml
    """
    from ..hotspots import derive_hotspots
    from ..policy import Policy
    from ..store import Store

    policy = Policy.load(policy_path)
    with Store.open(db) as store:
        report = derive_hotspots(store, policy)
    click.echo(f"derived {report.loaded} hotspots from demand (replaced {report.replaced}); "
               f"{report.notes[0]}")


@hotspots.command("list")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format.")
@db_opt
def hotspots_list(fmt, db):
    """List the hotspots.

    \b
    Example:
      visibility hotspots list
      visibility hotspots list --format csv > hotspots.csv
    """
    from ..hotspots import hotspots_table
    from ..store import Store

    with Store.open(db, read_only=True) as store:
        table = hotspots_table(store)
    click.echo({"csv": table.to_csv, "json": table.to_json}.get(fmt, table.to_text)(), nl=False)


# -- team history --------------------------------------------------------------------------------
@main.group()
def history():
    """Team membership over time, for turnover."""


@history.command("load")
@click.argument("path", type=click.Path(dir_okay=False))
@db_opt
def history_load(path, db):
    """Load the team history, replacing it: officer_id,team,from[,to][,ward_code].

    from and to are the first and last days in the team (to empty while
    still in it); several wards are separated by ';'.

    \b
    Example:
      visibility history load team_history.csv
    """
    from ..store import Store
    from ..workforce import load_history

    with Store.open(db) as store:
        report = load_history(store, path)
    click.echo(f"loaded {report.rows} team memberships")


@history.command("snapshot")
@click.option("--as-of", "as_of", callback=_date, metavar="DATE",
              help="The day the roster took effect (YYYY-MM-DD); today if not given.")
@db_opt
def history_snapshot(as_of, db):
    """Record the current roster in the team history.

    Run it after each roster load: memberships that ended close the day
    before, new ones open on the day.

    \b
    Example:
      visibility history snapshot --as-of 2026-11-16
    """
    from ..store import Store
    from ..workforce import snapshot_history

    with Store.open(db) as store:
        report = snapshot_history(store, as_of or date.today())
    click.echo(f"team history: {report.opened} memberships opened, {report.closed} closed, "
               f"{report.unchanged} unchanged")


# -- coverage ------------------------------------------------------------------------------------
@main.command()
@from_opt
@to_opt
@week_opt
@click.option("--ward", help="Show this ward only, with its hour-of-week matrix.")
@click.option("--run", "run_id", type=int, help="Show a stored run instead of measuring.")
@db_opt
@policy_opt
@json_opt
def coverage(date_from, date_to, week, ward, run_id, db, policy_path, as_json):
    """Peak-period coverage, hotspot dosage, abstraction and turnover.

    Measures the local days given (the latest analysed week by default),
    stores the results (export them with `visibility coverage-export`) and prints per
    ward: the share of peak-window time with at least one of the ward's
    officers on patch there, the empty windows, hotspot dosage and visits,
    and the team's abstraction; then per team.

    \b
    Example:
      visibility coverage --week 2026-W47
      visibility coverage --from 2026-11-01 --to 2026-11-30 --policy peaks.toml
      visibility coverage --run 3 --ward X05000001
    """
    from ..measures import coverage_summary, measure
    from ..policy import Policy
    from ..store import Store

    date_from, date_to = date_span(date_from, date_to, week)
    policy = Policy.load(policy_path)
    if run_id is not None:
        with Store.open(db, read_only=True) as store:
            summary = coverage_summary(store, run_id, ward)
    else:
        with Store.open(db) as store:
            report = measure(store, policy, date_from, date_to)
            summary = coverage_summary(store, report.run_id, ward)
    if as_json:
        click.echo(json.dumps(summary, indent=2, default=str))
        return
    click.echo(render_summary(summary), nl=False)


def _pct(v) -> str:
    return "-" if v is None else f"{v:.1%}"


def render_summary(s: dict) -> str:
    from ..tables import Table

    out = [f"Coverage run {s['run_id']}: local days {s['from']} to {s['to']}", ""]
    rows = []
    for w in s["wards"]:
        hot = (f"{w['hotspots']}: {w['dosage_min']:.0f} min, {w['visits']} visits "
               f"({w['effective_visits']} effective), {w['windows_missed']}/{w['hotspot_windows']} "
               "windows missed") if w["hotspots"] else "-"
        rows.append((w["ward_code"], w["ward_name"], w["teams"] or "(none)",
                     f"{w['peak_hours']:g}", _pct(w["coverage"]),
                     f"{w['empty_windows']}/{w['windows']}", f"{w['longest_uncovered_hours']:g} h",
                     hot, _pct(w["abstraction_rate"])))
    out.append(Table(["ward", "name", "team", "peak h", "coverage", "empty", "longest gap",
                      "hotspots (dosage in peaks)", "abstraction"], rows).to_text(width=80))
    rows = []
    for t in s["teams"]:
        turnover = "-" if t["turnover"] is None else \
            f"{t['leavers']} left / {t['avg_headcount']:.1f} ({t['turnover']:.1%})"
        tenure = "-" if t["median_tenure_days"] is None else f"{t['median_tenure_days']:g} d"
        rows.append((t["team"], t["wards"], _pct(t["coverage"]),
                     f"{t['empty_windows']}/{t['windows']}", _pct(t["abstraction_rate"]),
                     t["reasons"] or "-", _pct(t["off_patch_beyond_borough"]), turnover, tenure))
    out.append(Table(["team", "wards", "coverage", "empty", "abstraction", "reasons",
                      "off patch beyond borough", "turnover", "median tenure"], rows
                     ).to_text(width=80))
    if "hours" in s:
        out.append(render_hours(s["hours"]))
        out.append("empty peak windows: " + (", ".join(s["empty"]) or "none") + "\n")
    out += [f"note: {n}\n" for n in s["notes"]]
    return "\n".join(out)


def render_hours(hours: list[dict]) -> str:
    """The 7 x 24 matrix: % of each local hour covered; * marks peak hours."""
    from ..peaks import DAY_NAMES

    lines = ["% of each local hour with an officer on patch (* peak hours)",
             "     " + "".join(f"{h:>3} " for h in range(24))]
    cells = {(r["dow"], r["hour"]): r for r in hours}
    for d in range(1, 8):
        row = []
        for h in range(24):
            r = cells.get((d, h))
            if r is None or not r["hours_s"]:
                row.append("   .")
                continue
            share = r["covered_s"] / r["hours_s"]
            row.append(f"{share * 100:3.0f}" + ("*" if r["peak_s"] > 0 else " "))
        lines.append(f"{DAY_NAMES[d - 1]:<5}" + "".join(row))
    return "\n".join(lines) + "\n"


# -- coverage-export --------------------------------------------------------------------------------------
@main.command("coverage-export")
@click.argument("table")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "json"]), default="csv",
              show_default=True, help="Output format (Parquet needs --out).")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--run", "run_id", type=int, help="Which coverage run (the latest by default).")
@db_opt
def coverage_export(table, fmt, out, run_id, db):
    """Export a result table of a coverage run, or demand, hotspots or the team history.

    Tables: coverage_wards, coverage_teams, coverage_windows, coverage_hours,
    hotspot_dosage, hotspot_visits, hotspot_windows, abstraction,
    abstraction_reasons, off_patch_places, turnover, coverage_runs, demand,
    hotspots, memberships.

    \b
    Example:
      visibility coverage-export coverage_wards --format csv --out wards.csv
      visibility coverage-export hotspot_visits --format parquet --out visits.parquet
      visibility coverage-export coverage_hours --run 2 --format json
    """
    from ..measures import export_table
    from ..store import Store

    with Store.open(db, read_only=True) as store:
        rows, text = export_table(store, table, fmt, out, run_id)
    if text is None:
        click.echo(f"wrote {rows} rows to {out}")
    else:
        click.echo(text, nl=False)
