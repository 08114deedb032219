"""``visibility verify``."""

from __future__ import annotations

import click

from ..files import write_text_atomic
from . import main
from .options import date_span, db_opt, from_opt, json_opt, policy_opt, to_opt, week_opt


@main.command()
@click.option("--claim", "claim_path", type=click.Path(dir_okay=False),
              help="A TOML claim file (see docs/verify.md); or give the claim with the options below.")
@click.option("--scope", type=click.Choice(["borough", "ward", "team", "officer", "all", "hotspot"]),
              help="Who or where the claim is about.")
@click.option("--id", "scope_id",
              help="The borough code, ward code, team, officer id or hotspot id "
                   "(see: visibility hotspots list).")
@click.option("--claimed", type=click.FloatRange(0, 1),
              help="The claimed share, e.g. 0.85. For hotspot_visits: the share of the claimed "
                   "time the promise was kept (default 1: every time).")
@click.option("--comparison", type=click.Choice(["at_least", "at_most"]), default="at_least",
              show_default=True)
@click.option("--measure", type=click.Choice(["visible_share", "peak_coverage", "hotspot_visits"]),
              help="visible_share (the default): on-patch share of duty time; peak_coverage (a "
                   "ward): share of peak-window time with at least one of its officers on patch; "
                   "hotspot_visits (the default for --scope hotspot): a visit of --visit-min "
                   "minutes at least every --every-min minutes.")
@click.option("--window", "windows", multiple=True, metavar="WINDOW",
              help='A weekly local window, e.g. "Fri-Sat 18:00-23:00" (repeatable). '
                   "peak_coverage: default the policy's peak windows. hotspot_visits: default "
                   'round the clock; "duty" for the hours the ward\'s officers were on duty.')
@click.option("--visit-min", type=click.FloatRange(min=0, min_open=True),
              help="hotspot_visits: the shortest visit that counts, minutes (e.g. 15).")
@click.option("--every-min", type=click.FloatRange(min=0, min_open=True),
              help="hotspot_visits: the longest claimed stretch between visits, minutes (e.g. 120).")
@from_opt
@to_opt
@week_opt
@click.option("--seed", type=int, default=0, show_default=True,
              help="Seed of the bootstrap and of the reality-test sample.")
@click.option("--samples", type=click.IntRange(0, 1000), default=20, show_default=True,
              help="Random moments of duty in the reality-test sample.")
@click.option("--out-json", type=click.Path(dir_okay=False), help="Write the evidence as JSON here.")
@click.option("--html", type=click.Path(dir_okay=False), help="Write the evidence page here.")
@click.option("--names", is_flag=True, help="Show real officer ids instead of pseudonyms.")
@db_opt
@policy_opt
@json_opt
def verify(claim_path, scope, scope_id, claimed, comparison, measure, windows, visit_min, every_min,
           date_from, date_to, week, seed, samples, out_json, html, names, db, policy_path, as_json):
    """Verify a visibility claim against the raw tracks.

    Prints the measured value with a 95% interval (bootstrap over
    officer-shifts, peak windows or days), the verdict (supported, not
    supported or inconclusive), the range over other policy settings and
    coarser fix rates, data quality, a seeded sample of moments to check in
    the field, and the audit trail. A hotspot claim ("hotspot 3 had a
    15-minute visit at least every two hours") also lists the visits, the
    gaps longer than claimed and each day. The store's results are not
    changed.

    \b
    Example:
      visibility verify --claim claims/week47.toml --html evidence.html
      visibility verify --scope borough --id X09000001 --week 2026-W47 --claimed 0.85
      visibility verify --scope ward --id X05000007 --week 2026-W47 --measure peak_coverage \\
          --window "Fri-Sat 18:00-23:00" --claimed 0.9
      visibility verify --scope hotspot --id 3 --week 2026-W47 --visit-min 15 --every-min 120 \\
          --window "Mon-Sun 18:00-02:00"
    """
    import shlex
    import sys

    from ..policy import Policy
    from ..pseudonym import load_key
    from ..store import Store
    from ..verify import Claim, ClaimError, to_json
    from ..verify import verify as run

    policy = Policy.load(policy_path)
    if claim_path:
        if scope or claimed is not None or visit_min is not None or every_min is not None:
            raise click.UsageError("give --claim FILE or the claim options, not both")
        claim = Claim.load(claim_path)
    else:
        first, last = date_span(date_from, date_to, week)
        measure = measure or ("hotspot_visits" if scope == "hotspot" else "visible_share")
        if claimed is None and measure == "hotspot_visits":
            claimed = 1.0  # the promise kept every time
        if not scope or claimed is None or not first or not last:
            raise click.UsageError("give --claim FILE, or --scope, --claimed and a period "
                                   "(--week, or --from and --to)")
        try:
            claim = Claim(scope=scope, scope_id=scope_id, date_from=first, date_to=last,
                          claimed=claimed, comparison=comparison, measure=measure,
                          windows=tuple(windows), visit_min=visit_min, every_min=every_min)
        except ClaimError as exc:
            raise click.UsageError(str(exc)) from None
    command = "visibility " + " ".join(shlex.quote(a) for a in sys.argv[1:]) \
        if sys.argv and sys.argv[0].endswith("visibility") else None
    with Store.open(db, read_only=True) as store:
        key = None if names else load_key(db)
        evidence = run(store, claim, policy, seed=seed, samples=samples, command=command,
                       key=key)
    if names:
        evidence["sample_shows"] = "officer ids"
    text = to_json(evidence)
    if out_json:
        write_text_atomic(out_json, text)
    if html:
        from ..pages import write_evidence_page

        write_evidence_page(html, evidence)
    if as_json:
        click.echo(text, nl=False, color=True)  # JSON escapes control characters itself
        return
    click.echo(render(evidence))
    for path in (out_json, html):
        if path:
            click.echo(f"wrote {path}")


def render(e: dict) -> str:
    """The evidence for a terminal."""
    from ..tables import clean

    m, s, q = e["measured"], e["sensitivity"], e["data_quality"]
    if m["unit"] == "day":
        from ..verify import minutes_text

        what = (f"of {m['claim_hours']:g} claimed hours with a visit of {minutes_text(m['visit_min'])} "
                f"or more in progress or less than {minutes_text(m['every_min'])} before "
                f"({m['days']} days, {m['qualifying_visits']} qualifying visits)")
    elif m["unit"] == "peak window":
        what = (f"of {m['window_hours']:.0f} peak-window hours with an officer on patch "
                f"({m['windows']} windows, {m['windows_with_nobody']} with nobody, "
                f"{m['windows_fully_covered']} fully covered)")
    else:
        what = (f"visibly on patch, {m['officer_shifts']} officer-shifts, {m['officers']} officers, "
                f"{m['duty_hours']:.0f} duty hours")
    lines = [
        f"claim:     {clean(e['claim']['text'] or e['claim']['sentence'])}",
        f"measured:  {m['value']:.1%} (95% interval {m['interval_95'][0]:.1%} to "
        f"{m['interval_95'][1]:.1%}) {what}",
        f"verdict:   {e['verdict'].upper()} - {e['verdict_reason']}",
        *(_hotspot_lines(m) if m["unit"] == "day" else []),
        f"breakdown: " + ", ".join(f"{k.removesuffix('_share')} {v:.1%}" for k, v in m["breakdown"].items()),
        f"sensitivity: {s['range'][0]:.1%} to {s['range'][1]:.1%} over other settings and fix rates; "
        f"the verdict {'holds' if s['verdict_holds'] else 'does NOT hold'} across them",
    ]
    for t in s["thinning"]:
        lines.append(f"  thinned to one fix per {t['interval_s']:.0f} s: {t['measured']:.1%} "
                     f"(with a {t['max_gap_s_widened']:.0f} s max gap: {t['measured_widened_gap']:.1%})")
    lines.append(f"data quality: {q['fixes']} fixes, {q['fixes_per_duty_hour']:.0f} per duty hour, "
                 f"median interval {q['median_fix_interval_s']} s, no signal {q['no_signal_share']:.1%}, "
                 f"{q['shifts_without_fixes']} shifts without fixes, "
                 f"{q['rejected_rows_in_sources']} rejected rows, "
                 f"{q['unassigned_device_fixes']} unassigned device fixes")
    for problem in q["problems"]:
        lines.append(f"  problem: {problem}")
    if e["sample"]:
        lines.append("reality-test sample:")
        for r in e["sample"]:
            where = (f"{r['lat']}, {r['lon']} {clean(r['ward_name'] or 'outside the wards')}"
                     if r["lat"] is not None else "no fix")
            lines.append(f"  {r['time_local']}  {clean(r['officer'])}  {r['state']:<10}  {where}")
    a = e["audit"]
    lines.append(f"audit: {len(a['sources'])} sources, policy {a['policy_digest']}, "
                 f"visibility {a['version']}, digest {a['digest'][:16]}")
    if a["command"]:
        lines.append(f"reproduce: {a['command']}")
    return "\n".join(lines)


def _hotspot_lines(m: dict) -> list[str]:
    """The gaps and the days of a hotspot claim."""
    from ..tables import clean
    from ..verify import minutes_text

    h, g = m["hotspot"], m["longest_gap"]
    when = m["claimed_time"] if isinstance(m["claimed_time"], str) else "; ".join(m["claimed_time"])
    on_duty = round(m["claim_hours"] - m["claim_hours_off_duty"], 2)
    lines = [
        f"hotspot:   {h['hotspot_id']} {clean(h['label'] or '')} (ward {clean(h['ward_code'])}); "
        f"claimed time {clean(when)}: {m['claim_hours']:g} h, {on_duty:g} h of it with an officer "
        "of the ward on duty",
        f"longest gap: {minutes_text(round(g['minutes'], 1))}, {g['when']} "
        f"({g['officer_hours_on_duty']:g} officer-hours on duty in it, "
        f"{g['officer_hours_without_signal']:g} without signal)",
        f"gaps over {minutes_text(m['every_min'])}: {m['gaps_over']}, {m['overdue_hours']:g} h overdue "
        f"in all; visits of {minutes_text(m['visit_min'])} or more: {m['qualifying_visits']}, "
        f"shorter: {m['shorter_visits']}",
    ]
    for gap in m["gaps"][:10]:
        lines.append(f"  {gap['when']}  {minutes_text(round(gap['minutes'], 1))}")
    if len(m["gaps"]) > 10:
        lines.append(f"  ... and {len(m['gaps']) - 10} more (all of them in --json and --html)")
    lines.append("by day:  date        claimed  visits  shorter   overdue   kept")
    for d in m["by_day"]:
        lines.append(f"         {d['date']}  {d['claim_hours']:5.1f} h  {d['qualifying_visits']:6d}  "
                     f"{d['shorter_visits']:7d}  {d['overdue_min']:4.0f} min  {d['kept_share']:6.1%}")
    return lines
