"""Exact point-in-polygon: which polygon (ward) covers a point.

The answer is GEOS's (shapely's) ``intersects_xy`` for a closed polygon: a
point on any ring -- outer or hole -- counts as inside. The test is the
crossing-number one. A horizontal ray runs from the point towards +x; each
edge whose closed y-range holds the point's y is examined, and:

* the point equal to an edge's end point, or lying on a horizontal edge, or
  exactly on the line of an edge that straddles its y, is *on the boundary*
  (covered, whatever else the other edges say);
* otherwise an edge counts as a crossing when its lower end is at or below
  the point's y, its upper end strictly above, and the point lies strictly to
  the left of the edge directed upwards (so a vertex the ray passes through
  is counted once, by one of its two edges, and horizontal edges never count).

The crossings of all rings of a polygon (every part's shell and holes) are
counted together and the point is inside when their number is odd. For a
valid (Multi)Polygon that is "inside the shell and outside every hole of some
part", and it is exactly the rule of GEOS's indexed point-in-area locator,
which prepared geometries use.

GEOS (3.14) takes the orientation in double-double arithmetic, which is exact
whenever the coordinate differences are exact in float64 (always for London,
whose latitudes share one binade). When they are not -- coordinates of very
different magnitudes, e.g. longitudes of 1e-7 and 0.1 and latitudes near 0 --
GEOS can call a point lying exactly on an edge outside; this kernel does not.

Everything hinges on the sign of one 2x2 determinant, the orientation of the
point against an edge. It is computed exactly: a floating-point estimate is
trusted when it exceeds Shewchuk's error bound (Shewchuk 1997, "Adaptive
precision floating-point arithmetic and fast robust geometric predicates",
stage A of orient2d); otherwise the determinant is rebuilt from error-free
transformations (two-sum, two-product) as a non-overlapping expansion whose
largest component carries the exact sign. That is exact for every finite
coordinate between 2**-400 and 2**500 in magnitude (or zero), i.e. anything
in degrees or metres; only partial products below the smallest normal
double could lose bits.

Speed comes from an index of horizontal bands per polygon: the polygon's
y-range is cut into as many bands as it has edges, and each band lists the
edges whose y-range meets it, so a point looks only at the few edges of its
band. A value's band is ``int((y - ymin) * inv_h)`` clamped to the range; that
is monotone in ``y``, so an edge filed under the bands of its two end points'
y is found by every point whose y lies between them. Edges are stored once,
lower end first and sorted by that end's y, however many polygons (two wards
sharing a boundary) and bands list them; bands hold 32-bit edge numbers. That
keeps the index of all London's wards in a few hundred kilobytes.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numba import prange

from visibility.errors import KernelInputError
from visibility.kernels._jit import jit, pjit

#: Unit roundoff of float64 and Shewchuk's bound for the orientation estimate.
_EPS = 2.0**-53
_ORIENT_BOUND = (3.0 + 16.0 * _EPS) * _EPS
#: Dekker's splitter: a float64 becomes two halves of 26 significant bits each.
_SPLITTER = 2.0**27 + 1.0
NO_POLYGON = -1


class PolygonIndex(NamedTuple):
    """Polygons as horizontal bands of edges; build with :func:`build_polygon_index`."""

    box: np.ndarray       # float64 (polygons, 4): xmin, ymin, xmax, ymax (empty: +inf, +inf, -inf, -inf)
    band0: np.ndarray     # int64 (polygons + 1): each polygon's first band in band_ptr
    inv_h: np.ndarray     # float64 (polygons,): bands per unit of y
    band_ptr: np.ndarray  # int64 (bands + 1): each band's first entry in band_edge
    band_edge: np.ndarray  # int32: the edges of each band, as rows of ``edges``
    edges: np.ndarray     # float64 (distinct edges, 4): x0, y0, x1, y1 with y0 <= y1


# --- exact orientation --------------------------------------------------------------


@jit
def _two_sum(a, b):
    """``a + b`` as a rounded sum and its exact error."""
    s = a + b
    b_virtual = s - a
    a_virtual = s - b_virtual
    return s, (a - a_virtual) + (b - b_virtual)


@jit
def _two_diff(a, b):
    """``a - b`` as a rounded difference and its exact error."""
    d = a - b
    b_virtual = a - d
    a_virtual = d + b_virtual
    return d, (a - a_virtual) + (b_virtual - b)


@jit
def _split(a):
    """``a`` as high and low halves that multiply without rounding."""
    c = _SPLITTER * a
    high = c - (c - a)
    return high, a - high


@jit
def _two_product(a, b):
    """``a * b`` as a rounded product and its exact error."""
    p = a * b
    ah, al = _split(a)
    bh, bl = _split(b)
    err = p - ah * bh
    err -= al * bh
    err -= ah * bl
    return p, al * bl - err


@jit
def _grow(e, m, b):
    """Add ``b`` to the expansion ``e[:m]`` (non-overlapping, increasing); return its new length.

    Zero components are dropped, so the last component is the largest and
    carries the sign of the sum.
    """
    q = b
    k = 0
    for i in range(m):
        q, h = _two_sum(q, e[i])
        if h != 0.0:
            e[k] = h
            k += 1
    if q != 0.0:
        e[k] = q
        k += 1
    return k


@jit
def _add_product(e, m, a_hi, a_lo, b_hi, b_lo, sign):
    """Add ``sign * (a_hi + a_lo) * (b_hi + b_lo)`` exactly to the expansion ``e[:m]``."""
    p, pe = _two_product(a_hi, b_hi)
    m = _grow(e, m, sign * p)
    m = _grow(e, m, sign * pe)
    p, pe = _two_product(a_hi, b_lo)
    m = _grow(e, m, sign * p)
    m = _grow(e, m, sign * pe)
    p, pe = _two_product(a_lo, b_hi)
    m = _grow(e, m, sign * p)
    m = _grow(e, m, sign * pe)
    p, pe = _two_product(a_lo, b_lo)
    m = _grow(e, m, sign * p)
    return _grow(e, m, sign * pe)


@jit
def _sign_of_sum4(a, b, c, d):
    """Exact sign of ``a + b + c + d``, each pair (a, b) and (c, d) non-overlapping."""
    # Shewchuk's two-two-sum: four non-overlapping components, smallest first,
    # zeros possibly anywhere; the largest non-zero one carries the sign.
    t, x0 = _two_sum(b, d)
    t_hi, t_lo = _two_sum(a, t)
    t, x1 = _two_sum(t_lo, c)
    x3, x2 = _two_sum(t_hi, t)
    for v in (x3, x2, x1, x0):
        if v != 0.0:
            return 1 if v > 0.0 else -1
    return 0


@jit
def _orient_exact(ax, ay, bx, by, cx, cy):
    """Exact sign of ``(ax - cx) * (by - cy) - (ay - cy) * (bx - cx)``."""
    acx, acx_e = _two_diff(ax, cx)
    bcy, bcy_e = _two_diff(by, cy)
    acy, acy_e = _two_diff(ay, cy)
    bcx, bcx_e = _two_diff(bx, cx)
    if acx_e == 0.0 and bcy_e == 0.0 and acy_e == 0.0 and bcx_e == 0.0:
        # The usual case: the differences are exact, so two exact products decide.
        p, p_e = _two_product(acx, bcy)
        q, q_e = _two_product(acy, bcx)
        return _sign_of_sum4(p, p_e, -q, -q_e)
    e = np.empty(16)
    m = _add_product(e, 0, acx, acx_e, bcy, bcy_e, 1.0)
    m = _add_product(e, m, acy, acy_e, bcx, bcx_e, -1.0)
    if m == 0:
        return 0
    return 1 if e[m - 1] > 0.0 else -1


@jit
def _orient(ax, ay, bx, by, cx, cy):
    """+1 if ``c`` lies left of the line a -> b, -1 if right, 0 if on it (exact)."""
    left = (ax - cx) * (by - cy)
    right = (ay - cy) * (bx - cx)
    det = left - right
    bound = _ORIENT_BOUND * (abs(left) + abs(right))
    if det > bound:
        return 1
    if -det > bound:
        return -1
    return _orient_exact(ax, ay, bx, by, cx, cy)


# --- the point test -----------------------------------------------------------------


@jit
def _band_of(y, ymin, inv_h, n_bands):
    """The band holding ``y`` (``ymin <= y``); monotone in ``y``."""
    b = int((y - ymin) * inv_h)
    return n_bands - 1 if b >= n_bands else b


@jit
def _covers(box, band0, inv_h, band_ptr, band_edge, edges, p, x, y):
    """Whether polygon ``p`` covers the point (x, y): inside, or on one of its rings."""
    # Outside the closed bounding box (or NaN): no edge can be on or right of the point.
    if not (x >= box[p, 0] and y >= box[p, 1] and x <= box[p, 2] and y <= box[p, 3]):
        return False
    first = band0[p]
    b = first + _band_of(y, box[p, 1], inv_h[p], band0[p + 1] - first)
    inside = False
    for j in range(band_ptr[b], band_ptr[b + 1]):
        k = band_edge[j]
        y0 = edges[k, 1]
        y1 = edges[k, 3]
        if y < y0 or y > y1:
            continue
        x0 = edges[k, 0]
        x1 = edges[k, 2]
        if x0 < x and x1 < x:  # wholly left of the point: the ray cannot meet it
            continue
        if y == y1:
            if y == y0:  # horizontal edge on the ray's line: never a crossing
                if min(x0, x1) <= x:
                    return True
            elif x == x1:  # the upper end point itself
                return True
            continue  # the ray through the upper end: that end is not counted
        # Now y0 <= y < y1: the edge straddles the ray's line.
        if x < x0 and x < x1:  # left of both ends, hence left of the edge
            inside = not inside
            continue
        side = _orient(x0, y0, x1, y1, x, y)
        if side == 0:
            return True
        if side > 0:
            inside = not inside
    return inside


@pjit
def _polygon_covers_xy(box, band0, inv_h, band_ptr, band_edge, edges, poly, x, y, out):
    """``out[i]``: whether polygon ``poly[i]`` covers point i; each thread writes its own slots."""
    for i in prange(x.shape[0]):
        out[i] = _covers(box, band0, inv_h, band_ptr, band_edge, edges, poly[i], x[i], y[i])


@pjit
def _first_covering(box, band0, inv_h, band_ptr, band_edge, edges, x, y, row, cand_ptr, cand, out):
    """``out[i]``: the first polygon of point i's candidate row that covers it, or -1."""
    for i in prange(x.shape[0]):
        r = row[i]
        found = NO_POLYGON
        for k in range(cand_ptr[r], cand_ptr[r + 1]):
            p = cand[k]
            if _covers(box, band0, inv_h, band_ptr, band_edge, edges, p, x[i], y[i]):
                found = p
                break
        out[i] = found


# --- building the index -------------------------------------------------------------


@jit
def _boxes_and_bands(xy, ring_ptr, poly_ptr, box, band0, inv_h):
    """Bounding boxes, band counts (as offsets in ``band0``) and band scales of each polygon."""
    n_poly = poly_ptr.shape[0] - 1
    band0[0] = 0
    for p in range(n_poly):
        xmin = np.inf
        ymin = np.inf
        xmax = -np.inf
        ymax = -np.inf
        n_edges = 0
        for r in range(poly_ptr[p], poly_ptr[p + 1]):
            start = ring_ptr[r]
            stop = ring_ptr[r + 1]
            if stop > start:
                n_edges += stop - start - 1
            for v in range(start, stop):
                xmin = min(xmin, xy[v, 0])
                xmax = max(xmax, xy[v, 0])
                ymin = min(ymin, xy[v, 1])
                ymax = max(ymax, xy[v, 1])
        box[p, 0] = xmin
        box[p, 1] = ymin
        box[p, 2] = xmax
        box[p, 3] = ymax
        n_bands = max(n_edges, 1)
        scale = 0.0
        if ymax > ymin:
            scale = n_bands / (ymax - ymin)
            if not scale < np.inf:
                scale = 0.0
        if scale == 0.0:
            n_bands = 1
        inv_h[p] = scale
        band0[p + 1] = band0[p] + n_bands


@jit
def _ring_edges(xy, ring_ptr, poly_ptr, box, band0, inv_h, seg, lo, hi):
    """Every ring edge, lower end first, and the first and last band (absolute) it meets."""
    k = 0
    for p in range(poly_ptr.shape[0] - 1):
        first = band0[p]
        n_bands = band0[p + 1] - first
        for r in range(poly_ptr[p], poly_ptr[p + 1]):
            for v in range(ring_ptr[r], ring_ptr[r + 1] - 1):
                xa = xy[v, 0]
                ya = xy[v, 1]
                xb = xy[v + 1, 0]
                yb = xy[v + 1, 1]
                if yb < ya:
                    xa, ya, xb, yb = xb, yb, xa, ya
                seg[k, 0] = xa
                seg[k, 1] = ya
                seg[k, 2] = xb
                seg[k, 3] = yb
                lo[k] = first + _band_of(ya, box[p, 1], inv_h[p], n_bands)
                hi[k] = first + _band_of(yb, box[p, 1], inv_h[p], n_bands)
                k += 1


@jit
def _file_edges(lo, hi, edge_id, band_ptr, band_edge, fill):
    """List (``fill``) or count each edge under every band from ``lo`` to ``hi``.

    Counting turns the zeros of ``band_ptr`` into offsets; listing then fills ``band_edge``.
    """
    cursor = band_ptr[:-1].copy()
    for k in range(lo.shape[0]):
        for b in range(lo[k], hi[k] + 1):
            if fill:
                band_edge[cursor[b]] = edge_id[k]
            cursor[b] += 1
    if not fill:
        for b in range(cursor.shape[0]):
            band_ptr[b + 1] = band_ptr[b] + cursor[b]


def build_polygon_index(xy, ring_ptr, poly_ptr) -> PolygonIndex:
    """Index polygons given as flat rings for :func:`polygon_covers_xy` and friends.

    ``xy`` (float64, vertices x 2) holds every ring's vertices, each ring closed
    (last vertex equal to the first); ring ``r`` is ``xy[ring_ptr[r]:ring_ptr[r + 1]]``
    and polygon ``p`` (a Polygon or MultiPolygon: all its shells and holes) is
    rings ``poly_ptr[p]`` to ``poly_ptr[p + 1] - 1``. Ring orientation does not matter.
    """
    xy = _as(xy, np.float64, "xy", ndim=2)
    ring_ptr = _as(ring_ptr, np.int64, "ring_ptr")
    poly_ptr = _as(poly_ptr, np.int64, "poly_ptr")
    if xy.shape[1] != 2:
        raise KernelInputError(f"xy must have two columns (x, y), got {xy.shape[1]}")
    if not np.isfinite(xy).all():
        raise KernelInputError("xy holds NaN or infinite coordinates")
    _check_ptr(ring_ptr, xy.shape[0], "ring_ptr", "vertices")
    _check_ptr(poly_ptr, len(ring_ptr) - 1, "poly_ptr", "rings")
    lengths = np.diff(ring_ptr)
    starts, ends = ring_ptr[:-1][lengths > 0], ring_ptr[1:][lengths > 0] - 1
    if (lengths == 1).any() or (xy[starts] != xy[ends]).any():
        raise KernelInputError("every ring must be closed: its last vertex equal to its first")
    n_poly = len(poly_ptr) - 1
    box = np.empty((n_poly, 4))
    band0 = np.empty(n_poly + 1, np.int64)
    inv_h = np.empty(n_poly)
    _boxes_and_bands(xy, ring_ptr, poly_ptr, box, band0, inv_h)
    n_edges = int((lengths[lengths > 0] - 1).sum())
    seg = np.empty((n_edges, 4))
    lo = np.empty(n_edges, np.int64)
    hi = np.empty(n_edges, np.int64)
    _ring_edges(xy, ring_ptr, poly_ptr, box, band0, inv_h, seg, lo, hi)
    # Each distinct edge once, ordered by its lower end (y, then x) so a band's edges sit close.
    edges, edge_id = np.unique(seg, axis=0, return_inverse=True)
    if len(edges) >= 2**31:
        raise KernelInputError(f"too many distinct edges for 32-bit edge numbers: {len(edges)}")
    order = np.lexsort((edges[:, 0], edges[:, 1]))
    rank = np.empty(len(order), np.int32)
    rank[order] = np.arange(len(order), dtype=np.int32)
    edges = np.ascontiguousarray(edges[order])
    edge_id = rank[edge_id.ravel()]
    band_ptr = np.zeros(band0[-1] + 1, np.int64)
    _file_edges(lo, hi, edge_id, band_ptr, np.empty(0, np.int32), False)
    band_edge = np.empty(band_ptr[-1], np.int32)
    _file_edges(lo, hi, edge_id, band_ptr, band_edge, True)
    return PolygonIndex(box, band0, inv_h, band_ptr, band_edge, edges)


# --- public wrappers ----------------------------------------------------------------


def polygon_covers_xy(index: PolygonIndex, poly, x, y) -> np.ndarray:
    """Whether polygon ``poly[i]`` covers point ``(x[i], y[i])`` (on a ring counts), as bool."""
    x, y = _points(x, y)
    poly = _as(poly, np.int64, "poly")
    if len(poly) != len(x):
        raise KernelInputError(f"poly has {len(poly)} values for {len(x)} points")
    n_poly = len(index.box)
    if len(poly) and (poly.min() < 0 or poly.max() >= n_poly):
        raise KernelInputError(f"poly must index the {n_poly} polygons")
    out = np.empty(len(x), np.bool_)
    _polygon_covers_xy(*index, poly, x, y, out)
    return out


def first_covering_polygon(index: PolygonIndex, x, y, row, cand_ptr, cand) -> np.ndarray:
    """For each point, the first of its candidate polygons that covers it, or ``-1`` (int32).

    Point ``i``'s candidates are ``cand[cand_ptr[row[i]]:cand_ptr[row[i] + 1]]``,
    tried in that order; with candidates in ascending order a point on an edge
    shared by two polygons goes to the lower index.
    """
    x, y = _points(x, y)
    row = _as(row, np.int64, "row")
    cand_ptr = _as(cand_ptr, np.int64, "cand_ptr")
    cand = _as(cand, np.int32, "cand")
    if len(row) != len(x):
        raise KernelInputError(f"row has {len(row)} values for {len(x)} points")
    _check_ptr(cand_ptr, len(cand), "cand_ptr", "candidates")
    if len(row) and (row.min() < 0 or row.max() >= len(cand_ptr) - 1):
        raise KernelInputError(f"row must index the {len(cand_ptr) - 1} candidate rows")
    n_poly = len(index.box)
    if len(cand) and (cand.min() < 0 or cand.max() >= n_poly):
        raise KernelInputError(f"cand must index the {n_poly} polygons")
    out = np.empty(len(x), np.int32)
    _first_covering(*index, x, y, row, cand_ptr, cand, out)
    return out


def _as(arr, dtype, name, ndim=1):
    """``arr`` as a contiguous array of ``dtype``, or KernelInputError."""
    try:
        a = np.asarray(arr)
    except (TypeError, ValueError) as exc:
        raise KernelInputError(f"{name} must be a numeric array: {exc}") from None
    if a.ndim != ndim:
        raise KernelInputError(f"{name} must be {ndim}-D, got {a.ndim}-D")
    want = np.dtype(dtype)
    if a.size and (a.dtype.kind not in "iuf" or (a.dtype.kind == "f" and want.kind != "f")):
        raise KernelInputError(f"{name} must be {want.name}, got {a.dtype}")
    return np.ascontiguousarray(a, dtype=want)


def _check_ptr(ptr, n, name, what):
    if len(ptr) < 1 or ptr[0] != 0 or ptr[-1] != n or (np.diff(ptr) < 0).any():
        raise KernelInputError(f"{name} must run from 0 to the number of {what} ({n}), never decreasing")


def _points(x, y):
    x = _as(x, np.float64, "x")
    y = _as(y, np.float64, "y")
    if len(x) != len(y):
        raise KernelInputError(f"x and y must have the same length, got {len(x)} and {len(y)}")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise KernelInputError("points must have finite coordinates")
    return x, y
