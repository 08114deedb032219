"""The report's charts: matplotlib figures written as inline SVG.

Text stays text in the SVG (``svg.fonttype = none``), which matplotlib escapes,
so a name from the data can never become markup; mathtext is off, so a ``$`` in
a name is just a dollar sign. Each SVG gets its own id prefix (several are
inlined in one page), a ``<title>`` and ``role="img"``, and loses the metadata
block (it names matplotlib's web site: the page holds no external URL at all).
"""

from __future__ import annotations

import io
import re
import warnings
from contextlib import contextmanager

from markupsafe import escape

#: Colours of the states (Okabe-Ito, safe for colour-blind readers), in STATE_NAMES order.
STATE_COLOURS = {
    "on_patch": "#009E73", "off_patch": "#E69F00", "in_station": "#0072B2",
    "transit": "#CC79A7", "no_signal": "#9A9A9A",
}
STATE_LABELS = {
    "on_patch": "On patch (visible)", "off_patch": "Off patch", "in_station": "In station",
    "transit": "Transit", "no_signal": "No signal",
}
#: Status colours: fill and text (the words are always shown beside them).
STATUS_COLOURS = {"meets": "#1a7f37", "near": "#b7791f", "below": "#c0352b", "no data": "#888888"}
LINE_COLOUR = "#222222"
WIDTH_IN = 7.2  # a figure as wide as the A4 text column

_RC = {
    "svg.fonttype": "none",
    "text.parse_math": False,
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.titlesize": 9,
    "axes.titleweight": "bold",
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlelocation": "left",
}


@contextmanager
def style(salt: str):
    import matplotlib

    with matplotlib.rc_context({**_RC, "svg.hashsalt": salt}), warnings.catch_warnings():
        # A name with a character the bundled font lacks still renders in the browser.
        warnings.filterwarnings("ignore", message=r"Glyph .* missing from")
        yield


def new_figure(width_in: float, height_in: float, layout: str | None = "constrained"):
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), layout=layout)


def to_svg(fig, prefix: str, title: str, dpi: int = 150) -> str:
    """The figure as an SVG element ready to inline in HTML (``dpi``: of any rasterized layer)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", metadata={"Date": None}, dpi=dpi)
    return inline_svg(buf.getvalue(), prefix, title)


def inline_svg(text: str, prefix: str, title: str) -> str:
    text = re.sub(r"<\?xml[^>]*\?>\s*", "", text)
    text = re.sub(r"<!DOCTYPE[^>]*>\s*", "", text)
    text = re.sub(r"<metadata>.*?</metadata>\s*", "", text, flags=re.S)
    # Prefix every id and every reference to one, so inlined SVGs cannot collide.
    text = re.sub(r'\bid="([^"]+)"', lambda m: f'id="{prefix}-{m.group(1)}"', text)
    text = re.sub(r'url\(#([^)]+)\)', lambda m: f"url(#{prefix}-{m.group(1)})", text)
    text = re.sub(r'href="#([^"]+)"', lambda m: f'href="#{prefix}-{m.group(1)}"', text)
    title_id = f"{prefix}-title"
    text = re.sub(r"<svg\b", f'<svg role="img" aria-labelledby="{title_id}" class="chart"', text,
                  count=1)
    text = re.sub(r"(<svg\b[^>]*>)", lambda m: f'{m.group(1)}<title id="{title_id}">'
                  f"{escape(title)}</title>", text, count=1)
    return text.strip()


def _pct_axis(axis) -> None:
    from matplotlib.ticker import PercentFormatter

    axis.set_major_formatter(PercentFormatter(1.0, decimals=0))


# -- the charts ---------------------------------------------------------------------------
def trend_chart(trend: list[dict], line: float, amber: float, label: str) -> str:
    """Visible share per week, with the pledge line and the amber band."""
    with style("trend"):
        fig = new_figure(WIDTH_IN * 0.5, 2.3)
        ax = fig.add_subplot()
        xs = list(range(len(trend)))
        ys = [w["visible_share"] for w in trend]
        known = [(x, y) for x, y in zip(xs, ys) if y is not None]
        ax.axhspan(line - amber, line, color=STATUS_COLOURS["near"], alpha=0.15, lw=0,
                   label=f"near the line (within {amber * 100:g} points)")
        ax.axhline(line, color=LINE_COLOUR, ls="--", lw=1, label=f"pledge line {line:.0%}")
        if known:
            kx, ky = zip(*known)
            ax.plot(kx, ky, color=STATE_COLOURS["on_patch"], marker="o", ms=4, lw=1.6,
                    label=label)
            for x, y in known[-1:]:
                ax.annotate(f"{y:.1%}", (x, y), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=7)
        missing = [x for x, y in zip(xs, ys) if y is None]
        if missing:
            ax.plot(missing, [0.03] * len(missing), ls="", marker="x", ms=4, color="#888",
                    transform=ax.get_xaxis_transform(), label="week not analysed")
        lows = [y for y in ys if y is not None] + [line - amber]
        ax.set_ylim(max(0.0, min(lows) - 0.1), 1.0)
        ax.set_xlim(-0.5, len(trend) - 0.5)
        ax.set_xticks(xs, [w["week"].split("-")[1] for w in trend])
        _pct_axis(ax.yaxis)
        ax.set_xlabel("ISO week")
        ax.set_ylabel("Visible share of duty time")
        ax.set_title("Week on week")
        ax.legend(loc="upper left", fontsize=6, frameon=False, ncols=1)
        return to_svg(fig, "trend", "Visible share of duty time per week, against the pledge line")


def breakdown_chart(wards: list[dict], line: float) -> str:
    """Where duty time went, per ward: stacked bars of the five states."""
    from .data import STATE_NAMES
    from .maps import shorten

    rows = [w for w in wards if w["duty_hours"]]
    with style("breakdown"):
        fig = new_figure(WIDTH_IN, 0.9 + 0.22 * max(len(rows), 1))
        ax = fig.add_subplot()
        names = [shorten(w["name"], 28) for w in rows]
        ys = list(range(len(rows)))[::-1]
        left = [0.0] * len(rows)
        for state in STATE_NAMES:
            vals = [w[f"{state}_share"] or 0.0 for w in rows]
            ax.barh(ys, vals, left=left, height=0.72, color=STATE_COLOURS[state],
                    label=STATE_LABELS[state], edgecolor="white", linewidth=0.4)
            for y, v, lft in zip(ys, vals, left):
                if state == "on_patch" and v >= 0.08:
                    ax.text(lft + v - 0.01, y, f"{v:.0%}", ha="right", va="center", fontsize=6.5,
                            color="white", fontweight="bold")
            left = [a + b for a, b in zip(left, vals)]
        ax.axvline(line, color=LINE_COLOUR, ls="--", lw=1)
        ax.text(line, 1.0, f" pledge line {line:.0%}", transform=ax.get_xaxis_transform(),
                ha="left", va="bottom", fontsize=6.5)
        ax.set_yticks(ys, names)
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.6, len(rows) - 0.4)
        _pct_axis(ax.xaxis)
        ax.set_xlabel("Share of rostered duty time")
        ax.set_ylabel("Ward")
        ax.set_title("Where duty time went, per ward", pad=12)
        fig.legend(loc="outside lower center", ncols=5, fontsize=7, frameon=False)
        return to_svg(fig, "breakdown", "Share of duty time on patch, off patch, in station, in "
                                        "transit and with no signal, per ward")


def histogram_chart(shares: list[float], line: float, amber: float) -> str:
    """Officer-shift visible shares in 5-point bins, with the pledge line."""
    import numpy as np

    with style("histogram"):
        fig = new_figure(WIDTH_IN * 0.5, 2.3)
        ax = fig.add_subplot()
        bins = np.linspace(0, 1, 21)
        counts, edges = np.histogram(np.clip(shares, 0, 1), bins=bins)
        colours = [STATUS_COLOURS["meets"] if lo >= line - 1e-9 else
                   STATUS_COLOURS["near"] if lo >= line - amber - 1e-9 else STATUS_COLOURS["below"]
                   for lo in edges[:-1]]
        ax.bar(edges[:-1], counts, width=0.05, align="edge", color=colours, edgecolor="white",
               linewidth=0.5)
        below = sum(s < line for s in shares)
        ax.axvline(line, color=LINE_COLOUR, ls="--", lw=1,
                   label=f"pledge line {line:.0%}: {below} of {len(shares)} shifts below")
        ax.legend(loc="upper left", fontsize=6, frameon=False)
        ax.set_xlim(0, 1)
        _pct_axis(ax.xaxis)
        ax.set_xlabel("Visible share of the shift")
        ax.set_ylabel("Officer-shifts")
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_title("Officer-shifts by visible share")
        return to_svg(fig, "histogram", "Histogram of officer-shift visible shares with the "
                                        "pledge line")


def hour_heatmap(hour_of_week: dict) -> str:
    """Officers visibly on patch, on average, per local day and hour."""
    import numpy as np

    grid = np.array([[np.nan if v is None else v for v in row]
                     for row in hour_of_week["mean_officers"]], dtype=float)
    with style("hours"):
        fig = new_figure(WIDTH_IN, 2.15)
        ax = fig.add_subplot()
        vmax = np.nanmax(grid) if np.isfinite(grid).any() else 1.0
        im = ax.imshow(grid, aspect="auto", cmap="Greens", vmin=0, vmax=max(vmax, 1e-9),
                       interpolation="nearest")
        for d in range(7):
            for h in range(24):
                v = grid[d, h]
                if np.isfinite(v):
                    ax.text(h, d, f"{v:.0f}" if v >= 0.5 else ("0" if v == 0 else "<1"),
                            ha="center", va="center", fontsize=5.5,
                            color="white" if v > 0.6 * vmax else "#222")
        ax.set_xticks(range(24), [f"{h:02d}" for h in range(24)])
        ax.set_yticks(range(7), hour_of_week["days"])
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_xlabel("Local hour of the day (start)")
        ax.set_ylabel("Day")
        ax.set_title("Officers visibly on patch, average over each hour")
        cbar = fig.colorbar(im, ax=ax, pad=0.01, fraction=0.03)
        cbar.set_label("officers on patch", fontsize=7)
        return to_svg(fig, "hours", "Heat map: officers visibly on patch per local day and hour")


def peak_heatmaps(peaks: dict) -> str:
    """Per ward, day x hour: the share of each peak hour with an officer of the ward on patch."""
    import matplotlib
    import numpy as np

    from .maps import shorten

    wards = peaks["wards"]
    ncols = 4 if len(wards) > 3 else max(len(wards), 1)
    nrows = max(1, -(-len(wards) // ncols))
    with style("peaks"):
        # Laid out by hand: constrained layout over a dozen small axes is slow.
        height = 0.55 + 0.95 * nrows
        fig = new_figure(WIDTH_IN, height, layout=None)
        top, bottom = 1 - 0.42 / height, 0.42 / height
        fig.subplots_adjust(left=0.05, right=0.9, top=top, bottom=bottom, wspace=0.18,
                            hspace=0.55)
        axes = np.atleast_1d(fig.subplots(nrows, ncols, squeeze=False).ravel())
        cmap = matplotlib.colormaps["RdYlGn"].with_extremes(bad="#eeeeee")
        image = None
        for ax, w in zip(axes, wards):
            grid = np.array([[np.nan if v is None else v for v in row]
                             for row in peaks["hours"][w["code"]]], dtype=float)
            image = ax.imshow(grid, aspect="auto", cmap=cmap, vmin=0, vmax=1,
                              interpolation="nearest")
            cov = "no peak time" if w["coverage"] is None else f"{w['coverage']:.0%}"
            ax.set_title(f"{shorten(str(w['name']), 20)}: {cov}", fontsize=6.5,
                         fontweight="normal", pad=2)
            ax.set_xticks([0, 6, 12, 18], ["00", "06", "12", "18"], fontsize=5.5)
            ax.set_yticks(range(7), ["M", "T", "W", "T", "F", "S", "S"], fontsize=5.5)
            ax.tick_params(length=0, pad=1)
            for spine in ax.spines.values():
                spine.set_visible(False)
        for ax in axes[len(wards):]:
            ax.set_visible(False)
        fig.text(0.47, 0.04 / height, "Local hour of the day (grey: outside the peak windows)",
                 ha="center", va="bottom", fontsize=7)
        fig.text(0.005, 0.5, "Day", rotation=90, ha="left", va="center", fontsize=7)
        fig.text(0.01, 1 - 0.05 / height, "Peak-period coverage per ward: share of each peak "
                 "hour with an officer on patch", ha="left", va="top", fontsize=8.5,
                 fontweight="bold")
        if image is not None:
            cax = fig.add_axes((0.92, bottom, 0.015, top - bottom))
            cbar = fig.colorbar(image, cax=cax)
            cbar.ax.yaxis.set_major_formatter(_percent())
            cbar.ax.tick_params(labelsize=6)
            cbar.set_label("covered", fontsize=6.5)
        return to_svg(fig, "peaks", "Heat maps per ward: share of each peak hour of the week "
                                    "with at least one officer on patch")


def _percent():
    from matplotlib.ticker import PercentFormatter

    return PercentFormatter(1.0, decimals=0)
