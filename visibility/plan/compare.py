"""Compare patterns side by side (several seeds each), and a plan against a real week.

Each pattern is simulated once per seed into its own scenario store (in a
work folder: a temporary one unless given) and measured with
:func:`visibility.plan.measures.measure`. Every pattern is measured on the same
things: the union of the wards all patterns cover, of their peak windows (by
name; the defaults when none names any) and of their hotspots (by place), so a
pattern that leaves a ward or a hotspot out is scored on it too. A figure is
then the mean over seeds with its range (lowest to highest seed), which is the
spread the difference between two patterns should be read against.

With a real week (``against``), the real store's analysed results for that
week are measured in the same way and shown beside the plans, with a per-ward
table: plan against actual, for the visible share and each peak window.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from ..errors import StoreError
from ..policy import Policy
from ..store import Store
from .measures import measure
from .pattern import DEFAULT_PEAKS, Pattern, PatternError, Peak
from .simulate import Hotspot, scenario_tag, simulate, target_of, week_label

#: The rows of the comparison table: (key, label, format).
ROWS = (
    ("visible_share", "visible share", "pct"),
    ("coverage", "peak coverage", "pct"),
    ("effective_visits", "effective hotspot visits (10+ min)", "int"),
    ("visits", "hotspot visits", "int"),
    ("dosage_hours", "hotspot presence (h)", "num"),
    ("longest_gap_hours", "longest unvisited gap (h)", "num"),
    ("officer_hours", "officer-hours rostered", "num"),
    ("abstracted_hours", "of which abstracted", "num"),
    ("in_station_share", "in station", "pct"),
    ("no_signal_share", "no signal", "pct"),
)


@dataclass
class Comparison:
    week: date
    seeds: list[int]
    patterns: list[Pattern]
    wards: list[str]
    peaks: list[Peak]
    hotspots: list[Hotspot]
    runs: dict[str, list[dict]]  # pattern label -> one measures dict per seed
    actual: dict | None = None
    actual_label: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def labels(self) -> list[str]:
        return list(self.runs)

    def stat(self, label: str, key: str, sub: str | None = None) -> dict | None:
        """Mean, lowest and highest over seeds of one measure."""
        vals = [r[key][sub] if sub else r[key] for r in self.runs[label]]
        vals = [v for v in vals if v is not None]
        if not vals:
            return None
        return {"mean": float(np.mean(vals)), "min": float(np.min(vals)), "max": float(np.max(vals)),
                "values": [float(v) for v in vals]}

    def table_rows(self) -> list[dict]:
        """One dict per row: key, label, format, and a cell per pattern (and the actual week)."""
        rows = []
        for key, label, fmt in ROWS:
            subs = [p.name for p in self.peaks] if key == "coverage" else [None]
            for sub in subs:
                row = {"key": key if sub is None else f"coverage.{sub}",
                       "label": label if sub is None else f"{label}: {sub}", "format": fmt,
                       "cells": {lab: self.stat(lab, key, sub) for lab in self.labels}}
                if self.actual is not None:
                    v = self.actual[key][sub] if sub else self.actual[key]
                    row["actual"] = v
                rows.append(row)
        return rows

    def ward_rows(self) -> list[dict]:
        """Per ward: plan (each pattern, mean over seeds) and, with a real week, actual."""
        out = []
        for w in self.wards:
            row = {"ward_code": w, "plans": {}, "actual": None}
            for lab in self.labels:
                runs = [r["wards"][w] for r in self.runs[lab]]
                row["plans"][lab] = _mean_ward(runs)
            if self.actual is not None:
                row["actual"] = self.actual["wards"][w]
            out.append(row)
        return out

    def to_dict(self) -> dict:
        return {
            "week": week_label(self.week), "seeds": self.seeds,
            "patterns": [{"label": lab, "name": p.name, "source": p.source, "digest": p.digest,
                          "headcount": p.headcount} for lab, p in zip(self.labels, self.patterns)],
            "wards": self.wards,
            "peaks": [{"name": p.name, "days": list(p.days), "window_min": list(p.window)} for p in self.peaks],
            "hotspots": [h.name for h in self.hotspots],
            "rows": [{**r, "cells": r["cells"]} for r in self.table_rows()],
            "per_ward": self.ward_rows(),
            "runs": self.runs,
            "actual_week": self.actual_label, "actual": self.actual,
            "notes": self.notes,
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, default=str) + "\n"


def _mean_ward(runs: list[dict]) -> dict:
    vis = [r["visible_share"] for r in runs if r["visible_share"] is not None]
    cov = {}
    for p in runs[0]["coverage"]:
        vals = [r["coverage"][p] for r in runs if r["coverage"][p] is not None]
        cov[p] = float(np.mean(vals)) if vals else None
    return {"visible_share": float(np.mean(vis)) if vis else None,
            "officer_hours": float(np.mean([r["officer_hours"] for r in runs])), "coverage": cov}


def shared_scope(patterns: list[Pattern]) -> tuple[list[str], list[Peak], list[Hotspot]]:
    """The wards, peak windows and hotspots every pattern is measured on."""
    wards = sorted({w for p in patterns for w in p.wards})
    peaks: dict[str, Peak] = {}
    for p in patterns:
        for pk in p.peaks:
            if pk.name in peaks and (peaks[pk.name].days, peaks[pk.name].window, peaks[pk.name].wards) \
                    != (pk.days, pk.window, pk.wards):
                raise PatternError(f"{p.source}: peak.name: peak {pk.name!r} is defined differently "
                                   "in another pattern; rename one")
            peaks.setdefault(pk.name, pk)
    spots: dict[tuple, Hotspot] = {}
    names: set[str] = set()
    for p in patterns:
        for v in p.visits:
            key = v.target_key()
            if key in spots:
                continue
            h = target_of(v)
            name = h.name
            k = 2
            while name in names:
                name, k = f"{h.name} ({k})", k + 1
            names.add(name)
            spots[key] = Hotspot(name, h.geom, h.centre, h.radius_m)
    return wards, list(peaks.values()) or list(DEFAULT_PEAKS), list(spots.values())


def labels_for(patterns: list[Pattern]) -> list[str]:
    labels, seen = [], set()
    for p in patterns:
        lab, k = p.name, 2
        while lab in seen:
            lab, k = f"{p.name} ({k})", k + 1
        seen.add(lab)
        labels.append(lab)
    return labels


def compare(patterns: list[Pattern], base_db: str | Path, monday: date, seeds: list[int],
            policy: Policy | None = None, workdir: str | Path | None = None,
            against: date | None = None, progress=None) -> Comparison:
    """Simulate each pattern for each seed and measure them all on the same scope."""
    if not patterns:
        raise PatternError("give at least one pattern")
    if not seeds:
        raise PatternError("give at least one seed")
    policy = policy or Policy()
    wards, peaks, hotspots = shared_scope(patterns)
    tz = patterns[0].timezone
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="visibility-plan-")
        folder = Path(tmp.name)
    else:
        folder = Path(workdir)
        folder.mkdir(parents=True, exist_ok=True)
    try:
        result = Comparison(monday, list(seeds), list(patterns), wards, peaks, hotspots, {})
        for label, pattern in zip(labels_for(patterns), patterns):
            result.runs[label] = []
            for seed in seeds:
                slug = "".join(c if c.isalnum() else "-" for c in label)[:40]
                db = folder / f"{slug}-s{seed}.duckdb"
                sc = simulate(pattern, base_db, db, monday, seed, policy, overwrite=True)
                result.notes += [f"{label}, seed {seed}: {n}" for n in sc.notes]
                with Store.open(db, read_only=True) as store:
                    m = measure(store, monday, wards, peaks, hotspots, tz)
                m["scenario_store"] = str(db) if workdir is not None else None
                m["visits_planned"] = sc.visits_planned
                result.runs[label].append(m)
                if progress:
                    progress(1)
        if against is not None:
            with Store.open(base_db, read_only=True) as store:
                if scenario_tag(store) is not None:
                    raise StoreError(f"{base_db} is a scenario store; --against-week needs the real store")
                result.actual = measure(store, against, wards, peaks, hotspots, tz)
            result.actual_label = f"actual {week_label(against)}"
        return result
    finally:
        if tmp is not None:
            tmp.cleanup()


# ---------------------------------------------------------------------------
# Presenting


def fmt_value(v, fmt: str) -> str:
    if v is None:
        return "-"
    if fmt == "pct":
        return f"{v:.1%}"
    if fmt == "int":
        return f"{v:.0f}" if abs(v - round(v)) < 1e-9 else f"{v:.1f}"
    return f"{v:.1f}"


def fmt_cell(stat: dict | None, fmt: str) -> str:
    """Mean, and the range over seeds when there is more than one."""
    if stat is None:
        return "-"
    text = fmt_value(stat["mean"], fmt)
    if len(stat["values"]) > 1:
        text += f" ({fmt_value(stat['min'], fmt)}-{fmt_value(stat['max'], fmt)})"
    return text


def render_table(cmp: Comparison) -> str:
    """The comparison for a terminal: a row per measure, a column per pattern (and the actual week)."""
    from ..tables import clean

    heads = ["measure"] + [clean(lab) for lab in cmp.labels]
    if cmp.actual is not None:
        heads.append(cmp.actual_label)
    lines = []
    for r in cmp.table_rows():
        cells = [r["label"]] + [fmt_cell(r["cells"][lab], r["format"]) for lab in cmp.labels]
        if cmp.actual is not None:
            cells.append(fmt_value(r["actual"], r["format"]))
        lines.append(cells)
    out = [f"week {week_label(cmp.week)}, seeds {', '.join(map(str, cmp.seeds))}"
           + (" (mean, and lowest-highest over seeds)" if len(cmp.seeds) > 1 else ""), ""]
    out += _grid(heads, lines)
    if cmp.actual is not None:
        out += ["", f"per ward: plan against {cmp.actual_label}"]
        wheads = ["ward", "measure"] + [clean(lab) for lab in cmp.labels] + ["actual"]
        wlines = []
        for row in cmp.ward_rows():
            keys = [("visible share", "visible_share", None)] + [
                (f"coverage: {p.name}", "coverage", p.name) for p in cmp.peaks]
            for i, (label, key, sub) in enumerate(keys):
                def pick(d):
                    return None if d is None else (d[key][sub] if sub else d[key])
                wlines.append([row["ward_code"] if i == 0 else "", label]
                              + [fmt_value(pick(row["plans"][lab]), "pct") for lab in cmp.labels]
                              + [fmt_value(pick(row["actual"]), "pct")])
        out += _grid(wheads, wlines)
    for n in cmp.notes:
        out.append(f"note: {clean(n)}")
    return "\n".join(out) + "\n"


def _grid(heads: list[str], lines: list[list[str]]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in lines]) for i, h in enumerate(heads)]
    out = ["  ".join(h.ljust(w) for h, w in zip(heads, widths)), "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths)) for r in lines]
    return out


def write_page(path: str | Path, cmp: Comparison, title: str | None = None,
               suggestion: dict | None = None) -> Path:
    """A plain HTML page of the comparison (jinja2, every value escaped)."""
    from datetime import datetime, timezone

    from jinja2 import Environment, PackageLoader, select_autoescape

    from .. import __version__

    env = Environment(loader=PackageLoader("visibility", "templates"),
                      autoescape=select_autoescape(["html", "j2"]))
    rows = []
    for r in cmp.table_rows():
        rows.append({"label": r["label"],
                     "cells": [fmt_cell(r["cells"][lab], r["format"]) for lab in cmp.labels],
                     "actual": fmt_value(r.get("actual"), r["format"]) if cmp.actual is not None else None})
    wards = []
    if cmp.actual is not None:
        for row in cmp.ward_rows():
            def pick(d, key, sub=None):
                return None if d is None else (d[key][sub] if sub else d[key])
            lines = [("visible share", [fmt_value(pick(row["plans"][lab], "visible_share"), "pct")
                                        for lab in cmp.labels],
                      fmt_value(pick(row["actual"], "visible_share"), "pct"))]
            for p in cmp.peaks:
                lines.append((f"coverage: {p.name}",
                              [fmt_value(pick(row["plans"][lab], "coverage", p.name), "pct") for lab in cmp.labels],
                              fmt_value(pick(row["actual"], "coverage", p.name), "pct")))
            wards.append({"ward": row["ward_code"], "lines": lines})
    html = env.get_template("plan_compare.html.j2").render(
        title=title or f"Patrol patterns compared, week {week_label(cmp.week)}",
        cmp=cmp, labels=cmp.labels, rows=rows, wards=wards, suggestion=suggestion,
        peaks=[(p.name, ", ".join(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")[d] for d in p.days),
                f"{p.window[0] // 60:02d}:{p.window[0] % 60:02d}-{p.window[1] % 1440 // 60:02d}:{p.window[1] % 60:02d}")
               for p in cmp.peaks],
        version=__version__,
        generated=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path
