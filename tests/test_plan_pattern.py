"""Pattern files: the shipped samples read, and every kind of mistake is one line naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from visibility.errors import VisibilityError
from visibility.plan.pattern import PatternError, load_pattern, parse_pattern
from visibility.plan.rota import expand
from visibility.plan.toml_out import pattern_to_toml

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "sample_tracks" / "patterns").glob("*.toml"))

GOOD = """
name = "tiny"

[[shift]]
name = "early"
start = "07:00"
hours = 8
days = ["mon", "tue"]

[[shift]]
name = "night"
start = "22:00"
hours = 9
days = ["sat"]

[[team]]
name = "North"
wards = ["X05000001", "X05000003"]
style = "foot"

  [[team.rota]]
  shifts = ["early"]
  officers = 2

  [[team.rota]]
  shifts = ["night"]
  officers = 1
  wards = ["X05000003"]

[[visit]]
name = "Parade"
team = "North"
point = [-0.06516, 51.581963]
per_shift = 2
minutes = 12
windows = ["09:00-12:00"]
"""


def bad(text: str) -> str:
    with pytest.raises(PatternError) as info:
        parse_pattern(text, source="bad.toml")
    message = str(info.value)
    assert "\n" not in message and message.startswith("bad.toml: ")
    return message


def test_the_shipped_samples_read_and_document_themselves():
    assert len(SAMPLES) >= 2
    doc = (ROOT / "docs" / "planning.md").read_text()
    for path in SAMPLES:
        p = load_pattern(path)
        assert p.headcount > 0 and p.teams and p.shifts
        assert path.name in doc


def test_a_good_pattern_reads_with_defaults():
    p = parse_pattern(GOOD, source="good.toml")
    assert p.name == "tiny" and p.headcount == 3
    team = p.team("North")
    assert team.briefing_min == 20 and team.debrief_min == 15
    assert team.beats == ("X05000001", "X05000003") and team.beat_weights == (1.0, 1.0)
    assert team.style.speed_kmh == (4.0, 5.8)
    assert p.visits[0].windows == ((540, 720),) and p.visits[0].randomise is True
    assert [pk.name for pk in p.peak_windows()] == ["evening", "weekend night"]
    assert p.shift("night").days == (5,) and p.shift("night").hours == 9


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_patterns_write_back_to_equal_patterns(path):
    p = load_pattern(path)
    again = parse_pattern(pattern_to_toml(p, header="written back"), source=p.source)
    for field in ("name", "shifts", "teams", "beats", "visits", "peaks", "gps", "timezone"):
        assert getattr(again, field) == getattr(p, field), field


def test_a_week_of_the_pattern_has_its_shifts_and_visits():
    p = parse_pattern(GOOD)
    from datetime import date

    rota = expand(p, date(2026, 11, 23), seed=1)
    assert list(rota.officers["officer_id"]) == ["NORTH-01", "NORTH-02", "NORTH-03"]
    assert rota.officers["ward_code"].tolist() == ["X05000001;X05000003"] * 2 + ["X05000003"]
    starts = sorted((s.officer_id, s.start.isoformat(), s.end.isoformat()) for s in rota.shifts)
    assert starts[0] == ("NORTH-01", "2026-11-23T07:00:00+00:00", "2026-11-23T15:00:00+00:00")
    assert ("NORTH-03", "2026-11-28T22:00:00+00:00", "2026-11-29T07:00:00+00:00") in starts  # crosses midnight
    assert len(rota.shifts) == 5
    # 2 visits of 12 minutes in every early shift (4), inside 09:00-12:00; the night shift has no
    # time in that window, so its 2 are dropped, and said so
    assert len(rota.visits) == 8 and rota.dropped == 2
    assert rota.notes == ["visit 'Parade': 2 of 10 planned visits did not fit in their windows and "
                          "patrol time (on 'night' shifts)"]
    for v in rota.visits:
        s = rota.shifts[v.shift]
        assert s.template == "early"
        assert 2 * 3600 <= v.start_s and v.start_s + v.length_s <= 5 * 3600 and v.length_s == 720
    again = expand(p, date(2026, 11, 23), seed=1)
    assert again.visits == rota.visits and again.shifts == rota.shifts


def test_abstraction_rate_is_the_share_of_shifts_abstracted():
    from datetime import date

    p = parse_pattern(GOOD.replace('style = "foot"', 'style = "foot"\nabstraction_rate = 0.4'))
    rota = expand(p, date(2026, 11, 23), seed=3)
    kinds = [s.kind for s in rota.shifts]
    assert kinds.count("abstracted") == 2
    assert all(s.reason for s in rota.shifts if s.kind == "abstracted")
    assert all(rota.shifts[v.shift].kind == "neighbourhood" for v in rota.visits)


@pytest.mark.parametrize("change, message", [
    # unknown keys, at the top, in a table and in a nested table
    (('name = "tiny"', 'name = "tiny"\ncolour = "blue"'),
     "bad.toml: colour: unknown key (known keys here: beat, description, gps, name, peak, shift, team, "
     "timezone, visit)"),
    (('style = "foot"', 'style = "foot"\nheadcont = 3'),
     "bad.toml: team.headcont: unknown key (known keys here: abstraction_rate, beat_weights, beats, "
     "break_min, briefing_min, debrief_min, name, rota, speed_kmh, station, style, wards) (team 'North')"),
    (("  officers = 2", "  officers = 2\n  days = 3"),
     "bad.toml: team.rota.days: unknown key (known keys here: officers, shifts, wards) (team 'North')"),
    # negative and zero durations
    (('style = "foot"', 'style = "foot"\nbriefing_min = -5'),
     "bad.toml: team.briefing_min: must not be negative, got -5 (team 'North')"),
    (("hours = 8", "hours = -8"), "bad.toml: shift.hours: must be more than 0, got -8 (shift 'early')"),
    (("minutes = 12", "minutes = 0"), "bad.toml: visit.minutes: must be more than 0, got 0 (visit 'Parade')"),
    (('style = "foot"', 'style = "foot"\nbriefing_min = 400\ndebrief_min = 100'),
     "bad.toml: team.briefing_min: briefing, debrief and break (500 min) are longer than shift 'early' "
     "(480 min) (team 'North')"),
    # names that refer to nothing
    (('shifts = ["night"]', 'shifts = ["nights"]'),
     "bad.toml: team.rota.shifts: no [[shift]] is named 'nights' (team 'North')"),
    (('team = "North"', 'team = "South"'), "bad.toml: visit.team: no [[team]] is named 'South' (visit 'Parade')"),
    (('  wards = ["X05000003"]', '  wards = ["X05000009"]'),
     "bad.toml: team.rota.wards: ward 'X05000009' is not one of the team's wards (team 'North')"),
    # values
    (('style = "foot"', 'style = "horse"'),
     "bad.toml: team.style: 'horse' is not one of foot, cycle, vehicle (team 'North')"),
    (('start = "07:00"', 'start = "7am"'), "bad.toml: shift.start: '7am' is not a time like 07:00 (shift 'early')"),
    (('days = ["mon", "tue"]', 'days = ["mon", "tuesday", "funday"]'),
     "bad.toml: shift.days: 'funday' is not a day (mon, tue, wed, thu, fri, sat, sun) (shift 'early')"),
    (('windows = ["09:00-12:00"]', 'windows = ["09:00-09:00"]'),
     "bad.toml: visit.windows: '09:00-09:00' is an empty window (visit 'Parade')"),
    (("point = [-0.06516, 51.581963]", "point = [-0.06516, 151.581963]"),
     "bad.toml: visit.point: [-0.06516, 151.581963] is not a [lon, lat] point in degrees (visit 'Parade')"),
    (('name = "tiny"', 'name = "tiny"\n[gps]\npreset = "telepathy"'),
     "bad.toml: gps.preset: 'telepathy' is not one of radio, perfect"),
])
def test_bad_patterns_are_one_line_naming_the_key(change, message):
    old, new = change
    assert old in GOOD
    assert bad(GOOD.replace(old, new, 1)) == message


def test_overlapping_shifts_of_the_same_officers_are_refused():
    text = GOOD.replace('  shifts = ["early"]\n  officers = 2', '  shifts = ["early", "late"]\n  officers = 2')
    text = text.replace('[[team]]', '[[shift]]\nname = "late"\nstart = "14:00"\nhours = 8\ndays = ["tue"]\n\n[[team]]', 1)
    assert bad(text) == ("bad.toml: team.rota.shifts: 'early' (Tue 07:00 for 8 h) overlaps 'late' "
                         "(Tue 14:00 for 8 h) for the same officers (team 'North')")
    # a Sunday night runs into Monday's early of the next week
    text = GOOD.replace('days = ["sat"]', 'days = ["sun"]').replace('start = "22:00"', 'start = "23:00"').replace(
        '  shifts = ["night"]\n  officers = 1', '  shifts = ["night", "early"]\n  officers = 1')
    assert "overlaps" in bad(text) and "team.rota.shifts" in bad(text)


def test_unknown_wards_and_stations_are_named_against_the_store():
    p = parse_pattern(GOOD, source="p.toml")
    p.check_store({"X05000001", "X05000003"}, {"STN1"})
    with pytest.raises(PatternError) as info:
        p.check_store({"X05000001"}, {"STN1"})
    assert str(info.value) == "p.toml: team.wards: ward 'X05000003' is not in the store (team 'North')"
    q = parse_pattern(GOOD.replace('style = "foot"', 'style = "foot"\nstation = "STN9"'), source="p.toml")
    with pytest.raises(VisibilityError, match=r"^p.toml: team.station: station 'STN9' is not in the store"):
        q.check_store({"X05000001", "X05000003"}, {"STN1"})


def test_unreadable_files_are_one_line(tmp_path):
    with pytest.raises(PatternError, match=r"nope.toml: no such pattern file$"):
        load_pattern(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("name = \n")
    with pytest.raises(PatternError, match=r"^broken.toml: not valid TOML"):
        load_pattern(broken)
    missing = tmp_path / "empty.toml"
    missing.write_text("name = 'x'\n")
    with pytest.raises(PatternError, match=r"^empty.toml: shift: is missing$"):
        load_pattern(missing)


def test_the_complete_example_in_the_docs_is_valid():
    import re

    text = (ROOT / "docs" / "planning.md").read_text()
    block = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
    p = parse_pattern(block, source="planning.md")
    assert p.headcount == 11 and len(p.beats) == 2 and {v.kind for v in p.visits} == {"point", "cell"}
    assert p.team("East").rota[1].wards == ("X05000009",) and p.peaks[1].wards == ("X05000009",)
