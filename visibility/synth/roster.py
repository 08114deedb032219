"""A made-up roster: ward teams, their officers and a week of shifts.

Teams are groups of 2-4 adjacent wards grown together from well-spread seed
wards, so every ward gets a team when there are enough teams (4 per team at
most) and the groups stay balanced. Most officers of a team cover all its
wards; some are dedicated to one ward. Shifts are earlies (07:00-15:00),
lates (14:00-22:00) or nights (22:00-07:00), in Europe/London wall-clock time,
about five a week with rest days between, and about 8% of them abstracted to
other duties.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from visibility.synth._frame import LocalFrame

LONDON = ZoneInfo("Europe/London")
SHIFT_TIMES = {  # kind of shift -> (start hour, length in hours)
    "early": (7, 8),
    "late": (14, 8),
    "night": (22, 9),
}
ABSTRACTION_REASONS = (
    "aid: football match",
    "aid: protest",
    "custody cover",
    "court",
    "response team cover",
    "prisoner escort",
    "training",
    "station reception cover",
)
NIGHT_ABSTRACTION_REASONS = ("custody cover", "response team cover", "prisoner escort")
ABSTRACTED_SHARE = 0.08
DEDICATED_SHARE = 0.25
PCSO_SHARE = 0.3
_MAX_TEAM_WARDS = 4


def make_roster(
    wards: gpd.GeoDataFrame,
    week_start_local_date: dt.date,
    n_teams: int,
    n_officers: int,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(officers, shifts) for one week starting on ``week_start_local_date``.

    officers: ``officer_id``, ``team``, ``ward_code`` (the wards joined by
    ``;``), ``role``. shifts: ``officer_id``, ``start``, ``end`` (tz-aware,
    Europe/London), ``kind`` (neighbourhood | abstracted), ``reason`` (empty
    for neighbourhood shifts). Works on any ward set with ``ward_code`` and a
    geometry; same inputs and seed, same roster.
    """
    if n_teams < 1 or n_officers < n_teams:
        raise ValueError("need at least one team and at least one officer per team")
    if len(wards) < n_teams:
        raise ValueError(f"{n_teams} teams need at least {n_teams} wards, got {len(wards)}")
    rng = np.random.default_rng(seed)
    codes = wards["ward_code"].astype(str).to_numpy()
    teams = ward_teams(wards, n_teams)
    officers = _officers(codes, teams, n_officers, rng)
    shifts = _shifts(officers, week_start_local_date, rng)
    return officers, shifts


# ---------------------------------------------------------------------------
# Teams


def ward_adjacency(wards: gpd.GeoDataFrame, tolerance_m: float = 2.0) -> list[np.ndarray]:
    """For each ward, the indices of the wards within ``tolerance_m`` of it."""
    frame = LocalFrame.around_bounds(wards.total_bounds)
    geoms = frame.geom_to_xy(wards.geometry.to_numpy())
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    keep = left != right
    left, right = left[keep], right[keep]
    order = np.lexsort((right, left))
    left, right = left[order], right[order]
    bounds = np.searchsorted(left, np.arange(len(geoms) + 1))
    return [right[bounds[i] : bounds[i + 1]] for i in range(len(geoms))]


def ward_teams(wards: gpd.GeoDataFrame, n_teams: int, tries: int = 8) -> list[list[int]]:
    """``n_teams`` groups of adjacent ward indices, each of 2-4 wards where the map allows.

    Seeds are spread out by farthest-point sampling; then, round by round, the
    smallest teams take one unclaimed neighbouring ward each, preferring the
    ward with fewest unclaimed neighbours (so few wards are stranded). Wards
    left over once every team is full or boxed in join their smallest
    neighbouring team (or the nearest one). This is tried from a few starting
    wards and the most even grouping wins. Deterministic: no random draws.
    """
    adj = ward_adjacency(wards)
    frame = LocalFrame.around_bounds(wards.total_bounds)
    cent = shapely.centroid(wards.geometry.to_numpy())
    cx, cy = frame.to_xy(shapely.get_x(cent), shapely.get_y(cent))
    degree = np.array([len(a) for a in adj])
    best, best_score = None, None
    for first in np.lexsort((cx, degree))[:tries]:
        members = _grow_teams(adj, cx, cy, int(first), n_teams)
        sizes = np.array([len(m) for m in members])
        score = (int(((sizes < 2) | (sizes > _MAX_TEAM_WARDS)).sum()), int(sizes.max() - sizes.min()))
        if best_score is None or score < best_score:
            best, best_score = members, score
        if score[0] == 0 and score[1] <= 1:
            break
    return [sorted(m) for m in best]


def _grow_teams(adj: list[np.ndarray], cx: np.ndarray, cy: np.ndarray, first: int, n_teams: int) -> list[list[int]]:
    n = len(cx)
    seeds = [first]
    dist = np.hypot(cx - cx[first], cy - cy[first])
    while len(seeds) < n_teams:
        nxt = int(np.argmax(dist))
        seeds.append(nxt)
        dist = np.minimum(dist, np.hypot(cx - cx[nxt], cy - cy[nxt]))
    team_of = np.full(n, -1)
    members: list[list[int]] = []
    for t, s in enumerate(seeds):
        team_of[s] = t
        members.append([s])
    free_degree = np.array([int((team_of[a] < 0).sum()) for a in adj])
    grew = True
    while grew:
        grew = False
        for t in sorted(range(n_teams), key=lambda t: (len(members[t]), t)):
            if len(members[t]) >= _MAX_TEAM_WARDS:
                continue
            frontier = sorted({int(j) for w in members[t] for j in adj[w] if team_of[j] < 0})
            if not frontier:
                continue
            pick = min(frontier, key=lambda j: (free_degree[j], j))
            team_of[pick] = t
            members[t].append(pick)
            free_degree[adj[pick]] -= 1
            grew = True
    # leftovers: join a neighbouring team, smallest first, else the nearest team
    left = [i for i in range(n) if team_of[i] < 0]
    while left:
        still = []
        for i in left:
            near = [int(team_of[j]) for j in adj[i] if team_of[j] >= 0]
            if near:
                t = min(near, key=lambda t: (len(members[t]), t))
                team_of[i] = t
                members[t].append(i)
            else:
                still.append(i)
        if len(still) == len(left):  # islands: the nearest team by centroid
            for i in still:
                d = np.where(team_of >= 0, np.hypot(cx - cx[i], cy - cy[i]), np.inf)
                t = int(team_of[np.argmin(d)])
                team_of[i] = t
                members[t].append(i)
            still = []
        left = still
    _rebalance(members, team_of, adj)
    return members


def _rebalance(members: list[list[int]], team_of: np.ndarray, adj: list[np.ndarray]) -> None:
    """Move single wards between neighbouring teams so sizes come within 2-4 where they can."""

    def connected(group: list[int]) -> bool:
        if not group:
            return False
        seen, todo = {group[0]}, [group[0]]
        inside = set(group)
        while todo:
            for j in adj[todo.pop()]:
                if int(j) in inside and int(j) not in seen:
                    seen.add(int(j))
                    todo.append(int(j))
        return len(seen) == len(group)

    def move(ward: int, src: int, dst: int) -> None:
        members[src].remove(ward)
        members[dst].append(ward)
        team_of[ward] = dst

    for _ in range(4):
        changed = False
        for t in range(len(members)):
            if len(members[t]) < 2:  # take a ward from a neighbouring team that can spare one
                for j in sorted({int(j) for w in members[t] for j in adj[w]}):
                    u = int(team_of[j])
                    if u != t and len(members[u]) >= 3 and connected([m for m in members[u] if m != j]):
                        move(j, u, t)
                        changed = True
                        break
            while len(members[t]) > _MAX_TEAM_WARDS:  # hand a ward to a neighbouring team with room
                options = [
                    (len(members[int(team_of[j])]), w, int(team_of[j]))
                    for w in members[t]
                    for j in adj[w]
                    if int(team_of[j]) != t and len(members[int(team_of[j])]) < _MAX_TEAM_WARDS
                ]
                options = [o for o in sorted(options) if connected([m for m in members[t] if m != o[1]])]
                if not options:
                    break
                move(options[0][1], t, options[0][2])
                changed = True
        if not changed:
            break


# ---------------------------------------------------------------------------
# Officers and shifts


def _officers(codes: np.ndarray, teams: list[list[int]], n_officers: int, rng: np.random.Generator) -> pd.DataFrame:
    n_teams = len(teams)
    per_team = np.full(n_teams, n_officers // n_teams)
    per_team[rng.permutation(n_teams)[: n_officers - per_team.sum()]] += 1
    width = max(2, len(str(n_teams)))
    rows = []
    number = 1001
    for t, (wards, size) in enumerate(zip(teams, per_team)):
        team = f"SNT{t + 1:0{width}d}"
        all_wards = ";".join(sorted(codes[w] for w in wards))
        n_dedicated = int(round(DEDICATED_SHARE * size)) if len(wards) > 1 else 0
        dedicated = set(rng.choice(size, n_dedicated, replace=False).tolist()) if n_dedicated else set()
        next_ward = 0
        for k in range(size):
            if k in dedicated:
                ward_code = codes[wards[next_ward % len(wards)]]
                next_ward += 1
            else:
                ward_code = all_wards
            role = "PCSO" if rng.random() < PCSO_SHARE else "PC"
            rows.append((f"PC{number}", team, ward_code, role))
            number += 1
    return pd.DataFrame(rows, columns=["officer_id", "team", "ward_code", "role"])


def _shifts(officers: pd.DataFrame, week_start: dt.date, rng: np.random.Generator) -> pd.DataFrame:
    rows = []
    for officer_id, role in zip(officers["officer_id"], officers["role"]):
        n_work = int(rng.choice([4, 5, 6], p=[0.15, 0.7, 0.15]))
        first_rest = int(rng.integers(7))
        rest = {(first_rest + k) % 7 for k in range(7 - n_work)}
        days = [d for d in range(7) if d not in rest]
        pattern = rng.choice(["early", "late", "early-late", "night"], p=[0.3, 0.3, 0.25, 0.15])
        if pattern == "night" and role == "PCSO":
            pattern = "late"
        switch = len(days) // 2
        for i, day in enumerate(days):
            if pattern == "early-late":
                kind = "early" if i < switch else "late"
            else:
                kind = str(pattern)
            hour, hours = SHIFT_TIMES[kind]
            date = week_start + dt.timedelta(days=day)
            start = dt.datetime(date.year, date.month, date.day, hour, tzinfo=LONDON)
            end_naive = dt.datetime(date.year, date.month, date.day, hour) + dt.timedelta(hours=hours)
            end = end_naive.replace(tzinfo=LONDON)
            rows.append((officer_id, kind, start, end))
    n = len(rows)
    kinds = np.array(["neighbourhood"] * n, dtype=object)
    reasons = np.array([""] * n, dtype=object)
    n_abstracted = int(round(ABSTRACTED_SHARE * n))
    for i in sorted(rng.choice(n, n_abstracted, replace=False).tolist()):
        kinds[i] = "abstracted"
        pool = NIGHT_ABSTRACTION_REASONS if rows[i][1] == "night" else ABSTRACTION_REASONS
        reasons[i] = str(pool[int(rng.integers(len(pool)))])
    to_local = lambda values: pd.to_datetime([v.astimezone(dt.UTC) for v in values]).tz_convert(LONDON)  # noqa: E731
    return pd.DataFrame(
        {
            "officer_id": [r[0] for r in rows],
            "start": to_local([r[2] for r in rows]).as_unit("us"),
            "end": to_local([r[3] for r in rows]).as_unit("us"),
            "kind": kinds.astype(str),
            "reason": reasons.astype(str),
        }
    )
