"""Reading fix times: which styles a column holds, and the SQL that parses them.

A column of text times is sampled in Python to find the styles it holds; the
SQL expression then tries the dominant style first, so a file in one style
costs one pattern test per row. Every style is always tried, so a column that
mixes styles is read correctly row by row. Times without a UTC offset are read
in the given zone.
"""

from __future__ import annotations

import re

ISO_OFFSET = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$"
UK_DAY_FIRST = r"^\d{1,2}/\d{1,2}/\d{4}[ T]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?$"
EPOCH_S = r"^\d{9,10}(\.\d+)?$"
EPOCH_MS = r"^\d{12,13}$"

#: Styles in the order they are tried when nothing else is known.
STYLES = ("iso_offset", "iso_naive", "uk_day_first", "epoch_s", "epoch_ms")
PATTERNS = {"iso_offset": ISO_OFFSET, "iso_naive": ISO_NAIVE, "uk_day_first": UK_DAY_FIRST,
            "epoch_s": EPOCH_S, "epoch_ms": EPOCH_MS}
#: Styles that carry no UTC offset and are read in the local zone.
NAIVE = ("iso_naive", "uk_day_first")
DESCRIPTIONS = {"iso_offset": "ISO 8601 with a UTC offset", "iso_naive": "ISO 8601 local time",
                "uk_day_first": "day-first dd/mm/yyyy local time",
                "epoch_s": "epoch seconds", "epoch_ms": "epoch milliseconds"}

_COMPILED = {k: re.compile(v) for k, v in PATTERNS.items()}


def classify(values: list[str]) -> dict[str, int]:
    """How many of the sampled values match each style (and 'unknown')."""
    counts: dict[str, int] = {}
    for value in values:
        text = value.strip()
        style = next((s for s in STYLES if _COMPILED[s].match(text)), "unknown")
        counts[style] = counts.get(style, 0) + 1
    return counts


def parse_sql(column_sql: str, order: list[str]) -> str:
    """A SQL expression turning text ``column_sql`` into TIMESTAMPTZ (NULL if unreadable).

    ``order`` lists styles to try first; the rest follow. Uses the ``$tz``
    parameter for local times.
    """
    t = column_sql
    ordered = list(dict.fromkeys([*order, *STYLES]))
    parsers = {
        "iso_offset": f"TRY_CAST({t} AS TIMESTAMPTZ)",
        "iso_naive": f"timezone($tz, TRY_CAST({t} AS TIMESTAMP))",
        "uk_day_first": (f"timezone($tz, try_strptime(replace({t}, 'T', ' '), "
                         "['%d/%m/%Y %H:%M:%S', '%d/%m/%Y %H:%M:%S.%f', '%d/%m/%Y %H:%M']))"),
        "epoch_s": f"to_timestamp(TRY_CAST({t} AS DOUBLE))",
        "epoch_ms": f"epoch_ms(TRY_CAST({t} AS BIGINT))",
    }
    arms = []
    for i, style in enumerate(ordered):
        if i == 0 and style == "iso_offset":
            # The commonest export style; a Z suffix needs no pattern test at all.
            arms.append(f"WHEN suffix({t}, 'Z') THEN {parsers[style]}")
        arms.append(f"WHEN regexp_matches({t}, '{PATTERNS[style]}') THEN {parsers[style]}")
    return "CASE " + " ".join(arms) + " END"


def naive_sql(column_sql: str) -> str:
    """True where a text time has no UTC offset (so was read in the local zone)."""
    return f"regexp_matches({column_sql}, '{ISO_NAIVE}|{UK_DAY_FIRST}')"


def describe(counts: dict[str, int]) -> str:
    known = {k: v for k, v in counts.items() if k != "unknown"}
    if not known:
        return "no readable times in the sample"
    parts = [f"{DESCRIPTIONS[k]} ({v})" for k, v in sorted(known.items(), key=lambda kv: -kv[1])]
    return "times read as " + ", ".join(parts)
