"""Planning: test a patrol pattern before deploying it, and compare patterns and plans.

- :mod:`.pattern` reads and checks a pattern file (TOML; docs/planning.md).
- :mod:`.rota` makes a pattern concrete for a week: officers, shifts, visits.
- :mod:`.simulate` simulates the week into its own scenario store and analyses
  it exactly as real tracks are analysed.
- :mod:`.measures` measures an analysed week: visible share, peak coverage,
  hotspot visits, the longest unvisited gap, officer-hours.
- :mod:`.compare` compares patterns over several seeds, and a plan against a
  real week.
- :mod:`.suggest` proposes visit times and beat weights, and predicts the gain.
"""

from .pattern import Pattern, PatternError, load_pattern, parse_pattern

__all__ = ["Pattern", "PatternError", "load_pattern", "parse_pattern"]
