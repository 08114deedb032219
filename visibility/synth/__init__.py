"""Made-up sample data: a borough, a roster and a week of realistic GPS tracks.

- :func:`make_borough` - the sample borough "Northbrook": 16 wards that tile it
  exactly (one enclave, one detached part) and 3 police stations.
- :func:`make_roster` - ward teams, officers and a week of shifts, on any ward set.
- :func:`generate_tracks` - GPS fixes for every shift, with realistic mess.
- :func:`write_sample` - the committed files in ``boundaries/`` and ``sample_tracks/``.

For planning (``visibility plan``): :mod:`.patrol` turns a pattern's shifts,
beats and visits into tracks, :mod:`.gps` is the fitted GPS device model, and
:mod:`.realism` measures how close both come to real recordings.

Everything is seeded and deterministic; nothing depends on the clock.
"""

from visibility.synth.borough import make_borough
from visibility.synth.roster import make_roster
from visibility.synth.sample import write_sample
from visibility.synth.tracks import generate_tracks, ward_hotspots

__all__ = ["generate_tracks", "make_borough", "make_roster", "ward_hotspots", "write_sample"]
