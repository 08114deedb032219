"""Regenerate every committed sample file, deterministically.

    python sample_tracks/generate.py

Writes boundaries/sample_wards.geojson, boundaries/sample_stations.geojson and,
in sample_tracks/, officers.csv, shifts.csv, fixes_2026-W47.parquet and
fixes_2026-11-16.csv, all from seed 2026 (see the READMEs beside them).
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from visibility.synth.sample import write_sample  # noqa: E402


def main() -> None:
    counts = write_sample(ROOT / "boundaries", ROOT / "sample_tracks", seed=2026)
    for name, rows in counts.items():
        print(f"{name}: {rows} rows")


if __name__ == "__main__":
    main()
