"""``visibility ingest``, ``visibility rejects`` and ``visibility devices load``."""

from __future__ import annotations

import json

import click

from ..files import write_text_atomic
from . import main
from .options import LazyProgress, db_opt, json_opt, tz_opt




@main.command()
@click.argument("paths", nargs=-1, required=True)
@click.option("--officer-col", help="Column holding the officer id (detected if not given).")
@click.option("--device-col", help="Column holding the device id (radio ISSI, IMEI, vehicle).")
@click.option("--time-col", help="Column holding the fix time.")
@click.option("--lat-col", help="Column holding the latitude (or the y/northing with --crs).")
@click.option("--lon-col", help="Column holding the longitude (or the x/easting with --crs).")
@click.option("--accuracy-col", help="Column holding the accuracy in metres (optional).")
@click.option("--officer", "officer", help="Every fix in these files belongs to this officer.")
@click.option("--device", "device", help="Every fix in these files comes from this device.")
@click.option("--crs", help="Coordinates are x/y in this CRS, e.g. EPSG:27700 (British National Grid).")
@click.option("--delimiter", help="CSV delimiter (detected if not given).")
@click.option("--date-order", type=click.Choice(["dmy", "mdy"]), default="dmy", show_default=True,
              help="How to read slash dates such as 03/04/2026.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "gpx", "geojson", "json"]),
              help="Read every file as this format (detected from the name or content otherwise).")
@click.option("--mapping", type=click.Path(dir_okay=False),
              help="A saved mapping file (TOML) of these options; options given here win.")
@click.option("--save-mapping", type=click.Path(dir_okay=False),
              help="Write the options and the columns chosen for the first file to this file.")
@tz_opt
@db_opt
@json_opt
def ingest(paths, officer_col, device_col, time_col, lat_col, lon_col, accuracy_col, officer,
           device, crs, delimiter, date_order, fmt, mapping, save_mapping, tz, db, as_json):
    """Ingest GPS fixes from files, folders or globs (CSV, Parquet, GPX, GeoJSON, JSON).

    Each file lands in one transaction. Bad rows are kept in the store with
    their line and reason; exact duplicates are counted, not stored twice;
    a file whose content was ingested before changes nothing. Files keyed by
    device are mapped to officers through `visibility devices load`.

    \b
    Example:
      visibility ingest sample_tracks/fixes_2026-11-16.csv sample_tracks/fixes_2026-W47.parquet
      visibility ingest exports/ --crs EPSG:27700 --json
      visibility ingest run.gpx --officer PC1001
      visibility ingest export.csv --time-col "Fix Time" --save-mapping radio.toml
      visibility ingest next-export.csv --mapping radio.toml
    """
    from ..ingest import IngestOptions, expand_paths, ingest_file, total_bytes
    from ..store import Store

    if officer and device:
        raise click.UsageError("give --officer or --device, not both")
    given = dict(officer_col=officer_col, time_col=time_col, lat_col=lat_col,
                 lon_col=lon_col, accuracy_col=accuracy_col, delimiter=delimiter,
                 device_col=device_col, officer=officer, device=device, crs=crs, format=fmt)
    source = click.get_current_context().get_parameter_source
    for name, value in (("tz", tz), ("date_order", date_order)):
        if source(name).name != "DEFAULT" or not mapping:
            given[name] = value
    options = IngestOptions.load(mapping, **given) if mapping else IngestOptions(
        **{k: v for k, v in given.items() if v is not None})
    files = expand_paths(list(paths))
    reports = []
    with Store.open(db, create=True) as store:
        with LazyProgress(total_bytes(files), f"ingesting {len(files)} file(s)") as progress:
            for path in files:
                report = ingest_file(store, path, options)
                reports.append(report)
                if len(files) > 1:
                    progress(report.bytes)
                if not as_json:
                    _print(report)
    if save_mapping and reports:
        with open(save_mapping, "w", encoding="utf-8") as fh:
            fh.write(options.to_toml(reports[0].columns))
        if not as_json:
            click.echo(f"saved the mapping to {save_mapping}")
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in reports], indent=2))
    elif len(reports) > 1:
        total = {k: sum(getattr(r, k) for r in reports)
                 for k in ("rows_read", "accepted", "rejected", "duplicate", "unassigned")}
        click.echo(f"{len(reports)} files: read {total['rows_read']}, accepted {total['accepted']}, "
                   f"rejected {total['rejected']}, duplicate {total['duplicate']}, "
                   f"unassigned {total['unassigned']}")


def _print(report) -> None:
    if report.already:
        click.echo(f"{report.path}: {report.notes[0]}")
        return
    cols = ", ".join(f"{k}={v}" for k, v in report.columns.items())
    unassigned = f", unassigned {report.unassigned}" if report.keyed_by == "device" else ""
    click.echo(f"{report.path}: read {report.rows_read}, accepted {report.accepted}, "
               f"rejected {report.rejected}, duplicate {report.duplicate}{unassigned} "
               f"(source {report.source_id})")
    click.echo(f"  columns: {cols}")
    if report.reasons:
        click.echo("  rejected: " + ", ".join(f"{k} {v}" for k, v in report.reasons.items()))
    for note in report.notes:
        click.echo(f"  note: {note}")


@main.command()
@click.option("--source", "source_id", type=int, help="Only rows of this source (see --sources).")
@click.option("--reason", help="Only rows rejected for this reason.")
@click.option("--sources", "list_sources", is_flag=True, help="List the ingested sources instead.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True)
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--limit", type=click.IntRange(min=0), default=50, show_default=True,
              help="Rows to print as a table (0: all). CSV and JSON always hold all rows.")
@db_opt
def rejects(source_id, reason, list_sources, fmt, out, limit, db):
    """List rejected rows with their source, line, reason and raw text.

    \b
    Example:
      visibility rejects --reason bad_time
      visibility rejects --source 3 --format csv --out rejects.csv
      visibility rejects --sources
    """
    from ..store import Store
    from ..tables import Table, rejects_table, sources_table

    with Store.open(db, read_only=True) as store:
        table = sources_table(store) if list_sources else rejects_table(store, source_id, reason)
    if fmt == "table" and limit and len(table.rows) > limit:
        shown = Table(table.columns, table.rows[:limit])
        text = shown.to_text() + f"... {len(table.rows) - limit} more (use --limit 0 or --format csv)\n"
    else:
        text = {"csv": table.to_csv, "json": table.to_json, "table": table.to_text}[fmt]()
    if out:
        write_text_atomic(out, text)
        click.echo(f"wrote {len(table.rows)} rows to {out}")
    else:
        # CSV and JSON are data: shown exactly (tables have been made safe to print).
        click.echo(text, nl=False, color=fmt != "table")


@main.group()
def devices():
    """Which officer carried which device (radio, phone, vehicle box), and when."""


@devices.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@tz_opt
@db_opt
def devices_load(file, tz, db):
    """Load device assignments: CSV device_id,officer_id,from,to (to may be empty).

    Fixes from a device count for the officer it was assigned to at the time.
    Fixes already ingested are picked up by the next `visibility analyse`.

    \b
    Example:
      visibility devices load assignments.csv
    """
    from ..devices import load_assignments
    from ..store import Store

    with Store.open(db) as store:
        report = load_assignments(store, file, tz=tz)
    click.echo(f"loaded {report.assignments} assignments ({report.unchanged} already there); "
               f"device fixes now assigned {report.device_fixes_now_assigned}, "
               f"unassigned {report.device_fixes_unassigned}")


@devices.command("unassigned")
@db_opt
def devices_unassigned(db):
    """List devices whose fixes no assignment covers.

    \b
    Example:
      visibility devices unassigned
    """
    from ..devices import unassigned_by_device
    from ..store import Store
    from ..tables import Table

    with Store.open(db, read_only=True) as store:
        rows = unassigned_by_device(store)
    click.echo(Table(["device_id", "fixes", "first", "last"], rows).to_text(), nl=False)
