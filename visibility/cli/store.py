"""``visibility init``: create an empty store."""

from __future__ import annotations

import click

from . import main
from .options import db_opt


@main.command()
@db_opt
def init(db):
    """Create an empty store file.

    \b
    Example:
      visibility init --db borough.duckdb
    """
    from ..store import SCHEMA_VERSION, Store

    Store.create(db).close()
    click.echo(f"created store {db} (schema version {SCHEMA_VERSION})")
