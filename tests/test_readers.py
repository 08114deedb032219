"""Readers of GPX, GeoJSON and JSON: every record a row of text, numbered, and clear errors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from visibility.errors import InputFileError
from visibility.readers import LINE, detect_format, read_fixes

REAL_TRACKS = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "real_tracks"


def real(name: str) -> Path:
    path = REAL_TRACKS / name
    if not path.exists():
        pytest.skip(f"real recording {name} not found in {REAL_TRACKS} (shared data beside the repository)")
    return path


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def rows(table: pa.Table) -> list[dict]:
    return table.to_pylist()


def assert_shape(table: pa.Table) -> None:
    """Every column is text except ``_line``, which numbers the rows."""
    assert table.schema.field(LINE).type == pa.int64()
    for field in table.schema:
        if field.name != LINE:
            assert field.type == pa.string(), field


# -- real recordings ------------------------------------------------------------------------
TRKPT = re.compile(r'<trkpt lat="([^"]*)" lon="([^"]*)">(.*?)</trkpt>', re.S)


@pytest.mark.parametrize("name, points", [
    ("london_run_2017-07-08.gpx", 5_104),
    ("london_ride_2017-07-09.gpx", 11_277),
    ("limerick_bus_304.gpx", 2_144),
])
def test_real_gpx_every_point_with_its_own_text(name, points):
    path = real(name)
    text = path.read_text(encoding="utf-8")
    found = TRKPT.findall(text)
    assert len(re.findall(r"<(?:trkpt|rtept|wpt)\b", text)) == len(found) == points
    table = read_fixes(path, detect_format(path))
    assert_shape(table)
    assert table.num_rows == points
    assert table.column(LINE).to_pylist() == list(range(1, points + 1))
    assert table.column("lat").to_pylist() == [lat for lat, _, _ in found]
    assert table.column("lon").to_pylist() == [lon for _, lon, _ in found]
    times = [re.search(r"<time>(.*?)</time>", body).group(1) for _, _, body in found]
    assert table.column("time").to_pylist() == times
    assert set(table.column("kind").to_pylist()) == {"trkpt"}


@pytest.mark.parametrize("name", ["london_run_2017-07-08.gpx", "limerick_bus_304.gpx"])
def test_real_gpx_agrees_with_gpxpy(name):
    gpxpy = pytest.importorskip("gpxpy")
    from gpxpy.gpxfield import parse_time
    path = real(name)
    with path.open(encoding="utf-8") as fh:
        ref = gpxpy.parse(fh)
    expected = [(p.latitude, p.longitude, p.elevation, p.time, t.name, str(s_no))
                for t in ref.tracks for s_no, s in enumerate(t.segments) for p in s.points]
    got = [(float(r["lat"]), float(r["lon"]), float(r["ele"]), parse_time(r["time"]),
            r["track"], r["segment"]) for r in rows(read_fixes(path, "gpx"))]
    assert got == expected


def test_real_json_splits_wkt_points():
    path = real("munich_car.json")
    text = path.read_text(encoding="utf-8")
    wkt = re.findall(r'"point":"POINT\(([^ ]+) ([^)]+)\)"', text)
    assert len(wkt) == 1_194
    assert detect_format(path) == "json"
    table = read_fixes(path, "json")
    assert_shape(table)
    assert table.num_rows == 1_194
    assert list(zip(table.column("lon").to_pylist(), table.column("lat").to_pylist())) == wkt
    assert table.column("point").to_pylist()[0] == f"POINT({wkt[0][0]} {wkt[0][1]})"
    times = table.column("time").to_pylist()
    assert times[0] == "2014-09-10 06:54:07+0200"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+0200", t) for t in times)
    assert table.column(LINE).to_pylist() == list(range(1, 1_195))


# -- GPX -------------------------------------------------------------------------------------
GPX_11 = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1"
     xmlns:acc="http://example.org/accuracy">
  <metadata><name>shift</name><time>2026-11-16T07:00:00Z</time></metadata>
  <wpt lat="51.50" lon="-0.10"><time>2026-11-16T08:00:00Z</time><name>Station</name></wpt>
  <rte><name>Beat</name>
    <rtept lat="51.51" lon="-0.11"><time>2026-11-16T08:01:00Z</time></rtept>
    <rtept lat="51.52" lon="-0.12"/>
  </rte>
  <trk><name>PC 1234</name>
    <trkseg>
      <trkpt lat="51.5300000" lon="-0.1300000"><ele>12.5</ele><time>2026-11-16T08:02:00.500+00:00</time>
        <hdop>1.2</hdop><extensions><acc:accuracy>4.5</acc:accuracy></extensions></trkpt>
      <trkpt lat="51.54" lon="-0.14"><ele>13</ele></trkpt>
    </trkseg>
    <trkseg>
      <trkpt lat="abc" lon="-0.15"><time>yesterday</time></trkpt>
      <trkpt lat="51.56" lon="-0.16"><time/></trkpt>
    </trkseg>
  </trk>
  <trk>
    <trkseg><trkpt lat="51.57" lon="-0.17"><time>2026-11-16T08:05:00Z</time></trkpt></trkseg>
  </trk>
</gpx>
"""


def test_gpx_11_tracks_routes_waypoints_in_file_order(tmp_path):
    table = read_fixes(write(tmp_path, "shift.gpx", GPX_11), "gpx")
    assert_shape(table)
    assert table.column_names == [LINE, "time", "lat", "lon", "ele", "track", "segment", "kind",
                                  "hdop", "accuracy"]
    got = [(r[LINE], r["kind"], r["track"], r["segment"], r["lat"], r["time"]) for r in rows(table)]
    assert got == [
        (1, "wpt", None, None, "51.50", "2026-11-16T08:00:00Z"),
        (2, "rtept", "Beat", None, "51.51", "2026-11-16T08:01:00Z"),
        (3, "rtept", "Beat", None, "51.52", None),              # no time: kept, null
        (4, "trkpt", "PC 1234", "0", "51.5300000", "2026-11-16T08:02:00.500+00:00"),
        (5, "trkpt", "PC 1234", "0", "51.54", None),
        (6, "trkpt", "PC 1234", "1", "abc", "yesterday"),        # bad values kept as text
        (7, "trkpt", "PC 1234", "1", "51.56", ""),
        (8, "trkpt", "1", "0", "51.57", "2026-11-16T08:05:00Z"),  # unnamed track: its index
    ]
    first_trkpt = rows(table)[3]
    assert (first_trkpt["ele"], first_trkpt["hdop"], first_trkpt["accuracy"]) == ("12.5", "1.2", "4.5")
    assert rows(table)[4]["hdop"] is None


def test_gpx_10_and_no_namespace(tmp_path):
    body = """<gpx version="1.0" creator="old logger"{ns}>
  <time>2026-11-16T07:00:00Z</time>
  <wpt lat="51.5" lon="-0.1"><time>2026-11-16T08:00:00Z</time><name>W</name></wpt>
  <rte><rtept lat="51.6" lon="-0.2"><time>2026-11-16T08:00:30Z</time></rtept></rte>
  <trk><name>T</name><trkseg>
    <trkpt lat="51.7" lon="-0.3"><time>2026-11-16T08:01:00Z</time><hdop>2.5</hdop><speed>1.4</speed></trkpt>
    <trkpt lat="51.8" lon="-0.4"></trkpt>
  </trkseg></trk>
</gpx>"""
    for ns in (' xmlns="http://www.topografix.com/GPX/1/0"', ""):
        table = read_fixes(write(tmp_path, "old.gpx", body.format(ns=ns)), "gpx")
        got = [(r[LINE], r["kind"], r["track"], r["lon"], r["time"], r["hdop"]) for r in rows(table)]
        assert got == [
            (1, "wpt", None, "-0.1", "2026-11-16T08:00:00Z", None),
            (2, "rtept", "0", "-0.2", "2026-11-16T08:00:30Z", None),
            (3, "trkpt", "T", "-0.3", "2026-11-16T08:01:00Z", "2.5"),
            (4, "trkpt", "T", "-0.4", None, None),
        ]


def test_gpx_points_are_numbered_in_file_order_even_out_of_schema_order(tmp_path):
    text = """<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1">
      <trk><trkseg><trkpt lat="1" lon="1"/><trkpt lat="2" lon="2"/></trkseg></trk>
      <wpt lat="3" lon="3"/>
      <trk><trkpt lat="4" lon="4"/></trk>
    </gpx>"""
    table = read_fixes(write(tmp_path, "odd.gpx", text), "gpx")
    assert [(r[LINE], r["lat"], r["kind"], r["track"], r["segment"]) for r in rows(table)] == [
        (1, "1", "trkpt", "0", "0"), (2, "2", "trkpt", "0", "0"), (3, "3", "wpt", None, None),
        (4, "4", "trkpt", "1", None),
    ]


def test_gpx_elements_of_other_namespaces_are_not_points(tmp_path):
    text = """<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1" xmlns:x="urn:x">
      <trk><trkseg><trkpt lat="1" lon="1"><extensions><x:trkpt lat="9" lon="9"/></extensions>
      </trkpt></trkseg></trk><x:wpt lat="8" lon="8"/></gpx>"""
    table = read_fixes(write(tmp_path, "ns.gpx", text), "gpx")
    assert table.column("lat").to_pylist() == ["1"]


# -- GeoJSON ------------------------------------------------------------------------------
def feature(geometry, **properties):
    return {"type": "Feature", "geometry": geometry, "properties": properties}


def collection(*features):
    return json.dumps({"type": "FeatureCollection", "features": list(features)})


def test_geojson_points_lines_and_other_geometries(tmp_path):
    text = collection(
        feature({"type": "Point", "coordinates": [-0.1, 51.5]}, officer="PC1",
                time="2026-11-16T08:00:00Z", accuracy=5, on_foot=True, tags={"a": [1, 2]}),
        feature({"type": "LineString", "coordinates": [[-0.2, 51.6], [-0.3, 51.7, 20.0]]},
                officer="PC2", coordTimes=["2026-11-16T08:01:00Z", "2026-11-16T08:02:00Z"]),
        feature({"type": "MultiLineString", "coordinates": [[[-0.4, 51.8]], [[-0.5, 51.9], [-0.6, 52.0]]]},
                officer="PC3", coordTimes=[["2026-11-16T08:03:00Z"],
                                           ["2026-11-16T08:04:00Z", "2026-11-16T08:05:00Z"]]),
        feature({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 0]]]}, officer="PC4"),
        feature(None, officer="PC5", time="2026-11-16T08:06:00Z"),
        feature({"type": "LineString", "coordinates": [[-0.7, 52.1], [-0.8, 52.2]]}, officer="PC6"),
        feature({"type": "LineString", "coordinates": []}, officer="PC7"),
    )
    path = write(tmp_path, "fixes.geojson", text)
    assert detect_format(path) == "geojson"
    table = read_fixes(path, "geojson")
    assert_shape(table)
    got = [(r[LINE], r["officer"], r["lon"], r["lat"], r["time"]) for r in rows(table)]
    assert got == [
        (1, "PC1", "-0.1", "51.5", "2026-11-16T08:00:00Z"),
        (2, "PC2", "-0.2", "51.6", "2026-11-16T08:01:00Z"),
        (3, "PC2", "-0.3", "51.7", "2026-11-16T08:02:00Z"),
        (4, "PC3", "-0.4", "51.8", "2026-11-16T08:03:00Z"),
        (5, "PC3", "-0.5", "51.9", "2026-11-16T08:04:00Z"),
        (6, "PC3", "-0.6", "52.0", "2026-11-16T08:05:00Z"),
        (7, "PC4", None, None, None),          # a polygon is not a fix: one row to reject
        (8, "PC5", None, None, "2026-11-16T08:06:00Z"),
        (9, "PC6", "-0.7", "52.1", None),      # a line without coordTimes: rows without time
        (10, "PC6", "-0.8", "52.2", None),
        (11, "PC7", None, None, None),         # an empty line still leaves a row
    ]
    first = rows(table)[0]
    assert (first["accuracy"], first["on_foot"], first["tags"]) == ("5", "true", '{"a": [1, 2]}')
    assert "coordTimes" not in table.column_names


def test_geojson_single_feature_coordinate_properties_and_clashing_names(tmp_path):
    text = json.dumps(feature(
        {"type": "LineString", "coordinates": [[-0.1, 51.5], [-0.2, 51.6]]},
        time="2026-11-16", lat="north", _line=7, device="D1",
        coordinateProperties={"times": ["2026-11-16T08:00:00Z", "2026-11-16T08:00:05Z"],
                              "accuracy": [3, 4.5]},
    ) | {"id": "track-9"})
    path = write(tmp_path, "track.json", text)
    assert detect_format(path) == "geojson"
    for fmt in ("geojson", "json"):
        got = rows(read_fixes(path, fmt))
        assert got[1] == {LINE: 2, "lon": "-0.2", "lat": "51.6",
                          "time": "2026-11-16T08:00:05Z", "accuracy": "4.5",
                          "properties.time": "2026-11-16", "properties.lat": "north",
                          "properties._line": "7", "device": "D1", "id": "track-9"}


def test_geojson_without_any_time_still_gives_rows(tmp_path):
    text = collection(feature({"type": "Point", "coordinates": [-0.1, 51.5]}, officer="PC1"),
                      feature({"type": "LineString", "coordinates": [[-0.2, 51.6]]}, officer="PC1"))
    table = read_fixes(write(tmp_path, "notime.geojson", text), "geojson")
    assert table.num_rows == 2
    assert "time" not in table.column_names


def test_geojson_text_sequence(tmp_path):
    lines = [json.dumps(feature({"type": "Point", "coordinates": [i, 50 + i]}, t=str(i)))
             for i in range(3)]
    path = write(tmp_path, "seq.geojsonl", "\x1e" + "\n\x1e".join(lines) + "\n")
    assert detect_format(path) == "geojson"
    assert read_fixes(path, "geojson").column("lat").to_pylist() == ["50", "51", "52"]


# -- JSON -------------------------------------------------------------------------------------
def test_json_array_union_of_keys_and_wkt_forms(tmp_path):
    fixes = [
        {"officer": "PC1", "time": "2026-11-16T08:00:00Z", "geometry": "POINT (-0.1 51.5)"},
        {"officer": "PC1", "time": 1763280030, "geometry": "SRID=4326;POINT(-0.11 51.51)", "acc": 5.25},
        {"officer": "PC1", "geometry": "point z (-0.12 51.52 30)", "nested": {"k": None}},
        {"officer": None, "time": "2026-11-16T08:01:00Z", "geometry": "LINESTRING(0 0, 1 1)"},
        {"officer": "PC2", "time": "2026-11-16T08:02:00Z",
         "geometry": {"type": "Point", "coordinates": [-0.13, 51.53]}},
        "not an object",
    ]
    path = write(tmp_path, "fixes.json", json.dumps(fixes))
    table = read_fixes(path, "json")
    assert_shape(table)
    assert table.column_names == [LINE, "officer", "time", "geometry", "lon", "lat", "acc", "nested"]
    got = [(r[LINE], r["officer"], r["time"], r["lon"], r["lat"], r["acc"]) for r in rows(table)]
    assert got == [
        (1, "PC1", "2026-11-16T08:00:00Z", "-0.1", "51.5", None),
        (2, "PC1", "1763280030", "-0.11", "51.51", "5.25"),
        (3, "PC1", None, "-0.12", "51.52", None),
        (4, None, "2026-11-16T08:01:00Z", None, None, None),
        (5, "PC2", "2026-11-16T08:02:00Z", "-0.13", "51.53", None),
        (6, None, None, None, None, None),
    ]
    assert rows(table)[2]["nested"] == '{"k": null}'
    assert rows(table)[0]["geometry"] == "POINT (-0.1 51.5)"


def test_json_keeps_given_lon_lat_and_numbers_round_trip(tmp_path):
    value = 0.1 + 0.2
    path = write(tmp_path, "f.json", json.dumps([{"lat": value, "lon": -1e-7, "point": "POINT(9 9)"}]))
    row = rows(read_fixes(path, "json"))[0]
    assert (row["lat"], row["lon"]) == (repr(value), "-1e-07")
    assert float(row["lat"]) == value


def test_json_lines_numbered_by_physical_line(tmp_path):
    text = ('{"officer": "PC1", "time": "2026-11-16T08:00:00Z", "lat": 51.5, "lon": -0.1}\n'
            "\n"
            '{"officer": "PC1", "time": "2026-11-16T08:00:30Z", "lat": 51.6}\n'
            '{"officer": "PC1",\n "time": "2026-11-16T08:01:00Z", "lon": -0.3}\n'
            '{"officer": "PC1", "time": "x", "location": "POINT(1 2)"}\n')
    path = write(tmp_path, "fixes.jsonl", text)
    assert detect_format(path) == "json"
    got = [(r[LINE], r["lat"], r["lon"]) for r in rows(read_fixes(path, "json"))]
    assert got == [(1, "51.5", "-0.1"), (3, "51.6", None), (4, None, "-0.3"), (6, "2", "1")]


def test_json_single_fix_object_is_one_row(tmp_path):
    path = write(tmp_path, "one", '{"timestamp": "2026-11-16T08:00:00Z", "lat": 51.5, "lon": -0.1}')
    assert detect_format(path) == "json"
    assert rows(read_fixes(path, "json")) == [
        {LINE: 1, "timestamp": "2026-11-16T08:00:00Z", "lat": "51.5", "lon": "-0.1"}]


def test_lone_surrogates_become_replacement_characters(tmp_path):
    path = write(tmp_path, "s.json", '[{"time": "\\ud800", "\\udc00": 1}]')
    assert rows(read_fixes(path, "json")) == [{LINE: 1, "time": "\ufffd", "\ufffd": "1"}]


# -- detection --------------------------------------------------------------------------------
@pytest.mark.parametrize("name, content, expected", [
    ("a.GPX", b"anything", "gpx"),
    ("a.geojson", b"[]", "geojson"),
    ("a.json", b"[{}]", "json"),
    ("a.json", b'{"type": "FeatureCollection", "features": []}', "geojson"),
    ("a.ndjson", b'{"a": 1}\n', "json"),
    ("a.txt", b'\xef\xbb\xbf  <?xml version="1.0"?><gpx/>', "gpx"),
    ("a", b"<gpx version='1.1'/>", "gpx"),
    ("a.dat", b'\n{"features": [], "type" : "FeatureCollection"}', "geojson"),
    ("a.dat", b'{"type": "Feature", "geometry": null, "properties": {}}', "geojson"),
    ("a.dat", b'{"time": "x"}\n{"time": "y"}', "json"),
    ("a.dat", b"  [1]", "json"),
    ("a.csv", b"officer,time,lat,lon\n", None),
    ("a", b"", None),
    ("a", b"<html></html>", None),
])
def test_detect_format(tmp_path, name, content, expected):
    assert detect_format(write(tmp_path, name, content)) == expected


# -- errors -------------------------------------------------------------------------------------
DEEP = "[" * 100_000 + "]" * 100_000


@pytest.mark.parametrize("fmt, content, message", [
    ("gpx", "hello", "not a readable GPX file: the XML is broken at line 1, column 1 "
                     "(syntax error)"),
    ("gpx", '<?xml version="1.0"?>\n<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2">',
     "not a readable GPX file: the XML is broken at line 2, column 56 (no element found)"),
    ("gpx", '<?xml version="1.0"?><kml xmlns="http://www.opengis.net/kml/2.2"><Document/></kml>',
     "not a GPX document (the root element is <kml>, not <gpx>)"),
    ("gpx", '<gpx version="1.1"><metadata><time>2026-11-16T08:00:00Z</time></metadata></gpx>',
     "the GPX file has no track points, route points or waypoints"),
    ("gpx", "", "the file is empty"),
    ("gpx", " \n\t", "the file is empty"),
    ("json", "", "the file is empty"),
    ("geojson", "\ufeff\n", "the file is empty"),
    ("json", '[{"time": "2026-11-16T08:00:00Z",\n "lat": 51.',
     "invalid JSON at line 2, column 11: Expecting ',' delimiter"),
    ("json", '[{"time": 1}, ', "invalid JSON at line 1, column 15: Expecting value"),
    ("json", '{"time": 1}\n{"time": 2', "invalid JSON at line 2, column 11: Expecting ',' delimiter"),
    ("json", '\n[{"lat": ' + "9" * 5000 + "}]",
     "invalid JSON near line 2: Exceeds the limit (4300 digits) for integer string conversion"),
    ("json", '{"a": 1}', "JSON holds an object, not fixes; expected an array of objects"),
    ("json", '{"type": "a\\nb"}', "JSON holds an object, not fixes"),
    ("json", '"text"', "JSON holds a string, not fixes"),
    ("json", "null", "JSON holds null, not fixes"),
    ("json", '{"type": "Point", "coordinates": [0, 0]}', "JSON holds a Point object, not fixes"),
    ("json", "[]", "the JSON array is empty; expected one object per fix"),
    ("json", "[1, 2]", "the JSON array holds no objects (its first element is a number)"),
    ("json", "1\n2\n", "the JSON Lines hold no objects"),
    ("geojson", '[{"time": 1}]', "not GeoJSON: an array; expected a FeatureCollection or Feature"),
    ("geojson", '{"type": "FeatureCollection", "features": {}}',
     "the GeoJSON FeatureCollection has no 'features' list"),
    ("geojson", '{"type": "FeatureCollection", "features": []}',
     "the GeoJSON FeatureCollection has no features"),
    ("json", DEEP, "the JSON is nested too deeply to read"),
    ("geojson", '{"type": "Feature", "properties": ' + DEEP + "}",
     "the GEOJSON is nested too deeply to read"),
    ("json", b'[{"time": "\xff"}]', "not UTF-8 text (byte 11 cannot be decoded); JSON must be UTF-8"),
])
def test_unreadable_files_raise_one_line_naming_the_file(tmp_path, fmt, content, message):
    path = write(tmp_path, "bad", content)
    with pytest.raises(InputFileError) as err:
        read_fixes(path, fmt)
    text = str(err.value)
    assert text.startswith(f"{path}: {message}"), text
    assert "\n" not in text


def test_truncated_real_gpx_names_the_line(tmp_path):
    data = real("limerick_bus_304.gpx").read_bytes()
    path = write(tmp_path, "cut.gpx", data[: len(data) // 2])
    with pytest.raises(InputFileError) as err:
        read_fixes(path, "gpx")
    assert re.match(rf"{re.escape(str(path))}: not a readable GPX file: the XML is broken at line \d+, "
                    r"column \d+ \(", str(err.value)), str(err.value)


def test_missing_file_and_folder(tmp_path):
    with pytest.raises(InputFileError, match="cannot read"):
        read_fixes(tmp_path / "nope.gpx", "gpx")
    with pytest.raises(InputFileError, match="cannot read"):
        read_fixes(tmp_path, "json")
    with pytest.raises(ValueError, match="unknown format 'kml'"):
        read_fixes(tmp_path / "x.kml", "kml")


# -- never anything but a table or InputFileError ------------------------------------------
def outcome(path: Path, fmt: str) -> pa.Table | None:
    try:
        table = read_fixes(path, fmt)
    except InputFileError as exc:
        assert "\n" not in str(exc) and str(exc).startswith(str(path))
        return None
    assert_shape(table)
    assert table.column(LINE).null_count == 0
    return table


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)
coords = st.one_of(json_values, st.lists(st.floats(-200, 200) | st.none(), max_size=4))
geometries = st.one_of(json_values, st.fixed_dictionaries({
    "type": st.sampled_from(["Point", "LineString", "MultiLineString", "MultiPoint", "Polygon", "X"]),
    "coordinates": st.one_of(coords, st.lists(coords, max_size=3),
                             st.lists(st.lists(coords, max_size=3), max_size=3)),
}))
features = st.one_of(json_values, st.fixed_dictionaries(
    {"type": st.just("Feature"), "geometry": geometries},
    optional={"properties": st.one_of(json_values, st.dictionaries(
        st.sampled_from(["time", "coordTimes", "lat", "_line", "coordinateProperties", "id"]),
        json_values | st.lists(json_values | st.lists(st.text(max_size=3)), max_size=3)))},
))
geojson_docs = st.one_of(features, st.fixed_dictionaries(
    {"type": st.just("FeatureCollection"),
     "features": st.one_of(json_values, st.lists(features, max_size=4))}))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200), fmt=st.sampled_from(["gpx", "geojson", "json"]))
def test_random_bytes_give_a_table_or_an_input_file_error(tmp_path, data, fmt):
    outcome(write(tmp_path, "random", data), fmt)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=st.one_of(json_values, geojson_docs, st.lists(json_values, max_size=5)),
       fmt=st.sampled_from(["geojson", "json"]), lines=st.booleans())
def test_random_json_gives_a_table_or_an_input_file_error(tmp_path, value, fmt, lines):
    if lines and isinstance(value, list):
        text = "\n".join(json.dumps(v) for v in value)
    else:
        text = json.dumps(value)
    outcome(write(tmp_path, "random", text), fmt)


gpx_text = st.text(st.characters(exclude_categories=["Cs"]), max_size=12)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lat=gpx_text, time=gpx_text, kind=st.sampled_from(["wpt", "rtept", "trkpt"]),
       junk=st.text(max_size=10))
def test_random_gpx_values_give_one_row_each_or_an_error(tmp_path, lat, time, kind, junk):
    from xml.sax.saxutils import escape, quoteattr
    point = f"<{kind} lat={quoteattr(lat)} lon=\"1\"><time>{escape(time)}</time></{kind}>"
    wrapped = {"wpt": point, "rtept": f"<rte>{point}</rte>", "trkpt": f"<trk><trkseg>{point}</trkseg></trk>"}
    path = write(tmp_path, "p.gpx", f'<gpx version="1.1">{wrapped[kind]}{junk}</gpx>')
    table = outcome(path, "gpx")
    if table is not None and "<" not in junk and "&" not in junk:
        assert table.num_rows == 1 and table.column("kind").to_pylist() == [kind]
