"""``visibility boundaries load`` and ``visibility stations load``."""

from __future__ import annotations

import json

import click

from . import main
from .options import db_opt, echo_notes, json_opt


@main.group()
def boundaries():
    """Ward boundaries: load them and index them by H3 cell."""


@boundaries.command("load")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--code-field", required=True, help="Field holding the ward code.")
@click.option("--name-field", required=True, help="Field holding the ward name.")
@click.option("--borough-code", help="Borough code for every ward in the files.")
@click.option("--borough-name", help="Borough name for every ward in the files.")
@click.option("--borough-code-field", help="Field holding each ward's borough code.")
@click.option("--borough-name-field", help="Field holding each ward's borough name.")
@click.option("--h3-resolution", type=click.IntRange(0, 15), default=10, show_default=True,
              help="H3 resolution of the ward cell index.")
@click.option("--area-crs", default="EPSG:27700", show_default=True,
              help="Metric CRS in which ward areas are computed.")
@db_opt
@json_opt
def load(files, code_field, name_field, borough_code, borough_name, borough_code_field,
         borough_name_field, h3_resolution, area_crs, db, as_json):
    """Load ward polygons from any GIS vector file (GeoJSON, GeoPackage, Shapefile).

    Wards are reprojected to WGS84, repaired where invalid, and replace stored
    wards of the same code. The store is created if it does not exist.

    \b
    Example:
      visibility boundaries load boundaries/sample_wards.geojson \\
          --code-field ward_code --name-field ward_name \\
          --borough-code-field borough_code --borough-name-field borough_name
    """
    from ..boundaries import load_wards
    from ..store import Store

    if borough_name and not borough_code:
        raise click.UsageError("--borough-name needs --borough-code")
    if borough_code and borough_code_field:
        raise click.UsageError("give --borough-code or --borough-code-field, not both")
    with Store.open(db, create=True) as store:
        report = load_wards(store, list(files), code_field, name_field, borough_code,
                            borough_name, borough_code_field, borough_name_field,
                            h3_resolution=h3_resolution, area_crs=area_crs)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2))
        return
    click.echo(f"loaded {report.loaded} wards ({report.replaced} replaced) in "
               f"{len(report.boroughs)} borough(s) into {db}")
    if report.repaired:
        click.echo(f"repaired invalid geometry of {len(report.repaired)} ward(s): "
                   f"{', '.join(report.repaired)}")
    click.echo(f"indexed {report.cells} H3 cells at resolution {h3_resolution} "
               f"({report.interior_cells} interior, {report.cells - report.interior_cells} boundary)")
    echo_notes(report.notes)


@main.group()
def stations():
    """Police stations and other places where officers are not visible."""


@stations.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--id-field", help="Field holding the station id (default: station_id, else the name).")
@click.option("--name-field", help="Field holding the station name (default: name).")
@click.option("--radius-field", default="radius_m", show_default=True,
              help="Field holding a point station's geofence radius in metres.")
@db_opt
def load_stations_cmd(file, id_field, name_field, radius_field, db):
    """Load station geofences: polygons, or points with a radius.

    A point without a radius gets the policy's station_radius_m (50 m).

    \b
    Example:
      visibility stations load boundaries/sample_stations.geojson
    """
    from ..boundaries import load_stations
    from ..store import Store

    with Store.open(db, create=True) as store:
        n = load_stations(store, file, id_field, name_field, radius_field)
    click.echo(f"loaded {n} stations into {db}")


load_stations_cmd.name = "load"
