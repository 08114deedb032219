"""Column names of fix files and how they are recognised.

Exports name the same thing many ways; each canonical field has a list of
synonyms, compared after lower-casing and turning spaces and hyphens into
underscores. An explicit column option always wins over detection.
"""

from __future__ import annotations

from .errors import ColumnError

OFFICER = "officer_id"
TIME = "timestamp"
LAT = "lat"
LON = "lon"
ACCURACY = "accuracy_m"

SYNONYMS: dict[str, tuple[str, ...]] = {
    OFFICER: ("officer_id", "officer", "officerid", "collar", "collar_number", "callsign",
              "call_sign", "officer_number"),
    TIME: ("timestamp", "time", "datetime", "date_time", "fix_time", "utc", "time_utc",
           "timestamp_utc", "ts", "recorded_at"),
    LAT: ("lat", "latitude", "y", "lat_deg"),
    LON: ("lon", "lng", "long", "longitude", "x", "lon_deg"),
    ACCURACY: ("accuracy_m", "accuracy", "horizontal_accuracy", "acc", "hacc", "precision_m"),
}

REQUIRED = (OFFICER, TIME, LAT, LON)

LABELS = {OFFICER: "officer", TIME: "time", LAT: "latitude", LON: "longitude",
          ACCURACY: "accuracy"}


def normalise(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def detect_columns(columns: list[str], overrides: dict[str, str | None], where: str) -> dict[str, str]:
    """Map canonical fields to the file's column names.

    ``overrides`` maps a canonical field to a column the user named; it must
    exist. Required fields that cannot be found raise :class:`ColumnError`.
    """
    by_norm: dict[str, str] = {}
    for col in columns:
        by_norm.setdefault(normalise(col), col)
    chosen: dict[str, str] = {}
    for field, synonyms in SYNONYMS.items():
        wanted = overrides.get(field)
        if wanted:
            match = wanted if wanted in columns else by_norm.get(normalise(wanted))
            if match is None:
                raise ColumnError(
                    f"{where}: no column {wanted!r} for {LABELS[field]} "
                    f"(columns are: {', '.join(columns)})"
                )
            chosen[field] = match
            continue
        for syn in synonyms:
            if syn in by_norm:
                chosen[field] = by_norm[syn]
                break
    missing = [f for f in REQUIRED if f not in chosen]
    if missing:
        field = missing[0]
        option = {OFFICER: "--officer-col", TIME: "--time-col", LAT: "--lat-col",
                  LON: "--lon-col"}[field]
        raise ColumnError(
            f"{where}: no column for {LABELS[field]} (looked for {', '.join(SYNONYMS[field][:4])}; "
            f"columns are: {', '.join(columns) or 'none'}); name it with {option}"
        )
    used = list(chosen.values())
    if len(set(used)) != len(used):
        raise ColumnError(f"{where}: one column was chosen for two fields ({chosen}); name them explicitly")
    return chosen
