"""The weekly coverage report: figures equal the store and the exports, escaping, and a real browser."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
from datetime import date
from pathlib import Path

import pytest

from builders import offset, write_wards
from visibility.policy import Policy
from visibility.store import Store

WEEK = (date(2026, 11, 16), date(2026, 11, 22))
#: Anything that would make a browser fetch from elsewhere.
HTML_URL = re.compile(r"""(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:https?:|//|ftp:)"""
                      r"""|url\(\s*["']?\s*(?:https?:|//)|@import""", re.I)


# -- builders -------------------------------------------------------------------------------------
def report_world(tmp_path, ward_name="Alpha", team="Alpha team", officer="O1", fixes_name="fixes.csv"):
    """A borough of two wards and one officer (home ward W1) with a shift in weeks 46 and 47.

    Week 46 (Mon 9 Nov, 08:00-09:00 UTC): walking in W1 all hour, so 100% visible.
    Week 47 (Mon 16 Nov, same hours): 30 minutes in W1, then 30 standing in W2: 50%.
    """
    wards = write_wards(tmp_path / "wards.geojson",
                        [("W1", ward_name, -0.10, 51.50, 0.01), ("W2", "Beta", -0.09, 51.50, 0.01)])
    stations = tmp_path / "stations.geojson"
    stations.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Central <hq>", "radius_m": 50},
         "geometry": {"type": "Point", "coordinates": [-0.099, 51.509]}}]}))
    officers = tmp_path / "officers.csv"
    with open(officers, "w", newline="") as fh:
        csv.writer(fh).writerows([["officer_id", "team", "ward_code", "role"], [officer, team, "W1", "PC"]])
    shifts = tmp_path / "shifts.csv"
    with open(shifts, "w", newline="") as fh:
        csv.writer(fh).writerows([["officer_id", "start", "end", "kind", "reason"],
                                  [officer, "2026-11-09T08:00:00Z", "2026-11-09T09:00:00Z", "neighbourhood", ""],
                                  [officer, "2026-11-16T08:00:00Z", "2026-11-16T09:00:00Z", "neighbourhood", ""]])
    rows = [["officer_id", "timestamp", "lat", "lon", "accuracy_m"]]
    for day, split in (("2026-11-09", 240), ("2026-11-16", 120)):
        for k in range(240):
            t = 8 * 3600 + k * 15
            if k < split:  # walking to and fro along 180 m of W1 at 1.2 m/s
                lat, lon = offset(51.505, -0.097, 0, 180 - abs((k * 15 * 1.2) % 360 - 180))
            else:  # standing in W2
                lat, lon = offset(51.505, -0.09, 0, 200)
            rows.append([officer, f"{day}T{t // 3600:02d}:{t // 60 % 60:02d}:{t % 60:02d}Z",
                         f"{lat:.7f}", f"{lon:.7f}", "5"])
    rows.append([officer, "not a time", "51.5", "-0.1", "5"])  # one rejected row
    fixes = tmp_path / fixes_name
    with open(fixes, "w", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return {"wards": wards, "stations": stations, "officers": officers, "shifts": shifts,
            "fixes": fixes}


def build_world_store(tmp_path, **names) -> Path:
    """The report world loaded and analysed (weeks 46 and 47) through the library."""
    from visibility.analyse import analyse
    from visibility.boundaries import load_stations, load_wards
    from visibility.ingest import ingest_file
    from visibility.roster import load_roster

    world = report_world(tmp_path, **names)
    db = tmp_path / "world.duckdb"
    with Store.create(db) as store:
        load_wards(store, [world["wards"]], "code", "name", borough_code_field="bcode",
                   borough_name_field="bname")
        load_stations(store, world["stations"])
        load_roster(store, world["officers"], world["shifts"])
        ingest_file(store, world["fixes"])
        analyse(store, Policy(), date(2026, 11, 9), date(2026, 11, 22))
    return db


def build(db, key=b"k" * 32, **scope):
    from visibility.report import ReportScope, build_report

    scope = {"borough": "B1", **scope}
    with Store.open(db, read_only=True) as store:
        return build_report(store, ReportScope(*WEEK, **scope), key=key,
                            command="visibility report --borough B1 --week 2026-W47")


# -- the sample borough ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    """The demo store, its W47 report (page and exports) built once."""
    from visibility.demo import run_demo
    from visibility.report import ReportScope, build_report

    folder = tmp_path_factory.mktemp("report")
    demo = run_demo(folder)
    measured = measure_peaks(demo.store, folder)
    with Store.open(demo.store, read_only=True) as store:
        report = build_report(store, ReportScope(*WEEK, borough="X09000001"), key=b"s" * 32,
                              command="visibility report --borough X09000001 --week 2026-W47")
    page = report.write_html(folder / "report.html")
    report.write_exports(folder / "export")
    return {"db": demo.store, "report": report, "page": page, "html": page.read_text(),
            "export": folder / "export", "folder": folder, "measured": measured}


def measure_peaks(db, folder) -> bool:
    """Hotspots and the week's peak measures (visibility coverage), where this version has them."""
    try:
        from visibility.hotspots import load_hotspots
        from visibility.measures import measure
    except ImportError:
        return False
    hot = folder / "hotspots.csv"
    hot.write_text("label,lat,lon,radius_m\nMarket <square>,51.560,-0.050,60\n"
                   "Station forecourt,51.570,-0.030,60\nPark gates,51.580,-0.070,80\n")
    with Store.open(db) as store:
        load_hotspots(store, hot)
        measure(store, Policy(), *WEEK)
    return True


def page_rows(html: str, attr: str) -> dict:
    """{key: (data-value, shown text, status word)} of the page's rows with ``data-<attr>``."""
    out = {}
    for key, body in re.findall(rf'<tr[^>]*data-{attr}="([^"]+)">(.*?)</tr>', html, re.S):
        value, shown = re.search(r'class="share" data-value="([^"]*)">([^<]*)<', body).groups()
        status = re.search(r'class="status st-[^"]+">([^<]+)<', body).group(1)
        out[key] = (float(value), shown, status)
    return out


def read_csv(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_page_exports_and_store_agree_per_ward(sample):
    html, export = sample["html"], sample["export"]
    rows = {r["code"]: r for r in read_csv(export / "headline.csv")}
    shown = page_rows(html, "ward")
    with Store.open(sample["db"], read_only=True) as store:
        # Straight from the results, independently of the report's SQL (November: UTC = local).
        stored = {code: (on / dur, n, officers) for code, on, dur, n, officers in store.con.execute(
            """SELECT ow.ward_code, sum(r.on_patch_us), sum(r.duration_us), count(*),
                      count(DISTINCT r.officer_id)
               FROM shift_results r JOIN officer_wards ow USING (officer_id)
               WHERE r.shift_start >= '2026-11-16 00:00:00+00' AND r.shift_start < '2026-11-23 00:00:00+00'
               GROUP BY 1""").fetchall()}
        total = store.con.execute(
            """SELECT sum(on_patch_us) / sum(duration_us), count(*) FROM shift_results
               WHERE shift_start >= '2026-11-16 00:00:00+00' AND shift_start < '2026-11-23 00:00:00+00'"""
        ).fetchall()[0]
    assert set(stored) <= set(shown) and len(stored) == 16
    for code, (share, n, officers) in stored.items():
        row = rows[code]
        assert float(row["visible_share"]) == pytest.approx(share, rel=1e-12)
        assert int(row["shifts"]) == n and int(row["officers"]) == officers
        value, text, status = shown[code]
        assert value == pytest.approx(share, rel=1e-12)
        assert text == f"{float(row['visible_share']):.1%}"
        assert status.lower() == row["status"]
    borough = rows["X09000001"]
    assert float(borough["visible_share"]) == pytest.approx(total[0], rel=1e-12)
    assert int(borough["shifts"]) == total[1] == 144
    assert shown["total"][1] == f"{total[0]:.1%}" == "71.1%"
    data = json.loads((export / "report.json").read_text())
    assert data["total"]["visible_share"] == pytest.approx(total[0], rel=1e-12)
    # The embedded data of the page says the same.
    embedded = json.loads(re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1))
    assert embedded["total"] == data["total"]


def test_report_equals_visibility_summary(sample):
    from visibility.summary import summarise

    with Store.open(sample["db"], read_only=True) as store:
        wards = summarise(store, "ward", Policy(), *WEEK, borough="X09000001").records()
        borough = summarise(store, "borough", Policy(), *WEEK, borough="X09000001").records()[0]
    d = sample["report"].data
    mine = {w["code"]: w for w in d["wards"]}
    for w in wards:
        assert mine[w["ward_code"]]["visible_share"] == pytest.approx(w["visible_share"], rel=1e-12)
        assert mine[w["ward_code"]]["duty_hours"] == pytest.approx(w["duty_s"] / 3600)
        assert (mine[w["ward_code"]]["status"] == "meets") == w["meets_line"]
    assert d["total"]["visible_share"] == pytest.approx(borough["visible_share"], rel=1e-12)
    assert d["total"]["officers"] == borough["officers"] == 30


def test_breakdowns_add_up_and_presence_equals_on_patch(sample):
    d = sample["report"].data
    for row in d["wards"] + [d["total"]] + d["officers"] + d["officer_shifts"]:
        parts = sum(row[f"{s}_hours"] for s in ("on_patch", "off_patch", "in_station", "transit",
                                                 "no_signal"))
        assert parts == pytest.approx(row["duty_hours"], rel=1e-12)
    cells = read_csv(sample["export"] / "cells.csv")
    minutes = sum(float(c["officer_minutes"]) for c in cells)
    assert minutes == pytest.approx(d["total"]["on_patch_hours"] * 60, rel=1e-9)
    hours = sum(float(r["officer_hours"]) for r in read_csv(sample["export"] / "hour_of_week.csv"))
    assert hours == pytest.approx(d["total"]["on_patch_hours"], rel=1e-9)
    assert len(read_csv(sample["export"] / "officer_shifts.csv")) == d["total"]["shifts"]


def test_page_is_self_contained_and_accessible(sample):
    html = sample["html"]
    assert not HTML_URL.search(html), HTML_URL.search(html).group(0)
    assert "<link" not in html and "<img" not in html and "<iframe" not in html
    assert re.findall(r"<script\b[^>]*>", html) == ['<script type="application/json" id="report-data">']
    assert "Content-Security-Policy" in html and "@page { size: A4" in html
    svgs = re.findall(r"<svg\b.*?</svg>", html, re.S)
    assert len(svgs) == (6 if sample["measured"] else 5)
    for svg in svgs:
        assert 'role="img"' in svg and re.search(r"<title id=\"[\w-]+\">[^<]{10,}</title>", svg)
    for label in ("ISO week", "Visible share of duty time", "Share of rostered duty time", "Ward",
                  "Visible share of the shift", "Officer-shifts", "Local hour of the day (start)",
                  "officer-minutes on patch per H3 cell", "Sample boundaries: made up"):
        assert label in html, label
    # Status words beside every colour; every table has header cells.
    assert html.count('class="status st-') == len(re.findall(r">(Meets|Near|Below|No data)</span>", html))
    for table in re.findall(r"<table\b.*?</table>", html, re.S):
        assert "<th scope=" in table
    ids = re.findall(r'\bid="([^"]+)"', html)
    assert len(ids) == len(set(ids)), "inline SVG ids collide"


def test_officers_are_pseudonyms_unless_names(sample, tmp_path):
    from visibility.pseudonym import pseudonym

    html = sample["html"]
    assert "officers shown as <strong>pseudonyms</strong>" in html
    assert not re.search(r"PC10\d\d", html)
    exported = "".join(p.read_text() for p in sample["export"].glob("*.csv"))
    assert not re.search(r"PC10\d\d", exported)
    assert pseudonym("PC1001", b"s" * 32) in html
    db = build_world_store(tmp_path)
    named = build(db, key=None)
    assert "officers shown as <strong>officer ids</strong>" in named.html
    assert 'data-officer="O1"' in named.html


def test_geo_exports_open_with_their_crs(sample):
    import geopandas as gpd

    export = sample["export"]
    for name, count in (("wards", 16), ("cells", len(sample["report"].data["cells"]))):
        doc = json.loads((export / f"{name}.geojson").read_text())
        assert doc["crs"]["properties"]["name"] == "urn:ogc:def:crs:OGC:1.3:CRS84"
        assert len(doc["features"]) == count
        for path in (export / f"{name}.geojson", export / f"{name}.parquet"):
            layer = gpd.read_parquet(path) if path.suffix == ".parquet" else gpd.read_file(path)
            assert layer.crs.to_epsg() == 4326 and len(layer) == count
    wards = gpd.read_file(export / "wards.geojson")
    assert set(wards["status"]) <= {"meets", "near", "below"}
    assert wards.total_bounds[1] > 51.5 and wards.total_bounds[0] > -0.2  # lon/lat, not metres


def test_peak_coverage_and_hotspots_when_measured(sample):
    if not sample["measured"]:
        pytest.skip("this version has no peak-period measures (visibility.measures)")
    html, export = sample["html"], sample["export"]
    with Store.open(sample["db"], read_only=True) as store:
        stored = dict(store.con.execute(
            "SELECT ward_code, coverage FROM coverage_wards WHERE run_id = "
            "(SELECT max(run_id) FROM coverage_runs)").fetchall())
        dosage = store.con.execute(
            "SELECT sum(dosage_s) / 60 FROM hotspot_dosage WHERE run_id = "
            "(SELECT max(run_id) FROM coverage_runs)").fetchall()[0][0]
    rows = {r["code"]: r for r in read_csv(export / "peak_wards.csv")}
    assert set(rows) == set(stored) and len(stored) == 16
    for code, coverage in stored.items():
        assert float(rows[code]["coverage"]) == pytest.approx(coverage, rel=1e-12)
        body = re.search(rf'<tr data-peak-ward="{code}">(.*?)</tr>', html, re.S).group(1)
        assert f"<td>{coverage:.1%}</td>" in body
    hotspots = read_csv(export / "hotspots.csv")
    assert len(hotspots) == 3
    assert sum(float(h["dosage_minutes"]) for h in hotspots) == pytest.approx(dosage)
    assert "Market &lt;square&gt;" in html and 'id="hotspot-table"' in html
    assert 'aria-labelledby="peaks-title"' in html


def test_peak_section_says_how_to_measure_it(tmp_path):
    html = build(build_world_store(tmp_path)).html
    assert re.search(r"Not shown:</strong> (not measured for 2026-11-16 to 2026-11-22 yet: run "
                     r"visibility coverage --week 2026-W47|this store predates)", html)


def test_status_words_follow_the_policy():
    from visibility.report import status_of

    p = Policy()
    assert [status_of(v, p) for v in (0.80, 0.7999, 0.75, 0.7499, None)] == \
        ["meets", "near", "near", "below", "no data"]
    assert status_of(0.79, p.replace(amber_band=0.0)) == "below"


def test_amber_band_is_checked():
    from visibility.errors import PolicyError

    with pytest.raises(PolicyError, match="amber_band: 0.6 must be 0 or more and at most 0.5"):
        Policy.from_mapping({"amber_band": 0.6})


def test_trend_reads_earlier_weeks_and_change(tmp_path):
    report = build(build_world_store(tmp_path))
    d = report.data
    weeks = {w["week"]: w for w in d["trend"]}
    assert len(d["trend"]) == 8 and d["trend"][-1]["week"] == "2026-W47"
    assert weeks["2026-W46"]["visible_share"] == pytest.approx(1.0)
    assert weeks["2026-W47"]["visible_share"] == pytest.approx(0.5, abs=0.01)
    assert weeks["2026-W45"]["visible_share"] is None
    assert d["total"]["change_points"] == pytest.approx(-50, abs=1)
    assert d["wards"][0]["code"] == "W1" and d["wards"][0]["previous_share"] == pytest.approx(1.0)
    assert d["data_quality"]["rejected_rows"] == 1
    assert d["total"]["status"] == "below"


def test_every_name_from_the_data_is_escaped(tmp_path):
    evil = "<script>alert(1)</script>"
    db = build_world_store(tmp_path, ward_name=evil, team="<b>Team & co</b>",
                           officer="<i>O1</i>", fixes_name="fix<es>.csv")
    html = build(db, key=None).html
    assert "<script>alert" not in html and "<b>" not in html and "<i>" not in html
    assert "<es>" not in html
    assert html.count("&lt;script&gt;alert(1)") >= 3  # table, bar chart, map (cut short)
    for svg in re.findall(r"<svg\b.*?</svg>", html, re.S):
        assert "<script" not in svg
    assert "&lt;b&gt;Team &amp; co&lt;/b&gt;" in html
    assert "&lt;i&gt;O1&lt;/i&gt;" in html
    assert "fix&lt;es&gt;.csv" in html
    # The embedded JSON cannot end its script element early.
    block = re.search(r'id="report-data">(.*?)</script>', html, re.S).group(1)
    assert "<" not in block and json.loads(block)["wards"][0]["name"] == evil


def test_unknown_scope_and_unanalysed_period_are_clear(tmp_path):
    from visibility.report import ReportError

    db = build_world_store(tmp_path)
    with pytest.raises(ReportError, match=r"no wards of borough 'NOPE' are loaded \(boroughs: B1\)"):
        build(db, borough="NOPE")
    with pytest.raises(ReportError, match="no ward 'W9' is loaded"):
        build(db, borough=None, ward="W9")
    from visibility.report import ReportScope, build_report

    with Store.open(db, read_only=True) as store, pytest.raises(ReportError, match="no analysed shifts"):
        build_report(store, ReportScope(date(2026, 11, 23), date(2026, 11, 29), borough="B1"))


def test_sample_report_takes_a_few_seconds(sample):
    import time

    from visibility.report import ReportScope, build_report

    start = time.perf_counter()
    with Store.open(sample["db"], read_only=True) as store:
        build_report(store, ReportScope(*WEEK, borough="X09000001"), key=b"s" * 32)
    assert time.perf_counter() - start < 10


# -- in a real browser ----------------------------------------------------------------------------
def chromium_or_skip():
    from visibility.report.browser import find_chromium

    exe = find_chromium()
    if exe is None:
        pytest.skip("headless Chromium is not installed (Debian: apt-get install chromium; "
                    ".ci/run installs it where it can)")
    return exe


def keep_artefact(path: Path) -> None:
    """Copy a browser artefact to $VISIBILITY_ARTIFACTS when set, and say where it is."""
    target = os.environ.get("VISIBILITY_ARTIFACTS")
    if target:
        Path(target).mkdir(parents=True, exist_ok=True)
        path = Path(shutil.copy(path, target))
    print(f"report artefact: {path}")


def test_browser_loads_the_page_with_no_console_errors(sample):
    chromium_or_skip()
    from visibility.report.browser import dump_dom

    proc = dump_dom(sample["page"])
    dom = proc.stdout
    console = [line for line in proc.stderr.splitlines() if "CONSOLE" in line
               or "Uncaught" in line or "Refused to" in line]
    assert not console, console
    assert dom.count('<svg role="img"') == (6 if sample["measured"] else 5)
    assert 'id="map-title"' in dom and "Where officers were on patch" in dom
    map_svg = re.search(r'<svg role="img" aria-labelledby="map-title".*?</svg>', dom, re.S).group(0)
    assert re.search(r'<image\b[^>]*href="data:image/png;base64,', map_svg)  # the presence cells
    assert map_svg.count("<path") > 16  # the ward polygons and outlines


def test_browser_screenshot_shows_the_charts_and_map(sample):
    chromium_or_skip()
    from PIL import Image

    from visibility.report.browser import screenshot

    png = screenshot(sample["page"], sample["folder"] / "report.png", width=800, height=5200)
    keep_artefact(png)
    import numpy as np

    px = np.asarray(Image.open(png).convert("RGB")).astype(int)
    assert px.shape == (5200, 800, 3)

    def near(colour, tol=18):
        return int((np.abs(px - np.array(colour)).max(axis=2) <= tol).sum())

    assert near((0x00, 0x9E, 0x73)) > 20_000  # on-patch bars of the breakdown chart
    assert near((0xE6, 0x9F, 0x00)) > 5_000   # off-patch bars
    assert (px.min(axis=2) < 235).mean() > 0.10  # far from a blank page
    # The map's presence cells are viridis: plenty of its blues and teals.
    assert sum(near(c, 20) for c in ((59, 82, 139), (42, 120, 142), (33, 145, 140))) > 10_000


def test_browser_prints_to_a4_pages(sample):
    chromium_or_skip()
    from visibility.report.browser import print_to_pdf

    pdf = print_to_pdf(sample["page"], sample["folder"] / "report.pdf")
    keep_artefact(pdf)
    raw = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page\b", raw))
    boxes = {tuple(round(float(v)) for v in box.split())
             for box in re.findall(rb"/MediaBox\s*\[([^\]]*)\]", raw)}
    assert 2 <= pages <= 8
    assert boxes == {(0, 0, 595, 842)}  # A4 in points


def test_page_fits_the_a4_text_width(sample, tmp_path):
    """No part of the page is wider than A4's text column (210 mm less the margins)."""
    chromium_or_skip()
    from visibility.report.browser import run_chromium

    probe = tmp_path / "probe.html"
    html = re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", sample["html"])
    probe.write_text(html.replace("</body>", "<script>document.body.setAttribute('data-width', "
                                  "document.documentElement.scrollWidth)</script></body>"))
    width = round((210 - 22) / 25.4 * 96)  # the @page margins are 11 mm each side
    dom = run_chromium(probe, "--dump-dom", f"--window-size={width},1200").stdout
    assert int(re.search(r'data-width="(\d+)"', dom).group(1)) <= width
