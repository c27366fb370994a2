"""Offline figures for the briefings — a parcel map, bar charts and line charts — as PNG bytes.

Drawn on plain :class:`matplotlib.figure.Figure` objects with the Agg canvas (never pyplot, never a
change to the global ``rcParams``), so a web server can draw in several threads at once. Every text
is set in the CJK sans face of :func:`landrenew.reports.fonts.cjk_fonts`; the texts passed in are
already in the reader's language. Colours match the web map.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from matplotlib import dates as mdates
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch, PathPatch, Polygon, Rectangle
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter

from landrenew.reports.fonts import FontFile, cjk_fonts

try:  # matplotlib >= 3.11 can pick a face inside a .ttc collection
    from matplotlib.font_manager import FontPath
except ImportError:  # older: the collection's first face (for Noto CJK the Japanese one)
    FontPath = None

#: tag colours, in the profile's tag order (as on the web map)
TAG_COLOURS = ["#d62728", "#8c564b", "#9467bd", "#ff7f0e", "#1f77b4", "#17becf", "#e377c2"]
#: 亩均 evaluation classes; :data:`OTHER_COLOUR` for any other class or not rated
CLASS_COLOURS = {"A": "#1a9850", "B": "#66bd63", "C": "#fdae61", "D": "#d73027"}
OTHER_COLOUR = "#878787"
#: district fills, cycled in the districts' order, and their dashed outlines
DISTRICT_FILLS = ["#f3efe4", "#e9f1ea", "#e8eef6", "#f4e9ec", "#eef0e4", "#ece8f4", "#e6f2f1", "#f6eee2"]
DISTRICT_OUTLINE = "#5b6770"
#: parcels not flagged by any tag
UNFLAGGED_COLOUR = "#c7ced6"
#: series colours when the caller gives none (matplotlib's tab10)
DEFAULT_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                   "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]
MAP_BACKGROUND = "#f7f9fb"

_PARCEL_EDGE_PT = 0.35  # an edge of the fill colour keeps sub-pixel parcels visible at city scale
_CHUNK = 20_000  # parcels per drawn path: keeps each path (and Agg's cell buffer) moderate
_LEGEND_PT = 8  # legend text size of the charts
_MAX_VALUE_LABELS = 40  # more bars than this and the value labels become clutter


# -- fonts and output ---------------------------------------------------------------------------

def _font(bold: bool = False) -> FontProperties:
    """The CJK sans face (a given face of a ``.ttc`` collection, not just its first one)."""
    fonts = cjk_fonts()
    f: FontFile = fonts.sans_bold if bold else fonts.sans
    return FontProperties(fname=FontPath(str(f.path), f.index) if FontPath else str(f.path))


def _png(fig: Figure, dpi: int) -> bytes:
    """Set every text of ``fig`` in the CJK face (keeping its size and weight) and save as PNG."""
    regular, bold = _font(), _font(bold=True)
    for text in fig.findobj(Text):
        size = text.get_fontsize()
        weight = text.get_fontweight()
        is_bold = weight == "bold" or (isinstance(weight, int | float) and weight >= 600)
        text.set_fontproperties(bold if is_bold else regular)
        text.set_fontsize(size)
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _number(value: float) -> str:
    """``1,234`` for whole numbers, else up to two decimals (``1,234.5``); ASCII minus."""
    if not math.isfinite(value):
        return ""
    if abs(value - round(value)) < 1e-9:
        return f"{round(value):,}"
    return f"{value:,.2f}".rstrip("0").rstrip(".")


# -- the map ------------------------------------------------------------------------------------

def nice_length(span_m: float) -> float:
    """A scale bar length for a map ``span_m`` metres wide: the largest 1, 2 or 5 × 10^k metres not
    longer than a fifth of the span (37,000 m → 5,000 m)."""
    if not span_m > 0 or not math.isfinite(span_m):
        raise ValueError(f"map span must be a positive length, not {span_m!r}")
    target = span_m / 5
    k = math.floor(math.log10(target))
    for mantissa in (5, 2, 1):
        if mantissa * 10.0**k <= target * (1 + 1e-9):
            return mantissa * 10.0**k
    return 5 * 10.0 ** (k - 1)  # log10 rounding put target just under 10^k


def _polygons_path(geoms: np.ndarray) -> Path | None:
    """All polygons of ``geoms`` as one compound path (exteriors anticlockwise, holes clockwise, so
    the non-zero fill rule leaves holes empty)."""
    parts = shapely.get_parts(shapely.get_parts(geoms))  # twice: a collection may hold multipolygons
    parts = parts[shapely.get_type_id(parts) == 3]  # polygons only (a collection may hold lines)
    parts = parts[~shapely.is_empty(parts)]
    if len(parts) == 0:
        return None
    rings = shapely.get_rings(shapely.orient_polygons(parts))
    coords, ring_index = shapely.get_coordinates(rings, return_index=True)
    codes = np.full(len(coords), Path.LINETO, dtype=Path.code_type)
    starts = np.flatnonzero(np.r_[True, ring_index[1:] != ring_index[:-1]])
    codes[starts] = Path.MOVETO
    codes[np.r_[starts[1:], len(coords)] - 1] = Path.CLOSEPOLY
    return Path(coords, codes)


def _draw_polygons(ax: Axes, geoms: np.ndarray, colour: str, zorder: float) -> None:
    """Fill ``geoms`` in ``colour`` with a thin edge of the same colour, a few paths in all.

    Patches go in with ``add_artist``, not ``add_patch``: the limits are set by hand, and
    ``add_patch`` would walk every vertex in Python to update them (seconds for 100,000 parcels).
    """
    for i in range(0, len(geoms), _CHUNK):
        path = _polygons_path(geoms[i:i + _CHUNK])
        if path is not None:
            ax.add_artist(PathPatch(path, facecolor=colour, edgecolor=colour,
                                   linewidth=_PARCEL_EDGE_PT, zorder=zorder))


def _to_metric(frame: gpd.GeoDataFrame, crs: str) -> gpd.GeoDataFrame:
    """``frame`` in ``crs`` (a frame without a CRS is taken to be in it already), non-empty rows."""
    geoms = np.asarray(frame.geometry.values)
    frame = frame[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))]
    if frame.crs is None:
        return frame.set_crs(crs)
    return frame.to_crs(crs)


def _scale_bar(ax: Axes, x0: float, x1: float, y0: float, y1: float, unit: str) -> None:
    """Alternating black/white segments of a round length, bottom right, labelled in km."""
    w, h = x1 - x0, y1 - y0
    length = nice_length(w)
    mantissa = round(length / 10 ** math.floor(math.log10(length)))
    segments = {1: 2, 2: 4, 5: 5}[mantissa]
    right, bottom, height = x1 - 0.06 * w, y0 + 0.05 * h, min(w, h) * 0.012
    left = right - length
    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for i in range(segments):
        ax.add_artist(Rectangle((left + i * length / segments, bottom), length / segments, height,
                               facecolor="black" if i % 2 == 0 else "white", edgecolor="black",
                               linewidth=0.6, zorder=20))
    for x, label in ((left, "0"), (right, f"{_number(length / 1000)} {unit}")):
        ax.text(x, bottom + height * 1.6, label, ha="center", va="bottom", fontsize=8,
                zorder=21, path_effects=halo)


def _north_arrow(ax: Axes, x0: float, x1: float, y0: float, y1: float, label: str) -> None:
    """A filled arrow (black left half, white right half) with ``label`` above, top right."""
    w, h = x1 - x0, y1 - y0
    s = 0.07 * min(w, h)
    cx, tip = x1 - 0.06 * w, y1 - 0.06 * h - 0.5 * s
    left, right, notch = (cx - 0.38 * s, tip - s), (cx + 0.38 * s, tip - s), (cx, tip - 0.72 * s)
    ax.add_artist(Polygon([(cx, tip), left, notch], closed=True, facecolor="black",
                         edgecolor="black", linewidth=0.8, zorder=20))
    ax.add_artist(Polygon([(cx, tip), notch, right], closed=True, facecolor="white",
                         edgecolor="black", linewidth=0.8, zorder=20))
    ax.text(cx, tip + 0.08 * s, label, ha="center", va="bottom", fontsize=11, fontweight="bold",
            zorder=21, path_effects=[patheffects.withStroke(linewidth=2.5, foreground="white")])


def parcel_map(parcels: gpd.GeoDataFrame, districts: gpd.GeoDataFrame,
               categories: list[tuple[str, str, str]], *, title: str, legend_title: str,
               scale_label: str = "km", north_label: str = "N", metric_crs: str = "EPSG:4549",
               width_in: float = 7.0, dpi: int = 200) -> bytes:
    """A city map of parcels coloured by category, over the districts, as PNG bytes.

    ``parcels`` are polygons in any CRS with a ``category`` column holding a key of ``categories``
    (``(key, label, colour)`` in legend order; the first is drawn on top; parcels whose category is
    not listed are not drawn). ``districts`` are polygons with ``district_code`` and ``name``. Both
    are projected to ``metric_crs`` (metres; a frame without a CRS is taken to be in it already).
    The extent is the districts' (else the parcels'); the figure's height follows its aspect. A
    legend (bottom left), a scale bar in ``scale_label`` (bottom right) and a north arrow (top right)
    are always drawn, even without parcels.
    """
    parcels = _to_metric(parcels, metric_crs)
    districts = _to_metric(districts, metric_crs)
    frame = districts if len(districts) else parcels
    if len(frame):
        bx0, by0, bx1, by1 = frame.total_bounds
    else:
        bx0, by0, bx1, by1 = 0.0, 0.0, 10_000.0, 10_000.0
    dx, dy = max(bx1 - bx0, 1.0), max(by1 - by0, 1.0)
    margin = 0.04 * max(dx, dy)
    x0, x1, y0, y1 = bx0 - margin, bx0 + dx + margin, by0 - margin, by0 + dy + margin
    height_in = min(max(width_in * (y1 - y0) / (x1 - x0), 0.4 * width_in), 1.6 * width_in)

    fig = Figure(figsize=(width_in, height_in), facecolor="white")
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_facecolor(MAP_BACKGROUND)
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_edgecolor("#b8c0c8")
        spine.set_linewidth(0.6)
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_title(title, fontsize=13, fontweight="bold", pad=8)

    halo = [patheffects.withStroke(linewidth=2.5, foreground="white")]
    for i, (geom, name) in enumerate(zip(districts.geometry.values, districts["name"], strict=True)):
        path = _polygons_path(np.array([geom]))
        if path is None:
            continue
        fill = DISTRICT_FILLS[i % len(DISTRICT_FILLS)]
        ax.add_artist(PathPatch(path, facecolor=fill, edgecolor="none", zorder=1))
        ax.add_artist(PathPatch(path, facecolor="none", edgecolor=DISTRICT_OUTLINE, linewidth=0.9,
                               linestyle=(0, (5, 3)), zorder=10))
        parts = shapely.get_parts(geom)
        where = shapely.point_on_surface(parts[np.argmax(shapely.area(parts))])
        ax.text(where.x, where.y, str(name), ha="center", va="center", fontsize=9,
                color="#3b4650", zorder=11, path_effects=halo)

    geoms = parcels.geometry.values
    keys = parcels["category"].to_numpy() if "category" in parcels else np.array([])
    for rank, (key, _label, colour) in enumerate(reversed(categories)):
        _draw_polygons(ax, np.asarray(geoms[keys == key]), colour, zorder=2 + rank / 100)

    ax.legend(handles=[Patch(facecolor=c, edgecolor=c, label=label) for _, label, c in categories],
              title=legend_title, loc="lower left", fontsize=8, title_fontsize=9,
              framealpha=0.92, edgecolor="#b8c0c8", fancybox=False).set_zorder(30)

    ax.apply_aspect()  # the limits equal aspect settled on
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    _scale_bar(ax, x0, x1, y0, y1, scale_label)
    _north_arrow(ax, x0, x1, y0, y1, north_label)
    return _png(fig, dpi)


# -- charts -------------------------------------------------------------------------------------

def _series_colours(columns: Sequence[object], colours: list[str] | dict[str, str] | None) -> list[str]:
    """A colour per column: from a dict by name, a list in order, else :data:`DEFAULT_COLOURS`."""
    if isinstance(colours, dict):
        return [colours.get(str(c), colours.get(c, DEFAULT_COLOURS[i % 10]))
                for i, c in enumerate(columns)]
    palette = list(colours) if colours else DEFAULT_COLOURS
    return [palette[i % len(palette)] for i in range(len(columns))]


def _chart(title: str, width_in: float, height_in: float) -> tuple[Figure, Axes]:
    fig = Figure(figsize=(width_in, height_in), facecolor="white", layout="constrained")
    ax = fig.add_subplot()
    fig.suptitle(title, fontsize=13, fontweight="bold")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return fig, ax


def _legend(ax: Axes, n: int) -> None:
    """The series' legend above the plot, under the title (only for several series): as many
    columns as the figure's width holds for its longest label."""
    if n <= 1:
        return
    labels = ax.get_legend_handles_labels()[1]
    longest = max((sum(1.0 if ord(ch) > 0x2E7F else 0.6 for ch in label) for label in labels), default=1.0)
    column_pt = _LEGEND_PT * (longest + 3.5)  # the label, its marker and the spacing
    fits = int(ax.figure.get_figwidth() * 72 * 0.95 // column_pt)
    ax.legend(loc="lower center", bbox_to_anchor=(0.5, 1.0), ncols=max(1, min(n, 6, fits)), fontsize=_LEGEND_PT,
              frameon=False, borderaxespad=0.3, handlelength=1.4, columnspacing=1.2)


def bar_chart(table: pd.DataFrame, *, title: str, ylabel: str,
              colours: list[str] | dict[str, str] | None = None, stacked: bool = True,
              horizontal: bool = False, width_in: float = 7.0, dpi: int = 200) -> bytes:
    """Bars per row of ``table`` (e.g. districts), one series per column (e.g. tags) in legend
    order, stacked or side by side, as PNG bytes.

    ``colours`` is a list in column order or a dict by column name. The value axis (``ylabel``) has
    thousands separators; each bar (or stack total) is labelled with its value while that stays
    readable. Missing values count as 0.
    """
    values = table.apply(pd.to_numeric, errors="coerce").fillna(0.0).to_numpy(dtype=float)
    rows, cols = values.shape if values.ndim == 2 else (0, 0)
    palette = _series_colours(list(table.columns), colours)
    labels = [str(i) for i in table.index]
    height_in = max(2.6, 0.32 * rows * (1 if stacked else max(cols, 1) ** 0.5) + 1.6) \
        if horizontal else width_in * 0.58
    fig, ax = _chart(title, width_in, height_in)
    pos = np.arange(rows, dtype=float)
    bar = ax.barh if horizontal else ax.bar
    width = 0.7 if stacked or cols <= 1 else 0.8 / cols
    base = np.zeros(rows)
    containers = []
    for j in range(cols):
        offset = 0.0 if stacked else (j - (cols - 1) / 2) * width
        extra = {"left": base} if horizontal else {"bottom": base}
        containers.append(bar(pos + offset, values[:, j], width, color=palette[j],
                              label=str(table.columns[j]), **(extra if stacked else {})))
        if stacked:
            base = base + values[:, j]

    value_axis, label_axis = (ax.xaxis, ax.yaxis) if horizontal else (ax.yaxis, ax.xaxis)
    value_axis.set_major_formatter(FuncFormatter(lambda v, _pos: _number(v)))
    value_axis.set_label_text(ylabel, fontsize=9)
    label_axis.set_ticks(pos, labels)
    ax.tick_params(labelsize=8, length=3)
    ax.grid(True, axis="x" if horizontal else "y", color="#e3e7eb", linewidth=0.6)
    ax.set_axisbelow(True)
    if horizontal:
        ax.invert_yaxis()  # first row on top
    elif rows > 6 or max((len(s) for s in labels), default=0) * rows > 40:
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")

    if stacked and cols and rows <= _MAX_VALUE_LABELS:
        totals = values.sum(axis=1)
        ax.bar_label(containers[-1], labels=[_number(t) for t in totals], padding=2, fontsize=7)
    elif not stacked and rows * cols <= _MAX_VALUE_LABELS:
        for c in containers:
            ax.bar_label(c, fmt=_number, padding=2, fontsize=7 if cols > 1 else 8)
    ax.margins(**({"x": 0.08} if horizontal else {"y": 0.08}))
    _legend(ax, cols)
    return _png(fig, dpi)


def _is_dates(index: pd.Index) -> bool:
    return len(index) > 0 and (isinstance(index, pd.DatetimeIndex)
                               or all(isinstance(v, date) for v in index))


def line_chart(table: pd.DataFrame, *, title: str, ylabel: str, colours: list[str] | None = None,
               percent: bool = False, reference: float | None = None, reference_label: str = "",
               width_in: float = 7.0, dpi: int = 200) -> bytes:
    """One line with markers per column of ``table`` over its index (dates or labels), as PNG bytes.

    With ``percent`` the values are fractions shown as per cent (``0.85`` → ``85%``); ``reference``
    (same unit as the values, e.g. ``1.0`` for the 100 % target) draws a dashed horizontal line
    labelled ``reference_label``. Dates are shown as ``2026-05`` (all on the 1st) or ``2026-05-18``.
    """
    fig, ax = _chart(title, width_in, width_in * 0.55)
    palette = _series_colours(list(table.columns), colours)
    dated = _is_dates(table.index)
    x = pd.to_datetime(pd.Index(table.index)).to_pydatetime() if dated else np.arange(len(table))
    for j, column in enumerate(table.columns):
        y = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)
        ax.plot(x, y, color=palette[j], marker="o", markersize=3.5, linewidth=1.6, label=str(column))
    if dated:
        monthly = all(d.day == 1 for d in x)
        ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=8))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m" if monthly else "%Y-%m-%d"))
    else:
        ax.set_xticks(x, [str(i) for i in table.index])
    if dated or len(table) > 8:
        for tick in ax.get_xticklabels():
            tick.set_rotation(30)
            tick.set_horizontalalignment("right")
            tick.set_rotation_mode("anchor")

    if reference is not None:
        ax.axhline(reference, color="#555555", linestyle="--", linewidth=1.0, zorder=1)
        if reference_label:
            ax.text(1.0, reference, reference_label, transform=ax.get_yaxis_transform(),
                    ha="right", va="bottom", fontsize=8, color="#555555")

    def fmt(v: float, _pos: int | None = None) -> str:
        if not percent:
            return _number(v)
        lo, hi = ax.get_ylim()
        return f"{v * 100:.{0 if hi - lo > 0.05 else 1}f}%"

    ax.yaxis.set_major_formatter(FuncFormatter(fmt))
    ax.set_ylabel(ylabel, fontsize=9)
    ax.tick_params(labelsize=8, length=3)
    ax.grid(True, axis="y", color="#e3e7eb", linewidth=0.6)
    _legend(ax, len(table.columns))
    return _png(fig, dpi)
