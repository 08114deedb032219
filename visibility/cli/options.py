"""Options shared by several commands, defined once."""

from __future__ import annotations

import re
import sys
from datetime import date, timedelta

import click

from ..store import DB_ENV, DEFAULT_DB


def _date(ctx, param, value):
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2026-11-16") from None


def _week(ctx, param, value):
    if value is None:
        return None
    m = re.fullmatch(r"(\d{4})-?W(\d{2})", value.strip(), flags=re.I)
    if not m:
        raise click.BadParameter(f"{value!r} is not an ISO week like 2026-W47")
    try:
        monday = date.fromisocalendar(int(m.group(1)), int(m.group(2)), 1)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a week of that year") from None
    return monday, monday + timedelta(days=6)


def _tz(ctx, param, value):
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise click.BadParameter(f"unknown time zone {value!r}") from None
    return value


tz_opt = click.option("--tz", default="Europe/London", show_default=True, callback=_tz,
                      help="Time zone of times written without a UTC offset.")
db_opt = click.option(
    "--db", "db", type=click.Path(dir_okay=False), envvar=DB_ENV, default=DEFAULT_DB,
    show_default=True, help=f"The store file (or set ${DB_ENV}).")
policy_opt = click.option(
    "--policy", "policy_path", type=click.Path(dir_okay=False), default=None,
    help="A policy TOML file; the built-in defaults otherwise (see docs/policy.md).")
from_opt = click.option("--from", "date_from", callback=_date, metavar="DATE",
                        help="First local day (YYYY-MM-DD), inclusive.")
to_opt = click.option("--to", "date_to", callback=_date, metavar="DATE",
                      help="Last local day (YYYY-MM-DD), inclusive.")
week_opt = click.option("--week", callback=_week, metavar="YYYY-Www",
                        help="An ISO week, Monday to Sunday local time (instead of --from/--to).")
json_opt = click.option("--json", "as_json", is_flag=True, help="Print machine-readable JSON.")


def echo_notes(notes) -> None:
    """Each note on its own line, after a command's report."""
    for note in notes:
        click.echo(f"note: {note}")


def date_span(date_from, date_to, week):
    """Resolve --from/--to/--week into (first day, last day)."""
    if week is not None:
        if date_from or date_to:
            raise click.UsageError("give either --week or --from/--to, not both")
        return week
    return date_from, date_to


class LazyProgress:
    """A progress bar on stderr that appears only once work is under way.

    Called with the number of items just done. Nothing is drawn if the work
    fails before its first step, so an error stays a single line.
    """

    def __init__(self, total: int, label: str):
        self.total = max(int(total), 1)
        self.label = label
        self.bar = None

    def __call__(self, done: int) -> None:
        if self.bar is None:
            self.bar = click.progressbar(length=self.total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(done)

    def __enter__(self) -> "LazyProgress":
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
