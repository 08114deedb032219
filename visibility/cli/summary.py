"""``visibility summary``."""

from __future__ import annotations

import click

from ..files import write_text_atomic
from . import main
from .options import date_span, db_opt, from_opt, policy_opt, to_opt, week_opt


@main.command()
@click.option("--by", type=click.Choice(["officer-shift", "ward", "team", "borough"]),
              default="ward", show_default=True, help="What each row is.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--out", type=click.Path(dir_okay=False), help="Write to this file instead of stdout.")
@click.option("--ward", help="Only officers whose home wards include this ward code.")
@click.option("--team", help="Only this team.")
@click.option("--borough", help="Only officers of wards in this borough code.")
@click.option("--suppress-small", is_flag=True,
              help="Blank the figures of groups smaller than the policy's min_group_officers "
                   "(for exports shared beyond the force).")
@from_opt
@to_opt
@week_opt
@db_opt
@policy_opt
def summary(by, fmt, out, ward, team, borough, suppress_small, date_from, date_to, week, db, policy_path):
    """Visible share against the pledge line, with the breakdown of the rest.

    Each row gives the seconds on patch, off patch, in a station, in transit
    and with no signal, the visible share (on patch / duty time) and whether
    it meets the pledge line.

    \b
    Example:
      visibility summary --by ward --week 2026-W47
      visibility summary --by officer-shift --format csv --out shifts.csv
    """
    from ..policy import Policy
    from ..store import Store
    from ..summary import summarise

    date_from, date_to = date_span(date_from, date_to, week)
    policy = Policy.load(policy_path)
    with Store.open(db, read_only=True) as store:
        result = summarise(store, by, policy, date_from, date_to, ward=ward, team=team,
                           borough=borough, suppress_small=suppress_small)
    if fmt == "csv":
        text = result.to_csv()
    elif fmt == "json":
        text = result.to_json() + "\n"
    else:
        text = render_table(result)
    if out:
        write_text_atomic(out, text)
        click.echo(f"wrote {len(result.rows)} rows to {out}")
    else:
        # CSV and JSON are data: shown exactly (tables have been made safe to print).
        click.echo(text, nl=False, color=fmt != "table")


_TABLE_COLUMNS = {
    "officer-shift": ["officer_id", "team", "kind", "shift_start", "shift_end", "visible_share",
                      "no_signal_share", "meets_line"],
    "ward": ["ward_code", "ward_name", "officers", "shifts", "duty_hours", "visible_share",
             "no_signal_share", "meets_line"],
    "team": ["team", "officers", "shifts", "duty_hours", "visible_share", "no_signal_share",
             "meets_line"],
    "borough": ["borough_code", "borough_name", "officers", "shifts", "duty_hours",
                "visible_share", "no_signal_share", "meets_line"],
}


def render_table(result) -> str:
    """A plain-text table for people: shares as percentages, the line as words."""
    from ..tables import clean

    cols = _TABLE_COLUMNS[result.by]
    header = [c.replace("_", " ") for c in cols]
    lines = []
    for rec in result.records():
        cells = []
        for c in cols:
            v = rec[c]
            if v is None:
                cells.append("(small group)")
            elif c.endswith("share"):
                cells.append(f"{v:.1%}")
            elif c == "meets_line":
                cells.append("meets" if v else "BELOW")
            else:
                cells.append(clean(v))
        lines.append(cells)
    widths = [max(len(h), *(len(r[i]) for r in lines)) if lines else len(h)
              for i, h in enumerate(header)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths))]
    out.append("  ".join("-" * w for w in widths))
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in lines]
    out.append(f"pledge line: {result.pledge_line:.0%} of duty time visibly on patch")
    return "\n".join(out) + "\n"

