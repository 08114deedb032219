"""Map layers (wards, H3 presence cells, stations) and the static map of the report.

Layers are GeoDataFrames in WGS84 longitude/latitude (EPSG:4326): the same
layers are drawn in the page and written by ``--export`` for GIS tools.
"""

from __future__ import annotations

from .charts import LINE_COLOUR, WIDTH_IN, new_figure, style, to_svg

CRS = "EPSG:4326"
#: Resolution of the presence cells, which the map embeds as an image (thousands of hexagons
#: as vector paths would make the page several times larger for no visible gain).
CELL_DPI = 150

WARD_FIELDS = ("code", "name", "officers", "shifts", "duty_hours", "visible_share", "status",
               "on_patch_share", "off_patch_share", "in_station_share", "transit_share",
               "no_signal_share", "change_points")


def ward_layer(store, data: dict):
    """The scope's wards with their figures."""
    import geopandas as gpd
    import shapely

    codes = data["scope"]["wards"]
    rows = dict(
        (r[0], r[1]) for r in store.con.execute(
            "SELECT ward_code, geometry FROM wards WHERE list_contains(?, ward_code)", [codes]
        ).fetchall())
    figures = {w["code"]: w for w in data["wards"]}
    records = [{k: figures[c].get(k) for k in WARD_FIELDS} for c in codes]
    geoms = shapely.from_wkb([rows[c] for c in codes]) if codes else []
    return gpd.GeoDataFrame(records, geometry=list(geoms), crs=CRS)


def cell_layer(data: dict):
    """H3 cells with the officer-minutes on patch in each."""
    import geopandas as gpd
    import h3
    import numpy as np

    from ..boundaries import cell_polygons

    cells = data["cells"]
    ints = np.array([h3.str_to_int(c["cell"]) for c in cells], dtype=np.uint64)
    return gpd.GeoDataFrame(
        {"cell": [c["cell"] for c in cells],
         "officer_minutes": [c["officer_minutes"] for c in cells],
         "wards": [c["wards"] for c in cells]},
        geometry=list(cell_polygons(ints)) if len(ints) else [], crs=CRS)


def station_layer(store, bounds=None):
    """Stations (their stored geometry), those within ``bounds`` (west, south, east, north)."""
    import geopandas as gpd
    import shapely

    rows = store.con.execute(
        "SELECT station_id, name, geometry, radius_m FROM stations ORDER BY station_id").fetchall()
    frame = gpd.GeoDataFrame(
        {"station_id": [r[0] for r in rows], "name": [r[1] for r in rows],
         "radius_m": [r[3] for r in rows]},
        geometry=list(shapely.from_wkb([r[2] for r in rows])) if rows else [], crs=CRS)
    if bounds is not None and len(frame):
        frame = frame[frame.intersects(shapely.box(*bounds))]
    return frame


def padded_bounds(frame, pad: float = 0.04):
    west, south, east, north = frame.total_bounds
    dx, dy = (east - west) * pad, (north - south) * pad
    return west - dx, south - dy, east + dx, north + dy


def static_map(wards, cells, stations, line: float, amber: float, attribution: str) -> str:
    """Two panels: wards shaded by visible share; H3 presence over ward outlines; stations."""
    import numpy as np
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D
    from matplotlib.ticker import FuncFormatter, NullFormatter

    west, south, east, north = padded_bounds(wards) if len(wards) else (0, 0, 1, 1)
    mid_lat = (south + north) / 2
    aspect = 1 / np.cos(np.radians(mid_lat))
    panel_w = WIDTH_IN / 2
    panel_h = min(max(panel_w * (north - south) * aspect / max(east - west, 1e-9), 1.6), 4.2)
    with style("map"):
        fig = new_figure(WIDTH_IN, panel_h + 0.95)
        ax1, ax2 = fig.subplots(1, 2)
        rag, norm = rag_colours(wards, line, amber)
        has = wards[wards["visible_share"].notna()]
        none = wards[wards["visible_share"].isna()]
        if len(has):
            has.plot(ax=ax1, column="visible_share", cmap=rag, norm=norm, edgecolor="#333",
                     linewidth=0.6)
        if len(none):
            none.plot(ax=ax1, color="#eeeeee", edgecolor="#333", linewidth=0.6, hatch="///")
        for _, w in wards.iterrows():
            p = w.geometry.representative_point()
            share = "no data" if w["visible_share"] is None or w["visible_share"] != w["visible_share"] \
                else f"{w['visible_share']:.0%}"
            name = shorten(str(w["name"]), 18)
            ax1.annotate(f"{name}\n{share}", (p.x, p.y), ha="center", va="center", fontsize=5.2,
                         color="#111", bbox={"boxstyle": "round,pad=0.15", "fc": "white",
                                             "ec": "none", "alpha": 0.7})
        sm = _mappable(rag, norm)
        cb1 = fig.colorbar(sm, ax=ax1, orientation="horizontal", fraction=0.05, pad=0.02,
                           aspect=30)
        cb1.ax.axvline(line, color=LINE_COLOUR, lw=1.2)
        cb1.set_label(f"visible share of duty time (line {line:.0%})", fontsize=6.5)
        cb1.ax.xaxis.set_major_formatter(_pct())
        cb1.ax.tick_params(labelsize=6)
        ax1.set_title("Visible share by ward")

        wards.boundary.plot(ax=ax2, color="#444", linewidth=0.6, zorder=3)
        if len(cells):
            mins = cells["officer_minutes"].to_numpy()
            norm2 = LogNorm(vmin=max(mins.min(), 0.1), vmax=max(mins.max(), 1.0))
            cells.plot(ax=ax2, column="officer_minutes", cmap="viridis", norm=norm2,
                       linewidth=0, zorder=2, rasterized=True)
            cb2 = fig.colorbar(_mappable("viridis", norm2), ax=ax2, orientation="horizontal",
                               fraction=0.05, pad=0.02, aspect=30)
            cb2.set_label("officer-minutes on patch per H3 cell", fontsize=6.5)
            cb2.ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            cb2.ax.xaxis.set_minor_formatter(NullFormatter())
            cb2.ax.tick_params(labelsize=6)
        else:
            ax2.text(0.5, 0.5, "no presence recorded", transform=ax2.transAxes, ha="center")
        ax2.set_title("Where officers were on patch")
        handles = []
        for ax in (ax1, ax2):
            if len(stations):
                pts = stations.geometry.representative_point()
                ax.scatter(pts.x, pts.y, marker="s", s=16, color="black", edgecolor="white",
                           linewidth=0.6, zorder=5)
            ax.set_xlim(west, east)
            ax.set_ylim(south, north)
            ax.set_aspect(aspect)
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_visible(True)
                spine.set_color("#bbb")
            ax.set_xlabel("longitude (west to east)", fontsize=6)
            ax.set_ylabel("latitude (south to north)", fontsize=6)
        if len(stations):
            handles.append(Line2D([], [], marker="s", ls="", color="black", markersize=4,
                                  label="police station"))
            ax2.legend(handles=handles, loc="lower right", fontsize=6, frameon=True,
                       framealpha=0.8, borderpad=0.3)
        fig.supxlabel(attribution, fontsize=6, color="#444", x=0.005, ha="left")
        return to_svg(fig, "map", dpi=CELL_DPI,
                      title="Map: the wards shaded by visible share, and officer presence per "
                            "H3 cell over the ward outlines, with stations marked")


def shorten(text: str, width: int) -> str:
    """The text cut to ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else text[:width - 1].rstrip() + "…"


def rag_colours(wards, line: float, amber: float):
    """A colour scale that changes hue exactly at the status thresholds: red, amber, green."""
    from matplotlib.colors import LinearSegmentedColormap, Normalize

    shares = [v for v in wards["visible_share"] if v is not None and v == v]
    vmin = min(shares + [line - 2 * max(amber, 0.025)])
    vmin = max(0.0, int(vmin * 20) / 20)
    norm = Normalize(vmin=vmin, vmax=1.0)
    near, at = float(norm(line - amber)), float(norm(line))
    eps = 1e-6
    stops = [(0.0, "#a3261c"), (max(near - eps, eps), "#f08a7e")]
    if at - near > 2 * eps:
        stops += [(near, "#f2b84b"), (at - eps, "#fbe3a6")]
    stops += [(at, "#cfe9d5"), (1.0, "#1a7f37")]
    return LinearSegmentedColormap.from_list("rag", stops), norm


def _mappable(cmap, norm):
    from matplotlib.cm import ScalarMappable

    return ScalarMappable(norm=norm, cmap=cmap)


def _pct():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)
