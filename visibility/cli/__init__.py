"""The ``visibility`` command: a thin skin over the library.

Each command opens the store, calls one library function and prints the
result. Library errors become one line on stderr and exit code 1; bad
arguments exit 2 (Click's convention). Heavy modules are imported inside the
commands so that ``visibility --help`` is instant.
"""

from __future__ import annotations

import click

from .. import __version__


class _Group(click.Group):
    """A group that turns the library's own errors into one clear line."""

    def invoke(self, ctx):
        import duckdb

        from ..errors import VisibilityError

        try:
            return super().invoke(ctx)
        except VisibilityError as exc:
            raise click.ClickException(str(exc)) from None
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            if "No space left on device" in first:
                raise click.ClickException(
                    f"the disk is full ({first}); the command's changes were not kept: "
                    "free some space and run it again") from None
            raise click.ClickException(f"database: {first}") from None
        except OSError as exc:
            where = f"{exc.filename}: " if exc.filename else ""
            raise click.ClickException(f"{where}{exc.strerror or exc}") from None


def _set_wait(ctx, param, value):
    if value:
        from .. import store

        store.WAIT_S = value
    return value


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="visibility")
@click.option("--wait", type=click.FloatRange(min=0), default=0, envvar="VISIBILITY_WAIT",
              expose_value=False, callback=_set_wait, is_eager=True, metavar="SECONDS",
              help="If another process holds the store, wait up to this long for it.")
def main():
    """Measure, from officers' GPS tracks, whether neighbourhood officers are
    visibly on their patch.

    \b
    Typical use:
      visibility init --db force.duckdb
      visibility boundaries load wards.geojson --code-field WD13CD --name-field WD13NM \\
          --borough-code E09000007 --borough-name Camden
      visibility stations load stations.geojson
      visibility roster load --officers officers.csv --shifts shifts.csv
      visibility ingest fixes/*.csv
      visibility analyse --week 2026-W47
      visibility summary --by ward

    Every command takes --db (default: $VISIBILITY_DB, else ./visibility.duckdb).
    Try `visibility demo` to run all of it on the shipped sample borough.
    """


from . import analyse, boundaries, coverage, demo, ingest, roster, store, summary  # noqa: E402,F401
from . import verify  # noqa: E402,F401
from . import purge  # noqa: E402,F401
from . import report  # noqa: E402,F401
from . import plan  # noqa: E402,F401
from . import export  # noqa: E402,F401
