"""Column names of fix files and how they are recognised.

Exports name the same thing many ways; each canonical field has a list of
synonyms, compared after lower-casing and turning spaces and hyphens into
underscores. An explicit column option always wins over detection.

A file is keyed either by officer (a collar number, call sign...) or by device
(a radio ISSI, a phone IMEI, a vehicle box); device-keyed fixes are mapped to
officers through device assignments.
"""

from __future__ import annotations

from .errors import ColumnError

OFFICER = "officer_id"
DEVICE = "device_id"
TIME = "timestamp"
LAT = "lat"
LON = "lon"
ACCURACY = "accuracy_m"

SYNONYMS: dict[str, tuple[str, ...]] = {
    OFFICER: ("officer_id", "officer", "officerid", "collar", "collar_number", "collar_no",
              "callsign", "call_sign", "officer_number", "warrant_number"),
    DEVICE: ("device_id", "device", "deviceid", "radio", "radio_id", "issi", "imei", "terminal",
             "terminal_id", "tracker_id", "unit_id", "vehicle_id", "user_id"),
    TIME: ("timestamp", "time", "datetime", "date_time", "fix_time", "fix_timestamp", "utc",
           "time_utc", "timestamp_utc", "ts", "recorded_at", "tracked_at", "gps_time"),
    LAT: ("lat", "latitude", "y", "lat_deg", "northing", "north"),
    LON: ("lon", "lng", "long", "longitude", "x", "lon_deg", "easting", "east"),
    ACCURACY: ("accuracy_m", "accuracy", "horizontal_accuracy", "acc", "hacc", "precision_m",
               "hdop_m"),
}

REQUIRED = (TIME, LAT, LON)

LABELS = {OFFICER: "officer", DEVICE: "device", TIME: "time", LAT: "latitude",
          LON: "longitude", ACCURACY: "accuracy"}
OPTIONS = {OFFICER: "--officer-col", DEVICE: "--device-col", TIME: "--time-col",
           LAT: "--lat-col", LON: "--lon-col", ACCURACY: "--accuracy-col"}


def normalise(name: str) -> str:
    return name.strip().lstrip("\ufeff").lower().replace(" ", "_").replace("-", "_")


def detect_columns(columns: list[str], overrides: dict[str, str | None], where: str,
                   key_given: bool = False) -> dict[str, str]:
    """Map canonical fields to the file's column names.

    ``overrides`` maps a canonical field to a column the user named; it must
    exist. The file needs a time, latitude and longitude, and an officer or a
    device column unless ``key_given`` (a constant officer or device id was
    given for the whole file). Raises :class:`ColumnError` otherwise.
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
            if syn in by_norm and by_norm[syn] not in chosen.values():
                chosen[field] = by_norm[syn]
                break
    if key_given:
        chosen.pop(OFFICER, None)
        chosen.pop(DEVICE, None)
    elif OFFICER in chosen and DEVICE in chosen and not overrides.get(DEVICE):
        chosen.pop(DEVICE)  # keyed by officer; the device column is informative only
    elif OFFICER in chosen and overrides.get(DEVICE) and not overrides.get(OFFICER):
        chosen.pop(OFFICER)
    missing = [f for f in REQUIRED if f not in chosen]
    if not key_given and OFFICER not in chosen and DEVICE not in chosen:
        missing.insert(0, OFFICER)
    if missing:
        field = missing[0]
        hint = OPTIONS[field]
        if field == OFFICER:
            hint = "--officer-col or --device-col (or --officer ID for a one-officer file)"
        raise ColumnError(
            f"{where}: no column for {LABELS[field]} (looked for {', '.join(SYNONYMS[field][:4])}; "
            f"columns are: {', '.join(columns) or 'none'}); name it with {hint}"
        )
    return chosen
