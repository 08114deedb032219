"""``visibility plan``: test patrol patterns before deploying them."""

from __future__ import annotations

import click

from . import main
from .options import LazyProgress, _week, db_opt, echo_notes, json_opt, policy_opt


def _pattern_paths(ctx, param, value):
    for v in value:
        if not str(v).strip():
            raise click.BadParameter("an empty pattern path")
    return value


week_required = click.option("--week", callback=_week, metavar="YYYY-Www", required=True,
                             help="The ISO week to simulate, e.g. 2026-W48.")
week_optional = click.option("--week", callback=_week, metavar="YYYY-Www",
                             help="The ISO week to simulate (default: the --against-week).")
seeds_opt = click.option("--seeds", type=click.IntRange(1, 50), default=3, show_default=True,
                         help="Simulations per pattern (seeds --seed, --seed+1, ...).")
seed_opt = click.option("--seed", type=int, default=0, show_default=True, help="The (first) seed.")


@main.group()
def plan():
    """Test patrol patterns before deploying them: check, simulate, compare, suggest.

    A pattern is a TOML file (see docs/planning.md). Simulated weeks go into
    their own scenario store, never into the real one.
    """


@plan.command("check")
@click.argument("pattern", type=click.Path(dir_okay=False))
@db_opt
@json_opt
def check(pattern, db, as_json):
    """Check a pattern file and say what it plans for one week.

    With a store (--db) that exists, its wards and stations are checked too.

    \b
    Example:
      visibility plan check sample_tracks/patterns/daytime-foot.toml --db northbrook.duckdb
    """
    import json
    from pathlib import Path

    from ..plan.pattern import load_pattern
    from ..plan.simulate import World
    from ..store import Store

    p = load_pattern(pattern)
    checked_store = False
    if Path(db).exists():
        with Store.open(db, read_only=True) as store:
            world = World.from_store(store)
            p.check_store(world.ward_codes, world.station_ids)
            checked_store = True
    shifts = sum(g.officers * len(p.shift(s).days) for t in p.teams for g in t.rota for s in g.shifts)
    hours = sum(g.officers * len(p.shift(s).days) * p.shift(s).hours for t in p.teams for g in t.rota
                for s in g.shifts)
    info = {"pattern": p.name, "file": str(pattern), "digest": p.digest, "teams": len(p.teams),
            "officers": p.headcount, "shifts_per_week": shifts, "officer_hours_per_week": hours,
            "wards": list(p.wards), "beats": len(p.beats), "visits": len(p.visits),
            "peaks": [pk.name for pk in p.peak_windows()], "store_checked": checked_store}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    click.echo(f"{pattern}: pattern {p.name!r} is valid"
               + (f" against {db}" if checked_store else " (no store to check wards against)"))
    click.echo(f"  {len(p.teams)} teams, {p.headcount} officers, {shifts} shifts and "
               f"{hours:g} officer-hours a week, {len(p.wards)} wards, {len(p.visits)} hotspot visits")


@plan.command("simulate")
@click.argument("pattern", type=click.Path(dir_okay=False))
@week_required
@seed_opt
@click.option("--out-db", type=click.Path(dir_okay=False),
              help="The scenario store to create (default: plan-<pattern>-<week>.duckdb here).")
@click.option("--force", is_flag=True, help="Replace the scenario store if it exists.")
@db_opt
@policy_opt
@json_opt
def simulate_cmd(pattern, week, seed, out_db, force, db, policy_path, as_json):
    """Simulate a week of a pattern into its own scenario store, and analyse it.

    The wards and stations come from the real store (--db), which is only
    read. The scenario store then works with every other command
    (summary, verify ...) like a real one. Same seed, same tracks.

    \b
    Example:
      visibility plan simulate sample_tracks/patterns/evening-cycle.toml --week 2026-W48 \\
          --db northbrook.duckdb --out-db plan-evening.duckdb --seed 1
      visibility summary --db plan-evening.duckdb --by team
    """
    import json
    from pathlib import Path

    from ..plan.pattern import load_pattern
    from ..plan.simulate import simulate, week_label
    from ..policy import Policy
    from ..store import Store
    from ..summary import summarise
    from .summary import render_table

    p = load_pattern(pattern)
    policy = Policy.load(policy_path)
    monday = week[0]
    if out_db is None:
        out_db = f"plan-{Path(pattern).stem}-{week_label(monday)}.duckdb"
    sc = simulate(p, db, out_db, monday, seed, policy, overwrite=force)
    with Store.open(out_db, read_only=True) as store:
        teams = summarise(store, "team", policy, week[0], week[1])
    if as_json:
        click.echo(json.dumps({**sc.to_dict(), "teams": teams.records()}, indent=2, default=str))
        return
    click.echo(f"simulated {p.name!r} for {week_label(monday)} (seed {seed}): {sc.officers} officers, "
               f"{sc.shifts} shifts, {sc.fixes} fixes, {sc.visits_planned} hotspot visits planned")
    click.echo("")
    click.echo(render_table(teams), nl=False)
    echo_notes(sc.notes)
    click.echo(f"scenario store: {sc.store}")
    click.echo(f"its files:      {sc.files}")


@plan.command("compare")
@click.argument("patterns", nargs=-1, required=True, type=click.Path(dir_okay=False),
                callback=_pattern_paths)
@week_optional
@seeds_opt
@seed_opt
@click.option("--against-week", callback=_week, metavar="YYYY-Www",
              help="Also measure this real week of the store (--db) and show plan against actual per ward.")
@click.option("--keep", type=click.Path(file_okay=False),
              help="Keep the scenario stores in this folder (default: a temporary one, removed).")
@click.option("--html", type=click.Path(dir_okay=False), help="Also write the comparison as an HTML page.")
@db_opt
@policy_opt
@json_opt
def compare_cmd(patterns, week, seeds, seed, against_week, keep, html, db, policy_path, as_json):
    """Compare patterns side by side, each simulated with several seeds.

    Prints, per pattern, the visible share, presence coverage per peak
    window, effective hotspot visits, the longest unvisited gap and the
    officer-hours used: the mean over seeds and its range. With
    --against-week, the real week is measured the same way beside them.

    \b
    Example:
      visibility plan compare sample_tracks/patterns/daytime-foot.toml \\
          sample_tracks/patterns/evening-cycle.toml --week 2026-W48 --seeds 3 --html plans.html
      visibility plan compare sample_tracks/patterns/daytime-foot.toml --against-week 2026-W47
    """
    from ..plan.compare import compare, render_table, write_page
    from ..plan.pattern import load_pattern
    from ..policy import Policy

    if week is None and against_week is None:
        raise click.UsageError("give --week (the week to simulate) or --against-week")
    loaded = [load_pattern(p) for p in patterns]
    policy = Policy.load(policy_path)
    monday = (week or against_week)[0]
    with LazyProgress(len(loaded) * seeds, "simulating") as progress:
        result = compare(loaded, db, monday, list(range(seed, seed + seeds)), policy, workdir=keep,
                         against=against_week[0] if against_week else None, progress=progress)
    if html:
        write_page(html, result)
    if as_json:
        click.echo(result.to_json(), nl=False)
        return
    click.echo(render_table(result), nl=False)
    if html:
        click.echo(f"wrote {html}")


@plan.command("suggest")
@click.argument("pattern", type=click.Path(dir_okay=False))
@week_required
@seeds_opt
@seed_opt
@click.option("--out", type=click.Path(dir_okay=False),
              help="Write the suggested pattern here (default: <pattern>-suggested.toml beside it).")
@click.option("--html", type=click.Path(dir_okay=False), help="Also write the comparison as an HTML page.")
@db_opt
@policy_opt
@json_opt
def suggest_cmd(pattern, week, seeds, seed, out, html, db, policy_path, as_json):
    """Suggest when to make the hotspot visits and which beats to weight, and show the gain.

    Keeps the headcount and shifts. Visits move to the hours of their
    shifts with the most demand (the peak windows' weights), at random
    times within them and 10-15 minutes long (the Koper curve); beat weights
    follow each ward's share of peak demand the team can cover. Both
    patterns are then simulated with the same seeds and compared.

    \b
    Example:
      visibility plan suggest sample_tracks/patterns/daytime-foot.toml --week 2026-W48 \\
          --out suggested.toml
    """
    import json
    from pathlib import Path

    from ..plan.compare import compare, render_table, write_page
    from ..plan.pattern import load_pattern
    from ..plan.simulate import World
    from ..plan.suggest import suggest
    from ..policy import Policy
    from ..store import Store

    p = load_pattern(pattern)
    policy = Policy.load(policy_path)
    out = Path(out) if out else Path(pattern).with_name(Path(pattern).stem + "-suggested.toml")
    with Store.open(db, read_only=True) as store:
        world = World.from_store(store)
    p.check_store(world.ward_codes, world.station_ids)
    proposal = suggest(p, world)
    out.write_text(proposal.toml, encoding="utf-8")
    suggested = load_pattern(out)
    with LazyProgress(2 * seeds, "simulating") as progress:
        result = compare([p, suggested], db, week[0], list(range(seed, seed + seeds)), policy,
                         progress=progress)
    gain = proposal.gain(result)
    if html:
        write_page(html, result, title=f"Suggested changes to {p.name}",
                   suggestion={"changes": proposal.changes + [f"Note: {n}" for n in proposal.notes],
                               "gain": proposal.gain_lines(gain)})
    if as_json:
        click.echo(json.dumps({"suggested_pattern": str(out), "changes": proposal.changes,
                               "notes": proposal.notes, "gain": gain,
                               "comparison": result.to_dict()}, indent=2, default=str))
        return
    click.echo("suggested changes:")
    for c in proposal.changes:
        click.echo(f"  - {c}")
    echo_notes(proposal.notes)
    click.echo("")
    click.echo(render_table(result), nl=False)
    click.echo("")
    click.echo("predicted gain (suggested - input, mean over seeds):")
    for line in proposal.gain_lines(gain):
        click.echo(f"  {line}")
    click.echo(f"wrote {out}")
    if html:
        click.echo(f"wrote {html}")
