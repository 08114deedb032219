"""Policy: defaults, TOML files, and errors that name the key."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import pytest

from visibility.errors import PolicyError
from visibility.policy import Policy

DOCS = Path(__file__).resolve().parents[1] / "docs" / "policy.md"


def test_defaults_follow_the_method():
    p = Policy()
    assert (p.max_gap_s, p.spike_speed_kmh, p.accuracy_limit_m, p.station_radius_m,
            p.transit_speed_kmh, p.pledge_line, p.h3_resolution) == (120, 200, 100, 50, 25, 0.8, 10)


def test_toml_with_tables_and_integers(tmp_path):
    path = tmp_path / "p.toml"
    path.write_text('timezone = "Europe/London"\n[track]\nmax_gap_s = 60\n[states]\nstation_radius_m = 75\n')
    p = Policy.load(path)
    assert p.max_gap_s == 60.0 and isinstance(p.max_gap_s, float)
    assert p.station_radius_m == 75.0
    assert p.digest != Policy().digest


@pytest.mark.parametrize("text, message", [
    ("max_gapp_s = 60", "unknown setting 'max_gapp_s'"),
    ("max_gap_s = 'long'", "max_gap_s: 'long' is not a float"),
    ("h3_resolution = 16", "h3_resolution: 16 must be an integer 0-15"),
    ("pledge_line = 1.5", "pledge_line: 1.5 must be more than 0 and at most 1"),
    ("timezone = 'Mars/Olympus'", "unknown time zone 'Mars/Olympus'"),
    ("include_abstracted = 1", "include_abstracted: 1 is not a bool"),
    ("max_gap_s = [", "not valid TOML"),
])
def test_bad_settings_name_the_key(tmp_path, text, message):
    path = tmp_path / "p.toml"
    path.write_text(text)
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace("[", r"\[")):
        Policy.load(path)


def test_missing_policy_file(tmp_path):
    with pytest.raises(PolicyError, match="p.toml"):
        Policy.load(tmp_path / "p.toml")


def test_every_setting_is_documented():
    text = DOCS.read_text()
    for f in fields(Policy):
        assert f"`{f.name}`" in text, f.name
