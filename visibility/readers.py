"""Read the fix files DuckDB cannot: GPX, GeoJSON and JSON (arrays or lines).

Each reader returns a :class:`pyarrow.Table` shaped like a CSV read as text, so
ingest can register it in DuckDB in place of ``read_csv``: every column is
``pa.string()`` and holds the file's own text (a number the JSON decoder turned
into a float is written back with ``repr``, which round-trips), plus an
``int64`` column :data:`LINE` numbering the records so that a rejected row can
be pointed at. Nothing is dropped: a point without a time, or a feature without
a usable geometry, is still a row, for validation to reject with a reason. A
file that cannot be read at all raises :class:`~visibility.errors.InputFileError`
with one line naming the file.

GPX is read with the standard library's streaming XML parser, not gpxpy:
gpxpy turns times into datetimes (an unreadable time silently into ``None``,
so the raw text is lost), refuses a whole file for one bad latitude, accepts
any root element, and is about nine times slower. The tests use gpxpy as the
reference that this reader must agree with.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from . import columns as C
from .errors import InputFileError

FORMATS = ("gpx", "geojson", "json")

#: The 1-based record number: the point among all GPX points, the row of a
#: GeoJSON file (a LineString's vertices numbered one after another), the element
#: of a JSON array, or the physical line on which a JSON Lines record starts.
LINE = "_line"

# Column names the readers make (a GPX file's, and the coordinates of GeoJSON).
TIME, LAT, LON, ELE = "time", "lat", "lon", "ele"
TRACK, SEGMENT, KIND, HDOP, ACCURACY = "track", "segment", "kind", "hdop", "accuracy"

_SUFFIXES = {".gpx": "gpx", ".geojson": "geojson", ".geojsonl": "geojson",
             ".json": "json", ".jsonl": "json", ".ndjson": "json"}
_SNIFF_BYTES = 64 * 1024
_GEOJSON_TYPE = re.compile(rb'"type"\s*:\s*"(FeatureCollection|Feature)"')
_BLANK = b" \t\r\n\x1e"  # \x1e starts each record of a GeoJSON text sequence (RFC 8142)


# -- format detection ----------------------------------------------------------------
def detect_format(path: Path) -> str | None:
    """``"gpx"``, ``"geojson"`` or ``"json"`` from the suffix or the first bytes, else ``None``.

    A ``.json`` file holding a GeoJSON Feature or FeatureCollection is ``"geojson"``.
    """
    path = Path(path)
    by_suffix = _SUFFIXES.get(path.suffix.lower())
    if by_suffix in ("gpx", "geojson"):
        return by_suffix
    try:
        with path.open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    sniffed = _sniff(head)
    if by_suffix == "json":
        return "geojson" if sniffed == "geojson" else "json"
    return sniffed


def _sniff(head: bytes) -> str | None:
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip(_BLANK)
    if text.startswith((b"<?xml", b"<gpx")):
        return "gpx"
    if text.startswith(b"{"):
        return "geojson" if _GEOJSON_TYPE.search(text) else "json"
    if text.startswith(b"["):
        return "json"
    return None


# -- entry point -------------------------------------------------------------------------
def read_fixes(path: Path, fmt: str) -> pa.Table:
    """Read a GPX, GeoJSON or JSON file into text columns plus :data:`LINE`."""
    path = Path(path)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {', '.join(FORMATS)}")
    try:
        if _is_blank(path):
            raise InputFileError(f"{path}: the file is empty")
        if fmt == "gpx":
            cols = _read_gpx(path)
        else:
            cols = _read_json(path.read_bytes(), path, geojson_only=fmt == "geojson")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except RecursionError:
        raise InputFileError(f"{path}: the {fmt.upper()} is nested too deeply to read") from None
    return cols.table()


def _is_blank(path: Path) -> bool:
    with path.open("rb") as fh:
        first = True
        while block := fh.read(1 << 20):
            if first:
                block = block.removeprefix(b"\xef\xbb\xbf")
                first = False
            if block.strip(_BLANK):
                return False
    return True


class _Columns:
    """Text columns filled record by record; a column first seen late is padded with nulls."""

    def __init__(self) -> None:
        self.data: dict[str, list[str | None]] = {}
        self.lines: list[int] = []

    def new_row(self, line: int) -> None:
        self.lines.append(line)

    def set(self, name: str, value: str | None) -> None:
        """Set ``name`` in the current row."""
        row = len(self.lines) - 1
        col = self.data.get(name)
        if col is None:
            col = self.data[name] = []
        if len(col) < row:
            col.extend([None] * (row - len(col)))
        if len(col) == row:
            col.append(value)
        else:
            col[row] = value

    def table(self) -> pa.Table:
        n = len(self.lines)
        arrays = [pa.array(self.lines, type=pa.int64())]
        names = [LINE]
        for name, col in self.data.items():
            col.extend([None] * (n - len(col)))
            arrays.append(_string_array(col))
            names.append(_valid_text(name))
        return pa.table(arrays, names=names)


def _string_array(values: list[str | None]) -> pa.Array:
    try:
        return pa.array(values, type=pa.string())
    except UnicodeEncodeError:  # a lone surrogate from a JSON "\ud800" escape
        return pa.array([None if v is None else _valid_text(v) for v in values], type=pa.string())


def _valid_text(text: str) -> str:
    """``text`` with any lone surrogate replaced by U+FFFD, so it encodes as UTF-8."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


# -- GPX -------------------------------------------------------------------------------------
_POINTS = ("wpt", "rtept", "trkpt")
_ACCURACY_NAMES = ("accuracy", "hacc", "horizontal_accuracy", "horizontalaccuracy")


def _read_gpx(path: Path) -> _Columns:
    """One row per waypoint, route point and track point, in file order."""
    with path.open("rb") as fh:
        try:
            data, owners, names = _gpx_points(fh, path)
        except ET.ParseError as exc:
            line, column = exc.position[0], exc.position[1] + 1  # expat counts columns from 0
            reason = re.sub(r":\s*line \d+, column \d+$", "", str(exc))
            raise InputFileError(
                f"{path}: not a readable GPX file: the XML is broken at line {line}, "
                f"column {column} ({reason})"
            ) from None
    n = len(data[KIND])
    if not n:
        raise InputFileError(f"{path}: the GPX file has no track points, route points or waypoints")
    data[TRACK] = [None if o is None else names.get(o, str(o[1])) for o in owners]
    cols = _Columns()
    cols.lines = list(range(1, n + 1))
    cols.data = {name: data[name] for name in (TIME, LAT, LON, ELE, TRACK, SEGMENT, KIND, HDOP, ACCURACY)
                 if name not in (HDOP, ACCURACY) or any(v is not None for v in data[name])}
    return cols


def _gpx_points(fh, path: Path) -> tuple[dict[str, list], list, dict]:
    """Stream the points: their columns, each one's (rte|trk, index) and the route/track names."""
    data: dict[str, list] = {name: [] for name in (TIME, LAT, LON, ELE, SEGMENT, KIND, HDOP, ACCURACY)}
    time, lat, lon, ele, seg, kind = (data[k] for k in (TIME, LAT, LON, ELE, SEGMENT, KIND))
    hdop, accuracy = data[HDOP], data[ACCURACY]
    owners: list[tuple[str, int] | None] = []
    names: dict[tuple[str, int], str] = {}
    counters = {"rte": -1, "trk": -1}
    segment = -1
    ns = ""  # "{namespace}" of the root <gpx>, or ""
    stack: list[ET.Element] = []
    point: ET.Element | None = None  # the point being read (points nested in it are ignored)
    for event, el in ET.iterparse(fh, events=("start", "end")):
        tag = el.tag
        if event == "start":
            if not stack:
                ns, local = _split_tag(tag)
                if local != "gpx":
                    raise InputFileError(
                        f"{path}: not a GPX document (the root element is <{local}>, not <gpx>)"
                    )
                points = {ns + k: k for k in _POINTS}
                t_rte, t_trk, t_seg, t_name = ns + "rte", ns + "trk", ns + "trkseg", ns + "name"
                t_time, t_ele, t_hdop, t_ext = ns + "time", ns + "ele", ns + "hdop", ns + "extensions"
            stack.append(el)
            if point is not None:
                continue
            if tag == t_trk or tag == t_rte:
                counters[tag[len(ns):]] += 1
                segment = -1
            elif tag == t_seg:
                segment += 1
            elif tag in points:
                point = el
            continue
        stack.pop()
        if el is point:
            k = points[tag]
            owner = "trk" if k == "trkpt" else "rte" if k == "rtept" else None
            owners.append((owner, counters[owner]) if owner and counters[owner] >= 0 else None)
            seg.append(str(segment) if k == "trkpt" and segment >= 0 else None)
            kind.append(k)
            lat.append(el.get("lat"))
            lon.append(el.get("lon"))
            t = e = h = a = None
            for child in el:
                ctag = child.tag
                if ctag == t_time:
                    t = child.text or ""
                elif ctag == t_ele:
                    e = child.text
                elif ctag == t_hdop:
                    h = child.text
                elif ctag == t_ext or (not ctag.startswith(ns) if ns else ctag.startswith("{")):
                    h2, a2 = _extension_values(child)
                    h = h if h is not None else h2
                    a = a if a is not None else a2
            time.append(t)
            ele.append(e)
            hdop.append(h)
            accuracy.append(a)
            point = None
            if stack:
                del stack[-1][:]  # drop read points so that a long track stays small in memory
        elif point is None and tag == t_name and stack and el.text:
            parent = stack[-1].tag[len(ns):] if stack[-1].tag.startswith(ns) else ""
            if parent in counters and counters[parent] >= 0:
                names[(parent, counters[parent])] = el.text
    return data, owners, names


def _extension_values(node: ET.Element) -> tuple[str | None, str | None]:
    """``(hdop, accuracy)`` text found anywhere in an extension element, in any namespace."""
    hdop = accuracy = None
    for sub in node.iter():
        if sub.text is None:
            continue
        local = _split_tag(sub.tag)[1].lower()
        if local in _ACCURACY_NAMES and accuracy is None:
            accuracy = sub.text
        elif local == "hdop" and hdop is None:
            hdop = sub.text
    return hdop, accuracy


def _split_tag(tag: Any) -> tuple[str, str]:
    """``("{ns}", "local")`` of an ElementTree tag (``""`` when it has no namespace)."""
    if not isinstance(tag, str):  # comments and processing instructions
        return "", ""
    if tag.startswith("{"):
        end = tag.find("}")
        return tag[: end + 1], tag[end + 1:]
    return "", tag


# -- JSON and GeoJSON --------------------------------------------------------------------
_WKT_COLUMNS = ("point", "geometry", "geom", "wkt", "location", "the_geom")
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_WKT_POINT = re.compile(
    rf"^\s*(?:SRID=\d+\s*;\s*)?POINT\s*(?:ZM|Z|M)?\s*\(\s*({_NUM})\s+({_NUM})(?:\s+{_NUM}){{0,2}}\s*\)\s*$",
    re.IGNORECASE,
)
_FIX_KEYS = frozenset(s for field in (C.TIME, C.LAT, C.LON) for s in C.SYNONYMS[field]) | set(_WKT_COLUMNS)


def _read_json(data: bytes, path: Path, geojson_only: bool) -> _Columns:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputFileError(
            f"{path}: not UTF-8 text (byte {exc.start} cannot be decoded); JSON must be UTF-8"
        ) from None
    values = list(_json_values(text, path))
    if not values:
        raise InputFileError(f"{path}: the file is empty")
    what = "GeoJSON" if geojson_only else "JSON"
    first = values[0][1]
    if all(_is_geojson(v) for _, v in values):
        features: list[Any] = []
        for _, value in values:
            if value.get("type") == "FeatureCollection":
                members = value.get("features")
                if not isinstance(members, list):
                    raise InputFileError(f"{path}: the GeoJSON FeatureCollection has no 'features' list")
                features.extend(members)
            else:
                features.append(value)
        if not features:
            raise InputFileError(f"{path}: the GeoJSON FeatureCollection has no features")
        return _geojson_rows(features)
    if geojson_only:
        raise InputFileError(
            f"{path}: not GeoJSON: {_describe(first)}; expected a FeatureCollection or Feature"
        )
    if len(values) == 1 and isinstance(first, list):
        if not first:
            raise InputFileError(f"{path}: the JSON array is empty; expected one object per fix")
        if not any(isinstance(v, dict) for v in first):
            raise InputFileError(
                f"{path}: the JSON array holds no objects (its first element is "
                f"{_describe(first[0])}); expected one object per fix, like "
                '{"time": ..., "lat": ..., "lon": ...}'
            )
        return _object_rows((i + 1, v) for i, v in enumerate(first))
    if len(values) == 1 and not (isinstance(first, dict) and _looks_like_fix(first)):
        raise InputFileError(
            f"{path}: {what} holds {_describe(first)}, not fixes; expected an array of objects "
            "(one per fix), JSON Lines or a GeoJSON FeatureCollection"
        )
    if not any(isinstance(v, dict) for _, v in values):
        raise InputFileError(
            f"{path}: the JSON Lines hold no objects; expected one object per fix on each line"
        )
    return _object_rows(values)


def _json_values(text: str, path: Path) -> Iterator[tuple[int, Any]]:
    """``(line, value)`` of each JSON value in ``text``: one document, JSON Lines or a sequence."""
    decoder = json.JSONDecoder()
    pos, line, end = 0, 1, len(text)
    blank = " \t\r\n\x1e"
    while True:
        start = pos
        while pos < end and text[pos] in blank:
            pos += 1
        line += text.count("\n", start, pos)
        if pos >= end:
            return
        try:
            value, after = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as exc:
            raise InputFileError(
                f"{path}: invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}"
            ) from None
        except ValueError as exc:  # an integer longer than Python converts
            reason = str(exc).split(":")[0].splitlines()[0]
            raise InputFileError(f"{path}: invalid JSON near line {line}: {reason}") from None
        yield line, value
        line += text.count("\n", pos, after)
        pos = after


def _is_geojson(value: Any) -> bool:
    return isinstance(value, dict) and value.get("type") in ("FeatureCollection", "Feature")


def _looks_like_fix(obj: dict) -> bool:
    return any(isinstance(k, str) and C.normalise(k) in _FIX_KEYS for k in obj)


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        kind = value.get("type")
        named = isinstance(kind, str) and re.fullmatch(r"\w{1,40}", kind)
        return f"a {kind} object" if named else "an object"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "null"


def _text(value: Any) -> str | None:
    """A JSON value as text: strings as they are, numbers by repr, nested values as JSON."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, ensure_ascii=False)


def _object_rows(records: Iterator[tuple[int, Any]] | list[tuple[int, Any]]) -> _Columns:
    """One row per record; keys are columns, and a WKT or GeoJSON point is split into lon/lat."""
    cols = _Columns()
    for line, obj in records:
        cols.new_row(line)
        if not isinstance(obj, dict):
            continue
        split = LON not in obj and LAT not in obj
        for key, value in obj.items():
            cols.set(LINE + "_in_file" if key == LINE else key, _text(value))
        if split:
            for key, value in obj.items():
                if key.lower() in _WKT_COLUMNS:
                    lon_lat = _point_lon_lat(value)
                    if lon_lat is not None:
                        cols.set(LON, lon_lat[0])
                        cols.set(LAT, lon_lat[1])
                        break
    return cols


def _point_lon_lat(value: Any) -> tuple[str | None, str | None] | None:
    """``(lon, lat)`` text of ``POINT(lon lat)`` (with SRID=...; or Z), or of a GeoJSON Point."""
    if isinstance(value, str):
        match = _WKT_POINT.match(value)
        return (match.group(1), match.group(2)) if match else None
    if isinstance(value, dict) and value.get("type") == "Point":
        return _vertex(value.get("coordinates"))
    return None


def _vertex(coords: Any) -> tuple[str | None, str | None]:
    if isinstance(coords, list) and len(coords) >= 2:
        return _text(coords[0]), _text(coords[1])
    return None, None


def _geojson_rows(features: list[Any]) -> _Columns:
    """One row per Point feature and per vertex of a line; one row for anything else."""
    cols = _Columns()
    for feature in features:
        if not isinstance(feature, dict):
            cols.new_row(len(cols.lines) + 1)
            continue
        geometry = feature.get("geometry")
        gtype = geometry.get("type") if isinstance(geometry, dict) else None
        props = feature.get("properties")
        if props is None:
            props = {}
        elif not isinstance(props, dict):
            props = {"properties": props}
        coords = geometry.get("coordinates") if isinstance(geometry, dict) else None
        if gtype in ("LineString", "MultiPoint", "MultiLineString"):
            parts = coords if gtype == "MultiLineString" else [coords]
            times, per_vertex = _vertex_values(props)
            vertices = [
                (v, part_no, i) for part_no, part in enumerate(parts if isinstance(parts, list) else [])
                if isinstance(part, list) for i, v in enumerate(part)
            ]
            per_vertex_keys: tuple[str, ...] = ("coordTimes", "coordinateProperties")
        else:
            vertices, times, per_vertex, per_vertex_keys = [], None, {}, ()
        shared = {k: _text(v) for k, v in props.items() if k not in per_vertex_keys}
        if "id" in feature and "id" not in shared:
            shared["id"] = _text(feature["id"])
        reserved = {LON, LAT, LINE} | ({TIME} if times is not None else set())
        shared = {("properties." + k if k in reserved else k): v for k, v in shared.items()}
        if gtype == "Point":
            cols.new_row(len(cols.lines) + 1)
            lon, lat = _vertex(coords)
            cols.set(LON, lon)
            cols.set(LAT, lat)
            for k, v in shared.items():
                cols.set(k, v)
            continue
        if not vertices:  # other geometry, null geometry or an empty line: one row to reject
            cols.new_row(len(cols.lines) + 1)
            cols.set(LON, None)
            cols.set(LAT, None)
            for k, v in shared.items():
                cols.set(k, v)
            continue
        for n, (vertex, part_no, i) in enumerate(vertices):
            cols.new_row(len(cols.lines) + 1)
            lon, lat = _vertex(vertex)
            cols.set(LON, lon)
            cols.set(LAT, lat)
            if times is not None:
                cols.set(TIME, _text(_pick(times, part_no, i, n)))
            for name, series in per_vertex.items():
                cols.set(name, _text(_pick(series, part_no, i, n)))
            for name, value in shared.items():
                cols.set(name, value)
    return cols


def _vertex_values(props: dict) -> tuple[list | None, dict[str, list]]:
    """Per-vertex times (``coordTimes`` or ``coordinateProperties.times``) and other series."""
    times = props.get("coordTimes")
    per_vertex: dict[str, list] = {}
    extra = props.get("coordinateProperties")
    if isinstance(extra, dict):
        for key, series in extra.items():
            if not isinstance(series, list):
                continue
            if key == "times" and times is None:
                times = series
            elif key not in (LON, LAT, LINE, TIME):
                per_vertex[key] = series
    if not isinstance(times, list):
        times = None
    return times, per_vertex


def _pick(series: list, part_no: int, i: int, n: int) -> Any:
    """The value for vertex ``i`` of part ``part_no`` (vertex ``n`` of the feature).

    ``series`` is a list per part (MultiLineString) or one flat list.
    """
    if series and isinstance(series[0], list):
        part = series[part_no] if part_no < len(series) else None
        return part[i] if isinstance(part, list) and i < len(part) else None
    return series[n] if n < len(series) else None
